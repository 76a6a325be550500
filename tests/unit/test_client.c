/* SPDX-License-Identifier: MIT */
/* Unit tests of common/client.c against a small SOCK_SEQPACKET server in a thread on a
 * temporary socket: the request arrives intact, ok and error replies come back as the
 * contract says, and a silent, stuck, oversized, garbled or absent daemon costs at most the
 * deadline and never a leaked descriptor. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"

#define TIMEOUT_MS 200
#define SLACK_MS   50
#define HUGE_LEN   70000

enum server_mode {
        SERVE_OK,      /* {"stored":true,"count":7} */
        SERVE_EMPTY,   /* ok without a result */
        SERVE_ERROR,   /* forbidden */
        SERVE_SILENT,  /* reads the request, never answers */
        SERVE_HUGE,    /* one datagram over PROTO_MSG_MAX */
        SERVE_GARBAGE, /* not a reply */
        SERVE_CLOSE,   /* reads the request, hangs up */
};

struct server {
        char dir[64];
        char path[100];
        int lfd;
        enum server_mode mode;
        pthread_t thread;
        /* what the server saw, checked by the test after the join */
        int decode_r;
        struct proto_request got;
};

static int64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        (void)closedir(d);
        return n;
}

static int send_reply(int fd, enum server_mode mode)
{
        char *buf = calloc(1, HUGE_LEN);
        struct proto_obj *o = NULL;
        size_t len = 0;
        int r = -ENOMEM;

        if (!buf)
                return r;
        switch (mode) {
        case SERVE_OK:
                o = proto_obj_new();
                if (!o || proto_obj_set_bool(o, "stored", true) < 0 || proto_obj_set_int(o, "count", 7) < 0)
                        goto out;
                r = proto_encode_reply(o, buf, PROTO_MSG_MAX, &len);
                break;
        case SERVE_EMPTY:
                r = proto_encode_reply(NULL, buf, PROTO_MSG_MAX, &len);
                break;
        case SERVE_ERROR:
                r = proto_encode_error(PROTO_E_FORBIDDEN, "not your session", buf, PROTO_MSG_MAX, &len);
                break;
        case SERVE_HUGE:
                memset(buf, ' ', HUGE_LEN);
                memcpy(buf, "{\"v\":1,\"ok\":true}", 17);
                len = HUGE_LEN;
                r = 0;
                break;
        case SERVE_GARBAGE:
                len = strlen("definitely not json");
                memcpy(buf, "definitely not json", len);
                r = 0;
                break;
        default:
                r = -EINVAL;
        }
        if (r == 0 && send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
                r = -errno;
out:
        (void)proto_obj_free(o);
        free(buf);
        return r;
}

static void *serve(void *userdata)
{
        struct server *s = userdata;
        char *buf = malloc(PROTO_MSG_MAX + 1);
        struct pollfd p;
        ssize_t n;
        int fd;

        s->decode_r = -EIO;
        fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0 || !buf)
                goto out;
        n = recv(fd, buf, PROTO_MSG_MAX + 1, 0);
        if (n > 0)
                s->decode_r = proto_decode_request(buf, (size_t)n, &s->got, NULL, 0);
        switch (s->mode) {
        case SERVE_SILENT:
                /* Until the client gives up and hangs up (bounded, should the test fail). */
                p = (struct pollfd){.fd = fd, .events = POLLIN};
                (void)poll(&p, 1, 5000);
                break;
        case SERVE_CLOSE:
                break;
        default:
                (void)send_reply(fd, s->mode);
                /* Stay until the client has read it. */
                p = (struct pollfd){.fd = fd, .events = POLLIN};
                (void)poll(&p, 1, 5000);
        }
out:
        if (fd >= 0)
                (void)close(fd);
        free(buf);
        return NULL;
}

static int listen_at(const char *path, int backlog)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -1;
        (void)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (backlog >= 0 && listen(fd, backlog) < 0)) {
                (void)close(fd);
                return -1;
        }
        return fd;
}

static int setup(void **state)
{
        struct server *s = calloc(1, sizeof(*s));

        if (!s)
                return -1;
        (void)snprintf(s->dir, sizeof(s->dir), "/tmp/test_client.XXXXXX");
        if (!mkdtemp(s->dir))
                return -1;
        (void)snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
        s->lfd = -1;
        *state = s;
        return 0;
}

static int teardown(void **state)
{
        struct server *s = *state;

        if (s->lfd >= 0)
                (void)close(s->lfd);
        (void)unlink(s->path);
        (void)rmdir(s->dir);
        free(s);
        return 0;
}

