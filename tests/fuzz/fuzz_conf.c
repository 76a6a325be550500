/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for conf_parse(), the parser of mlsec.conf. Besides memory safety it
 * checks the contract: on failure *ret is untouched and the message is a NUL-terminated
 * "name:line: ..." string; on success every value is inside its documented range. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int str_ok(const char *s, size_t cap)
{
        return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct mlsec_conf c, before;
        char err[CONF_ERR_MAX];
        char *copy;
        int r;

        /* An exact-size heap copy, so ASan sees any read past LEN. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        if (size)
                memcpy(copy, data, size);

        memset(&c, 0xa5, sizeof(c));
        memcpy(&before, &c, sizeof(c));
        memset(err, 0xa5, sizeof(err));

        r = conf_parse("fuzz.conf", copy, size, &c, err, sizeof(err));
        if (r < 0) {
                if (r != -EINVAL)
                        __builtin_trap();
                if (memcmp(&c, &before, sizeof(c)) != 0)
                        __builtin_trap();
                if (!str_ok(err, sizeof(err)) || strncmp(err, "fuzz.conf:", 10) != 0)
                        __builtin_trap();
        } else {
                if (r != 0 || err[0] != '\0')
                        __builtin_trap();
                if (!str_ok(c.state_dir, sizeof(c.state_dir)) || c.state_dir[0] != '/' ||
                    !str_ok(c.key_file, sizeof(c.key_file)) || c.key_file[0] != '/' ||
                    !str_ok(c.socket, sizeof(c.socket)) || c.socket[0] != '/' ||
                    !str_ok(c.spool_dir, sizeof(c.spool_dir)) || c.spool_dir[0] != '/' ||
                    !str_ok(c.admin_group, sizeof(c.admin_group)) || c.admin_group[0] == '\0')
                        __builtin_trap();
                if (c.window > 10 || c.max_failures < 1 || c.max_failures > 1000 || c.failure_window < 1 ||
                    c.failure_window > 604800 || c.lockout_seconds < 1 || c.lockout_seconds > 604800 ||
                    c.max_user_failures < 1 || c.max_user_failures > 100000 ||
                    (c.unenrolled != CONF_UNENROLLED_ALLOW && c.unenrolled != CONF_UNENROLLED_DENY))
                        __builtin_trap();
        }

        free(copy);
        return 0;
}
