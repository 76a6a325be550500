/* SPDX-License-Identifier: MIT */
/* mlsecctl's view of mlsecd's own state: 'admin status' without a user (the spool, its audit
 * reserve, the events it could not keep) and the matching "Spool" line of an administrator's
 * overview. It only prints what mlsecd replied (admin-status, status); mlsecd decides who
 * may see it. Every string of a reply is made safe for the terminal (ctl_get_str). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "proto.h"

static const char status_help[] =
        "Usage: mlsecctl admin status [--json]\n"
        "mlsecd's own state: events waiting in the spool, files moved to its bad/ directory, the\n"
        "spool's audit reserve, and how many events the spool could not keep while mlsecd was down\n"
        "(a full spool filesystem). Through mlsecd; administrators only.\n"
        "With USER: that user's devices, backup codes left and lockouts (see 'admin status USER --help').\n";

static bool spool_troubled(const struct proto_obj *sp)
{
        return ctl_get_int(sp, "lost_audit", 0) + ctl_get_int(sp, "lost_other", 0) > 0 ||
               ctl_get_int(sp, "reserve_ready", 0) < ctl_get_int(sp, "reserve_slots", 0) ||
               ctl_get_int(sp, "bad", 0) > 0;
}

void ctl_spool_status(const struct proto_obj *res, const char *warn, const char *off)
{
        struct proto_obj *sp = proto_obj_get(res, "spool");
        int64_t la = ctl_get_int(sp, "lost_audit", 0), lo = ctl_get_int(sp, "lost_other", 0);

        if (!sp) /* not an administrator, or an older mlsecd */
                return;
        if (!spool_troubled(sp))
                printf("Spool:            nothing lost\n");
        else if (la + lo > 0)
                printf("Spool:            %s%lld event%s lost (%lld audit)%s while mlsecd was down; see 'mlsecctl "
                       "admin "
                       "status'\n",
                       warn, (long long)(la + lo), la + lo == 1 ? "" : "s", (long long)la, off);
        else
                printf("Spool:            %snothing lost, but needs a look%s: see 'mlsecctl admin status'\n", warn,
                       off);
        proto_obj_free(sp);
}

static void status_text(const struct proto_obj *res)
{
        struct proto_obj *sp = proto_obj_get(res, "spool");
        bool counter = false, logind = false;
        int64_t la = ctl_get_int(sp, "lost_audit", 0), lo = ctl_get_int(sp, "lost_other", 0),
                ready = ctl_get_int(sp, "reserve_ready", 0), slots = ctl_get_int(sp, "reserve_slots", 0);

        (void)proto_obj_get_bool(sp, "counter", &counter);
        (void)proto_obj_get_bool(res, "logind", &logind);
        printf("mlsecd:           running, %lld new event(s) stored since start, logind %s\n",
               (long long)ctl_get_int(res, "ingested", 0), logind ? "connected" : "not available");
        printf("Spool:            %s\n", ctl_get_str(sp, "dir"));
        printf("  Waiting:        %lld event(s)\n", (long long)ctl_get_int(sp, "pending", 0));
        printf("  Refused (bad/): %lld file(s)\n", (long long)ctl_get_int(sp, "bad", 0));
        printf("  Audit reserve:  %lld of %lld files ready%s\n", (long long)ready, (long long)slots,
               ready < slots ? " (short: the spool filesystem is full or failing)" : "");
        if (counter)
                printf("  Lost:           %lld audit event(s), %lld other event(s)%s\n", (long long)la, (long long)lo,
                       la + lo ? " could not be kept while mlsecd was down (full spool filesystem)" : "");
        else
                printf("  Lost:           unknown (no loss counter in the spool's reserve/)\n");
        proto_obj_free(sp);
}

int ctl_admin_status(struct ctl *c, int argc, char **argv)
{
        struct proto_request req = {.method = PROTO_ADMIN_STATUS};
        struct proto_obj *res = NULL;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        fputs(status_help, stdout);
                        return EXIT_SUCCESS;
                }
                if (strcmp(argv[i], "--json") == 0)
                        c->json = true;
                else
                        return ctl_usage_error("admin status: unknown option '%s'", argv[i]);
        }
        if (ctl_call(c, &req, &res) < 0)
                return EXIT_FAILURE;
        return ctl_print_or_json(c, res, status_text);
}
