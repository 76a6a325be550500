/* SPDX-License-Identifier: MIT */
/* mlsecctl's self-service commands: the overview (status), mfa enable|add-device|devices|
 * remove|disable and backup-codes [regenerate], each through mlsecd, which decides from
 * SO_PEERCRED whose account it is. Codes are read from the terminal (not echoed) or, for
 * scripts, one line from standard input; they, the new key and the backup codes are wiped
 * after use and never written anywhere but the user's own screen. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ctl.h"
#include "enroll.h"
#include "proto.h"
#include "qr.h"
#include "seal.h"
#include "util.h"

#define CALL_TIMEOUT_MS 10000

static const char status_help[] =
        "Usage: mlsecctl [status] [--user NAME] [--json]\n"
        "\n"
        "The overview of your account: MFA on or off, your devices, backup codes left, your\n"
        "last login and the failed attempts since, active sessions, warnings and the one next\n"
        "step to take. Administrators may name another user with --user.\n";

static const char mfa_help[] =
        "Usage: mlsecctl mfa COMMAND ...\n"
        "\n"
        "  enable [--device NAME] [--no-qr] [--json]   turn MFA on with a first authenticator\n"
        "  add-device NAME [--no-qr] [--json]          add an authenticator (needs a current code)\n"
        "  devices [--user NAME] [--json]              list your authenticators\n"
        "  remove NAME [--json]                        remove one (needs a code; the last one turns MFA off)\n"
        "  disable [--json]                            remove every device and backup code (needs a code)\n"
        "\n"
        "A code is a current code from one of your authenticators or an unused backup code. It is\n"
        "read from the terminal, or one line from standard input when that is not a terminal.\n";

static const char backup_help[] =
        "Usage: mlsecctl backup-codes [--user NAME] [--json]\n"
        "       mlsecctl backup-codes regenerate [--json]\n"
        "\n"
        "How many backup codes you have left; regenerate replaces them with 10 new ones, shown\n"
        "once (needs a code), and the old ones stop working.\n";

struct opts {
        const char *user;
        const char *device;
        bool help;
        const char *args[2]; /* positional arguments */
        int n_args;
};

/* Parse ARGV (argv[0] is the command's name) allowing the options in ALLOWED. */
static int parse(struct ctl *c, int argc, char **argv, const char *cmd, const char *allowed, int max_args,
                 struct opts *o)
{
        static const struct option opts[] = {
                {"user", required_argument, NULL, 'u'}, {"device", required_argument, NULL, 'd'},
                {"no-qr", no_argument, NULL, 'Q'},      {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},       {0}};
        int opt;

        *o = (struct opts){0};
        optind = 0; /* full re-initialisation: this table, argument permutation */
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (opt != 'h' && opt != 'j' && (opt == '?' || opt == ':' || !strchr(allowed, opt)))
                        return ctl_usage_error("invalid option for '%s'", cmd);
                switch (opt) {
                case 'u':
                        if (!util_user_valid(optarg))
                                return ctl_usage_error("invalid user name '%s'", optarg);
                        o->user = optarg;
                        break;
                case 'd':
                        if (!enroll_device_name_valid(optarg))
                                return ctl_usage_error(
                                        "invalid device name '%s' (letters, digits, space . _ -; at most 63)", optarg);
                        o->device = optarg;
                        break;
                case 'Q':
                        c->no_qr = true;
                        break;
                case 'j':
                        c->json = true;
                        break;
                case 'h':
                        o->help = true;
                        break;
                }
        }
        for (; optind < argc; optind++) {
                if (o->n_args >= max_args)
                        return ctl_usage_error("unexpected argument '%s'", argv[optind]);
                o->args[o->n_args++] = argv[optind];
        }
        return 0;
}

static bool colour(FILE *f)
{
        return isatty(fileno(f)) && !getenv("NO_COLOR");
}

static const char *paint(FILE *f, const char *ansi)
{
        return colour(f) ? ansi : "";
}

/* ---- reading a code ------------------------------------------------------------------------ */

/* The terminal's settings while echo is off, restored if a signal ends mlsecctl meanwhile
 * (so Ctrl-C does not leave the terminal silent). mlsecctl is single-threaded. */
static struct termios saved_tio;
static volatile sig_atomic_t saved_fd = -1;
static const int guarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static struct sigaction saved_sa[sizeof(guarded) / sizeof(guarded[0])];

