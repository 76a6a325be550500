/* SPDX-License-Identifier: MIT */
/* Unit tests of mlsecd/journal.c: with MLSECD_LOG_STDERR=1 each kind and result of event
 * gives exactly the designed MESSAGE line on stderr, untrusted text is bounded, cut on a
 * UTF-8 boundary and kept to one line, and status lines are formatted. When the test runs
 * as root and can start a private systemd-journald (new mount and PID namespaces, tmpfs
 * over /run and /var/log/journal), the structured fields are read back with journalctl. */
#define _GNU_SOURCE /* unshare */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

#define JOURNALD_PATH "/lib/systemd/systemd-journald"
#define SKIP_CODE     77

struct capture {
        int saved;
        int fd;
};

static void capture_begin(struct capture *c)
{
        char path[] = "/tmp/test_journal.XXXXXX";

        c->fd = mkstemp(path);
        assert_true(c->fd >= 0);
        (void)unlink(path);
        c->saved = dup(STDERR_FILENO);
        assert_true(c->saved >= 0);
        assert_true(dup2(c->fd, STDERR_FILENO) == STDERR_FILENO);
}

/* What was written to stderr since capture_begin; malloc'd. */
static char *capture_end(struct capture *c)
{
        char *buf = calloc(1, 65536);
        ssize_t n;
        size_t len = 0;

        assert_true(dup2(c->saved, STDERR_FILENO) == STDERR_FILENO);
        close(c->saved);
        assert_non_null(buf);
        assert_true(lseek(c->fd, 0, SEEK_SET) == 0);
        while ((n = read(c->fd, buf + len, 65535 - len)) > 0)
                len += (size_t)n;
        close(c->fd);
        return buf;
}

static char *capture_event(const struct mlsec_event *e)
{
        struct capture c;

        capture_begin(&c);
        journal_event(e);
        return capture_end(&c);
}

static void assert_event_line(const struct mlsec_event *e, const char *want)
{
        char *got = capture_event(e);

        assert_string_equal(got, want);
        free(got);
}

static void base_event(struct mlsec_event *e, enum event_kind kind, char tag)
{
        memset(e, 0, sizeof(*e));
        memset(e->id, 'a', EVENT_ID_LEN);
        e->id[EVENT_ID_LEN - 1] = tag;
        e->kind = kind;
        e->time_us = (int64_t)time(NULL) * 1000000;
        e->uid = -1;
        e->pid = -1;
        e->actor_uid = -1;
        strcpy(e->user, "alice");
}

/* alice over SSH from 203.0.113.7 */
static void ssh_event(struct mlsec_event *e, enum event_kind kind, char tag)
{
        base_event(e, kind, tag);
        e->uid = 1000;
        strcpy(e->service, "sshd");
        strcpy(e->rhost, "203.0.113.7");
        strcpy(e->ip, "203.0.113.7");
        strcpy(e->tty, "ssh");
}

static void auth_event(struct mlsec_event *e, const char *method, const char *result, const char *reason, char tag)
{
        ssh_event(e, EVENT_AUTH, tag);
        strcpy(e->method, method);
        strcpy(e->result, result);
        strcpy(e->reason, reason);
}

static void audit_event(struct mlsec_event *e, int64_t actor, const char *action, const char *detail, char tag)
{
        base_event(e, EVENT_AUDIT, tag);
        e->actor_uid = actor;
        strcpy(e->action, action);
        strcpy(e->detail, detail);
}

static int setup_stderr(void **state)
{
        return setenv("MLSECD_LOG_STDERR", "1", 1);
}

