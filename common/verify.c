/* SPDX-License-Identifier: MIT */
/* The verification rules, in one place: a TOTP code within `window` steps and newer than
 * the device's last accepted step, or an unused backup code; replay and drift are refused
 * and explained; failures lock a source, and many remote failures lock every remote
 * source of the user but never the local console. Each decision and its consequences are
 * one BEGIN IMMEDIATE transaction. It never logs and never keeps a secret after return. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <shadow.h>
#include <string.h>

#include "backup.h"
#include "totp.h"
#include "util.h"
#include "verify.h"

#define CODE_MIN_DIGITS 6
#define CODE_MAX_DIGITS 8
#define DRIFT_SPAN      (2 * VERIFY_DRIFT_MAX + 1)

/* The candidate codes found in one answer. */
struct candidates {
        char totp6[CODE_MAX_DIGITS + 1];
        char totp8[CODE_MAX_DIGITS + 1];
        size_t pass6, pass8; /* combined: password length in front of each */
        char backup[BACKUP_CODE_DIGITS + 1];
        size_t pass_backup;
        bool has6, has8, has_backup;
};

/* What one device's secret says about the candidate. */
struct device_match {
        bool ok;      /* matched within the window, newer than the last step */
        int ok_delta; /* its distance from now, the smallest one */
        bool replay;  /* matched within the window but not newer */
        bool drift;   /* matched outside the window */
        int drift_delta;
};

const char *verify_verdict_to_string(enum mlsec_verdict v)
{
        static const char *const names[] = {
                [VERDICT_OK] = "ok",
                [VERDICT_WRONG] = "wrong code",
                [VERDICT_REPLAY] = "replay",
                [VERDICT_DRIFT] = "drift",
                [VERDICT_LOCKED] = "locked",
                [VERDICT_UNENROLLED] = "unenrolled",
                [VERDICT_MALFORMED] = "malformed",
                [VERDICT_UNKNOWN_USER] = "unknown user",
                [VERDICT_WRONG_PASSWORD] = "wrong password",
        };
        if ((unsigned)v >= sizeof(names) / sizeof(names[0]))
                return "invalid";
        return names[v];
}

const char *verify_method_to_string(enum verify_method m)
{
        switch (m) {
        case METHOD_TOTP:
                return "totp";
        case METHOD_BACKUP:
                return "backup";
        case METHOD_PASSWORD:
                return "password";
        case METHOD_TRUSTED:
                return "trusted-network";
        case METHOD_REMEMBERED:
                return "remembered";
        default:
                return "none";
        }
}

int verify_verdict_from_string(const char *s, enum mlsec_verdict *ret)
{
        for (int v = VERDICT_OK; s && v <= VERDICT_WRONG_PASSWORD; v++)
                if (strcmp(s, verify_verdict_to_string((enum mlsec_verdict)v)) == 0) {
                        *ret = (enum mlsec_verdict)v;
                        return 0;
                }
        return -EINVAL;
}

int verify_method_from_string(const char *s, enum verify_method *ret)
{
        for (int m = METHOD_NONE; s && m <= METHOD_REMEMBERED; m++)
                if (strcmp(s, verify_method_to_string((enum verify_method)m)) == 0) {
                        *ret = (enum verify_method)m;
                        return 0;
                }
        return -EINVAL;
}

static const char *const step_names[] = {
        [VERIFY_ASK] = "ask",
        [VERIFY_PASS] = "pass",
        [VERIFY_REFUSE] = "refuse",
        [VERIFY_CHECKED] = "checked",
};

const char *verify_step_to_string(enum verify_step s)
{
        return (unsigned)s < sizeof(step_names) / sizeof(step_names[0]) ? step_names[s] : "invalid";
}

int verify_step_from_string(const char *s, enum verify_step *ret)
{
        for (size_t i = 0; s && i < sizeof(step_names) / sizeof(step_names[0]); i++)
                if (strcmp(s, step_names[i]) == 0) {
                        *ret = (enum verify_step)i;
                        return 0;
                }
        return -EINVAL;
}

const char *verify_pass_reason(enum verify_method m)
{
        return m == METHOD_TRUSTED ? "trusted network" : m == METHOD_REMEMBERED ? "remembered" : "unenrolled";
}

