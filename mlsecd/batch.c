/* SPDX-License-Identifier: MIT */
/* mlsecd's write batch, from begin to commit, in one place: the reports and verifies read in
 * one round of the event loop write into one open transaction of each store (activity.db
 * for events, credentials.db for consumed codes and failures), and one commit of each
 * serves them all (group commit). Nobody waiting on the batch is answered before both
 * commits: a verdict is told only once what it consumed is on the disk (credentials.db runs
 * with synchronous = FULL), a report acknowledged only once it is stored. A failed commit
 * rolls both back and answers everyone with an error, so the module falls back (verifies)
 * or spools (reports). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-event.h>

#include "daemon.h"
#include "journal.h"
#include "store.h"

int batch_activity(struct daemon *d)
{
        int r;

        if (d->in_batch)
                return 0;
        r = activity_begin(d->act);
        if (r < 0)
                return r;
        d->in_batch = true;
        /* committed at the end of this round, whoever wrote (a request, the spool, logind) */
        (void)sd_event_source_set_enabled(d->flush_src, SD_EVENT_ONESHOT);
        return 0;
}

int batch_store(struct daemon *d)
{
        int r;

        if (!d->store)
                return -ENOENT;
        if (d->store_in_batch)
                return 0;
        r = store_begin(d->store);
        if (r < 0)
                return r;
        d->store_in_batch = true;
        (void)sd_event_source_set_enabled(d->flush_src, SD_EVENT_ONESHOT);
        return 0;
}

void batch_new_event(struct daemon *d, const struct mlsec_event *e)
{
        if (d->n_batch_new == d->cap_batch_new) {
                size_t cap = d->cap_batch_new ? 2 * d->cap_batch_new : 64;
                struct mlsec_event *n = realloc(d->batch_new, cap * sizeof(*n));

                if (!n)
                        return; /* stored all the same; only its journal line is lost */
                d->batch_new = n;
                d->cap_batch_new = cap;
        }
        d->batch_new[d->n_batch_new++] = *e;
}

int batch_commit(struct daemon *d)
{
        size_t waiting = d->n_batch_waiting;
        int r = 0;

        /* credentials first: an attempt is never recorded as accepted while its consumption
         * could still be rolled back */
        if (d->store_in_batch) {
                r = store_commit(d->store);
                if (r < 0)
                        (void)store_rollback(d->store);
                d->store_in_batch = false;
        }
        if (d->in_batch) {
                int q = r < 0 ? r : activity_commit(d->act);
                if (q < 0) {
                        (void)activity_rollback(d->act);
                        r = q;
                }
                d->in_batch = false;
        }
        if (r < 0)
                journal_daemon(LOG_ERR,
                               "committing the batch of %zu request(s) failed: %s; they are answered with an "
                               "error (reports are spooled, logins checked by the module itself)",
                               waiting, strerror(-r));
        for (size_t i = 0; i < d->n_batch_new && r >= 0; i++)
                journal_event(&d->batch_new[i]);
        d->n_batch_new = 0;
        server_release(d, r);
        return r;
}
