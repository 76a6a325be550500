/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every program: validating and escaping untrusted strings
 * (user names, remote hosts, ttys) and formatting durations for people. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define UTIL_USER_MAX 64 /* bytes incl. NUL */

/* A user name we accept: 1..63 bytes of [A-Za-z0-9._-], optionally ending in '$', not
 * starting with '-'. */
bool util_user_valid(const char *user);

/* Copy IN into OUT (outlen > 0), bounded, replacing every byte outside printable ASCII and
 * every backslash/quote with \xNN, truncating with "..." when it does not fit. Safe for
 * log lines and terminals. Returns OUT. */
char *util_escape(const char *in, char *out, size_t outlen);

/* "4 minutes 12 seconds", "1 hour 3 minutes", "12 seconds". */
char *util_duration(long seconds, char *out, size_t outlen);
