/* SPDX-License-Identifier: MIT */
/* credentials.db: users' devices (sealed secrets), last accepted TOTP step, backup-code
 * hashes, failures and lockouts. The only file that includes <sqlite3.h> for this store.
 * It stores and fetches; the rules (what is accepted, when a source is locked) live in
 * verify.c. It never sees a secret in clear, and never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "source.h"
#include "totp.h"

#define STORE_DB_NAME        "credentials.db"
#define STORE_SCHEMA_VERSION 5
#define STORE_NAME_MAX       64         /* device name, bytes incl. NUL */
#define STORE_SOURCE_MAX     256        /* failure source (remote host or tty), bytes incl. NUL */
#define STORE_REMOTE_ALL     "*remote*" /* lockout source that covers every remote source */
#define STORE_LOCAL_ALL      "*local*"  /* lockout source that covers every local terminal but the consoles */
#define STORE_USER_MAX       64         /* user name, bytes incl. NUL */
#define STORE_PWHASH_MAX     128        /* an argon2id string (crypto_pwhash_STRBYTES) */
#define STORE_NOTICE_MAX     512        /* a notice for the next login, bytes incl. NUL */
#define STORE_SERVICE_MAX    64         /* a grant's service, terminal or session key, bytes incl. NUL */
/* The mode bits store_open refuses, besides an owner other than the effective uid: a state
 * directory writable by group or others, a credentials.db open to them at all. */
#define STORE_DIR_FORBIDDEN_MODE  0022
#define STORE_FILE_FORBIDDEN_MODE 0077

struct store;

struct store_device {
        int64_t id;
        char name[STORE_NAME_MAX];
        enum totp_alg alg;
        unsigned digits;
        unsigned period; /* seconds per step (TOTP_PERIOD unless imported with another) */
        uint8_t *sealed; /* malloc'd sealed secret */
        size_t sealed_len;
        int64_t last_step; /* -1 when never used */
        int64_t created;
        int64_t last_used; /* 0 when never used */
};

struct store_backup {
        int64_t id;
        uint8_t hash[SEAL_HASH_BYTES];
};

struct store_lockout {
        char source[STORE_SOURCE_MAX];
        int64_t locked_at;
        int64_t until;
};

/* A remembered grant (schema 5): what it is bound to. SESSION is "" for a remote source,
 * TTY and SESSION are "" for one. */
struct store_grant_key {
        const char *user, *source, *service, *tty, *session;
};
struct store_grant {
        char source[STORE_SOURCE_MAX];
        char service[STORE_SERVICE_MAX];
        char tty[STORE_SERVICE_MAX];
        int64_t granted, expires;
        uint8_t pwfp[SEAL_HASH_BYTES]; /* fingerprint of the password when granted (find only) */
};

/* Open STATE_DIR/credentials.db, creating dir (0700) and file (0600) when create is set,
 * migrating the schema to STORE_SCHEMA_VERSION. Checks that the directory and the file
 * are owned by the effective uid and not writable (dir) / readable (file) by others:
 * -EPERM otherwise. -ENOENT when the database does not exist and create is false.
 * -EBADMSG for a file that is not a valid database or has a newer schema. Sets a busy
 * timeout so parallel logins wait for one another instead of failing. */
int store_open(const char *state_dir, bool create, struct store **ret);
struct store *store_close(struct store *s);

/* Copy the WAL back into the database file and truncate it. Logins leave that to later
 * commits (it costs fsyncs); call it after a change that removed secrets, so that their
 * old pages are overwritten at once, and before copying the file. */
int store_checkpoint(struct store *s);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. A transaction makes check-and-consume atomic
 * across processes. */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
/* One operation that must be atomic on its own: its own BEGIN IMMEDIATE when no transaction
 * is open, else a savepoint inside the caller's (mlsecd's group commit). store_op_end
 * commits or releases when R >= 0, else rolls the operation back, and returns R (or the
 * commit's error). */
int store_op_begin(struct store *s, bool *ret_own);
int store_op_end(struct store *s, bool own, int r);
/* Is a transaction open on S? */
bool store_in_transaction(struct store *s);

/* Devices. *ret is a malloc'd array (NULL when n == 0), free with store_devices_free. */
int store_list_devices(struct store *s, const char *user, struct store_device **ret, size_t *ret_n);
struct store_device *store_devices_free(struct store_device *d, size_t n);
/* -EEXIST when USER already has a device called NAME. */
int store_add_device(struct store *s, const char *user, const char *name, enum totp_alg alg, unsigned digits,
                     const uint8_t *sealed, size_t sealed_len, int64_t now);
/* The same with a step of PERIOD seconds (TOTP_PERIOD_MIN..MAX) and LAST_STEP (>= -1, in
 * steps of PERIOD) already used: an imported device keeps the codes it already spent. */
int store_add_device_period(struct store *s, const char *user, const char *name, enum totp_alg alg, unsigned digits,
                            unsigned period, int64_t last_step, const uint8_t *sealed, size_t sealed_len, int64_t now);
