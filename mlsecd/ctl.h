/* SPDX-License-Identifier: MIT */
/* Shared by the files of mlsecctl: its options, exit codes and the small helpers every
 * command uses to report errors and print times for people. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "conf.h"
#include "proto.h"

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
/* Why store_open (ctl_store_why) or seal_key_load (ctl_key_why) failed with R, for people. */
const char *ctl_store_why(int r);
const char *ctl_key_why(int r);
/* "2026-11-28 20:01:02 UTC" in local time, "never" for t <= 0 (seconds). */
const char *ctl_fmt_time(int64_t t, char *buf, size_t len);
/* "3 hours ago", "just now", "in 2 minutes" relative to NOW (seconds). */
const char *ctl_fmt_ago(int64_t t, int64_t now, char *buf, size_t len);

/* ctl_activity.c: the helpers of every command that asks mlsecd. */
/* One call with a message for people on stderr when it fails (r < 0). */
int ctl_call(struct ctl *c, const struct proto_request *req, struct proto_obj **ret);
int64_t ctl_get_int(const struct proto_obj *o, const char *key, int64_t def);
/* A string of a reply made safe for the terminal ("" when missing); a few rotating buffers. */
const char *ctl_get_str(const struct proto_obj *o, const char *key);
/* --json: RES as it came; else TABLE(RES). Frees RES. */
int ctl_print_or_json(struct ctl *c, struct proto_obj *res, void (*table)(const struct proto_obj *res));

/* ctl_table.c: a table for people, columns as wide as their widest cell. new takes NCOLS
 * header strings, add NCOLS cell strings (NULL: empty); print ends each row with a newline
 * and puts INDENT (may be NULL) before it. */
struct ctl_table;
struct ctl_table *ctl_table_new(size_t ncols, ...);
void ctl_table_add(struct ctl_table *t, ...);
void ctl_table_print(FILE *f, const struct ctl_table *t, const char *indent);
struct ctl_table *ctl_table_free(struct ctl_table *t);

/* ctl_spool.c: 'admin status' without a user (mlsecd's spool, reserve and losses), and the
 * administrator's overview line about it (WARN/OFF: colour on and off, may be ""). */
int ctl_admin_status(struct ctl *c, int argc, char **argv);
void ctl_spool_status(const struct proto_obj *res, const char *warn, const char *off);

/* ctl_activity.c: history, sessions, logout, audit (through mlsecd). History's ID column
 * shows the first CTL_EVENT_ID_SHORT hex digits of each event id, which report accepts. */
#define CTL_EVENT_ID_SHORT 12
int ctl_history(struct ctl *c, int argc, char **argv);
int ctl_sessions(struct ctl *c, int argc, char **argv);
int ctl_logout(struct ctl *c, int argc, char **argv);
int ctl_audit(struct ctl *c, int argc, char **argv, bool admin_verify);
/* An audit entry for a change mlsecctl made directly on the store: to mlsecd, or spooled. */
void ctl_audit_change(struct ctl *c, const char *user, const char *action, const char *detail);

/* ctl_mfa.c: the user's own settings through mlsecd: status (the overview), mfa
 * enable|add-device|devices|remove|disable, backup-codes [regenerate]. */
int ctl_status(struct ctl *c, int argc, char **argv);
int ctl_mfa(struct ctl *c, int argc, char **argv);
int ctl_backup_codes(struct ctl *c, int argc, char **argv);

/* ctl_admin.c: admin users|reset-mfa|unlock|history|sessions|logout through mlsecd
 * (root and admin_group). Returns -1 when SUB is not one of its commands. */
int ctl_admin_remote(struct ctl *c, const char *sub, int argc, char **argv);

/* ctl_fleet.c: admin fleet init|add-host|status (fleet mode, common/fleet.c). */
int ctl_fleet(struct ctl *c, int argc, char **argv);

/* ctl_import.c: admin import-google-authenticator USER (through mlsecd). */
int ctl_import_gauth(struct ctl *c, int argc, char **argv);
/* ctl_alerts.c: report EVENT_ID (the caller's own events), admin alerts [--ack ID], and
 * the overview's alert lines (WARN/OFF: colour on and off, "" without). */
int ctl_report(struct ctl *c, int argc, char **argv);
int ctl_admin_alerts(struct ctl *c, int argc, char **argv);
void ctl_alerts_status(const struct proto_obj *res, const char *warn, const char *off);

/* ctl_password.c: password (through PAM, service passwd). */
int ctl_password(struct ctl *c, int argc, char **argv);

/* ctl_grants.c: forget (the caller's remembered grants), admin forget USER, and the
 * overview's "Remembered:" lines. */
int ctl_forget(struct ctl *c, int argc, char **argv);
int ctl_admin_forget(struct ctl *c, int argc, char **argv);
void ctl_grants_status(const struct proto_obj *res);

/* ctl_check.c: check-config, the configuration check of sshd -t and visudo -c. Each
 * problem is one line that says what is wrong and how to fix it, said once however many
 * services share the file it is in. An error is a lockout risk: a login that works today
 * would be refused (exit status 1); "insecure" means MFA can be bypassed, a warning that
 * something does not work as meant; neither changes the exit status. */
enum ctl_severity {
        CTL_WARNING,
        CTL_INSECURE,
        CTL_ERROR,
};
struct ctl_report;
/* FILE (escaped here; may be NULL) and LINE (0: none) say where; FMT the rest, with every
 * untrusted string in it already escaped. */
void ctl_report_problem(struct ctl_report *rp, enum ctl_severity sev, const char *file, unsigned line,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int ctl_check_config(struct ctl *c, int argc, char **argv);

/* ctl_check_pam.c: every service of PAMDIR whose stacks name pam_mlsec.so, as libpam reads
 * them; CONF_PATH is the configuration being checked (for their conf= options).
 * *ret_services: how many services use pam_mlsec; *ret_sshd: whether the sshd service's auth
 * stack does. < 0 only when PAMDIR cannot be read at all (already reported). */
int ctl_check_pam(struct ctl_report *rp, const char *pamdir, const char *conf_path, unsigned *ret_services,
                  bool *ret_sshd);
