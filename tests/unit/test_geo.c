/* SPDX-License-Identifier: MIT */
/* Unit tests of common/geo.c: address classes (private, loopback, not an address), lookups
 * in a database made at test time by tests/unit/make_geo_db.pl, and, when ../shared's
 * MaxMind test databases are present, lookups in those as an independent second check
 * (read from there, never copied). Also the file checks and the distance. */
#include <errno.h>
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

#include "geo.h"

struct fixture {
        char dir[64];
        char db[128];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char cmd[512];

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/mlsec-geo.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->db, sizeof(f->db), "%s/test.mmdb", f->dir);
        snprintf(cmd, sizeof(cmd), "perl tests/unit/make_geo_db.pl '%s'", f->db);
        if (system(cmd) != 0) {
                fprintf(stderr, "make_geo_db.pl failed (libmaxmind-db-writer-perl missing?)\n");
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        char cmd[128];

        int r;

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        r = system(cmd);
        free(f);
        return r == 0 ? 0 : -1;
}

static struct geo_place look(struct geo *g, const char *ip)
{
        struct geo_place p;

        memset(&p, 0x5a, sizeof(p));
        assert_int_equal(geo_lookup(g, ip, &p), 0);
        return p;
}

static void test_classes_without_database(void **state)
{
        static const char *private_ips[] = {"10.1.2.3",        "172.16.0.1",  "172.31.255.255", "192.168.1.1",
                                            "100.64.0.1",      "169.254.3.4", "fd00::1",        "fe80::1",
                                            "::ffff:10.0.0.1", "0.0.0.0"};
        static const char *public_ips[] = {"172.32.0.1", "8.8.8.8", "2001:4860::8888", "100.128.0.1", "::ffff:8.8.8.8"};
        char buf[64];

        for (size_t i = 0; i < sizeof(private_ips) / sizeof(private_ips[0]); i++) {
                struct geo_place p = look(NULL, private_ips[i]);
                assert_int_equal(p.kind, GEO_PRIVATE);
                assert_string_equal(geo_describe(&p, buf, sizeof(buf)), "private network");
        }
        assert_int_equal(look(NULL, "127.0.0.1").kind, GEO_LOOPBACK);
        assert_int_equal(look(NULL, "127.255.0.9").kind, GEO_LOOPBACK);
        assert_int_equal(look(NULL, "::1").kind, GEO_LOOPBACK);
        assert_int_equal(look(NULL, "::ffff:127.0.0.1").kind, GEO_LOOPBACK);
        for (size_t i = 0; i < sizeof(public_ips) / sizeof(public_ips[0]); i++)
                assert_int_equal(look(NULL, public_ips[i]).kind, GEO_UNKNOWN);
        assert_int_equal(look(NULL, "").kind, GEO_NOT_AN_IP);
        assert_int_equal(look(NULL, "host.example.com").kind, GEO_NOT_AN_IP);
        assert_int_equal(look(NULL, "1.2.3.4.5").kind, GEO_NOT_AN_IP);
        assert_int_equal(look(NULL, NULL).kind, GEO_NOT_AN_IP);
        struct geo_place p = look(NULL, "8.8.8.8");
        assert_string_equal(geo_describe(&p, buf, sizeof(buf)), "unknown");
        p = look(NULL, "::1");
        assert_string_equal(geo_describe(&p, buf, sizeof(buf)), "this machine");
        assert_int_equal(geo_lookup(NULL, "8.8.8.8", NULL), -EINVAL);
        /* the kinds as the wire spells them */
        assert_string_equal(geo_kind_to_string(GEO_FOUND), "found");
        assert_string_equal(geo_kind_to_string(GEO_PRIVATE), "private");
        assert_string_equal(geo_kind_to_string(GEO_LOOPBACK), "loopback");
        assert_string_equal(geo_kind_to_string(GEO_UNKNOWN), "unknown");
        assert_string_equal(geo_kind_to_string(GEO_NOT_AN_IP), "not-an-address");
}

