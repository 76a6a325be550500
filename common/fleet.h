/* SPDX-License-Identifier: MIT */
/* Fleet mode (mlsec.conf fleet_db): the host's side of the fleet's PostgreSQL API
 * (pgext/schema_v1.sql). The only libpq user. Every call is bounded by fleet_timeout,
 * connecting included (non-blocking libpq and poll), so a stopped or hung database costs a
 * login at most that long and never lets it in. The host is whatever role the engine
 * authenticated (its client certificate); nothing here names it. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup.h"
#include "conf.h"
#include "verify.h"

#define FLEET_SCHEMA_VERSION 1
#define FLEET_ERR_MAX        256
#define FLEET_URI_MAX        512

struct fleet;

/* Is fleet mode on? */
bool fleet_configured(const struct mlsec_conf *c);

/* Connect to C->fleet_db within fleet_timeout. -ETIMEDOUT, -ECONNREFUSED (any other failure
 * to connect: refused, authentication, TLS); ERR says what the server or libpq said. */
int fleet_open(const struct mlsec_conf *c, struct fleet **ret, char *err, size_t errlen);
struct fleet *fleet_close(struct fleet *f);
/* Is the connection still usable (no call on it failed for the network)? */
bool fleet_ok(const struct fleet *f);
/* The last error's words (the server's message, or libpq's), "" when none. */
const char *fleet_error(const struct fleet *f);

/* The two steps of a login, as verify_before_code and verify_answer decide them, run in the
 * database (the host tells whether the source is in its trusted_networks and what its
 * unenrolled policy is). r < 0: nothing was decided (fail closed): -ETIMEDOUT, -ECONNRESET,
 * -EPERM (the role is not a host of the fleet), -EIO (the server refused the call). */
int fleet_before_code(struct fleet *f, const struct mlsec_conf *c, const struct verify_request *req,
                      struct verify_pass *ret);
int fleet_answer(struct fleet *f, const struct verify_request *req, struct verify_result *ret);

/* Self-service and administration, each one API call. enrol_begin: the otpauth URI and the
 * base32 secret (secrets: wipe), -EPERM without the proof. enrol_confirm: *ret_result is
 * "ok", "wrong code" (tries left), "expired"; a first device fills ret_codes (*ret_n_codes). */
int fleet_enrol_begin(struct fleet *f, const char *user, const char *device, unsigned digits,
                      char uri[FLEET_URI_MAX], char secret[TOTP_BASE32_MAX]);
int fleet_enrol_confirm(struct fleet *f, const char *user, const char *code, char *ret_result, size_t resultlen,
                        unsigned *ret_tries, char ret_codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN],
                        size_t *ret_n_codes, char ret_device[STORE_NAME_MAX]);
int fleet_backup_codes(struct fleet *f, const char *user, char ret[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN]);
/* -ENOENT: no such device */
int fleet_remove_device(struct fleet *f, const char *user, const char *device);
int fleet_disable(struct fleet *f, const char *user, unsigned *ret_removed);
int fleet_unlock(struct fleet *f, const char *user, unsigned *ret_n);
int fleet_reset(struct fleet *f, const char *user, unsigned *ret_removed);
struct fleet_device {
        char name[STORE_NAME_MAX];
        char alg[8];
        unsigned digits;
        int64_t created, last_used; /* last_used -1: never */
        char created_on[CONF_HOST_NAME_MAX];
};
/* USER's devices, at most MAX, in RET; *ret_n how many. */
int fleet_devices(struct fleet *f, const char *user, struct fleet_device *ret, size_t max, size_t *ret_n);
/* A host's own device moved into the fleet (sealed there under the fleet key): 1 imported,
 * 0 the user has this secret in the fleet already, -EEXIST the name is another device's.
 * Admin hosts only (-EPERM). */
int fleet_import_device(struct fleet *f, const char *user, const char *device, const char *alg, unsigned digits,
                        unsigned period, int64_t last_step, const uint8_t *secret, size_t secret_len);

/* USER's lockouts active now (at most MAX), as store.h spells them: the source as the fleet
 * keeps it (a terminal with @HOST). */
int fleet_lockouts(struct fleet *f, const char *user, struct store_lockout *ret, size_t max, size_t *ret_n);
/* USER's device count, unused backup codes and sources locked now. */
int fleet_summary(struct fleet *f, const char *user, unsigned *ret_devices, unsigned *ret_backup_left,
                  unsigned *ret_locked);

struct fleet_status {
        char host[CONF_HOST_NAME_MAX]; /* the role the engine says we are */
        bool admin;
        int schema_version;
        int64_t db_time;
        char sync_standbys[256]; /* synchronous_standby_names; "" when none */
        bool in_recovery;
};
int fleet_status(struct fleet *f, struct fleet_status *ret);

/* ---- the database owner's side (mlsecctl admin fleet) ------------------------------------ */
/* Connect with an administrator's connection string (a superuser or the schema's owner). */
int fleet_admin_open(const char *conninfo, unsigned timeout_s, struct fleet **ret, char *err, size_t errlen);
/* Create the schema (or migrate it to FLEET_SCHEMA_VERSION) with SQL, MODULE the absolute path
 * of mlsec_fleet.so on the database server, and the fleet key. *ret_from: the version found
 * (0: none). */
int fleet_admin_init(struct fleet *f, const char *sql, const char *module, int *ret_from, int *ret_to,
                     char *key_path, size_t keylen);
/* A host role NAME (LOGIN, member of mlsec_host, no table rights), registered; ADMIN: an
 * admin host (reset, import). -EEXIST when it exists. */
int fleet_admin_add_host(struct fleet *f, const char *name, bool admin);
