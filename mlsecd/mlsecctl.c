/* SPDX-License-Identifier: MIT */
/* mlsecctl: the command line of mlsec, the user's and the administrator's settings page.
 * This file parses arguments, calls common/ and turns results into text, JSON and exit
 * codes (0 ok, 1 failure, 2 usage). Most `admin` commands go through mlsecd (ctl_admin.c);
 * enroll, backup-codes, status, disable (and unlock when mlsecd is down) act on the
 * credential store directly and are for root only: the recovery path. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "enroll.h"
#include "event.h"
#include "proto.h"
#include "qr.h"
#include "seal.h"
#include "store.h"
#include "totp.h"
#include "util.h"

static const char usage_text[] =
        "Usage: mlsecctl [--conf PATH] COMMAND ...\n"
        "\n"
        "Administration through mlsecd (root and members of admin_group):\n"
        "  admin users                                 every user: MFA, devices, backup codes, lockouts, last login\n"
        "  admin users --unknown [--limit N]           the names tried that are no account, most attempts first\n"
        "  admin reset-mfa USER --reason TEXT          remove USER's devices and backup codes; USER is told\n"
        "  admin forget USER                           end USER's remembered sources\n"
        "  admin unlock USER [--source SOURCE]         lift lockouts and forget failures (root: directly\n"
        "                                              on the store when mlsecd is down)\n"
        "  admin history [--failed] [--limit N] [--user NAME]   every user's login attempts\n"
        "  admin sessions [--closed] [--limit N] [--user NAME]  every user's sessions\n"
        "  admin audit [--verify] [--limit N] [--user NAME]     the audit log; --verify checks its hash chain\n"
        "  admin logout SESSION_ID                     end any user's session\n"
        "  admin import-google-authenticator USER [--file PATH] [--device NAME] [--replace] [--remove-file]\n"
        "                                              move USER's google-authenticator secret and scratch codes\n"
        "  admin alerts [--user NAME] [--open] [--limit N]   suspicious-activity alerts and users' reports\n"
        "  admin alerts --ack ALERT_ID                 acknowledge (close) one\n"
        "  admin fleet init|add-host|status|import     fleet mode: the PostgreSQL schema, host roles, this host\n"
        "  admin COMMAND --help                        one admin command in detail\n"
        "\n"
        "Administration on the credential store (root only; the recovery path when mlsecd is down):\n"
        "  admin enroll USER [--device NAME] [--secret-file PATH|-] [--algorithm sha1|sha256|sha512]\n"
        "                    [--digits 6|8] [--no-qr]   add an authenticator device\n"
        "  admin backup-codes USER                     replace the backup codes, print them once\n"
        "  admin status USER                           devices, backup codes left, lockouts\n"
        "  admin status                                mlsecd's spool: audit reserve, events lost\n"
        "  admin disable USER                          remove every device and backup code\n"
        "\n"
        "Checking the setup (root only):\n"
        "  check-config [--pamdir DIR] [--sshd PATH] [--sshd-config FILE]\n"
        "                    configuration, key file, store, PAM services, sshd: what would refuse a login\n"
        "\n"
        "Your own settings (through mlsecd; --user NAME: another user's, for administrators):\n"
        "  status [--user NAME]                        the overview and the next step; also: no command\n"
        "  mfa enable [--device NAME] [--no-qr]        turn MFA on: QR code and key, then a code from the app\n"
        "  mfa add-device NAME [--no-qr]               add an authenticator (needs a current code)\n"
        "  mfa devices [--user NAME]                   your authenticators\n"
        "  mfa remove NAME                             remove one (needs a code); the last turns MFA off\n"
        "  mfa disable                                 remove every device and backup code (needs a code)\n"
        "  backup-codes [--user NAME]                  how many backup codes are left\n"
        "  backup-codes regenerate                     10 new backup codes, shown once (needs a code)\n"
        "  COMMAND --help                              the options of one of these\n"
        "\n"
        "Account activity (through mlsecd; your own, or anyone's for administrators):\n"
        "  history [--limit N] [--failed] [--user NAME | --all]   login attempts, newest first\n"
        "  sessions [--closed] [--limit N] [--user NAME | --all]  sessions, live ones from logind\n"
        "  logout SESSION_ID                                      end a session (logind)\n"
        "  logout --others                                        end all your sessions but this one\n"
        "  forget                                                 end your remembered sources (no code asked)\n"
        "  audit [--limit N] [--user NAME | --all]                security-relevant changes\n"
        "  report EVENT_ID [--note TEXT]                          flag one of your login events as suspicious\n"
        "\n"
        "  password [--user NAME]                                 change your password through PAM\n"
        "\n"
        "  help                                                   this text\n"
        "\n"
        "Options:\n"
        "  --conf PATH   configuration file (default " CONF_DEFAULT_PATH ")\n"
        "  --json        machine-readable output\n"
        "  -h, --help    this text\n";

int ctl_usage_error(const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "mlsecctl: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'mlsecctl --help'.\n");
        return EXIT_USAGE;
}

int ctl_fail(const char *what, int r)
{
        fprintf(stderr, "mlsecctl: %s: %s\n", what, strerror(r < 0 ? -r : r));
        return EXIT_FAILURE;
}

const char *ctl_fmt_time(int64_t t, char *buf, size_t len)
{
        struct tm tm;
        time_t tt = (time_t)t;

        if (t <= 0)
                return "never";
        if (!localtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                return "?";
        return buf;
}

const char *ctl_fmt_ago(int64_t t, int64_t now, char *buf, size_t len)
{
        static const struct {
                int64_t secs;
                const char *unit;
        } units[] = {{86400 * 365, "year"}, {86400 * 30, "month"}, {86400 * 7, "week"},
                     {86400, "day"},        {3600, "hour"},        {60, "minute"}};
        int64_t d = now - t;
        bool future = d < 0;

        if (future)
                d = -d;
        if (d < 60) {
                snprintf(buf, len, "%s", future ? "in a moment" : "just now");
                return buf;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (d >= units[i].secs) {
                        int64_t n = d / units[i].secs;
                        snprintf(buf, len, "%s%lld %s%s%s", future ? "in " : "", (long long)n, units[i].unit,
                                 n == 1 ? "" : "s", future ? "" : " ago");
                        break;
                }
        return buf;
}

const char *ctl_store_why(int r)
{
        return r == -ENOENT    ? "no credential store yet (nobody is enrolled)"
               : r == -EPERM   ? "unsafe owner or mode (must be owned by root, not writable by others)"
               : r == -EBADMSG ? "not a valid credential store, or written by a newer mlsec"
                               : strerror(-r);
}

const char *ctl_key_why(int r)
{
        return r == -EPERM    ? "unsafe owner or mode (must be root 0600)"
               : r == -EINVAL ? "wrong size (must be 32 bytes)"
                              : strerror(-r);
}

/* Open store and key as root. The key is created on first enrolment only. */
static int open_admin(struct ctl *c, bool create, struct store **ret_s, struct seal_key **ret_k)
{
        int r;

        if (seal_init() < 0 || totp_init() < 0) {
                fprintf(stderr, "mlsecctl: crypto libraries failed to initialise\n");
                return -EIO;
        }
        r = store_open(c->conf.state_dir, create, ret_s);
        if (r < 0) {
                fprintf(stderr, "mlsecctl: cannot open %s/%s: %s\n", c->conf.state_dir, STORE_DB_NAME,
                        ctl_store_why(r));
                return r;
        }
        if (!ret_k)
                return 0;
        r = seal_key_load(c->conf.key_file, create, ret_k);
        if (r < 0) {
                fprintf(stderr, "mlsecctl: cannot load key file %s: %s\n", c->conf.key_file, ctl_key_why(r));
                *ret_s = store_close(*ret_s);
                return r;
        }
        return 0;
}

