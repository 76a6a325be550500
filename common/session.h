/* SPDX-License-Identifier: MIT */
/* Which logind session a process belongs to, through sd-login (no D-Bus): the fallback
 * when pam_systemd did not put XDG_SESSION_ID in the PAM environment. The only sd-login
 * user. Never logs. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* The logind session id of PID (0: the caller) into RET; -ENODATA when it has none. */
int session_of_pid(pid_t pid, char *ret, size_t retlen);
