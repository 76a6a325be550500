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

/* Why a spool file was refused. */
enum spool_bad {
        SPOOL_BAD_TYPE,    /* not a regular file: a symlink, a FIFO, a socket, a device, a directory */
        SPOOL_BAD_OWNER,   /* not owned by the effective uid (root) */
        SPOOL_BAD_MODE,    /* permissions other than 0600 */
        SPOOL_BAD_LINKS,   /* st_nlink != 1: a hard link to something elsewhere */
        SPOOL_BAD_SIZE,    /* larger than PROTO_MSG_MAX */
        SPOOL_BAD_CONTENT, /* not an event, or not the event its name says */
        _SPOOL_BAD_MAX,
};

/* "not a regular file", "not owned by root", ...: a phrase for a log line. */
const char *spool_bad_to_string(enum spool_bad why);

/* Call FN for each complete spooled event in DIR, oldest first (by event time), at most
 * MAX of them (0: all). FN returns < 0 to stop. Every file is checked like any file read as
 * root (never followed through a symlink, opened only when lstat shows a regular file, then
 * fstat of the fd: owner the effective uid, mode 0600, one link) and decoded; one that fails
 * is moved to DIR/bad/, counted in *ret_bad and passed to BAD_FN (may be NULL) with the
 * reason, instead of being retried forever. */
int spool_scan(const char *dir, size_t max, int (*fn)(const struct mlsec_event *e, void *userdata),
               void (*bad_fn)(const char *name, enum spool_bad why, void *userdata), void *userdata, size_t *ret_bad);

/* Remove the spooled copy of event ID once it is stored elsewhere (missing is not an error). */
int spool_remove(const char *dir, const char *id);