static int need_user(const char *user)
{
        if (!util_user_valid(user)) {
                char esc[128];
                fprintf(stderr, "mlsecctl: invalid user name '%s'\n", util_escape(user, esc, sizeof(esc)));
                return -EINVAL;
        }
        if (!getpwnam(user)) {
                fprintf(stderr, "mlsecctl: no such user '%s'\n", user);
                return -ENOENT;
        }
        return 0;
}

static int print_json(struct proto_obj *o)
{
        int r = o ? proto_obj_print(stdout, o) : -ENOMEM;

        proto_obj_free(o);
        return r < 0 ? ctl_fail("writing JSON", r) : EXIT_SUCCESS;
}

/* A TOTP seed from PATH ("-": standard input), never from the command line, where every
 * local user could read it (/proc/PID/cmdline). Bounded: one line of base32 at most, white
 * space around it dropped; a symbolic link, a directory or a device is refused. */
static int read_secret_file(const char *path, char *out, size_t outlen)
{
        char buf[TOTP_BASE32_MAX + 64];
        size_t n = 0, b = 0, e;
        struct stat st;
        ssize_t got;
        int fd, r = 0;

        fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -ELOOP : -errno;
        if (fd != STDIN_FILENO && (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)))) {
                r = -EBADF;
                goto out;
        }
        while (n < sizeof(buf) && (got = read(fd, buf + n, sizeof(buf) - n)) != 0) {
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                n += (size_t)got;
        }
        if (n == sizeof(buf)) {
                r = -EFBIG;
                goto out;
        }
        while (b < n && strchr(" \t\r\n", buf[b]))
                b++;
        e = n;
        while (e > b && strchr(" \t\r\n", buf[e - 1]))
                e--;
        if (e == b || e - b >= outlen || memchr(buf + b, '\n', e - b) || memchr(buf + b, '\0', e - b)) {
                r = e == b ? -ENODATA : -EINVAL;
                goto out;
        }
        memcpy(out, buf + b, e - b);
        out[e - b] = '\0';
