/* SPDX-License-Identifier: MIT */
/* Unit tests of common/policy.c: the grace period arithmetic (whole and started days, the
 * last day, the end), root's exempt terminals, membership through the system's real group
 * database for what every Debian system has (root's primary group, a group that does not
 * exist), and the verdicts with a real credentials.db in a private directory. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

#define DAY POLICY_DAY_SECONDS

static void add(struct conf_list *l, const char *v)
{
        assert_true(l->n < CONF_LIST_MAX);
        snprintf(l->item[l->n++], CONF_ITEM_MAX, "%s", v);
}

static void test_active(void **state)
{
        struct mlsec_conf c;

        conf_defaults(&c);
        assert_false(policy_active(&c));
        assert_false(policy_active(NULL));
        add(&c.require_mfa_group, "wheel");
        assert_true(policy_active(&c));
}

static void test_days_left(void **state)
{
        const int64_t t0 = 1700000000;

        assert_int_equal(policy_days_left(t0, 7, t0), 7);
        assert_int_equal(policy_days_left(t0, 7, t0 + 1), 7); /* a started day counts */
        assert_int_equal(policy_days_left(t0, 7, t0 + DAY), 6);
        assert_int_equal(policy_days_left(t0, 7, t0 + 5 * DAY), 2);
        assert_int_equal(policy_days_left(t0, 7, t0 + 6 * DAY), 1);
        assert_int_equal(policy_days_left(t0, 7, t0 + 7 * DAY - 1), 1); /* the last second of the last day */
        assert_int_equal(policy_days_left(t0, 7, t0 + 7 * DAY), 0);
        assert_int_equal(policy_days_left(t0, 7, t0 + 400 * DAY), 0);
        assert_int_equal(policy_days_left(t0, 1, t0), 1);
        assert_int_equal(policy_days_left(t0, 0, t0), 0);
        assert_int_equal(policy_days_left(t0 + 3 * DAY, 7, t0), 7); /* a start in the future: from now */
        assert_int_equal(policy_days_left(t0, 3650, t0 + 1), 3650);
}

static void test_tty_exempt(void **state)
{
        struct mlsec_conf c;

        conf_defaults(&c);
        assert_false(policy_tty_exempt(&c, 0, "tty1")); /* no exempt_tty: nobody */
        add(&c.exempt_tty, "tty1");
        add(&c.exempt_tty, "/dev/ttyS0");
        assert_true(policy_tty_exempt(&c, 0, "tty1"));
        assert_true(policy_tty_exempt(&c, 0, "/dev/tty1"));
        assert_true(policy_tty_exempt(&c, 0, "ttyS0"));
        assert_true(policy_tty_exempt(&c, 0, "/dev/ttyS0"));
        assert_false(policy_tty_exempt(&c, 1000, "tty1")); /* root only */
        assert_false(policy_tty_exempt(&c, 1, "/dev/tty1"));
        assert_false(policy_tty_exempt(&c, 0, "tty11"));
        assert_false(policy_tty_exempt(&c, 0, "tty"));
        assert_false(policy_tty_exempt(&c, 0, "pts/1"));
        assert_false(policy_tty_exempt(&c, 0, "/dev/"));
        assert_false(policy_tty_exempt(&c, 0, "/dev/dev/tty1"));
        assert_false(policy_tty_exempt(&c, 0, ""));
        assert_false(policy_tty_exempt(&c, 0, NULL));
}

static void test_member(void **state)
{
        struct policy_membership m;
        struct mlsec_conf c;

        conf_defaults(&c);
        add(&c.require_mfa_group, "mlsec-no-such-group-x");
        assert_int_equal(policy_member(&c, "root", 0, &m), 0);
        assert_false(m.member);
        assert_int_equal(m.n_missing, 1);
        assert_string_equal(m.missing, "mlsec-no-such-group-x");

        add(&c.require_mfa_group, "root"); /* gid 0: root's primary group */
        assert_int_equal(policy_member(&c, "root", 0, &m), 0);
        assert_true(m.member);
        assert_string_equal(m.group, "root");
        assert_int_equal(m.n_missing, 1);
        /* primary group 65534 (nogroup), not listed in root */
        assert_int_equal(policy_member(&c, "nobody", 65534, &m), 0);
        assert_false(m.member);
        /* a primary gid counts even for a name that is in no member list */
        assert_int_equal(policy_member(&c, "mlsec-no-such-user", 0, &m), 0);
        assert_true(m.member);

        assert_int_equal(policy_member(&c, "", 0, &m), -EINVAL);
        assert_int_equal(policy_member(NULL, "root", 0, &m), -EINVAL);
}

