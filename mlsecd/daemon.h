/* SPDX-License-Identifier: MIT */
/* The state of one running mlsecd, shared by its event loop (main.c), its socket server
 * (server.c) and its request handlers (handlers.c). Only those three files see it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "activity.h"
#include "conf.h"
#include "event.h"
#include "logind.h"
#include "proto.h"
#include "seal.h"

#define DAEMON_MAX_CONNS         256   /* connections at once, all peers */
#define DAEMON_MAX_CONNS_PER_UID 16    /* per non-root peer */
#define DAEMON_IDLE_MS           10000 /* a connection with no request for this long is closed */
#define DAEMON_RATE_PER_SEC      50    /* requests per second per non-root uid (burst: 2x) */
#define DAEMON_ESCALATE_MS       5000  /* TerminateSession, then KillSession if still there */
#define DAEMON_SPOOL_MS          1000  /* how often the spool is looked at */
#define DAEMON_BATCH_MAX         512   /* reports per commit */

struct conn;
struct rate;
struct peer_cache_entry;

/* Who is asking: from SO_PEERCRED, never from the message. */
struct peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        char user[EVENT_USER_MAX]; /* "" when the uid has no name */
        bool admin;                /* uid 0 or a member of admin_group */
};

struct daemon {
        struct mlsec_conf conf;
        struct sd_event *loop;
        struct activity *act;
        struct seal_key *key;
        struct logind *logind; /* NULL: no system bus; sessions are not live-checked */
        int listen_fd;
        bool socket_bound; /* bound here (not passed by systemd): unlinked at exit */
        struct sd_event_source *listen_src;
        struct conn *conns; /* list */
        unsigned n_conns;
        struct rate *rates;                  /* per-uid token buckets */
        struct peer_cache_entry *peer_cache; /* recently resolved uids (server.c) */
        size_t n_rates;
        /* reports of this loop iteration: stored in one transaction, acknowledged after it */
        bool in_batch;
        struct sd_event_source *flush_src;
        struct mlsec_event *batch_new; /* new events, journalled after commit */
        size_t n_batch_new;
        struct conn **batch_waiting; /* connections owed a reply after commit */
        size_t n_batch_waiting;
        uint64_t ingested; /* events stored since start */
};

/* server.c */
int server_listen(struct daemon *d);
void server_stop(struct daemon *d);
/* Commit the open batch and answer everyone waiting on it (also called at shutdown).
 * < 0 when the commit failed: the batch's events are not stored. */
int server_flush(struct daemon *d);

/* handlers.c: answer one decoded request from P into OUT (a reply datagram). *ret_deferred
 * is set when the reply must wait for the batch to commit (reports). */
int handle_request(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t outmax,
                   size_t *ret_len, bool *ret_deferred);
/* Store one event inside the batch (reports and the spool). */
int handle_store_event(struct daemon *d, const struct mlsec_event *e, bool *ret_new);
/* Record a change made by mlsecd itself (e.g. a logout) as an audit entry. */
void handle_audit(struct daemon *d, int64_t actor_uid, const char *user, const char *action, const char *detail);
/* logind told us a session appeared or disappeared. */
void handle_logind_change(bool new_session, const char *id, void *userdata);
/* Close sessions that logind no longer has (at start). */
void handle_reconcile(struct daemon *d);
