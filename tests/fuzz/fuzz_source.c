/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for source_canonical() and source_of_login(), which read PAM_RHOST and
 * PAM_TTY: whatever an application or a reverse DNS answer put there. Besides memory safety
 * it checks the contract: on failure OUT is untouched; on success OUT is non-empty, fits,
 * is only [0-9a-z.:%_-], and is its own canonical spelling (canonicalising twice changes
 * nothing); a login's source is never empty and names a class. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_canonical(const char *in)
{
        char out[SOURCE_MAX], again[SOURCE_MAX];
        int r;

        memset(out, 0x5a, sizeof(out));
        r = source_canonical(in, out, sizeof(out));
        if (r < 0) {
                for (size_t i = 0; i < sizeof(out); i++)
                        if ((unsigned char)out[i] != 0x5a)
                                abort();
                return;
        }
        if (r > 1 || !out[0] || strnlen(out, sizeof(out)) == sizeof(out))
                abort();
        for (const char *c = out; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || strchr(".:%_-", *c)))
                        abort();
        if (source_canonical(out, again, sizeof(again)) != r || strcmp(out, again) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct login_source s;
        const uint8_t *split;
        char *rhost, *tty;
        size_t n;

        /* RHOST, then TTY after the first NUL: exact-size heap copies, so ASan sees overreads */
        split = memchr(data, '\0', size);
        n = split ? (size_t)(split - data) : size;
        rhost = malloc(n + 1);
        tty = malloc(split ? size - n : 1);
        if (!rhost || !tty)
                goto out;
        memcpy(rhost, data, n);
        rhost[n] = '\0';
        if (split)
                memcpy(tty, split + 1, size - n - 1);
        tty[split ? size - n - 1 : 0] = '\0';
        check_canonical(rhost);
        source_of_login(rhost, tty, "sshd", "tty0 ttyS0", NULL, &s);
        if (!s.name[0] || strnlen(s.name, sizeof(s.name)) == sizeof(s.name) ||
            (s.cls != SOURCE_LOCAL && s.cls != SOURCE_REMOTE && s.cls != SOURCE_CONSOLE))
                abort();
        if (rhost[0] && s.cls != SOURCE_REMOTE)
                abort();
out:
        free(rhost);
        free(tty);
        return 0;
}
