/* SPDX-License-Identifier: MIT */
/* Enrolment rules: what a valid device is, how its secret is made, sealed and shown as an
 * otpauth:// URI, how backup codes are replaced. Shared by the admin path of mlsecctl and
 * by mlsecd. Secrets are wiped before every return; nothing here logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enroll.h"
#include "util.h"

bool enroll_device_name_valid(const char *name)
{
        size_t n;

        if (!name)
                return false;
        n = strnlen(name, STORE_NAME_MAX);
        if (n == 0 || n >= STORE_NAME_MAX || name[0] == ' ')
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = name[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '_' || ch == '-' || ch == ' '))
                        return false;
        }
        return true;
}

/* Percent-encode IN for an otpauth:// label or query value. */
static int uri_escape(const char *in, char *out, size_t outlen)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t o = 0;

        for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
                bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                             *p == '.' || *p == '_' || *p == '-' || *p == '~';
                if (o + (plain ? 1 : 3) >= outlen)
                        return -ENAMETOOLONG;
                if (plain) {
                        out[o++] = (char)*p;
                } else {
                        out[o++] = '%';
                        out[o++] = hex[*p >> 4];
                        out[o++] = hex[*p & 15];
                }
        }
        out[o] = '\0';
        return 0;
}

static int make_uri(const struct enroll_device_req *req, const char *b32, char *out, size_t outlen)
{
        char issuer[128], user[3 * UTIL_USER_MAX];
        int n;

        if (uri_escape(req->issuer ? req->issuer : "mlsec", issuer, sizeof(issuer)) < 0 ||
            uri_escape(req->user, user, sizeof(user)) < 0)
                return -ENAMETOOLONG;
        n = snprintf(out, outlen, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=%s&digits=%u&period=%d", issuer,
                     user, b32, issuer, totp_alg_to_uri(req->alg), req->digits, TOTP_PERIOD);
        if (n < 0 || (size_t)n >= outlen)
                return -ENAMETOOLONG;
        return 0;
}

int enroll_device(struct store *s, const struct seal_key *k, const struct enroll_device_req *req,
                  struct enroll_device_result *ret)
{
        struct enroll_device_result res;
        const char *name = req->device ? req->device : ENROLL_DEVICE_DEFAULT;
        uint8_t secret[TOTP_SECRET_MAX];
        uint8_t *sealed = NULL;
        size_t slen = TOTP_SECRET_DEFAULT, sealed_len = 0;
        int r;

        if (!util_user_valid(req->user) || !enroll_device_name_valid(name) || (req->digits != 6 && req->digits != 8) ||
            req->alg > TOTP_SHA512)
                return -EINVAL;
        if (req->secret_b32) {
                r = totp_base32_decode(req->secret_b32, secret, sizeof(secret), &slen);
                if (r < 0 || slen < 10) {
                        r = -EINVAL;
                        goto out;
                }
        } else {
                seal_random(secret, slen);
        }
        r = totp_base32_encode(secret, slen, res.secret_b32, sizeof(res.secret_b32));
        if (r < 0)
                goto out;
        r = make_uri(req, res.secret_b32, res.uri, sizeof(res.uri));
        if (r < 0)
                goto out;
        r = seal_encrypt(k, req->user, secret, slen, &sealed, &sealed_len);
        if (r < 0)
                goto out;
        r = store_begin(s);
        if (r < 0)
                goto out;
        r = store_add_device(s, req->user, name, req->alg, req->digits, sealed, sealed_len, req->now);
        if (r >= 0)
                r = store_commit(s);
        else
                (void)store_rollback(s);
        if (r >= 0)
                memcpy(ret, &res, sizeof(res));
out:
        seal_wipe(secret, sizeof(secret));
        seal_wipe(&res, sizeof(res));
        if (sealed)
                seal_wipe(sealed, sealed_len);
        free(sealed);
        return r;
}

