/* SPDX-License-Identifier: MIT */
/* mlsecctl's administration through mlsecd: admin users, reset-mfa, unlock, and history,
 * sessions, audit and logout over every user. mlsecd decides from SO_PEERCRED who may do
 * what; this file asks first whether the caller is an administrator at all, only so that a
 * refusal is one clear sentence before anything is sent, and never prints partial data.
 * It also holds the --help text of every admin command, the direct ones of mlsecctl.c too. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ctl.h"
#include "event.h"
#include "proto.h"
#include "store.h"
#include "util.h"

#define CALL_TIMEOUT_MS 10000
#define ARGS_MAX        64 /* arguments of one admin command */

static const struct {
        const char *sub;
        const char *help;
} helps[] = {
        {"users", "Usage: mlsecctl admin users [--json]\n"
                  "       mlsecctl admin users --unknown [--limit N] [--json]\n"
                  "Every user (an account, enrolled, or one that logged in) the credential store knows or mlsecd\n"
                  "has recorded a login attempt of: MFA state, devices, backup codes left, locked sources and the\n"
                  "last successful login (when, from where). Names that were only tried and are no account are\n"
                  "counted in one line at the end.\n"
                  "  --unknown   those names instead, most attempts first: attempts, the last one, from where\n"
                  "  --limit N   with --unknown, at most N of them (1..1000, default 100)\n"},
        {"reset-mfa", "Usage: mlsecctl admin reset-mfa USER --reason TEXT [--json]\n"
                      "Account recovery: remove every device and backup code of USER. The reason is required; it\n"
                      "goes into the audit log with who did it, and USER is told at the next login. Under\n"
                      "the MFA policy's enroll_grace_days, USER gets a new grace period to set MFA up again.\n"},
        {"unlock", "Usage: mlsecctl admin unlock USER [--source SOURCE] [--json]\n"
                   "Lift USER's lockouts (of SOURCE only, with --source) and forget the failures. Through\n"
                   "mlsecd; as root when mlsecd is not running, directly on the credential store.\n"},
        {"history", "Usage: mlsecctl admin history [--user NAME] [--failed] [--limit N] [--json]\n"
                    "Login attempts of every user (or of NAME), newest first.\n"},
        {"sessions", "Usage: mlsecctl admin sessions [--user NAME] [--closed] [--limit N] [--json]\n"
                     "Sessions of every user (or of NAME); live ones are checked with systemd-logind.\n"},
        {"audit", "Usage: mlsecctl admin audit [--user NAME] [--limit N] [--verify] [--json]\n"
                  "The audit log of every user (or of NAME); --verify checks its hash chain.\n"},
        {"logout", "Usage: mlsecctl admin logout SESSION_ID [--json]\n"
                   "End any user's session (see 'mlsecctl admin sessions').\n"},
        {"enroll", "Usage: mlsecctl admin enroll USER [--device NAME] [--secret-file PATH|-]\n"
                   "                             [--algorithm sha1|sha256|sha512] [--digits 6|8] [--no-qr] [--json]\n"
                   "Add an authenticator device for USER, directly on the credential store (root only).\n"},
        {"backup-codes", "Usage: mlsecctl admin backup-codes USER [--json]\n"
                         "Replace USER's backup codes and print the new ones once (root only, directly).\n"},
        {"status", "Usage: mlsecctl admin status USER [--json]\n"
                   "USER's devices, backup codes left and lockouts (root only, directly).\n"
                   "Without USER: mlsecd's spool, its audit reserve and the events it lost (through mlsecd).\n"},
        {"disable", "Usage: mlsecctl admin disable USER [--json]\n"
                    "Remove every device and backup code of USER (root only, directly).\n"},
};

static const char admin_help[] =
        "Usage: mlsecctl admin COMMAND ...   (root and members of admin_group)\n"
        "\n"
        "Through mlsecd:\n"
        "  users [--unknown]                       every user: MFA, devices, backup codes, lockouts, last login;\n"
        "                                          --unknown: the names tried that are no account\n"
        "  reset-mfa USER --reason TEXT            remove USER's devices and backup codes (account recovery)\n"
        "  unlock USER [--source SOURCE]           lift lockouts and forget failures\n"
        "  history|sessions|audit [--user NAME]    every user's activity (or NAME's)\n"
        "  logout SESSION_ID                       end any user's session\n"
        "  import-google-authenticator USER        move USER's ~/.google_authenticator to mlsec\n"
        "  alerts [--user NAME] [--open] [--ack ID]   suspicious-activity alerts and users' reports\n"
        "  status                                  mlsecd's spool: waiting, refused, audit reserve, lost events\n"
        "Directly on the credential store (root only; the recovery path when mlsecd is down):\n"
        "  enroll, backup-codes, status, disable USER\n"
        "\n"
        "'mlsecctl admin COMMAND --help' describes one command.\n";

