/* SPDX-License-Identifier: MIT */
/* Backup codes: ten uniformly random decimal digits shown as 12345-67890, and the strict
 * normalisation of what a user typed. It never hashes, stores or logs a code (seal.c and
 * store.c do the first two; nobody does the third) and never reads past 64 bytes of input. */
#include <errno.h>
#include <string.h>

#include "backup.h"
#include "seal.h"

#define BACKUP_INPUT_MAX 64 /* bytes of input looked at, NUL included */

_Static_assert(BACKUP_CODE_SHOWN == BACKUP_CODE_DIGITS + 2, "display form is 5 digits, dash, 5 digits, NUL");

void backup_generate(char ret[BACKUP_CODE_SHOWN])
{
        size_t n = 0;

        for (size_t i = 0; i < BACKUP_CODE_DIGITS; i++) {
                if (i == BACKUP_CODE_DIGITS / 2)
                        ret[n++] = '-';
                /* randombytes_uniform() rejects out-of-range draws: no modulo bias. */
                ret[n++] = (char)('0' + seal_random_uniform(10));
        }
        ret[n] = '\0';
}

int backup_normalize(const char *in, char ret[BACKUP_CODE_DIGITS + 1])
{
        char digits[BACKUP_CODE_DIGITS + 1];
        size_t n = 0, i;
        int r = -EINVAL;

        if (!in || !ret)
                return -EINVAL;
        for (i = 0; i < BACKUP_INPUT_MAX && in[i] != '\0'; i++) {
                char c = in[i];

                if (c == ' ' || c == '-')
                        continue;
                if (c < '0' || c > '9' || n >= BACKUP_CODE_DIGITS)
                        goto out;
                digits[n++] = c;
        }
        /* No NUL within the first 64 bytes: too long, and we look no further. */
        if (i == BACKUP_INPUT_MAX || n != BACKUP_CODE_DIGITS)
                goto out;
        digits[n] = '\0';
        memcpy(ret, digits, sizeof(digits));
        r = 0;
out:
        seal_wipe(digits, sizeof(digits));
        return r;
}