static void test_lookups_in_own_database(void **state)
{
        struct fixture *f = *state;
        struct geo *g = NULL;
        struct geo_place p;
        char buf[256];

        assert_int_equal(geo_open(f->db, &g), 0);
        p = look(g, "203.0.113.77");
        assert_int_equal(p.kind, GEO_FOUND);
        assert_string_equal(p.country, "AU");
        assert_string_equal(p.city, "Sydney");
        assert_true(p.has_location);
        assert_true(p.latitude < -33.8 && p.latitude > -33.9);
        assert_string_equal(geo_describe(&p, buf, sizeof(buf)), "Sydney, Australia");
        p = look(g, "::ffff:198.51.100.1"); /* mapped IPv4 is the IPv4 address */
        assert_string_equal(p.country, "DE");
        assert_string_equal(p.city, "Berlin");
        p = look(g, "192.0.2.9"); /* country only */
        assert_int_equal(p.kind, GEO_FOUND);
        assert_string_equal(p.city, "");
        assert_false(p.has_location);
        assert_string_equal(geo_describe(&p, buf, sizeof(buf)), "United States");
        p = look(g, "2001:db8:1:2::5");
        assert_string_equal(p.country, "JP");
        assert_string_equal(p.city, "Tokyo");
        /* public but not in the database; private is never looked up */
        assert_int_equal(look(g, "8.8.4.4").kind, GEO_UNKNOWN);
        assert_int_equal(look(g, "2001:db8:2::1").kind, GEO_UNKNOWN);
        assert_int_equal(look(g, "10.0.0.1").kind, GEO_PRIVATE);
        assert_int_equal(look(g, "127.0.0.1").kind, GEO_LOOPBACK);
        g = geo_close(g);
        assert_null(g);
}

static void test_open_refuses(void **state)
{
        struct fixture *f = *state;
        char path[192];
        struct geo *g = NULL;
        FILE *fp;

        assert_int_equal(geo_open("/nonexistent/x.mmdb", &g), -ENOENT);
        assert_null(g);
        /* writable by others: refused before libmaxminddb reads a byte */
        assert_int_equal(chmod(f->db, 0666), 0);
        assert_int_equal(geo_open(f->db, &g), -EPERM);
        assert_int_equal(chmod(f->db, 0644), 0);
        /* a symlink is not followed */
        snprintf(path, sizeof(path), "%s/link.mmdb", f->dir);
        assert_int_equal(symlink(f->db, path), 0);
        assert_int_equal(geo_open(path, &g), -EPERM);
        /* not a database */
        snprintf(path, sizeof(path), "%s/junk.mmdb", f->dir);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("this is not a MaxMind database\n", fp);
        fclose(fp);
        assert_int_equal(geo_open(path, &g), -EBADMSG);
        assert_null(g);
}

/* MaxMind's own test databases (../shared/testdata/geoip, see PROVENANCE.md there). */
static void test_maxmind_test_databases(void **state)
{
        static const char *dirs[] = {"../shared/testdata/geoip", "../../shared/testdata/geoip"};
        static const struct {
                const char *ip, *country, *city;
        } city_db[] = {
                {"81.2.69.142", "GB", "London"},
                {"89.160.20.128", "SE", "Linköping"},
                {"216.160.83.58", "US", "Milton"},
                {"175.16.199.5", "CN", "Changchun"},
                {"2001:480:10::1", "US", "San Diego"},
                {"2001:218::1", "JP", ""},
                {"67.43.156.1", "BT", ""},
        };
        const char *dir = NULL;
        char path[256];
        struct geo *g = NULL;
        struct geo_place p;

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !dir; i++) {
                snprintf(path, sizeof(path), "%s/GeoLite2-City-Test.mmdb", dirs[i]);
                if (access(path, R_OK) == 0)
                        dir = dirs[i];
        }
        if (!dir)
                skip();
        for (int k = 0; k < 2; k++) {
                snprintf(path, sizeof(path), "%s/%s", dir, k ? "GeoIP2-City-Test.mmdb" : "GeoLite2-City-Test.mmdb");
                assert_int_equal(geo_open(path, &g), 0);
                for (size_t i = 0; i < sizeof(city_db) / sizeof(city_db[0]); i++) {
                        p = look(g, city_db[i].ip);
                        assert_int_equal(p.kind, GEO_FOUND);
                        assert_string_equal(p.country, city_db[i].country);
                        assert_string_equal(p.city, city_db[i].city);
                }
                p = look(g, "81.2.69.142");
                assert_true(p.has_location);
                assert_true(p.latitude > 51.5 && p.latitude < 51.6);
                assert_int_equal(look(g, "127.0.0.1").kind, GEO_LOOPBACK);
                g = geo_close(g);
        }
        snprintf(path, sizeof(path), "%s/GeoLite2-Country-Test.mmdb", dir);
        assert_int_equal(geo_open(path, &g), 0);
        p = look(g, "89.160.20.128");
        assert_string_equal(p.country, "SE");
        assert_string_equal(p.city, "");
        assert_int_equal(look(g, "175.16.199.5").kind, GEO_UNKNOWN); /* not in the country db */
        g = geo_close(g);
}

