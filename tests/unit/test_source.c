/* SPDX-License-Identifier: MIT */
/* Unit tests of common/source.c: one address has one spelling whatever PAM_RHOST looked
 * like (#12 item 2), host names fold, what is neither is refused; which terminals are the
 * machine's consoles; and which source and class a login gets (#12 item 1). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "source.h"

static void assert_canonical(const char *in, int want_r, const char *want)
{
        char out[SOURCE_MAX] = "untouched";
        int r = source_canonical(in, out, sizeof(out));

        if (r != want_r || strcmp(out, want) != 0)
                fail_msg("source_canonical(\"%s\") = %d \"%s\", want %d \"%s\"", in, r, out, want_r, want);
}

static void test_one_ipv4_address_one_spelling(void **state)
{
        /* every spelling the outside review tried for one address */
        static const char *const spellings[] = {
                "192.0.2.1",      "::ffff:192.0.2.1", "::FFFF:192.0.2.1", "::ffff:c000:201", "0:0:0:0:0:ffff:c000:0201",
                "[192.0.2.1]",    "192.0.2.1:22",     " 192.0.2.1",       "192.0.2.1 \t\n",  "[::ffff:192.0.2.1]:2222",
                "[192.0.2.1]:22",
        };

        for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
                assert_canonical(spellings[i], 1, "192.0.2.1");
}

static void test_ipv6_addresses(void **state)
{
        assert_canonical("2001:DB8::1", 1, "2001:db8::1");
        assert_canonical("2001:0db8:0000:0000:0000:0000:0000:0001", 1, "2001:db8::1");
        assert_canonical("[2001:db8::1]:22", 1, "2001:db8::1");
        assert_canonical("[2001:db8::1]", 1, "2001:db8::1");
        assert_canonical("::1", 1, "::1");
        assert_canonical("fe80::1%ETH0", 1, "fe80::1%eth0");
        /* a bare IPv6 address is never read as host:port */
        assert_canonical("2001:db8::22", 1, "2001:db8::22");
}

static void test_host_names_fold(void **state)
{
        assert_canonical("Host.Example.COM.", 0, "host.example.com");
        assert_canonical("  gw-1.example.org ", 0, "gw-1.example.org");
        assert_canonical("gw-1.example.org:22", 0, "gw-1.example.org");
        assert_canonical("localhost", 0, "localhost");
        assert_canonical("192.0.2.1.", 1, "192.0.2.1"); /* the root's dot, then an address */
}

static void test_neither_is_refused(void **state)
{
        static const char *const bad[] = {
                "",
                "   ",
                "[",
                "[::1",
                "[::1]x",
                "[]",
                "a b",
                "host;rm -rf",
                "host/x",
                "tty:pts/1",
                "ab\x01",
                "\xc3\xa9",
                "192.0.2.1%eth0",
                "remote:unknown",
        };
        char out[SOURCE_MAX] = "untouched";

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (source_canonical(bad[i], out, sizeof(out)) != -EINVAL)
                        fail_msg("\"%s\" was accepted as \"%s\"", bad[i], out);
                assert_string_equal(out, "untouched");
        }
        assert_int_equal(source_canonical(NULL, out, sizeof(out)), -EINVAL);
}

static void test_bounded(void **state)
{
        char longname[SOURCE_MAX + 10], out[16] = "untouched";

        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(source_canonical(longname, out, sizeof(out)), -ENAMETOOLONG);
        assert_int_equal(source_canonical("2001:db8:1:2:3:4:5:6", out, 8), -ENAMETOOLONG);
        assert_int_equal(source_canonical("very-long-host-name.example", out, sizeof(out)), -ENAMETOOLONG);
        assert_string_equal(out, "untouched");
}

static void test_consoles(void **state)
{
        struct conf_list exempt = {.n = 1};

        snprintf(exempt.item[0], sizeof(exempt.item[0]), "/dev/ttyUSB0");
        assert_true(source_tty_console("tty1", NULL, NULL));
        assert_true(source_tty_console("/dev/tty1", NULL, NULL));
        assert_true(source_tty_console("/dev/tty63", NULL, NULL));
        assert_true(source_tty_console("console", NULL, NULL));
        assert_false(source_tty_console("tty64", NULL, NULL));
        assert_false(source_tty_console("tty0", "tty0 ttyS0", NULL));
        assert_false(source_tty_console("tty01", NULL, NULL));
        assert_false(source_tty_console("tty", NULL, NULL));
        assert_false(source_tty_console("/dev/pts/3", NULL, NULL));
        assert_false(source_tty_console("pts/3", "tty0 ttyS0\n", NULL));
        assert_false(source_tty_console(":0", NULL, NULL));
        assert_false(source_tty_console("", NULL, NULL));
        assert_false(source_tty_console(NULL, NULL, NULL));
        /* a serial line is a console only when the kernel's console is on it */
        assert_false(source_tty_console("ttyS0", "tty0", NULL));
        assert_true(source_tty_console("ttyS0", "tty0 ttyS0\n", NULL));
        assert_true(source_tty_console("/dev/ttyS1", "ttyS1", NULL));
        assert_false(source_tty_console("ttyS", "ttyS0", NULL));
        /* and what the administrator listed in exempt_tty */
        assert_true(source_tty_console("ttyUSB0", NULL, &exempt));
        assert_false(source_tty_console("ttyUSB1", NULL, &exempt));
}

static void assert_source(const char *rhost, const char *tty, const char *service, const char *want,
                          enum source_class want_cls)
{
        struct login_source s;

