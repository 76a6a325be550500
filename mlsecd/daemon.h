/* SPDX-License-Identifier: MIT */
/* The state of one running mlsecd, shared by its event loop (main.c), its socket server
 * (server.c) and its request handlers (handlers.c). Only those three files see it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "activity.h"
#include "conf.h"
#include "event.h"
#include "logind.h"
#include "proto.h"
#include "fleet.h"
#include "rules.h"
#include "seal.h"

#define DAEMON_MAX_CONNS         256        /* connections at once, all peers */
#define DAEMON_MAX_CONNS_PER_UID 16         /* per non-root peer */
#define DAEMON_IDLE_MS           10000      /* a connection with no request for this long is closed */
#define DAEMON_RATE_PER_SEC      50         /* requests per second per non-root uid (burst: 2x) */
#define DAEMON_PIPELINE          64         /* batched requests of one connection awaiting a commit */
#define DAEMON_ESCALATE_MS       5000       /* TerminateSession, then KillSession if still there */
#define DAEMON_SPOOL_MS          1000       /* how often the spool is looked at */
#define DAEMON_BATCH_MAX         512        /* reports per commit */
#define DAEMON_CHECK_SERVICE     "mlsecctl" /* the service of the code checks of changes: no login */

struct conn;
struct rate;
struct peer_cache_entry;
struct pending_enrollment; /* handlers_mfa.c */
struct store;
struct verify_result;

/* Who is asking: from SO_PEERCRED, never from the message. */
struct peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        char user[EVENT_USER_MAX]; /* "" when the uid has no name */
        bool admin;                /* uid 0 or a member of admin_group */
};

struct daemon {
        struct mlsec_conf conf;
        struct sd_event *loop;
        struct activity *act;
        struct seal_key *key;
        struct logind *logind; /* NULL: no system bus; sessions are not live-checked */
        struct geo *geo;       /* geoip_db; NULL: none (private/loopback are still told apart) */
        int listen_fd;
        bool socket_bound; /* bound here (not passed by systemd): unlinked at exit */
        struct sd_event_source *listen_src;
        struct conn *conns; /* list */
        unsigned n_conns;
        struct rate *rates;                  /* per-uid token buckets */
        struct peer_cache_entry *peer_cache; /* recently resolved uids (server.c) */
        size_t n_rates;
        /* the write batch (batch.c): reports and verifies of this loop round, stored in one
         * transaction of each store, answered after both commit */
        bool in_batch;       /* activity.db's transaction is open */
        bool store_in_batch; /* credentials.db's transaction is open */
        struct sd_event_source *flush_src;
        struct mlsec_event *batch_new; /* new events, journalled after commit */
        size_t n_batch_new, cap_batch_new;
        struct conn **batch_waiting; /* connections owed a reply after commit */
        size_t n_batch_waiting;
        uint64_t ingested;                  /* events stored since start */
        struct store *store;                /* credentials.db, held open (self-service, verify, admin) */
        struct pending_enrollment *pending; /* self-service enrolments waiting for their code */
        bool reserve_short;                 /* the spool's audit reserve could not be refilled (told once) */
        /* fleet mode (fleet_db): the one connection to the fleet, and when to try again
         * after it failed (back-off, so a dead database costs a login nothing) */
        struct fleet *fleet;
        int64_t fleet_retry_us;
        unsigned fleet_backoff_ms;
};

/* handlers_verify.c: the fleet's connection, opened (again) when needed: NULL with a journal
 * line while the database cannot be reached. */
struct fleet *daemon_fleet(struct daemon *d);
void daemon_fleet_failed(struct daemon *d, int r);

/* server.c */
int server_listen(struct daemon *d);
void server_stop(struct daemon *d);
/* Answer everyone waiting on the batch (batch_commit): their replies when R >= 0, else an
 * error; and read from them again. */
void server_release(struct daemon *d, int r);

/* batch.c: the write batch, begun by the first write of a round, committed once. */
int batch_activity(struct daemon *d); /* activity.db's transaction, opened if not yet */
int batch_store(struct daemon *d);    /* credentials.db's (-ENOENT: no store) */
/* A new event of the batch: journalled once it is committed. */
void batch_new_event(struct daemon *d, const struct mlsec_event *e);
/* Commit both (credentials.db first), journal the new events, answer everyone waiting.
 * Also called before every request that does not join the batch, and at shutdown. < 0: the
 * commit failed and the batch is rolled back. */
int batch_commit(struct daemon *d);

/* handlers.c: answer one decoded request from P into OUT (a reply datagram). *ret_deferred
 * is set when the reply must wait for the batch to commit (reports). */
int handle_request(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t outmax,
                   size_t *ret_len, bool *ret_deferred);
/* Store one event inside the batch (reports and the spool). */
int handle_store_event(struct daemon *d, const struct mlsec_event *e, bool *ret_new);
/* Set O's "place" of a login for replies: {"kind", "country", "country_name", "city",
 * "latitude", "longitude" (each as known), "description"}, or null for a login stored
 * without one. */
int handle_set_place(struct proto_obj *o, const struct activity_place *p);
/* Record a change made by mlsecd itself (e.g. a logout) as an audit entry. */
void handle_audit(struct daemon *d, int64_t actor_uid, const char *user, const char *action, const char *detail);
/* handlers_verify.c: check CODE for the caller's own account with the module's rules
 * (replay, lockout; source "mlsecd:uid=N", local) and record the attempt as an auth event
 * (and a backup code spent or a lockout begun as audit entries). SERVICE and TTY describe
 * the caller (may be NULL). r < 0: could not decide; MSG gets the sentence for the user
 * (empty for OK). */
