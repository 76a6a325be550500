/* SPDX-License-Identifier: MIT */
/* mlsecd's messages to the journal: one structured entry per event with a MESSAGE_ID per
 * kind and MLSEC_* fields, so existing log pipelines can select and forward them, and the
 * daemon's own status lines. The only sd-journal user. Untrusted text is escaped. */
#pragma once

#include <stdint.h>

#include "event.h"

/* MESSAGE_IDs (stable; documented in INSTALL). */
#define JOURNAL_MID_AUTH_OK       "2d653c4a58ce4f3685ff759b6cab9629"
#define JOURNAL_MID_AUTH_FAIL     "177c79cb17c84fe4954b6eb28ef4e5a7"
#define JOURNAL_MID_SESSION_OPEN  "abc5335cc5774f03acafa073d4e03b2b"
#define JOURNAL_MID_SESSION_CLOSE "727126b588294eadb97c3c4c870c4c2a"
#define JOURNAL_MID_AUDIT         "69c0d38ee4fd4242a49a1ed1babaefd9"
#define JOURNAL_MID_DAEMON        "e16b86a6e1df4e13a84b386710447730"
/* The spool (common/spool.c): events that could not be kept while mlsecd was down, a file
 * refused by the spool reader, the audit reserve short of space. */
#define JOURNAL_MID_SPOOL_LOST    "25498ea020d847f0b901228a6461c457"
#define JOURNAL_MID_SPOOL_BAD     "3779ae7b3292457a8b547a2aefe01565"
#define JOURNAL_MID_SPOOL_RESERVE "5e856aa2af2e453ab9e4ea09bc3ceacb"
/* Alerts: an audit entry whose action is "alert-" and the rule (mlsecd/rules.c) or
 * "user-report" (handlers_alerts.c), one MESSAGE_ID each; JOURNAL_MID_ALERT for any other
 * "alert-" action. */
#define JOURNAL_MID_ALERT               "335ebfc8652d4b9aade9405e55c699be"
#define JOURNAL_MID_ALERT_NEW_COUNTRY   "321fb559764a4360a3059eeb95371e96"
#define JOURNAL_MID_ALERT_TRAVEL        "4825e4a2706e4b5380fd8efa58b995ec"
#define JOURNAL_MID_ALERT_FAILURE_BURST "dd17134cea5d4e10adf320598f6ced0b"
#define JOURNAL_MID_ALERT_AFTER_LOCKOUT "fef04bc3ca304538bcd84f2eb5a5d1d0"
#define JOURNAL_MID_ALERT_BACKUP_CODE   "0c442ecbe4c54f1796c68e846482e797"
#define JOURNAL_MID_ALERT_USER_REPORT   "b4e01a38c04c466f9692b2132327bd47"

/* One entry for E: MESSAGE (a sentence for people), MESSAGE_ID by kind and result (for an
 * audit entry of an alert, JOURNAL_MID_ALERT_* by its kind, priority warning),
 * MLSEC_EVENT_ID, MLSEC_KIND, MLSEC_USER, MLSEC_UID, MLSEC_SERVICE, MLSEC_RHOST, MLSEC_IP,
 * MLSEC_TTY, MLSEC_METHOD, MLSEC_RESULT, MLSEC_REASON, MLSEC_SESSION, MLSEC_ACTION,
 * MLSEC_ACTOR_UID (each only when known). */
void journal_event(const struct mlsec_event *e);

/* Events the spool could not keep (a full or failing spool filesystem): NEW_AUDIT and
 * NEW_OTHER since the last report, TOTAL_AUDIT and TOTAL_OTHER since the spool's counter was
 * made. Priority error when an audit event is among the new ones, warning otherwise. Fields
 * MLSEC_SPOOL_DIR, MLSEC_LOST_AUDIT, MLSEC_LOST_OTHER, MLSEC_LOST_AUDIT_TOTAL,
 * MLSEC_LOST_OTHER_TOTAL. */
void journal_spool_lost(const char *dir, uint64_t new_audit, uint64_t new_other, uint64_t total_audit,
                        uint64_t total_other);
/* A spool file moved to DIR/bad/ (not ingested), and WHY (a phrase of spool_bad_to_string);
 * warning, fields MLSEC_SPOOL_DIR, MLSEC_SPOOL_FILE, MLSEC_SPOOL_REASON. */
void journal_spool_bad(const char *dir, const char *name, const char *why);
/* The audit reserve holds READY of SLOTS files (READY < SLOTS: REASON, e.g. strerror of
 * ENOSPC), or is whole again; warning, or info when whole. Fields MLSEC_SPOOL_DIR,
 * MLSEC_RESERVE_READY, MLSEC_RESERVE_SLOTS. */
void journal_spool_reserve(const char *dir, unsigned ready, unsigned slots, const char *reason);

/* A daemon status line (start, stop, errors): PRIORITY is a syslog level. */
void journal_daemon(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