out:
        seal_wipe(buf, sizeof(buf));
        if (fd != STDIN_FILENO)
                (void)close(fd);
        return r;
}

static int cmd_enroll(struct ctl *c, const char *user, int argc, char **argv)
{
        static const struct option opts[] = {{"device", required_argument, NULL, 'd'},
                                             {"secret", required_argument, NULL, 's'},
                                             {"secret-file", required_argument, NULL, 'S'},
                                             {"algorithm", required_argument, NULL, 'a'},
                                             {"digits", required_argument, NULL, 'n'},
                                             {"no-qr", no_argument, NULL, 'Q'},
                                             {"json", no_argument, NULL, 'j'},
                                             {0}};
        struct enroll_device_req req = {.user = user, .alg = TOTP_SHA1, .digits = 6, .now = time(NULL)};
        struct enroll_device_result res = {0};
        struct store *s = NULL;
        struct seal_key *k = NULL;
        char host[256] = "mlsec", secret[TOTP_BASE32_MAX] = "";
        const char *secret_file = NULL;
        int o, r, ret = EXIT_FAILURE;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (o) {
                case 'd':
                        req.device = optarg;
                        break;
                case 's':
                        return ctl_usage_error("--secret is refused: a secret on the command line can be read by every "
                                               "local user (ps, /proc/PID/cmdline) while mlsecctl runs; give it with "
                                               "--secret-file PATH, or --secret-file - on standard input");
                case 'S':
                        secret_file = optarg;
                        break;
                case 'a':
                        if (totp_alg_from_string(optarg, &req.alg) < 0)
                                return ctl_usage_error("--algorithm must be sha1, sha256 or sha512, not '%s'", optarg);
                        break;
                case 'n':
                        if (strcmp(optarg, "6") && strcmp(optarg, "8"))
                                return ctl_usage_error("--digits must be 6 or 8, not '%s'", optarg);
                        req.digits = (unsigned)atoi(optarg);
                        break;
                case 'Q':
                        c->no_qr = true;
                        break;
                case 'j':
                        c->json = true;
                        break;
                default:
                        return ctl_usage_error("invalid option for 'admin enroll'");
                }
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (req.device && !enroll_device_name_valid(req.device))
                return ctl_usage_error("invalid device name '%s' (letters, digits, space . _ -; at most 63)",
                                       req.device);
        if (need_user(user) < 0)
                return EXIT_FAILURE;
        if (secret_file) {
                r = read_secret_file(secret_file, secret, sizeof(secret));
                if (r < 0) {
                        fprintf(stderr, "mlsecctl: cannot read the secret from %s: %s\n",
                                strcmp(secret_file, "-") == 0 ? "standard input" : secret_file,
                                r == -ELOOP     ? "a symbolic link is not followed"
                                : r == -EBADF   ? "not a regular file or a pipe"
                                : r == -EFBIG   ? "longer than any secret"
                                : r == -ENODATA ? "it is empty"
                                : r == -EINVAL  ? "not one line of base32"
                                                : strerror(-r));
                        seal_wipe(secret, sizeof(secret));
                        return EXIT_FAILURE;
                }
                req.secret_b32 = secret;
        }
        if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                snprintf(host, sizeof(host), "mlsec");
        req.issuer = host;
        if (open_admin(c, true, &s, &k) < 0)
                goto out;
        r = enroll_device(s, k, &req, &res);
        if (r == -EEXIST) {
                fprintf(stderr, "mlsecctl: %s already has a device called '%s'\n", user,
                        req.device ? req.device : ENROLL_DEVICE_DEFAULT);
                goto out;
        }
        if (r == -EINVAL) {
                fprintf(stderr, "mlsecctl: invalid secret (base32, 16 to 103 characters)\n");
                goto out;
        }
        if (r < 0) {
                ret = ctl_fail("enrolment failed", r);
                goto out;
        }
        {
                char detail[EVENT_DETAIL_MAX];
                snprintf(detail, sizeof(detail), "device '%s' (%s, %u digits) added by mlsecctl admin enroll",
                         req.device ? req.device : ENROLL_DEVICE_DEFAULT, totp_alg_to_string(req.alg), req.digits);
                ctl_audit_change(c, user, "device-added", detail);
        }
        if (c->json) {
                struct proto_obj *j = proto_obj_new();
                proto_obj_set_str(j, "user", user);
                proto_obj_set_str(j, "device", req.device ? req.device : ENROLL_DEVICE_DEFAULT);
                proto_obj_set_str(j, "algorithm", totp_alg_to_string(req.alg));
                proto_obj_set_int(j, "digits", req.digits);
                proto_obj_set_int(j, "period", TOTP_PERIOD);
                proto_obj_set_str(j, "secret", res.secret_b32);
                proto_obj_set_str(j, "uri", res.uri);
                ret = print_json(j);
                goto out;
        }
        printf("Device '%s' added for %s (%s, %u digits, %d s).\n\n", req.device ? req.device : ENROLL_DEVICE_DEFAULT,
               user, totp_alg_to_string(req.alg), req.digits, TOTP_PERIOD);
        if (!c->no_qr && isatty(STDOUT_FILENO)) {
                printf("Scan this QR code with the authenticator app:\n\n");
                if (qr_print(stdout, res.uri, !getenv("NO_COLOR")) < 0)
                        printf("(the QR code could not be drawn; use the key below)\n");
                printf("\n");
        }
        printf("Or enter this key by hand: %s\n", res.secret_b32);
        printf("URI: %s\n", res.uri);
        ret = EXIT_SUCCESS;
out:
        seal_wipe(&res, sizeof(res));
        seal_wipe(secret, sizeof(secret));
        store_close(s);
        seal_key_free(k);
        return ret;
}

