/* SPDX-License-Identifier: MIT */
/* mlsecctl's account-activity commands: history, sessions, logout and audit, each one
 * request to mlsecd (which decides from SO_PEERCRED what the caller may see), shown as a
 * table for people or passed through as JSON for scripts. Also the audit entries for the
 * changes mlsecctl's admin path makes directly on the store. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ctl.h"
#include "event.h"
#include "proto.h"
#include "report.h"
#include "session.h"
#include "util.h"

#define CALL_TIMEOUT_MS 10000

/* Options shared by the read commands. */
struct read_opts {
        const char *user;
        bool all, failed, closed, verify, help, others;
        unsigned limit;
};

static const struct {
        const char *cmd, *text;
} help_texts[] = {
        {"history", "Usage: mlsecctl history [--limit N] [--failed] [--user NAME | --all] [--json]\n"
                    "Login attempts, newest first: id (the first 12 hex digits; 'mlsecctl report' takes\n"
                    "them), time, result, reason, method, service, user, from, place, tty.\n"
                    "  --limit N     at most N entries (1..1000, default 50)\n"
                    "  --failed      only failed attempts\n"
                    "  --user NAME   another user's (administrators)\n"
                    "  --all         every user's (administrators)\n"
                    "  --json        machine-readable output\n"},
        {"sessions", "Usage: mlsecctl sessions [--closed] [--limit N] [--user NAME | --all] [--json]\n"
                     "Sessions with their systemd-logind id; live ones are checked with logind.\n"
                     "  --closed      also sessions that ended, and how\n"
                     "  --limit N     at most N entries (1..1000, default 50)\n"
                     "  --user NAME   another user's (administrators)\n"
                     "  --all         every user's (administrators)\n"
                     "  --json        machine-readable output\n"},
        {"logout", "Usage: mlsecctl logout SESSION_ID [--json]\n"
                   "       mlsecctl logout --others [--json]\n"
                   "End a session (yours, or anyone's for administrators) through systemd-logind;\n"
                   "a session still there 5 seconds later is killed. The ids are in 'mlsecctl sessions'.\n"
                   "  --others      end every live session of yours but the one this runs in: the step\n"
                   "                to take after suspicious activity\n"},
        {"audit", "Usage: mlsecctl audit [--limit N] [--user NAME | --all] [--json]\n"
                  "Security-relevant changes, newest first: who did what, when.\n"
                  "  --limit N     at most N entries (1..1000, default 50)\n"
                  "  --user NAME   another user's (administrators)\n"
                  "  --all         every user's (administrators)\n"
                  "  --json        machine-readable output\n"},
};

/* --help or -h anywhere among a read command's arguments: its text on stdout. */
static bool show_help(int argc, char **argv, const char *cmd)
{
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        for (size_t k = 0; k < sizeof(help_texts) / sizeof(help_texts[0]); k++)
                                if (strcmp(help_texts[k].cmd, cmd) == 0)
                                        fputs(help_texts[k].text, stdout);
                        return true;
                }
        return false;
}

static int parse_read_opts(struct ctl *c, int argc, char **argv, const char *cmd, const char *allowed,
                           struct read_opts *o)
{
        static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"limit", required_argument, NULL, 'n'},
                                             {"failed", no_argument, NULL, 'f'},
                                             {"closed", no_argument, NULL, 'c'},
                                             {"verify", no_argument, NULL, 'v'},
                                             {"others", no_argument, NULL, 'o'},
                                             {"json", no_argument, NULL, 'j'},
                                             {0}};
        int opt;

        *o = (struct read_opts){0};
        if (show_help(argc, argv, cmd)) {
                o->help = true;
                return 0;
        }
        optind = 1;
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                char *end;
                if (opt != 'j' && (opt == '?' || !strchr(allowed, opt)))
                        return ctl_usage_error("invalid option for '%s'", cmd);
                switch (opt) {
                case 'u':
                        if (!util_user_valid(optarg))
                                return ctl_usage_error("invalid user name '%s'", optarg);
                        o->user = optarg;
                        break;
                case 'a':
                        o->all = true;
                        break;
                case 'n':
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || v < 1 || v > PROTO_LIMIT_MAX || optarg[0] == '-')
                                return ctl_usage_error("--limit must be 1..%d", PROTO_LIMIT_MAX);
                        o->limit = (unsigned)v;
                        break;
                case 'f':
                        o->failed = true;
                        break;
                case 'c':
                        o->closed = true;
                        break;
                case 'v':
                        o->verify = true;
                        break;
                case 'o':
                        o->others = true;
                        break;
                case 'j':
                        c->json = true;
                        break;
                }
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (o->user && o->all)
                return ctl_usage_error("--user and --all exclude each other");
        return 0;
}

