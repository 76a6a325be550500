/* SPDX-License-Identifier: MIT */
/* Unit tests of mlsecd/rules.c: the arithmetic of each rule (speed, the distance and time
 * guards, the one alert per burst, "right after" a lockout, a UTF-8 cut), and rules_judge on
 * a real activity.db under /tmp with login histories written here: each rule fires and does
 * not, alert_rules turns rules off, an event judged twice raises nothing twice. */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "activity.h"
#include "conf.h"
#include "rules.h"

#define S  1000000LL        /* a second in microseconds */
#define T0 (1700000000 * S) /* 2023 */

static const double SYD_LAT = -33.8688, SYD_LON = 151.2093, BER_LAT = 52.52, BER_LON = 13.405;

/* ---- the arithmetic ---------------------------------------------------------------- */

static void test_speed(void **state)
{
        assert_true(fabs(rules_speed_kmh(1000, 3600 * S) - 1000) < 1e-9);
        assert_true(fabs(rules_speed_kmh(1000, -3600 * S) - 1000) < 1e-9); /* out of order: the size */
        assert_true(fabs(rules_speed_kmh(100, 0) - 360000) < 1e-9);        /* under a second: one second */
        assert_true(fabs(rules_speed_kmh(100, S / 2) - 360000) < 1e-9);
}

static void test_travel(void **state)
{
        double km = geo_distance_km(SYD_LAT, SYD_LON, BER_LAT, BER_LON), kmh = 0;

        assert_true(km > 16000 && km < 16200);
        /* a minute: impossible */
        assert_true(rules_travel_impossible(km, 60 * S, 1000, &kmh));
        assert_true(kmh > 960000 && kmh < 972000);
        /* a day: an airliner does it at about 700 km/h */
        assert_false(rules_travel_impossible(km, 86400 * S, 1000, &kmh));
        assert_true(kmh > 600 && kmh < 700);
        /* the limit itself is allowed, above it not */
        assert_false(rules_travel_impossible(1000, 3600 * S, 1000, NULL));
        assert_true(rules_travel_impossible(1001, 3600 * S, 1000, NULL));
        /* same instant, far apart: the fastest travel there is, no division by zero */
        assert_true(rules_travel_impossible(km, 0, 1000000000, &kmh) == (km * 3600 > 1e9));
        assert_true(rules_travel_impossible(km, 0, 1000, NULL));
        /* under 100 km: geolocation noise, never */
        assert_false(rules_travel_impossible(99.9, 0, 1, NULL));
        assert_true(rules_travel_impossible(RULES_TRAVEL_MIN_KM, 0, 1, NULL));
        assert_false(rules_travel_impossible(NAN, 0, 1, NULL));
        assert_false(rules_travel_impossible(0, 0, 1, NULL));
}

static void test_burst(void **state)
{
        assert_false(rules_burst(4, 5, false));
        assert_true(rules_burst(5, 5, false));
        assert_true(rules_burst(6, 5, false)); /* reached by a spooled event arriving late */
        assert_false(rules_burst(6, 5, true)); /* one alert per burst */
        assert_false(rules_burst(0, 0, false));
}

static void test_after_lockout(void **state)
{
        assert_true(rules_after_lockout(T0, T0 + 10 * S, 0, 3600));
        assert_true(rules_after_lockout(T0, T0 + 3600 * S, T0 - S, 3600));    /* the window's end */
        assert_false(rules_after_lockout(T0, T0 + 3601 * S, 0, 3600));        /* too late */
        assert_false(rules_after_lockout(T0, T0 + 10 * S, T0 + 5 * S, 3600)); /* not the first since */
        assert_true(rules_after_lockout(T0, T0 + 10 * S, T0 - 5 * S, 3600));  /* the one before was before */
        assert_false(rules_after_lockout(T0, T0 - S, 0, 3600));               /* before the lockout */
        assert_false(rules_after_lockout(0, T0, 0, 3600));
}