static bool is_help(const char *word)
{
        return strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0;
}

static bool wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        return false;
                if (is_help(argv[i]))
                        return true;
        }
        return false;
}

/* The same rule as mlsecd's (server.c): uid 0, or a member of admin_group by its primary
 * group or the group's member list. Only for the message: mlsecd decides. */
static bool caller_is_admin(const struct ctl *c)
{
        const struct passwd *pw;
        const struct group *gr;

        if (geteuid() == 0)
                return true;
        pw = getpwuid(geteuid());
        gr = getgrnam(c->conf.admin_group);
        if (!pw || !gr)
                return false;
        if (pw->pw_gid == gr->gr_gid)
                return true;
        for (char **m = gr->gr_mem; m && *m; m++)
                if (strcmp(*m, pw->pw_name) == 0)
                        return true;
        return false;
}

static int refuse(const struct ctl *c, const char *what)
{
        char esc[256];

        fprintf(stderr, "mlsecctl: only administrators may %s (root and members of group '%s').\n", what,
                util_escape(c->conf.admin_group, esc, sizeof(esc)));
        return EXIT_FAILURE;
}

/* Options after the positional arguments: "+" so that getopt never reorders argv, which
 * mlsecctl.c reads again when unlock falls back to the direct path. */
struct admin_opts {
        const char *reason, *source;
};

static int parse_opts(struct ctl *c, int argc, char **argv, int first, const char *cmd, const char *allowed,
                      struct admin_opts *o)
{
        static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                             {"source", required_argument, NULL, 's'},
                                             {"json", no_argument, NULL, 'j'},
                                             {0}};
        int opt;

        *o = (struct admin_opts){0};
        optind = first;
        while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                if (opt != 'j' && (opt == '?' || !strchr(allowed, opt)))
                        return ctl_usage_error("invalid option for 'admin %s'", cmd);
                if (opt == 'r')
                        o->reason = optarg;
                else if (opt == 's')
                        o->source = optarg;
                else
                        c->json = true;
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        return 0;
}

/* admin SUB USER ...: the user comes first. */
static int need_user_arg(int argc, char **argv, const char *cmd, const char **ret)
{
        char esc[128];

        if (argc < 2 || argv[1][0] == '-')
                return ctl_usage_error("admin %s needs a USER", cmd);
        if (!util_user_valid(argv[1]))
                return ctl_usage_error("invalid user name '%s'", util_escape(argv[1], esc, sizeof(esc)));
        *ret = argv[1];
        return 0;
}

static bool text_ok(const char *s, size_t max)
{
        char tmp[PROTO_REASON_MAX > PROTO_SOURCE_MAX ? PROTO_REASON_MAX : PROTO_SOURCE_MAX];

        return s[0] && strlen(s) < max && max <= sizeof(tmp) && event_set_text(tmp, max, s) >= 0;
}

/* ---- admin users ---- */

/* Locked sources of one user, for the table: "-" when none. */
static void locks_text(const struct proto_obj *u, char *out, size_t len)
{
        struct proto_obj *ls = proto_obj_get(u, "lockouts");
        size_t n = proto_array_len(ls), used = 0;

        snprintf(out, len, "-");
        for (size_t i = 0; i < n && used < len; i++) {
                struct proto_obj *l = proto_array_get(ls, i);
                const char *s = ctl_get_str(l, "source");
                int w = snprintf(out + used, len - used, "%s%s", i ? "," : "",
                                 strcmp(s, STORE_REMOTE_ALL) == 0  ? "remote(all)"
                                 : strcmp(s, STORE_LOCAL_ALL) == 0 ? "local(all)"
                                                                   : s);
                if (w > 0)
                        used += (size_t)w;
                proto_obj_free(l);
        }
        proto_obj_free(ls);
}

