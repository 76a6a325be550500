/* SPDX-License-Identifier: MIT */
/* The events mlsec records: login attempts, session opens and closes, audit entries. What an
 * event contains and what a valid one is, written once; the wire codec (proto.c), the spool
 * (spool.c) and the activity store (mlsecd/activity.c) all carry this struct. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_ID_LEN      32 /* hex of 16 random bytes */
#define EVENT_USER_MAX    64
#define EVENT_SERVICE_MAX 64
#define EVENT_HOST_MAX    256
#define EVENT_IP_MAX      48
#define EVENT_TTY_MAX     64
#define EVENT_WORD_MAX    32 /* method, result, reason, action */
#define EVENT_SESSION_MAX 64
#define EVENT_DETAIL_MAX  512

enum event_kind {
        EVENT_AUTH,          /* one authentication attempt through pam_mlsec */
        EVENT_SESSION_OPEN,  /* pam_sm_open_session */
        EVENT_SESSION_CLOSE, /* pam_sm_close_session */
        EVENT_AUDIT,         /* a security-relevant change */
        _EVENT_KIND_MAX,
};

/* Every text field is NUL-terminated UTF-8 and fits its buffer; empty means "not known". */
struct mlsec_event {
        char id[EVENT_ID_LEN + 1]; /* unique: makes ingestion exactly-once */
        enum event_kind kind;
        int64_t time_us; /* microseconds since the epoch */
        char user[EVENT_USER_MAX];
        int64_t uid; /* -1: unknown */
        char service[EVENT_SERVICE_MAX];
        char rhost[EVENT_HOST_MAX]; /* PAM_RHOST, canonical (source.h) when it can be */
        char ip[EVENT_IP_MAX];      /* client address from SSH_CONNECTION, else rhost if it is one; canonical */
        char tty[EVENT_TTY_MAX];
        char method[EVENT_WORD_MAX];     /* auth: "totp", "backup", "none" */
        char result[EVENT_WORD_MAX];     /* auth: "ok", "fail", "skipped" */
        char reason[EVENT_WORD_MAX];     /* auth: a verdict string of verify.h; session close: how it ended */
        char session[EVENT_SESSION_MAX]; /* logind session id */
        int64_t pid;                     /* the process that reported it, or the session leader */
        int64_t actor_uid;               /* audit: who made the change (-1: the system) */
        char action[EVENT_WORD_MAX];     /* audit: "enrol", "device-removed", "mfa-disabled", ... */
        char detail[EVENT_DETAIL_MAX];   /* audit: free text for people, never a secret */
};

/* A zeroed event of KIND with a fresh random id and the current time; uid, pid and
 * actor_uid set to -1. */
void event_init(struct mlsec_event *e, enum event_kind kind);

/* rhost and ip in their canonical spelling (source_canonical), each left as it is when it has
 * none: one address is one place, in the history, the rules and the notice alike. */
void event_canonical_hosts(struct mlsec_event *e);

/* 0 when E is well formed: an id of 32 lower-case hex digits, a known kind, a time after
 * 2000 and not more than a day in the future, every string terminated inside its buffer and
 * valid UTF-8 without control characters, user either empty or valid (util_user_valid), a
 * kind-specific required field present (auth: result, and an empty user means a name that is
 * not a valid user name was tried; session: user; audit: action); uid and actor_uid in
 * -1..4294967294, pid in -1..INT32_MAX. -EINVAL otherwise, with a reason in err when err is not NULL. */
int event_validate(const struct mlsec_event *e, char *err, size_t errlen);

/* ID is an event id: EVENT_ID_LEN lower-case hex digits and its end (NULL: false). */
bool event_id_valid(const char *id);

/* the shortest start of an event id that names an event (mlsecctl report) */
#define EVENT_ID_PREFIX_MIN 8
/* S, terminated within N bytes, is an event id or its start: EVENT_ID_PREFIX_MIN to
 * EVENT_ID_LEN lower-case hex digits (NULL: false). */
bool event_id_prefix_valid(const char *s, size_t n);

/* "auth", "session-open", "session-close", "audit" and back (-EINVAL). */
const char *event_kind_to_string(enum event_kind k);
int event_kind_from_string(const char *s, enum event_kind *ret);

/* Copy S into DST (size N) only when it fits, is valid UTF-8 and has no control characters;
 * -EINVAL otherwise (DST untouched). The one check every text field goes through. */
int event_set_text(char *dst, size_t n, const char *s);