static void start(struct server *s, enum server_mode mode)
{
        s->mode = mode;
        s->lfd = listen_at(s->path, 8);
        assert_true(s->lfd >= 0);
        assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void stop(struct server *s)
{
        assert_int_equal(pthread_join(s->thread, NULL), 0);
}

/* Ready for the next server on the same path. */
static void reset(struct server *s)
{
        (void)close(s->lfd);
        (void)unlink(s->path);
        s->lfd = -1;
}

static void history_request(struct proto_request *req)
{
        memset(req, 0, sizeof(*req));
        req->method = PROTO_HISTORY;
        (void)snprintf(req->user, sizeof(req->user), "alice");
        req->limit = 20;
        req->failed_only = true;
}

static void test_ok_reply(void **state)
{
        struct server *s = *state;
        struct proto_obj *result = NULL;
        struct proto_request req;
        char code[64] = "", msg[256] = "";
        bool stored = false;
        int64_t count = 0;

        history_request(&req);
        start(s, SERVE_OK);
        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, &result, code, sizeof(code), msg, sizeof(msg)), 0);
        stop(s);

        /* The daemon got exactly what was asked. */
        assert_int_equal(s->decode_r, 0);
        assert_int_equal(s->got.method, PROTO_HISTORY);
        assert_string_equal(s->got.user, "alice");
        assert_int_equal(s->got.limit, 20);
        assert_true(s->got.failed_only);
        assert_false(s->got.all);

        assert_non_null(result);
        assert_int_equal(proto_obj_get_bool(result, "stored", &stored), 0);
        assert_true(stored);
        assert_int_equal(proto_obj_get_int(result, "count", &count), 0);
        assert_int_equal(count, 7);
        (void)proto_obj_free(result);
}

static void test_ok_reply_without_result(void **state)
{
        struct server *s = *state;
        static char sentinel;
        struct proto_obj *result = (struct proto_obj *)&sentinel; /* must be overwritten */
        struct proto_request req = {.method = PROTO_PING};

        start(s, SERVE_EMPTY);
        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, &result, NULL, 0, NULL, 0), 0);
        stop(s);
        assert_int_equal(s->got.method, PROTO_PING);
        assert_null(result);

        /* Nobody wants the result: fine too. */
        reset(s);
        start(s, SERVE_OK);
        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), 0);
        stop(s);
}

static void test_error_reply(void **state)
{
        struct server *s = *state;
        struct proto_obj *result = NULL;
        struct proto_request req = {.method = PROTO_LOGOUT};
        char code[64] = "", msg[256] = "";

        (void)snprintf(req.session, sizeof(req.session), "42");
        start(s, SERVE_ERROR);
        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, &result, code, sizeof(code), msg, sizeof(msg)),
                         -EREMOTEIO);
        stop(s);
        assert_string_equal(code, PROTO_E_FORBIDDEN);
        assert_string_equal(msg, "not your session");
        assert_null(result);
        assert_string_equal(s->got.session, "42");

        /* The caller may not care why. */
        reset(s);
        start(s, SERVE_ERROR);
        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), -EREMOTEIO);
        stop(s);
}

static void test_silent_server_times_out(void **state)
{
        struct server *s = *state;
        struct proto_obj *result = NULL;
        struct proto_request req = {.method = PROTO_PING};
        int64_t t;
        int r;

        start(s, SERVE_SILENT);
        t = now_ms();
        r = client_call(s->path, &req, TIMEOUT_MS, &result, NULL, 0, NULL, 0);
        t = now_ms() - t;
        stop(s);
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(t >= TIMEOUT_MS - 1);
        assert_true(t < TIMEOUT_MS + SLACK_MS);
        assert_null(result);
}

static void test_full_backlog_times_out(void **state)
{
        struct server *s = *state;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct proto_request req = {.method = PROTO_PING};
        int filler, r;
        int64_t t;

        /* A daemon that stopped accepting: its queue fills and connect() says EAGAIN. */
        s->lfd = listen_at(s->path, 0);
        assert_true(s->lfd >= 0);
        (void)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
        filler = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(filler >= 0);
        assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof(sa)), 0);

        t = now_ms();
        r = client_call(s->path, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0);
        t = now_ms() - t;
        (void)close(filler);
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(t >= TIMEOUT_MS - 1);
        assert_true(t < TIMEOUT_MS + SLACK_MS);
}

static void test_oversized_reply(void **state)
{
        struct server *s = *state;
        struct proto_obj *result = NULL;
        struct proto_request req = {.method = PROTO_PING};

        start(s, SERVE_HUGE);
        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, &result, NULL, 0, NULL, 0), -EBADMSG);
        stop(s);
        assert_null(result);
}

