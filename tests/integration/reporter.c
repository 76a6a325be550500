/* SPDX-License-Identifier: MIT */
/* reporter: sends N auth events through report_event (to mlsecd, or to the spool when it
 * does not answer), as the PAM module does, and writes each event id to a file, so a test
 * can check that every one was stored exactly once. Optionally P processes at once.
 * Usage: reporter CONF N IDS_FILE [PROCESSES] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "event.h"
#include "report.h"
#include "seal.h"

static int run(const struct mlsec_conf *c, long n, FILE *ids, int worker)
{
        long spooled = 0;

        for (long i = 0; i < n; i++) {
                struct mlsec_event e;
                bool sp = false;

                event_init(&e, EVENT_AUTH);
                e.pid = getpid();
                snprintf(e.user, sizeof(e.user), "burst%02d", (int)(i % 50));
                snprintf(e.service, sizeof(e.service), "reporter");
                snprintf(e.result, sizeof(e.result), i % 3 ? "ok" : "fail");
                snprintf(e.reason, sizeof(e.reason), i % 3 ? "ok" : "wrong code");
                snprintf(e.method, sizeof(e.method), "totp");
                snprintf(e.rhost, sizeof(e.rhost), "192.0.2.%d", (int)(i % 250) + 1);
                if (report_event(c, &e, &sp) < 0) {
                        fprintf(stderr, "reporter: event %ld lost\n", i);
                        return 1;
                }
                spooled += sp;
                fprintf(ids, "%s\n", e.id);
        }
        fflush(ids);
        fprintf(stderr, "reporter[%d]: %ld events, %ld spooled\n", worker, n, spooled);
        return 0;
}

int main(int argc, char **argv)
{
        struct mlsec_conf c;
        char err[CONF_ERR_MAX];
        int procs = argc > 4 ? atoi(argv[4]) : 1, bad = 0;
        long n;

        if (argc < 4 || (n = atol(argv[2])) <= 0 || procs < 1) {
                fprintf(stderr, "usage: reporter CONF N IDS_FILE [PROCESSES]\n");
                return 2;
        }
        if (conf_load(argv[1], &c, err, sizeof(err)) < 0 || seal_init() < 0) {
                fprintf(stderr, "reporter: %s\n", err);
                return 1;
        }
        for (int p = 0; p < procs; p++) {
                pid_t pid = fork();
                if (pid == 0) {
                        char path[4096];
                        FILE *f;
                        snprintf(path, sizeof(path), "%s.%d", argv[3], p);
                        f = fopen(path, "w");
                        _exit(f ? run(&c, n / procs, f, p) : 1);
                }
        }
        for (int p = 0; p < procs; p++) {
                int st;
                if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
                        bad++;
        }
        return bad ? 1 : 0;
}