static bool all_digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* Take the trailing N digits of ANSWER (length LEN) as a code. */
static bool take_suffix(const char *answer, size_t len, size_t n, bool combined, char *out, size_t *ret_pass)
{
        if (combined ? len <= n : len != n)
                return false;
        if (!all_digits(answer + len - n, n))
                return false;
        memcpy(out, answer + len - n, n);
        out[n] = '\0';
        *ret_pass = len - n;
        return true;
}

/* A backup code: the whole answer, or in combined mode its tail (10 digits or 5-5). */
static bool take_backup(const char *answer, size_t len, bool combined, struct candidates *c)
{
        const size_t tails[] = {BACKUP_CODE_DIGITS, BACKUP_CODE_DIGITS + 1};

        if (!combined) {
                c->pass_backup = 0;
                return backup_normalize(answer, c->backup) >= 0;
        }
        for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
                char tail[BACKUP_CODE_DIGITS + 2];

                if (len <= tails[i])
                        continue;
                memcpy(tail, answer + len - tails[i], tails[i]);
                tail[tails[i]] = '\0';
                if (tails[i] == BACKUP_CODE_DIGITS + 1 && tail[5] != '-')
                        continue;
                if (backup_normalize(tail, c->backup) >= 0) {
                        c->pass_backup = len - tails[i];
                        explicit_bzero(tail, sizeof(tail));
                        return true;
                }
                explicit_bzero(tail, sizeof(tail));
        }
        return false;
}

static int parse_candidates(const struct verify_request *req, struct candidates *c)
{
        size_t len = strnlen(req->answer, VERIFY_ANSWER_MAX + 1);

        if (len == 0 || len > VERIFY_ANSWER_MAX)
                return -EINVAL;
        if (!req->combined && len > 64)
                return -EINVAL;
        c->has6 = take_suffix(req->answer, len, 6, req->combined, c->totp6, &c->pass6);
        c->has8 = take_suffix(req->answer, len, 8, req->combined, c->totp8, &c->pass8);
        c->has_backup = take_backup(req->answer, len, req->combined, c);
        if (!c->has6 && !c->has8 && !c->has_backup)
                return -EINVAL;
        return 0;
}

/* A device's step length: its own, TOTP_PERIOD for one stored before periods were read. */
static unsigned device_period(const struct store_device *d)
{
        return d->period >= TOTP_PERIOD_MIN && d->period <= TOTP_PERIOD_MAX ? d->period : TOTP_PERIOD;
}

/* Compare CODE with the device's codes for every step in now +- VERIFY_DRIFT_MAX. All
 * steps are computed whatever matches, so the time taken does not depend on the answer. */
static int match_device(const uint8_t *secret, size_t slen, const struct store_device *d, const char *code,
                        uint64_t now_step, unsigned window, struct device_match *ret)
{
        struct device_match m = {0};

        for (int delta = -VERIFY_DRIFT_MAX; delta <= VERIFY_DRIFT_MAX; delta++) {
                char want[TOTP_CODE_MAX];
                int64_t step = (int64_t)now_step + delta;
                int r;
                bool eq;

                if (step < 0)
                        continue;
                r = totp_generate_period(secret, slen, d->alg, d->digits, device_period(d), (uint64_t)step, want);
                if (r < 0)
                        return r;
                eq = seal_equal(want, code, d->digits);
                explicit_bzero(want, sizeof(want));
                if (!eq)
                        continue;
                if ((unsigned)abs(delta) <= window) {
                        if (step <= d->last_step)
                                m.replay = true;
                        else if (!m.ok || abs(delta) < abs(m.ok_delta)) {
                                m.ok = true;
                                m.ok_delta = delta;
                        }
                } else if (step > d->last_step && (!m.drift || abs(delta) < abs(m.drift_delta))) {
                        m.drift = true;
                        m.drift_delta = delta;
                }
        }
        *ret = m;
        return 0;
}

