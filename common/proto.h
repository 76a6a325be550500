/* SPDX-License-Identifier: MIT */
/* The wire contract between mlsecd and its clients, and every JSON mlsec writes or reads
 * (--json output, spool files). The only json-c user; callers see struct proto_obj and
 * struct proto_request. The decoder is the boundary for untrusted input: bounded, strict,
 * and fuzzed (tests/fuzz/fuzz_proto.c). Nothing here logs.
 *
 * A request datagram:  {"v":1,"method":"history","params":{"user":"alice","limit":20}}
 * A reply datagram:    {"v":1,"ok":true,"result":{...}}
 *                      {"v":1,"ok":false,"error":{"code":"forbidden","message":"..."}}
 * Unknown keys, wrong types, over-long strings, strings that are not UTF-8 or hold control
 * characters, and any datagram over PROTO_MSG_MAX are refused. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "event.h"

struct proto_obj; /* a JSON object or array */

#define PROTO_VERSION        1
#define PROTO_SOCKET_DEFAULT "/run/mlsecd/mlsecd.sock"
#define PROTO_MSG_MAX        65536
#define PROTO_LIMIT_DEFAULT  50
#define PROTO_LIMIT_MAX      1000

/* Method names on the wire. Who may call each is mlsecd's business (SO_PEERCRED). */
enum proto_method {
        PROTO_PING,         /* {} -> {"version","pid","logind"} */
        PROTO_REPORT,       /* {"event":{...}} -> {"stored":bool}; uid 0 only */
        PROTO_HISTORY,      /* {"user"?,"all"?,"limit"?,"failed"?} -> {"events":[...]} */
        PROTO_SESSIONS,     /* {"user"?,"all"?,"closed"?,"limit"?} -> {"sessions":[...],"live":bool} */
        PROTO_LOGOUT,       /* {"session"} -> {"session","user","terminated":true} */
        PROTO_AUDIT,        /* {"user"?,"all"?,"limit"?} -> {"entries":[...]} */
        PROTO_AUDIT_VERIFY, /* {} -> {"intact":bool,"checked":N,"first_bad":seq|null}; admins */
        /* The settings page (issue #4). "code" is a current TOTP code or an unused backup
         * code of the caller, checked by verify_answer with the module's replay and lockout
         * rules (source "mlsecd:uid=N", local); a wrong one counts as a failure. */
        PROTO_STATUS,            /* {"user"?} -> the overview (see mlsecctl(1) for the shape) */
        PROTO_MFA_BEGIN,         /* {"device"?,"code"?} -> {"token","device","algorithm","digits","period",
                                  *  "secret","uri","expires"}; "code" required once a device exists */
        PROTO_MFA_CONFIRM,       /* {"token","code"} -> {"device","mfa_enabled":true,"backup_codes"?:[..]}
                                  * (backup codes only when this was the first device) */
        PROTO_MFA_DEVICES,       /* {"user"?} -> {"user","devices":[{"name","algorithm","digits","created",
                                  *  "last_used"}]} */
        PROTO_MFA_REMOVE,        /* {"device","code"} -> {"device","mfa_enabled":bool} */
        PROTO_MFA_DISABLE,       /* {"code"} -> {"devices_removed":N} */
        PROTO_BACKUP_CODES,      /* {"user"?} -> {"user","left":N} */
        PROTO_BACKUP_REGENERATE, /* {"code"} -> {"backup_codes":[...]} */
        PROTO_VERIFY,            /* {"code"?,"combined"?,"service"?,"tty"?} and, from uid 0 only (the PAM
                                  *  module), {"user","event","source","class","known"?,"grant_session"?}
                                  *  -> proto_verify.h's reply {"step","verdict","method","ok","message",
                                  *  "backup_left","lock_started","lock_remaining","lock_user_wide",
                                  *  "lock_local_wide","recorded","granted"?,"device"?,"drift_seconds"?,
                                  *  "password_len"?}. Without "code": what is decided before the code is
                                  *  asked (step "ask", "pass" or "refuse"); with it, the check ("checked").
                                  *  A user asks for their own account only; root for anyone, and "event"
                                  *  is then the login's auth event, recorded by mlsecd with the outcome */
        PROTO_ADMIN_USERS,       /* {"unknown"?,"limit"?} -> {"users":[{"user","mfa_enabled","devices",
                                  *  "backup_codes_left","lockouts":[..],"last_login_us"?,"last_login_from"?,
                                  *  "last_login_service"?}],"truncated"?,"unknown_names","unknown_attempts",
                                  *  ...}; with "unknown": {"unknown":[{"user","attempts","last_attempt_us",
                                  *  "last_attempt_from"}],"more",...} instead of "users" (mlsecctl(1));
                                  *  admins */
        PROTO_ADMIN_RESET_MFA,   /* {"user","reason"} -> {"user","devices_removed"}; admins */
        PROTO_ADMIN_UNLOCK,      /* {"user","source"?} -> {"user","lockouts_removed"}; admins */
        PROTO_ADMIN_IMPORT,      /* {"user","secret","digits","period","device"?,"last_step"?,"scratch_codes"?,
                                  *  "replace"?,"source"?} -> {"user","device","period","digits",
                                  *  "backup_codes","devices_replaced"}; admins. A google-authenticator
                                  *  file read by mlsecctl ("source": its path, for the audit log) */
        /* Alerts (issue #5): the suspicious-activity rules' and users' reports. */
        PROTO_REPORT_EVENT,    /* {"event_id","note"?} -> {"alert","event_id"}; the caller's own login events;
                                * "event_id" may be an unambiguous prefix among them, the reply has the full id */
        PROTO_ADMIN_ALERTS,    /* {"user"?,"limit"?,"open"?} -> {"alerts":[{"id","time_us","user","kind","event_id",
                                *  "detail","note"?,"reporter_uid"?,"acked_us"?,"acked_by_uid"?}]}; admins */
        PROTO_ADMIN_ALERT_ACK, /* {"alert"} -> {"alert","user","kind"}; admins */
        /* The login notice at session open (issue #5). "login" is the event id of this login's
         * auth event when the module knows it; "service", "rhost", "ip" describe the session.
         * Another user's only for uid 0 (the PAM module); a user may ask for their own. */
        PROTO_NOTICE, /* {"user"?,"service"?,"rhost"?,"ip"?,"login"?} -> {"user","current"?,"previous"?,
                       *  "failed","last_failure"?,"mfa_enabled","backup_codes_left",
                       *  "warnings":[{"kind",...}]} (mlsecd.8, LOGIN NOTICE) */
        /* The daemon's own state (issue #12): the spool, its audit reserve and what it lost. */
        PROTO_ADMIN_STATUS, /* {} -> {"ingested","logind","spool":{"dir","pending","bad","reserve_ready",
                             *  "reserve_slots","counter","lost_audit","lost_other"}}; admins */
        PROTO_FORGET,       /* {} -> {"user","grants_removed"}: the caller's remembered grants */
        PROTO_ADMIN_FORGET, /* {"user"} -> {"user","grants_removed"}; admins */
        _PROTO_METHOD_MAX,
};

