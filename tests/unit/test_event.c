/* SPDX-License-Identifier: MIT */
/* Unit tests of common/event.c: fresh events get unique ids and the current time, and
 * event_validate refuses every malformed event the wire, the spool or the store could carry
 * (bad ids and times, unterminated or non-UTF-8 text, control characters, bad user names,
 * missing required fields). event_set_text leaves its target untouched when it refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "event.h"

#define USEC 1000000LL

static int64_t now_us(void)
{
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
        return (int64_t)ts.tv_sec * USEC + ts.tv_nsec / 1000;
}

/* A valid event of KIND with its required fields filled. */
static void good_event(struct mlsec_event *e, enum event_kind kind)
{
        event_init(e, kind);
        assert_int_equal(event_set_text(e->user, sizeof(e->user), "alice"), 0);
        assert_int_equal(event_set_text(e->result, sizeof(e->result), "ok"), 0);
        assert_int_equal(event_set_text(e->action, sizeof(e->action), "enrol"), 0);
}

static void assert_invalid(const struct mlsec_event *e, const char *reason_part)
{
        char err[128];

        memset(err, 0, sizeof(err));
        assert_int_equal(event_validate(e, err, sizeof(err)), -EINVAL);
        assert_non_null(memchr(err, '\0', sizeof(err)));
        if (!strstr(err, reason_part))
                fail_msg("reason \"%s\" does not mention \"%s\"", err, reason_part);
}

static void test_init_gives_distinct_valid_ids_and_the_current_time(void **state)
{
        struct mlsec_event a, b;
        int64_t before = now_us(), after;

        memset(&a, 0x5a, sizeof(a));
        event_init(&a, EVENT_AUTH);
        event_init(&b, EVENT_AUDIT);
        after = now_us();

        assert_int_equal(strlen(a.id), EVENT_ID_LEN);
        assert_string_not_equal(a.id, b.id);
        for (size_t i = 0; i < EVENT_ID_LEN; i++)
                assert_non_null(strchr("0123456789abcdef", a.id[i]));
        assert_int_equal(a.kind, EVENT_AUTH);
        assert_int_equal(b.kind, EVENT_AUDIT);
        assert_true(a.time_us >= before && a.time_us <= after);
        assert_true(b.time_us >= a.time_us);
        assert_int_equal(a.uid, -1);
        assert_int_equal(a.pid, -1);
        assert_int_equal(a.actor_uid, -1);
        /* everything else zeroed */
        assert_string_equal(a.user, "");
        assert_string_equal(a.detail, "");
        assert_int_equal(a.detail[EVENT_DETAIL_MAX - 1], 0);

        /* an id repeats only if the random source is broken */
        for (int i = 0; i < 1000; i++) {
                event_init(&b, EVENT_AUTH);
                assert_string_not_equal(a.id, b.id);
        }
}

static void test_validate_accepts_a_good_event_of_each_kind(void **state)
{
        enum event_kind kinds[] = {EVENT_AUTH, EVENT_SESSION_OPEN, EVENT_SESSION_CLOSE, EVENT_AUDIT};
        struct mlsec_event e;
        char err[64] = "untouched";

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                good_event(&e, kinds[i]);
                assert_int_equal(event_validate(&e, err, sizeof(err)), 0);
                assert_string_equal(err, "");
        }

        /* every field at its longest, with multi-byte UTF-8 */
        good_event(&e, EVENT_AUTH);
        memset(e.detail, 'x', sizeof(e.detail) - 4);
        memcpy(e.detail + sizeof(e.detail) - 4, "\xe2\x9c\x93", 4); /* U+2713 and the NUL */
        memset(e.rhost, 'h', sizeof(e.rhost) - 1);
        e.rhost[sizeof(e.rhost) - 1] = '\0';
        assert_int_equal(event_set_text(e.tty, sizeof(e.tty), "pts/0"), 0);
        assert_int_equal(event_set_text(e.service, sizeof(e.service), "sshd"), 0);
        assert_int_equal(event_set_text(e.ip, sizeof(e.ip), "2001:db8::1"), 0);
        assert_int_equal(event_set_text(e.reason, sizeof(e.reason), "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"), 0);
        e.uid = 4294967294LL;
        e.actor_uid = 0;
        e.pid = 2147483647LL;
        assert_int_equal(event_validate(&e, NULL, 0), 0);

        /* a NULL err is fine, a time just under a day ahead is fine */
        e.time_us = now_us() + 86400 * USEC - 60 * USEC;
        assert_int_equal(event_validate(&e, NULL, 0), 0);
        e.time_us = 946684800LL * USEC; /* 2000-01-01 */
        assert_int_equal(event_validate(&e, NULL, 0), 0);
}