/* Work of the same kind as a real check, for users who do not exist or have no device. */
static void dummy_work(const struct seal_key *k, const struct verify_request *req, uint64_t now_step)
{
        uint8_t secret[TOTP_SECRET_DEFAULT];
        uint8_t h[SEAL_HASH_BYTES];

        seal_random(secret, sizeof(secret));
        for (int delta = -VERIFY_DRIFT_MAX; delta <= VERIFY_DRIFT_MAX; delta++) {
                char want[TOTP_CODE_MAX];

                if (totp_generate(secret, sizeof(secret), TOTP_SHA1, 6, now_step + (uint64_t)delta, want) >= 0)
                        (void)seal_equal(want, "000000", 6);
                explicit_bzero(want, sizeof(want));
        }
        if (k)
                (void)seal_hash_code(k, req->user, "0000000000", h);
        seal_wipe(secret, sizeof(secret));
        seal_wipe(h, sizeof(h));
}

/* Is SOURCE (or every remote source) of the user locked at NOW? */
static int check_lock(struct store *s, const char *user, const char *source, time_t now, long *ret_left)
{
        struct store_lockout l;
        int r = store_get_lockout(s, user, source, &l);

        if (r == -ENOENT) {
                *ret_left = 0;
                return 0;
        }
        if (r < 0)
                return r;
        *ret_left = l.until > now ? (long)(l.until - now) : 0;
        return 0;
}

/* The account-wide lockout that covers sources of class CLS, or NULL (the consoles). */
static const char *account_lock_of(enum source_class cls)
{
        return cls == SOURCE_REMOTE ? STORE_REMOTE_ALL : cls == SOURCE_LOCAL ? STORE_LOCAL_ALL : NULL;
}

/* Count the request's failures (SCOPE NULL: of its source; else every failure of its class)
 * since the window opened or the last lockout of that scope began, whichever is later, and
 * lock the scope when LIMIT is reached. */
static int count_and_lock(struct store *s, const struct mlsec_conf *c, const struct verify_request *req,
                          const char *scope, unsigned limit, bool *ret_locked)
{
        const char *lock_name = scope ? scope : req->source;
        int64_t since = (int64_t)req->now - c->failure_window + 1;
        struct store_lockout l;
        unsigned n;
        int r;

        r = store_get_lockout(s, req->user, lock_name, &l);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && l.locked_at + 1 > since)
                since = l.locked_at + 1;
        r = scope ? store_count_class_failures(s, req->user, req->cls, since, &n)
                  : store_count_failures(s, req->user, req->source, since, &n);
        if (r < 0)
                return r;
        *ret_locked = false;
        if (n < limit)
                return 0;
        r = store_set_lockout(s, req->user, lock_name, req->now, (int64_t)req->now + c->lockout_seconds);
        if (r < 0)
                return r;
        *ret_locked = true;
        return 0;
}

/* A failure counts for its source and for its class's account-wide cap: every remote
 * source (max_user_failures), every local terminal (max_local_failures); a console has
 * only its own budget, so the administrator at the console always gets in. */
static int record_failure(struct store *s, const struct mlsec_conf *c, const struct verify_request *req,
                          struct verify_result *res)
{
        const char *scope = account_lock_of(req->cls);
        bool locked = false, locked_all = false;
        int64_t horizon = c->failure_window > c->lockout_seconds ? c->failure_window : c->lockout_seconds;
        int r;

        r = store_add_failure(s, req->user, req->source, req->cls, req->now);
        if (r < 0)
                return r;
        r = count_and_lock(s, c, req, NULL, c->max_failures, &locked);
        if (r < 0)
                return r;
        if (scope) {
                r = count_and_lock(s, c, req, scope,
                                   req->cls == SOURCE_REMOTE ? c->max_user_failures : c->max_local_failures,
                                   &locked_all);
                if (r < 0)
                        return r;
        }
        res->lock_started = locked || locked_all;
        res->lock_user_wide = locked_all && req->cls == SOURCE_REMOTE;
        res->lock_local_wide = locked_all && req->cls == SOURCE_LOCAL;
        if (res->lock_started)
                res->lock_remaining = c->lockout_seconds;
        return store_prune(s, (int64_t)req->now - horizon);
}

/* Try every device. On a match within the window, ret_dev and ret_step name the device and
 * step to consume; otherwise res says replay, drift or nothing. */