static void restore_and_reraise(int sig)
{
        if (saved_fd >= 0)
                (void)tcsetattr(saved_fd, TCSANOW, &saved_tio);
        signal(sig, SIG_DFL);
        raise(sig);
}

static void guard_terminal(int fd, const struct termios *tio)
{
        struct sigaction sa = {.sa_handler = restore_and_reraise};

        saved_tio = *tio;
        saved_fd = fd;
        for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++)
                (void)sigaction(guarded[i], &sa, &saved_sa[i]);
}

static void unguard_terminal(void)
{
        for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++)
                (void)sigaction(guarded[i], &saved_sa[i], NULL);
        saved_fd = -1;
}

/* One code into BUF: from /dev/tty without echo when standard input is a terminal, else one
 * line of standard input. 0, or -ENODATA for nothing typed / end of input. */
static int read_code(const char *prompt, char *buf, size_t len)
{
        bool tty = isatty(STDIN_FILENO);
        FILE *in = stdin;
        struct termios old, quiet;
        bool restore = false;
        int fd = -1, r = 0;
        size_t n;

        fflush(stdout);
        if (tty) {
                fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                in = fdopen(fd, "r+");
                if (!in) {
                        r = -errno;
                        close(fd);
                        return r;
                }
                setvbuf(in, NULL, _IONBF, 0); /* no copy of the code in a stdio buffer */
                /* echo off before the prompt is shown: nothing typed after it may be echoed
                 * or discarded */
                if (tcgetattr(fd, &old) == 0) {
                        quiet = old;
                        quiet.c_lflag &= ~(tcflag_t)ECHO;
                        quiet.c_lflag |= ECHONL;
                        guard_terminal(fd, &old);
                        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
                        if (!restore)
                                unguard_terminal();
                }
                fputs(prompt, in);
                fflush(in);
        } else {
                static bool unbuffered;
                if (!unbuffered) /* as above; before stdin's first read */
                        unbuffered = setvbuf(stdin, NULL, _IONBF, 0) == 0;
                fputs(prompt, stderr);
                fflush(stderr);
        }
        if (!fgets(buf, (int)len, in)) {
                r = -ENODATA;
        } else {
                n = strlen(buf);
                if (n > 0 && buf[n - 1] == '\n')
                        buf[--n] = '\0';
                else if (n + 1 >= len)
                        r = -EMSGSIZE; /* longer than any code */
                if (n > 0 && buf[n - 1] == '\r')
                        buf[--n] = '\0';
                if (r == 0 && n == 0)
                        r = -ENODATA;
        }
        if (restore) {
                (void)tcsetattr(fd, TCSANOW, &old);
                unguard_terminal();
        }
        if (tty)
                fclose(in);
        if (!tty && r == 0)
                fputc('\n', stderr);
        if (r < 0)
                seal_wipe(buf, len);
        return r;
}

static int ask_code(const char *prompt, struct proto_request *req)
{
        int r = read_code(prompt, req->code, sizeof(req->code));

        if (r == -EMSGSIZE)
                fprintf(stderr, "mlsecctl: that is longer than any code\n");
        else if (r == -ENODATA)
                fprintf(stderr, "mlsecctl: no code given; nothing was changed\n");
        else if (r < 0)
                fprintf(stderr, "mlsecctl: cannot read the code from the terminal: %s\n", strerror(-r));
        return r;
}

/* One call that keeps the error code of a refusal (for retries); messages as ctl_call's. */
static int call(struct ctl *c, struct proto_request *req, struct proto_obj **ret, char *code, size_t codelen)
{
        char msg[256] = "";
        int r;

        code[0] = '\0';
        r = client_call(c->conf.socket, req, CALL_TIMEOUT_MS, ret, code, codelen, msg, sizeof(msg));
        seal_wipe(req->code, sizeof(req->code));
        if (r == -EREMOTEIO)
                fprintf(stderr, "mlsecctl: %s\n", msg[0] ? msg : code);
        else if (r == -ENOENT || r == -ECONNREFUSED)
                fprintf(stderr, "mlsecctl: mlsecd is not running (no one listens on %s)\n", c->conf.socket);
        else if (r == -ETIMEDOUT)
                fprintf(stderr, "mlsecctl: mlsecd did not answer within %d seconds\n", CALL_TIMEOUT_MS / 1000);
        else if (r < 0)
                (void)ctl_fail("talking to mlsecd", r);
        return r;
}

