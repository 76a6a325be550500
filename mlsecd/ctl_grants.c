/* SPDX-License-Identifier: MIT */
/* mlsecctl's remembered grants (remember_seconds in mlsec.conf): `forget` ends the
 * caller's own, `admin forget USER` another user's, through mlsecd; the overview's lines
 * listing them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

static const char forget_help[] =
        "Usage: mlsecctl forget [--json]\n"
        "       mlsecctl admin forget USER [--json]\n"
        "End every remembered grant (remember_seconds, remember_tty_seconds in mlsec.conf): the\n"
        "next login from each address, or on each terminal, is asked for a code again. A grant\n"
        "also ends by itself, and at a password change, an MFA reset or disable, a removed\n"
        "device and 'mlsecctl logout --others'. 'mlsecctl status' lists them.\n";

/* "N remembered sources forgotten; ..." after PREFIX ("USER: " for admin forget, or ""). */
static void print_forgotten(const char *prefix, const struct proto_obj *res)
{
        int64_t n = ctl_get_int(res, "grants_removed", 0);

        printf("%s%lld remembered source%s forgotten; the next login from %s asks for a code again.\n", prefix,
               (long long)n, n == 1 ? "" : "s", n == 1 ? "it" : "each");
}

static void forget_text(const struct proto_obj *res)
{
        char prefix[EVENT_USER_MAX * 4 + 4]; /* the name as ctl_get_str escapes it */

        snprintf(prefix, sizeof(prefix), "%s: ", ctl_get_str(res, "user"));
        print_forgotten(prefix, res);
}

static void own_forget_text(const struct proto_obj *res)
{
        print_forgotten("", res);
}

/* ARGV[0] is the command; FIRST: index of the first option (after USER for admin forget). */
static int parse_json_only(struct ctl *c, int argc, char **argv, int first, const char *what)
{
        for (int i = first; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        c->json = true;
                else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        fputs(forget_help, stdout);
                        return -1;
                } else
                        return ctl_usage_error("invalid argument for '%s': %s", what, argv[i]);
        }
        return 0;
}

int ctl_forget(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_FORGET};
        struct proto_obj *res = NULL;
        int r = parse_json_only(c, argc, argv, 1, "forget");

        if (r)
                return r < 0 ? EXIT_SUCCESS : r; /* -1: --help was printed */
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, own_forget_text);
}

int ctl_admin_forget(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_ADMIN_FORGET};
        struct proto_obj *res = NULL;
        int r;

        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                fputs(forget_help, stdout);
                return EXIT_SUCCESS;
        }
        if (argc < 2 || argv[1][0] == '-')
                return ctl_usage_error("admin forget needs a USER");
        if (strlen(argv[1]) >= sizeof(req.user))
                return ctl_usage_error("admin forget: the user name is too long");
        r = parse_json_only(c, argc, argv, 2, "admin forget");
        if (r)
                return r < 0 ? EXIT_SUCCESS : r; /* -1: --help was printed */
        snprintf(req.user, sizeof(req.user), "%s", argv[1]);
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, forget_text);
}

void ctl_grants_status(const struct proto_obj *res)
{
        struct proto_obj *gs = proto_obj_get(res, "remembered");
        size_t n = proto_array_len(gs);
        int64_t now = time(NULL);
        char tb[64];

        for (size_t i = 0; i < n; i++) {
                struct proto_obj *g = proto_array_get(gs, i);
                const char *tty = ctl_get_str(g, "tty");

                printf("%s%s%s via %s, no code asked; ends %s\n", i == 0 ? "Remembered:       " : "                  ",
                       tty[0] ? "terminal " : "", tty[0] ? tty : ctl_get_str(g, "source"), ctl_get_str(g, "service"),
                       ctl_fmt_ago(ctl_get_int(g, "expires", 0), now, tb, sizeof(tb)));
                proto_obj_free(g);
        }
        proto_obj_free(gs);
}
