/* SPDX-License-Identifier: MIT */
/* Unit tests of common/backup.c: the display shape of generated codes, their spread and
 * uniqueness, and which typed answers normalise to a code and which are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backup.h"
#include "seal.h"

enum { SAMPLE = 1000 };

static int setup(void **state)
{
        return seal_init() < 0 ? -1 : 0;
}

static int cmp_codes(const void *a, const void *b)
{
        return strcmp(a, b);
}

static void test_generate_shape(void **state)
{
        for (int i = 0; i < SAMPLE; i++) {
                char c[BACKUP_CODE_SHOWN], norm[BACKUP_CODE_DIGITS + 1];

                memset(c, 'x', sizeof(c));
                backup_generate(c);
                assert_int_equal(strlen(c), 11);
                for (int j = 0; j < 11; j++) {
                        if (j == 5)
                                assert_int_equal(c[j], '-');
                        else
                                assert_true(c[j] >= '0' && c[j] <= '9');
                }
                /* What we show is what we accept. */
                assert_int_equal(backup_normalize(c, norm), 0);
                assert_memory_equal(norm, c, 5);
                assert_memory_equal(norm + 5, c + 6, 5);
        }
}

static void test_generate_distribution_and_uniqueness(void **state)
{
        static char codes[SAMPLE][BACKUP_CODE_SHOWN];
        unsigned count[BACKUP_CODE_DIGITS][10] = {{0}};
        unsigned total[10] = {0};

        for (int i = 0; i < SAMPLE; i++) {
                backup_generate(codes[i]);
                for (int j = 0, pos = 0; j < 11; j++) {
                        if (j == 5)
                                continue;
                        count[pos][codes[i][j] - '0']++;
                        total[codes[i][j] - '0']++;
                        pos++;
                }
        }
        /* 10000 digits, 1000 expected per value (sd ~30): every digit appears, none grossly
         * over- or under-represented; each position also sees every digit. */
        for (int d = 0; d < 10; d++) {
                assert_true(total[d] > 800);
                assert_true(total[d] < 1200);
                for (int p = 0; p < BACKUP_CODE_DIGITS; p++)
                        assert_true(count[p][d] > 0);
        }
        /* 10^10 codes: a repeat among 1000 has probability ~5e-5. */
        qsort(codes, SAMPLE, sizeof(codes[0]), cmp_codes);
        for (int i = 1; i < SAMPLE; i++)
                assert_string_not_equal(codes[i - 1], codes[i]);
}

static void test_normalize_accepts(void **state)
{
        static const char *const ok[] = {
                "1234567890",   "12345-67890",         "12345 67890",  " 12345 67890 ",
                "1234-5678-90", "1-2-3-4-5-6-7-8-9-0", "12345--67890", "  - 1234567890 -  ",
        };

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                char out[BACKUP_CODE_DIGITS + 1];

                memset(out, 'x', sizeof(out));
                assert_int_equal(backup_normalize(ok[i], out), 0);
                assert_string_equal(out, "1234567890");
        }
        {
                char out[BACKUP_CODE_DIGITS + 1], in[64];

                /* 63 bytes + NUL: the longest input looked at. */
                memset(in, ' ', sizeof(in));
                memcpy(in + 53, "0000000001", 10);
                in[63] = '\0';
                assert_int_equal(backup_normalize(in, out), 0);
                assert_string_equal(out, "0000000001");
        }
}

static void test_normalize_rejects(void **state)
{
        static const char *const bad[] = {
                "",
                "     ",
                "-----",
                "123456789",
                "1234-56789",
                "12345678901",
                "12345-678901",
                "12345-6789a",
                "a1234567890",
                "12345_67890",
                "12345\t67890",
                "12345.67890",
                "12345\n67890",
                "１２３４５６７８９０",
                "12345+67890",
                "0x12345678",
                "1234567890\xff",
                "+1234567890",
        };
        char out[BACKUP_CODE_DIGITS + 1];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                strcpy(out, "untouched!");
                assert_int_equal(backup_normalize(bad[i], out), -EINVAL);
                assert_string_equal(out, "untouched!");
        }
        assert_int_equal(backup_normalize(NULL, out), -EINVAL);

        {
                char in[80];

                /* 64 bytes before the NUL: too long even though it holds ten digits. */
                memset(in, ' ', sizeof(in));
                memcpy(in, "1234567890", 10);
                in[64] = '\0';
                assert_int_equal(backup_normalize(in, out), -EINVAL);
        }
        {
                /* Exactly 64 bytes and no NUL at all: refused without reading byte 65 (ASan
                 * catches any over-read of this heap block). */
                char *in = malloc(64);

                assert_non_null(in);
                memset(in, '-', 64);
                memcpy(in, "1234567890", 10);
                assert_int_equal(backup_normalize(in, out), -EINVAL);
                free(in);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_generate_shape),
                cmocka_unit_test(test_generate_distribution_and_uniqueness),
                cmocka_unit_test(test_normalize_accepts),
                cmocka_unit_test(test_normalize_rejects),
        };

        return cmocka_run_group_tests(tests, setup, NULL);
}