static int cmd_backup_codes(struct ctl *c, const char *user)
{
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        struct store *s = NULL;
        struct seal_key *k = NULL;
        int r, ret = EXIT_FAILURE;

        if (need_user(user) < 0 || open_admin(c, false, &s, &k) < 0)
                return EXIT_FAILURE;
        r = enroll_backup_codes(s, k, user, time(NULL), codes);
        if (r == -ENOENT) {
                fprintf(stderr, "mlsecctl: %s has no MFA device; enrol one first: mlsecctl admin enroll %s\n", user,
                        user);
                goto out;
        }
        if (r < 0) {
                ret = ctl_fail("generating backup codes", r);
                goto out;
        }
        ctl_audit_change(c, user, "backup-codes-regenerated",
                         "10 new backup codes by mlsecctl admin backup-codes; the old ones no longer work");
        if (c->json) {
                struct proto_obj *j = proto_obj_new(), *a = proto_array_new();
                for (size_t i = 0; i < BACKUP_CODE_COUNT; i++)
                        proto_array_add_str(a, codes[i]);
                proto_obj_set_str(j, "user", user);
                proto_obj_set_obj(j, "backup_codes", a);
                ret = print_json(j);
                goto out;
        }
        printf("New backup codes for %s. Each works once; the old ones no longer work.\n"
               "They are shown only now: store them somewhere safe, away from the authenticator.\n\n",
               user);
        for (size_t i = 0; i < BACKUP_CODE_COUNT; i += 2)
                printf("    %s    %s\n", codes[i], codes[i + 1]);
        ret = EXIT_SUCCESS;
out:
        seal_wipe(codes, sizeof(codes));
        store_close(s);
        seal_key_free(k);
        return ret;
}

