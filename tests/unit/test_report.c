/* SPDX-License-Identifier: MIT */
/* Unit tests of common/report.c with a stand-in mlsecd (a SOCK_SEQPACKET server in a thread)
 * and a real spool directory: an event mlsecd confirms is not spooled; one it does not
 * confirm (absent, hanging, refusing, answering nonsense) is spooled whole, within the
 * deadline; and only when the spool fails too does the caller hear of an error. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "event.h"
#include "proto.h"
#include "report.h"
#include "spool.h"

enum daemon_mode {
        DAEMON_STORED,    /* {"stored":true} */
        DAEMON_DUPLICATE, /* {"stored":false}: it had that id already */
        DAEMON_HANG,      /* reads, never answers */
        DAEMON_ERROR,     /* internal error */
        DAEMON_NO_RESULT, /* ok, but does not say it stored anything */
};

struct fixture {
        char root[64];
        struct mlsec_conf conf;
        int lfd;
        enum daemon_mode mode;
        pthread_t thread;
        int decode_r;
        struct proto_request got;
};

struct seen {
        size_t n;
        struct mlsec_event last;
};

static int64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)remove(path);
        return 0;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        (void)snprintf(f->root, sizeof(f->root), "/tmp/test_report.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        conf_defaults(&f->conf);
        (void)snprintf(f->conf.socket, sizeof(f->conf.socket), "%s/mlsecd.sock", f->root);
        (void)snprintf(f->conf.spool_dir, sizeof(f->conf.spool_dir), "%s/spool", f->root);
        f->lfd = -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (f->lfd >= 0)
                (void)close(f->lfd);
        (void)nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static int reply(int fd, enum daemon_mode mode)
{
        char *buf = malloc(PROTO_MSG_MAX);
        struct proto_obj *o = NULL;
        size_t len;
        int r = -ENOMEM;

        if (!buf)
                return r;
        switch (mode) {
        case DAEMON_STORED:
        case DAEMON_DUPLICATE:
                o = proto_obj_new();
                if (!o || proto_obj_set_bool(o, "stored", mode == DAEMON_STORED) < 0)
                        goto out;
                r = proto_encode_reply(o, buf, PROTO_MSG_MAX, &len);
                break;
        case DAEMON_ERROR:
                r = proto_encode_error(PROTO_E_INTERNAL, "database is locked", buf, PROTO_MSG_MAX, &len);
                break;
        case DAEMON_NO_RESULT:
                r = proto_encode_reply(NULL, buf, PROTO_MSG_MAX, &len);
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

/* One connection, one request: what the PAM module's report looks like from mlsecd's side. */
static void *daemon_main(void *userdata)
{
        struct fixture *f = userdata;
        char *buf = malloc(PROTO_MSG_MAX + 1);
        struct pollfd p;
        ssize_t n;
        int fd;

        f->decode_r = -EIO;
        fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0 || !buf)
                goto out;
        n = recv(fd, buf, PROTO_MSG_MAX + 1, 0);
        if (n > 0)
                f->decode_r = proto_decode_request(buf, (size_t)n, &f->got, NULL, 0);
        if (f->mode != DAEMON_HANG)
                (void)reply(fd, f->mode);
        /* Until the client hangs up (bounded, should the test fail). */
        p = (struct pollfd){.fd = fd, .events = POLLIN};
        (void)poll(&p, 1, 5000);
out:
        if (fd >= 0)
                (void)close(fd);
        free(buf);
        return NULL;
}

static void start_daemon(struct fixture *f, enum daemon_mode mode)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        f->mode = mode;
        f->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_true(f->lfd >= 0);
        (void)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->conf.socket);
        assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(f->lfd, 8), 0);
        assert_int_equal(pthread_create(&f->thread, NULL, daemon_main, f), 0);
}

static void stop_daemon(struct fixture *f)
{
        assert_int_equal(pthread_join(f->thread, NULL), 0);
}

static void make_event(struct mlsec_event *e)
{
        event_init(e, EVENT_AUTH);
        e->uid = 1000;
        e->pid = 777;
        assert_int_equal(event_set_text(e->user, sizeof(e->user), "alice"), 0);
        assert_int_equal(event_set_text(e->service, sizeof(e->service), "sshd"), 0);
        assert_int_equal(event_set_text(e->rhost, sizeof(e->rhost), "192.0.2.7"), 0);
        assert_int_equal(event_set_text(e->ip, sizeof(e->ip), "192.0.2.7"), 0);
        assert_int_equal(event_set_text(e->method, sizeof(e->method), "totp"), 0);
        assert_int_equal(event_set_text(e->result, sizeof(e->result), "fail"), 0);
        assert_int_equal(event_set_text(e->reason, sizeof(e->reason), "wrong-code"), 0);
}

static int collect(const struct mlsec_event *e, void *userdata)
{
        struct seen *s = userdata;

        s->n++;
        s->last = *e;
        return 0;
}

