/* SPDX-License-Identifier: MIT */
/* Unit tests of common/util.c: which user names are accepted, how untrusted text is
 * escaped and truncated for logs and terminals, and how durations read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void test_user_valid_accepts(void **state)
{
        char longest[UTIL_USER_MAX];

        assert_true(util_user_valid("alice"));
        assert_true(util_user_valid("a"));
        assert_true(util_user_valid("Bob.Smith_2-x"));
        assert_true(util_user_valid("host$"));
        assert_true(util_user_valid("_apt"));
        assert_true(util_user_valid(".hidden"));
        assert_true(util_user_valid("a-"));

        memset(longest, 'u', sizeof(longest) - 1);
        longest[sizeof(longest) - 1] = '\0';
        assert_int_equal(strlen(longest), 63);
        assert_true(util_user_valid(longest));
        longest[62] = '$';
        assert_true(util_user_valid(longest));
}

static void test_user_valid_rejects(void **state)
{
        char too_long[UTIL_USER_MAX + 1];

        assert_false(util_user_valid(NULL));
        assert_false(util_user_valid(""));
        assert_false(util_user_valid("-alice"));
        assert_false(util_user_valid("$"));
        assert_false(util_user_valid("a$b"));
        assert_false(util_user_valid("al$$"));
        assert_false(util_user_valid("."));
        assert_false(util_user_valid(".."));
        assert_false(util_user_valid("al ice"));
        assert_false(util_user_valid("alice\n"));
        assert_false(util_user_valid("al/ice"));
        assert_false(util_user_valid("root:x"));
        assert_false(util_user_valid("al@ice"));
        assert_false(util_user_valid("\xc3\xa9lise")); /* "élise" */

        memset(too_long, 'u', sizeof(too_long) - 1);
        too_long[sizeof(too_long) - 1] = '\0';
        assert_int_equal(strlen(too_long), 64);
        assert_false(util_user_valid(too_long));
}

static void test_escape_plain(void **state)
{
        char out[64];

        assert_ptr_equal(util_escape("alice@host-1 ok", out, sizeof(out)), out);
        assert_string_equal(out, "alice@host-1 ok");
        assert_string_equal(util_escape("", out, sizeof(out)), "");
        assert_string_equal(util_escape(NULL, out, sizeof(out)), "(null)");
}

static void test_escape_control_quotes_non_ascii(void **state)
{
        char out[128];

        assert_string_equal(util_escape("a\nb\tc\rd\x1b[31m", out, sizeof(out)), "a\\x0ab\\x09c\\x0dd\\x1b[31m");
        assert_string_equal(util_escape("say \"hi\" it's C:\\dir", out, sizeof(out)),
                            "say \\x22hi\\x22 it\\x27s C:\\x5cdir");
        assert_string_equal(util_escape("\xc3\xa9\x7f\xff", out, sizeof(out)), "\\xc3\\xa9\\x7f\\xff");
        assert_string_equal(util_escape("~ }", out, sizeof(out)), "~ }");
}

static void test_escape_truncation(void **state)
{
        char out[10];
        char big[8];

        /* Exactly fits: 9 bytes + NUL. */
        assert_string_equal(util_escape("123456789", out, sizeof(out)), "123456789");
        /* One byte too long: cut, and "..." marks the cut. */
        assert_string_equal(util_escape("1234567890", out, sizeof(out)), "123456...");
        /* Never half an escape sequence: "ab" + "\x0a" would need 6 + 3 > 9. */
        assert_string_equal(util_escape("abcd\n\n\n", out, sizeof(out)), "abcd...");
        assert_string_equal(util_escape("ab\ncdefgh", out, sizeof(out)), "ab\\x0a...");

        /* Tiny buffers: NUL-terminated, no overflow. */
        memset(big, 'Z', sizeof(big));
        assert_string_equal(util_escape("hello", big, 1), "");
        assert_int_equal(big[1], 'Z');
        assert_string_equal(util_escape("hello", big, 3), "..");
        assert_int_equal(big[3], 'Z');
        assert_string_equal(util_escape("hello", big, 4), "...");
        assert_string_equal(util_escape("hello", big, 5), "h...");
        assert_string_equal(util_escape("hello", big, 6), "hello");
        assert_int_equal(big[6], 'Z');
}

static void test_duration(void **state)
{
        char out[64];

        assert_ptr_equal(util_duration(12, out, sizeof(out)), out);
        assert_string_equal(out, "12 seconds");
        assert_string_equal(util_duration(1, out, sizeof(out)), "1 second");
        assert_string_equal(util_duration(0, out, sizeof(out)), "0 seconds");
        assert_string_equal(util_duration(-5, out, sizeof(out)), "0 seconds");
        assert_string_equal(util_duration(60, out, sizeof(out)), "1 minute");
        assert_string_equal(util_duration(61, out, sizeof(out)), "1 minute 1 second");
        assert_string_equal(util_duration(252, out, sizeof(out)), "4 minutes 12 seconds");
        assert_string_equal(util_duration(300, out, sizeof(out)), "5 minutes");
        assert_string_equal(util_duration(3600, out, sizeof(out)), "1 hour");
        assert_string_equal(util_duration(3600 + 180 + 59, out, sizeof(out)), "1 hour 3 minutes");
        assert_string_equal(util_duration(7200 + 60, out, sizeof(out)), "2 hours 1 minute");
        assert_string_equal(util_duration(86400 + 3600 + 1, out, sizeof(out)), "1 day 1 hour");
        assert_string_equal(util_duration(604800, out, sizeof(out)), "7 days");
        assert_string_equal(util_duration(2 * 86400 + 59, out, sizeof(out)), "2 days");
}

static void test_duration_truncates(void **state)
{
        char out[8];

        memset(out, 'Z', sizeof(out));
        assert_string_equal(util_duration(252, out, 6), "4 min");
        assert_int_equal(out[6], 'Z');
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_user_valid_accepts), cmocka_unit_test(test_user_valid_rejects),
                cmocka_unit_test(test_escape_plain),       cmocka_unit_test(test_escape_control_quotes_non_ascii),
                cmocka_unit_test(test_escape_truncation),  cmocka_unit_test(test_duration),
                cmocka_unit_test(test_duration_truncates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
