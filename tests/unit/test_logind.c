/* SPDX-License-Identifier: MIT */
/* Unit tests of mlsecd/logind.c against a real dbus-daemon with python-dbusmock's logind
 * on it (tests/integration/logind_mock.py): sessions listed and looked up with their fields,
 * odd strings from the bus refused or bounded, SessionNew/SessionRemoved delivered only when
 * logind sent them, a logout that escalates to KillSession(id, "all", 9) when the session
 * stays, and a dead or silent bus refused within bounded time. */
#define _GNU_SOURCE /* pipe2 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "logind.h"

#define MOCK_DEST  "org.freedesktop.login1"
#define MOCK_PATH  "/org/freedesktop/login1"
#define MOCK_IFACE "org.freedesktop.DBus.Mock"

struct mock {
        pid_t pid;
        int stdin_fd; /* the helper stops when this closes, even if we crash */
        char address[512];
};

struct change {
        bool new_session;
        char id[EVENT_SESSION_MAX];
};

static struct {
        char dir[64];
        struct mock mock;
        sd_bus *ctl; /* our own connection, to drive the mock */
        sd_event *loop;
        struct change seen[64];
        size_t n_seen;
} T;

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The helper: $LOGIND_MOCK, the source tree from the current directory, or from the binary
 * (build/tests/ or build/san/tests/). */
static bool find_helper(char *out, size_t n)
{
        static const char *const rel[] = {"/../../tests/integration/logind_mock.py",
                                          "/../../../tests/integration/logind_mock.py"};
        char exe[PATH_MAX];
        const char *env = getenv("LOGIND_MOCK");
        ssize_t k;

        if (env && access(env, R_OK) == 0) {
                snprintf(out, n, "%s", env);
                return true;
        }
        if (access("tests/integration/logind_mock.py", R_OK) == 0) {
                snprintf(out, n, "tests/integration/logind_mock.py");
                return true;
        }
        k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (k <= 0)
                return false;
        exe[k] = '\0';
        *strrchr(exe, '/') = '\0';
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
                if ((size_t)snprintf(out, n, "%s%s", exe, rel[i]) < n && access(out, R_OK) == 0)
                        return true;
        }
        return false;
}

static void dump_file(const char *path)
{
        char buf[4096];
        FILE *f = fopen(path, "re");
        size_t k;

        if (!f)
                return;
        while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, k, stderr);
        fclose(f);
}

/* Start `logind_mock.py serve --dir SUBDIR` and wait for its READY line (20 s at most). */
static int mock_start(const char *subdir, bool logind, struct mock *m)
{
        const char *python = getenv("LOGIND_MOCK_PYTHON");
        char helper[PATH_MAX], errlog[PATH_MAX], buf[2048];
        int in[2], out[2];
        size_t len = 0;
        uint64_t deadline;
        char *p;

        if (!python)
                python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
        if (!find_helper(helper, sizeof(helper))) {
                fprintf(stderr, "tests/integration/logind_mock.py not found (set LOGIND_MOCK)\n");
                return -ENOENT;
        }
        if (mkdir(subdir, 0700) < 0 && errno != EEXIST)
                return -errno;
        snprintf(errlog, sizeof(errlog), "%s/harness.err", subdir);
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        m->pid = fork();
        if (m->pid < 0)
                return -errno;
        if (m->pid == 0) {
                int err = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

                if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || (err >= 0 && dup2(err, 2) < 0))
                        _exit(127);
                (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
                execlp(python, python, helper, "serve", "--dir", subdir, "--until-eof", logind ? NULL : "--no-logind",
                       (char *)NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        m->stdin_fd = in[1];
        deadline = now_ms() + 20000;
        for (;;) {
                struct pollfd pfd = {.fd = out[0], .events = POLLIN};
                uint64_t now = now_ms();
                ssize_t k;

                buf[len] = '\0';
                if (strstr(buf, "READY\n"))
                        break;
                if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0 ||
                    (k = read(out[0], buf + len, sizeof(buf) - 1 - len)) <= 0) {
                        close(out[0]);
                        fprintf(stderr, "logind_mock.py did not become ready:\n");
                        dump_file(errlog);
                        return -ETIMEDOUT;
                }
                len += (size_t)k;
        }
        close(out[0]);
        p = strstr(buf, "DBUS_SYSTEM_BUS_ADDRESS=");
        if (!p)
                return -EBADMSG;
        p += strlen("DBUS_SYSTEM_BUS_ADDRESS=");
        p[strcspn(p, "\n")] = '\0';
        snprintf(m->address, sizeof(m->address), "%s", p);
        return 0;
}

static void mock_stop(struct mock *m)
{
        if (m->pid <= 0)
                return;
        close(m->stdin_fd);
        kill(m->pid, SIGTERM);
        waitpid(m->pid, NULL, 0);
        m->pid = 0;
}

static void rm_tree(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;
        char p[PATH_MAX];

        if (!d) {
                unlink(path);
                return;
        }
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                rm_tree(p);
        }
        closedir(d);
        rmdir(path);
}