/* Error codes in replies. */
#define PROTO_E_BAD_REQUEST "bad-request"
#define PROTO_E_VERSION     "unsupported-version"
#define PROTO_E_METHOD      "unknown-method"
#define PROTO_E_FORBIDDEN   "forbidden"
#define PROTO_E_NOT_FOUND   "not-found"
#define PROTO_E_RATE        "rate-limited"
#define PROTO_E_UNAVAILABLE "unavailable" /* e.g. no logind to log a session out */
#define PROTO_E_INTERNAL    "internal"
#define PROTO_E_CODE        "code-refused" /* the code was wrong, replayed, drifting or locked: message says */
#define PROTO_E_CONFLICT    "conflict"     /* e.g. a device of that name exists, no MFA to disable */
#define PROTO_E_EXPIRED     "expired"      /* an enrolment token that ran out or is unknown */
#define PROTO_E_AMBIGUOUS   "ambiguous"    /* an event id prefix that more than one of the caller's events has */

#define PROTO_CODE_MAX          512 /* "code": bytes incl. NUL (a combined password + code fits) */
#define PROTO_DEVICE_MAX        64  /* "device": as STORE_NAME_MAX */
#define PROTO_TOKEN_LEN         32  /* "token": hex of 16 random bytes */
#define PROTO_REASON_MAX        256 /* "reason" */
#define PROTO_SOURCE_MAX        256 /* "source": as STORE_SOURCE_MAX */
#define PROTO_NOTE_MAX          256 /* "note": as ACTIVITY_NOTE_MAX */
#define PROTO_GRANT_SESSION_MAX 64  /* "grant_session": as STORE_SERVICE_MAX */