static unsigned long long get_count(const struct proto_obj *res, const char *key)
{
        int64_t v = ctl_get_int(res, key, 0);

        return v > 0 ? (unsigned long long)v : 0;
}

/* "12 names that do not exist were tried (187 attempts)" */
static void unknown_count(const struct proto_obj *res)
{
        unsigned long long names = get_count(res, "unknown_names"), attempts = get_count(res, "unknown_attempts");

        printf("%llu %s tried (%llu attempt%s)", names,
               names == 1 ? "name that does not exist was" : "names that do not exist were", attempts,
               attempts == 1 ? "" : "s");
}

/* What a listing of admin-users did not look at, or looked at less closely. */
static void users_notes(const struct proto_obj *res)
{
        unsigned long long unverified = get_count(res, "unknown_unverified"),
                           not_read = get_count(res, "names_not_read");

        if (unverified > 0)
                printf("Note: %llu of the names were not looked up (too many for one listing); no attempt with them "
                       "found an account.\n",
                       unverified);
        if (not_read > 0)
                printf("Note: %llu more names (%llu attempts) in activity.db were not looked at.\n", not_read,
                       get_count(res, "attempts_not_read"));
}

static void users_table(const struct proto_obj *res)
{
        struct proto_obj *us = proto_obj_get(res, "users");
        size_t n = proto_array_len(us);
        int64_t now = time(NULL);
        struct ctl_table *t;
        bool truncated = false;

        if (n == 0)
                printf("No users enrolled or recorded.\n");
        t = ctl_table_new(7, "USER", "MFA", "DEVICES", "BACKUP", "LOCKED", "LAST LOGIN", "FROM");
        for (size_t i = 0; i < n; i++) {
                struct proto_obj *u = proto_array_get(us, i);
                bool mfa = false;
                int64_t tm = ctl_get_int(u, "last_login_us", 0) / 1000000;
                char tb[64], ab[64], devices[24], backup[24], locked[512], last[160];

                (void)proto_obj_get_bool(u, "mfa_enabled", &mfa);
                snprintf(devices, sizeof(devices), "%lld", (long long)ctl_get_int(u, "devices", 0));
                snprintf(backup, sizeof(backup), "%lld", (long long)ctl_get_int(u, "backup_codes_left", 0));
                locks_text(u, locked, sizeof(locked));
                if (tm > 0)
                        snprintf(last, sizeof(last), "%s (%s)", ctl_fmt_time(tm, tb, sizeof(tb)),
                                 ctl_fmt_ago(tm, now, ab, sizeof(ab)));
                else
                        snprintf(last, sizeof(last), "never");
                ctl_table_add(t, ctl_get_str(u, "user"), mfa ? "on" : "off", devices, backup, locked, last,
                              tm > 0 ? ctl_get_str(u, "last_login_from") : "-");
                proto_obj_free(u);
        }
        if (n > 0)
                ctl_table_print(stdout, t, NULL);
        ctl_table_free(t);
        /* an attacker's dictionary is one line, whatever its size */
        if (get_count(res, "unknown_names") > 0) {
                unknown_count(res);
                printf("; see mlsecctl admin users --unknown\n");
        }
        (void)proto_obj_get_bool(res, "truncated", &truncated);
        if (truncated)
                printf("\nNote: only the first %zu users fit in one reply.\n", n);
        users_notes(res);
        proto_obj_free(us);
}

static void unknown_table(const struct proto_obj *res)
{
        struct proto_obj *us = proto_obj_get(res, "unknown");
        size_t n = proto_array_len(us);
        unsigned long long more = get_count(res, "more");
        int64_t now = time(NULL);
        struct ctl_table *t;

        if (get_count(res, "unknown_names") == 0) {
                printf("No names that do not exist were tried.\n");
                users_notes(res);
                proto_obj_free(us);
                return;
        }
        unknown_count(res);
        printf("%s\n", n > 0 ? ", most attempts first:" : ".");
        t = ctl_table_new(4, "USER", "ATTEMPTS", "LAST ATTEMPT", "FROM");
        for (size_t i = 0; i < n; i++) {
                struct proto_obj *u = proto_array_get(us, i);
                int64_t tm = ctl_get_int(u, "last_attempt_us", 0) / 1000000;
                char tb[64], ab[64], attempts[24], last[160];

                snprintf(attempts, sizeof(attempts), "%lld", (long long)ctl_get_int(u, "attempts", 0));
                snprintf(last, sizeof(last), "%s (%s)", ctl_fmt_time(tm, tb, sizeof(tb)),
                         ctl_fmt_ago(tm, now, ab, sizeof(ab)));
                ctl_table_add(t, ctl_get_str(u, "user"), attempts, last, ctl_get_str(u, "last_attempt_from"));
                proto_obj_free(u);
        }
        if (n > 0)
                ctl_table_print(stdout, t, NULL);
        ctl_table_free(t);
        if (more > 0)
                printf("... and %llu more; --limit N shows up to %d.\n", more, PROTO_LIMIT_MAX);
        users_notes(res);
        proto_obj_free(us);
}