static size_t spooled_count(const struct fixture *f, struct seen *s)
{
        size_t bad = 0;

        memset(s, 0, sizeof(*s));
        assert_true(spool_scan(f->conf.spool_dir, 0, collect, NULL, s, &bad) >= 0);
        assert_int_equal(bad, 0);
        return s->n;
}

static void assert_spooled_is(const struct fixture *f, const struct mlsec_event *e)
{
        struct seen s;

        assert_int_equal(spooled_count(f, &s), 1);
        assert_string_equal(s.last.id, e->id);
        assert_int_equal(s.last.kind, e->kind);
        assert_int_equal(s.last.time_us, e->time_us);
        assert_string_equal(s.last.user, e->user);
        assert_int_equal(s.last.uid, e->uid);
        assert_string_equal(s.last.service, e->service);
        assert_string_equal(s.last.rhost, e->rhost);
        assert_string_equal(s.last.ip, e->ip);
        assert_string_equal(s.last.method, e->method);
        assert_string_equal(s.last.result, e->result);
        assert_string_equal(s.last.reason, e->reason);
        assert_int_equal(s.last.pid, e->pid);
}

static void test_stored_is_not_spooled(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        bool spooled = true;
        struct seen s;

        make_event(&e);
        start_daemon(f, DAEMON_STORED);
        assert_int_equal(report_event(&f->conf, &e, &spooled), 0);
        stop_daemon(f);
        assert_false(spooled);
        /* mlsecd received the event itself. */
        assert_int_equal(f->decode_r, 0);
        assert_int_equal(f->got.method, PROTO_REPORT);
        assert_string_equal(f->got.event.id, e.id);
        assert_string_equal(f->got.event.user, "alice");
        assert_string_equal(f->got.event.result, "fail");
        assert_int_equal(spooled_count(f, &s), 0);
}

static void test_duplicate_is_not_spooled(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        bool spooled = true;
        struct seen s;

        make_event(&e);
        start_daemon(f, DAEMON_DUPLICATE);
        assert_int_equal(report_event(&f->conf, &e, &spooled), 0);
        stop_daemon(f);
        assert_false(spooled);
        assert_int_equal(spooled_count(f, &s), 0);
}

static void test_no_daemon_spools(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        bool spooled = false;

        make_event(&e);
        assert_int_equal(report_event(&f->conf, &e, &spooled), 0);
        assert_true(spooled);
        assert_spooled_is(f, &e);
}

static void test_hanging_daemon_spools_in_time(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        bool spooled = false;
        int64_t t;

        make_event(&e);
        start_daemon(f, DAEMON_HANG);
        t = now_ms();
        assert_int_equal(report_event(&f->conf, &e, &spooled), 0);
        t = now_ms() - t;
        stop_daemon(f);
        assert_true(spooled);
        /* The deadline plus one spool write: a stuck mlsecd never holds a login. */
        assert_true(t >= REPORT_TIMEOUT_MS - 1);
        assert_true(t < REPORT_TIMEOUT_MS + 50);
        assert_int_equal(f->got.method, PROTO_REPORT);
        assert_spooled_is(f, &e);
}

static void test_error_reply_spools(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        bool spooled = false;

        make_event(&e);
        start_daemon(f, DAEMON_ERROR);
        assert_int_equal(report_event(&f->conf, &e, &spooled), 0);
        stop_daemon(f);
        assert_true(spooled);
        assert_spooled_is(f, &e);
}

static void test_unconfirmed_reply_spools(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        bool spooled = false;

        /* "ok" without "stored" does not say mlsecd has the event: keep it. */
        make_event(&e);
        start_daemon(f, DAEMON_NO_RESULT);
        assert_int_equal(report_event(&f->conf, &e, &spooled), 0);
        stop_daemon(f);
        assert_true(spooled);
        assert_spooled_is(f, &e);
}

static void test_both_fail(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        bool spooled = false;

        /* No daemon, and a spool directory others can read: the event is not written there. */
        make_event(&e);
        assert_int_equal(mkdir(f->conf.spool_dir, 0755), 0);
        assert_int_equal(chmod(f->conf.spool_dir, 0755), 0);
        assert_int_equal(report_event(&f->conf, &e, &spooled), -EPERM);
        assert_false(spooled);

        /* No daemon, spool parent missing. */
        (void)snprintf(f->conf.spool_dir, sizeof(f->conf.spool_dir), "%s/missing/spool", f->root);
        assert_int_equal(report_event(&f->conf, &e, &spooled), -ENOENT);
        assert_false(spooled);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_stored_is_not_spooled, setup, teardown),
                cmocka_unit_test_setup_teardown(test_duplicate_is_not_spooled, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_daemon_spools, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hanging_daemon_spools_in_time, setup, teardown),
                cmocka_unit_test_setup_teardown(test_error_reply_spools, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unconfirmed_reply_spools, setup, teardown),
                cmocka_unit_test_setup_teardown(test_both_fail, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