static void test_validate_rejects_bad_ids(void **state)
{
        static const char *bad[] = {
                "",
                "0123456789abcdef0123456789abcde",  /* 31 */
                "0123456789ABCDEF0123456789abcdef", /* upper case */
                "0123456789abcdeg0123456789abcdef", /* not hex */
                "0123456789abcdef 123456789abcdef",
        };
        struct mlsec_event e;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                good_event(&e, EVENT_AUTH);
                memset(e.id, 0, sizeof(e.id));
                memcpy(e.id, bad[i], strlen(bad[i]));
                assert_invalid(&e, "id");
        }
        /* 33 hex digits: not terminated at [32] */
        good_event(&e, EVENT_AUTH);
        e.id[EVENT_ID_LEN] = 'a';
        assert_invalid(&e, "id");
}

static void test_validate_rejects_unknown_kind_and_bad_times(void **state)
{
        struct mlsec_event e;

        good_event(&e, EVENT_AUTH);
        e.kind = _EVENT_KIND_MAX;
        assert_invalid(&e, "kind");
        e.kind = (enum event_kind) - 1;
        assert_invalid(&e, "kind");

        good_event(&e, EVENT_AUTH);
        e.time_us = 946684799LL * USEC; /* 1999-12-31T23:59:59Z */
        assert_invalid(&e, "time");
        e.time_us = 0;
        assert_invalid(&e, "time");
        e.time_us = INT64_MIN;
        assert_invalid(&e, "time");
        e.time_us = now_us() + 2 * 86400 * USEC;
        assert_invalid(&e, "time");
        e.time_us = INT64_MAX;
        assert_invalid(&e, "time");
}

static void test_validate_rejects_unterminated_text(void **state)
{
        struct mlsec_event e;

        good_event(&e, EVENT_AUTH);
        memset(e.rhost, 'a', sizeof(e.rhost));
        assert_invalid(&e, "rhost");

        good_event(&e, EVENT_AUTH);
        memset(e.detail, 'a', sizeof(e.detail));
        assert_invalid(&e, "detail");

        good_event(&e, EVENT_AUTH);
        memset(e.user, 'a', sizeof(e.user));
        assert_invalid(&e, "user");
}

static const char *const bad_text[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
        "\xed\xa0\x80",     /* U+D800, a surrogate */
        "\xed\xbf\xbf",     /* U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* beyond */
        "\xff",             /* never in UTF-8 */
        "\x80",             /* lone continuation */
        "ab\xc3",           /* truncated sequence */
        "\xe2\x9c",         /* truncated */
        "\xe2\x28\xa1",     /* bad continuation */
        "\xf0\x9f\x98",     /* truncated 4-byte */
        "tab\there",        /* C0 */
        "new\nline",        /* C0 */
        "esc\x1b[2J",       /* terminal escape */
        "del\x7f",          /* DEL */
        "c1\xc2\x80",       /* U+0080, C1 */
        "csi\xc2\x9b",      /* U+009B, C1 CSI */
        "c1\xc2\x9f",       /* U+009F */
};

static void test_validate_rejects_bad_utf8_and_control_characters(void **state)
{
        struct mlsec_event e;

        for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
                good_event(&e, EVENT_AUDIT);
                memset(e.detail, 0, sizeof(e.detail));
                memcpy(e.detail, bad_text[i], strlen(bad_text[i]));
                assert_invalid(&e, "detail");

                good_event(&e, EVENT_AUTH);
                memset(e.tty, 0, sizeof(e.tty));
                memcpy(e.tty, bad_text[i], strlen(bad_text[i]));
                assert_invalid(&e, "tty");
        }
        /* U+00A0 (right after C1) and U+10FFFF are fine */
        good_event(&e, EVENT_AUDIT);
        strcpy(e.detail, "nbsp\xc2\xa0 max\xf4\x8f\xbf\xbf");
        assert_int_equal(event_validate(&e, NULL, 0), 0);
}

static void test_validate_rejects_invalid_users(void **state)
{
        static const char *bad[] = {"-alice", "al ice", "al/ice", "..", "\xc3\xa9t\xc3\xa9", "a:b"};
        struct mlsec_event e;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                good_event(&e, EVENT_AUTH);
                memset(e.user, 0, sizeof(e.user));
                strcpy(e.user, bad[i]);
                assert_invalid(&e, "user");
        }
        /* a Samba machine account is a user */
        good_event(&e, EVENT_AUTH);
        strcpy(e.user, "host$");
        assert_int_equal(event_validate(&e, NULL, 0), 0);
}

static void test_validate_requires_per_kind_fields(void **state)
{
        struct mlsec_event e;

        /* an attempt with a name that is no valid user name is still an event */
        good_event(&e, EVENT_AUTH);
        e.user[0] = '\0';
        assert_int_equal(event_validate(&e, NULL, 0), 0);
        good_event(&e, EVENT_AUTH);
        e.result[0] = '\0';
        assert_invalid(&e, "result");
        good_event(&e, EVENT_SESSION_OPEN);
        e.user[0] = '\0';
        assert_invalid(&e, "user");
        good_event(&e, EVENT_SESSION_CLOSE);
        e.user[0] = '\0';
        assert_invalid(&e, "user");
        good_event(&e, EVENT_AUDIT);
        e.action[0] = '\0';
        assert_invalid(&e, "action");
        /* an audit entry made by the system need not name a user */
        good_event(&e, EVENT_AUDIT);
        e.user[0] = '\0';
        assert_int_equal(event_validate(&e, NULL, 0), 0);
}