static void test_utf8_tail(void **state)
{
        char s[16];

        strcpy(s, "ab\xc3"); /* half of "ä" */
        rules_utf8_tail(s);
        assert_string_equal(s, "ab");
        strcpy(s, "ab\xc3\xa4");
        rules_utf8_tail(s);
        assert_string_equal(s, "ab\xc3\xa4");
        strcpy(s, "a\xe2\x82"); /* two thirds of "€" */
        rules_utf8_tail(s);
        assert_string_equal(s, "a");
        strcpy(s, "a\xf0\x9f\x98\x80");
        rules_utf8_tail(s);
        assert_string_equal(s, "a\xf0\x9f\x98\x80");
        strcpy(s, "plain");
        rules_utf8_tail(s);
        assert_string_equal(s, "plain");
        s[0] = '\0';
        rules_utf8_tail(s);
        assert_string_equal(s, "");
}

/* ---- rules_judge on a real activity.db ---------------------------------------------- */

struct fixture {
        char root[64];
        char state[128];
        struct seal_key *key;
        struct activity *a;
        struct mlsec_conf conf;
        unsigned next_id;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char key[128];

        if (!f || seal_init() < 0)
                return -1;
        strcpy(f->root, "/tmp/mlsec-test-rules-XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        snprintf(f->state, sizeof(f->state), "%s/state", f->root);
        snprintf(key, sizeof(key), "%s/key", f->root);
        if (seal_key_load(key, true, &f->key) < 0 || activity_open(f->state, f->key, &f->a) < 0)
                return -1;
        conf_defaults(&f->conf);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r;

        f->a = activity_close(f->a);
        f->key = seal_key_free(f->key);
        r = nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return r;
}

static struct geo_place place(const char *cc, const char *city, bool located, double lat, double lon)
{
        struct geo_place p = {.kind = GEO_FOUND, .has_location = located, .latitude = lat, .longitude = lon};

