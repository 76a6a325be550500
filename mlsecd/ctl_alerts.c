/* SPDX-License-Identifier: MIT */
/* mlsecctl's alerts: `report EVENT_ID [--note TEXT]` flags one of the caller's own login
 * events for the administrators (the id or a prefix of it: mlsecd resolves it among the
 * caller's own events), `admin alerts` lists the rules' alerts and the users' reports and
 * acknowledges one (--ack ID), and the overview's "Alerts" lines. Every string from the reply
 * is made safe for the terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "event.h"
#include "proto.h"
#include "util.h"

static const char report_help[] =
        "Usage: mlsecctl report EVENT_ID [--note TEXT] [--json]\n"
        "Flag one of your own login events as suspicious (not you, or not as you remember it): the\n"
        "administrators see it in 'mlsecctl admin alerts'. EVENT_ID is the ID column of 'mlsecctl history'\n"
        "(its first 12 hex digits), the \"id\" of 'mlsecctl history --json', or any start of it of at\n"
        "least 8 digits that no other event of yours shares; the overview's alerts show them too.\n"
        "  --note TEXT   what you know about it (at most 255 bytes)\n"
        "  --json        machine-readable output\n";

static const char alerts_help[] =
        "Usage: mlsecctl admin alerts [--user NAME] [--open] [--limit N] [--json]\n"
        "       mlsecctl admin alerts --ack ALERT_ID [--json]\n"
        "Alerts of the suspicious-activity rules and users' reports of their own events, newest first.\n"
        "  --user NAME   only NAME's\n"
        "  --open        only those not acknowledged\n"
        "  --limit N     at most N (1..1000, default 50)\n"
        "  --ack ID      acknowledge (close) alert ID\n";

static bool wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        return false;
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return true;
        }
        return false;
}

static void report_text(const struct proto_obj *res)
{
        printf("Reported: event %s is alert %lld for the administrators.\n", ctl_get_str(res, "event_id"),
               (long long)ctl_get_int(res, "alert", 0));
        printf("If it was not you, change your password ('mlsecctl password') and end your other sessions\n"
               "('mlsecctl logout --others').\n");
}

int ctl_report(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {
                {"note", required_argument, NULL, 'n'}, {"json", no_argument, NULL, 'j'}, {0}};
        struct proto_request req = {.method = PROTO_REPORT_EVENT};
        struct proto_obj *res = NULL;
        const char *note = NULL;
        char tmp[PROTO_NOTE_MAX];
        int opt;

        if (wants_help(argc, argv)) {
                fputs(report_help, stdout);
                return EXIT_SUCCESS;
        }
        optind = 0; /* 0: glibc starts afresh, permuting (main parsed with "+") */
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (opt == 'n')
                        note = optarg;
                else if (opt == 'j')
                        c->json = true;
                else
                        return ctl_usage_error("invalid option for 'report'");
        }
        if (optind != argc - 1)
                return ctl_usage_error("report needs one EVENT_ID (the ID column of 'mlsecctl history')");
        if (!event_id_prefix_valid(argv[optind], strlen(argv[optind]) + 1)) /* mlsecd decides which event */
                return ctl_usage_error("an event id is %d to %d lower-case hex digits: the ID column of 'mlsecctl "
                                       "history' or the start of the \"id\" of its --json",
                                       PROTO_EVENT_ID_PREFIX_MIN, EVENT_ID_LEN);
        if (note && (!note[0] || strlen(note) >= sizeof(req.note) || event_set_text(tmp, sizeof(tmp), note) < 0))
                return ctl_usage_error("--note must be 1 to %d bytes of text without control characters",
                                       PROTO_NOTE_MAX - 1);
        snprintf(req.event_id, sizeof(req.event_id), "%s", argv[optind]);
        if (note)
                snprintf(req.note, sizeof(req.note), "%s", note);
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, report_text);
}

static void alerts_table(const struct proto_obj *res)
{
        struct proto_obj *xs = proto_obj_get(res, "alerts");
        size_t n = proto_array_len(xs);
        int64_t now = time(NULL);
        struct ctl_table *t;

        if (n == 0) {
                printf("No alerts.\n");
                proto_obj_free(xs);
                return;
        }
        t = ctl_table_new(8, "ID", "TIME", "WHEN", "USER", "KIND", "STATE", "EVENT", "DETAIL");
        for (size_t i = 0; i < n; i++) {
                struct proto_obj *x = proto_array_get(xs, i);
                int64_t tm = ctl_get_int(x, "time_us", 0) / 1000000;
                char id[24], tb[64], ab[64], detail[EVENT_DETAIL_MAX * 2 + 16];
                bool open = false;

                (void)proto_obj_get_bool(x, "open", &open);
                snprintf(id, sizeof(id), "%lld", (long long)ctl_get_int(x, "id", 0));
                if (ctl_get_str(x, "note")[0])
                        snprintf(detail, sizeof(detail), "%s; note: \"%s\"", ctl_get_str(x, "detail"),
                                 ctl_get_str(x, "note"));
                else
                        snprintf(detail, sizeof(detail), "%s", ctl_get_str(x, "detail"));
                ctl_table_add(t, id, ctl_fmt_time(tm, tb, sizeof(tb)), ctl_fmt_ago(tm, now, ab, sizeof(ab)),
                              ctl_get_str(x, "user"), ctl_get_str(x, "kind"), open ? "open" : "acknowledged",
                              ctl_get_str(x, "event_id"), detail);
                proto_obj_free(x);
        }
        ctl_table_print(stdout, t, NULL);
        ctl_table_free(t);
        proto_obj_free(xs);
}

