/* SPDX-License-Identifier: MIT */
/* Shared by the files of mlsecctl: its options, exit codes and the small helpers every
 * command uses to report errors and print times for people. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

#define EXIT_USAGE 2

struct ctl {
        const char *conf_path;
        struct mlsec_conf conf;
        bool json;
        bool no_qr;
};

int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "mlsecctl: WHAT: strerror" on stderr; returns EXIT_FAILURE. */
int ctl_fail(const char *what, int r);
/* "2026-11-28 20:01:02 UTC" in local time, "never" for t <= 0 (seconds). */
const char *ctl_fmt_time(int64_t t, char *buf, size_t len);
/* "3 hours ago", "just now", "in 2 minutes" relative to NOW (seconds). */
const char *ctl_fmt_ago(int64_t t, int64_t now, char *buf, size_t len);

/* ctl_activity.c: history, sessions, logout, audit (through mlsecd). */
int ctl_history(struct ctl *c, int argc, char **argv);
int ctl_sessions(struct ctl *c, int argc, char **argv);
int ctl_logout(struct ctl *c, int argc, char **argv);
int ctl_audit(struct ctl *c, int argc, char **argv, bool admin_verify);
/* An audit entry for a change mlsecctl made directly on the store: to mlsecd, or spooled. */
void ctl_audit_change(struct ctl *c, const char *user, const char *action, const char *detail);
