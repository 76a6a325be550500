/* SPDX-License-Identifier: MIT */
/* Unit tests of common/conf.c: defaults, every key, every kind of bad line with the exact
 * "file:line: message" an admin sees, and conf_load's checks of a real file's existence,
 * type, owner, mode and size. Files live in a private temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

/* ---- helpers ---- */

static int parse(const char *text, struct mlsec_conf *c, char *err)
{
        return conf_parse("t.conf", text, strlen(text), c, err, CONF_ERR_MAX);
}

/* Parse TEXT, expect -EINVAL with exactly MSG, and *ret left untouched. */
static void expect_error(const char *text, const char *msg)
{
        struct mlsec_conf c, before;
        char err[CONF_ERR_MAX];

        memset(&c, 0x5a, sizeof(c));
        memcpy(&before, &c, sizeof(c));
        assert_int_equal(parse(text, &c, err), -EINVAL);
        assert_string_equal(err, msg);
        assert_memory_equal(&c, &before, sizeof(c));
}

static void expect_ok(const char *text, struct mlsec_conf *c)
{
        char err[CONF_ERR_MAX];
        int r;

        strcpy(err, "stale");
        r = parse(text, c, err);
        if (r != 0)
                fail_msg("parse failed: %d %s", r, err);
        assert_string_equal(err, "");
}

static void assert_defaults(const struct mlsec_conf *c)
{
        assert_string_equal(c->state_dir, "/var/lib/mlsec");
        assert_string_equal(c->key_file, "/etc/mlsec/secret.key");
        assert_string_equal(c->socket, "/run/mlsecd/mlsecd.sock");
        assert_string_equal(c->spool_dir, "/var/lib/mlsec/spool");
        assert_int_equal(c->window, 1);
        assert_int_equal(c->max_failures, 5);
        assert_int_equal(c->failure_window, 900);
        assert_int_equal(c->lockout_seconds, 300);
        assert_int_equal(c->max_user_failures, 20);
        assert_int_equal(c->history_days, 365);
        assert_int_equal(c->unenrolled, CONF_UNENROLLED_ALLOW);
        assert_string_equal(c->admin_group, "mlsec-admin");
        assert_string_equal(c->geoip_db, ""); /* no database */
        assert_int_equal(c->require_mfa_group.n, 0); /* no MFA policy */
        assert_int_equal(c->enroll_grace_days, 0);
        assert_int_equal(c->exempt_tty.n, 0);
        assert_string_equal(c->alert_rules,
                            "new-country,impossible-travel,failure-burst,success-after-lockout,backup-code-used");
        assert_int_equal(c->max_travel_kmh, 1000);
        assert_int_equal(c->burst_failures, 5);
        assert_int_equal(c->burst_window, 300);
        assert_int_equal(c->lockout_alert_window, 3600);
        assert_true(conf_alert_rule_on(c, "new-country"));
        assert_true(conf_alert_rule_on(c, "backup-code-used"));
        assert_int_equal(c->backup_codes_low, 3);
}

struct tmp {
        char dir[64];
        char path[128];
};

static int tmp_setup(void **state)
{
        struct tmp *t = calloc(1, sizeof(*t));

        if (!t)
                return -1;
        strcpy(t->dir, "/tmp/test_conf.XXXXXX");
        if (!mkdtemp(t->dir)) {
                free(t);
                return -1;
        }
        (void)snprintf(t->path, sizeof(t->path), "%s/mlsec.conf", t->dir);
        *state = t;
        return 0;
}