static struct proto_obj *status_json(const char *user, const struct enroll_status *st)
{
        struct proto_obj *j = proto_obj_new(), *devs = proto_array_new(), *locks = proto_array_new();

        proto_obj_set_str(j, "user", user);
        proto_obj_set_bool(j, "mfa_enabled", st->n_devices > 0);
        for (size_t i = 0; i < st->n_devices; i++) {
                struct proto_obj *d = proto_obj_new();
                proto_obj_set_str(d, "name", st->devices[i].name);
                proto_obj_set_str(d, "algorithm", totp_alg_to_string(st->devices[i].alg));
                proto_obj_set_int(d, "digits", st->devices[i].digits);
                proto_obj_set_int(d, "period", st->devices[i].period);
                proto_obj_set_int(d, "created", st->devices[i].created);
                proto_obj_set_int(d, "last_used", st->devices[i].last_used);
                proto_array_add(devs, d);
        }
        proto_obj_set_obj(j, "devices", devs);
        proto_obj_set_int(j, "backup_codes_left", st->backup_left);
        for (size_t i = 0; i < st->n_lockouts; i++) {
                struct proto_obj *l = proto_obj_new();
                proto_obj_set_str(l, "source", st->lockouts[i].source);
                proto_obj_set_int(l, "locked_at", st->lockouts[i].locked_at);
                proto_obj_set_int(l, "until", st->lockouts[i].until);
                proto_array_add(locks, l);
        }
        proto_obj_set_obj(j, "lockouts", locks);
        return j;
}

static void status_text(const char *user, const struct enroll_status *st, time_t now)
{
        char t1[64], t2[64], esc[STORE_SOURCE_MAX * 4], d[64];

        printf("User:          %s\n", user);
        printf("MFA:           %s\n", st->n_devices ? "enabled" : "not enabled");
        for (size_t i = 0; i < st->n_devices; i++)
                printf("Device:        %s (%s, %u digits) added %s, last used %s\n", st->devices[i].name,
                       totp_alg_to_string(st->devices[i].alg), st->devices[i].digits,
                       ctl_fmt_time(st->devices[i].created, t1, sizeof(t1)),
                       ctl_fmt_time(st->devices[i].last_used, t2, sizeof(t2)));
        printf("Backup codes:  %u left%s\n", st->backup_left,
               st->n_devices && st->backup_left <= 3 ? " (low: mlsecctl admin backup-codes USER)" : "");
        if (!st->n_lockouts)
                printf("Lockouts:      none\n");
        for (size_t i = 0; i < st->n_lockouts; i++)
                printf("Locked:        %s for %s more (until %s)\n",
                       source_lock_scope(st->lockouts[i].source)
                               ? source_lock_scope(st->lockouts[i].source)
                               : util_escape(st->lockouts[i].source, esc, sizeof(esc)),
                       util_duration((long)(st->lockouts[i].until - now), d, sizeof(d)),
                       ctl_fmt_time(st->lockouts[i].until, t1, sizeof(t1)));
}

static int cmd_status(struct ctl *c, const char *user)
{
        struct enroll_status st = {0};
        struct store *s = NULL;
        time_t now = time(NULL);
        int r;

        if (!util_user_valid(user)) {
                (void)need_user(user);
                return EXIT_FAILURE;
        }
        if (seal_init() < 0)
                return EXIT_FAILURE;
        r = store_open(c->conf.state_dir, false, &s);
        if (r == -ENOENT) {
                s = NULL; /* no store yet: report an empty status */
        } else if (r < 0) {
                {
                        (void)open_admin(c, false, &s, NULL);
                        return EXIT_FAILURE;
                }
        }
        if (s) {
                r = enroll_status(s, user, now, &st);
                s = store_close(s);
                if (r < 0)
                        return ctl_fail("reading the credential store", r);
        }
        if (c->json) {
                r = print_json(status_json(user, &st));
        } else {
                status_text(user, &st, now);
                r = EXIT_SUCCESS;
        }
        enroll_status_clear(&st);
        return r;
}

