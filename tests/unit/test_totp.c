/* SPDX-License-Identifier: MIT */
/* Unit tests of common/totp.c: the RFC 6238 Appendix B vectors for SHA-1/256/512, a
 * cross-check against the independent oathtool binary, base32 (RFC 4648 vectors, lenient
 * input, strict rejection) and the algorithm names. Never touches system state. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "totp.h"

static const uint8_t seed_sha1[] = "12345678901234567890";
static const uint8_t seed_sha256[] = "12345678901234567890123456789012";
static const uint8_t seed_sha512[] = "1234567890123456789012345678901234567890123456789012345678901234";

struct vector {
        long long t;
        enum totp_alg alg;
        const char *code;
};

/* RFC 6238 Appendix B, every row. */
static const struct vector rfc6238[] = {
        {59LL, TOTP_SHA1, "94287082"},
        {59LL, TOTP_SHA256, "46119246"},
        {59LL, TOTP_SHA512, "90693936"},
        {1111111109LL, TOTP_SHA1, "07081804"},
        {1111111109LL, TOTP_SHA256, "68084774"},
        {1111111109LL, TOTP_SHA512, "25091201"},
        {1111111111LL, TOTP_SHA1, "14050471"},
        {1111111111LL, TOTP_SHA256, "67062674"},
        {1111111111LL, TOTP_SHA512, "99943326"},
        {1234567890LL, TOTP_SHA1, "89005924"},
        {1234567890LL, TOTP_SHA256, "91819424"},
        {1234567890LL, TOTP_SHA512, "93441116"},
        {2000000000LL, TOTP_SHA1, "69279037"},
        {2000000000LL, TOTP_SHA256, "90698825"},
        {2000000000LL, TOTP_SHA512, "38618901"},
        {20000000000LL, TOTP_SHA1, "65353130"},
        {20000000000LL, TOTP_SHA256, "77737706"},
        {20000000000LL, TOTP_SHA512, "47863826"},
};

static void seed_for(enum totp_alg alg, const uint8_t **ret, size_t *ret_len)
{
        switch (alg) {
        case TOTP_SHA1:
                *ret = seed_sha1;
                *ret_len = sizeof(seed_sha1) - 1;
                return;
        case TOTP_SHA256:
                *ret = seed_sha256;
                *ret_len = sizeof(seed_sha256) - 1;
                return;
        case TOTP_SHA512:
                *ret = seed_sha512;
                *ret_len = sizeof(seed_sha512) - 1;
                return;
        }
        fail_msg("unknown alg");
}

static int setup(void **state)
{
        return totp_init() < 0 ? -1 : 0;
}

static void test_rfc6238_8_digits(void **state)
{
        for (size_t i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++) {
                const struct vector *v = &rfc6238[i];
                char code[TOTP_CODE_MAX];
                const uint8_t *seed = NULL;
                size_t len = 0;

                seed_for(v->alg, &seed, &len);
                assert_int_equal(totp_generate(seed, len, v->alg, 8, totp_step((time_t)v->t), code), 0);
                assert_string_equal(code, v->code);
        }
}

static void test_rfc6238_6_digits(void **state)
{
        /* A 6-digit code is the same truncated value mod 10^6: the last six digits. */
        for (size_t i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++) {
                const struct vector *v = &rfc6238[i];
                char code[TOTP_CODE_MAX];
                const uint8_t *seed = NULL;
                size_t len = 0;

                seed_for(v->alg, &seed, &len);
                assert_int_equal(totp_generate(seed, len, v->alg, 6, totp_step((time_t)v->t), code), 0);
                assert_int_equal(strlen(code), 6);
                assert_string_equal(code, v->code + 2);
        }
        {
                char code[TOTP_CODE_MAX];

                assert_int_equal(totp_generate(seed_sha1, 20, TOTP_SHA1, 6, totp_step(59), code), 0);
                assert_string_equal(code, "287082");
                assert_int_equal(totp_generate(seed_sha1, 20, TOTP_SHA1, 6, totp_step(1111111109), code), 0);
                assert_string_equal(code, "081804");
        }
}