static int check_devices(const struct seal_key *k, const struct mlsec_conf *c, const struct verify_request *req,
                         const struct store_device *devs, size_t n, const struct candidates *cand,
                         struct verify_result *res, size_t *ret_dev, int64_t *ret_step)
{
        static const char none[TOTP_CODE_MAX] = {0}; /* equals no code */
        bool found = false, replay = false, drift = false;
        int best = 0;

        for (size_t i = 0; i < n; i++) {
                const struct store_device *d = &devs[i];
                uint64_t now_step = totp_step_period(req->now, device_period(d)); /* steps of this device */
                bool has = d->digits == 8 ? cand->has8 : cand->has6;
                uint8_t secret[SEAL_SECRET_MAX];
                struct device_match m;
                size_t slen;
                int r;

                r = seal_decrypt(k, req->user, d->sealed, d->sealed_len, secret, sizeof(secret), &slen);
                if (r < 0)
                        return r;
                /* without a candidate of this length the device still does the same work */
                r = match_device(secret, slen, d,
                                 !has             ? none
                                 : d->digits == 8 ? cand->totp8
                                                  : cand->totp6,
                                 now_step, c->window, &m);
                seal_wipe(secret, sizeof(secret));
                if (r < 0)
                        return r;
                if (!has)
                        continue;
                if (m.ok && (!found || abs(m.ok_delta) < abs(best))) {
                        found = true;
                        best = m.ok_delta;
                        *ret_dev = i;
                        *ret_step = (int64_t)now_step + m.ok_delta;
                        res->password_len = d->digits == 8 ? cand->pass8 : cand->pass6;
                }
                if (!found && m.replay && !replay) {
                        replay = true;
                        snprintf(res->device, sizeof(res->device), "%s", d->name);
                        res->password_len = d->digits == 8 ? cand->pass8 : cand->pass6;
                }
                if (!found && !replay && m.drift && !drift) {
                        drift = true;
                        res->drift_seconds = (long)m.drift_delta * (long)device_period(d);
                        snprintf(res->device, sizeof(res->device), "%s", d->name);
                        res->password_len = d->digits == 8 ? cand->pass8 : cand->pass6;
                }
        }
        if (found) {
                snprintf(res->device, sizeof(res->device), "%s", devs[*ret_dev].name);
                res->verdict = VERDICT_OK;
                res->method = METHOD_TOTP;
                res->drift_seconds = 0;
        } else if (replay) {
                res->verdict = VERDICT_REPLAY;
                res->method = METHOD_TOTP;
                res->drift_seconds = 0;
        } else if (drift) {
                res->verdict = VERDICT_DRIFT;
                res->method = METHOD_TOTP;
        }
        return 0;
}

/* An unused backup code equal to the candidate: consume it. Eight digits are also tried as
 * a backup code: scratch codes imported from google-authenticator are stored hashed as
 * they were (gauth.c), and no code mlsec makes has eight digits. */
static int check_backup(struct store *s, const struct seal_key *k, const struct verify_request *req,
                        const struct candidates *cand, struct verify_result *res)
{
        struct store_backup *codes = NULL;
        uint8_t h[SEAL_HASH_BYTES], h8[SEAL_HASH_BYTES];
        int64_t hit = -1;
        size_t n = 0, pass = cand->pass_backup;
        int r;

        r = store_list_backup_codes(s, req->user, &codes, &n);
        if (r < 0)
                return r;
        if (!cand->has_backup && !cand->has8) {
                res->backup_left = (unsigned)n;
                goto out;
        }
        r = seal_hash_code(k, req->user, cand->has_backup ? cand->backup : "", h);
        if (r >= 0)
                r = seal_hash_code(k, req->user, cand->has8 ? cand->totp8 : "", h8);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                bool b10 = cand->has_backup && seal_equal(h, codes[i].hash, sizeof(h));
                bool b8 = cand->has8 && seal_equal(h8, codes[i].hash, sizeof(h8));

                if ((b10 || b8) && hit < 0) {
                        hit = codes[i].id;
                        pass = b10 ? cand->pass_backup : cand->pass8;
                }
        }
        res->backup_left = (unsigned)n;
        if (hit >= 0) {
                r = store_use_backup_code(s, hit, req->now);
                if (r < 0)
                        goto out;
                res->verdict = VERDICT_OK;
                res->method = METHOD_BACKUP;
                res->backup_left = (unsigned)n - 1;
                res->password_len = pass;
                res->device[0] = '\0';
        }
        r = 0;
