/* SPDX-License-Identifier: MIT */
/* Validating and escaping untrusted strings (user names, remote hosts, ttys) and formatting
 * durations for people. Pure functions over caller buffers: no allocation, no globals, no
 * logging, safe inside the PAM module. Never writes past outlen, always NUL-terminates. */
#include "util.h"

#include <stdio.h>
#include <string.h>

static bool user_char_ok(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
}

bool util_user_valid(const char *user)
{
        size_t n, i;

        if (!user)
                return false;

        n = strnlen(user, UTIL_USER_MAX);
        if (n == 0 || n >= UTIL_USER_MAX)
                return false;
        if (user[0] == '-')
                return false;
        /* "." and ".." would name a directory if a user name ever becomes a path element;
         * shadow's useradd and systemd refuse them too. */
        if (strcmp(user, ".") == 0 || strcmp(user, "..") == 0)
                return false;
        if (user[n - 1] == '$')
                n--; /* Samba machine accounts */
        if (n == 0)
                return false;
        for (i = 0; i < n; i++)
                if (!user_char_ok(user[i]))
                        return false;
        return true;
}

static bool escape_needed(unsigned char c)
{
        return c < 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '\'';
}

/* Bytes the escaped form of C takes. */
static size_t escape_len(unsigned char c)
{
        return escape_needed(c) ? 4 : 1;
}

static size_t escape_put(unsigned char c, char *p)
{
        static const char hex[] = "0123456789abcdef";

        if (!escape_needed(c)) {
                p[0] = (char)c;
                return 1;
        }
        p[0] = '\\';
        p[1] = 'x';
        p[2] = hex[c >> 4];
        p[3] = hex[c & 0xf];
        return 4;
}

char *util_escape(const char *in, char *out, size_t outlen)
{
        const unsigned char *s;
        size_t need = 0, room, pos = 0, i;

        if (!out || outlen == 0)
                return out;
        if (!in)
                in = "(null)";
        s = (const unsigned char *)in;

        for (i = 0; s[i] && need < outlen; i++)
                need += escape_len(s[i]);

        room = outlen - 1;
        if (need <= room) {
                for (i = 0; s[i]; i++)
                        pos += escape_put(s[i], out + pos);
                out[pos] = '\0';
                return out;
        }

        /* Does not fit: keep whole escape sequences only (never half of a "\xNN"), then
         * mark the cut with as much of "..." as fits. */
        for (i = 0; s[i] && pos + escape_len(s[i]) + 3 <= room; i++)
                pos += escape_put(s[i], out + pos);
        for (i = 0; i < 3 && pos < room; i++)
                out[pos++] = '.';
        out[pos] = '\0';
        return out;
}

static const struct {
        const char *singular;
        const char *plural;
        long seconds;
} duration_units[] = {
        {"day", "days", 86400},
        {"hour", "hours", 3600},
        {"minute", "minutes", 60},
        {"second", "seconds", 1},
};

#define N_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

char *util_duration(long seconds, char *out, size_t outlen)
{
        size_t i;
        long hi, lo;

        if (!out || outlen == 0)
                return out;
        /* A remaining time that already ran out reads as "0 seconds", never negative. */
        if (seconds <= 0) {
                (void)snprintf(out, outlen, "0 seconds");
                return out;
        }

        /* The largest non-zero unit and, when not zero, the next one below it. */
        for (i = 0; i + 1 < N_UNITS && seconds < duration_units[i].seconds; i++)
                ;
        hi = seconds / duration_units[i].seconds;
        if (i + 1 < N_UNITS) {
                lo = (seconds % duration_units[i].seconds) / duration_units[i + 1].seconds;
                if (lo > 0) {
                        (void)snprintf(out, outlen, "%ld %s %ld %s", hi,
                                       hi == 1 ? duration_units[i].singular : duration_units[i].plural, lo,
                                       lo == 1 ? duration_units[i + 1].singular : duration_units[i + 1].plural);
                        return out;
                }
        }
        (void)snprintf(out, outlen, "%ld %s", hi, hi == 1 ? duration_units[i].singular : duration_units[i].plural);
        return out;
}