static void test_step(void **state)
{
        assert_int_equal(totp_step(0), 0);
        assert_int_equal(totp_step(29), 0);
        assert_int_equal(totp_step(30), 1);
        assert_int_equal(totp_step(59), 1);
        assert_int_equal(totp_step(1111111109), 37037036);
        assert_true(totp_step((time_t)20000000000LL) == 666666666ULL);
        assert_int_equal(totp_step(-1), 0);
}

static void test_generate_rejects(void **state)
{
        uint8_t big[TOTP_SECRET_MAX + 1] = {0};
        char code[TOTP_CODE_MAX];

        strcpy(code, "sentinel");
        assert_int_equal(totp_generate(seed_sha1, 20, TOTP_SHA1, 7, 1, code), -EINVAL);
        assert_int_equal(totp_generate(seed_sha1, 20, TOTP_SHA1, 5, 1, code), -EINVAL);
        assert_int_equal(totp_generate(seed_sha1, 20, TOTP_SHA1, 9, 1, code), -EINVAL);
        assert_int_equal(totp_generate(seed_sha1, 20, TOTP_SHA1, 0, 1, code), -EINVAL);
        assert_int_equal(totp_generate(seed_sha1, 0, TOTP_SHA1, 6, 1, code), -EINVAL);
        assert_int_equal(totp_generate(big, sizeof(big), TOTP_SHA1, 6, 1, code), -EINVAL);
        assert_int_equal(totp_generate(seed_sha1, 20, (enum totp_alg)7, 6, 1, code), -EINVAL);
        assert_int_equal(totp_generate(seed_sha1, 20, TOTP_SHA1, 6, UINT64_MAX, code), -EINVAL);
        assert_string_equal(code, "sentinel");
        /* The longest accepted secret works. */
        assert_int_equal(totp_generate(big, TOTP_SECRET_MAX, TOTP_SHA512, 8, 1, code), 0);
        assert_int_equal(strlen(code), 8);
}

static void test_oathtool_cross_check(void **state)
{
        static const struct {
                enum totp_alg alg;
                const char *opt;
        } algs[] = {{TOTP_SHA1, "sha1"}, {TOTP_SHA256, "sha256"}, {TOTP_SHA512, "sha512"}};
        static const long long times[] = {0, 59, 1700000000LL, 1700000029LL, 1700000030LL, 4102444800LL};
        uint8_t secret[TOTP_SECRET_DEFAULT];
        char b32[TOTP_BASE32_MAX];
        FILE *rnd;

        if (access("/usr/bin/oathtool", X_OK) != 0 && system("command -v oathtool >/dev/null 2>&1") != 0) {
                print_message("oathtool not found: skipping the cross-check against it\n");
                skip();
        }
        rnd = fopen("/dev/urandom", "re");
        assert_non_null(rnd);
        assert_int_equal(fread(secret, 1, sizeof(secret), rnd), sizeof(secret));
        fclose(rnd);
        assert_int_equal(totp_base32_encode(secret, sizeof(secret), b32, sizeof(b32)), 0);

        for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++)
                for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++)
                        for (unsigned digits = 6; digits <= 8; digits += 2) {
                                char cmd[512], line[64], code[TOTP_CODE_MAX];
                                FILE *p;

                                snprintf(cmd, sizeof(cmd), "oathtool --totp=%s -d %u -b -N @%lld %s", algs[a].opt,
                                         digits, times[t], b32);
                                p = popen(cmd, "r");
                                assert_non_null(p);
                                assert_non_null(fgets(line, sizeof(line), p));
                                assert_int_equal(pclose(p), 0);
                                line[strcspn(line, "\n")] = '\0';

                                assert_int_equal(totp_generate(secret, sizeof(secret), algs[a].alg, digits,
                                                               totp_step((time_t)times[t]), code),
                                                 0);
                                assert_string_equal(code, line);
                        }
}

static void test_base32_rfc4648(void **state)
{
        static const struct {
                const char *plain, *enc;
        } v[] = {
                {"f", "MY"},         {"fo", "MZXQ"},        {"foo", "MZXW6"},
                {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"},
        };

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                char enc[TOTP_BASE32_MAX];
                uint8_t dec[TOTP_SECRET_MAX];
                size_t n = 0;

                assert_int_equal(totp_base32_encode((const uint8_t *)v[i].plain, strlen(v[i].plain), enc, sizeof(enc)),
                                 0);
                assert_string_equal(enc, v[i].enc);
                assert_int_equal(totp_base32_decode(v[i].enc, dec, sizeof(dec), &n), 0);
                assert_int_equal(n, strlen(v[i].plain));
                assert_memory_equal(dec, v[i].plain, n);
        }
}