        source_of_login(rhost, tty, service, "tty0 ttyS0", NULL, &s);
        if (strcmp(s.name, want) != 0 || s.cls != want_cls)
                fail_msg("rhost=%s tty=%s service=%s: \"%s\" class %d, want \"%s\" class %d", rhost, tty, service,
                         s.name, (int)s.cls, want, (int)want_cls);
}

static void test_source_of_login(void **state)
{
        assert_source("::ffff:192.0.2.1", "ssh", "sshd", "192.0.2.1", SOURCE_REMOTE);
        assert_source("Gw.Example.org.", NULL, "login", "gw.example.org", SOURCE_REMOTE);
        assert_source("bad host", NULL, "login", SOURCE_INVALID_REMOTE, SOURCE_REMOTE);
        /* sshd without PAM_RHOST is still remote, never an uncapped local terminal */
        assert_source(NULL, "ssh", "sshd", SOURCE_UNKNOWN_REMOTE, SOURCE_REMOTE);
        assert_source("", NULL, "sshd", SOURCE_UNKNOWN_REMOTE, SOURCE_REMOTE);
        assert_source("", "/dev/pts/2", "sshd-test", SOURCE_UNKNOWN_REMOTE, SOURCE_REMOTE);
        assert_source(NULL, "ssh", "other", SOURCE_UNKNOWN_REMOTE, SOURCE_REMOTE);
        /* terminals */
        assert_source(NULL, "/dev/pts/4", "su", "tty:pts/4", SOURCE_LOCAL);
        assert_source("", "/dev/pts/4", "sudo", "tty:pts/4", SOURCE_LOCAL);
        assert_source(NULL, "/dev/tty1", "login", "tty:tty1", SOURCE_CONSOLE);
        assert_source(NULL, "ttyS0", "login", "tty:ttyS0", SOURCE_CONSOLE);
        assert_source(NULL, "ttyS1", "login", "tty:ttyS1", SOURCE_LOCAL);
        assert_source(NULL, NULL, "cron", "local", SOURCE_LOCAL);
        assert_source(NULL, "/dev/", "su", "local", SOURCE_LOCAL);
}

static void test_networks(void **state)
{
        struct conf_list nets = {.n = 3};
        char canon[64];

        (void)state;
        snprintf(nets.item[0], sizeof(nets.item[0]), "192.0.2.0/24");
        snprintf(nets.item[1], sizeof(nets.item[1]), "2001:db8::/32");
        snprintf(nets.item[2], sizeof(nets.item[2]), "10.0.0.0/9");
        assert_true(source_in_networks("192.0.2.0", &nets));
        assert_true(source_in_networks("192.0.2.255", &nets));
        assert_false(source_in_networks("192.0.3.0", &nets));
        assert_false(source_in_networks("192.0.1.255", &nets));
        assert_true(source_in_networks("10.127.255.255", &nets));
        assert_false(source_in_networks("10.128.0.0", &nets));
        assert_true(source_in_networks("2001:db8:ffff::1", &nets));
        assert_false(source_in_networks("2001:db9::1", &nets));
        /* an IPv4 network never matches an IPv6 address and the other way round */
        assert_false(source_in_networks("::c000:201", &nets)); /* 192.0.2.1 in IPv6 bits */
        /* only addresses: never a host name, a terminal, remote:unknown, a network, nothing */
        assert_false(source_in_networks("host.example", &nets));
        assert_false(source_in_networks("tty:pts/1", &nets));
        assert_false(source_in_networks(SOURCE_UNKNOWN_REMOTE, &nets));
        assert_false(source_in_networks("192.0.2.0/24", &nets));
        assert_false(source_in_networks("", &nets));
        assert_false(source_in_networks(NULL, &nets));
        nets.n = 0;
        assert_false(source_in_networks("192.0.2.1", &nets));

        assert_int_equal(source_network_parse("192.0.2.0/24", canon, sizeof(canon)), 0);
        assert_string_equal(canon, "192.0.2.0/24");
        assert_int_equal(source_network_parse("192.0.2.77/25", canon, sizeof(canon)), -EDOM);
        assert_string_equal(canon, "192.0.2.0/25");
        assert_int_equal(source_network_parse("2001:0DB8:0::/48", canon, sizeof(canon)), 0);
        assert_string_equal(canon, "2001:db8::/48");
        assert_int_equal(source_network_parse("2001:db8::1", canon, sizeof(canon)), 0);
        assert_string_equal(canon, "2001:db8::1/128");
        assert_int_equal(source_network_parse("192.0.2.0/", canon, sizeof(canon)), -EINVAL);
        assert_int_equal(source_network_parse("192.0.2.0/-1", canon, sizeof(canon)), -EINVAL);
        assert_int_equal(source_network_parse("192.0.2.0/1234", canon, sizeof(canon)), -EINVAL);
        assert_int_equal(source_network_parse("2001:db8::/129", canon, sizeof(canon)), -EINVAL);
        assert_int_equal(source_network_parse(" 192.0.2.0/24", canon, sizeof(canon)), -EINVAL);
        assert_int_equal(source_network_parse("", canon, sizeof(canon)), -EINVAL);
}

static void test_lock_scope(void **state)
{
        assert_string_equal(source_lock_scope("*remote*"), "every remote source");
        assert_string_equal(source_lock_scope("*local*"), "every local terminal but the consoles");
        assert_null(source_lock_scope("192.0.2.1"));
        assert_null(source_lock_scope(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_ipv4_address_one_spelling),
                cmocka_unit_test(test_ipv6_addresses),
                cmocka_unit_test(test_host_names_fold),
                cmocka_unit_test(test_neither_is_refused),
                cmocka_unit_test(test_bounded),
                cmocka_unit_test(test_consoles),
                cmocka_unit_test(test_source_of_login),
                cmocka_unit_test(test_lock_scope),
                cmocka_unit_test(test_networks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