/* report-event: "event_id" may be the start of an event id, of at least this many digits */
#define PROTO_EVENT_ID_PREFIX_MIN EVENT_ID_PREFIX_MIN

/* admin-import */
#define PROTO_SECRET_MAX  128 /* "secret": base32 (A-Z, 2-7), bytes incl. NUL; as TOTP_BASE32_MAX */
#define PROTO_SCRATCH_MAX 10  /* "scratch_codes": at most this many */
#define PROTO_SCRATCH_LEN 8   /* each exactly eight digits */

/* A decoded request. Absent parameters are zero/empty. */
struct proto_request {
        enum proto_method method;
        char user[EVENT_USER_MAX];       /* "user": another user's data (admins only); "" = the caller */
        bool all;                        /* "all": every user (admins only) */
        unsigned limit;                  /* "limit": 1..PROTO_LIMIT_MAX; 0 = PROTO_LIMIT_DEFAULT */
        bool failed_only;                /* "failed" */
        bool include_closed;             /* "closed" */
        char session[EVENT_SESSION_MAX]; /* "session" */
        struct mlsec_event event;        /* "event" (report) */
        char code[PROTO_CODE_MAX];       /* "code": a secret; wipe the request after use */
        bool combined;                   /* "combined": code is password + code (forward_pass) */
        char device[PROTO_DEVICE_MAX];   /* "device": enroll_device_name_valid */
        char token[PROTO_TOKEN_LEN + 1]; /* "token": 32 lower-case hex digits */
        char reason[PROTO_REASON_MAX];   /* "reason": text */
        char source[PROTO_SOURCE_MAX];   /* "source": text */
        char service[EVENT_SERVICE_MAX]; /* "service": text, informational */
        char tty[EVENT_TTY_MAX];         /* "tty": text, informational */
        /* admin-import */
        char secret[PROTO_SECRET_MAX];                          /* "secret": a secret */
        char scratch[PROTO_SCRATCH_MAX][PROTO_SCRATCH_LEN + 1]; /* "scratch_codes": secrets */
        size_t n_scratch;
        unsigned digits;                 /* "digits": 6 or 8 */
        unsigned period;                 /* "period": 1..60 seconds */
        int64_t last_step;               /* "last_step": 1..2^31-1, the newest step already used; 0 when absent */
        bool replace;                    /* "replace" */
        char event_id[EVENT_ID_LEN + 1]; /* "event_id": PROTO_EVENT_ID_PREFIX_MIN..32 lower-case hex
                                          * digits, an event id or the start of one */
        char note[PROTO_NOTE_MAX];       /* "note": text */
        int64_t alert;                   /* "alert": an alert id, 1..INT64_MAX */
        bool open_only;                  /* "open" */
        char rhost[EVENT_HOST_MAX];      /* "rhost": text (notice: the session's remote host) */
        char ip[EVENT_IP_MAX];           /* "ip": an IPv4 or IPv6 address (notice: the client's) */
        char login[EVENT_ID_LEN + 1];    /* "login": an event id, 32 lower-case hex digits */
        bool unknown;                    /* "unknown": admin-users: the names tried that are no account */
        /* verify from uid 0 */
        char cls[16];                                /* "class": "remote", "local" or "console" (source.h) */
        bool known;                                  /* "known": the user exists (NSS of the PAM process) */
        char grant_session[PROTO_GRANT_SESSION_MAX]; /* "grant_session": the terminal session (PID@START) */
};