static int cmd_disable(struct ctl *c, const char *user)
{
        struct store *s = NULL;
        unsigned n = 0;
        int r;

        if (!util_user_valid(user)) {
                (void)need_user(user);
                return EXIT_FAILURE;
        }
        if (open_admin(c, false, &s, NULL) < 0)
                return EXIT_FAILURE;
        r = store_begin(s);
        if (r >= 0)
                r = store_remove_user_mfa(s, user, &n);
        if (r >= 0)
                r = store_commit(s);
        else
                (void)store_rollback(s);
        if (r >= 0)
                r = store_checkpoint(s); /* overwrite the removed secrets in the file now */
        store_close(s);
        if (r < 0)
                return ctl_fail("disabling MFA", r);
        if (n) {
                char detail[EVENT_DETAIL_MAX];
                snprintf(detail, sizeof(detail), "%u device(s) and all backup codes removed by mlsecctl admin disable",
                         n);
                ctl_audit_change(c, user, "mfa-disabled", detail);
        }
        if (c->json) {
                struct proto_obj *j = proto_obj_new();
                proto_obj_set_str(j, "user", user);
                proto_obj_set_int(j, "devices_removed", n);
                return print_json(j);
        }
        if (n)
                printf("MFA disabled for %s: %u device%s and all backup codes removed.\n", user, n, n == 1 ? "" : "s");
        else
                printf("%s had no MFA device; nothing to disable.\n", user);
        return EXIT_SUCCESS;
}