out:
        seal_wipe(h, sizeof(h));
        seal_wipe(h8, sizeof(h8));
        free(codes);
        return r;
}

int verify_enrolled(struct store *s, const char *user, bool *ret)
{
        struct store_device *devs = NULL;
        size_t n = 0;
        int r;

        if (!s) {
                *ret = false;
                return 0;
        }
        r = store_list_devices(s, user, &devs, &n);
        if (r < 0)
                return r;
        store_devices_free(devs, n);
        *ret = n > 0;
        return 0;
}

/* 1 and RES says VERDICT_LOCKED when the request's source or the account-wide scope of its
 * class is locked at its time; 0 when not. */
static int refuse_if_locked(struct store *s, const struct verify_request *req, struct verify_result *res)
{
        long left;
        int r;

        r = check_lock(s, req->user, req->source, req->now, &left);
        if (r >= 0 && !left && account_lock_of(req->cls)) {
                r = check_lock(s, req->user, account_lock_of(req->cls), req->now, &left);
                res->lock_user_wide = left > 0 && req->cls == SOURCE_REMOTE;
                res->lock_local_wide = left > 0 && req->cls == SOURCE_LOCAL;
        }
        if (r < 0)
                return r;
        if (!left)
                return 0;
        res->verdict = VERDICT_LOCKED;
        res->lock_remaining = left;
        return 1;
}

/* The decision proper, inside the caller's transaction. */
static int decide(struct store *s, const struct seal_key *k, const struct mlsec_conf *c,
                  const struct verify_request *req, const struct candidates *cand, bool malformed,
                  struct verify_result *res)
{
        uint64_t now_step = totp_step(req->now);
        struct store_device *devs = NULL;
        size_t n = 0, dev = 0;
        int64_t step = -1;
        int r;

        r = refuse_if_locked(s, req, res);
        if (r != 0)
                return r < 0 ? r : 0; /* refused before the answer is looked at; not a new failure */
        r = store_list_devices(s, req->user, &devs, &n);
        if (r < 0)
                return r;
        if (!req->known_user || n == 0) {
                /* Refused either way (a caller asks only under unenrolled = deny), and counted
                 * like any failure: the same reads, work and write as a wrong code, so the
                 * time taken tells nobody whether the account exists or has MFA. */
                dummy_work(k, req, now_step);
                res->verdict = req->known_user ? VERDICT_UNENROLLED : VERDICT_UNKNOWN_USER;
                r = record_failure(s, c, req, res);
                goto out;
        }
        if (!k) {
                r = -ENOKEY;
                goto out;
        }
        if (malformed) {
                dummy_work(k, req, now_step);
                res->verdict = VERDICT_MALFORMED;
                r = 0;
                goto out;
        }
        r = check_devices(k, c, req, devs, n, cand, res, &dev, &step);
        if (r < 0)
                goto out;
        if (res->verdict == VERDICT_OK) {
                r = store_device_accepted(s, devs[dev].id, step, req->now);
                if (r >= 0)
                        r = check_backup(s, k, req, &(struct candidates){0}, res);
        } else if (res->verdict == VERDICT_WRONG) {
                r = check_backup(s, k, req, cand, res);
        }
        if (r < 0)
                goto out;
        if (res->verdict == VERDICT_OK)
                r = store_clear_failures(s, req->user, req->source);
        else
                r = record_failure(s, c, req, res);
out:
        store_devices_free(devs, n);
        return r;
}