/* One call to mlsecd with a message for people when it fails. */
int ctl_call(struct ctl *c, const struct proto_request *req, struct proto_obj **ret)
{
        char code[64] = "", msg[256] = "";
        int r;

        r = client_call(c->conf.socket, req, CALL_TIMEOUT_MS, ret, code, sizeof(code), msg, sizeof(msg));
        if (r == -EREMOTEIO) {
                fprintf(stderr, "mlsecctl: %s\n", msg[0] ? msg : code);
                return -EREMOTEIO;
        }
        if (r == -ENOENT || r == -ECONNREFUSED) {
                fprintf(stderr, "mlsecctl: mlsecd is not running (no one listens on %s)\n", c->conf.socket);
                return r;
        }
        if (r == -EPERM) {
                fprintf(stderr, "mlsecctl: %s is not served by root; nothing was sent to it\n", c->conf.socket);
                return r;
        }
        if (r == -ETIMEDOUT) {
                fprintf(stderr, "mlsecctl: mlsecd did not answer within %d seconds\n", CALL_TIMEOUT_MS / 1000);
                return r;
        }
        if (r < 0)
                return ctl_fail("talking to mlsecd", r), r;
        return 0;
}

int64_t ctl_get_int(const struct proto_obj *o, const char *key, int64_t def)
{
        int64_t v;

        return proto_obj_get_int(o, key, &v) < 0 ? def : v;
}

/* A string of the reply, made safe for the terminal: it may hold what a remote client sent
 * (a host name), and must not be able to move the cursor. Rotates through a few buffers so
 * one printf can show several fields. */
const char *ctl_get_str(const struct proto_obj *o, const char *key)
{
        static char bufs[12][EVENT_DETAIL_MAX * 4];
        static unsigned next;
        const char *s = proto_obj_get_str(o, key);
        char *b = bufs[next++ % 12];

        size_t i = 0;

        if (!s)
                return "";
        /* quotes and UTF-8 stay as they are; control bytes (never valid in an event, but the
         * reply is not trusted) become '?' */
        for (; s[i] && i < sizeof(bufs[0]) - 1; i++)
                b[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
        b[i] = '\0';
        return b;
}

int ctl_print_or_json(struct ctl *c, struct proto_obj *res, void (*table)(const struct proto_obj *res))
{
        int r = 0;

        if (c->json)
                r = proto_obj_print(stdout, res);
        else
                table(res);
        proto_obj_free(res);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void fill_target(struct proto_request *req, const struct read_opts *o)
{
        if (o->user)
                snprintf(req->user, sizeof(req->user), "%s", o->user);
        req->all = o->all;
        req->limit = o->limit;
}

/* An event's short id for the ID column: its first CTL_EVENT_ID_SHORT hex digits, like git's
 * short ids; anything else the reply might hold is shown as "-". */
static const char *short_id(const struct proto_obj *e, char *buf, size_t len)
{
        const char *id = proto_obj_get_str(e, "id");

        if (!event_id_valid(id) || len <= CTL_EVENT_ID_SHORT)
                return "-";
        memcpy(buf, id, CTL_EVENT_ID_SHORT);
        buf[CTL_EVENT_ID_SHORT] = '\0';
        return buf;
}

static void history_table(const struct proto_obj *res)
{
        struct proto_obj *ev = proto_obj_get(res, "events");
        size_t n = proto_array_len(ev);
        int64_t now = time(NULL);
        struct ctl_table *t;

        if (n == 0) {
                printf("No login attempts recorded.\n");
                proto_obj_free(ev);
                return;
        }
        t = ctl_table_new(11, "ID", "TIME", "WHEN", "RESULT", "REASON", "METHOD", "SERVICE", "USER", "FROM", "PLACE",
                          "TTY");
        for (size_t i = 0; i < n; i++) {
                struct proto_obj *e = proto_array_get(ev, i);
                struct proto_obj *place = proto_obj_get(e, "place");
                int64_t tm = ctl_get_int(e, "time_us", 0) / 1000000;
                char id[CTL_EVENT_ID_SHORT + 1], tb[64], ab[64];
                const char *from = ctl_get_str(e, "ip")[0] ? ctl_get_str(e, "ip") : ctl_get_str(e, "rhost");
                const char *where = ctl_get_str(place, "description");

                ctl_table_add(t, short_id(e, id, sizeof(id)), ctl_fmt_time(tm, tb, sizeof(tb)),
                              ctl_fmt_ago(tm, now, ab, sizeof(ab)), ctl_get_str(e, "result"), ctl_get_str(e, "reason"),
                              ctl_get_str(e, "method"), ctl_get_str(e, "service"), ctl_get_str(e, "user"),
                              from[0] ? from : "local", where[0] ? where : "-", ctl_get_str(e, "tty"));
                proto_obj_free(place);
                proto_obj_free(e);
        }
        ctl_table_print(stdout, t, NULL);
        ctl_table_free(t);
        proto_obj_free(ev);
}

int ctl_history(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_HISTORY};
        struct proto_obj *res = NULL;
        struct read_opts o;
        int r;

        r = parse_read_opts(c, argc, argv, "history", "uanf", &o);
        if (r)
                return r;
        if (o.help)
                return EXIT_SUCCESS;
        fill_target(&req, &o);
        req.failed_only = o.failed;
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, history_table);
}

