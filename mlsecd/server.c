/* SPDX-License-Identifier: MIT */
/* mlsecd's socket: accepting clients on the SOCK_SEQPACKET socket (from systemd or bound
 * here), one request per datagram, the peer's identity from SO_PEERCRED, and the limits
 * that keep one slow or hostile client from stalling the others: datagram size, number
 * of connections, per-uid request rate, idle timeout. Reports are batched: stored in one
 * transaction per loop iteration and acknowledged only once it is committed. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "daemon.h"
#include "seal.h"
#include "journal.h"
#include "util.h"

struct conn {
        struct daemon *d;
        int fd;
        sd_event_source *io;
        sd_event_source *idle;
        struct peer peer;
        bool waiting; /* owes replies after the batch commits: in batch_waiting */
        char reply[PROTO_MSG_MAX];
        size_t reply_len;
        /* the replies owed, in the order of the requests: a client may send several batched
         * requests without waiting (pipelining), up to DAEMON_PIPELINE a commit */
        struct owed {
                char *buf;
                size_t len;
        } owed[DAEMON_PIPELINE];
        size_t n_owed;
        struct conn *next;
};

static void owed_clear(struct conn *c)
{
        for (size_t i = 0; i < c->n_owed; i++) {
                seal_wipe(c->owed[i].buf, c->owed[i].len);
                free(c->owed[i].buf);
        }
        c->n_owed = 0;
}

struct rate {
        uid_t uid;
        double tokens;
        uint64_t last_us;
};

static uint64_t now_us(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* Name and admin status of recently seen uids: every report (one connection each) would
 * otherwise read /etc/passwd and /etc/group again. Entries live PEER_CACHE_US, so a change
 * of group membership takes effect within that time. */
#define PEER_CACHE_SIZE 64
#define PEER_CACHE_US   (5 * 1000000ull)

struct peer_cache_entry {
        uid_t uid;
        uint64_t at_us;
        char user[EVENT_USER_MAX];
        bool admin;
        bool used;
};

static uint64_t now_us(void);
static void resolve_peer_uncached(const struct daemon *d, struct peer *p);

static void resolve_peer(struct daemon *d, struct peer *p)
{
        struct peer_cache_entry *cache = d->peer_cache, *slot;
        uint64_t t = now_us();

        if (!cache) {
                cache = d->peer_cache = calloc(PEER_CACHE_SIZE, sizeof(*cache));
                if (!cache) {
                        resolve_peer_uncached(d, p);
                        return;
                }
        }
        slot = &cache[0];
        for (size_t i = 0; i < PEER_CACHE_SIZE; i++) {
                struct peer_cache_entry *e = &cache[i];
                if (e->used && e->uid == p->uid && t - e->at_us < PEER_CACHE_US) {
                        memcpy(p->user, e->user, sizeof(p->user));
                        p->admin = e->admin;
                        return;
                }
                if (!e->used || e->at_us < slot->at_us)
                        slot = e; /* a free slot, else the oldest */
        }
        resolve_peer_uncached(d, p);
        *slot = (struct peer_cache_entry){.uid = p->uid, .at_us = t, .admin = p->admin, .used = true};
        memcpy(slot->user, p->user, sizeof(slot->user));
}

/* admin: uid 0, or the user is a member of admin_group (primary or supplementary). */
static void resolve_peer_uncached(const struct daemon *d, struct peer *p)
{
        char buf[4096], gbuf[4096];
        struct passwd pw, *pwr = NULL;
        struct group gr, *grr = NULL;

        p->user[0] = '\0';
        p->admin = p->uid == 0;
        if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &pwr) != 0 || !pwr)
                return;
        if (event_set_text(p->user, sizeof(p->user), pw.pw_name) < 0 || !util_user_valid(p->user)) {
                p->user[0] = '\0';
                return;
        }
        if (p->admin || getgrnam_r(d->conf.admin_group, &gr, gbuf, sizeof(gbuf), &grr) != 0 || !grr)
                return;
        if (pw.pw_gid == gr.gr_gid) {
                p->admin = true;
                return;
        }
        for (char **m = gr.gr_mem; m && *m; m++)
                if (strcmp(*m, p->user) == 0) {
                        p->admin = true;
                        return;
                }
}