static void test_base32_round_trip(void **state)
{
        FILE *rnd = fopen("/dev/urandom", "re");

        assert_non_null(rnd);
        for (size_t len = 1; len <= TOTP_SECRET_MAX; len++) {
                uint8_t in[TOTP_SECRET_MAX], out[TOTP_SECRET_MAX];
                char enc[TOTP_BASE32_MAX];
                size_t n = 0;

                assert_int_equal(fread(in, 1, len, rnd), len);
                assert_int_equal(totp_base32_encode(in, len, enc, sizeof(enc)), 0);
                assert_int_equal(strlen(enc), (len * 8 + 4) / 5);
                assert_null(strchr(enc, '='));
                assert_int_equal(totp_base32_decode(enc, out, sizeof(out), &n), 0);
                assert_int_equal(n, len);
                assert_memory_equal(in, out, len);
        }
        fclose(rnd);
}

static void test_base32_lenient_input(void **state)
{
        static const char *const same[] = {
                "MZXW6YTBOI",       "mzxw6ytboi",         "MZXW 6YTB OI", "mzxw-6ytb-oi",
                "MZXW6YTBOI======", "mzxw 6ytb oi======", " MzXw6YtBoI ", "MZ-XW 6Y--TB OI",
        };

        for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
                uint8_t dec[TOTP_SECRET_MAX];
                size_t n = 0;

                assert_int_equal(totp_base32_decode(same[i], dec, sizeof(dec), &n), 0);
                assert_int_equal(n, 6);
                assert_memory_equal(dec, "foobar", 6);
        }
        {
                uint8_t dec[TOTP_SECRET_MAX];
                size_t n = 0;

                assert_int_equal(totp_base32_decode("MZXW6===", dec, sizeof(dec), &n), 0);
                assert_int_equal(n, 3);
                assert_memory_equal(dec, "foo", 3);
                assert_int_equal(totp_base32_decode("my======", dec, sizeof(dec), &n), 0);
                assert_int_equal(n, 1);
                assert_memory_equal(dec, "f", 1);
        }
}

static void test_base32_rejects(void **state)
{
        static const char *const bad[] = {
                "",                 /* nothing */
                "   ",              /* only separators */
                "MZXW6YT1",         /* '1' is not base32 */
                "MZXW0YTB",         /* '0' neither */
                "MZXW8YTB",         /* '8' neither */
                "MZXW6YTB!",        /* punctuation */
                "MZXW6\tYTB",       /* tab is not a separator we accept */
                "MZ=XW6",           /* padding in the middle */
                "MZXW6YQ==",        /* wrong amount of padding */
                "MZXW6====",        /* wrong amount of padding */
                "========",         /* padding only */
                "M",                /* 1 character cannot come from whole bytes */
                "MZX",              /* 3 neither */
                "MZXW6Y",           /* 6 neither */
                "MZXW6YTB\xc3\xa9", /* non-ASCII */
        };
        uint8_t dec[TOTP_SECRET_MAX];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                size_t n = 12345;

                memset(dec, 0xaa, sizeof(dec));
                assert_int_equal(totp_base32_decode(bad[i], dec, sizeof(dec), &n), -EINVAL);
                assert_int_equal(n, 12345);
                assert_int_equal(dec[0], 0xaa);
        }
}