static void sessions_table(const struct proto_obj *res)
{
        struct proto_obj *ss = proto_obj_get(res, "sessions");
        size_t n = proto_array_len(ss);
        int64_t now = time(NULL);
        struct ctl_table *t = NULL;
        bool live = false;

        (void)proto_obj_get_bool(res, "live", &live);
        if (n == 0)
                printf("No sessions.\n");
        else
                t = ctl_table_new(7, "ID", "USER", "SERVICE", "FROM", "TTY", "OPENED", "STATE");
        for (size_t i = 0; i < n; i++) {
                struct proto_obj *s = proto_array_get(ss, i);
                int64_t opened = ctl_get_int(s, "opened_us", 0) / 1000000,
                        closed = ctl_get_int(s, "closed_us", 0) / 1000000;
                char tb[64], ab[64], opened_s[128], state[160];
                const char *from = ctl_get_str(s, "ip")[0] ? ctl_get_str(s, "ip") : ctl_get_str(s, "rhost");
                bool is_live = false;

                (void)proto_obj_get_bool(s, "live", &is_live);
                snprintf(opened_s, sizeof(opened_s), "%s (%s)", ctl_fmt_time(opened, tb, sizeof(tb)),
                         ctl_fmt_ago(opened, now, ab, sizeof(ab)));
                if (closed) {
                        int64_t by = ctl_get_int(s, "ended_by_uid", -1);
                        char ab2[64];
                        if (by >= 0)
                                snprintf(state, sizeof(state), "ended %s (%s by uid %lld)",
                                         ctl_fmt_ago(closed, now, ab2, sizeof(ab2)), ctl_get_str(s, "end_reason"),
                                         (long long)by);
                        else
                                snprintf(state, sizeof(state), "ended %s (%s)",
                                         ctl_fmt_ago(closed, now, ab2, sizeof(ab2)), ctl_get_str(s, "end_reason"));
                } else {
                        snprintf(state, sizeof(state), "%s",
                                 is_live ? "active"
                                 : live  ? "open (not in logind)"
                                         : "open");
                }
                ctl_table_add(t, ctl_get_str(s, "id")[0] ? ctl_get_str(s, "id") : "-", ctl_get_str(s, "user"),
                              ctl_get_str(s, "service"), from[0] ? from : "local", ctl_get_str(s, "tty"), opened_s,
                              state);
                proto_obj_free(s);
        }
        ctl_table_print(stdout, t, NULL);
        ctl_table_free(t);
        proto_obj_free(ss);
        if (!live)
                printf("\nNote: mlsecd has no connection to systemd-logind: sessions are as recorded, not "
                       "live-checked.\n");
}

int ctl_sessions(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_SESSIONS};
        struct proto_obj *res = NULL;
        struct read_opts o;
        int r;

        r = parse_read_opts(c, argc, argv, "sessions", "uanc", &o);
        if (r)
                return r;
        if (o.help)
                return EXIT_SUCCESS;
        fill_target(&req, &o);
        req.include_closed = o.closed;
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, sessions_table);
}