static int cmd_unlock(struct ctl *c, const char *user, int argc, char **argv)
{
        static const struct option opts[] = {
                {"source", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'}, {0}};
        const char *source = NULL;
        struct store *s = NULL;
        unsigned n = 0;
        int o, r;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (o == 's')
                        source = optarg;
                else if (o == 'j')
                        c->json = true;
                else
                        return ctl_usage_error("invalid option for 'admin unlock'");
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (source && (!*source || strlen(source) >= STORE_SOURCE_MAX))
                return ctl_usage_error("invalid --source '%s'", source);
        if (!util_user_valid(user)) {
                (void)need_user(user);
                return EXIT_FAILURE;
        }
        if (seal_init() < 0)
                return EXIT_FAILURE;
        r = store_open(c->conf.state_dir, false, &s);
        if (r == -ENOENT) {
                printf("%s: nothing is locked (there is no credential store yet).\n", user);
                return EXIT_SUCCESS;
        }
        if (r < 0) {
                (void)open_admin(c, false, &s, NULL); /* says what is wrong */
                return EXIT_FAILURE;
        }
        if (s) {
                r = store_begin(s);
                if (r >= 0)
                        r = store_unlock(s, user, source, &n);
                if (r >= 0)
                        r = store_commit(s);
                else
                        (void)store_rollback(s);
                store_close(s);
                if (r < 0)
                        return ctl_fail("unlocking", r);
        }
        {
                char detail[EVENT_DETAIL_MAX];
                snprintf(detail, sizeof(detail), "%u lockout(s) lifted%s%s by mlsecctl admin unlock", n,
                         source ? " for " : "", source ? source : "");
                ctl_audit_change(c, user, "unlock", detail);
        }
        if (c->json) {
                struct proto_obj *j = proto_obj_new();
                proto_obj_set_str(j, "user", user);
                proto_obj_set_str(j, "source", source);
                proto_obj_set_int(j, "lockouts_removed", n);
                return print_json(j);
        }
        printf("%s: %u lockout%s lifted%s%s; failure counters reset.\n", user, n, n == 1 ? "" : "s",
               source ? " for " : "", source ? source : "");
        return EXIT_SUCCESS;
}

/* Options that every admin sub-command takes after its arguments. */
static int only_json(struct ctl *c, int argc, char **argv, const char *cmd)
{
        static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
        int o;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (o != 'j')
                        return ctl_usage_error("invalid option for '%s'", cmd);
                c->json = true;
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        return 0;
}

static int cmd_admin(struct ctl *c, int argc, char **argv)
{
        const char *sub, *user;
        int r;

        if (argc < 2)
                return ctl_usage_error("admin needs a command: users, reset-mfa, unlock, forget, history, sessions, audit, "
                                       "logout, import-google-authenticator, enroll, backup-codes, status, disable");
        sub = argv[1];
        if (strcmp(sub, "fleet") == 0)
                return ctl_fleet(c, argc - 1, argv + 1);
        if (strcmp(sub, "forget") == 0)
                return ctl_admin_forget(c, argc - 1, argv + 1);
        /* users, reset-mfa, unlock, history, sessions, audit, logout (ctl_admin.c); unlock
         * comes back here (-1) when mlsecd is down and the caller is root */
        r = ctl_admin_remote(c, sub, argc - 1, argv + 1);
        if (r >= 0)
                return r;
        if (argc < 3 || argv[2][0] == '-')
                return ctl_usage_error("admin %s needs a USER", sub);
        user = argv[2];
        if (strcmp(sub, "enroll") && strcmp(sub, "unlock") && strcmp(sub, "backup-codes") && strcmp(sub, "status") &&
            strcmp(sub, "disable"))
                return ctl_usage_error("unknown admin command '%s'", sub);
        if (geteuid() != 0) {
                fprintf(stderr,
                        "mlsecctl: 'admin %s' must be run as root: it changes the credential store "
                        "directly.\n",
                        sub);
                return EXIT_FAILURE;
        }
        optind = 3;
        if (strcmp(sub, "enroll") == 0)
                return cmd_enroll(c, user, argc, argv);
        if (strcmp(sub, "unlock") == 0)
                return cmd_unlock(c, user, argc, argv);
        if (strcmp(sub, "backup-codes") && strcmp(sub, "status") && strcmp(sub, "disable"))
                return ctl_usage_error("unknown admin command '%s'", sub);
        r = only_json(c, argc, argv, sub);
        if (r)
                return r;
        if (strcmp(sub, "backup-codes") == 0)
                return cmd_backup_codes(c, user);
        if (strcmp(sub, "status") == 0)
                return cmd_status(c, user);
        return cmd_disable(c, user);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"conf", required_argument, NULL, 'c'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        struct ctl c = {0};
        char err[CONF_ERR_MAX];
        int o, r;

        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (o) {
                case 'c':
                        c.conf_path = optarg;
                        break;
                case 'j':
                        c.json = true;
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        return EXIT_SUCCESS;
                default:
                        fputs(usage_text, stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc && strcmp(argv[optind], "help") == 0) {
                fputs(usage_text, stdout);
                return EXIT_SUCCESS;
        }
        argc -= optind;
        argv += optind;
        /* before the configuration is loaded: a broken one is what it reports */
        if (argc > 0 && strcmp(argv[0], "check-config") == 0)
                return ctl_check_config(&c, argc, argv);
        r = conf_load(c.conf_path, &c.conf, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "mlsecctl: %s\n", err);
                return EXIT_FAILURE;
        }
        if (argc == 0) {
                static char *status_argv[] = {"status", NULL};
                return ctl_status(&c, 1, status_argv);
        }
        if (strcmp(argv[0], "status") == 0)
                return ctl_status(&c, argc, argv);
        if (strcmp(argv[0], "mfa") == 0)
                return ctl_mfa(&c, argc, argv);
        if (strcmp(argv[0], "backup-codes") == 0)
                return ctl_backup_codes(&c, argc, argv);
        if (strcmp(argv[0], "password") == 0)
                return ctl_password(&c, argc, argv);
        if (strcmp(argv[0], "admin") == 0)
                return cmd_admin(&c, argc, argv);
        if (strcmp(argv[0], "history") == 0)
                return ctl_history(&c, argc, argv);
        if (strcmp(argv[0], "sessions") == 0)
                return ctl_sessions(&c, argc, argv);
        if (strcmp(argv[0], "logout") == 0)
                return ctl_logout(&c, argc, argv);
        if (strcmp(argv[0], "report") == 0)
                return ctl_report(&c, argc, argv);
        if (strcmp(argv[0], "forget") == 0)
                return ctl_forget(&c, argc, argv);
        if (strcmp(argv[0], "audit") == 0)
                return ctl_audit(&c, argc, argv, false);
        if (strcmp(argv[0], "help") == 0) {
                fputs(usage_text, stdout);
                return EXIT_SUCCESS;
        }
        return ctl_usage_error("unknown command '%s'", argv[0]);
}