/* Token bucket per uid; root is never limited (the PAM module reports as root). */
static bool rate_allow(struct daemon *d, uid_t uid)
{
        uint64_t t = now_us();
        struct rate *r = NULL;

        if (uid == 0)
                return true;
        for (size_t i = 0; i < d->n_rates; i++)
                if (d->rates[i].uid == uid)
                        r = &d->rates[i];
        if (!r) {
                struct rate *n = realloc(d->rates, (d->n_rates + 1) * sizeof(*n));
                if (!n)
                        return false;
                d->rates = n;
                r = &d->rates[d->n_rates++];
                *r = (struct rate){.uid = uid, .tokens = 2.0 * DAEMON_RATE_PER_SEC, .last_us = t};
        }
        r->tokens += (double)(t - r->last_us) * DAEMON_RATE_PER_SEC / 1e6;
        if (r->tokens > 2.0 * DAEMON_RATE_PER_SEC)
                r->tokens = 2.0 * DAEMON_RATE_PER_SEC;
        r->last_us = t;
        if (r->tokens < 1.0)
                return false;
        r->tokens -= 1.0;
        return true;
}

static void conn_free(struct conn *c)
{
        struct daemon *d = c->d;

        for (struct conn **pp = &d->conns; *pp; pp = &(*pp)->next)
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        for (size_t i = 0; i < d->n_batch_waiting; i++)
                if (d->batch_waiting[i] == c)
                        d->batch_waiting[i] = NULL;
        d->n_conns--;
        owed_clear(c);
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->idle);
        if (c->fd >= 0)
                close(c->fd);
        free(c);
}

static void conn_touch(struct conn *c);

static int conn_idle(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct conn *c = userdata;

        if (c->waiting) {
                conn_touch(c); /* the reply is on its way: look again later */
                return 0;
        }
        conn_free(c);
        return 0;
}

static void conn_touch(struct conn *c)
{
        uint64_t t;

        if (sd_event_now(c->d->loop, CLOCK_MONOTONIC, &t) >= 0)
                (void)sd_event_source_set_time(c->idle, t + (uint64_t)DAEMON_IDLE_MS * 1000);
        (void)sd_event_source_set_enabled(c->idle, SD_EVENT_ONESHOT);
}

/* A datagram that does not fit is never answered with partial data: an error goes back. */
static void conn_send(struct conn *c, const char *buf, size_t len)
{
        /* a peer that went away is noticed by its hangup; one that does not read loses it */
        (void)send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* BUF queued as the next reply owed to C (n_owed < DAEMON_PIPELINE); a full pipeline stops
 * reading from C until the commit. */
static int owe(struct conn *c, const char *buf, size_t len)
{
        char *copy = malloc(len ? len : 1);

        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, len);
        c->owed[c->n_owed++] = (struct owed){.buf = copy, .len = len};
        if (c->n_owed == DAEMON_PIPELINE)
                (void)sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
        return 0;
}

/* A reply made now: sent, or, while replies of batched requests are owed, queued behind
 * them (a pipelining client reads its replies in the order of its requests). */
static void reply_now(struct conn *c, const char *buf, size_t len)
{
        if (c->n_owed == 0 || c->n_owed == DAEMON_PIPELINE || owe(c, buf, len) < 0)
                conn_send(c, buf, len);
}

static void send_error(struct conn *c, const char *code, const char *msg)
{
        char out[1024];
        size_t n;

        if (proto_encode_error(code, msg, out, sizeof(out), &n) >= 0)
                reply_now(c, out, n);
}