static void logout_text(const struct proto_obj *res)
{
        printf("Session %s of %s logged out.\n", ctl_get_str(res, "session"), ctl_get_str(res, "user"));
}

/* The logind session this process runs in: XDG_SESSION_ID (pam_systemd), else its cgroup. */
static int current_session(char *ret, size_t len)
{
        const char *env = getenv("XDG_SESSION_ID");

        if (env && *env && event_set_text(ret, len, env) >= 0)
                return 0;
        return session_of_pid(0, ret, len);
}

/* logout --others: every live session of the caller's but the current one. */
static int logout_others(struct ctl *c)
{
        struct proto_request req = {.method = PROTO_SESSIONS};
        struct proto_obj *res = NULL, *ss, *done = NULL;
        char current[EVENT_SESSION_MAX];
        size_t n, ended = 0, failed = 0;
        bool live = false;

        if (current_session(current, sizeof(current)) < 0) {
                fprintf(stderr, "mlsecctl: this is not running in a logind session, so there is no \"current\" one "
                                "to keep: end sessions by id (mlsecctl sessions, mlsecctl logout ID)\n");
                return EXIT_FAILURE;
        }
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        (void)proto_obj_get_bool(res, "live", &live);
        if (!live) {
                fprintf(stderr, "mlsecctl: mlsecd has no connection to systemd-logind: cannot log sessions out\n");
                proto_obj_free(res);
                return EXIT_FAILURE;
        }
        ss = proto_obj_get(res, "sessions");
        n = proto_array_len(ss);
        done = c->json ? proto_array_new() : NULL;
        for (size_t i = 0; i < n; i++) {
                struct proto_obj *s = proto_array_get(ss, i), *lr = NULL;
                struct proto_request lq = {.method = PROTO_LOGOUT};
                const char *id = proto_obj_get_str(s, "id");
                bool is_live = false;

                (void)proto_obj_get_bool(s, "live", &is_live);
                if (is_live && id && strcmp(id, current) != 0 &&
                    event_set_text(lq.session, sizeof(lq.session), id) >= 0) {
                        if (ctl_call(c, &lq, &lr) < 0) {
                                failed++;
                        } else {
                                ended++;
                                if (done)
                                        (void)proto_array_add_str(done, id);
                                else
                                        printf("Session %s (%s%s%s) logged out.\n", ctl_get_str(s, "id"),
                                               ctl_get_str(s, "service"), ctl_get_str(s, "ip")[0] ? " from " : "",
                                               ctl_get_str(s, "ip"));
                        }
                        proto_obj_free(lr);
                }
                proto_obj_free(s);
        }
        proto_obj_free(ss);
        proto_obj_free(res);
        /* logging the others out also ends what they could come back with: remembered grants */
        {
                struct proto_request fq = {.method = PROTO_FORGET};
                struct proto_obj *fr = NULL;

                if (ctl_call(c, &fq, &fr) < 0)
                        failed++;
                else if (!done && ctl_get_int(fr, "grants_removed", 0) > 0)
                        printf("%lld remembered source%s forgotten: logging in again asks for a code.\n",
                               (long long)ctl_get_int(fr, "grants_removed", 0),
                               ctl_get_int(fr, "grants_removed", 0) == 1 ? "" : "s");
                proto_obj_free(fr);
        }
        if (done) {
                struct proto_obj *o = proto_obj_new();
                (void)proto_obj_set_str(o, "kept", current);
                (void)proto_obj_set_obj(o, "logged_out", done);
                (void)proto_obj_set_int(o, "failed", (int64_t)failed);
                (void)proto_obj_print(stdout, o);
                proto_obj_free(o);
        } else if (ended == 0 && failed == 0) {
                printf("No other session of yours is active; this one (%s) stays.\n", current);
        } else {
                printf("This session (%s) stays.\n", current);
        }
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int ctl_logout(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_LOGOUT};
        struct proto_obj *res = NULL;
        struct read_opts o;
        const char *id;
        int r;

        if (show_help(argc, argv, "logout"))
                return EXIT_SUCCESS;
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--others") == 0) {
                        r = parse_read_opts(c, argc, argv, "logout", "o", &o);
                        return r ? r : logout_others(c);
                }
        /* the session id is the one positional argument */
        if (argc < 2 || argv[1][0] == '-')
                return ctl_usage_error("logout needs a SESSION_ID or --others (see 'mlsecctl sessions')");
        id = argv[1];
        r = parse_read_opts(c, argc - 1, argv + 1, "logout", "", &o);
        if (r)
                return r;
        if (event_set_text(req.session, sizeof(req.session), id) < 0)
                return ctl_usage_error("invalid session id '%s'", id);
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, logout_text);
}

