/* SPDX-License-Identifier: MIT */
/* mlsecd's view of systemd-logind over sd-bus: the live sessions, their appearance and
 * disappearance, and logging one out. The only sd-bus user. It honours
 * DBUS_SYSTEM_BUS_ADDRESS, so tests run it against a private bus. Never logs: callers do. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

typedef struct sd_event sd_event;
struct logind;

struct logind_session {
        char id[EVENT_SESSION_MAX];
        int64_t uid;
        char user[EVENT_USER_MAX];
        char service[EVENT_SERVICE_MAX];
        char tty[EVENT_TTY_MAX];
        char remote_host[EVENT_HOST_MAX];
        char state[16]; /* "online", "active", "closing" */
        int64_t leader;
};

/* NEW is true for SessionNew, false for SessionRemoved. */
typedef void (*logind_change_fn)(bool new_session, const char *id, void *userdata);

/* Connect to the system bus, attach to LOOP and subscribe to SessionNew/SessionRemoved.
 * < 0 when there is no bus or no logind on it: mlsecd then runs without live sessions. */
int logind_open(sd_event *loop, logind_change_fn fn, void *userdata, struct logind **ret);
struct logind *logind_close(struct logind *l);

/* ListSessions plus each session's properties. *ret malloc'd (free()). */
int logind_list(struct logind *l, struct logind_session **ret, size_t *ret_n);
/* One session; -ENOENT when logind does not know it. */
int logind_get(struct logind *l, const char *id, struct logind_session *ret);
/* Manager.TerminateSession(ID). When the session still exists ESCALATE_MS later (stuck in
 * "closing"), Manager.KillSession(ID, "all", SIGKILL). -ENOENT for an unknown session. */
int logind_terminate(struct logind *l, const char *id, unsigned escalate_ms);
