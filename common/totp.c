/* SPDX-License-Identifier: MIT */
/* TOTP codes (RFC 6238) through liboath, and base32 (RFC 4648) for secrets. The only file
 * that includes <liboath/oath.h>; liboath's codes are translated to negative errno here.
 * It only generates: whether an answer is accepted is verify.c's rule. It never logs and
 * wipes every temporary that held a secret or a code. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <liboath/oath.h>

#include "totp.h"

/* Longest base32 input considered at all, separators included. */
#define TOTP_BASE32_INPUT_MAX (4 * TOTP_BASE32_MAX)

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Encoded length of LEN bytes, without padding. */
#define BASE32_LEN(len) (((len)*8 + 4) / 5)

_Static_assert(BASE32_LEN(TOTP_SECRET_MAX) < TOTP_BASE32_MAX, "TOTP_BASE32_MAX holds the longest secret");

static int oath_to_errno(int rc)
{
        switch (rc) {
        case OATH_OK:
                return 0;
        case OATH_MALLOC_ERROR:
                return -ENOMEM;
        case OATH_INVALID_DIGITS:
        case OATH_INVALID_TIMESTAMP:
        case OATH_INVALID_BASE32:
                return -EINVAL;
        default:
                return -EIO;
        }
}

int totp_init(void)
{
        /* oath_init() only initialises liboath's crypto backend; repeating it is harmless. */
        return oath_to_errno(oath_init());
}

const char *totp_alg_to_string(enum totp_alg a)
{
        switch (a) {
        case TOTP_SHA1:
                return "sha1";
        case TOTP_SHA256:
                return "sha256";
        case TOTP_SHA512:
                return "sha512";
        }
        return NULL;
}

const char *totp_alg_to_uri(enum totp_alg a)
{
        switch (a) {
        case TOTP_SHA1:
                return "SHA1";
        case TOTP_SHA256:
                return "SHA256";
        case TOTP_SHA512:
                return "SHA512";
        }
        return NULL;
}

int totp_alg_from_string(const char *s, enum totp_alg *ret)
{
        static const enum totp_alg all[] = {TOTP_SHA1, TOTP_SHA256, TOTP_SHA512};

        if (!s || !ret)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
                if (strcmp(s, totp_alg_to_string(all[i])) == 0) {
                        *ret = all[i];
                        return 0;
                }
        return -EINVAL;
}

uint64_t totp_step(time_t t)
{
        return totp_step_period(t, TOTP_PERIOD);
}

uint64_t totp_step_period(time_t t, unsigned period)
{
        if (period < TOTP_PERIOD_MIN || period > TOTP_PERIOD_MAX)
                period = TOTP_PERIOD;
        return t < 0 ? 0 : (uint64_t)t / period;
}

static int alg_to_flags(enum totp_alg alg, int *ret)
{
        switch (alg) {
        case TOTP_SHA1:
                *ret = 0;
                return 0;
        case TOTP_SHA256:
                *ret = OATH_TOTP_HMAC_SHA256;
                return 0;
        case TOTP_SHA512:
                *ret = OATH_TOTP_HMAC_SHA512;
                return 0;
        }
        return -EINVAL;
}

int totp_generate(const uint8_t *secret, size_t len, enum totp_alg alg, unsigned digits, uint64_t step,
                  char ret[TOTP_CODE_MAX])
{
        return totp_generate_period(secret, len, alg, digits, TOTP_PERIOD, step, ret);
}