static int cmd_users(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {{"unknown", no_argument, NULL, 'u'},
                                             {"limit", required_argument, NULL, 'n'},
                                             {"json", no_argument, NULL, 'j'},
                                             {0}};
        struct proto_request req = {.method = PROTO_ADMIN_USERS};
        struct proto_obj *res = NULL;
        unsigned long long v;
        char *end;
        int opt;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                switch (opt) {
                case 'u':
                        req.unknown = true;
                        break;
                case 'n':
                        errno = 0;
                        v = strtoull(optarg, &end, 10);
                        if (errno || *end || optarg[0] == '-' || v < 1 || v > PROTO_LIMIT_MAX)
                                return ctl_usage_error("--limit must be 1..%d", PROTO_LIMIT_MAX);
                        req.limit = (unsigned)v;
                        break;
                case 'j':
                        c->json = true;
                        break;
                default:
                        return ctl_usage_error("invalid option for 'admin users'");
                }
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (req.limit && !req.unknown)
                return ctl_usage_error("--limit goes with --unknown");
        if (!caller_is_admin(c))
                return refuse(c, "list users");
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, req.unknown ? unknown_table : users_table);
}

/* ---- admin reset-mfa ---- */

static void reset_text(const struct proto_obj *res)
{
        int64_t n = ctl_get_int(res, "devices_removed", 0);
        const char *user = ctl_get_str(res, "user");

        printf("MFA reset for %s: %lld device%s and all backup codes removed.\n", user, (long long)n,
               n == 1 ? "" : "s");
        printf("%s is told at the next login, and can set MFA up again with 'mlsecctl mfa enable'.\n", user);
}

static int cmd_reset_mfa(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_ADMIN_RESET_MFA};
        struct proto_obj *res = NULL;
        struct admin_opts o;
        const char *user;
        int r;

        r = need_user_arg(argc, argv, "reset-mfa", &user);
        if (r)
                return r;
        r = parse_opts(c, argc, argv, 2, "reset-mfa", "r", &o);
        if (r)
                return r;
        if (!o.reason)
                return ctl_usage_error("admin reset-mfa needs --reason TEXT (it goes into the audit log)");
        if (!text_ok(o.reason, PROTO_REASON_MAX))
                return ctl_usage_error("--reason must be 1 to %d bytes of text without control characters",
                                       PROTO_REASON_MAX - 1);
        if (!caller_is_admin(c))
                return refuse(c, "reset a user's MFA");
        snprintf(req.user, sizeof(req.user), "%s", user);
        snprintf(req.reason, sizeof(req.reason), "%s", o.reason);
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, reset_text);
}

/* ---- admin unlock ---- */

static void unlock_text(const struct proto_obj *res)
{
        int64_t n = ctl_get_int(res, "lockouts_removed", 0);
        const char *source = ctl_get_str(res, "source");

        printf("%s: %lld lockout%s lifted%s%s; failure counters reset.\n", ctl_get_str(res, "user"), (long long)n,
               n == 1 ? "" : "s", source[0] ? " for " : "", source);
}