/* Ten new codes in SHOWN and their keyed hashes for USER. */
static int make_codes(const struct seal_key *k, const char *user, char shown[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN],
                      uint8_t hashes[BACKUP_CODE_COUNT][SEAL_HASH_BYTES])
{
        for (size_t i = 0; i < BACKUP_CODE_COUNT; i++) {
                char digits[BACKUP_CODE_DIGITS + 1];
                int r;

                backup_generate(shown[i]);
                r = backup_normalize(shown[i], digits);
                if (r >= 0)
                        r = seal_hash_code(k, user, digits, hashes[i]);
                seal_wipe(digits, sizeof(digits));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int count_devices(struct store *s, const char *user, size_t *ret)
{
        struct store_device *devs = NULL;
        size_t n = 0;
        int r;

        r = store_list_devices(s, user, &devs, &n);
        store_devices_free(devs, n);
        if (r >= 0)
                *ret = n;
        return r;
}

int enroll_backup_codes(struct store *s, const struct seal_key *k, const char *user, time_t now,
                        char ret[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN])
{
        char shown[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        uint8_t hashes[BACKUP_CODE_COUNT][SEAL_HASH_BYTES];
        size_t n = 0;
        int r;

        if (!util_user_valid(user))
                return -EINVAL;
        r = make_codes(k, user, shown, hashes);
        if (r < 0)
                goto out;
        r = store_begin(s);
        if (r < 0)
                goto out;
        r = count_devices(s, user, &n);
        if (r >= 0 && n == 0)
                r = -ENOENT;
        if (r >= 0)
                r = store_replace_backup_codes(s, user, (const uint8_t(*)[SEAL_HASH_BYTES])hashes, BACKUP_CODE_COUNT,
                                               now);
        if (r >= 0)
                r = store_commit(s);
        else
                (void)store_rollback(s);
        if (r >= 0)
                memcpy(ret, shown, sizeof(shown));
out:
        seal_wipe(shown, sizeof(shown));
        seal_wipe(hashes, sizeof(hashes));
        return r;
}

int enroll_status(struct store *s, const char *user, time_t now, struct enroll_status *ret)
{
        struct enroll_status st = {0};
        struct store_backup *codes = NULL;
        size_t nb = 0;
        int r;

        r = store_list_devices(s, user, &st.devices, &st.n_devices);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < st.n_devices; i++) {
                seal_wipe(st.devices[i].sealed, st.devices[i].sealed_len);
                free(st.devices[i].sealed);
                st.devices[i].sealed = NULL;
                st.devices[i].sealed_len = 0;
        }
        r = store_list_backup_codes(s, user, &codes, &nb);
        if (r < 0)
                goto fail;
        free(codes);
        st.backup_left = (unsigned)nb;
        r = store_list_lockouts(s, user, now, &st.lockouts, &st.n_lockouts);
        if (r < 0)
                goto fail;
        *ret = st;
        return 0;
fail:
        enroll_status_clear(&st);
        return r;
}

void enroll_status_clear(struct enroll_status *st)
{
        if (!st)
                return;
        st->devices = store_devices_free(st->devices, st->n_devices);
        free(st->lockouts);
        memset(st, 0, sizeof(*st));
}

/* ---- self-service enrolment --------------------------------------------------------------- */

int enroll_pending_new(const struct enroll_device_req *req, struct enroll_pending *ret,
                       struct enroll_device_result *ret_shown)
{
        struct enroll_pending p = {0};
        struct enroll_device_result res;
        const char *name = req->device ? req->device : ENROLL_DEVICE_DEFAULT;
        int r;

        if (!util_user_valid(req->user) || !enroll_device_name_valid(name) || (req->digits != 6 && req->digits != 8) ||
            req->alg > TOTP_SHA512 || req->secret_b32)
                return -EINVAL;
        snprintf(p.user, sizeof(p.user), "%s", req->user);
        snprintf(p.device, sizeof(p.device), "%s", name);
        p.alg = req->alg;
        p.digits = req->digits;
        p.secret_len = TOTP_SECRET_DEFAULT;
        p.tries_left = ENROLL_TRIES;
        seal_random(p.secret, p.secret_len);
        r = totp_base32_encode(p.secret, p.secret_len, res.secret_b32, sizeof(res.secret_b32));
        if (r >= 0)
                r = make_uri(req, res.secret_b32, res.uri, sizeof(res.uri));
        if (r >= 0) {
                memcpy(ret, &p, sizeof(p));
                memcpy(ret_shown, &res, sizeof(res));
        }
        seal_wipe(&p, sizeof(p));
        seal_wipe(&res, sizeof(res));
        return r;
}

int enroll_pending_check(const struct enroll_pending *p, const char *code, time_t now, unsigned window,
                         int64_t *ret_step)
{
        char typed[TOTP_CODE_MAX] = "";
        uint64_t now_step = totp_step(now);
        int64_t hit = -1;
        size_t len, n = 0;
        bool shape = true;
        int r = 0;

        if (!p || !code || window > 10)
                return -EINVAL;
        /* the code as typed, spaces aside ("123 456"); anything else is simply wrong */
        len = strnlen(code, 64);
        for (size_t i = 0; i < len; i++) {
                if (code[i] == ' ')
                        continue;
                if (code[i] < '0' || code[i] > '9' || n >= p->digits) {
                        shape = false;
                        break;
                }
                typed[n++] = code[i];
        }
        if (len >= 64 || n != p->digits)
                shape = false;
        for (int64_t delta = -(int64_t)window; delta <= (int64_t)window; delta++) {
                char want[TOTP_CODE_MAX];
                int64_t step = (int64_t)now_step + delta;

                if (step < 0)
                        continue;
                r = totp_generate(p->secret, p->secret_len, p->alg, p->digits, (uint64_t)step, want);
                if (r < 0)
                        break;
                if (seal_equal(want, typed, p->digits) && shape && hit < 0)
                        hit = step;
                seal_wipe(want, sizeof(want));
        }
        seal_wipe(typed, sizeof(typed));
        if (r < 0)
                return r;
        if (hit < 0)
                return 0;
        *ret_step = hit;
        return 1;
}

int enroll_pending_commit(struct store *s, const struct seal_key *k, const struct enroll_pending *p, int64_t step,
                          time_t now, bool *ret_first, char ret_codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN])
{
        char shown[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        uint8_t hashes[BACKUP_CODE_COUNT][SEAL_HASH_BYTES];
        struct store_device *devs = NULL;
        uint8_t *sealed = NULL;
        size_t sealed_len = 0, n = 0;
        int64_t id = -1;
        int r;

        if (!s || !k || !p || !util_user_valid(p->user) || !enroll_device_name_valid(p->device))
                return -EINVAL;
        r = make_codes(k, p->user, shown, hashes);
        if (r < 0)
                goto out;
        r = seal_encrypt(k, p->user, p->secret, p->secret_len, &sealed, &sealed_len);
        if (r < 0)
                goto out;
        r = store_begin(s);
        if (r < 0)
                goto out;
        r = count_devices(s, p->user, &n);
        if (r >= 0 && p->first && n > 0)
                r = -EALREADY;
        if (r >= 0 && !p->first && n == 0)
                r = -ESTALE;
        if (r >= 0)
                r = store_add_device(s, p->user, p->device, p->alg, p->digits, sealed, sealed_len, now);
        if (r >= 0)
                r = store_list_devices(s, p->user, &devs, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (strcmp(devs[i].name, p->device) == 0)
                        id = devs[i].id;
        store_devices_free(devs, n);
        if (r >= 0 && id < 0)
                r = -EIO;
        if (r >= 0)
                r = store_device_accepted(s, id, step, now);
        if (r >= 0 && p->first)
                r = store_replace_backup_codes(s, p->user, (const uint8_t(*)[SEAL_HASH_BYTES])hashes, BACKUP_CODE_COUNT,
                                               now);
        if (r >= 0)
                r = store_commit(s);
        else
                (void)store_rollback(s);
        if (r >= 0) {
                if (p->first)
                        memcpy(ret_codes, shown, sizeof(shown));
                *ret_first = p->first;
        }
out:
        seal_wipe(shown, sizeof(shown));
        seal_wipe(hashes, sizeof(hashes));
        if (sealed)
                seal_wipe(sealed, sealed_len);
        free(sealed);
        return r;
}

int enroll_remove_device(struct store *s, const char *user, const char *name, bool *ret_mfa_off)
{
        size_t n = 0;
        int r;

        if (!s || !util_user_valid(user) || !enroll_device_name_valid(name))
                return -EINVAL;
        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_remove_device(s, user, name);
        if (r >= 0)
                r = count_devices(s, user, &n);
        if (r >= 0 && n == 0)
                r = store_remove_user_mfa(s, user, NULL); /* the backup codes of a user without MFA */
        if (r >= 0)
                r = store_commit(s);
        else
                (void)store_rollback(s);
        if (r < 0)
                return r;
        (void)store_checkpoint(s); /* overwrite the removed secret's pages now */
        *ret_mfa_off = n == 0;
        return 0;
}

int enroll_disable(struct store *s, const char *user, unsigned *ret_removed)
{
        unsigned n = 0;
        int r;

        if (!s || !util_user_valid(user))
                return -EINVAL;
        r = store_remove_user_mfa(s, user, &n);
        if (r < 0)
                return r;
        (void)store_checkpoint(s);
        *ret_removed = n;
        return 0;
}

/* ---- the table of pending enrolments -------------------------------------------------------- */

struct enroll_table {
        size_t max, per_uid;
        struct enroll_pending *slots; /* max of them */
};

int enroll_table_new(size_t max_total, size_t max_per_uid, struct enroll_table **ret)
{
        struct enroll_table *t;

        if (max_total == 0 || max_per_uid == 0 || max_total > 4096)
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        /* the keys of enrolments not yet confirmed: locked memory, for minutes at a time */
        t->slots = seal_secure_alloc(max_total * sizeof(*t->slots));
        if (!t->slots) {
                free(t);
                return -ENOMEM;
        }
        t->max = max_total;
        t->per_uid = max_per_uid;
        *ret = t;
        return 0;
}

struct enroll_table *enroll_table_free(struct enroll_table *t)
{
        if (!t)
                return NULL;
        seal_secure_free(t->slots);
        free(t);
        return NULL;
}

void enroll_table_drop(struct enroll_table *t, struct enroll_pending *p)
{
        if (t && p)
                seal_wipe(p, sizeof(*p));
}

size_t enroll_table_count(const struct enroll_table *t, uint32_t uid)
{
        size_t n = 0;

        for (size_t i = 0; t && i < t->max; i++)
                n += t->slots[i].used && t->slots[i].uid == uid;
        return n;
}

int enroll_table_add(struct enroll_table *t, uint32_t uid, const struct enroll_pending *p, int64_t expires_us,
                     char ret_token[ENROLL_TOKEN_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        struct enroll_pending *slot = NULL, *oldest = NULL;
        uint8_t raw[ENROLL_TOKEN_LEN / 2];

        if (!t || !p || !ret_token)
                return -EINVAL;
        for (size_t i = 0; i < t->max; i++) {
                struct enroll_pending *e = &t->slots[i];
                if (!e->used) {
                        if (!slot)
                                slot = e;
                } else if (e->uid == uid && (!oldest || e->expires_us < oldest->expires_us)) {
                        oldest = e;
                }
        }
        if (oldest && enroll_table_count(t, uid) >= t->per_uid) {
                enroll_table_drop(t, oldest);
                slot = oldest;
        }
        if (!slot)
                return -EBUSY;
        memcpy(slot, p, sizeof(*slot));
        slot->used = true;
        slot->uid = uid;
        slot->expires_us = expires_us;
        seal_random(raw, sizeof(raw));
        for (size_t i = 0; i < sizeof(raw); i++) {
                slot->token[2 * i] = hex[raw[i] >> 4];
                slot->token[2 * i + 1] = hex[raw[i] & 15];
        }
        slot->token[ENROLL_TOKEN_LEN] = '\0';
        seal_wipe(raw, sizeof(raw));
        memcpy(ret_token, slot->token, ENROLL_TOKEN_LEN + 1);
        return 0;
}

struct enroll_pending *enroll_table_find(struct enroll_table *t, uint32_t uid, const char *token, int64_t now_us)
{
        char want[ENROLL_TOKEN_LEN + 1] = "";
        struct enroll_pending *hit = NULL;

        if (!t || !token)
                return NULL;
        snprintf(want, sizeof(want), "%s", token);
        if (strlen(want) != ENROLL_TOKEN_LEN)
                return NULL;
        for (size_t i = 0; i < t->max; i++) {
                struct enroll_pending *e = &t->slots[i];
                /* every slot compared, in constant time: the token says nothing by timing */
                bool eq = seal_equal(e->token, want, ENROLL_TOKEN_LEN);
                if (eq && e->used && e->uid == uid && e->expires_us > now_us && !hit)
                        hit = e;
        }
        return hit;
}

size_t enroll_table_expire(struct enroll_table *t, int64_t now_us)
{
        size_t n = 0;

        for (size_t i = 0; t && i < t->max; i++) {
                struct enroll_pending *e = &t->slots[i];
                if (e->used && (now_us == 0 || e->expires_us <= now_us)) {
                        enroll_table_drop(t, e);
                        n++;
                }
        }
        return n;
}

int64_t enroll_table_next_expiry(const struct enroll_table *t)
{
        int64_t next = 0;

        for (size_t i = 0; t && i < t->max; i++)
                if (t->slots[i].used && (next == 0 || t->slots[i].expires_us < next))
                        next = t->slots[i].expires_us;
        return next;
}

/* ---- the next step ------------------------------------------------------------------------- */

enum enroll_next enroll_next_step(const struct enroll_status *st, unsigned failed_since)
{
        if (!st || st->n_devices == 0)
                return ENROLL_NEXT_ENABLE_MFA;
        if (st->n_lockouts > 0)
                return ENROLL_NEXT_REVIEW_LOCKS;
        if (st->backup_left <= ENROLL_BACKUP_LOW)
                return ENROLL_NEXT_REGENERATE;
        if (failed_since > 0)
                return ENROLL_NEXT_REVIEW_FAILS;
        return ENROLL_NEXT_NONE;
}

static const struct {
        const char *word, *message, *command;
} next_steps[] = {
        [ENROLL_NEXT_NONE] = {"none", "nothing to do: your account is protected", NULL},
        [ENROLL_NEXT_ENABLE_MFA] = {"enable-mfa", "enable MFA", "mlsecctl mfa enable"},
        [ENROLL_NEXT_REVIEW_LOCKS] = {"review-lockouts", "review the failed logins behind the lockout",
                                      "mlsecctl history --failed"},
        [ENROLL_NEXT_REGENERATE] = {"regenerate-backup-codes", "generate new backup codes",
                                    "mlsecctl backup-codes regenerate"},
        [ENROLL_NEXT_REVIEW_FAILS] = {"review-failed-attempts", "review the failed logins since your last login",
                                      "mlsecctl history --failed"},
};

const char *enroll_next_to_string(enum enroll_next n)
{
        return (unsigned)n < sizeof(next_steps) / sizeof(next_steps[0]) ? next_steps[n].word : "none";
}

const char *enroll_next_message(enum enroll_next n)
{
        return (unsigned)n < sizeof(next_steps) / sizeof(next_steps[0]) ? next_steps[n].message : "";
}

const char *enroll_next_command(enum enroll_next n)
{
        return (unsigned)n < sizeof(next_steps) / sizeof(next_steps[0]) ? next_steps[n].command : NULL;
}