static int tmp_teardown(void **state)
{
        struct tmp *t = *state;
        char p[160];

        (void)unlink(t->path);
        (void)snprintf(p, sizeof(p), "%s/link.conf", t->dir);
        (void)unlink(p);
        (void)snprintf(p, sizeof(p), "%s/sub", t->dir);
        (void)rmdir(p);
        (void)rmdir(t->dir);
        free(t);
        return 0;
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
        int fd;

        (void)unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

/* ---- conf_parse ---- */

static void test_defaults(void **state)
{
        struct mlsec_conf c;

        conf_defaults(&c);
        assert_defaults(&c);
        assert_string_equal(conf_unenrolled_to_string(CONF_UNENROLLED_ALLOW), "allow");
        assert_string_equal(conf_unenrolled_to_string(CONF_UNENROLLED_DENY), "deny");
}

static void test_empty_text_gives_defaults(void **state)
{
        struct mlsec_conf c;

        memset(&c, 0x5a, sizeof(c));
        expect_ok("", &c);
        assert_defaults(&c);
        memset(&c, 0x5a, sizeof(c));
        assert_int_equal(conf_parse("t.conf", NULL, 0, &c, NULL, 0), 0);
        assert_defaults(&c);
}

static void test_every_key(void **state)
{
        struct mlsec_conf c;

        expect_ok("state_dir = /srv/mlsec\n"
                  "key_file = /srv/mlsec/key\n"
                  "socket = /tmp/m.sock\n"
                  "spool_dir = /srv/mlsec/spool\n"
                  "window = 0\n"
                  "max_failures = 1000\n"
                  "failure_window = 604800\n"
                  "lockout_seconds = 1\n"
                  "max_user_failures = 100000\n"
                  "unenrolled = deny\n"
                  "admin_group = wheel\n"
                  "history_days = 30\n"
                  "geoip_db = /usr/share/GeoIP/GeoLite2-City.mmdb\n",
                  &c);
        assert_string_equal(c.geoip_db, "/usr/share/GeoIP/GeoLite2-City.mmdb");
        assert_string_equal(c.state_dir, "/srv/mlsec");
        assert_string_equal(c.key_file, "/srv/mlsec/key");
        assert_string_equal(c.socket, "/tmp/m.sock");
        assert_string_equal(c.spool_dir, "/srv/mlsec/spool");
        assert_int_equal(c.window, 0);
        assert_int_equal(c.max_failures, 1000);
        assert_int_equal(c.failure_window, 604800);
        assert_int_equal(c.lockout_seconds, 1);
        assert_int_equal(c.max_user_failures, 100000);
        assert_int_equal(c.unenrolled, CONF_UNENROLLED_DENY);
        assert_string_equal(c.admin_group, "wheel");
        assert_int_equal(c.history_days, 30);

        expect_ok("window = 10\nmax_failures = 1\nfailure_window = 1\nlockout_seconds = 604800\n"
                  "max_user_failures = 1\nunenrolled = allow\nadmin_group = mlsec$\n",
                  &c);
        assert_int_equal(c.window, 10);
        assert_int_equal(c.max_failures, 1);
        assert_int_equal(c.failure_window, 1);
        assert_int_equal(c.lockout_seconds, 604800);
        assert_int_equal(c.max_user_failures, 1);
        assert_int_equal(c.unenrolled, CONF_UNENROLLED_ALLOW);
        assert_string_equal(c.admin_group, "mlsec$");
        /* Keys not set keep their defaults. */
        assert_string_equal(c.state_dir, "/var/lib/mlsec");
}

/* trusted_networks: networks in CIDR, several per line and on several lines, each kept
 * canonical; no host bits, no /0, nothing that is not an address. */
static void test_trusted_networks(void **state)
{
        struct mlsec_conf c;

        expect_ok("window = 1\n", &c);
        assert_int_equal(c.trusted_networks.n, 0);
        expect_ok("trusted_networks = 192.0.2.0/24 10.1.0.0/16, 2001:DB8::/32\n"
                  "trusted_networks = 198.51.100.7\n"
                  "trusted_networks = 2001:db8:0:0:0:0:0:1/128  # one host\n",
                  &c);
        assert_int_equal(c.trusted_networks.n, 5);
        assert_string_equal(c.trusted_networks.item[0], "192.0.2.0/24");
        assert_string_equal(c.trusted_networks.item[1], "10.1.0.0/16");
        assert_string_equal(c.trusted_networks.item[2], "2001:db8::/32");
        assert_string_equal(c.trusted_networks.item[3], "198.51.100.7/32");
        assert_string_equal(c.trusted_networks.item[4], "2001:db8::1/128");
        expect_error("trusted_networks = 192.0.2.1/24\n",
                     "t.conf:1: trusted_networks: \"192.0.2.1/24\" has bits set after the prefix; did you mean "
                     "192.0.2.0/24?");
        expect_error("trusted_networks = 0.0.0.0/0\n",
                     "t.conf:1: trusted_networks: \"0.0.0.0/0\" is every address: it would skip the code for the "
                     "whole network");
        expect_error("trusted_networks = ::/0\n",
                     "t.conf:1: trusted_networks: \"::/0\" is every address: it would skip the code for the whole "
                     "network");
        expect_error("trusted_networks = example.com\n",
                     "t.conf:1: trusted_networks: \"example.com\" is not a network (an IPv4 or IPv6 address with an "
                     "optional /prefix, e.g. 192.0.2.0/24 or 2001:db8::/32)");
        expect_error("trusted_networks = 192.0.2.0/33\n",
                     "t.conf:1: trusted_networks: \"192.0.2.0/33\" is not a network (an IPv4 or IPv6 address with an "
                     "optional /prefix, e.g. 192.0.2.0/24 or 2001:db8::/32)");
        expect_error("trusted_networks = 192.0.2.0/024\n",
                     "t.conf:1: trusted_networks: \"192.0.2.0/024\" is not a network (an IPv4 or IPv6 address with an "
                     "optional /prefix, e.g. 192.0.2.0/24 or 2001:db8::/32)");
        expect_error("trusted_networks = 192.0.2.0/24 192.0.2.0/24\n",
                     "t.conf:1: trusted_networks \"192.0.2.0/24\" is given twice");
        expect_error("trusted_networks = ,\n", "t.conf:1: trusted_networks needs at least one network");
}

/* require_mfa_group and exempt_tty may repeat: every line adds one value, in file order,
 * up to CONF_LIST_MAX; more, a value given twice or an invalid one is an error. */
static void test_repeatable_keys(void **state)
{
        struct mlsec_conf c;
        char text[2048], want[CONF_ERR_MAX];
        size_t len = 0;

        expect_ok("require_mfa_group = wheel\n"
                  "window = 2\n"
                  "require_mfa_group = ssh-users  # a comment\n"
                  "enroll_grace_days = 14\n"
                  "exempt_tty = tty1\n"
                  "exempt_tty = /dev/tty2\n"
                  "exempt_tty = :0\n",
                  &c);
        assert_int_equal(c.require_mfa_group.n, 2);
        assert_string_equal(c.require_mfa_group.item[0], "wheel");
        assert_string_equal(c.require_mfa_group.item[1], "ssh-users");
        assert_true(conf_list_has(&c.require_mfa_group, "ssh-users"));
        assert_false(conf_list_has(&c.require_mfa_group, "ssh"));
        assert_int_equal(c.enroll_grace_days, 14);
        assert_int_equal(c.exempt_tty.n, 3);
        assert_string_equal(c.exempt_tty.item[0], "tty1");
        assert_string_equal(c.exempt_tty.item[1], "/dev/tty2");
        assert_string_equal(c.exempt_tty.item[2], ":0");
        assert_int_equal(c.window, 2);

        /* 16 lines are accepted, the 17th names the bound */
        for (int i = 0; i < CONF_LIST_MAX; i++)
                len += (size_t)snprintf(text + len, sizeof(text) - len, "require_mfa_group = g%d\n", i);
        expect_ok(text, &c);
        assert_int_equal(c.require_mfa_group.n, CONF_LIST_MAX);
        assert_string_equal(c.require_mfa_group.item[15], "g15");
        (void)snprintf(text + len, sizeof(text) - len, "require_mfa_group = g16\n");
        (void)snprintf(want, sizeof(want), "t.conf:17: require_mfa_group may be given at most %d times", CONF_LIST_MAX);
        expect_error(text, want);
        len = 0;
        for (int i = 0; i <= CONF_LIST_MAX; i++)
                len += (size_t)snprintf(text + len, sizeof(text) - len, "exempt_tty = tty%d\n", i);
        (void)snprintf(want, sizeof(want), "t.conf:17: exempt_tty may be given at most %d times", CONF_LIST_MAX);
        expect_error(text, want);

        expect_error("require_mfa_group = wheel\nrequire_mfa_group = wheel\n",
                     "t.conf:2: require_mfa_group \"wheel\" is given twice");
        expect_error("require_mfa_group = -wheel\n", "t.conf:1: require_mfa_group is not a valid group name: \"-wheel\"");
        expect_error("require_mfa_group = wheel admins\n",
                     "t.conf:1: require_mfa_group is not a valid group name: \"wheel admins\"");
        expect_error("require_mfa_group =\n", "t.conf:1: missing value for require_mfa_group");
        expect_error("exempt_tty = tty 1\n", "t.conf:1: exempt_tty is not a valid terminal name: \"tty 1\"");
        expect_error("exempt_tty = tty\x1b[2J\n", "t.conf:1: exempt_tty is not a valid terminal name: \"tty\\x1b[2J\"");
        expect_error("exempt_tty = 0123456789012345678901234567890123456789012345678901234567890123\n",
                     "t.conf:1: exempt_tty is not a valid terminal name: "
                     "\"0123456789012345678901234567890123456789012345678901234567890123\"");
        expect_error("enroll_grace_days = 3651\n", "t.conf:1: enroll_grace_days must be between 0 and 3650, got \"3651\"");
        /* the grace period is an ordinary key: once only */
        expect_error("enroll_grace_days = 1\nenroll_grace_days = 2\n",
                     "t.conf:2: duplicate key \"enroll_grace_days\" (first set on line 1)");
        expect_ok("enroll_grace_days = 3650\n", &c);
        assert_int_equal(c.enroll_grace_days, 3650);
}

static void test_comments_values(void **state)
{
        struct mlsec_conf c;

        expect_ok("# mlsec.conf\n"
                  "\n"
                  "   \t\n"
                  "   # indented comment = not a key\n"
                  "window=3\n"
                  "\t max_failures \t=\t 7 \t\r\n"
                  "state_dir = /srv/ml#sec   # a '#' inside a path stays\n"
                  "unenrolled = deny # trailing comment\n"
                  "lockout_seconds = 60\t# tab before comment\n"
                  "spool_dir = /srv/spool dir\n"
                  "key_file = /k",
                  &c);
        assert_int_equal(c.window, 3);
        assert_int_equal(c.max_failures, 7);
        assert_string_equal(c.state_dir, "/srv/ml#sec");
        assert_int_equal(c.unenrolled, CONF_UNENROLLED_DENY);
        assert_int_equal(c.lockout_seconds, 60);
        assert_string_equal(c.spool_dir, "/srv/spool dir");
        assert_string_equal(c.key_file, "/k"); /* last line without a newline */
}

static void test_len_bounds_text(void **state)
{
        struct mlsec_conf c;
        char err[CONF_ERR_MAX];
        static const char text[] = "window = 3XYZ";

        /* Only LEN bytes are read: the text need not be NUL-terminated. */
        assert_int_equal(conf_parse("t.conf", text, 10, &c, err, sizeof(err)), 0);
        assert_int_equal(c.window, 3);
        assert_int_equal(conf_parse("t.conf", text, sizeof(text) - 1, &c, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "t.conf:1: window must be a number, got \"3XYZ\"");
}

static void test_unknown_key(void **state)
{
        expect_error("# c\n\nwindow = 2\nwindw = 3\n", "t.conf:4: unknown key \"windw\"");
        expect_error("Window = 3\n", "t.conf:1: unknown key \"Window\"");
        expect_error("geoip_database = /x\n", "t.conf:1: unknown key \"geoip_database\"");
        /* Untrusted key text is escaped in the message. */
        expect_error("wi\"n\x1b[2Jdow\\ = 1\n", "t.conf:1: unknown key \"wi\\x22n\\x1b[2Jdow\\x5c\"");
        expect_error("\xc3\xa9 = 1\n", "t.conf:1: unknown key \"\\xc3\\xa9\"");
}

static void test_bad_lines(void **state)
{
        expect_error("window 3\n", "t.conf:1: expected \"key = value\", got \"window 3\"");
        expect_error("\n\n[section]\n", "t.conf:3: expected \"key = value\", got \"[section]\"");
        expect_error(" = 3\n", "t.conf:1: missing key before \"=\"");
        expect_error("window =\n", "t.conf:1: missing value for window");
        expect_error("window = # no value\n", "t.conf:1: missing value for window");
        expect_error("window = \t \n", "t.conf:1: missing value for window");
}

static void test_duplicate_key(void **state)
{
        expect_error("window = 1\nmax_failures = 3\n# again\nwindow = 1\n",
                     "t.conf:4: duplicate key \"window\" (first set on line 1)");
        expect_error("unenrolled = deny\nunenrolled=deny\n",
                     "t.conf:2: duplicate key \"unenrolled\" (first set on line 1)");
}

static void test_numbers(void **state)
{
        expect_error("window = 11\n", "t.conf:1: window must be between 0 and 10, got \"11\"");
        expect_error("max_failures = 0\n", "t.conf:1: max_failures must be between 1 and 1000, got \"0\"");
        expect_error("max_failures = 1001\n", "t.conf:1: max_failures must be between 1 and 1000, got \"1001\"");
        expect_error("failure_window = 0\n", "t.conf:1: failure_window must be between 1 and 604800, got \"0\"");
        expect_error("failure_window = 604801\n",
                     "t.conf:1: failure_window must be between 1 and 604800, got \"604801\"");
        expect_error("lockout_seconds = 0\n", "t.conf:1: lockout_seconds must be between 1 and 604800, got \"0\"");
        expect_error("lockout_seconds = 604801\n",
                     "t.conf:1: lockout_seconds must be between 1 and 604800, got \"604801\"");
        expect_error("max_user_failures = 100001\n",
                     "t.conf:1: max_user_failures must be between 1 and 100000, got \"100001\"");
        /* Would wrap a 32- or 64-bit integer: still a range error, not a small number. */
        expect_error("window = 18446744073709551617\n",
                     "t.conf:1: window must be between 0 and 10, got \"18446744073709551617\"");
        expect_error("window = 4294967297\n", "t.conf:1: window must be between 0 and 10, got \"4294967297\"");

        expect_error("window = -1\n", "t.conf:1: window must be a number, got \"-1\"");
        expect_error("window = +1\n", "t.conf:1: window must be a number, got \"+1\"");
        expect_error("window = 1x\n", "t.conf:1: window must be a number, got \"1x\"");
        expect_error("window = 0x1\n", "t.conf:1: window must be a number, got \"0x1\"");
        expect_error("window = 1 2\n", "t.conf:1: window must be a number, got \"1 2\"");
        expect_error("window = 1.5\n", "t.conf:1: window must be a number, got \"1.5\"");
        expect_error("max_failures = five\n", "t.conf:1: max_failures must be a number, got \"five\"");
}

/* The login notice's keys: their ranges, ends included. */
static void test_notice_keys(void **state)
{
        struct mlsec_conf c;

        expect_ok("backup_codes_low = 0\n", &c);
        assert_int_equal(c.backup_codes_low, 0);
        expect_ok("backup_codes_low = 9\n", &c);
        assert_int_equal(c.backup_codes_low, 9);
        expect_error("backup_codes_low = 10\n", "t.conf:1: backup_codes_low must be between 0 and 9, got \"10\"");
        expect_error("backup_codes_low = -1\n", "t.conf:1: backup_codes_low must be a number, got \"-1\"");
}

static void test_paths(void **state)
{
        struct mlsec_conf c;
        char text[300];

        expect_error("state_dir = var/lib/mlsec\n",
                     "t.conf:1: state_dir must be an absolute path, got \"var/lib/mlsec\"");
        expect_error("key_file = ~/key\n", "t.conf:1: key_file must be an absolute path, got \"~/key\"");
        expect_error("geoip_db = GeoLite2-City.mmdb\n",
                     "t.conf:1: geoip_db must be an absolute path, got \"GeoLite2-City.mmdb\"");
        expect_error("spool_dir = ./spool\n", "t.conf:1: spool_dir must be an absolute path, got \"./spool\"");
        expect_error("socket = /run/a\x01"
                     "b\n",
                     "t.conf:1: socket must be an absolute path, got \"/run/a\\x01b\"");

        /* socket[108]: 107 bytes fit, 108 do not. */
        (void)snprintf(text, sizeof(text), "socket = /%0106d\n", 0);
        expect_ok(text, &c);
        assert_int_equal(strlen(c.socket), 107);
        (void)snprintf(text, sizeof(text), "socket = /%0107d\n", 0);
        expect_error(text, "t.conf:1: socket is too long (at most 107 bytes)");

        /* The longest line (4096 bytes) holds a 4084-byte path: accepted whole. */
        {
                char *big = malloc(4200);

                assert_non_null(big);
                strcpy(big, "state_dir = /");
                memset(big + 13, 'a', 4083);
                big[4096] = '\0';
                expect_ok(big, &c);
                assert_int_equal(strlen(c.state_dir), 4084);
                assert_int_equal(c.state_dir[4083], 'a');
                free(big);
        }
}

static void test_unenrolled_and_group(void **state)
{
        expect_error("unenrolled = Deny\n", "t.conf:1: unenrolled must be allow or deny, got \"Deny\"");
        expect_error("unenrolled = yes\n", "t.conf:1: unenrolled must be allow or deny, got \"yes\"");
        expect_error("admin_group = -wheel\n", "t.conf:1: admin_group is not a valid group name: \"-wheel\"");
        expect_error("admin_group = wh eel\n", "t.conf:1: admin_group is not a valid group name: \"wh eel\"");
        expect_error("admin_group = a:b\n", "t.conf:1: admin_group is not a valid group name: \"a:b\"");
        expect_error("admin_group = 0123456789012345678901234567890123456789012345678901234567890123\n",
                     "t.conf:1: admin_group is not a valid group name: "
                     "\"0123456789012345678901234567890123456789012345678901234567890123\"");
}

static void test_fleet_keys(void **state)
{
        struct mlsec_conf c;
        char host[CONF_HOST_NAME_MAX];

        expect_ok("", &c);
        assert_string_equal(c.fleet_db, "");
        assert_false(c.fleet_db[0]);
        assert_string_equal(c.host_name, "");
        assert_int_equal(c.fleet_timeout, 2);
        assert_int_equal(c.fleet_offline, CONF_FLEET_OFFLINE_DENY);
        /* a connection string is the rest of the line, '=' and blanks inside */
        expect_ok("fleet_db = host=db1,db2 dbname=mlsec target_session_attrs=read-write sslmode=verify-full\n"
                  "host_name = web-1_a\nfleet_timeout = 60\nfleet_offline = deny\n",
                  &c);
        assert_string_equal(c.fleet_db, "host=db1,db2 dbname=mlsec target_session_attrs=read-write sslmode=verify-full");
        assert_string_equal(conf_host_name(&c, host, sizeof(host)), "web-1_a");
        assert_int_equal(c.fleet_timeout, 60);
        expect_error("host_name =\n", "t.conf:1: missing value for host_name");
        expect_error("host_name = Web1\n",
                     "t.conf:1: host_name must be 1 to 63 of a-z, 0-9, '_' and '-' (a fleet role), got \"Web1\"");
        expect_error("host_name = -web\n",
                     "t.conf:1: host_name must be 1 to 63 of a-z, 0-9, '_' and '-' (a fleet role), got \"-web\"");
        expect_error("host_name = web.example\n", "t.conf:1: host_name must be 1 to 63 of a-z, 0-9, '_' and '-' "
                                                  "(a fleet role), got \"web.example\"");
        expect_error("fleet_timeout = 0\n", "t.conf:1: fleet_timeout must be between 1 and 60, got \"0\"");
        expect_error("fleet_timeout = 61\n", "t.conf:1: fleet_timeout must be between 1 and 60, got \"61\"");
        expect_error("fleet_offline = allow\n", "t.conf:1: fleet_offline must be deny or host-codes, got \"allow\"");
        expect_error("fleet_offline = host-codes\n",
                     "t.conf:1: fleet_offline = host-codes is not available yet (offline codes are not built): use deny");
        expect_error("fleet_db = host=db\x01\n", "t.conf:1: fleet_db has a control character");
        assert_true(conf_host_name_valid("a"));
        assert_true(conf_host_name_valid("0123456789012345678901234567890123456789012345678901234567890ab"));
        assert_false(conf_host_name_valid("0123456789012345678901234567890123456789012345678901234567890abc"));
        assert_false(conf_host_name_valid(""));
        assert_false(conf_host_name_valid("a b"));
}

static void test_alert_rules(void **state)
{
        struct mlsec_conf c;

        expect_ok("alert_rules = none\nmax_travel_kmh = 1000000000\nburst_failures = 2\nburst_window = 86400\n"
                  "lockout_alert_window = 1\n",
                  &c);
        assert_string_equal(c.alert_rules, "");
        assert_false(conf_alert_rule_on(&c, "new-country"));
        assert_int_equal(c.max_travel_kmh, 1000000000);
        assert_int_equal(c.burst_failures, 2);
        assert_int_equal(c.burst_window, 86400);
        assert_int_equal(c.lockout_alert_window, 1);
        expect_ok("alert_rules =  failure-burst ,backup-code-used\n", &c);
        assert_string_equal(c.alert_rules, "failure-burst,backup-code-used");
        assert_true(conf_alert_rule_on(&c, "failure-burst"));
        assert_true(conf_alert_rule_on(&c, "backup-code-used"));
        assert_false(conf_alert_rule_on(&c, "new-country"));
        assert_false(conf_alert_rule_on(&c, "failure"));   /* a prefix is not a name */
        assert_false(conf_alert_rule_on(&c, "burst"));     /* nor a suffix */
        assert_false(conf_alert_rule_on(&c, ""));
        expect_error("alert_rules = new-country,bogus\n",
                     "t.conf:1: alert_rules: unknown rule \"bogus\" (known: new-country,impossible-travel,"
                     "failure-burst,success-after-lockout,backup-code-used, or none)");
        expect_error("alert_rules = new-country,new-country\n",
                     "t.conf:1: alert_rules must be none or rule names separated by commas, each once, got "
                     "\"new-country,new-country\"");
        expect_error("alert_rules = new-country,,failure-burst\n",
                     "t.conf:1: alert_rules must be none or rule names separated by commas, each once, got "
                     "\"new-country,,failure-burst\"");
        expect_error("alert_rules = ,new-country\n",
                     "t.conf:1: alert_rules must be none or rule names separated by commas, each once, got "
                     "\",new-country\"");
        expect_error("alert_rules = none,new-country\n",
                     "t.conf:1: alert_rules: unknown rule \"none\" (known: new-country,impossible-travel,"
                     "failure-burst,success-after-lockout,backup-code-used, or none)");
        expect_error("max_travel_kmh = 0\n", "t.conf:1: max_travel_kmh must be between 1 and 1000000000, got \"0\"");
        expect_error("burst_failures = 1\n", "t.conf:1: burst_failures must be between 2 and 10000, got \"1\"");
        expect_error("burst_window = 86401\n", "t.conf:1: burst_window must be between 1 and 86400, got \"86401\"");
        expect_error("lockout_alert_window = 0\n",
                     "t.conf:1: lockout_alert_window must be between 1 and 604800, got \"0\"");
}

static void test_long_line_and_nul(void **state)
{
        char *text = malloc(5000);
        struct mlsec_conf c;
        char err[CONF_ERR_MAX];

        assert_non_null(text);
        /* A 4096-byte comment line is accepted, 4097 bytes is not. */
        text[0] = '#';
        memset(text + 1, 'x', 4095);
        memcpy(text + 4096, "\nwindow = 4\n", 12);
        assert_int_equal(conf_parse("t.conf", text, 4096 + 12, &c, err, sizeof(err)), 0);
        assert_int_equal(c.window, 4);

        memcpy(text, "window = 2\n", 11);
        text[11] = '#';
        memset(text + 12, 'x', 4096);
        text[11 + 4097] = '\n';
        memset(&c, 0x5a, sizeof(c));
        assert_int_equal(conf_parse("t.conf", text, 11 + 4098, &c, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "t.conf:2: line longer than 4096 bytes");
        assert_int_equal(c.window, 0x5a5a5a5a);
        free(text);

        assert_int_equal(conf_parse("t.conf", "window = 2\nwin\0dow = 3\n", 23, &c, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "t.conf:2: NUL byte in line");
        assert_int_equal(conf_parse("t.conf", "# x\0", 4, &c, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "t.conf:1: NUL byte in line");
}

static void test_err_buffer(void **state)
{
        struct mlsec_conf c;
        char small[12];

        /* err may be NULL; a short err is truncated, not overflowed. */
        assert_int_equal(conf_parse("t.conf", "bogus = 1\n", 10, &c, NULL, 0), -EINVAL);
        memset(small, 'Z', sizeof(small));
        assert_int_equal(conf_parse("t.conf", "bogus = 1\n", 10, &c, small, 8), -EINVAL);
        assert_string_equal(small, "t.conf:");
        assert_int_equal(small[8], 'Z');
        /* The file name is escaped too. */
        {
                char err[CONF_ERR_MAX];

                assert_int_equal(conf_parse("/a\nb.conf", "x\n", 2, &c, err, sizeof(err)), -EINVAL);
                assert_string_equal(err, "/a\\x0ab.conf:1: expected \"key = value\", got \"x\"");
        }
}

/* ---- conf_load ---- */

static void test_load_file(void **state)
{
        struct tmp *t = *state;
        static const char text[] = "# test\nwindow = 2\nunenrolled = deny\n";
        struct mlsec_conf c;
        char err[CONF_ERR_MAX];

        write_file(t->path, text, strlen(text), 0644);
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), 0);
        assert_int_equal(c.window, 2);
        assert_int_equal(c.unenrolled, CONF_UNENROLLED_DENY);
        assert_string_equal(c.state_dir, "/var/lib/mlsec");

        write_file(t->path, text, strlen(text), 0400);
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), 0);
}

static void test_load_bad_line_names_file(void **state)
{
        struct tmp *t = *state;
        static const char text[] = "window = 2\n\nwindw = 3\n";
        struct mlsec_conf c, before;
        char err[CONF_ERR_MAX], want[CONF_ERR_MAX];

        write_file(t->path, text, strlen(text), 0644);
        memset(&c, 0x5a, sizeof(c));
        memcpy(&before, &c, sizeof(c));
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), -EINVAL);
        (void)snprintf(want, sizeof(want), "%s:3: unknown key \"windw\"", t->path);
        assert_string_equal(err, want);
        assert_memory_equal(&c, &before, sizeof(c));
}