static void test_auth_messages(void **state)
{
        struct mlsec_event e;

        auth_event(&e, "totp", "ok", "ok", '1');
        assert_event_line(&e, "alice: login succeeded (totp) via sshd from 203.0.113.7\n");
        auth_event(&e, "backup", "ok", "ok", '1');
        assert_event_line(&e, "alice: login succeeded (backup) via sshd from 203.0.113.7\n");
        auth_event(&e, "totp", "fail", "wrong code", '1');
        assert_event_line(&e, "alice: login failed (wrong code) via sshd from 203.0.113.7\n");
        auth_event(&e, "none", "fail", "locked", '1');
        assert_event_line(&e, "alice: login failed (locked) via sshd from 203.0.113.7\n");
        auth_event(&e, "totp", "fail", "replay", '1');
        strcpy(e.rhost, "client.example.org");
        assert_event_line(&e, "alice: login failed (replay) via sshd from client.example.org [203.0.113.7]\n");

        /* a local login names the tty instead of a host */
        auth_event(&e, "none", "skipped", "unenrolled", '1');
        strcpy(e.user, "bob");
        strcpy(e.service, "login");
        e.rhost[0] = e.ip[0] = '\0';
        strcpy(e.tty, "tty1");
        assert_event_line(&e, "bob: second factor skipped (unenrolled) via login on tty1\n");

        /* nothing known but user and result */
        base_event(&e, EVENT_AUTH, '1');
        strcpy(e.result, "fail");
        assert_event_line(&e, "alice: login failed\n");
}

static void test_session_messages(void **state)
{
        struct mlsec_event e;

        ssh_event(&e, EVENT_SESSION_OPEN, '2');
        strcpy(e.session, "42");
        assert_event_line(&e, "alice: session 42 opened (sshd, from 203.0.113.7)\n");

        ssh_event(&e, EVENT_SESSION_CLOSE, '2');
        strcpy(e.session, "42");
        strcpy(e.reason, "closed");
        assert_event_line(&e, "alice: session 42 closed (sshd, from 203.0.113.7)\n");
        strcpy(e.reason, "logout");
        assert_event_line(&e, "alice: session 42 closed (sshd, from 203.0.113.7, logout)\n");

        base_event(&e, EVENT_SESSION_OPEN, '2');
        strcpy(e.user, "carol");
        strcpy(e.service, "login");
        strcpy(e.tty, "tty1");
        assert_event_line(&e, "carol: session opened (login, on tty1)\n");

        base_event(&e, EVENT_SESSION_CLOSE, '2');
        strcpy(e.session, "c7");
        strcpy(e.reason, "ended");
        assert_event_line(&e, "alice: session c7 closed (ended)\n");
        base_event(&e, EVENT_SESSION_CLOSE, '2');
        assert_event_line(&e, "alice: session closed\n");
}

static void test_audit_messages(void **state)
{
        struct mlsec_event e;

        audit_event(&e, 0, "mfa-reset", "lost phone, ticket #4711", '3');
        assert_event_line(&e, "audit: root reset MFA of alice: lost phone, ticket #4711\n");
        audit_event(&e, 0, "device-added", "device \"phone\"", '3');
        assert_event_line(&e, "audit: root added a device for alice: device \"phone\"\n");
        audit_event(&e, 2147480002, "session-terminated", "session c7", '3');
        assert_event_line(&e, "audit: uid 2147480002 logged out a session of alice: session c7\n");
        audit_event(&e, -1, "mfa-disabled", "", '3');
        assert_event_line(&e, "audit: system disabled MFA of alice\n");
        /* an uid nobody has, an action without wording */
        audit_event(&e, 2147480001, "device-renamed", "phone -> old phone", '3');
        assert_event_line(&e, "audit: uid 2147480001 device-renamed for alice: phone -> old phone\n");
        audit_event(&e, 0, "key-rotated", "", '3');
        e.user[0] = '\0';
        assert_event_line(&e, "audit: root key-rotated\n");
        /* alerts: their own wording (and MESSAGE_ID, test_structured_fields) */
        audit_event(&e, -1, "alert-failure-burst", "5 failed login attempts", '3');
        assert_event_line(&e, "alert: failure-burst for alice: 5 failed login attempts\n");
        audit_event(&e, 0, "ack-alert", "alert 3 acknowledged", '3');
        assert_event_line(&e, "audit: root acknowledged an alert of alice: alert 3 acknowledged\n");
}