static int cmd_unlock(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_ADMIN_UNLOCK};
        struct proto_obj *res = NULL;
        char code[64] = "", msg[256] = "";
        struct admin_opts o;
        const char *user;
        int r;

        r = need_user_arg(argc, argv, "unlock", &user);
        if (r)
                return r;
        r = parse_opts(c, argc, argv, 2, "unlock", "s", &o);
        if (r)
                return r;
        if (o.source && !text_ok(o.source, PROTO_SOURCE_MAX))
                return ctl_usage_error("invalid --source '%s'", o.source);
        if (!caller_is_admin(c))
                return refuse(c, "unlock a user");
        snprintf(req.user, sizeof(req.user), "%s", user);
        if (o.source)
                snprintf(req.source, sizeof(req.source), "%s", o.source);
        r = client_call(c->conf.socket, &req, CALL_TIMEOUT_MS, &res, code, sizeof(code), msg, sizeof(msg));
        if ((r == -ENOENT || r == -ECONNREFUSED) && geteuid() == 0) {
                /* root's recovery path: mlsecctl.c unlocks on the store itself */
                fprintf(stderr, "mlsecctl: mlsecd is not running; unlocking directly on the credential store\n");
                return -1;
        }
        if (r == -EREMOTEIO) {
                fprintf(stderr, "mlsecctl: %s\n", msg[0] ? msg : code);
                return EXIT_FAILURE;
        }
        if (r == -ENOENT || r == -ECONNREFUSED) {
                fprintf(stderr, "mlsecctl: mlsecd is not running (no one listens on %s)\n", c->conf.socket);
                return EXIT_FAILURE;
        }
        if (r < 0)
                return ctl_fail("talking to mlsecd", r);
        return ctl_print_or_json(c, res, unlock_text);
}

/* ---- history, sessions, audit, logout over every user ---- */

static int cmd_activity(struct ctl *c, const char *sub, int argc, char **argv)
{
        char *args[ARGS_MAX + 2];
        char all[] = "--all";
        bool named = false, verify = false;
        int n = 0;

        if (argc > ARGS_MAX)
                return ctl_usage_error("too many arguments");
        for (int i = 0; i < argc; i++) {
                if (i > 0 && (strcmp(argv[i], "--user") == 0 || strncmp(argv[i], "--user=", 7) == 0 ||
                              strcmp(argv[i], "--all") == 0))
                        named = true;
                if (i > 0 && strcmp(argv[i], "--verify") == 0)
                        verify = true;
                args[n++] = argv[i];
        }
        if (!named && strcmp(sub, "logout") != 0)
                args[n++] = all; /* every user unless one is named */
        args[n] = NULL;
        if (!caller_is_admin(c))
                return refuse(c, strcmp(sub, "logout") == 0 ? "log out another user's session"
                                 : verify                   ? "verify the audit log"
                                                            : "read every user's activity");
        if (strcmp(sub, "history") == 0)
                return ctl_history(c, n, args);
        if (strcmp(sub, "sessions") == 0)
                return ctl_sessions(c, n, args);
        if (strcmp(sub, "audit") == 0)
                return ctl_audit(c, n, args, true);
        return ctl_logout(c, n, args);
}

int ctl_admin_remote(struct ctl *c, const char *sub, int argc, char **argv)
{
        if (is_help(sub) || strcmp("help", sub) == 0) {
                fputs(admin_help, stdout);
                return EXIT_SUCCESS;
        }
        /* status without a USER: mlsecd's own state (ctl_spool.c) */
        if (strcmp(sub, "status") == 0 && (argc < 2 || argv[1][0] == '-'))
                return ctl_admin_status(c, argc, argv);
        if (wants_help(argc, argv))
                for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
                        if (strcmp(sub, helps[i].sub) == 0) {
                                fputs(helps[i].help, stdout);
                                return EXIT_SUCCESS;
                        }
        if (strcmp(sub, "import-google-authenticator") == 0)
                return ctl_import_gauth(c, argc, argv);
        if (strcmp(sub, "users") == 0)
                return cmd_users(c, argc, argv);
        if (strcmp(sub, "reset-mfa") == 0)
                return cmd_reset_mfa(c, argc, argv);
        if (strcmp(sub, "unlock") == 0)
                return cmd_unlock(c, argc, argv);
        if (strcmp(sub, "alerts") == 0)
                return caller_is_admin(c) || wants_help(argc, argv) ? ctl_admin_alerts(c, argc, argv)
                                                                    : refuse(c, "read alerts");
        if (strcmp(sub, "history") == 0 || strcmp(sub, "sessions") == 0 || strcmp(sub, "audit") == 0 ||
            strcmp(sub, "logout") == 0)
                return cmd_activity(c, sub, argc, argv);
        return -1; /* enroll, backup-codes, status, disable: mlsecctl.c's direct path */
}