int verify_answer(struct store *s, const struct seal_key *k, const struct mlsec_conf *c,
                  const struct verify_request *req, struct verify_result *ret)
{
        struct verify_result res = {.verdict = VERDICT_WRONG, .method = METHOD_NONE};
        struct candidates cand = {0};
        bool malformed, own;
        int r;

        if (!c || !req || !req->user || !req->answer || !req->source || !ret)
                return -EINVAL;
        malformed = parse_candidates(req, &cand) < 0;
        /* combined: what the next module gets when no code matched, so that a refusal does not
         * depend on whether the code or the password was wrong */
        res.password_len = cand.has6 ? cand.pass6 : strnlen(req->answer, VERIFY_ANSWER_MAX);
        if (!s) {
                /* No database yet: nobody is enrolled. */
                dummy_work(k, req, totp_step(req->now));
                res.verdict = req->known_user ? VERDICT_UNENROLLED : VERDICT_UNKNOWN_USER;
                *ret = res;
                r = 0;
                goto out;
        }
        /* its own transaction, or a savepoint of mlsecd's group commit: the consumed step is
         * durable once that commits, and mlsecd answers only then */
        r = store_op_begin(s, &own);
        if (r < 0)
                goto out;
        r = store_op_end(s, own, decide(s, k, c, req, &cand, malformed, &res));
        if (r < 0)
                goto out;
        *ret = res;
out:
        explicit_bzero(&cand, sizeof(cand));
        return r;
}

static bool request_valid(const struct verify_request *req, const struct verify_result *ret)
{
        return req && req->user && req->source && ret;
}

int verify_locked(struct store *s, const struct verify_request *req, struct verify_result *ret)
{
        struct verify_result res = {.verdict = VERDICT_OK, .method = METHOD_NONE};
        int r;

        if (!request_valid(req, ret))
                return -EINVAL;
        r = s ? refuse_if_locked(s, req, &res) : 0;
        if (r < 0)
                return r;
        *ret = res;
        return 0;
}

int verify_password_failed(struct store *s, const struct mlsec_conf *c, const struct verify_request *req,
                           struct verify_result *ret)
{
        struct verify_result res = {.verdict = VERDICT_WRONG_PASSWORD, .method = METHOD_PASSWORD};
        bool own;
        int r;

        if (!c || !request_valid(req, ret))
                return -EINVAL;
        if (!s) {
                *ret = res;
                return 0;
        }
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        r = refuse_if_locked(s, req, &res);
        if (r == 0)
                r = record_failure(s, c, req, &res);
        r = store_op_end(s, own, r);
        if (r < 0)
                return r;
        *ret = res;
        return 0;
}

int verify_password_ok(struct store *s, const struct verify_request *req)
{
        if (!req || !req->user || !req->source)
                return -EINVAL;
        return s ? store_clear_failures(s, req->user, req->source) : 0;
}

/* The key of G's grant and how long it lasts, or 0 when this login can have none. */
static unsigned grant_key_of(const struct mlsec_conf *c, const struct verify_grant_ctx *g, struct store_grant_key *ret)
{
        bool remote = g->cls == SOURCE_REMOTE;
        unsigned lifetime = remote ? c->remember_seconds : c->remember_tty_seconds;

        if (lifetime == 0 || !g->user || !g->source || !g->service || !g->tty || !g->session || !g->pwfp)
                return 0;
        if (c->remember_services.n > 0 && !conf_list_has(&c->remember_services, g->service))
                return 0;
        if (remote && (strcmp(g->source, SOURCE_UNKNOWN_REMOTE) == 0 || strcmp(g->source, SOURCE_INVALID_REMOTE) == 0))
                return 0;
        if (!remote && (!g->tty[0] || !g->session[0]))
                return 0;
        *ret = (struct store_grant_key){
                .user = g->user,
                .source = g->source,
                .service = g->service,
                .tty = remote ? "" : g->tty,
                .session = remote ? "" : g->session,
        };
        return lifetime;
}

int verify_grant_after_code(struct store *s, const struct mlsec_conf *c, const struct verify_grant_ctx *g)
{
        struct store_grant_key key;
        unsigned lifetime;
        int r;

        if (!s || !c || !g)
                return -EINVAL;
        lifetime = grant_key_of(c, g, &key);
        if (lifetime == 0)
                return 0;
        r = store_add_grant(s, &key, g->pwfp, g->now, (int64_t)g->now + lifetime);
        return r < 0 ? r : 1;
}

