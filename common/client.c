/* SPDX-License-Identifier: MIT */
/* One request and one reply to mlsecd over a non-blocking SOCK_SEQPACKET socket, all under
 * one monotonic deadline: connect, send and receive each get only what is left of it. Runs
 * inside the PAM module, so it must never block past the deadline, raise SIGPIPE, leak the
 * socket, or log. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "seal.h"

/* A full listen queue makes connect() fail with EAGAIN rather than wait: retry this often. */
#define CLIENT_CONNECT_RETRY_MS 5

static int64_t now_ns(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds left before DEADLINE, rounded up so that poll() never returns early; 0 when
 * it has passed. */
static int remaining_ms(int64_t deadline)
{
        int64_t left = deadline - now_ns();

        if (left <= 0)
                return 0;
        left = (left + 999999) / 1000000;
        return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Wait for EVENTS on FD until DEADLINE: 0 when ready, -ETIMEDOUT when not. */
static int wait_fd(int fd, short events, int64_t deadline)
{
        for (;;) {
                struct pollfd p = {.fd = fd, .events = events};
                int ms = remaining_ms(deadline), r;

                if (ms == 0)
                        return -ETIMEDOUT;
                r = poll(&p, 1, ms);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r > 0)
                        return 0; /* also on POLLHUP/POLLERR: the next call reports it */
        }
}

static int do_connect(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
        for (;;) {
                int ms, err = 0;
                socklen_t len = sizeof(err);

                if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
                        return 0;
                switch (errno) {
                case EINTR:
                        continue;
                case EAGAIN:
                        ms = remaining_ms(deadline);
                        if (ms == 0)
                                return -ETIMEDOUT;
                        (void)poll(NULL, 0, ms < CLIENT_CONNECT_RETRY_MS ? ms : CLIENT_CONNECT_RETRY_MS);
                        continue;
                case EINPROGRESS: {
                        int r = wait_fd(fd, POLLOUT, deadline);

                        if (r < 0)
                                return r;
                        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                                return -errno;
                        return err ? -err : 0;
                }
                default:
                        return -errno;
                }
        }
}

static int do_send(int fd, const char *buf, size_t len, int64_t deadline)
{
        for (;;) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
                int r;

                if (n >= 0)
                        return (size_t)n == len ? 0 : -EIO; /* a datagram goes whole or not at all */
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = wait_fd(fd, POLLOUT, deadline);
                if (r < 0)
                        return r;
        }
}

/* One datagram of at most PROTO_MSG_MAX bytes into BUF (PROTO_MSG_MAX + 1 bytes). */
static int do_recv(int fd, char *buf, int64_t deadline, size_t *ret_len)
{
        for (;;) {
                ssize_t n;
                int r;

                r = wait_fd(fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                /* MSG_TRUNC: the datagram's real length, so a larger one is seen as such. */
                n = recv(fd, buf, PROTO_MSG_MAX + 1, MSG_TRUNC | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -ECONNRESET; /* closed without a reply */
                if ((size_t)n > PROTO_MSG_MAX)
                        return -EBADMSG;
                *ret_len = (size_t)n;
                return 0;
        }
}

/* The daemon runs as root. A socket served by anybody else (a stale path taken over, a
 * test daemon of another user) gets no code: only root or the caller itself. */
static int check_server(int fd)
{
        struct ucred cred;
        socklen_t clen = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
                return -errno;
        if (clen != sizeof(cred))
                return -EIO;
        if (cred.uid != 0 && cred.uid != geteuid())
                return -EPERM;
        return 0;
}

struct client {
        int fd;
        char *buf;   /* PROTO_MSG_MAX + 1: the request going out, then the reply coming in */
        size_t used; /* how much of buf held data (wiped at close) */
};

struct client *client_close(struct client *c)
{
        if (!c)
                return NULL;
        if (c->fd >= 0)
                (void)close(c->fd);
        /* a request may have carried a code, a reply a new key or backup codes */
        seal_wipe(c->buf, c->used);
        free(c->buf);
        free(c);
        return NULL;
}

int client_open(const char *socket_path, int timeout_ms, struct client **ret)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
        struct client *c;
        int r;

        if (!socket_path || !*socket_path || timeout_ms < 0 || !ret)
                return -EINVAL;
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->buf = malloc(PROTO_MSG_MAX + 1);
        c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (!c->buf || c->fd < 0) {
                r = c->buf ? -errno : -ENOMEM;
                goto fail;
        }
        r = do_connect(c->fd, &sa, deadline);
        if (r >= 0)
                r = check_server(c->fd);
        if (r < 0)
                goto fail;
        *ret = c;
        return 0;
fail:
        (void)client_close(c);
        return r;
}

int client_ask(struct client *c, const struct proto_request *req, int timeout_ms, struct proto_obj **ret_result,
               char *err_code, size_t codelen, char *err_msg, size_t msglen)
{
        struct proto_obj *result = NULL;
        char code_buf[64], msg_buf[256];
        int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
        size_t len = 0;
        int r;

        if (!c || !req || timeout_ms < 0)
                return -EINVAL;
        if (!err_code || codelen == 0) {
                err_code = code_buf;
                codelen = sizeof(code_buf);
        }
        if (!err_msg || msglen == 0) {
                err_msg = msg_buf;
                msglen = sizeof(msg_buf);
        }
        r = proto_encode_request(req, c->buf, PROTO_MSG_MAX, &len);
        if (r < 0)
                return r;
        if (len > c->used)
                c->used = len;
        r = do_send(c->fd, c->buf, len, deadline);
        if (r < 0)
                return r;
        r = do_recv(c->fd, c->buf, deadline, &len);
        c->used = r < 0 ? PROTO_MSG_MAX + 1 : len > c->used ? len : c->used;
        if (r < 0)
                return r;
        r = proto_decode_reply(c->buf, len, &result, err_code, codelen, err_msg, msglen);
        if (r < 0)
                return r != -EREMOTEIO && r != -ENOMEM ? -EBADMSG : r;
        if (ret_result)
                *ret_result = result;
        else
                (void)proto_obj_free(result);
        return 0;
}

int client_call(const char *socket_path, const struct proto_request *req, int timeout_ms, struct proto_obj **ret_result,
                char *err_code, size_t codelen, char *err_msg, size_t msglen)
{
        int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
        struct client *c = NULL;
        int r;

        if (!req)
                return -EINVAL;
        r = client_open(socket_path, timeout_ms, &c);
        if (r < 0)
                return r;
        /* one deadline for connect, send and receive */
        r = client_ask(c, req, remaining_ms(deadline), ret_result, err_code, codelen, err_msg, msglen);
        (void)client_close(c);
        return r;
}