struct fixture {
        char dir[64];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        strcpy(f->dir, "/tmp/mlsec-test-policy-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);

        free(f);
        return r;
}

static void test_decide(void **state)
{
        struct fixture *f = *state;
        const int64_t t0 = 1700000000;
        struct policy_result res;
        struct mlsec_conf c;
        struct store *s = NULL;
        char dir[128];
        int64_t started;

        snprintf(dir, sizeof(dir), "%s/state", f->dir);
        assert_int_equal(store_open(dir, true, &s), 0);
        conf_defaults(&c);
        add(&c.require_mfa_group, "wheel");

        /* a device: met, nothing recorded */
        assert_int_equal(policy_decide(s, &c, "alice", true, t0, &res), 0);
        assert_int_equal(res.verdict, POLICY_ENROLLED);
        assert_int_equal(store_get_grace(s, "alice", &started), -ENOENT);
        /* no grace period configured: refused, nothing recorded, no store needed */
        assert_int_equal(policy_decide(s, &c, "alice", false, t0, &res), 0);
        assert_int_equal(res.verdict, POLICY_REFUSED);
        assert_int_equal(policy_decide(NULL, &c, "alice", false, t0, &res), 0);
        assert_int_equal(res.verdict, POLICY_REFUSED);
        assert_int_equal(store_get_grace(s, "alice", &started), -ENOENT);

        c.enroll_grace_days = 7;
        assert_int_equal(policy_decide(NULL, &c, "alice", false, t0, &res), -ENOENT); /* nowhere to record */
        assert_int_equal(policy_decide(s, &c, "alice", false, t0, &res), 0);
        assert_int_equal(res.verdict, POLICY_GRACE);
        assert_int_equal(res.days_left, 7);
        assert_int_equal(res.grace_start, t0);
        assert_int_equal(res.grace_end, t0 + 7 * DAY);
        assert_int_equal(store_get_grace(s, "alice", &started), 0);
        assert_int_equal(started, t0);
        assert_int_equal(policy_decide(s, &c, "alice", false, t0 + 6 * DAY + 1, &res), 0);
        assert_int_equal(res.verdict, POLICY_GRACE);
        assert_int_equal(res.days_left, 1);
        assert_int_equal(res.grace_start, t0); /* the first start stays */
        assert_int_equal(policy_decide(s, &c, "alice", false, t0 + 7 * DAY, &res), 0);
        assert_int_equal(res.verdict, POLICY_EXPIRED);
        assert_int_equal(res.days_left, 0);
        assert_int_equal(res.grace_end, t0 + 7 * DAY);
        /* enrolled later: the old start no longer matters */
        assert_int_equal(policy_decide(s, &c, "alice", true, t0 + 30 * DAY, &res), 0);
        assert_int_equal(res.verdict, POLICY_ENROLLED);
        /* a longer grace period configured later counts from the same start */
        c.enroll_grace_days = 30;
        assert_int_equal(policy_decide(s, &c, "alice", false, t0 + 7 * DAY, &res), 0);
        assert_int_equal(res.verdict, POLICY_GRACE);
        assert_int_equal(res.days_left, 23);
        /* per user */
        assert_int_equal(policy_decide(s, &c, "bob", false, t0 + 7 * DAY, &res), 0);
        assert_int_equal(res.days_left, 30);

        assert_string_equal(policy_verdict_to_string(POLICY_ENROLLED), "enrolled");
        assert_string_equal(policy_verdict_to_string(POLICY_GRACE), "grace");
        assert_string_equal(policy_verdict_to_string(POLICY_REFUSED), "refused");
        assert_string_equal(policy_verdict_to_string(POLICY_EXPIRED), "expired");
        s = store_close(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_active),
                cmocka_unit_test(test_days_left),
                cmocka_unit_test(test_tty_exempt),
                cmocka_unit_test(test_member),
                cmocka_unit_test_setup_teardown(test_decide, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