int verify_grant_find(struct store *s, const struct mlsec_conf *c, const struct verify_grant_ctx *g,
                      int64_t *ret_granted)
{
        struct store_grant_key key;
        struct store_grant grant;
        unsigned lifetime;
        bool same;
        int r;

        if (!c || !g || !ret_granted)
                return -EINVAL;
        lifetime = s ? grant_key_of(c, g, &key) : 0;
        if (lifetime == 0)
                return 0;
        r = store_find_grant(s, &key, g->now, &grant);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        same = seal_equal(grant.pwfp, g->pwfp, SEAL_HASH_BYTES);
        seal_wipe(grant.pwfp, sizeof(grant.pwfp));
        /* a new password ends every grant of the user: the others were made with the old one */
        if (!same) {
                r = store_forget_grants(s, g->user, NULL);
                return r < 0 ? r : 0;
        }
        /* a shorter remember_seconds applies to grants made before */
        if (grant.granted > (int64_t)g->now || grant.granted + (int64_t)lifetime <= (int64_t)g->now)
                return 0;
        *ret_granted = grant.granted;
        return 1;
}

int verify_before_code(struct store *s, const struct mlsec_conf *c, const struct verify_request *req,
                       verify_grant_fn grant_of, void *userdata, struct verify_pass *ret)
{
        struct verify_pass p = {.step = VERIFY_ASK, .res = {.verdict = VERDICT_OK, .method = METHOD_NONE}};
        const struct verify_grant_ctx *g = NULL;
        bool enrolled = false;
        int r;

        if (!c || !request_valid(req, &p.res) || !ret)
                return -EINVAL;
        if (req->cls == SOURCE_REMOTE && source_in_networks(req->source, &c->trusted_networks)) {
                /* no code, whoever it is (the account stack's MFA policy still applies) */
                p = (struct verify_pass){.step = VERIFY_PASS, .method = METHOD_TRUSTED};
        } else {
                /* asked for every name, so an unknown user costs the same read as a known one */
                r = verify_enrolled(s, req->user, &enrolled);
                if (r < 0)
                        return r;
                if (req->known_user && !enrolled && c->unenrolled == CONF_UNENROLLED_ALLOW)
                        p = (struct verify_pass){.step = VERIFY_PASS, .method = METHOD_NONE};
                else if (req->known_user && enrolled && grant_of) {
                        r = grant_of(userdata, &g);
                        if (r < 0)
                                return r;
                        if (g)
                                r = verify_grant_find(s, c, g, &p.granted);
                        if (r < 0)
                                p.grant_error = r;
                        else if (r > 0) {
                                p.step = VERIFY_PASS;
                                p.method = METHOD_REMEMBERED;
                        }
                }
        }
        p.reason = verify_pass_reason(p.method);
        if (p.step == VERIFY_PASS && s) {
                r = refuse_if_locked(s, req, &p.res);
                if (r < 0)
                        return r;
                if (r > 0) {
                        p.step = VERIFY_REFUSE;
                        p.res.method = METHOD_NONE;
                } else if (!req->combined) {
                        p.clear_error = store_clear_failures(s, req->user, req->source);
                }
        }
        *ret = p;
        return 0;
}

int verify_password_fingerprint(const struct seal_key *k, const char *user, uint8_t ret[SEAL_HASH_BYTES])
{
        struct spwd sp, *res = NULL;
        char buf[4096];
        int r;

        if (!k || !user || !ret)
                return -EINVAL;
        if (getspnam_r(user, &sp, buf, sizeof(buf), &res) != 0)
                res = NULL;
        r = seal_hash_code(k, user, res && res->sp_pwdp ? res->sp_pwdp : "", ret);
        seal_wipe(buf, sizeof(buf));
        return r;
}

int verify_grant_bind(const struct seal_key *k, const struct mlsec_conf *c, const char *user, const char *source,
                      enum source_class cls, const char *service, const char *tty, const char *session, time_t now,
                      uint8_t pwfp[SEAL_HASH_BYTES], struct verify_grant_ctx *ret)
{
        int r;

        if (!tty)
                tty = "";
        if (strlen(tty) >= STORE_SERVICE_MAX)
                tty = ""; /* too long to store: as without one */
        else if (strncmp(tty, "/dev/", 5) == 0)
                tty += 5;
        if (!k || !c || (!c->remember_seconds && !c->remember_tty_seconds) || !user || !util_user_valid(user) ||
            !source || !service || !service[0] || strlen(service) >= STORE_SERVICE_MAX)
                return 0;
        r = verify_password_fingerprint(k, user, pwfp);
        if (r < 0)
                return r;
        *ret = (struct verify_grant_ctx){
                .user = user,
                .source = source,
                .cls = cls,
                .service = service,
                .tty = tty,
                .session = cls == SOURCE_REMOTE || !session ? "" : session,
                .pwfp = pwfp,
                .now = now,
        };
        return 1;
}