/* The longest detail an event can hold is cut to 256 bytes in MESSAGE, marked "...". */
static void test_hostile_detail_bounded(void **state)
{
        struct mlsec_event e;
        char want[1024], *got;

        audit_event(&e, 0, "mfa-reset", "", '4');
        memset(e.detail, 'A', sizeof(e.detail) - 1);
        (void)snprintf(want, sizeof(want), "audit: root reset MFA of alice: %.*s...\n", 256, e.detail);
        assert_event_line(&e, want);

        /* not terminated inside its buffer (event_validate would refuse it): still bounded */
        memset(e.detail, 'B', sizeof(e.detail));
        memset(e.user, 'u', sizeof(e.user));
        got = capture_event(&e);
        assert_true(strlen(got) < 512);
        assert_non_null(strstr(got, "BBB...\n"));
        assert_int_equal(strchr(got, '\n') - got, (long)strlen(got) - 1);
        free(got);
}

/* A cut never splits a UTF-8 sequence: "x" then 2-byte characters; 255 bytes fit. */
static void test_detail_cut_on_utf8_boundary(void **state)
{
        struct mlsec_event e;
        char want[1024];
        size_t o = 0;

        audit_event(&e, 0, "mfa-reset", "x", '5');
        o = 1;
        while (o + 2 < sizeof(e.detail)) {
                memcpy(e.detail + o, "\xc3\xa9", 2); /* é */
                o += 2;
        }
        e.detail[o] = '\0';
        (void)snprintf(want, sizeof(want), "audit: root reset MFA of alice: %.*s...\n", 255, e.detail);
        assert_event_line(&e, want);
}

/* Control characters (which event_validate refuses) never reach a line: no forged entries. */
static void test_control_characters_replaced(void **state)
{
        struct mlsec_event e;

        audit_event(&e, 0, "mfa-reset", "ok\nalice: login succeeded (totp)\x1b[2J\xc2\x9b\xff", '6');
        assert_event_line(&e, "audit: root reset MFA of alice: ok?alice: login succeeded (totp)?[2J??\n");
        auth_event(&e, "totp", "fail", "wrong code", '6');
        strcpy(e.rhost, "evil\r\nhost");
        assert_event_line(&e, "alice: login failed (wrong code) via sshd from evil??host [203.0.113.7]\n");
}