static int group_setup(void **state)
{
        char sub[PATH_MAX];
        int r;

        snprintf(T.dir, sizeof(T.dir), "/tmp/test_logind.XXXXXX");
        if (!mkdtemp(T.dir))
                return -1;
        snprintf(sub, sizeof(sub), "%s/bus", T.dir);
        r = mock_start(sub, true, &T.mock);
        if (r < 0) {
                fprintf(stderr, "cannot start the logind mock: %s\n", strerror(-r));
                return -1;
        }
        setenv("DBUS_SYSTEM_BUS_ADDRESS", T.mock.address, 1);
        r = sd_bus_open_system(&T.ctl);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the private bus: %s\n", strerror(-r));
                return -1;
        }
        return 0;
}

static int group_teardown(void **state)
{
        T.ctl = sd_bus_flush_close_unref(T.ctl);
        mock_stop(&T.mock);
        rm_tree(T.dir);
        return 0;
}

static void ctl_call(const char *member, const char *types, ...)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        va_list ap;
        int r;

        assert_int_equal(sd_bus_message_new_method_call(T.ctl, &m, MOCK_DEST, MOCK_PATH, MOCK_IFACE, member), 0);
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        assert_true(r >= 0);
        r = sd_bus_call(T.ctl, m, 5000000, &error, &reply);
        if (r < 0)
                fail_msg("%s: %s: %s", member, error.name, error.message);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
}

static void add_session(const char *id, uint32_t uid, const char *user, const char *service, const char *tty,
                        const char *host, uint32_t leader, bool stuck)
{
        ctl_call("AddLoginSession", "sussssubb", id, uid, user, service, tty, host, leader, stuck, true);
}

struct kill_call {
        char id[EVENT_SESSION_MAX];
        char who[16];
        int32_t signo;
};

/* KillSession calls so far, from dbusmock's call log (GetMethodCalls). */
static size_t kill_calls(struct kill_call *calls, size_t max)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        size_t n = 0;
        uint64_t t;

        assert_true(sd_bus_call_method(T.ctl, MOCK_DEST, MOCK_PATH, MOCK_IFACE, "GetMethodCalls", &error, &reply, "s",
                                       "KillSession") >= 0);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(tav)") > 0);
        while (sd_bus_message_enter_container(reply, 'r', "tav") > 0) {
                const char *id, *who;
                int32_t signo;

                assert_true(sd_bus_message_read(reply, "t", &t) > 0);
                assert_true(sd_bus_message_read(reply, "av", 3, "s", &id, "s", &who, "i", &signo) > 0);
                assert_true(sd_bus_message_exit_container(reply) >= 0);
                if (n < max) {
                        snprintf(calls[n].id, sizeof(calls[n].id), "%s", id);
                        snprintf(calls[n].who, sizeof(calls[n].who), "%s", who);
                        calls[n].signo = signo;
                }
                n++;
        }
        sd_bus_message_unref(reply);
        return n;
}