int totp_generate_period(const uint8_t *secret, size_t len, enum totp_alg alg, unsigned digits, unsigned period,
                         uint64_t step, char ret[TOTP_CODE_MAX])
{
        char code[TOTP_CODE_MAX + 1];
        int flags, r;

        if (!secret || !ret || len == 0 || len > TOTP_SECRET_MAX)
                return -EINVAL;
        if (digits != 6 && digits != 8)
                return -EINVAL;
        if (alg_to_flags(alg, &flags) < 0)
                return -EINVAL;
        if (period < TOTP_PERIOD_MIN || period > TOTP_PERIOD_MAX)
                return -EINVAL;
        /* liboath takes a time, not a step: hand it the first second of STEP. */
        if (step > (uint64_t)INT64_MAX / period)
                return -EINVAL;

        memset(code, 0, sizeof(code));
        r = oath_to_errno(oath_totp_generate2((const char *)secret, len, (time_t)(step * period), period, 0, digits,
                                              flags, code));
        if (r < 0)
                goto out;
        if (strnlen(code, sizeof(code)) != digits) {
                r = -EIO;
                goto out;
        }
        memcpy(ret, code, digits + 1);
        r = 0;
out:
        explicit_bzero(code, sizeof(code));
        return r;
}

int totp_base32_encode(const uint8_t *in, size_t len, char *ret, size_t retmax)
{
        size_t n = 0, bits = 0;
        unsigned acc = 0;

        if (!in || !ret || len == 0 || len > TOTP_SECRET_MAX)
                return -EINVAL;
        if (retmax < BASE32_LEN(len) + 1)
                return -ENOBUFS;

        for (size_t i = 0; i < len; i++) {
                acc = ((acc << 8) | in[i]) & 0x1fff;
                bits += 8;
                while (bits >= 5) {
                        bits -= 5;
                        ret[n++] = base32_alphabet[(acc >> bits) & 0x1f];
                }
        }
        if (bits > 0)
                ret[n++] = base32_alphabet[(acc << (5 - bits)) & 0x1f];
        ret[n] = '\0';
        explicit_bzero(&acc, sizeof(acc));
        return 0;
}

static int base32_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a';
        if (c >= '2' && c <= '7')
                return c - '2' + 26;
        return -1;
}

/* Keep the base32 digits of IN as 5-bit values in OUT; separators dropped, '=' only as
 * trailing padding that completes the last 8-character group. */
static int base32_normalize(const char *in, uint8_t out[TOTP_BASE32_MAX], size_t *ret_n)
{
        size_t n = 0, pad = 0, i;

        for (i = 0; i < TOTP_BASE32_INPUT_MAX && in[i] != '\0'; i++) {
                char c = in[i];
                int v;

                if (c == ' ' || c == '-')
                        continue;
                if (c == '=') {
                        pad++;
                        continue;
                }
                v = base32_value(c);
                if (v < 0 || pad > 0 || n >= TOTP_BASE32_MAX)
                        return -EINVAL;
                out[n++] = (uint8_t)v;
        }
        if (i == TOTP_BASE32_INPUT_MAX && in[i] != '\0')
                return -EINVAL;
        if (pad > 0 && (pad >= 8 || (n + pad) % 8 != 0))
                return -EINVAL;
        /* A final group of 1, 3 or 6 characters cannot come from whole bytes. */
        switch (n % 8) {
        case 1:
        case 3:
        case 6:
                return -EINVAL;
        }
        *ret_n = n;
        return 0;
}

int totp_base32_decode(const char *in, uint8_t *ret, size_t retmax, size_t *ret_len)
{
        uint8_t vals[TOTP_BASE32_MAX], bytes[TOTP_SECRET_MAX];
        size_t n = 0, len = 0, bits = 0;
        unsigned acc = 0;
        int r;

        if (!in || !ret || !ret_len)
                return -EINVAL;
        r = base32_normalize(in, vals, &n);
        if (r < 0)
                goto out;
        if (n == 0 || n * 5 / 8 > TOTP_SECRET_MAX) {
                r = -EINVAL;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                acc = ((acc << 5) | vals[i]) & 0xfff;
                bits += 5;
                if (bits >= 8) {
                        bits -= 8;
                        bytes[len++] = (uint8_t)(acc >> bits);
                }
        }
        if (len > retmax) {
                r = -ENOBUFS;
                goto out;
        }
        memcpy(ret, bytes, len);
        *ret_len = len;
        r = 0;
out:
        explicit_bzero(vals, sizeof(vals));
        explicit_bzero(bytes, sizeof(bytes));
        explicit_bzero(&acc, sizeof(acc));
        return r;
}
