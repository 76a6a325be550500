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