int handle_check_code(struct daemon *d, const struct peer *p, const char *code, bool combined, const char *service,
                      const char *tty, struct verify_result *ret, char *msg, size_t msglen);
/* Answer a "code-refused" error for a verdict that is not OK (MSG from handle_check_code). */
int handle_code_refused(const struct verify_result *res, const char *msg, char *out, size_t max, size_t *ret_len);
int handle_verify(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len);

/* handlers_mfa.c: status, mfa-begin/confirm/devices/remove/disable, backup-codes,
 * backup-regenerate. */
int handle_mfa(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
               size_t *ret_len);
/* Forget (wipe) pending enrolments: expired ones (now_us > 0), or all (now_us == 0). */
void handle_mfa_expire(struct daemon *d, int64_t now_us);
/* handlers_mfa.c's helpers, shared with handlers_mfa_fleet.c: a change is the caller's own
 * (NULL, or why not); the caller's code checked (1 ok, 0 refused and answered, < 0 error);
 * ten backup codes into O. */
const char *handle_mfa_own_user(const struct peer *p, const struct proto_request *req);
int handle_mfa_need_code(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out,
                         size_t max, size_t *ret_len);
int handle_mfa_add_codes(struct proto_obj *o, char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN]);
/* May the caller begin enrolling device NAME, having N devices (EXISTS: one is NAME)? 1 yes
 * (with a device already, after a right code); 0 no, answered; < 0 error. */
int handle_mfa_may_begin(struct daemon *d, const struct peer *p, const struct proto_request *req, const char *name,
                         size_t n, bool exists, char *out, size_t max, size_t *ret_len);
/* The reply to mfa begin: the token, the new device and its key (wiped from the reply). */
int handle_mfa_begun(const char *token, const char *device, const char *alg, unsigned digits, const char *secret,
                     const char *uri, int64_t expires, char *out, size_t max, size_t *ret_len);
/* handlers_mfa_fleet.c: the same methods in fleet mode, on the fleet's database; the
 * overview's devices, backup codes and lockouts from it (enroll_status's shape). */
struct enroll_status;
int handle_fleet_enroll_status(struct daemon *d, const char *user, struct enroll_status *ret);
int handle_mfa_fleet(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                     size_t *ret_len);

/* handlers_admin.c: admin-users, admin-reset-mfa, admin-unlock, admin-status (admins only). */
int handle_admin(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                 size_t *ret_len);

/* handlers_users.c: admin-users (the caller is an admin): the users, or with "unknown" the
 * names only tried. */
int handle_admin_users(struct daemon *d, const struct proto_request *req, char *out, size_t max, size_t *ret_len);

/* The spool's state {"dir","pending","bad","reserve_ready","reserve_slots","counter",
 * "lost_audit","lost_other"} as O's "spool" (admin-status, and an administrator's overview). */
int handle_spool_status(struct daemon *d, struct proto_obj *o);

/* handlers_import.c: admin-import (admins only), a google-authenticator file's device and
 * scratch codes. */
int handle_import(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len);
/* handlers_alerts.c: the suspicious-activity rules on a login event just stored (E new,
 * PLACE NULL when none): the alerts are stored in activity.db, in the batch; the audit
 * entries of the alerts are put in RET for the caller to store (the rules do not re-enter
 * handle_store_event). Returns how many. */
size_t handle_rules(struct daemon *d, const struct mlsec_event *e, const struct geo_place *place,
                    struct mlsec_event ret[RULES_N]);
/* report-event (the caller's own events), admin-alerts, admin-alert-ack (admins). */
int handle_alerts(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len);
/* The overview's "alerts": {"open": N, "latest": [the newest open ones]} into O. */
int handle_alerts_status(struct daemon *d, const char *user, struct proto_obj *o);
/* handlers_grants.c: forget, admin-forget (remembered grants), and the overview's list of
 * USER's grants ("remembered"). */
int handle_grants(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len);
int handle_grants_status(struct daemon *d, const char *user, struct proto_obj *o);
/* handlers_notice.c: notice, the login notice at session open (another user's: uid 0 only). */
int handle_notice(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len);

/* handlers.c: the reply helpers every handler file uses. */
int handle_reply_error(const char *code, const char *msg, char *out, size_t max, size_t *ret_len);
/* Encodes O (may be NULL: -ENOMEM), frees it; with wipe, O's strings are zeroed first. */
int handle_reply_obj(struct proto_obj *o, bool wipe, char *out, size_t max, size_t *ret_len);
/* A reply {KEY: [FN(items, i, ctx)...]}; the newest that fit, with "truncated": true, when
 * all do not fit in one datagram. */
int handle_reply_list(const char *key, const void *items, size_t n,
                      struct proto_obj *(*fn)(const void *items, size_t i, void *ctx), void *ctx, char *out, size_t max,
                      size_t *ret_len);
/* Whose data a read request is about (NULL: everybody); *ret_denied is set for a refusal. */
const char *handle_target(const struct peer *p, const struct proto_request *req, const char **ret_denied);

/* logind told us a session appeared or disappeared. */
void handle_logind_change(bool new_session, const char *id, void *userdata);
/* Close sessions that logind no longer has (at start). */
void handle_reconcile(struct daemon *d);