/* Overwrite the secrets a request may carry (code, secret, scratch codes). */
void proto_request_wipe(struct proto_request *req);

const char *proto_method_to_string(enum proto_method m);
int proto_method_from_string(const char *s, enum proto_method *ret);

/* Encode REQ into BUF (at most MAX bytes, no NUL added). -EMSGSIZE if it does not fit. */
int proto_encode_request(const struct proto_request *req, char *buf, size_t max, size_t *ret_len);
/* Decode one datagram. -EMSGSIZE (over PROTO_MSG_MAX), -EPROTONOSUPPORT (version),
 * -EOPNOTSUPP (unknown method), -EINVAL (anything else malformed); ERR gets a short reason
 * that is safe to send back. *ret is written only on success. */
int proto_decode_request(const void *buf, size_t len, struct proto_request *ret, char *err, size_t errlen);

/* Replies. RESULT may be NULL (an empty result). */
int proto_encode_reply(const struct proto_obj *result, char *buf, size_t max, size_t *ret_len);
int proto_encode_error(const char *code, const char *message, char *buf, size_t max, size_t *ret_len);
/* 0 and *ret_result (NULL if none) for ok; -EREMOTEIO and code/message for an error reply;
 * -EBADMSG for anything malformed. */
int proto_decode_reply(const void *buf, size_t len, struct proto_obj **ret_result, char *code, size_t codelen,
                       char *msg, size_t msglen);

/* Events as JSON objects ({"id","kind","time_us","user","uid",...}, empty strings and -1
 * numbers omitted), for replies, --json output and spool files. from_obj applies
 * event_validate. */
struct proto_obj *proto_event_to_obj(const struct mlsec_event *e);
int proto_event_from_obj(const struct proto_obj *o, struct mlsec_event *ret, char *err, size_t errlen);
int proto_event_encode(const struct mlsec_event *e, char *buf, size_t max, size_t *ret_len);
int proto_event_decode(const void *buf, size_t len, struct mlsec_event *ret, char *err, size_t errlen);

/* Reading a parsed object (mlsecctl's tables). Getters return NULL / -ENOENT when the key is
 * missing or of another type. proto_obj_get and proto_array_get return a view into O: free
 * it with proto_obj_free (which frees only the view) before O is freed. */
const char *proto_obj_get_str(const struct proto_obj *o, const char *key);
int proto_obj_get_int(const struct proto_obj *o, const char *key, int64_t *ret);
int proto_obj_get_bool(const struct proto_obj *o, const char *key, bool *ret);
struct proto_obj *proto_obj_get(const struct proto_obj *o, const char *key);
size_t proto_array_len(const struct proto_obj *arr);
struct proto_obj *proto_array_get(const struct proto_obj *arr, size_t i);
/* The string at index I of ARR (a view into it), NULL when it is not a string. */
const char *proto_array_get_str(const struct proto_obj *arr, size_t i);

struct proto_obj *proto_obj_new(void);
struct proto_obj *proto_array_new(void);
struct proto_obj *proto_obj_free(struct proto_obj *o);

/* Setters return 0 or -ENOMEM/-EINVAL. A NULL string value is written as null. */
int proto_obj_set_str(struct proto_obj *o, const char *key, const char *val);
int proto_obj_set_int(struct proto_obj *o, const char *key, int64_t val);
int proto_obj_set_bool(struct proto_obj *o, const char *key, bool val);
/* A number written with at most 6 decimals (coordinates: about 0.1 m). */
int proto_obj_set_real(struct proto_obj *o, const char *key, double val);
/* Takes ownership of CHILD, also on failure. */
int proto_obj_set_obj(struct proto_obj *o, const char *key, struct proto_obj *child);
int proto_array_add(struct proto_obj *arr, struct proto_obj *child);
int proto_array_add_str(struct proto_obj *arr, const char *val);

/* Overwrite every string held in O (and below) with zeros: call before proto_obj_free on
 * an object that carried a secret (a new device's key, backup codes). O stays usable. */
void proto_obj_wipe(struct proto_obj *o);

/* Pretty-printed, followed by a newline. */
int proto_obj_print(FILE *out, const struct proto_obj *o);
