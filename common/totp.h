/* SPDX-License-Identifier: MIT */
/* TOTP (RFC 6238) code generation and base32, through liboath. The only liboath user.
 * Only generates codes; deciding whether an answer is acceptable is verify.c's job. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_PERIOD         30
#define TOTP_PERIOD_MIN     1 /* seconds per step a device may have (google-authenticator's range) */
#define TOTP_PERIOD_MAX     60
#define TOTP_SECRET_DEFAULT 20 /* 160 bits */
#define TOTP_SECRET_MAX     64
#define TOTP_CODE_MAX       9 /* 8 digits + NUL */
#define TOTP_BASE32_MAX     128

enum totp_alg { TOTP_SHA1, TOTP_SHA256, TOTP_SHA512 };

int totp_init(void);
/* "sha1" "sha256" "sha512" <-> enum; parse returns -EINVAL on anything else. */
const char *totp_alg_to_string(enum totp_alg a);
int totp_alg_from_string(const char *s, enum totp_alg *ret);
/* "SHA1" "SHA256" "SHA512" as otpauth:// URIs spell it */
const char *totp_alg_to_uri(enum totp_alg a);

/* The time step that contains T. */
uint64_t totp_step(time_t t);
/* The same for steps of PERIOD seconds (TOTP_PERIOD_MIN..MAX; anything else: TOTP_PERIOD). */
uint64_t totp_step_period(time_t t, unsigned period);

/* The code for STEP, as a NUL-terminated string of DIGITS (6 or 8) characters. */
int totp_generate(const uint8_t *secret, size_t len, enum totp_alg alg, unsigned digits, uint64_t step,
                  char ret[TOTP_CODE_MAX]);
/* The same for steps of PERIOD seconds; -EINVAL for a period out of range. */
int totp_generate_period(const uint8_t *secret, size_t len, enum totp_alg alg, unsigned digits, unsigned period,
                         uint64_t step, char ret[TOTP_CODE_MAX]);

/* Base32 (RFC 4648, no padding in output; spaces, dashes, lowercase and padding accepted in input). */
int totp_base32_encode(const uint8_t *in, size_t len, char *ret, size_t retmax);
int totp_base32_decode(const char *in, uint8_t *ret, size_t retmax, size_t *ret_len);
