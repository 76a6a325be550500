/* SPDX-License-Identifier: MIT */
/* The verification rules, written once: which answer is accepted (TOTP within the window,
 * newer than the device's last step; an unused backup code), replay, drift detection,
 * failures and lockouts per source and per user. Every check-and-consume runs inside one
 * BEGIN IMMEDIATE transaction of the store. Never logs; the caller reports. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "event.h"
#include "seal.h"
#include "source.h"
#include "store.h"

#define VERIFY_ANSWER_MAX 512 /* longest answer considered at all */
#define VERIFY_DRIFT_MAX  10  /* steps searched for a drifting clock */

enum mlsec_verdict {
        VERDICT_OK,
        VERDICT_WRONG,      /* no device and no backup code matched */
        VERDICT_REPLAY,     /* matched a step already accepted */
        VERDICT_DRIFT,      /* matched 2..10 steps away: refused, user told */
        VERDICT_LOCKED,     /* source (or every remote source) locked: refused */
        VERDICT_UNENROLLED, /* user has no device */
        VERDICT_MALFORMED,  /* empty, over-long or not a code at all; not counted as a failure */
        VERDICT_UNKNOWN_USER,
        VERDICT_WRONG_PASSWORD, /* authfail: the password module before us refused */
};

enum verify_method {
        METHOD_NONE,
        METHOD_TOTP,
        METHOD_BACKUP,
        METHOD_PASSWORD,   /* authfail: the attempt was the password */
        METHOD_TRUSTED,    /* no code asked: the address is in trusted_networks */
        METHOD_REMEMBERED, /* no code asked: a remembered grant (remember_seconds) */
};

struct verify_request {
        const char *user;
        bool known_user;       /* false: the user does not exist; always fails, same work */
        const char *answer;    /* what the user typed */
        bool combined;         /* answer is password followed by the code (forward_pass) */
        const char *source;    /* source_of_login's name: canonical PAM_RHOST, else the tty, else "local" */
        enum source_class cls; /* which account-wide cap counts its failures (source.h) */
        time_t now;
};

struct verify_result {
        enum mlsec_verdict verdict;
        enum verify_method method;
        char device[STORE_NAME_MAX]; /* the device that matched (OK, REPLAY, DRIFT) */
        long drift_seconds;          /* DRIFT: > 0 authenticator ahead, < 0 behind */
        long lock_remaining;         /* LOCKED: seconds left */
        bool lock_user_wide;         /* LOCKED: every remote source of the user is locked */
        bool lock_local_wide;        /* LOCKED: every local terminal of the user (not the consoles) */
        bool lock_started;           /* this failure started a lockout */
        unsigned backup_left;        /* OK and WRONG: unused backup codes after this attempt */
        size_t password_len;         /* combined: answer[0, password_len) is the password */
};

/* Does USER have at least one device? */
int verify_enrolled(struct store *s, const char *user, bool *ret);

/* Decide on an answer and record the outcome (last step, used backup code, failure,
 * lockout) in one transaction. s may be NULL when no database exists yet: then every
 * known user is unenrolled. k may be NULL when no key exists; -ENOKEY if one is needed.
 * r < 0: could not decide (the caller fails closed). */
int verify_answer(struct store *s, const struct seal_key *k, const struct mlsec_conf *c,
                  const struct verify_request *req, struct verify_result *ret);

/* Attempt tracking around the password module (pam_mlsec.so preauth / authfail).
 * locked: is the request's source, or its class's account-wide scope, locked at req->now?
 * Reads only; RES says VERDICT_LOCKED (with lock_remaining and the scope) or VERDICT_OK.
 * password_failed: a wrong password, refused as LOCKED when locked (not counted again),
 * else recorded as a failure exactly like a wrong code (per source and account-wide
 * budgets, lockouts). s may be NULL (no database yet): nothing is locked or recorded. */
int verify_locked(struct store *s, const struct verify_request *req, struct verify_result *ret);
int verify_password_failed(struct store *s, const struct mlsec_conf *c, const struct verify_request *req,
                           struct verify_result *ret);
/* The login got past the password without a code (unenrolled, remembered, trusted): the
 * source's failures are forgotten, as after a right code. */
int verify_password_ok(struct store *s, const struct verify_request *req);

/* Remembered grants (remember_seconds, remember_tty_seconds, remember_services): the rule
 * of which login leaves one and which login one spares the code, in one place. */
struct verify_grant_ctx {
        const char *user;
        const char *source;    /* source_of_login's name */
        enum source_class cls; /* remote: bound to the address; else to terminal and session */
        const char *service;   /* PAM_SERVICE */
        const char *tty;       /* PAM_TTY without /dev/; "" when none */
        const char *session;   /* the local session's key (sid and its start); "" when unknown */
        const uint8_t *pwfp;   /* SEAL_HASH_BYTES: a fingerprint of the user's password now */
        time_t now;
};
/* After a right code: leave (or renew) the grant this login may leave. 1: left; 0: this
 * login leaves none (off, a service not listed, remote:unknown, a terminal without a
 * session). */
int verify_grant_after_code(struct store *s, const struct mlsec_conf *c, const struct verify_grant_ctx *g);
/* Before asking: 1 and *ret_granted when a grant of exactly this user, source, service
 * (terminal, session) is valid now, under today's settings, for today's password; 0 when
 * not. A grant made with another password ends every grant of the user. The caller still
 * refuses a locked source. */
