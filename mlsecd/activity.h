/* SPDX-License-Identifier: MIT */
/* activity.db: every login attempt, every session and the audit log, written by mlsecd
 * alone (SQLite, WAL, versioned schema). Storing is exactly-once by event id; the audit log
 * is a hash chain keyed with the mlsec key, so an edited, inserted or deleted row is found
 * by activity_audit_verify. This file owns the SQL of activity.db; it never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "geo.h"
#include "seal.h"

#define ACTIVITY_DB_NAME        "activity.db"
#define ACTIVITY_SCHEMA_VERSION 4   /* 2: the place of each login; 3: alerts; 4: canonical addresses */
#define ACTIVITY_NOTE_MAX       256 /* a user's note on a reported event, bytes incl. NUL */

struct activity;

/* A login, a "successful login", wherever this file speaks of one (last login, the notice,
 * the rules): an auth event with result "ok" (whatever the method), or "skipped" (no MFA, let
 * through under unenrolled = allow) unless the account stack refused it right after: the
 * next attempt of the same user, service and remote host, within 30 seconds, failed with
 * reason mfa-required, grace-expired or policy-error. One rule, written once in activity.c. */

/* Where a login came from, as the geo database said when it was stored. */
struct activity_place {
        bool stored; /* false: stored before locations were, or without a lookup */
        struct geo_place geo;
};

struct activity_login {
        struct mlsec_event event;
        struct activity_place place;
};

struct activity_session {
        int64_t id;                        /* our row id */
        char logind_id[EVENT_SESSION_MAX]; /* may be empty when logind gave none */
        char user[EVENT_USER_MAX];
        int64_t uid;
        char service[EVENT_SERVICE_MAX];
        char tty[EVENT_TTY_MAX];
        char rhost[EVENT_HOST_MAX];
        char ip[EVENT_IP_MAX];
        int64_t pid;
        int64_t opened_us;
        int64_t closed_us;               /* 0 while open */
        char end_reason[EVENT_WORD_MAX]; /* "closed" (PAM close), "logout" (mlsecctl logout),
                                            "ended" (gone from logind), "" while open */
        int64_t ended_by_uid;            /* logout: who asked; -1 otherwise */
};

struct activity_audit {
        int64_t seq; /* 1, 2, 3 ... */
        int64_t time_us;
        int64_t actor_uid;
        char user[EVENT_USER_MAX];
        char action[EVENT_WORD_MAX];
        char detail[EVENT_DETAIL_MAX];
        char event_id[EVENT_ID_LEN + 1];
};

/* Open (creating 0600 in STATE_DIR, which must be the effective uid's and not writable by
 * others) and migrate. K keys the audit chain and must stay valid while open. */
int activity_open(const char *state_dir, const struct seal_key *k, struct activity **ret);
struct activity *activity_close(struct activity *a);

/* Batching: many activity_store_event calls inside one transaction (ingest). */
int activity_begin(struct activity *a);
int activity_commit(struct activity *a);
int activity_rollback(struct activity *a);

/* Store E (validated by the caller) exactly once: *ret_new is false when its id is known.
 * auth -> a login row; session-open -> an open session; session-close -> closes the open
 * session with the same logind id (or, without one, the newest open session of the same
 * user, service and tty) with end_reason "closed"; audit -> the next link of the chain.
 * Session events are kept as events too. A session-open whose logind id is already open
 * first ends that one ("ended": logind reuses ids after a reboot); a session-close whose
 * logind id matches no open session falls back to the user/service/tty rule among open
 * sessions that have no logind id. */
int activity_store_event(struct activity *a, const struct mlsec_event *e, bool *ret_new);
/* The same, storing PLACE (NULL: none; only for an auth event, -EINVAL otherwise) with
 * the login. A known event id keeps the place it was first stored with. */
int activity_store_event_at(struct activity *a, const struct mlsec_event *e, const struct geo_place *place,
                            bool *ret_new);

/* Newest first, at most LIMIT (> 0) entries. USER NULL: every user. *ret is malloc'd
 * (free(); NULL when *ret_n is 0). History lists auth events only; failed_only: result "fail". */
int activity_history(struct activity *a, const char *user, unsigned limit, bool failed_only, struct mlsec_event **ret,
                     size_t *ret_n);
/* activity_history with the place stored with each login. */
int activity_logins(struct activity *a, const char *user, unsigned limit, bool failed_only, struct activity_login **ret,
                    size_t *ret_n);
int activity_sessions(struct activity *a, const char *user, bool include_closed, unsigned limit,
                      struct activity_session **ret, size_t *ret_n);
