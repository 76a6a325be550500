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

int enroll_backup_codes(struct store *s, const struct seal_key *k, const char *user, time_t now,
                        char ret[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN])
{
        char shown[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        uint8_t hashes[BACKUP_CODE_COUNT][SEAL_HASH_BYTES];
        bool enrolled = false;
        int r;

        if (!util_user_valid(user))
                return -EINVAL;
        for (size_t i = 0; i < BACKUP_CODE_COUNT; i++) {
                char digits[BACKUP_CODE_DIGITS + 1];

                backup_generate(shown[i]);
                r = backup_normalize(shown[i], digits);
                if (r >= 0)
                        r = seal_hash_code(k, user, digits, hashes[i]);
                seal_wipe(digits, sizeof(digits));
                if (r < 0)
                        goto out;
        }
        r = store_begin(s);
        if (r < 0)
                goto out;
        {
                struct store_device *devs = NULL;
                size_t n = 0;

                r = store_list_devices(s, user, &devs, &n);
                store_devices_free(devs, n);
                enrolled = n > 0;
        }
        if (r >= 0 && !enrolled)
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