static void handle_datagram(struct conn *c, const char *buf, size_t len)
{
        struct daemon *d = c->d;
        struct proto_request req;
        char err[128];
        bool deferred = false;
        int r;

        if (!rate_allow(d, c->peer.uid)) {
                send_error(c, PROTO_E_RATE, "too many requests; slow down");
                return;
        }
        r = proto_decode_request(buf, len, &req, err, sizeof(err));
        if (r == -EPROTONOSUPPORT) {
                send_error(c, PROTO_E_VERSION, err);
                return;
        }
        if (r == -EOPNOTSUPP) {
                send_error(c, PROTO_E_METHOD, err);
                return;
        }
        if (r < 0) {
                send_error(c, PROTO_E_BAD_REQUEST, err[0] ? err : "malformed request");
                return;
        }
        r = handle_request(d, &c->peer, &req, c->reply, sizeof(c->reply), &c->reply_len, &deferred);
        proto_request_wipe(&req); /* a code, an imported secret and scratch codes */
        if (r < 0) {
                send_error(c, PROTO_E_INTERNAL, "the request could not be handled");
                return;
        }
        if (!deferred) {
                reply_now(c, c->reply, c->reply_len);
                seal_wipe(c->reply, c->reply_len); /* may have carried a new key or backup codes */
                c->reply_len = 0;
                return;
        }
        /* the reply waits for the commit; it is owed in the order of the requests */
        if (!c->waiting) {
                struct conn **w = realloc(d->batch_waiting, (d->n_batch_waiting + 1) * sizeof(*w));
                if (w) {
                        d->batch_waiting = w;
                        d->batch_waiting[d->n_batch_waiting++] = c;
                        c->waiting = true;
                }
        }
        r = c->waiting ? owe(c, c->reply, c->reply_len) : -ENOMEM;
        seal_wipe(c->reply, c->reply_len);
        c->reply_len = 0;
        if (r < 0) {
                /* the request is in the batch; without its reply the client hears an error */
                send_error(c, PROTO_E_INTERNAL, "out of memory");
                return;
        }
        (void)sd_event_source_set_enabled(d->flush_src, SD_EVENT_ONESHOT);
}

static int conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct conn *c = userdata;
        char buf[PROTO_MSG_MAX + 1];
        ssize_t n;

        if (revents & EPOLLIN) {
                if (c->n_owed >= DAEMON_PIPELINE) {
                        /* a full pipeline: the request waits in the socket until the commit
                         * (reading is turned off when it fills; this bounds owed[] whatever
                         * the event loop still dispatches) */
                        (void)sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
                        return 0;
                }
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                if (n == 0 || n < 0) {
                        conn_free(c);
                        return 0;
                }
                conn_touch(c);
                if ((size_t)n > PROTO_MSG_MAX) {
                        send_error(c, PROTO_E_BAD_REQUEST, "request larger than 64 KiB");
                        return 0;
                }
                handle_datagram(c, buf, (size_t)n);
                seal_wipe(buf, (size_t)n);
                return 0;
        }
        if (revents & (EPOLLHUP | EPOLLERR))
                conn_free(c);
        return 0;
}

static unsigned conns_of(const struct daemon *d, uid_t uid)
{
        unsigned n = 0;

        for (const struct conn *c = d->conns; c; c = c->next)
                n += c->peer.uid == uid;
        return n;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct daemon *d = userdata;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        struct conn *c;
        uint64_t t;
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
                close(cfd);
                return 0;
        }
        /* bounded: a flood of connections is refused, root's reports always get through */
        if ((d->n_conns >= DAEMON_MAX_CONNS && cred.uid != 0) ||
            (cred.uid != 0 && conns_of(d, cred.uid) >= DAEMON_MAX_CONNS_PER_UID)) {
                char out[256];
                size_t n;
                if (proto_encode_error(PROTO_E_RATE, "too many connections", out, sizeof(out), &n) >= 0)
                        (void)send(cfd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                close(cfd);
                return 0;
        }
        c = malloc(sizeof(*c)); /* not calloc: the 64 KiB reply buffer needs no zeroing */
        if (!c) {
                close(cfd);
                return 0;
        }
        c->d = d;
        c->fd = cfd;
        c->io = c->idle = NULL;
        c->waiting = false;
        c->reply_len = 0;
        c->n_owed = 0;
        c->next = NULL;
        c->peer = (struct peer){.pid = cred.pid, .uid = cred.uid, .gid = cred.gid};
        resolve_peer(d, &c->peer);
        if (sd_event_add_io(d->loop, &c->io, cfd, EPOLLIN, conn_io, c) < 0 ||
            sd_event_now(d->loop, CLOCK_MONOTONIC, &t) < 0 ||
            sd_event_add_time(d->loop, &c->idle, CLOCK_MONOTONIC, t + (uint64_t)DAEMON_IDLE_MS * 1000, 0, conn_idle,
                              c) < 0) {
                sd_event_source_disable_unref(c->io);
                close(cfd);
                free(c);
                return 0;
        }
        c->next = d->conns;
        d->conns = c;
        d->n_conns++;
        return 0;
}