/* Every name login attempts were made for (auth rows with a user: an invalid name is
 * recorded as ""), each once, with how many attempts, the newest and where it came from,
 * whether one of them was recorded with a uid (the name was an account then), and its newest
 * login not through EXCLUDE_SERVICE (NULL: any; last_login_us 0 and empty strings when there
 * is none). The names with a uid come first, then the others, each part sorted by name; at
 * most LIMIT (> 0) in all. One GROUP BY over the login rows, whatever their number. *ret is
 * malloc'd (free(); NULL when *ret_n is 0). */
struct activity_user {
        char user[EVENT_USER_MAX];
        uint64_t attempts;                      /* auth rows of the name, of every result */
        int64_t last_attempt_us;                /* the newest of them */
        char last_attempt_from[EVENT_HOST_MAX]; /* its client address, else remote host, else tty */
        bool was_account;                       /* one of them was recorded with a uid */
        int64_t last_login_us;
        char service[EVENT_SERVICE_MAX];
        char rhost[EVENT_HOST_MAX];
        char ip[EVENT_IP_MAX];
        char tty[EVENT_TTY_MAX];
};
int activity_users(struct activity *a, const char *exclude_service, unsigned limit, struct activity_user **ret,
                   size_t *ret_n);
/* How many names activity_users lists without a limit, and their attempts. */
int activity_users_total(struct activity *a, uint64_t *ret_names, uint64_t *ret_attempts);

/* The open session with this logind id; -ENOENT if none. */
int activity_session_get(struct activity *a, const char *logind_id, struct activity_session *ret);
/* Close the open session with this logind id (no-op, 0, if none is open; 1 when closed). */
int activity_session_end(struct activity *a, const char *logind_id, int64_t time_us, const char *reason,
                         int64_t by_uid);
/* Logind ids of every open session, for reconciliation. *ret malloc'd. */
int activity_open_session_ids(struct activity *a, char (**ret)[EVENT_SESSION_MAX], size_t *ret_n);

/* Audit entries, newest first, at most LIMIT (> 0). USER NULL: all. */
int activity_audit(struct activity *a, const char *user, unsigned limit, struct activity_audit **ret, size_t *ret_n);
/* Walk the whole chain: *ret_first_bad is the seq of the first entry whose hash or order
 * does not hold (an edited, inserted or deleted row; for a deleted row, the missing seq),
 * -1 when intact. *ret_checked (RET_CHECKED may be NULL) counts the links that held before
 * it. A chain cut at its end is not detected by the chain alone. */
int activity_audit_verify(struct activity *a, uint64_t *ret_checked, int64_t *ret_first_bad);

/* The overview. The newest successful login of USER whose service is not EXCLUDE_SERVICE
 * (NULL: any; e.g. the code checks of mlsecctl's own changes are no login), and its place in
 * *ret_place (RET_PLACE may be NULL); -ENOENT if none. */
int activity_last_login(struct activity *a, const char *user, const char *exclude_service, struct mlsec_event *ret,
                        struct activity_place *ret_place);
/* Failed login attempts of USER after SINCE_US. */
int activity_count_failed(struct activity *a, const char *user, int64_t since_us, uint64_t *ret);

/* The login notice. Each returns -ENOENT when there is no such login.
 * activity_login_get: the successful login of USER with event id ID.
 * activity_recent_login: USER's newest successful login through SERVICE at or after SINCE_US
 * from the same source: the client address IP or the remote host RHOST is the login's (either
 * may be ""), or neither is known on both sides.
 * activity_previous_login: USER's newest successful login older than the one with event id
 * BEFORE_ID (NULL or "": the newest of all), not through EXCLUDE_SERVICE (NULL: any). */
int activity_login_get(struct activity *a, const char *user, const char *id, struct activity_login *ret);
int activity_recent_login(struct activity *a, const char *user, const char *service, const char *ip, const char *rhost,
                          int64_t since_us, struct activity_login *ret);
int activity_previous_login(struct activity *a, const char *user, const char *before_id, const char *exclude_service,
                            struct activity_login *ret);
/* USER's failed login attempts after AFTER_US and before BEFORE_US (0: now), not through
 * EXCLUDE_SERVICE (NULL: any): how many in *ret_n (counted up to ACTIVITY_FAILURES_MAX: that
 * many means at least that many) and, when there is one and RET_LAST is not NULL, the newest
 * with its place in *ret_last. */
#define ACTIVITY_FAILURES_MAX 10000
int activity_failures(struct activity *a, const char *user, int64_t after_us, int64_t before_us,
                      const char *exclude_service, uint64_t *ret_n, struct activity_login *ret_last);

