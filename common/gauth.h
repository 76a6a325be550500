/* SPDX-License-Identifier: MIT */
/* Migration from google-authenticator-libpam: reading a ~/.google_authenticator file
 * (owner, mode, size checked; no symlink), parsing it (a base32 secret, `" OPTION` lines,
 * eight-digit scratch codes) with a strict bounded parser, the notes an administrator must
 * read about options mlsec does not carry over, and storing the result as a device and
 * backup codes in one transaction. It never logs, never puts file contents into an error
 * message, and wipes every buffer that held the file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "seal.h"
#include "store.h"
#include "totp.h"

#define GAUTH_FILE_NAME      ".google_authenticator"
#define GAUTH_FILE_MAX       4096 /* bytes: the tool writes about 200 */
#define GAUTH_LINE_MAX       512  /* bytes of one line, without its newline */
#define GAUTH_SECRET_MIN     16   /* base32 characters: 80 bits, the oldest files */
#define GAUTH_SECRET_MAX     (TOTP_BASE32_MAX - 1)
#define GAUTH_SCRATCH_MAX    10 /* the tool makes at most 10 */
#define GAUTH_SCRATCH_DIGITS 8
#define GAUTH_STEP_DEFAULT   30
#define GAUTH_WINDOW_DEFAULT 3 /* google-authenticator's WINDOW_SIZE: codes, not steps each side */
#define GAUTH_DEVICE_DEFAULT "google-authenticator"
#define GAUTH_NOTE_MAX       320
#define GAUTH_NOTES_MAX      16
#define GAUTH_ERR_MAX        160

struct gauth_file {
        char secret_b32[TOTP_BASE32_MAX]; /* upper case, no blanks: a secret */
        size_t secret_len;                /* bytes it decodes to */
        unsigned step;                    /* STEP_SIZE, seconds (1..60) */
        unsigned window;                  /* WINDOW_SIZE (1..100) */
        bool window_set;
        bool totp_auth;      /* TOTP_AUTH */
        bool hotp;           /* HOTP_COUNTER: counter-based, which mlsec does not have */
        bool disallow_reuse; /* DISALLOW_REUSE */
        int64_t last_step;   /* the newest step DISALLOW_REUSE lists, -1 for none */
        bool rate_limit;     /* RATE_LIMIT n m */
        unsigned rate_attempts, rate_seconds;
        bool time_skew; /* TIME_SKEW n: a learnt clock offset */
        long time_skew_steps;
        bool state_ignored;  /* RESETTING_TIME_SKEW, LAST0..LAST9: the module's own state */
        char unknown[4][40]; /* options this parser does not know (names only) */
        size_t n_unknown;
        char scratch[GAUTH_SCRATCH_MAX][GAUTH_SCRATCH_DIGITS + 1]; /* secrets */
        size_t n_scratch;
        size_t n_scratch_dup; /* repeated scratch codes, kept once */
};

/* Read PATH into BUF (GAUTH_FILE_MAX + 1 bytes at least), NUL-terminated, as the caller
 * (root). The file must be a regular file (not a symlink: O_NOFOLLOW), with one link, owned
 * by OWNER (or by root when allow_root), not writable by group or others, 1..GAUTH_FILE_MAX
 * bytes: -ELOOP (a symlink), -EINVAL (not a regular file), -EPERM (owner), -EACCES (mode),
 * -EMLINK (links), -EFBIG (size), or open's error. *ret_why gets a fixed sentence for
 * people on failure. BUF is wiped on failure. */
int gauth_read_file(const char *path, uid_t owner, bool allow_root, char *buf, size_t bufmax, size_t *ret_len,
                    const char **ret_why);

/* Parse LEN bytes of BUF. -EINVAL (malformed), -E2BIG (too many scratch codes),
 * -EMSGSIZE (too large), -EOPNOTSUPP (an HOTP file: ret is filled so the caller can say
 * so); ERR gets a fixed sentence with at most a line number and an option name, never the
 * file's contents. RET is written only on success and for -EOPNOTSUPP; the parser's own
 * copy is wiped either way. */
int gauth_parse(const char *buf, size_t len, struct gauth_file *ret, char *err, size_t errlen);
void gauth_clear(struct gauth_file *f);

/* The sentences an administrator must read before relying on the import: each option that
 * has no exact equivalent and what mlsec does instead (with C's values). Returns how many
 * notes were written to RET (at most MAX). */
size_t gauth_notes(const struct gauth_file *f, const struct mlsec_conf *c, char (*ret)[GAUTH_NOTE_MAX], size_t max);

/* What mlsecd stores for one import. */
struct gauth_import {
        const char *user;
        const char *device;     /* NULL: GAUTH_DEVICE_DEFAULT */
        const char *secret_b32; /* a secret */
        unsigned digits;        /* 6 (the tool) or 8 */
        unsigned period;        /* seconds */
        int64_t last_step;      /* -1: none */
        const char (*scratch)[GAUTH_SCRATCH_DIGITS + 1];
        size_t n_scratch;
        bool replace; /* remove USER's devices and backup codes first */
        time_t now;
};

/* In one transaction: refuse (-EEXIST) a user with a device unless replace, else remove
 * them; add the device (its secret sealed, last_step recorded as used); make the scratch
 * codes USER's only backup codes (hashed like mlsec's own). *ret_replaced counts devices
 * removed. -EINVAL for a bad name, secret, period, digits or scratch code. */
int gauth_import(struct store *s, const struct seal_key *k, const struct gauth_import *req, unsigned *ret_replaced);