static void audit_table(const struct proto_obj *res)
{
        struct proto_obj *es = proto_obj_get(res, "entries");
        size_t n = proto_array_len(es);
        int64_t now = time(NULL);
        struct ctl_table *t = NULL;

        if (n == 0)
                printf("No audit entries.\n");
        else
                t = ctl_table_new(7, "SEQ", "TIME", "WHEN", "ACTOR", "USER", "ACTION", "DETAIL");
        for (size_t i = 0; i < n; i++) {
                struct proto_obj *e = proto_array_get(es, i);
                int64_t actor = ctl_get_int(e, "actor_uid", -1), tm = ctl_get_int(e, "time_us", 0) / 1000000;
                char tb[64], wb[64], ab[32], seq[32];

                if (actor >= 0)
                        snprintf(ab, sizeof(ab), "%lld", (long long)actor);
                else
                        snprintf(ab, sizeof(ab), "system");
                snprintf(seq, sizeof(seq), "%lld", (long long)ctl_get_int(e, "seq", 0));
                ctl_table_add(t, seq, ctl_fmt_time(tm, tb, sizeof(tb)), ctl_fmt_ago(tm, now, wb, sizeof(wb)), ab,
                              ctl_get_str(e, "user"), ctl_get_str(e, "action"), ctl_get_str(e, "detail"));
                proto_obj_free(e);
        }
        ctl_table_print(stdout, t, NULL);
        ctl_table_free(t);
        proto_obj_free(es);
}

static void verify_text(const struct proto_obj *res)
{
        bool intact = false;

        (void)proto_obj_get_bool(res, "intact", &intact);
        if (intact)
                printf("Audit log intact: %lld entries checked.\n", (long long)ctl_get_int(res, "checked", 0));
        else
                printf("Audit log TAMPERED: entry #%lld is not what was written (edited, inserted, or an entry "
                       "before it deleted).\n",
                       (long long)ctl_get_int(res, "first_bad", -1));
}

int ctl_audit(struct ctl *c, int argc, char **argv, bool admin)
{
        struct proto_request req = {.method = PROTO_AUDIT};
        struct proto_obj *res = NULL;
        struct read_opts o;
        bool intact = true;
        int r;

        r = parse_read_opts(c, argc, argv, admin ? "admin audit" : "audit", admin ? "uanv" : "uan", &o);
        if (r)
                return r;
        if (o.help)
                return EXIT_SUCCESS;
        if (!o.verify) {
                fill_target(&req, &o);
                if (ctl_call(c, &req, &res) < 0)
                        return EXIT_FAILURE;
                return ctl_print_or_json(c, res, audit_table);
        }
        req.method = PROTO_AUDIT_VERIFY;
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        (void)proto_obj_get_bool(res, "intact", &intact);
        r = ctl_print_or_json(c, res, verify_text);
        return r != EXIT_SUCCESS ? r : intact ? EXIT_SUCCESS : EXIT_FAILURE;
}

void ctl_audit_change(struct ctl *c, const char *user, const char *action, const char *detail)
{
        struct mlsec_event e;
        bool spooled = false;

        event_init(&e, EVENT_AUDIT);
        e.actor_uid = getuid();
        e.pid = getpid();
        (void)event_set_text(e.user, sizeof(e.user), user);
        (void)event_set_text(e.action, sizeof(e.action), action);
        (void)event_set_text(e.detail, sizeof(e.detail), detail);
        (void)event_set_text(e.service, sizeof(e.service), "mlsecctl");
        if (report_event(&c->conf, &e, &spooled) < 0)
                fprintf(stderr,
                        "mlsecctl: warning: the audit entry for this change could not be recorded nor "
                        "spooled in %s\n",
                        c->conf.spool_dir);
}