/* Whether a place was seen before: the newest ACTIVITY_SEEN_MAX of USER's successful
 * logins since SINCE_US, but the one with event id EXCLUDE_ID (NULL: none), compared with
 * COUNTRY (ISO code; NULL or "": not asked) and NETWORK (as geo_network writes it; NULL or
 * "": not asked). The one check behind "a login from a new country / a new network"; a
 * login with no earlier one to compare with (located / addressed false) is not new. */
#define ACTIVITY_SEEN_MAX 1000
struct activity_seen {
        bool located;   /* one of them has a known country */
        bool country;   /* one of them is from COUNTRY */
        bool addressed; /* one of them came from an address */
        bool network;   /* one of them came from NETWORK */
};
int activity_place_seen(struct activity *a, const char *user, int64_t since_us, const char *exclude_id,
                        const char *country, const char *network, struct activity_seen *ret);

/* Delete logins and closed sessions older than BEFORE_US in one transaction. The audit
 * chain is never pruned here (its integrity would be lost). *ret_deleted (may be NULL)
 * counts the rows deleted, events and sessions. */
int activity_prune(struct activity *a, int64_t before_us, uint64_t *ret_deleted);

/* ---- what the suspicious-activity rules ask (mlsecd/rules.c) ---- */

/* The newest successful login of USER at or before UNTIL_US that is not EXCLUDE_EVENT_ID
 * (NULL: none) and whose service is not EXCLUDE_SERVICE (NULL: any); with LOCATED only one
 * whose place has coordinates. -ENOENT if none. */
int activity_prev_success(struct activity *a, const char *user, int64_t until_us, const char *exclude_event_id,
                          const char *exclude_service, bool located, struct activity_login *ret);
/* The time of USER's newest lockout in (AFTER_US, UNTIL_US]: a "lockout" audit entry (a
 * lockout begun) or a login refused as "locked". -ENOENT if none. */
int activity_last_lockout(struct activity *a, const char *user, int64_t after_us, int64_t until_us, int64_t *ret_us);
/* USER's login (auth) event whose id is PREFIX or starts with it (ACTIVITY_EVENT_PREFIX_MIN
 * to EVENT_ID_LEN lower-case hex digits, else -EINVAL): one of USER's own by name, and by UID
 * where the event knows its uid; nobody else's event matches. -ENOENT if none, -ENOTUNIQ if
 * more than one of USER's match. */
#define ACTIVITY_EVENT_PREFIX_MIN EVENT_ID_PREFIX_MIN
int activity_event_find(struct activity *a, const char *user, int64_t uid, const char *prefix,
                        struct activity_login *ret);

/* ---- alerts: raised by a rule (kind = the rule's name) or by a user's report of one of
 * their own events (kind "user-report"). At most one per kind and event. ---- */
struct activity_alert {
        int64_t id;                      /* our row id, > 0 */
        int64_t time_us;                 /* the event's time (a rule) or the report's */
        char user[EVENT_USER_MAX];       /* whose account */
        char kind[EVENT_WORD_MAX];       /* rule name or "user-report" */
        char event_id[EVENT_ID_LEN + 1]; /* the login it is about */
        char detail[EVENT_DETAIL_MAX];   /* the facts, for people */
        char note[ACTIVITY_NOTE_MAX];    /* user-report: the user's note ("" if none) */
        int64_t reporter_uid;            /* user-report: who reported; -1 for a rule */
        int64_t acked_us;                /* 0 while open */
        int64_t acked_by_uid;            /* -1 while open */
};

/* Store X (id, acked_* ignored). *ret_id: the new alert's id, 0 when one of this kind for
 * this event exists already. */
int activity_alert_add(struct activity *a, const struct activity_alert *x, int64_t *ret_id);
/* Is there an alert of KIND for USER with a time in (AFTER_US, UNTIL_US]? */
int activity_alert_recent(struct activity *a, const char *user, const char *kind, int64_t after_us, int64_t until_us,
                          bool *ret);
/* Newest first, at most LIMIT (> 0); USER NULL: every user; OPEN_ONLY: not acknowledged.
 * *ret malloc'd (free(); NULL when *ret_n is 0). */
int activity_alerts(struct activity *a, const char *user, bool open_only, unsigned limit, struct activity_alert **ret,
                    size_t *ret_n);
/* How many of USER's alerts are open. */
int activity_alerts_open(struct activity *a, const char *user, uint64_t *ret);
/* One alert by id; -ENOENT if none. */
int activity_alert_get(struct activity *a, int64_t id, struct activity_alert *ret);
/* Acknowledge (close) an open alert: 1 when closed, 0 when it was not open (or none). */
int activity_alert_ack(struct activity *a, int64_t id, int64_t time_us, int64_t by_uid);