static void test_base32_bounds(void **state)
{
        uint8_t in[TOTP_SECRET_MAX + 1], out[TOTP_SECRET_MAX + 8];
        char enc[TOTP_BASE32_MAX + 32], big[2048];
        size_t n = 0;

        memset(in, 0x5a, sizeof(in));
        /* Encode: too long a secret, empty, too small an output. */
        assert_int_equal(totp_base32_encode(in, sizeof(in), enc, sizeof(enc)), -EINVAL);
        assert_int_equal(totp_base32_encode(in, 0, enc, sizeof(enc)), -EINVAL);
        strcpy(enc, "untouched");
        assert_int_equal(totp_base32_encode(in, 5, enc, 8), -ENOBUFS);
        assert_string_equal(enc, "untouched");
        assert_int_equal(totp_base32_encode(in, 5, enc, 9), 0);
        assert_string_equal(enc, "LJNFUWS2");

        /* Decode: 64 bytes is the limit, 65 is refused. */
        {
                uint8_t buf[TOTP_SECRET_MAX + 5];
                char e[TOTP_BASE32_MAX + 16];

                memset(buf, 0x33, sizeof(buf));
                /* Encode 65 bytes by hand: 64 bytes plus one more 5-byte group. */
                assert_int_equal(totp_base32_encode(buf, 60, e, sizeof(e)), 0);
                assert_int_equal(strlen(e), 96);
                strcat(e, "GMZTGMY="); /* 4 more bytes of 0x33: 64 in all */
                assert_int_equal(totp_base32_decode(e, out, sizeof(out), &n), 0);
                assert_int_equal(n, 64);
                e[96] = '\0';
                strcat(e, "GMZTGMZT"); /* 5 more bytes: 65 */
                assert_int_equal(totp_base32_decode(e, out, sizeof(out), &n), -EINVAL);
        }
        /* Decode: output buffer too small. */
        assert_int_equal(totp_base32_decode("MZXW6YTBOI", out, 5, &n), -ENOBUFS);
        assert_int_equal(totp_base32_decode("MZXW6YTBOI", out, 6, &n), 0);
        assert_int_equal(n, 6);

        /* An absurdly long input (all separators) is refused without being walked to its end. */
        memset(big, ' ', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        memcpy(big, "MZXW6YTBOI", 10);
        assert_int_equal(totp_base32_decode(big, out, sizeof(out), &n), -EINVAL);
}

static void test_alg_strings(void **state)
{
        enum totp_alg a = TOTP_SHA1;

        assert_int_equal(totp_alg_from_string("sha1", &a), 0);
        assert_int_equal(a, TOTP_SHA1);
        assert_int_equal(totp_alg_from_string("sha256", &a), 0);
        assert_int_equal(a, TOTP_SHA256);
        assert_int_equal(totp_alg_from_string("sha512", &a), 0);
        assert_int_equal(a, TOTP_SHA512);

        a = TOTP_SHA256;
        assert_int_equal(totp_alg_from_string("SHA1", &a), -EINVAL);
        assert_int_equal(totp_alg_from_string("sha", &a), -EINVAL);
        assert_int_equal(totp_alg_from_string("", &a), -EINVAL);
        assert_int_equal(totp_alg_from_string("sha1 ", &a), -EINVAL);
        assert_int_equal(totp_alg_from_string("md5", &a), -EINVAL);
        assert_int_equal(totp_alg_from_string("sha5120", &a), -EINVAL);
        assert_int_equal(totp_alg_from_string(NULL, &a), -EINVAL);
        assert_int_equal(a, TOTP_SHA256);

        assert_string_equal(totp_alg_to_string(TOTP_SHA1), "sha1");
        assert_string_equal(totp_alg_to_string(TOTP_SHA256), "sha256");
        assert_string_equal(totp_alg_to_string(TOTP_SHA512), "sha512");
        assert_string_equal(totp_alg_to_uri(TOTP_SHA1), "SHA1");
        assert_string_equal(totp_alg_to_uri(TOTP_SHA256), "SHA256");
        assert_string_equal(totp_alg_to_uri(TOTP_SHA512), "SHA512");
        assert_null(totp_alg_to_string((enum totp_alg)42));
        assert_null(totp_alg_to_uri((enum totp_alg)42));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rfc6238_8_digits),
                cmocka_unit_test(test_rfc6238_6_digits),
                cmocka_unit_test(test_step),
                cmocka_unit_test(test_generate_rejects),
                cmocka_unit_test(test_oathtool_cross_check),
                cmocka_unit_test(test_base32_rfc4648),
                cmocka_unit_test(test_base32_round_trip),
                cmocka_unit_test(test_base32_lenient_input),
                cmocka_unit_test(test_base32_rejects),
                cmocka_unit_test(test_base32_bounds),
                cmocka_unit_test(test_alg_strings),
        };

        return cmocka_run_group_tests(tests, setup, NULL);
}
