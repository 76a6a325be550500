/* SPDX-License-Identifier: MIT */
/* Secrets at rest: the root-only key file, sealing of TOTP secrets (XChaCha20-Poly1305
 * with the user name as associated data), keyed hashes of backup codes, random bytes,
 * constant-time comparison and wiping. The only file that includes <sodium.h>.
 * It never logs and never returns a secret in an error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_BYTES  32
#define SEAL_HASH_BYTES 32
#define SEAL_OVERHEAD   40 /* 24-byte nonce + 16-byte tag */
#define SEAL_SECRET_MAX 128
/* The mode bits seal_key_load refuses in the key file (with an owner other than the
 * effective uid): any permission for group or others. */
#define SEAL_KEY_FORBIDDEN_MODE 0077

struct seal_key; /* opaque; lives in locked, guarded memory */

/* One-time library initialisation; safe to call many times and from many threads. */
int seal_init(void);

/* Load the key file. Refuses (-EPERM) a file not owned by the effective uid or with any
 * group/other permission bit, (-EINVAL) one of the wrong size, and follows no symlink.
 * With create=true and the file missing, creates it 0600 with fresh random bytes (and its
 * directory 0700 if missing). -ENOENT when missing and create=false. */
int seal_key_load(const char *path, bool create, struct seal_key **ret);
struct seal_key *seal_key_free(struct seal_key *k);

/* Seal PLAIN (len <= SEAL_SECRET_MAX) for USER. *ret is malloc'd, *ret_len = len + SEAL_OVERHEAD. */
int seal_encrypt(const struct seal_key *k, const char *user, const uint8_t *plain, size_t len, uint8_t **ret,
                 size_t *ret_len);
/* Open a sealed blob for USER into OUT (outmax >= blob_len - SEAL_OVERHEAD).
 * -EBADMSG when the blob was tampered with or belongs to another user. */
int seal_decrypt(const struct seal_key *k, const char *user, const uint8_t *blob, size_t blob_len, uint8_t *out,
                 size_t outmax, size_t *ret_len);

/* Keyed hash of a backup code (already normalised) for USER. */
int seal_hash_code(const struct seal_key *k, const char *user, const char *code, uint8_t ret[SEAL_HASH_BYTES]);

/* One link of a hash chain (the audit log): BLAKE2b-256 keyed with a subkey of the key
 * file over PREV (32 bytes; zeros for the first link) followed by DATA. */
int seal_chain_hash(const struct seal_key *k, const uint8_t prev[SEAL_HASH_BYTES], const void *data, size_t len,
                    uint8_t ret[SEAL_HASH_BYTES]);

/* argon2id password hash (for the password history) and its check. */
int seal_password_hash(const char *password, char *ret, size_t retlen);
int seal_password_check(const char *hash, const char *password, bool *ret_match);

void seal_random(void *buf, size_t len);
uint32_t seal_random_uniform(uint32_t upper_bound);
/* Constant-time equality of two buffers of the same length. */
bool seal_equal(const void *a, const void *b, size_t len);
void seal_wipe(void *buf, size_t len);
/* Zeroed memory for secrets that live long (a daemon's): locked against swapping and
 * between guard pages (sodium_malloc). NULL when out of memory. free wipes; NULL is fine. */
void *seal_secure_alloc(size_t len);
void seal_secure_free(void *p);
/* Wipe a NUL-terminated string in place and free it; returns NULL. */
char *seal_wipe_free_str(char *s);