static int print_json(struct proto_obj *o, bool wipe)
{
        int r = proto_obj_print(stdout, o);

        fflush(stdout);
        if (wipe)
                proto_obj_wipe(o);
        proto_obj_free(o);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void print_codes(FILE *f, const struct proto_obj *res)
{
        struct proto_obj *arr = proto_obj_get(res, "backup_codes");
        size_t n = proto_array_len(arr);

        fprintf(f,
                "%sYour backup codes%s: each works once, instead of a code from the authenticator.\n"
                "They are shown only now. Store them somewhere safe, away from your authenticator\n"
                "(printed, or in a password manager); mlsec keeps only their hashes.\n\n",
                paint(f, "\033[1m"), paint(f, "\033[0m"));
        for (size_t i = 0; i < n; i += 2) {
                const char *a = proto_array_get_str(arr, i), *b = proto_array_get_str(arr, i + 1);
                fprintf(f, "    %s    %s\n", a ? a : "", b ? b : "");
        }
        fputc('\n', f);
        proto_obj_free(arr);
}

/* ---- the overview ----------------------------------------------------------------------------- */

static void devices_table(FILE *f, const struct proto_obj *devs, const char *indent)
{
        size_t n = proto_array_len(devs);
        int64_t now = time(NULL);
        struct ctl_table *t = ctl_table_new(5, "NAME", "ALGORITHM", "DIGITS", "ADDED", "LAST USED");

        for (size_t i = 0; i < n; i++) {
                struct proto_obj *e = proto_array_get(devs, i);
                int64_t created = ctl_get_int(e, "created", 0), used = ctl_get_int(e, "last_used", 0);
                char t1[64], a1[64], added[160], t2[64], a2[64], last[160], digits[24];

                snprintf(added, sizeof(added), "%s (%s)", ctl_fmt_time(created, t1, sizeof(t1)),
                         ctl_fmt_ago(created, now, a1, sizeof(a1)));
                if (used > 0)
                        snprintf(last, sizeof(last), "%s (%s)", ctl_fmt_time(used, t2, sizeof(t2)),
                                 ctl_fmt_ago(used, now, a2, sizeof(a2)));
                else
                        snprintf(last, sizeof(last), "never");
                snprintf(digits, sizeof(digits), "%lld", (long long)ctl_get_int(e, "digits", 0));
                ctl_table_add(t, ctl_get_str(e, "name"), ctl_get_str(e, "algorithm"), digits, added, last);
                proto_obj_free(e);
        }
        ctl_table_print(f, t, indent);
        ctl_table_free(t);
}

static void status_table(const struct proto_obj *res)
{
        struct proto_obj *devs = proto_obj_get(res, "devices"), *last = proto_obj_get(res, "last_login"),
                         *warns = proto_obj_get(res, "warnings"), *next = proto_obj_get(res, "next_step");
        const char *bold = paint(stdout, "\033[1m"), *red = paint(stdout, "\033[1;31m"),
                   *yellow = paint(stdout, "\033[1;33m"), *green = paint(stdout, "\033[32m"),
                   *off = paint(stdout, "\033[0m");
        bool mfa = false, live = false;
        int64_t now = time(NULL), left = ctl_get_int(res, "backup_codes_left", 0);
        size_t nd = proto_array_len(devs), nw = proto_array_len(warns);

        (void)proto_obj_get_bool(res, "mfa_enabled", &mfa);
        (void)proto_obj_get_bool(res, "sessions_live", &live);
        printf("%sSecurity settings of %s%s\n\n", bold, ctl_get_str(res, "user"), off);
        printf("MFA:              %s%s%s\n", mfa ? green : red, mfa ? "on" : "off", off);
        if (nd) {
                printf("Devices:          %zu\n", nd);
                devices_table(stdout, devs, "  ");
        } else {
                printf("Devices:          none\n");
        }
        if (mfa)
                printf("Backup codes:     %lld left%s%s%s\n", (long long)left, left <= ENROLL_BACKUP_LOW ? yellow : "",
                       left <= ENROLL_BACKUP_LOW ? " (low)" : "", left <= ENROLL_BACKUP_LOW ? off : "");
        else
                printf("Backup codes:     none (MFA is off)\n");
        if (last) {
                int64_t t = ctl_get_int(last, "time_us", 0) / 1000000;
                char tb[64], ab[64];
                const char *tty = ctl_get_str(last, "tty");
                struct proto_obj *place = proto_obj_get(last, "place");
                const char *where = ctl_get_str(place, "description");
                printf("Last login:       %s (%s) from %s%s%s%s, via %s%s%s\n", ctl_fmt_time(t, tb, sizeof(tb)),
                       ctl_fmt_ago(t, now, ab, sizeof(ab)), ctl_get_str(last, "from"), where[0] ? " (" : ", ",
                       where[0] ? where : "place unknown", where[0] ? ")" : "", ctl_get_str(last, "service"),
                       tty[0] ? " on " : "", tty);
                proto_obj_free(place);
        } else {
                printf("Last login:       none recorded\n");
        }
        printf("Failed attempts:  %lld since %s\n", (long long)ctl_get_int(res, "failed_since_last_login", 0),
               last ? "the last login" : "the history began");
        printf("Active sessions:  %lld%s\n", (long long)ctl_get_int(res, "active_sessions", 0),
               live ? "" : " (as recorded; mlsecd has no connection to systemd-logind)");
        if (!nw)
                printf("Warnings:         none\n");
        else
                printf("Warnings:\n");
        for (size_t i = 0; i < nw; i++) {
                struct proto_obj *w = proto_array_get(warns, i);
                printf("  %s!%s %s\n", yellow, off, ctl_get_str(w, "message"));
                proto_obj_free(w);
        }
        ctl_grants_status(res);
        ctl_alerts_status(res, yellow, off);
        ctl_spool_status(res, yellow, off);
        if (next)
                printf("Next step:        %s%s: %s%s\n", bold, ctl_get_str(next, "message"),
                       ctl_get_str(next, "command"), off);
        else
                printf("Next step:        nothing to do: your account is protected\n");
        proto_obj_free(devs);
        proto_obj_free(last);
        proto_obj_free(warns);
        proto_obj_free(next);
}

int ctl_status(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_STATUS};
        struct proto_obj *res = NULL;
        struct opts o;
        int r;

        r = parse(c, argc, argv, "status", "u", 0, &o);
        if (r)
                return r;
        if (o.help) {
                fputs(status_help, stdout);
                return EXIT_SUCCESS;
        }
        if (o.user)
                snprintf(req.user, sizeof(req.user), "%s", o.user);
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, status_table);
}