void server_release(struct daemon *d, int r)
{
        char err[256];
        size_t err_len = 0;

        if (r < 0 && proto_encode_error(PROTO_E_INTERNAL, "the batch could not be committed", err, sizeof(err),
                                        &err_len) < 0)
                err_len = 0;
        for (size_t i = 0; i < d->n_batch_waiting; i++) {
                struct conn *c = d->batch_waiting[i];
                if (!c)
                        continue;
                c->waiting = false;
                /* every reply owed goes now, in order; after a failed commit each is an error */
                for (size_t k = 0; k < c->n_owed; k++)
                        conn_send(c, r >= 0 ? c->owed[k].buf : err, r >= 0 ? c->owed[k].len : err_len);
                owed_clear(c);
                (void)sd_event_source_set_enabled(c->io, SD_EVENT_ON);
        }
        d->n_batch_waiting = 0;
}

/* Runs when nothing of higher priority is pending: every report read in this round is in
 * the transaction by then, so one commit serves them all. */
static int on_flush(sd_event_source *s, void *userdata)
{
        (void)batch_commit(userdata);
        return 0;
}

static int bind_socket(struct daemon *d)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char dir[sizeof(sa.sun_path)];
        char *slash;
        int fd;

        if (strlen(d->conf.socket) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, d->conf.socket, strlen(d->conf.socket) + 1);
        snprintf(dir, sizeof(dir), "%s", d->conf.socket);
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return -errno;
        }
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(d->conf.socket); /* a stale socket of an earlier run */
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(d->conf.socket, 0666) < 0 ||
            listen(fd, 128) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int server_listen(struct daemon *d)
{
        int n = sd_listen_fds(1), r;

        if (n > 1)
                return -EINVAL;
        if (n == 1) {
                if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) <= 0)
                        return -ENOTSOCK;
                d->listen_fd = SD_LISTEN_FDS_START;
        } else {
                d->listen_fd = bind_socket(d);
                if (d->listen_fd < 0)
                        return d->listen_fd;
                d->socket_bound = true;
        }
        r = sd_event_add_io(d->loop, &d->listen_src, d->listen_fd, EPOLLIN, on_accept, d);
        if (r < 0)
                return r;
        r = sd_event_add_defer(d->loop, &d->flush_src, on_flush, d);
        if (r < 0)
                return r;
        /* lower priority than every read: runs once the round's reports are all stored */
        (void)sd_event_source_set_priority(d->flush_src, SD_EVENT_PRIORITY_IDLE);
        return sd_event_source_set_enabled(d->flush_src, SD_EVENT_OFF);
}

void server_stop(struct daemon *d)
{
        (void)batch_commit(d);
        d->listen_src = sd_event_source_disable_unref(d->listen_src);
        while (d->conns)
                conn_free(d->conns);
        d->flush_src = sd_event_source_disable_unref(d->flush_src);
        free(d->batch_waiting);
        d->batch_waiting = NULL;
        free(d->batch_new);
        d->batch_new = NULL;
        d->cap_batch_new = 0;
        free(d->rates);
        d->rates = NULL;
        free(d->peer_cache);
        d->peer_cache = NULL;
        d->n_rates = 0;
}
