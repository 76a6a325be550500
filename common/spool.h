/* SPDX-License-Identifier: MIT */
/* The spool: events written to disk when mlsecd cannot take them, so that nothing is lost
 * across a daemon crash or restart. One file per event, named by its id, written to a
 * temporary name, fsynced and renamed (and the directory fsynced), so a reader never sees
 * half an event. The directory is root's, 0700. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

#define SPOOL_SUFFIX ".event"

/* Write E into DIR (created 0700 if missing; refused with -EPERM when it is not owned by the
 * effective uid or is accessible by group/others). Returns once the event is durable. */
int spool_write(const char *dir, const struct mlsec_event *e);

/* Call FN for each complete spooled event in DIR, oldest first (by event time), at most
 * MAX of them (0: all). FN returns < 0 to stop. A file that cannot be parsed is moved to
 * DIR/bad/ (and counted in *ret_bad) instead of being retried forever. */
int spool_scan(const char *dir, size_t max, int (*fn)(const struct mlsec_event *e, void *userdata), void *userdata,
               size_t *ret_bad);

/* Remove the spooled copy of event ID once it is stored elsewhere (missing is not an error). */
int spool_remove(const char *dir, const char *id);