/* ---- enrolment ---------------------------------------------------------------------------------- */

/* Show the new key, ask for its code until mlsecd accepts it or gives up. */
static int enrol(struct ctl *c, const char *device, bool add)
{
        struct proto_request req = {.method = PROTO_MFA_BEGIN};
        struct proto_obj *begun = NULL, *done = NULL;
        FILE *hum = c->json ? stderr : stdout; /* with --json, stdout has only the result */
        char code[64], token[PROTO_TOKEN_LEN + 1] = "", tb[64];
        bool interactive = isatty(STDIN_FILENO), first = false;
        int r, ret = EXIT_FAILURE;

        if (device)
                snprintf(req.device, sizeof(req.device), "%s", device);
        if (add && ask_code("Current code from one of your authenticators (or a backup code): ", &req) < 0)
                goto out;
        if (call(c, &req, &begun, code, sizeof(code)) < 0)
                goto out;
        snprintf(token, sizeof(token), "%s",
                 proto_obj_get_str(begun, "token") ? proto_obj_get_str(begun, "token") : "");
        fprintf(hum, "New device '%s' (%s, %lld digits, %lld s).\n\n", ctl_get_str(begun, "device"),
                ctl_get_str(begun, "algorithm"), (long long)ctl_get_int(begun, "digits", 6),
                (long long)ctl_get_int(begun, "period", 30));
        if (!c->no_qr && isatty(fileno(hum))) {
                fprintf(hum, "Scan this QR code with your authenticator app:\n\n");
                if (qr_print(hum, proto_obj_get_str(begun, "uri"), colour(hum)) < 0)
                        fprintf(hum, "(the QR code could not be drawn; use the key below)\n");
                fprintf(hum, "\n");
        }
        fprintf(hum, "Or enter this key by hand: %s\n", proto_obj_get_str(begun, "secret"));
        fprintf(hum, "URI: %s\n\n", proto_obj_get_str(begun, "uri"));
        fprintf(hum, "Then type the code the app shows, to prove it has the key (until %s).\n",
                ctl_fmt_time(ctl_get_int(begun, "expires", 0), tb, sizeof(tb)));
        fflush(hum);
        proto_obj_wipe(begun);
        begun = proto_obj_free(begun);

        for (;;) {
                req = (struct proto_request){.method = PROTO_MFA_CONFIRM};
                snprintf(req.token, sizeof(req.token), "%s", token);
                if (ask_code("Code from the new device: ", &req) < 0)
                        goto out;
                r = call(c, &req, &done, code, sizeof(code));
                if (r >= 0)
                        break;
                /* a wrong code: mlsecd allows a few, then drops the enrolment ("expired") */
                if (r != -EREMOTEIO || strcmp(code, PROTO_E_CODE) != 0 || !interactive)
                        goto out;
        }
        {
                struct proto_obj *tmp = proto_obj_get(done, "backup_codes");
                first = tmp != NULL;
                proto_obj_free(tmp);
        }
        if (first)
                fprintf(hum, "\n%sMFA is now on%s: device '%s' added. Logins now ask for a code.\n\n",
                        paint(hum, "\033[1;32m"), paint(hum, "\033[0m"), ctl_get_str(done, "device"));
        else
                fprintf(hum, "\nDevice '%s' added: its codes now work at login.\n", ctl_get_str(done, "device"));
        if (first && !c->json)
                print_codes(hum, done);
        else if (first)
                fprintf(hum, "Your 10 backup codes are in the JSON output: store them somewhere safe.\n");
        fflush(hum);
        if (c->json) {
                ret = print_json(done, true);
                done = NULL;
        } else {
                ret = EXIT_SUCCESS;
        }
out:
        if (begun)
                proto_obj_wipe(begun);
        proto_obj_free(begun);
        if (done)
                proto_obj_wipe(done);
        proto_obj_free(done);
        seal_wipe(&req, sizeof(req));
        seal_wipe(token, sizeof(token));
        return ret;
}