static void test_load_missing_explicit(void **state)
{
        struct tmp *t = *state;
        struct mlsec_conf c, before;
        char err[CONF_ERR_MAX], want[CONF_ERR_MAX];

        memset(&c, 0x5a, sizeof(c));
        memcpy(&before, &c, sizeof(c));
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), -ENOENT);
        (void)snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", t->path);
        assert_string_equal(err, want);
        assert_memory_equal(&c, &before, sizeof(c));
}

static void test_load_writable_refused(void **state)
{
        struct tmp *t = *state;
        static const char text[] = "window = 2\n";
        struct mlsec_conf c;
        char err[CONF_ERR_MAX], want[CONF_ERR_MAX];

        write_file(t->path, text, strlen(text), 0666);
        c.window = 77;
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), -EPERM);
        (void)snprintf(want, sizeof(want), "%s: mode 0666 is writable by group or others", t->path);
        assert_string_equal(err, want);
        assert_int_equal(c.window, 77);

        write_file(t->path, text, strlen(text), 0664);
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), -EPERM);
        (void)snprintf(want, sizeof(want), "%s: mode 0664 is writable by group or others", t->path);
        assert_string_equal(err, want);

        write_file(t->path, text, strlen(text), 0602);
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), -EPERM);
}

static void test_load_foreign_owner_refused(void **state)
{
        struct tmp *t = *state;
        static const char text[] = "window = 2\n";
        struct mlsec_conf c;
        char err[CONF_ERR_MAX], want[CONF_ERR_MAX];

        if (geteuid() != 0)
                skip(); /* only root can give a file away */
        write_file(t->path, text, strlen(text), 0644);
        assert_int_equal(chown(t->path, 4242, 4242), 0);
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), -EPERM);
        (void)snprintf(want, sizeof(want), "%s: owned by uid 4242, must be owned by root", t->path);
        assert_string_equal(err, want);
}

