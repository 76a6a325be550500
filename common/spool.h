/* SPDX-License-Identifier: MIT */
/* The spool: events written to disk when mlsecd cannot take them, so that nothing is lost
 * across a daemon crash or restart. One file per event, named by its id, written to a
 * temporary name, fsynced and renamed (and the directory fsynced), so a reader never sees
 * half an event. The directory is root's, 0700. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define SPOOL_SUFFIX ".event"

/* The audit reserve (spool.c explains it): SPOOL_RESERVE_SLOTS files of
 * SPOOL_RESERVE_SLOT_SIZE bytes in DIR/reserve/. An encoded event is under 3 KiB (every text
 * field full and escaped), so a slot holds any audit event; 16 of them keep a burst of
 * lockouts and spent backup codes while mlsecd is down, for 128 KiB of disk. */
#define SPOOL_RESERVE_SLOTS     16
#define SPOOL_RESERVE_SLOT_SIZE 8192
/* spool_write's result when the event was kept in a reserve slot. */
#define SPOOL_WRITE_RESERVE 1

/* Write E into DIR (created 0700 if missing, with its reserve; refused with -EPERM when it is
 * not owned by the effective uid or is accessible by group/others). Returns once the event is
 * durable: 0, or SPOOL_WRITE_RESERVE when the filesystem was full (ENOSPC, EDQUOT) and E, an
 * audit event, went into a reserve slot. When it cannot be kept (r < 0) and DIR itself was
 * safe, the loss is counted in DIR's counter (audit or other) for mlsecd to report. */
int spool_write(const char *dir, const struct mlsec_event *e);

/* Make DIR/reserve/ whole: every slot a private file of its full size (a missing, shrunk or
 * unsafe one is made again) and the loss counter present. Returns the slots ready, or the
 * first error that kept one from being made (-ENOSPC on a full filesystem); mlsecd calls it
 * at start and after each ingestion. */
int spool_reserve_fill(const char *dir);

struct spool_status {
        size_t pending;          /* event files waiting in DIR */
        size_t bad;              /* names in DIR/bad/ */
        unsigned reserve_ready;  /* reserve slots ready to take an audit event */
        unsigned reserve_slots;  /* SPOOL_RESERVE_SLOTS */
        bool counter;            /* the loss counter exists and reads; false: no counts known */
        uint64_t lost_audit;     /* audit events that could not be kept, since the counter was made */
        uint64_t lost_other;     /* other events (logins, sessions) that could not be kept */
        uint64_t reported_audit; /* of lost_audit, how many mlsecd has reported */
        uint64_t reported_other; /* of lost_other, likewise */
};

/* What DIR holds; a missing DIR is an empty spool with no reserve. pending and bad are
 * counted (a directory read each) only with COUNT_FILES. */
int spool_status(const char *dir, bool count_files, struct spool_status *ret);

/* Note that the first AUDIT and OTHER losses were reported (never back, never past the
 * losses). */
int spool_lost_mark_reported(const char *dir, uint64_t audit, uint64_t other);

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