/* Record that DEVICE_ID accepted STEP at NOW (step only ever moves forward). */
int store_device_accepted(struct store *s, int64_t device_id, int64_t step, int64_t now);
/* Remove USER's device called NAME; -ENOENT when there is none. Backup codes stay: the
 * caller decides what removing the last device means (enroll.c). */
int store_remove_device(struct store *s, const char *user, const char *name);
/* Remove every device and backup code of USER; *ret_removed counts devices. */
int store_remove_user_mfa(struct store *s, const char *user, unsigned *ret_removed);

/* Backup codes: the unused ones. */
int store_list_backup_codes(struct store *s, const char *user, struct store_backup **ret, size_t *ret_n);
/* Replace every backup code of USER (used or not) with N new hashes. */
int store_replace_backup_codes(struct store *s, const char *user, const uint8_t (*hashes)[SEAL_HASH_BYTES], size_t n,
                               int64_t now);
/* Mark one used; -ESTALE if it was already used. */
int store_use_backup_code(struct store *s, int64_t id, int64_t now);

/* Failures. SOURCE is a remote host or a tty; CLS says which (source.h). */
int store_add_failure(struct store *s, const char *user, const char *source, enum source_class cls, int64_t now);
/* Count failures of USER at or after SINCE: from SOURCE, or from every source of class CLS. */
int store_count_failures(struct store *s, const char *user, const char *source, int64_t since, unsigned *ret);
int store_count_class_failures(struct store *s, const char *user, enum source_class cls, int64_t since, unsigned *ret);
/* Forget failures of USER from SOURCE (NULL: from every source). */
int store_clear_failures(struct store *s, const char *user, const char *source);
/* Delete failures older than BEFORE and lockouts that ended before it. */
int store_prune(struct store *s, int64_t before);

/* Lockouts. SOURCE may be STORE_REMOTE_ALL or STORE_LOCAL_ALL. get: the newest lockout of that source,
 * -ENOENT when there is none (expired ones are still returned until pruned). */
int store_get_lockout(struct store *s, const char *user, const char *source, struct store_lockout *ret);
int store_set_lockout(struct store *s, const char *user, const char *source, int64_t locked_at, int64_t until);
/* Lockouts of USER still active at NOW. */
int store_list_lockouts(struct store *s, const char *user, int64_t now, struct store_lockout **ret, size_t *ret_n);
/* Remove lockouts and failures of USER for SOURCE (NULL: all; a remote host in any spelling,
 * source.h); *ret_n counts lockouts removed. */
int store_unlock(struct store *s, const char *user, const char *source, unsigned *ret_n);

/* Every user the store knows (ever enrolled, or locked now), sorted. *ret is malloc'd. */
int store_list_users(struct store *s, char (**ret)[STORE_USER_MAX], size_t *ret_n);

/* Password history: argon2id strings (seal_password_hash), newest first. add keeps only
 * the newest KEEP of USER's. */
int store_add_password(struct store *s, const char *user, const char *hash, unsigned keep, int64_t now);
int store_list_passwords(struct store *s, const char *user, unsigned max, char (**ret)[STORE_PWHASH_MAX],
                         size_t *ret_n);

/* Notices for USER's next login: added by an administrator's action, taken (read and
 * deleted in one transaction) by the module when a session opens. *ret is malloc'd. */
int store_add_notice(struct store *s, const char *user, const char *text, int64_t now);
int store_take_notices(struct store *s, const char *user, char (**ret)[STORE_NOTICE_MAX], size_t *ret_n);

/* MFA policy grace periods (schema 3): when the account stack first let USER in without a
 * device. start: record NOW unless a start is already recorded, and give the recorded one
 * in *ret_started (atomic: two parallel logins agree on one start). get: -ENOENT when
 * none. clear: forget it (an administrator's reset-mfa); no row is not an error. */
int store_grace_start(struct store *s, const char *user, int64_t now, int64_t *ret_started);
int store_get_grace(struct store *s, const char *user, int64_t *ret_started);
int store_clear_grace(struct store *s, const char *user);

/* Remembered grants (schema 5). add: create or renew the grant of G until EXPIRES. find:
 * the grant of exactly G still valid at NOW, -ENOENT when none. list: USER's grants valid
 * at NOW, newest first (at most 100; *ret malloc'd). forget: remove every grant of USER
 * (*ret_n counts them; may be NULL). Removing a device removes its user's grants
 * (a trigger), and store_prune the expired ones. */
int store_add_grant(struct store *s, const struct store_grant_key *g, const uint8_t pwfp[SEAL_HASH_BYTES],
                    int64_t now, int64_t expires);
int store_find_grant(struct store *s, const struct store_grant_key *g, int64_t now, struct store_grant *ret);
int store_list_grants(struct store *s, const char *user, int64_t now, struct store_grant **ret, size_t *ret_n);
int store_forget_grants(struct store *s, const char *user, unsigned *ret_n);