static void test_garbage_reply(void **state)
{
        struct server *s = *state;
        struct proto_obj *result = NULL;
        struct proto_request req = {.method = PROTO_PING};

        start(s, SERVE_GARBAGE);
        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, &result, NULL, 0, NULL, 0), -EBADMSG);
        stop(s);
        assert_null(result);
}

static void test_hangup_without_reply(void **state)
{
        struct server *s = *state;
        struct proto_request req = {.method = PROTO_PING};
        int64_t t;
        int r;

        start(s, SERVE_CLOSE);
        t = now_ms();
        r = client_call(s->path, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0);
        t = now_ms() - t;
        stop(s);
        /* Told at once, not after the deadline. */
        assert_int_equal(r, -ECONNRESET);
        assert_true(t < TIMEOUT_MS);
}

static void test_nobody_listening(void **state)
{
        struct server *s = *state;
        struct proto_request req = {.method = PROTO_PING};
        int fd;

        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), -ENOENT);

        /* A socket file left by a daemon that is gone. */
        fd = listen_at(s->path, -1);
        assert_true(fd >= 0);
        assert_int_equal(client_call(s->path, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), -ECONNREFUSED);
        (void)close(fd);
}

/* A socket served by another, unprivileged uid gets nothing: the request may carry a code. */
static void test_server_of_another_uid_gets_nothing(void **state)
{
        struct proto_request req = {.method = PROTO_VERIFY};
        char dir[] = "/tmp/mlsec-client-uid.XXXXXX", path[64];
        int pipefd[2], status;
        ssize_t got = -1;
        pid_t pid;

        if (geteuid() != 0)
                skip(); /* needs to become another uid */
        strcpy(req.code, "123456");
        assert_non_null(mkdtemp(dir));
        assert_int_equal(chmod(dir, 0777), 0);
        snprintf(path, sizeof(path), "%s/s.sock", dir);
        assert_int_equal(pipe(pipefd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* nobody: listen, report how many bytes arrived within a second */
                char buf[4096];
                ssize_t n = 0;
                int fd, c;
                struct pollfd p;

                if (setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(2);
                fd = listen_at(path, 4);
                if (fd < 0)
                        _exit(3);
                if (write(pipefd[1], "L", 1) != 1)
                        _exit(4);
                c = accept(fd, NULL, NULL);
                if (c >= 0) {
                        p = (struct pollfd){.fd = c, .events = POLLIN};
                        if (poll(&p, 1, 1000) > 0)
                                n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
                }
                if (write(pipefd[1], &n, sizeof(n)) != (ssize_t)sizeof(n))
                        _exit(5);
                _exit(0);
        }
        char ready;
        assert_int_equal(read(pipefd[0], &ready, 1), 1);
        assert_int_equal(client_call(path, &req, 2000, NULL, NULL, 0, NULL, 0), -EPERM);
        assert_int_equal(read(pipefd[0], &got, sizeof(got)), (ssize_t)sizeof(got));
        assert_true(got <= 0); /* nothing sent (0: hang-up, -1: nothing to read) */
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(pipefd[0]);
        close(pipefd[1]);
        unlink(path);
        rmdir(dir);
}

static void test_bad_arguments(void **state)
{
        struct proto_request req = {.method = PROTO_PING};
        char path[200];

        memset(path, 'a', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = '\0';
        assert_int_equal(client_call(path, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), -ENAMETOOLONG);
        /* Exactly sizeof(sun_path): no room for the NUL. */
        path[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0';
        assert_int_equal(client_call(path, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), -ENAMETOOLONG);
        assert_int_equal(client_call("", &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), -EINVAL);
        assert_int_equal(client_call(NULL, &req, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), -EINVAL);
        assert_int_equal(client_call("/run/x.sock", NULL, TIMEOUT_MS, NULL, NULL, 0, NULL, 0), -EINVAL);
}

static void test_no_descriptor_leaks(void **state)
{
        struct server *s = *state;
        struct proto_request req = {.method = PROTO_PING};
        static const enum server_mode modes[] = {SERVE_OK,   SERVE_ERROR,   SERVE_SILENT,
                                                 SERVE_HUGE, SERVE_GARBAGE, SERVE_CLOSE};
        size_t before = open_fds();

        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                start(s, modes[i]);
                (void)client_call(s->path, &req, 50, NULL, NULL, 0, NULL, 0);
                stop(s);
                reset(s);
        }
        (void)client_call(s->path, &req, 50, NULL, NULL, 0, NULL, 0);
        assert_int_equal(open_fds(), before);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ok_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ok_reply_without_result, setup, teardown),
                cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_silent_server_times_out, setup, teardown),
                cmocka_unit_test_setup_teardown(test_full_backlog_times_out, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbage_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hangup_without_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nobody_listening, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_of_another_uid_gets_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_descriptor_leaks, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