static void on_change(bool new_session, const char *id, void *userdata)
{
        assert_ptr_equal(userdata, &T);
        if (T.n_seen < sizeof(T.seen) / sizeof(T.seen[0])) {
                T.seen[T.n_seen].new_session = new_session;
                snprintf(T.seen[T.n_seen].id, sizeof(T.seen[T.n_seen].id), "%s", id);
        }
        T.n_seen++;
}

static bool seen(bool new_session, const char *id)
{
        for (size_t i = 0; i < T.n_seen && i < sizeof(T.seen) / sizeof(T.seen[0]); i++)
                if (T.seen[i].new_session == new_session && strcmp(T.seen[i].id, id) == 0)
                        return true;
        return false;
}

/* Run the loop for MS, or until fn has seen (NEW, ID) when ID is given. */
static bool run_until(bool new_session, const char *id, unsigned ms)
{
        uint64_t deadline = now_ms() + ms;

        while (now_ms() < deadline) {
                if (id && seen(new_session, id))
                        return true;
                assert_true(sd_event_run(T.loop, 10 * 1000) >= 0);
        }
        return id && seen(new_session, id);
}

static int test_setup(void **state)
{
        ctl_call("Reset", "");
        ctl_call("ClearCalls", "");
        T.n_seen = 0;
        setenv("DBUS_SYSTEM_BUS_ADDRESS", T.mock.address, 1);
        return sd_event_new(&T.loop) < 0 ? -1 : 0;
}

static int test_teardown(void **state)
{
        T.loop = sd_event_unref(T.loop);
        return 0;
}

static struct logind *open_logind(void)
{
        struct logind *l = NULL;

        assert_int_equal(logind_open(T.loop, on_change, &T, &l), 0);
        assert_non_null(l);
        return l;
}

static const struct logind_session *find(const struct logind_session *v, size_t n, const char *id)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].id, id) == 0)
                        return &v[i];
        return NULL;
}

static void test_open_close(void **state)
{
        struct logind *l = open_logind();

        assert_null(logind_close(l));
        assert_null(logind_close(NULL));
        assert_int_equal(logind_open(NULL, on_change, &T, &l), -EINVAL);
}

static void test_list(void **state)
{
        struct logind *l = open_logind();
        struct logind_session *v = NULL;
        const struct logind_session *s;
        size_t n = 99;

        assert_int_equal(logind_list(l, &v, &n), 0);
        assert_int_equal(n, 0);
        free(v);

        add_session("c1", 1000, "alice", "sshd", "pts/0", "192.0.2.1", 4242, false);
        add_session("7", 1001, "bob", "login", "tty1", "", 77, false);
        assert_int_equal(logind_list(l, &v, &n), 0);
        assert_int_equal(n, 2);
        s = find(v, n, "c1");
        assert_non_null(s);
        assert_int_equal(s->uid, 1000);
        assert_string_equal(s->user, "alice");
        assert_string_equal(s->service, "sshd");
        assert_string_equal(s->tty, "pts/0");
        assert_string_equal(s->remote_host, "192.0.2.1");
        assert_string_equal(s->state, "active");
        assert_int_equal(s->leader, 4242);
        s = find(v, n, "7");
        assert_non_null(s);
        assert_int_equal(s->uid, 1001);
        assert_string_equal(s->user, "bob");
        assert_string_equal(s->service, "login");
        assert_string_equal(s->tty, "tty1");
        assert_string_equal(s->remote_host, "");
        assert_int_equal(s->leader, 77);
        free(v);
        assert_int_equal(logind_list(NULL, &v, &n), -EINVAL);
        logind_close(l);
}

