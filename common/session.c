/* SPDX-License-Identifier: MIT */
/* sd_pid_get_session behind mlsec's own types: the logind session of a process, read from
 * its cgroup by libsystemd without any bus call. It never logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-login.h>

#include "session.h"

int session_of_pid(pid_t pid, char *ret, size_t retlen)
{
        char *id = NULL;
        int r;

        if (!ret || retlen == 0)
                return -EINVAL;
        r = sd_pid_get_session(pid, &id);
        if (r < 0)
                return r == -ENXIO ? -ENODATA : r;
        if (strlen(id) >= retlen) {
                free(id);
                return -ENAMETOOLONG;
        }
        memcpy(ret, id, strlen(id) + 1);
        free(id);
        return 0;
}