static void test_daemon_messages(void **state)
{
        struct capture c;
        char *got, big[5000], want[1100];

        capture_begin(&c);
        journal_daemon(LOG_INFO, "mlsecd %s started: %d sockets, state in %s", "0.1", 1, "/var/lib/mlsec");
        got = capture_end(&c);
        assert_string_equal(got, "mlsecd 0.1 started: 1 sockets, state in /var/lib/mlsec\n");
        free(got);

        capture_begin(&c);
        journal_daemon(LOG_ERR, "cannot open %s: %s", "/var/lib/mlsec/activity.db", "bad\nline");
        got = capture_end(&c);
        assert_string_equal(got, "cannot open /var/lib/mlsec/activity.db: bad?line\n");
        free(got);

        /* a long argument is cut to 960 bytes */
        memset(big, 'z', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        capture_begin(&c);
        journal_daemon(LOG_WARNING, "spool file %s ignored", big);
        got = capture_end(&c);
        (void)snprintf(want, sizeof(want), "spool file %.*s...\n", 960 - 11, big);
        assert_string_equal(got, want);
        free(got);

        /* errno survives a journal call, so a caller may still report it */
        errno = EACCES;
        capture_begin(&c);
        journal_daemon(LOG_ERR, "x");
        got = capture_end(&c);
        free(got);
        assert_int_equal(errno, EACCES);
}

/* Without MLSECD_LOG_STDERR=1, and stderr not a terminal, nothing goes to stderr. */
static void test_no_stderr_by_default(void **state)
{
        struct mlsec_event e;
        char *got;

        assert_int_equal(setenv("MLSECD_LOG_STDERR", "0", 1), 0);
        auth_event(&e, "totp", "ok", "ok", '7');
        got = capture_event(&e);
        assert_string_equal(got, "");
        free(got);
        assert_int_equal(unsetenv("MLSECD_LOG_STDERR"), 0);
        got = capture_event(&e);
        assert_string_equal(got, "");
        free(got);
        assert_int_equal(setenv("MLSECD_LOG_STDERR", "1", 1), 0);
}

/* ---- structured fields through a private journald ---- */

#define N_ENTRIES 11

static int run_wait(char *const argv[], int out_fd)
{
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                if (out_fd >= 0)
                        (void)dup2(out_fd, STDOUT_FILENO);
                if (null >= 0)
                        (void)dup2(null, STDERR_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status);
}

static size_t count(const char *hay, const char *needle)
{
        size_t n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static void emit_events(void)
{
        struct mlsec_event e;

        auth_event(&e, "totp", "fail", "wrong code", '1');
        journal_event(&e);
        auth_event(&e, "totp", "ok", "ok", '2');
        journal_event(&e);
        auth_event(&e, "none", "fail", "locked", '3');
        journal_event(&e);
        ssh_event(&e, EVENT_SESSION_OPEN, '4');
        strcpy(e.session, "42");
        journal_event(&e);
        ssh_event(&e, EVENT_SESSION_CLOSE, '5');
        strcpy(e.session, "42");
        strcpy(e.reason, "logout");
        journal_event(&e);
        audit_event(&e, 0, "mfa-reset", "lost phone", '6');
        journal_event(&e);
        audit_event(&e, 0, "mfa-reset", "two\nlines", '7');
        journal_event(&e);
        audit_event(&e, -1, "alert-new-country", "successful login via sshd from 198.51.100.4", '8');
        journal_event(&e);
        audit_event(&e, 1000, "alert-user-report", "reported by alice", '9');
        journal_event(&e);
        audit_event(&e, -1, "alert-something-new", "a rule of a newer mlsecd", 'a');
        journal_event(&e);
        journal_daemon(LOG_ERR, "journal test %s", "status line");
}

/* Runs as PID 1 of a new PID namespace in a private mount namespace: journald there cannot
 * touch the host's kernel audit settings nor its journal. Exit codes: 0 ok, 77 cannot. */
static int private_journald(const char *out_path)
{
        char *journalctl[] = {"journalctl", "-o", "export", "--no-pager", "SYSLOG_IDENTIFIER=mlsecd", NULL};
        struct stat st;
        pid_t jd;
        int r;

        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return SKIP_CODE;
        if (stat("/var/log/journal", &st) == 0 && mount("tmpfs", "/var/log/journal", "tmpfs", 0, "mode=0755") < 0)
                return SKIP_CODE;
        jd = fork();
        if (jd < 0)
                return SKIP_CODE;
        if (jd == 0) {
                int null = open("/dev/null", O_RDWR);

                if (null >= 0) {
                        (void)dup2(null, STDOUT_FILENO);
                        (void)dup2(null, STDERR_FILENO);
                }
                execl(JOURNALD_PATH, JOURNALD_PATH, (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 100 && stat("/run/systemd/journal/socket", &st) < 0; i++)
                (void)usleep(50000);
        if (stat("/run/systemd/journal/socket", &st) < 0)
                return SKIP_CODE;

        (void)unsetenv("MLSECD_LOG_STDERR");
        emit_events();

        /* journald stores asynchronously: read until every entry is there */
        for (int i = 0; i < 100; i++) {
                int fd = open(out_path, O_RDWR | O_TRUNC | O_CLOEXEC);
                char buf[65536];
                ssize_t n;

                if (fd < 0)
                        return 1;
                r = run_wait(journalctl, fd);
                if (r == 127) {
                        close(fd);
                        return SKIP_CODE; /* no journalctl */
                }
                n = pread(fd, buf, sizeof(buf) - 1, 0);
                close(fd);
                buf[n > 0 ? n : 0] = '\0';
                if (r == 0 && count(buf, "\nSYSLOG_IDENTIFIER=mlsecd\n") >= N_ENTRIES)
                        break;
                (void)usleep(50000);
        }
        (void)kill(jd, SIGTERM);
        (void)waitpid(jd, NULL, 0);
        return 0;
}

struct exported {
        char *text;
        size_t len;
};

static bool has_line(const char *entry, size_t len, const char *line)
{
        size_t n = strlen(line);

        for (const char *p = entry; p < entry + len;) {
                const char *eol = memchr(p, '\n', (size_t)(entry + len - p));
                size_t ll = eol ? (size_t)(eol - p) : (size_t)(entry + len - p);

                if (ll == n && memcmp(p, line, n) == 0)
                        return true;
                if (!eol)
                        break;
                p = eol + 1;
        }
        return false;
}

/* The exported entry (entries are separated by a blank line) holding LINE, or NULL. */
static const char *find_entry(const struct exported *x, const char *line, size_t *ret_len)
{
        const char *p = x->text;

        while (p < x->text + x->len) {
                const char *end = strstr(p, "\n\n");
                size_t len = end ? (size_t)(end - p) + 1 : strlen(p);

                if (has_line(p, len, line)) {
                        *ret_len = len;
                        return p;
                }
                if (!end)
                        break;
                p = end + 2;
        }
        return NULL;
}

/* The value of field NAME in the entry, malloc'd, or NULL. */
static char *field(const char *entry, size_t len, const char *name)
{
        size_t nl = strlen(name);

        for (const char *p = entry; p < entry + len;) {
                const char *eol = memchr(p, '\n', (size_t)(entry + len - p));
                size_t ll = eol ? (size_t)(eol - p) : (size_t)(entry + len - p);

                if (ll > nl && memcmp(p, name, nl) == 0 && p[nl] == '=')
                        return strndup(p + nl + 1, ll - nl - 1);
                if (!eol)
                        break;
                p = eol + 1;
        }
        return NULL;
}

static void assert_field(const char *entry, size_t len, const char *name, const char *want)
{
        char *v = field(entry, len, name);

        if (!want) {
                if (v)
                        fail_msg("%s present: %s", name, v);
                return;
        }
        if (!v)
                fail_msg("%s missing (want %s)", name, want);
        assert_string_equal(v, want);
        free(v);
}

/* Every line of the entry is NAME=value: a field with a newline would be exported binary. */
static void assert_text_only(const char *entry, size_t len)
{
        for (const char *p = entry; p < entry + len;) {
                const char *eol = memchr(p, '\n', (size_t)(entry + len - p));
                size_t ll = eol ? (size_t)(eol - p) : (size_t)(entry + len - p);

                if (ll > 0 && !memchr(p, '=', ll))
                        fail_msg("binary field %.*s", (int)ll, p);
                if (!eol)
                        break;
                p = eol + 1;
        }
}

static const char *event_entry(const struct exported *x, char tag, size_t *ret_len)
{
        char line[64];
        const char *entry;

        (void)snprintf(line, sizeof(line), "MLSEC_EVENT_ID=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%c", tag);
        entry = find_entry(x, line, ret_len);
        if (!entry)
                fail_msg("no entry with %s", line);
        assert_text_only(entry, *ret_len);
        assert_field(entry, *ret_len, "SYSLOG_IDENTIFIER", "mlsecd");
        return entry;
}

static void test_structured_fields(void **state)
{
        char path[] = "/tmp/test_journal_export.XXXXXX";
        struct exported x = {0};
        const char *en;
        size_t len;
        struct stat st;
        int fd, status;
        pid_t pid;

        if (geteuid() != 0 || access(JOURNALD_PATH, X_OK) < 0)
                skip();
        fd = mkstemp(path);
        assert_true(fd >= 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                pid_t init;

                if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0)
                        _exit(SKIP_CODE);
                init = fork();
                if (init < 0)
                        _exit(SKIP_CODE);
                if (init == 0)
                        _exit(private_journald(path));
                if (waitpid(init, &status, 0) < 0 || !WIFEXITED(status))
                        _exit(1);
                _exit(WEXITSTATUS(status));
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == SKIP_CODE) {
                close(fd);
                (void)unlink(path);
                print_message("[   INFO   ] no private journald here: structured fields not checked\n");
                skip();
        }
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(fstat(fd, &st), 0);
        x.len = (size_t)st.st_size;
        x.text = calloc(1, x.len + 1);
        assert_non_null(x.text);
        assert_int_equal(pread(fd, x.text, x.len, 0), (ssize_t)x.len);
        close(fd);
        (void)unlink(path);

        en = event_entry(&x, '1', &len);
        assert_field(en, len, "MESSAGE", "alice: login failed (wrong code) via sshd from 203.0.113.7");
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_AUTH_FAIL);
        assert_field(en, len, "PRIORITY", "5");
        assert_field(en, len, "MLSEC_KIND", "auth");
        assert_field(en, len, "MLSEC_USER", "alice");
        assert_field(en, len, "MLSEC_UID", "1000");
        assert_field(en, len, "MLSEC_SERVICE", "sshd");
        assert_field(en, len, "MLSEC_RHOST", "203.0.113.7");
        assert_field(en, len, "MLSEC_IP", "203.0.113.7");
        assert_field(en, len, "MLSEC_TTY", "ssh");
        assert_field(en, len, "MLSEC_METHOD", "totp");
        assert_field(en, len, "MLSEC_RESULT", "fail");
        assert_field(en, len, "MLSEC_REASON", "wrong code");
        assert_field(en, len, "MLSEC_SESSION", NULL);
        assert_field(en, len, "MLSEC_ACTION", NULL);
        assert_field(en, len, "MLSEC_ACTOR_UID", NULL);

        en = event_entry(&x, '2', &len);
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_AUTH_OK);
        assert_field(en, len, "PRIORITY", "6");
        assert_field(en, len, "MLSEC_RESULT", "ok");

        en = event_entry(&x, '3', &len);
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_AUTH_FAIL);
        assert_field(en, len, "PRIORITY", "4");
        assert_field(en, len, "MLSEC_REASON", "locked");

        en = event_entry(&x, '4', &len);
        assert_field(en, len, "MESSAGE", "alice: session 42 opened (sshd, from 203.0.113.7)");
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_SESSION_OPEN);
        assert_field(en, len, "PRIORITY", "6");
        assert_field(en, len, "MLSEC_KIND", "session-open");
        assert_field(en, len, "MLSEC_SESSION", "42");
        assert_field(en, len, "MLSEC_RESULT", NULL);

        en = event_entry(&x, '5', &len);
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_SESSION_CLOSE);
        assert_field(en, len, "MLSEC_KIND", "session-close");
        assert_field(en, len, "MLSEC_REASON", "logout");

        en = event_entry(&x, '6', &len);
        assert_field(en, len, "MESSAGE", "audit: root reset MFA of alice: lost phone");
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_AUDIT);
        assert_field(en, len, "PRIORITY", "6");
        assert_field(en, len, "MLSEC_KIND", "audit");
        assert_field(en, len, "MLSEC_ACTION", "mfa-reset");
        assert_field(en, len, "MLSEC_ACTOR_UID", "0");
        assert_field(en, len, "MLSEC_UID", NULL);

        en = event_entry(&x, '7', &len);
        assert_field(en, len, "MESSAGE", "audit: root reset MFA of alice: two?lines");

        en = event_entry(&x, '8', &len);
        assert_field(en, len, "MESSAGE", "alert: new-country for alice: successful login via sshd from 198.51.100.4");
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_ALERT_NEW_COUNTRY);
        assert_field(en, len, "PRIORITY", "4");
        assert_field(en, len, "MLSEC_KIND", "audit");
        assert_field(en, len, "MLSEC_ACTION", "alert-new-country");
        assert_field(en, len, "MLSEC_USER", "alice");
        en = event_entry(&x, '9', &len);
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_ALERT_USER_REPORT);
        assert_field(en, len, "MLSEC_ACTOR_UID", "1000");
        en = event_entry(&x, 'a', &len);
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_ALERT);
        assert_field(en, len, "PRIORITY", "4");

        en = find_entry(&x, "MESSAGE=journal test status line", &len);
        assert_non_null(en);
        assert_field(en, len, "MESSAGE_ID", JOURNAL_MID_DAEMON);
        assert_field(en, len, "PRIORITY", "3");
        assert_field(en, len, "SYSLOG_IDENTIFIER", "mlsecd");
        free(x.text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_auth_messages),
                cmocka_unit_test(test_session_messages),
                cmocka_unit_test(test_audit_messages),
                cmocka_unit_test(test_hostile_detail_bounded),
                cmocka_unit_test(test_detail_cut_on_utf8_boundary),
                cmocka_unit_test(test_control_characters_replaced),
                cmocka_unit_test(test_daemon_messages),
                cmocka_unit_test(test_no_stderr_by_default),
                cmocka_unit_test(test_structured_fields),
        };

        return cmocka_run_group_tests(tests, setup_stderr, NULL);
}