static bool utf8_valid(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;

        while (*p) {
                size_t k = *p < 0x80             ? 1
                           : (*p & 0xe0) == 0xc0 ? 2
                           : (*p & 0xf0) == 0xe0 ? 3
                           : (*p & 0xf8) == 0xf0 ? 4
                                                 : 0;

                if (k == 0)
                        return false;
                for (size_t i = 1; i < k; i++)
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                p += k;
        }
        return true;
}

/* What logind hands over is untrusted: an id that does not fit (or is not logind's shape)
 * drops the session, a long tty or host is cut on a character boundary, control characters
 * and odd user names become "not known". */
static void test_list_untrusted_strings(void **state)
{
        struct logind *l = open_logind();
        struct logind_session *v = NULL;
        const struct logind_session *s;
        char long_id[81], host[400], service[100];
        size_t n;

        memset(long_id, 'a', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = '\0';
        /* 254 ASCII bytes, then two-byte characters: the cut must not split one */
        memset(host, 'h', 254);
        host[254] = '\0';
        strcat(host, "\xc3\xa9\xc3\xa9\xc3\xa9.example");
        memset(service, 's', sizeof(service) - 1);
        service[sizeof(service) - 1] = '\0';

        add_session(long_id, 1000, "alice", "sshd", "pts/1", "", 1, false);
        add_session("c2", 1002, "bad user", service, "pts/2\x1b[2J", host, 2, false);
        add_session("c3", 1003, "carol", "sshd", "pts/3", "h\xc3\xa9te.example", 3, false);
        assert_int_equal(logind_list(l, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_null(find(v, n, long_id));

        s = find(v, n, "c2");
        assert_non_null(s);
        assert_int_equal(s->uid, 1002);
        assert_string_equal(s->user, "");    /* not a user name mlsec accepts */
        assert_string_equal(s->service, ""); /* too long: refused, not cut */
        assert_string_equal(s->tty, "");     /* control characters */
        assert_int_equal(strlen(s->remote_host), 254);
        assert_true(utf8_valid(s->remote_host));
        assert_memory_equal(s->remote_host, host, 254);

        s = find(v, n, "c3");
        assert_non_null(s);
        assert_string_equal(s->remote_host, "h\xc3\xa9te.example");
        free(v);
        logind_close(l);
}

static void test_get(void **state)
{
        struct logind *l = open_logind();
        struct logind_session s, untouched;
        char long_id[EVENT_SESSION_MAX + 1];

        add_session("c4", 1004, "dave", "sudo", "pts/4", "2001:db8::4", 404, false);
        assert_int_equal(logind_get(l, "c4", &s), 0);
        assert_string_equal(s.id, "c4");
        assert_int_equal(s.uid, 1004);
        assert_string_equal(s.user, "dave");
        assert_string_equal(s.service, "sudo");
        assert_string_equal(s.tty, "pts/4");
        assert_string_equal(s.remote_host, "2001:db8::4");
        assert_string_equal(s.state, "active");
        assert_int_equal(s.leader, 404);

        memset(&s, 0x5a, sizeof(s));
        untouched = s;
        assert_int_equal(logind_get(l, "c99", &s), -ENOENT);
        assert_memory_equal(&s, &untouched, sizeof(s));

        memset(long_id, '1', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = '\0';
        assert_int_equal(logind_get(l, long_id, &s), -EINVAL);
        assert_int_equal(logind_get(l, "", &s), -EINVAL);
        assert_int_equal(logind_get(l, "c4/../x", &s), -EINVAL);
        assert_int_equal(logind_get(l, NULL, &s), -EINVAL);
        assert_memory_equal(&s, &untouched, sizeof(s));
        logind_close(l);
}

static void test_signals(void **state)
{
        struct logind *l = open_logind();

        add_session("c5", 1005, "erin", "sshd", "pts/5", "", 5, false);
        assert_true(run_until(true, "c5", 3000));
        ctl_call("RemoveLoginSession", "s", "c5");
        assert_true(run_until(false, "c5", 3000));
        assert_int_equal(T.n_seen, 2);
        logind_close(l);
}

/* Anybody on the system bus may send us a signal, even one addressed to us alone: only
 * those from logind's own connection count, and a forged NameOwnerChanged does not make
 * somebody else logind. */
static void test_forged_signals_ignored(void **state)
{
        struct logind *l = open_logind();
        sd_bus_message *reply = NULL, *m = NULL;
        const char *self, *owner, *name;
        char owner_copy[256];

        add_session("c6", 1006, "frank", "sshd", "pts/6", "", 6, false);
        assert_true(run_until(true, "c6", 3000));
        assert_int_equal(sd_bus_get_unique_name(T.ctl, &self), 0);
        assert_true(sd_bus_call_method(T.ctl, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "GetNameOwner", NULL, &reply, "s", MOCK_DEST) >= 0);
        assert_true(sd_bus_message_read(reply, "s", &owner) > 0);
        snprintf(owner_copy, sizeof(owner_copy), "%s", owner);
        reply = sd_bus_message_unref(reply);

        assert_true(sd_bus_call_method(T.ctl, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "ListNames", NULL, &reply, "") >= 0);
        assert_true(sd_bus_message_enter_container(reply, 'a', "s") > 0);
        while (sd_bus_message_read(reply, "s", &name) > 0) {
                if (name[0] != ':' || strcmp(name, self) == 0 || strcmp(name, owner_copy) == 0)
                        continue;
                /* "logind moved to the caller's connection", then "c6 is gone" */
                assert_true(sd_bus_message_new_signal(T.ctl, &m, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                                      "NameOwnerChanged") >= 0);
                assert_true(sd_bus_message_set_destination(m, name) >= 0);
                assert_true(sd_bus_message_append(m, "sss", MOCK_DEST, owner_copy, self) >= 0);
                assert_true(sd_bus_send(T.ctl, m, NULL) >= 0);
                m = sd_bus_message_unref(m);
                assert_true(sd_bus_message_new_signal(T.ctl, &m, MOCK_PATH, "org.freedesktop.login1.Manager",
                                                      "SessionRemoved") >= 0);
                assert_true(sd_bus_message_set_destination(m, name) >= 0);
                assert_true(sd_bus_message_append(m, "so", "c6", "/org/freedesktop/login1/session/c6") >= 0);
                assert_true(sd_bus_send(T.ctl, m, NULL) >= 0);
                m = sd_bus_message_unref(m);
        }
        reply = sd_bus_message_unref(reply);
        assert_true(sd_bus_emit_signal(T.ctl, MOCK_PATH, "org.freedesktop.login1.Manager", "SessionRemoved", "so", "c6",
                                       "/org/freedesktop/login1/session/c6") >= 0);
        assert_true(sd_bus_flush(T.ctl) >= 0);

        /* logind's own signal, sent after the forged ones, arrives; the forged ones did not count */
        add_session("c16", 1016, "frank", "sshd", "pts/16", "", 16, false);
        assert_true(run_until(true, "c16", 3000));
        assert_false(seen(false, "c6"));
        ctl_call("RemoveLoginSession", "s", "c6");
        assert_true(run_until(false, "c6", 3000));
        logind_close(l);
}

static void test_terminate(void **state)
{
        struct logind *l = open_logind();
        struct logind_session s;
        struct kill_call k[4];

        add_session("c7", 1007, "grace", "sshd", "pts/7", "198.51.100.7", 7, false);
        assert_true(run_until(true, "c7", 3000));
        assert_int_equal(logind_terminate(l, "c7", 200), 0);
        assert_true(run_until(false, "c7", 3000));
        assert_int_equal(logind_get(l, "c7", &s), -ENOENT);
        /* the session went at once: the deadline passes without a KillSession */
        run_until(false, NULL, 400);
        assert_int_equal(kill_calls(k, 4), 0);

        assert_int_equal(logind_terminate(l, "c7", 200), -ENOENT);
        assert_int_equal(logind_terminate(l, "c-7", 200), -EINVAL);
        assert_int_equal(logind_terminate(NULL, "c7", 200), -EINVAL);
        logind_close(l);
}

/* A session that ignores TerminateSession stays "closing" and gets KillSession(id, "all",
 * SIGKILL) once the escalation deadline has passed, not before. */
static void test_terminate_stuck_escalates(void **state)
{
        struct logind *l = open_logind();
        struct logind_session s;
        struct kill_call k[4];
        uint64_t t0, waited;

        add_session("c8", 1008, "heidi", "sshd", "pts/8", "", 8, true);
        add_session("c9", 1009, "ivan", "sshd", "pts/9", "", 9, false);
        t0 = now_ms();
        assert_int_equal(logind_terminate(l, "c8", 300), 0);
        assert_int_equal(logind_get(l, "c8", &s), 0);
        assert_string_equal(s.state, "closing");
        run_until(false, NULL, 150);
        assert_int_equal(kill_calls(k, 4), 0);
        assert_true(run_until(false, "c8", 3000)); /* KillSession removes it in the mock */
        waited = now_ms() - t0;
        assert_true(waited >= 300);
        assert_int_equal(kill_calls(k, 4), 1);
        assert_string_equal(k[0].id, "c8");
        assert_string_equal(k[0].who, "all");
        assert_int_equal(k[0].signo, 9);
        assert_int_equal(logind_get(l, "c8", &s), -ENOENT);
        assert_int_equal(logind_get(l, "c9", &s), 0); /* nobody else touched */
        logind_close(l);
}

/* logind_close cancels pending escalations: nothing fires into freed memory. */
static void test_close_cancels_escalation(void **state)
{
        struct logind *l = open_logind();
        struct kill_call k[4];

        add_session("c10", 1010, "judy", "sshd", "pts/10", "", 10, true);
        add_session("c11", 1011, "judy", "sshd", "pts/11", "", 11, true);
        assert_int_equal(logind_terminate(l, "c10", 100), 0);
        assert_int_equal(logind_terminate(l, "c11", 150), 0);
        assert_int_equal(logind_terminate(l, "c11", 150), 0); /* twice: one deadline */
        assert_null(logind_close(l));
        run_until(false, NULL, 400);
        assert_int_equal(kill_calls(k, 4), 0);
}

static void expect_open_fails_fast(const char *address, unsigned max_ms)
{
        struct logind *l = NULL;
        uint64_t t0;
        int r;

        setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1);
        t0 = now_ms();
        r = logind_open(T.loop, on_change, &T, &l);
        assert_true(now_ms() - t0 < max_ms);
        assert_true(r < 0);
        assert_null(l);
}

/* No bus, a socket nobody listens on, a listener that never answers, a bus without logind:
 * each an error, within bounded time. */
static void test_open_without_logind(void **state)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char address[PATH_MAX + 32], sub[PATH_MAX];
        struct mock bare = {0};
        int fd;

        snprintf(address, sizeof(address), "unix:path=%s/none.sock", T.dir);
        expect_open_fails_fast(address, 1000);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead.sock", T.dir);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0); /* bound, not listening */
        snprintf(address, sizeof(address), "unix:path=%s", sa.sun_path);
        expect_open_fails_fast(address, 1000);
        assert_int_equal(listen(fd, 4), 0); /* now accepted by the kernel, never answered */
        expect_open_fails_fast(address, 3000);
        close(fd);

        snprintf(sub, sizeof(sub), "%s/bare", T.dir);
        assert_int_equal(mock_start(sub, false, &bare), 0);
        expect_open_fails_fast(bare.address, 1000);
        mock_stop(&bare);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_close, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_list, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_list_untrusted_strings, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_get, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_signals, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_forged_signals_ignored, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_terminate, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_terminate_stuck_escalates, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_close_cancels_escalation, test_setup, test_teardown),
                cmocka_unit_test_setup_teardown(test_open_without_logind, test_setup, test_teardown),
        };

        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
