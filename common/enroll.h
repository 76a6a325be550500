/* SPDX-License-Identifier: MIT */
/* Enrolment and MFA management on the credential store, written once for mlsecctl's admin
 * path (root, direct) and mlsecd (self-service): create a device and its otpauth:// URI,
 * replace backup codes, disable MFA, unlock, read a user's MFA status. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "backup.h"
#include "seal.h"
#include "store.h"
#include "totp.h"

#define ENROLL_URI_MAX        512
#define ENROLL_DEVICE_DEFAULT "default"

struct enroll_device_req {
        const char *user;
        const char *device;     /* NULL: ENROLL_DEVICE_DEFAULT */
        const char *secret_b32; /* NULL: a fresh random 160-bit secret */
        enum totp_alg alg;
        unsigned digits;    /* 6 or 8 */
        const char *issuer; /* shown in the authenticator app, e.g. the host name */
        time_t now;
};

struct enroll_device_result {
        char uri[ENROLL_URI_MAX];         /* otpauth://totp/... (contains the secret) */
        char secret_b32[TOTP_BASE32_MAX]; /* for manual entry (a secret: wipe) */
};

/* A device name: 1..63 bytes of [A-Za-z0-9._-] and spaces, not starting with a space. */
bool enroll_device_name_valid(const char *name);

/* Create a device in one transaction. -EEXIST when the user has a device of that name,
 * -EINVAL for a bad name, secret (must decode to 10..64 bytes), alg or digits. */
int enroll_device(struct store *s, const struct seal_key *k, const struct enroll_device_req *req,
                  struct enroll_device_result *ret);

/* Replace USER's backup codes with BACKUP_CODE_COUNT new ones, shown once in ret. Only for
 * a user with at least one device (-ENOENT otherwise). */
int enroll_backup_codes(struct store *s, const struct seal_key *k, const char *user, time_t now,
                        char ret[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN]);

struct enroll_status {
        struct store_device *devices; /* sealed secrets are not filled in */
        size_t n_devices;
        unsigned backup_left;
        struct store_lockout *lockouts; /* active ones */
        size_t n_lockouts;
};
int enroll_status(struct store *s, const char *user, time_t now, struct enroll_status *ret);
void enroll_status_clear(struct enroll_status *st);

/* ---- self-service enrolment (mlsecd) ----------------------------------------------------
 * A new device is first only pending: its secret lives in memory until the user proves with
 * a code that the authenticator has it, and is stored only then. */

#define ENROLL_TOKEN_LEN  32 /* hex of 16 random bytes */
#define ENROLL_TRIES      3  /* wrong codes before a pending enrolment is dropped */
#define ENROLL_BACKUP_LOW 3  /* backup codes left at which the user is warned */

struct enroll_pending {
        bool used; /* a slot of a table in use */
        uint32_t uid;
        char token[ENROLL_TOKEN_LEN + 1];
        char user[STORE_USER_MAX];
        char device[STORE_NAME_MAX];
        enum totp_alg alg;
        unsigned digits;
        bool first;                      /* begun without a device: confirmed only while there is still none */
        uint8_t secret[TOTP_SECRET_MAX]; /* a secret */
        size_t secret_len;
        int64_t expires_us;
        unsigned tries_left;
};

/* A fresh random secret for REQ (secret_b32 must be NULL), its URI and base32 in
 * RET_SHOWN (a secret: wipe), nothing stored. RET's uid, token, expiry are not set. */
int enroll_pending_new(const struct enroll_device_req *req, struct enroll_pending *ret,
                       struct enroll_device_result *ret_shown);
/* Does CODE (exactly p->digits digits) match P's secret within WINDOW steps of NOW? 1 and
 * the step matched in *ret_step, or 0. Every step of the window is computed and compared in
 * constant time whatever matches. */
int enroll_pending_check(const struct enroll_pending *p, const char *code, time_t now, unsigned window,
                         int64_t *ret_step);
/* Store P's device in one transaction with STEP recorded as used (the confirming code
 * cannot be replayed), and on the first device 10 backup codes, shown once in ret_codes
 * (*ret_first tells; ret_codes untouched otherwise). -EEXIST: a device of that name exists;
 * -EALREADY: P was begun without a device but one exists now; -ESTALE: P was begun with
 * devices and none is left (e.g. an administrator reset them). */
int enroll_pending_commit(struct store *s, const struct seal_key *k, const struct enroll_pending *p, int64_t step,
                          time_t now, bool *ret_first, char ret_codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN]);

/* Remove USER's device NAME; when it was the last one, the backup codes go too and
 * *ret_mfa_off is set. -ENOENT: no such device. Secrets' pages are overwritten (checkpoint). */
int enroll_remove_device(struct store *s, const char *user, const char *name, bool *ret_mfa_off);
/* Remove every device and backup code of USER; *ret_removed counts devices. */
int enroll_disable(struct store *s, const char *user, unsigned *ret_removed);

/* Pending enrolments of a daemon, bounded per uid and overall, expiring. Lookups compare
 * tokens in constant time; a dropped or expired entry is wiped. */
struct enroll_table;
int enroll_table_new(size_t max_total, size_t max_per_uid, struct enroll_table **ret);
struct enroll_table *enroll_table_free(struct enroll_table *t);
/* Copy P in with a new random token (in *ret_token) for UID, expiring at EXPIRES_US. The
 * uid's oldest entry makes room when it has max_per_uid; -EBUSY when the table is full. */
int enroll_table_add(struct enroll_table *t, uint32_t uid, const struct enroll_pending *p, int64_t expires_us,
                     char ret_token[ENROLL_TOKEN_LEN + 1]);
/* UID's entry with TOKEN still valid at NOW_US (a view into the table), or NULL. */
struct enroll_pending *enroll_table_find(struct enroll_table *t, uint32_t uid, const char *token, int64_t now_us);
void enroll_table_drop(struct enroll_table *t, struct enroll_pending *p);
/* Drop entries expired at NOW_US (every entry for 0); how many were dropped. */
size_t enroll_table_expire(struct enroll_table *t, int64_t now_us);
/* The earliest expiry of an entry, or 0 when the table is empty. */
int64_t enroll_table_next_expiry(const struct enroll_table *t);
size_t enroll_table_count(const struct enroll_table *t, uint32_t uid);

/* The one next step for the overview, most urgent first. */
enum enroll_next {
        ENROLL_NEXT_NONE,
        ENROLL_NEXT_ENABLE_MFA,   /* no device */
        ENROLL_NEXT_REVIEW_LOCKS, /* a source is locked now */
        ENROLL_NEXT_REGENERATE,   /* backup codes low */
        ENROLL_NEXT_REVIEW_FAILS, /* failed attempts since the last login */
};
enum enroll_next enroll_next_step(const struct enroll_status *st, unsigned failed_since);
/* A stable word ("enable-mfa"), the sentence and the command for each. */
const char *enroll_next_to_string(enum enroll_next n);
const char *enroll_next_message(enum enroll_next n);
const char *enroll_next_command(enum enroll_next n);