static void devices_text(const struct proto_obj *res)
{
        struct proto_obj *devs = proto_obj_get(res, "devices");

        if (proto_array_len(devs) == 0)
                printf("%s has no MFA device: MFA is off (enable it: mlsecctl mfa enable).\n",
                       ctl_get_str(res, "user"));
        else
                devices_table(stdout, devs, "");
        proto_obj_free(devs);
}

static void removed_text(const struct proto_obj *res)
{
        bool on = true;

        (void)proto_obj_get_bool(res, "mfa_enabled", &on);
        printf("Device '%s' removed.\n", ctl_get_str(res, "device"));
        if (!on)
                printf("That was your last device: MFA is now off and your backup codes were removed.\n"
                       "Logins ask only for your password. Enable MFA again: mlsecctl mfa enable\n");
}

static void disabled_text(const struct proto_obj *res)
{
        int64_t n = ctl_get_int(res, "devices_removed", 0);

        printf("MFA is now off: %lld device%s and all backup codes removed.\n"
               "Logins ask only for your password. Enable MFA again: mlsecctl mfa enable\n",
               (long long)n, n == 1 ? "" : "s");
}

/* A change that needs a code: ask, call, print. */
static int with_code(struct ctl *c, struct proto_request *req, void (*text)(const struct proto_obj *))
{
        struct proto_obj *res = NULL;
        char code[64];

        if (ask_code("Current code from your authenticator (or a backup code): ", req) < 0) {
                seal_wipe(req, sizeof(*req));
                return EXIT_FAILURE;
        }
        if (call(c, req, &res, code, sizeof(code)) < 0) {
                seal_wipe(req, sizeof(*req));
                return EXIT_FAILURE;
        }
        seal_wipe(req, sizeof(*req));
        return ctl_print_or_json(c, res, text);
}