static void test_network(void **state)
{
        char n[GEO_NETWORK_MAX], small[12];

        assert_int_equal(geo_network("198.51.100.9", n, sizeof(n)), 0);
        assert_string_equal(n, "198.51.100.0/24");
        assert_int_equal(geo_network("198.51.100.255", n, sizeof(n)), 0);
        assert_string_equal(n, "198.51.100.0/24");
        assert_int_equal(geo_network("::ffff:203.0.113.7", n, sizeof(n)), 0);
        assert_string_equal(n, "203.0.113.0/24"); /* IPv4-mapped: the IPv4 network */
        assert_int_equal(geo_network("2001:db8:1:2:3:4:5:6", n, sizeof(n)), 0);
        assert_string_equal(n, "2001:db8:1::/48");
        assert_int_equal(geo_network("2001:db8:1::", n, sizeof(n)), 0);
        assert_string_equal(n, "2001:db8:1::/48");
        assert_int_equal(geo_network("2001:db8:2::1", n, sizeof(n)), 0);
        assert_string_equal(n, "2001:db8:2::/48");
        assert_int_equal(geo_network("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", n, sizeof(n)), 0);
        assert_string_equal(n, "ffff:ffff:ffff::/48");
        assert_int_equal(geo_network("127.0.0.1", n, sizeof(n)), 0);
        assert_string_equal(n, "127.0.0.0/24");
        /* not an address */
        strcpy(n, "untouched");
        assert_int_equal(geo_network("host.example", n, sizeof(n)), -EINVAL);
        assert_int_equal(geo_network("", n, sizeof(n)), -EINVAL);
        assert_int_equal(geo_network("198.51.100.0/24", n, sizeof(n)), -EINVAL);
        assert_int_equal(geo_network("1.2.3.4 ", n, sizeof(n)), -EINVAL);
        assert_int_equal(geo_network(NULL, n, sizeof(n)), -EINVAL);
        assert_string_equal(n, "untouched");
        assert_int_equal(geo_network("2001:db8:1::5", small, sizeof(small)), -ENOBUFS);
}

static void test_distance(void **state)
{
        /* London - Sydney about 16,990 km; Berlin - Tokyo about 8,920 km; same point 0 */
        double d = geo_distance_km(51.5142, -0.0931, -33.8688, 151.2093);
        assert_true(d > 16900 && d < 17100);
        d = geo_distance_km(52.52, 13.405, 35.6762, 139.6503);
        assert_true(d > 8850 && d < 9000);
        assert_true(geo_distance_km(10, 20, 10, 20) < 0.001);
        /* antipodes: half the circumference */
        d = geo_distance_km(0, 0, 0, 180);
        assert_true(d > 20000 && d < 20040);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_classes_without_database),
                cmocka_unit_test(test_lookups_in_own_database),
                cmocka_unit_test(test_open_refuses),
                cmocka_unit_test(test_maxmind_test_databases),
                cmocka_unit_test(test_network),
                cmocka_unit_test(test_distance),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