        snprintf(p.country, sizeof(p.country), "%s", cc);
        snprintf(p.country_name, sizeof(p.country_name), "%s", strcmp(cc, "AU") == 0 ? "Australia" : "Germany");
        snprintf(p.city, sizeof(p.city), "%s", city);
        return p;
}

#define SYD place("AU", "Sydney", true, SYD_LAT, SYD_LON)
#define BER place("DE", "Berlin", true, BER_LAT, BER_LON)
#define USA place("US", "", false, 0, 0)

static struct mlsec_event login_ev(struct fixture *f, int64_t t, const char *user, const char *result,
                                   const char *method)
{
        struct mlsec_event e = {.kind = EVENT_AUTH, .time_us = t, .uid = 1000, .pid = 42, .actor_uid = -1};

        snprintf(e.id, sizeof(e.id), "%016x%016x", 0x5eedu, ++f->next_id);
        snprintf(e.user, sizeof(e.user), "%s", user);
        strcpy(e.service, "sshd");
        strcpy(e.ip, "203.0.113.7");
        strcpy(e.rhost, "203.0.113.7");
        snprintf(e.method, sizeof(e.method), "%s", method);
        snprintf(e.result, sizeof(e.result), "%s", result);
        strcpy(e.reason, strcmp(result, "ok") == 0 ? "ok" : "wrong code");
        return e;
}

/* Store E with P (NULL: none) and judge it: the kinds raised, space-separated, in OUT. */
static const char *judge(struct fixture *f, const struct mlsec_event *e, const struct geo_place *p, char *out,
                         size_t len)
{
        struct rules_alert al[RULES_N];
        size_t n = 99;
        bool added = false;

        assert_int_equal(activity_store_event_at(f->a, e, p, &added), 0);
        assert_true(added);
        assert_int_equal(rules_judge(f->a, &f->conf, e, p, "mlsecctl", al, &n), 0);
        out[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                assert_true(al[i].id > 0);
                assert_true(al[i].detail[0]);
                snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", al[i].kind);
        }
        return out;
}

static const char *ok_at(struct fixture *f, int64_t t, const char *user, struct geo_place p, char *out, size_t len)
{
        struct mlsec_event e = login_ev(f, t, user, "ok", "totp");

        return judge(f, &e, &p, out, len);
}

static void test_new_country_and_travel(void **state)
{
        struct fixture *f = *state;
        char k[128];

        assert_string_equal(ok_at(f, T0, "alice", SYD, k, sizeof(k)), ""); /* the first login */
        assert_string_equal(ok_at(f, T0 + 60 * S, "alice", SYD, k, sizeof(k)), "");
        assert_string_equal(ok_at(f, T0 + 120 * S, "alice", BER, k, sizeof(k)), "new-country impossible-travel");
        /* a day later from Berlin again: seen, and no travel */
        assert_string_equal(ok_at(f, T0 + 86400 * S, "alice", BER, k, sizeof(k)), "");
        /* Sydney two days after Berlin: 335 km/h, and Australia was seen */
        assert_string_equal(ok_at(f, T0 + 3 * 86400 * S, "alice", SYD, k, sizeof(k)), "");
        /* the US: new, but without coordinates no travel is judged */
        assert_string_equal(ok_at(f, T0 + 3 * 86400 * S + S, "alice", USA, k, sizeof(k)), "new-country");
        /* Berlin a minute after the US: the previous located login is Sydney, two days and a bit ago */
        assert_string_equal(ok_at(f, T0 + 3 * 86400 * S + 60 * S, "alice", BER, k, sizeof(k)), "impossible-travel");
        /* after history_days, a country counts as new again */
        f->conf.history_days = 1;
        assert_string_equal(ok_at(f, T0 + 30 * 86400 * S, "alice", USA, k, sizeof(k)), "new-country");
}

static void test_new_country_first_and_local(void **state)
{
        struct fixture *f = *state;
        struct geo_place lan = {.kind = GEO_PRIVATE};
        struct mlsec_event check = login_ev(f, T0, "bob", "ok", "totp"),
                           fail = login_ev(f, T0 + S, "bob", "fail", "none");
        char k[128];

        /* mlsecctl's own code checks are no earlier login */
        strcpy(check.service, "mlsecctl");
        check.ip[0] = check.rhost[0] = '\0';
        assert_string_equal(judge(f, &check, NULL, k, sizeof(k)), "");
        /* a failure from Berlin is no earlier login either, and raises no new-country */
        assert_string_equal(judge(f, &fail, &(struct geo_place){0}, k, sizeof(k)), "");
        assert_string_equal(ok_at(f, T0 + 2 * S, "bob", BER, k, sizeof(k)), ""); /* his first */
        assert_string_equal(ok_at(f, T0 + 3 * S, "bob", lan, k, sizeof(k)), ""); /* no country */
        assert_string_equal(ok_at(f, T0 + 4 * S, "bob", BER, k, sizeof(k)), "");
        /* another user's history is not bob's */
        assert_string_equal(ok_at(f, T0 + 5 * S, "carol", SYD, k, sizeof(k)), "");
        assert_string_equal(ok_at(f, T0 + 6 * S, "bob", SYD, k, sizeof(k)), "new-country impossible-travel");
}

/* A login let in without a code (skipped, before MFA was set up) is an earlier login: the
 * first one with a code is judged against it. A skipped login is not judged itself. */
static void test_skipped_is_earlier_login(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event sk = login_ev(f, T0, "dora", "skipped", "none");
        struct geo_place s = SYD;
        char k[128];

        strcpy(sk.reason, "unenrolled");
        assert_string_equal(judge(f, &sk, &s, k, sizeof(k)), "");
        assert_string_equal(ok_at(f, T0 + 60 * S, "dora", BER, k, sizeof(k)), "new-country impossible-travel");
}

static void test_failure_burst(void **state)
{
        struct fixture *f = *state;
        char k[128];

        for (int i = 0; i < 4; i++) {
                struct mlsec_event e = login_ev(f, T0 + i * S, "dave", "fail", "none");
                assert_string_equal(judge(f, &e, NULL, k, sizeof(k)), "");
        }
        {
                struct mlsec_event e = login_ev(f, T0 + 4 * S, "dave", "fail", "none");
                assert_string_equal(judge(f, &e, NULL, k, sizeof(k)), "failure-burst");
        }
        for (int i = 5; i < 20; i++) { /* the same burst */
                struct mlsec_event e = login_ev(f, T0 + i * S, "dave", "fail", "none");
                assert_string_equal(judge(f, &e, NULL, k, sizeof(k)), "");
        }
        /* failures spread wider than burst_window: none */
        for (int i = 0; i < 10; i++) {
                struct mlsec_event e = login_ev(f, T0 + i * 100 * S, "erin", "fail", "none");
                assert_string_equal(judge(f, &e, NULL, k, sizeof(k)), "");
        }
        /* a second burst, a window after the first alert */
        for (int i = 0; i < 5; i++) {
                struct mlsec_event e = login_ev(f, T0 + 1000 * S + i * S, "dave", "fail", "none");
                assert_string_equal(judge(f, &e, NULL, k, sizeof(k)), i == 4 ? "failure-burst" : "");
        }
}

static void test_after_lockout_judged(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event locked = login_ev(f, T0, "frank", "fail", "none"), lockout;
        bool added;
        char k[128];

        strcpy(locked.reason, "locked");
        assert_string_equal(judge(f, &locked, NULL, k, sizeof(k)), "");
        assert_string_equal(ok_at(f, T0 + 60 * S, "frank", SYD, k, sizeof(k)), "success-after-lockout");
        assert_string_equal(ok_at(f, T0 + 120 * S, "frank", SYD, k, sizeof(k)), ""); /* the first one only */
        /* a lockout begun (the module's audit entry), then a success long after */
        lockout = login_ev(f, T0 + 1000 * S, "frank", "ok", "none");
        lockout.kind = EVENT_AUDIT;
        strcpy(lockout.action, "lockout");
        assert_int_equal(activity_store_event(f->a, &lockout, &added), 0);
        assert_string_equal(ok_at(f, T0 + 1000 * S + 3601 * S, "frank", SYD, k, sizeof(k)), "");
        /* no lockout at all */
        assert_string_equal(ok_at(f, T0, "gina", SYD, k, sizeof(k)), "");
        assert_string_equal(ok_at(f, T0 + S, "gina", SYD, k, sizeof(k)), "");
}

static void test_backup_code(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event b = login_ev(f, T0 + S, "hank", "ok", "backup"),
                           bf = login_ev(f, T0 + 2 * S, "hank", "fail", "backup");
        struct geo_place s = SYD;
        char k[128];

        assert_string_equal(ok_at(f, T0, "hank", SYD, k, sizeof(k)), "");
        assert_string_equal(judge(f, &b, &s, k, sizeof(k)), "backup-code-used");
        assert_string_equal(judge(f, &bf, &s, k, sizeof(k)), ""); /* a wrong one is no use */
}

static void test_rules_off_and_twice(void **state)
{
        struct fixture *f = *state;
        struct mlsec_conf c;
        struct mlsec_event b;
        struct geo_place s = SYD;
        struct rules_alert al[RULES_N];
        size_t n = 9;
        char k[128], err[CONF_ERR_MAX];

        const char *none = "alert_rules = none\n", *two = "alert_rules = backup-code-used , impossible-travel\n";

        assert_int_equal(conf_parse("t", none, strlen(none), &c, err, sizeof(err)), 0);
        f->conf.alert_rules[0] = '\0';
        memcpy(f->conf.alert_rules, c.alert_rules, sizeof(c.alert_rules));
        assert_string_equal(ok_at(f, T0, "ivan", SYD, k, sizeof(k)), "");
        assert_string_equal(ok_at(f, T0 + S, "ivan", BER, k, sizeof(k)), "");
        assert_int_equal(conf_parse("t", two, strlen(two), &c, err, sizeof(err)), 0);
        memcpy(f->conf.alert_rules, c.alert_rules, sizeof(c.alert_rules));
        assert_string_equal(ok_at(f, T0 + 2 * S, "ivan", SYD, k, sizeof(k)), "impossible-travel"); /* no new-country */
        b = login_ev(f, T0 + 3 * S, "ivan", "ok", "backup");
        assert_string_equal(judge(f, &b, &s, k, sizeof(k)), "backup-code-used");
        /* judged again (as a re-ingested event would be): nothing twice */
        assert_int_equal(rules_judge(f->a, &f->conf, &b, &s, NULL, al, &n), 0);
        assert_int_equal(n, 0);
        /* not an auth event, no user: nothing */
        b.kind = EVENT_SESSION_OPEN;
        assert_int_equal(rules_judge(f->a, &f->conf, &b, &s, NULL, al, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(rules_judge(NULL, &f->conf, &b, &s, NULL, al, &n), -EINVAL);
}

int main(void)
{
#define J(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_speed),
                cmocka_unit_test(test_travel),
                cmocka_unit_test(test_burst),
                cmocka_unit_test(test_after_lockout),
                cmocka_unit_test(test_utf8_tail),
                J(test_new_country_and_travel),
                J(test_new_country_first_and_local),
                J(test_skipped_is_earlier_login),
                J(test_failure_burst),
                J(test_after_lockout_judged),
                J(test_backup_code),
                J(test_rules_off_and_twice),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