int ctl_mfa(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {0};
        const char *sub;
        struct opts o;
        int r;

        if (argc < 2)
                return ctl_usage_error("mfa needs a command: enable, add-device, devices, remove, disable");
        sub = argv[1];
        if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
                fputs(mfa_help, stdout);
                return EXIT_SUCCESS;
        }
        argc--;
        argv++;
        if (strcmp(sub, "enable") == 0) {
                r = parse(c, argc, argv, "mfa enable", "dQ", 0, &o);
                if (r || o.help)
                        return r ? r : (fputs(mfa_help, stdout), EXIT_SUCCESS);
                return enrol(c, o.device, false);
        }
        if (strcmp(sub, "add-device") == 0) {
                r = parse(c, argc, argv, "mfa add-device", "Q", 1, &o);
                if (r || o.help)
                        return r ? r : (fputs(mfa_help, stdout), EXIT_SUCCESS);
                if (o.n_args != 1)
                        return ctl_usage_error("mfa add-device needs the NAME of the new device");
                if (!enroll_device_name_valid(o.args[0]))
                        return ctl_usage_error("invalid device name '%s' (letters, digits, space . _ -; at most 63)",
                                               o.args[0]);
                return enrol(c, o.args[0], true);
        }
        if (strcmp(sub, "devices") == 0) {
                struct proto_obj *res = NULL;
                r = parse(c, argc, argv, "mfa devices", "u", 0, &o);
                if (r || o.help)
                        return r ? r : (fputs(mfa_help, stdout), EXIT_SUCCESS);
                req.method = PROTO_MFA_DEVICES;
                if (o.user)
                        snprintf(req.user, sizeof(req.user), "%s", o.user);
                if (ctl_call(c, &req, &res) < 0)
                        return EXIT_FAILURE;
                return ctl_print_or_json(c, res, devices_text);
        }
        if (strcmp(sub, "remove") == 0) {
                r = parse(c, argc, argv, "mfa remove", "", 1, &o);
                if (r || o.help)
                        return r ? r : (fputs(mfa_help, stdout), EXIT_SUCCESS);
                if (o.n_args != 1)
                        return ctl_usage_error("mfa remove needs the NAME of a device (see mlsecctl mfa devices)");
                if (!enroll_device_name_valid(o.args[0]))
                        return ctl_usage_error("invalid device name '%s'", o.args[0]);
                req.method = PROTO_MFA_REMOVE;
                snprintf(req.device, sizeof(req.device), "%s", o.args[0]);
                return with_code(c, &req, removed_text);
        }
        if (strcmp(sub, "disable") == 0) {
                r = parse(c, argc, argv, "mfa disable", "", 0, &o);
                if (r || o.help)
                        return r ? r : (fputs(mfa_help, stdout), EXIT_SUCCESS);
                req.method = PROTO_MFA_DISABLE;
                return with_code(c, &req, disabled_text);
        }
        return ctl_usage_error("unknown mfa command '%s' (enable, add-device, devices, remove, disable)", sub);
}

/* ---- backup codes ------------------------------------------------------------------------------- */

static void left_text(const struct proto_obj *res)
{
        bool mfa = false, low = false;
        int64_t n = ctl_get_int(res, "left", 0);

        (void)proto_obj_get_bool(res, "mfa_enabled", &mfa);
        (void)proto_obj_get_bool(res, "low", &low);
        if (!mfa) {
                printf("MFA is off for %s: no backup codes (enable MFA: mlsecctl mfa enable).\n",
                       ctl_get_str(res, "user"));
                return;
        }
        printf("%lld backup code%s left.\n", (long long)n, n == 1 ? "" : "s");
        if (low)
                printf("%sThat is low%s: generate new ones: mlsecctl backup-codes regenerate\n",
                       paint(stdout, "\033[1;33m"), paint(stdout, "\033[0m"));
}

static void regenerated_text(const struct proto_obj *res)
{
        printf("New backup codes: the old ones no longer work.\n\n");
        print_codes(stdout, res);
}

int ctl_backup_codes(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_BACKUP_CODES};
        struct proto_obj *res = NULL;
        char code[64];
        struct opts o;
        int r;

        r = parse(c, argc, argv, "backup-codes", "u", 1, &o);
        if (r)
                return r;
        if (o.help) {
                fputs(backup_help, stdout);
                return EXIT_SUCCESS;
        }
        if (o.n_args == 0) {
                if (o.user)
                        snprintf(req.user, sizeof(req.user), "%s", o.user);
                if (ctl_call(c, &req, &res) < 0)
                        return EXIT_FAILURE;
                return ctl_print_or_json(c, res, left_text);
        }
        if (strcmp(o.args[0], "regenerate") != 0)
                return ctl_usage_error("unknown backup-codes command '%s' (regenerate)", o.args[0]);
        if (o.user)
                return ctl_usage_error("backup-codes regenerate works on your own account only");
        req.method = PROTO_BACKUP_REGENERATE;
        if (ask_code("Current code from your authenticator (or a backup code): ", &req) < 0 ||
            call(c, &req, &res, code, sizeof(code)) < 0) {
                seal_wipe(&req, sizeof(req));
                return EXIT_FAILURE;
        }
        seal_wipe(&req, sizeof(req));
        if (c->json)
                return print_json(res, true);
        regenerated_text(res);
        fflush(stdout);
        proto_obj_wipe(res);
        proto_obj_free(res);
        return EXIT_SUCCESS;
}