static void test_load_symlink_dir_size(void **state)
{
        struct tmp *t = *state;
        struct mlsec_conf c;
        char err[CONF_ERR_MAX], want[CONF_ERR_MAX], link[160], sub[160];
        char *big;

        write_file(t->path, "window = 2\n", 11, 0644);
        (void)snprintf(link, sizeof(link), "%s/link.conf", t->dir);
        assert_int_equal(symlink(t->path, link), 0);
        assert_int_equal(conf_load(link, &c, err, sizeof(err)), -ELOOP);
        (void)snprintf(want, sizeof(want), "%s: refusing to follow a symbolic link", link);
        assert_string_equal(err, want);

        (void)snprintf(sub, sizeof(sub), "%s/sub", t->dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(conf_load(sub, &c, err, sizeof(err)), -EINVAL);
        (void)snprintf(want, sizeof(want), "%s: not a regular file", sub);
        assert_string_equal(err, want);

        /* 64 KiB of comments load; one byte more is refused. */
        big = malloc(64 * 1024 + 1);
        assert_non_null(big);
        memset(big, '\n', 64 * 1024 + 1);
        for (size_t i = 0; i < 64 * 1024; i += 64)
                big[i] = '#';
        write_file(t->path, big, 64 * 1024, 0644);
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), 0);
        write_file(t->path, big, 64 * 1024 + 1, 0644);
        assert_int_equal(conf_load(t->path, &c, err, sizeof(err)), -EFBIG);
        (void)snprintf(want, sizeof(want), "%s: larger than 65536 bytes", t->path);
        assert_string_equal(err, want);
        free(big);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_empty_text_gives_defaults),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_repeatable_keys),
                cmocka_unit_test(test_comments_values),
                cmocka_unit_test(test_len_bounds_text),
                cmocka_unit_test(test_unknown_key),
                cmocka_unit_test(test_bad_lines),
                cmocka_unit_test(test_duplicate_key),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_notice_keys),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_unenrolled_and_group),
                cmocka_unit_test(test_alert_rules),
                cmocka_unit_test(test_fleet_keys),
                cmocka_unit_test(test_long_line_and_nul),
                cmocka_unit_test(test_err_buffer),
                cmocka_unit_test_setup_teardown(test_load_file, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_load_bad_line_names_file, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_load_missing_explicit, tmp_setup, tmp_teardown),
                cmocka_unit_test(test_trusted_networks),
                cmocka_unit_test_setup_teardown(test_load_writable_refused, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_load_foreign_owner_refused, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_load_symlink_dir_size, tmp_setup, tmp_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
