/* SPDX-License-Identifier: MIT */
/* Unit tests of mlsecd/ctl_table.c: columns as wide as their widest cell, counted in
 * characters so UTF-8 names stay aligned, two spaces apart, nothing after the last cell
 * that has text, NULL cells empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"

static char *print(const struct ctl_table *t, const char *indent)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        ctl_table_print(f, t, indent);
        fclose(f);
        return buf;
}

static void test_widths_and_padding(void **state)
{
        struct ctl_table *t = ctl_table_new(3, "USER", "SERVICE", "FROM");
        char *out;

        ctl_table_add(t, "alice", "sshd", "203.0.113.7");
        ctl_table_add(t, "bob", "xscreensaver", NULL);
        out = print(t, NULL);
        assert_string_equal(out, "USER   SERVICE       FROM\n"
                                 "alice  sshd          203.0.113.7\n"
                                 "bob    xscreensaver\n");
        free(out);
        out = print(t, "  ");
        assert_string_equal(out, "  USER   SERVICE       FROM\n"
                                 "  alice  sshd          203.0.113.7\n"
                                 "  bob    xscreensaver\n");
        free(out);
        ctl_table_free(t);
}

static void test_utf8_counts_characters(void **state)
{
        struct ctl_table *t = ctl_table_new(2, "CITY", "N");
        char *out;

        ctl_table_add(t, "Linköping", "1");
        ctl_table_add(t, "Oslo", "2");
        out = print(t, NULL);
        /* "Linköping" is 9 characters in 10 bytes: both rows put N at column 11 */
        assert_string_equal(out, "CITY       N\n"
                                 "Linköping  1\n"
                                 "Oslo       2\n");
        free(out);
        ctl_table_free(t);
}

static void test_null_table_is_harmless(void **state)
{
        ctl_table_add(NULL, "x");
        ctl_table_print(stdout, NULL, NULL);
        assert_null(ctl_table_free(NULL));
        assert_null(ctl_table_new(0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_widths_and_padding),
                cmocka_unit_test(test_utf8_counts_characters),
                cmocka_unit_test(test_null_table_is_harmless),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