int verify_grant_find(struct store *s, const struct mlsec_conf *c, const struct verify_grant_ctx *g,
                      int64_t *ret_granted);

/* Before the code is asked: what the stack knows decides some logins (the rule of the
 * order, in one place, for the module's own path and for mlsecd's): an address of
 * trusted_networks passes whoever it is; a known user without a device passes under
 * `unenrolled = allow`; a known, enrolled user with a remembered grant passes (GRANT_OF is
 * asked for the grant's binding only then: it may load the key; it returns < 0 to fail
 * closed, 0 with *ret NULL for "no grant"). A passing login is still refused while its
 * source is locked; otherwise, unless REQ is combined (the password is not checked yet),
 * the source's failures are forgotten, as after a right code. Everything else: ask. */
enum verify_step {
        VERIFY_ASK,     /* ask for the code, then verify_answer */
        VERIFY_PASS,    /* no code: REASON, METHOD (GRANTED: when the remembered code was entered) */
        VERIFY_REFUSE,  /* a passing login whose source is locked: RES says VERDICT_LOCKED */
        VERIFY_CHECKED, /* (mlsecd's reply) the answer was checked: RES is the verdict */
};

struct verify_pass {
        enum verify_step step;
        const char *reason;        /* PASS: "trusted network", "unenrolled", "remembered" */
        enum verify_method method; /* PASS: METHOD_TRUSTED, METHOD_NONE, METHOD_REMEMBERED */
        int64_t granted;           /* PASS, remembered: the time the code was entered */
        struct verify_result res;  /* REFUSE: the lock; PASS: VERDICT_OK */
        int grant_error;           /* < 0: the grants could not be read (asked for the code) */
        int clear_error;           /* < 0: the source's failures were not forgotten */
};

typedef int (*verify_grant_fn)(void *userdata, const struct verify_grant_ctx **ret);

/* r < 0: could not decide (the caller fails closed and records a failed attempt). */
int verify_before_code(struct store *s, const struct mlsec_conf *c, const struct verify_request *req,
                       verify_grant_fn grant_of, void *userdata, struct verify_pass *ret);

/* What a grant of this login is bound to, the one rule for both paths: RET points into the
 * caller's strings and PWFP (filled here from the shadow file). TTY may start with /dev/ (one
 * too long to store counts as none); SESSION counts only for a login that is not remote.
 * 1: bound; 0: this login has no grant to use or leave (no key, remember_seconds and
 * remember_tty_seconds both 0, no valid user name, no service or one too long to store);
 * < 0: the fingerprint failed. */
int verify_grant_bind(const struct seal_key *k, const struct mlsec_conf *c, const char *user, const char *source,
                      enum source_class cls, const char *service, const char *tty, const char *session, time_t now,
                      uint8_t pwfp[SEAL_HASH_BYTES], struct verify_grant_ctx *ret);

/* The name the store knows a login's user by: "*invalid*" for a name that is no valid user
 * name (its failures are still counted, all under that one name). */
const char *verify_store_user(const char *user);

/* A keyed fingerprint of USER's password as the shadow file has it now ("" when USER has no
 * shadow entry): what a remembered grant is bound to, so that it ends with the password. */
int verify_password_fingerprint(const struct seal_key *k, const char *user, uint8_t ret[SEAL_HASH_BYTES]);

/* The record of an outcome, written once for both paths. E is the auth event of the login
 * (the PAM items, made by the caller); RESULT ("ok", "fail", "skipped"), REASON and METHOD
 * are set on it. */
void verify_event_outcome(struct mlsec_event *e, const char *result, const char *reason, enum verify_method method);
/* The audit entries an outcome makes (a backup code spent, a lockout begun), as events of
 * the same login as AUTH (its user, service, hosts), each with its own id: 0..2 of them in
 * OUT. SOURCE: the source of the login; LOCKOUT_SECONDS: the lockout's length. */
size_t verify_audit_events(const struct mlsec_event *auth, const struct verify_result *res, const char *source,
                           unsigned lockout_seconds, struct mlsec_event out[2]);

/* "ok", "wrong code", "replay", "drift", "locked", "unenrolled", "malformed", "unknown user",
 * "wrong password" */
const char *verify_verdict_to_string(enum mlsec_verdict v);
/* "totp", "backup", "password", "trusted-network", "remembered", "none" */
const char *verify_method_to_string(enum verify_method m);
/* The reverse of the two above: -EINVAL for a name that is none of them. */
int verify_verdict_from_string(const char *s, enum mlsec_verdict *ret);
int verify_method_from_string(const char *s, enum verify_method *ret);
/* "ask", "pass", "refuse", "checked", and back */
const char *verify_step_to_string(enum verify_step s);
int verify_step_from_string(const char *s, enum verify_step *ret);
/* The reason a passing login is recorded with, from its method ("trusted network",
 * "remembered", "unenrolled"). */
const char *verify_pass_reason(enum verify_method m);
/* What a lockout of RES covers, as the user reads it: "from this source", "for this account
 * from the network", "for this account from local terminals". */
const char *verify_lock_words(const struct verify_result *res);
/* The sentence a user sees for a refusal (empty for OK). */
char *verify_user_message(const struct verify_result *res, char *out, size_t outlen);
