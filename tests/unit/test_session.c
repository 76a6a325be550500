/* SPDX-License-Identifier: MIT */
/* session.c: the logind session of a process through sd-login. This host runs no systemd,
 * so a process belongs to no session: the function must say so (-ENODATA or another error),
 * never invent an id, and refuse bad arguments. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "session.h"

static void test_bad_arguments(void **state)
{
        char buf[8];

        assert_int_equal(session_of_pid(0, NULL, 8), -EINVAL);
        assert_int_equal(session_of_pid(0, buf, 0), -EINVAL);
}

/* Outside any logind session the buffer is left alone and an error comes back. */
static void test_no_session_here(void **state)
{
        char buf[64] = "untouched";
        int r = session_of_pid(getpid(), buf, sizeof(buf));

        if (r >= 0) {
                /* a machine that runs logind: the id must be a plausible session name */
                assert_true(strlen(buf) > 0 && strlen(buf) < sizeof(buf));
                return;
        }
        assert_string_equal(buf, "untouched");
        assert_true(r == -ENODATA || r == -ENOENT || r == -ENOMEDIUM || r == -ENXIO);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_arguments),
                cmocka_unit_test(test_no_session_here),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