static void ack_text(const struct proto_obj *res)
{
        printf("Alert %lld (%s of %s) acknowledged.\n", (long long)ctl_get_int(res, "alert", 0),
               ctl_get_str(res, "kind"), ctl_get_str(res, "user"));
}

int ctl_admin_alerts(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {
                {"user", required_argument, NULL, 'u'},  {"open", no_argument, NULL, 'o'},
                {"limit", required_argument, NULL, 'n'}, {"ack", required_argument, NULL, 'k'},
                {"json", no_argument, NULL, 'j'},        {0}};
        struct proto_request req = {.method = PROTO_ADMIN_ALERTS};
        struct proto_obj *res = NULL;
        bool listing = false;
        int opt;

        if (wants_help(argc, argv)) {
                fputs(alerts_help, stdout);
                return EXIT_SUCCESS;
        }
        optind = 0; /* 0: glibc starts afresh, permuting (main parsed with "+") */
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                char *end;
                unsigned long long v;

                switch (opt) {
                case 'u':
                        if (!util_user_valid(optarg))
                                return ctl_usage_error("invalid user name '%s'", optarg);
                        snprintf(req.user, sizeof(req.user), "%s", optarg);
                        listing = true;
                        break;
                case 'o':
                        req.open_only = true;
                        listing = true;
                        break;
                case 'n':
                        errno = 0;
                        v = strtoull(optarg, &end, 10);
                        if (errno || *end || optarg[0] == '-' || v < 1 || v > PROTO_LIMIT_MAX)
                                return ctl_usage_error("--limit must be 1..%d", PROTO_LIMIT_MAX);
                        req.limit = (unsigned)v;
                        listing = true;
                        break;
                case 'k':
                        errno = 0;
                        v = strtoull(optarg, &end, 10);
                        if (errno || *end || optarg[0] == '-' || v < 1 || v > INT64_MAX)
                                return ctl_usage_error("--ack needs an alert id (the ID column)");
                        req.alert = (int64_t)v;
                        break;
                case 'j':
                        c->json = true;
                        break;
                default:
                        return ctl_usage_error("invalid option for 'admin alerts'");
                }
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (req.alert && listing)
                return ctl_usage_error("--ack takes no other option but --json");
        if (req.alert) {
                struct proto_request ack = {.method = PROTO_ADMIN_ALERT_ACK, .alert = req.alert};
                if (ctl_call(c, &ack, &res) < 0)
                        return EXIT_FAILURE;
                return ctl_print_or_json(c, res, ack_text);
        }
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, alerts_table);
}

void ctl_alerts_status(const struct proto_obj *res, const char *warn, const char *off)
{
        struct proto_obj *al = proto_obj_get(res, "alerts"), *latest = proto_obj_get(al, "latest");
        int64_t open = ctl_get_int(al, "open", 0), now = time(NULL);
        size_t n = proto_array_len(latest);

        if (!al) /* an older mlsecd */
                return;
        if (open == 0)
                printf("Alerts:           none open\n");
        else
                printf("Alerts:           %s%lld open%s%s\n", warn, (long long)open, off,
                       (size_t)open > n ? ", the newest:" : "");
        for (size_t i = 0; i < n; i++) {
                struct proto_obj *x = proto_array_get(latest, i);
                int64_t tm = ctl_get_int(x, "time_us", 0) / 1000000;
                char ab[64];

                printf("  %s!%s %s, %s: %s (event %s)\n", warn, off, ctl_get_str(x, "kind"),
                       ctl_fmt_ago(tm, now, ab, sizeof(ab)), ctl_get_str(x, "detail"), ctl_get_str(x, "event_id"));
                proto_obj_free(x);
        }
        if (open > 0)
                printf("                  not you? 'mlsecctl report EVENT_ID', 'mlsecctl password', 'mlsecctl logout "
                       "--others'\n");
        proto_obj_free(latest);
        proto_obj_free(al);
}
