/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for gauth_parse(), the parser of a google-authenticator file (which a
 * user writes and root reads). Besides memory safety it checks the contract: on failure
 * *ret is untouched (but for an HOTP file) and the message is a NUL-terminated sentence; on
 * success the secret is upper-case base32 of 16..127 characters decoding to 10..64 bytes,
 * the step 1..60, the window 1..100, at most 10 scratch codes of eight digits. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int digits8(const char *s)
{
        if (strnlen(s, GAUTH_SCRATCH_DIGITS + 1) != GAUTH_SCRATCH_DIGITS || s[0] < '1' || s[0] > '9')
                return 0;
        for (int i = 1; i < GAUTH_SCRATCH_DIGITS; i++)
                if (s[i] < '0' || s[i] > '9')
                        return 0;
        return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct gauth_file f, before;
        char err[GAUTH_ERR_MAX];
        char *copy;
        size_t n;
        int r;

        /* An exact-size heap copy, so ASan sees any read past SIZE. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        if (size)
                memcpy(copy, data, size);
        memset(&f, 0xa5, sizeof(f));
        memcpy(&before, &f, sizeof(f));
        memset(err, 0xa5, sizeof(err));

        r = gauth_parse(copy, size, &f, err, sizeof(err));
        if (!memchr(err, '\0', sizeof(err)))
                __builtin_trap();
        if (r < 0 && r != -EOPNOTSUPP) {
                if (r != -EINVAL && r != -E2BIG && r != -EMSGSIZE)
                        __builtin_trap();
                if (memcmp(&f, &before, sizeof(f)) != 0 || err[0] == '\0')
                        __builtin_trap();
        } else if (r == 0) {
                n = strnlen(f.secret_b32, sizeof(f.secret_b32));
                if (n < GAUTH_SECRET_MIN || n > GAUTH_SECRET_MAX || f.secret_len < 10 || f.secret_len > TOTP_SECRET_MAX)
                        __builtin_trap();
                for (size_t i = 0; i < n; i++)
                        if (!((f.secret_b32[i] >= 'A' && f.secret_b32[i] <= 'Z') ||
                              (f.secret_b32[i] >= '2' && f.secret_b32[i] <= '7')))
                                __builtin_trap();
                if (f.step < 1 || f.step > 60 || f.window < 1 || f.window > 100 || f.n_scratch > GAUTH_SCRATCH_MAX ||
                    f.hotp || f.n_unknown > 4)
                        __builtin_trap();
                for (size_t i = 0; i < f.n_scratch; i++)
                        if (!digits8(f.scratch[i]))
                                __builtin_trap();
        }
        gauth_clear(&f);
        free(copy);
        return 0;
}