const char *verify_store_user(const char *user)
{
        return user && util_user_valid(user) ? user : "*invalid*";
}

void verify_event_outcome(struct mlsec_event *e, const char *result, const char *reason, enum verify_method method)
{
        (void)event_set_text(e->result, sizeof(e->result), result);
        (void)event_set_text(e->reason, sizeof(e->reason), reason);
        (void)event_set_text(e->method, sizeof(e->method), verify_method_to_string(method));
}

/* An audit entry of the login AUTH: its user and PAM items, its own id and time. */
static void audit_of(const struct mlsec_event *auth, const char *action, struct mlsec_event *ret)
{
        struct mlsec_event e;

        event_init(&e, EVENT_AUDIT);
        e.pid = auth->pid;
        e.uid = auth->uid;
        memcpy(e.user, auth->user, sizeof(e.user));
        memcpy(e.service, auth->service, sizeof(e.service));
        memcpy(e.rhost, auth->rhost, sizeof(e.rhost));
        memcpy(e.ip, auth->ip, sizeof(e.ip));
        memcpy(e.tty, auth->tty, sizeof(e.tty));
        (void)event_set_text(e.action, sizeof(e.action), action);
        *ret = e;
}

size_t verify_audit_events(const struct mlsec_event *auth, const struct verify_result *res, const char *source,
                           unsigned lockout_seconds, struct mlsec_event out[2])
{
        char d[64], esc[STORE_SOURCE_MAX * 4];
        size_t n = 0;

        if (res->verdict == VERDICT_OK && res->method == METHOD_BACKUP) {
                audit_of(auth, "backup-code-used", &out[n]);
                snprintf(out[n].detail, sizeof(out[n].detail), "a backup code was used to log in; %u left",
                         res->backup_left);
                n++;
        }
        if (res->lock_started) {
                audit_of(auth, "lockout", &out[n]);
                snprintf(out[n].detail, sizeof(out[n].detail),
                         "%s locked for %s after repeated failures (ends by itself then, or with mlsecctl admin "
                         "unlock)",
                         res->lock_user_wide    ? source_lock_scope(STORE_REMOTE_ALL)
                         : res->lock_local_wide ? source_lock_scope(STORE_LOCAL_ALL)
                                                : util_escape(source ? source : "", esc, sizeof(esc)),
                         util_duration(lockout_seconds, d, sizeof(d)));
                n++;
        }
        return n;
}

const char *verify_lock_words(const struct verify_result *res)
{
        return res->lock_user_wide    ? "for this account from the network"
               : res->lock_local_wide ? "for this account from local terminals"
                                      : "from this source";
}

char *verify_user_message(const struct verify_result *res, char *out, size_t outlen)
{
        char d[64];

        switch (res->verdict) {
        case VERDICT_OK:
                out[0] = '\0';
                break;
        case VERDICT_REPLAY:
                snprintf(out, outlen, "This code has already been used. Wait for the next code and try again.");
                break;
        case VERDICT_DRIFT:
                snprintf(out, outlen,
                         "Code refused: your authenticator's clock looks about %s %s this server's. "
                         "Set its time automatically (network time) and try again.",
                         util_duration(labs(res->drift_seconds), d, sizeof(d)),
                         res->drift_seconds > 0 ? "ahead of" : "behind");
                break;
        case VERDICT_LOCKED:
                snprintf(out, outlen, "Too many failed attempts %s. Try again in %s.", verify_lock_words(res),
                         util_duration(res->lock_remaining, d, sizeof(d)));
                break;
        default:
                snprintf(out, outlen, "Invalid verification code.");
                break;
        }
        return out;
}