static void test_validate_rejects_out_of_range_ids(void **state)
{
        struct mlsec_event e;

        good_event(&e, EVENT_AUTH);
        e.uid = -2;
        assert_invalid(&e, "uid");
        e.uid = 4294967295LL; /* (uid_t)-1 */
        assert_invalid(&e, "uid");
        good_event(&e, EVENT_AUTH);
        e.actor_uid = INT64_MIN;
        assert_invalid(&e, "actor_uid");
        good_event(&e, EVENT_AUTH);
        e.pid = 2147483648LL;
        assert_invalid(&e, "pid");
        assert_int_equal(event_validate(NULL, NULL, 0), -EINVAL);
}

static void test_validate_err_is_bounded(void **state)
{
        struct mlsec_event e;
        char err[8];

        good_event(&e, EVENT_AUTH);
        e.kind = 99;
        memset(err, 'x', sizeof(err));
        assert_int_equal(event_validate(&e, err, sizeof(err)), -EINVAL);
        assert_int_equal(strlen(err), sizeof(err) - 1);
        assert_int_equal(event_validate(&e, err, 0), -EINVAL);
}

static void test_set_text(void **state)
{
        char buf[8], before[8];

        memset(buf, 'z', sizeof(buf));
        assert_int_equal(event_set_text(buf, sizeof(buf), "abc"), 0);
        assert_string_equal(buf, "abc");
        /* the rest is cleared */
        for (size_t i = 3; i < sizeof(buf); i++)
                assert_int_equal(buf[i], 0);
        assert_int_equal(event_set_text(buf, sizeof(buf), "1234567"), 0); /* fits exactly */
        assert_string_equal(buf, "1234567");
        assert_int_equal(event_set_text(buf, sizeof(buf), ""), 0);
        assert_string_equal(buf, "");
        assert_int_equal(event_set_text(buf, sizeof(buf), "\xc3\xa9t\xc3\xa9"), 0);
        assert_string_equal(buf, "\xc3\xa9t\xc3\xa9");

        memcpy(before, buf, sizeof(buf));
        assert_int_equal(event_set_text(buf, sizeof(buf), "12345678"), -EINVAL); /* one too many */
        assert_memory_equal(buf, before, sizeof(buf));
        for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
                assert_int_equal(event_set_text(buf, sizeof(buf), bad_text[i]), -EINVAL);
                assert_memory_equal(buf, before, sizeof(buf));
        }
        assert_int_equal(event_set_text(buf, sizeof(buf), NULL), -EINVAL);
        assert_int_equal(event_set_text(NULL, sizeof(buf), "a"), -EINVAL);
        assert_int_equal(event_set_text(buf, 0, ""), -EINVAL);
        assert_memory_equal(buf, before, sizeof(buf));
}

static void test_kind_names_round_trip(void **state)
{
        static const char *names[] = {"auth", "session-open", "session-close", "audit"};
        enum event_kind k = EVENT_AUDIT;

        for (int i = 0; i < _EVENT_KIND_MAX; i++) {
                assert_string_equal(event_kind_to_string((enum event_kind)i), names[i]);
                assert_int_equal(event_kind_from_string(names[i], &k), 0);
                assert_int_equal(k, i);
        }
        assert_null(event_kind_to_string(_EVENT_KIND_MAX));
        assert_null(event_kind_to_string((enum event_kind) - 1));
        k = EVENT_SESSION_OPEN;
        assert_int_equal(event_kind_from_string("Auth", &k), -EINVAL);
        assert_int_equal(event_kind_from_string("", &k), -EINVAL);
        assert_int_equal(event_kind_from_string(NULL, &k), -EINVAL);
        assert_int_equal(k, EVENT_SESSION_OPEN);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_init_gives_distinct_valid_ids_and_the_current_time),
                cmocka_unit_test(test_validate_accepts_a_good_event_of_each_kind),
                cmocka_unit_test(test_validate_rejects_bad_ids),
                cmocka_unit_test(test_validate_rejects_unknown_kind_and_bad_times),
                cmocka_unit_test(test_validate_rejects_unterminated_text),
                cmocka_unit_test(test_validate_rejects_bad_utf8_and_control_characters),
                cmocka_unit_test(test_validate_rejects_invalid_users),
                cmocka_unit_test(test_validate_requires_per_kind_fields),
                cmocka_unit_test(test_validate_rejects_out_of_range_ids),
                cmocka_unit_test(test_validate_err_is_bounded),
                cmocka_unit_test(test_set_text),
                cmocka_unit_test(test_kind_names_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
