/* SPDX-License-Identifier: MIT */
/* Unit tests of mlsecd/activity.c against real SQLite files in a private directory under
 * /tmp: file and directory checks, exactly-once storing, login history, sessions, the audit
 * hash chain, pruning, the place of each login (schema 2), the alerts and the questions of
 * the suspicious-activity rules (schema 3), with the migrations to them.
 * Tampering goes through a second, raw SQLite connection, as an attacker with write access
 * to the file would; it never touches the system state. */

#define _GNU_SOURCE /* nftw */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "activity.h"

#define T0 1700000000000000LL /* a time in 2023, in microseconds */

struct fixture {
        char root[64];   /* mkdtemp'd, removed at teardown */
        char state[128]; /* root/state: the state directory under test (not created) */
        char db[192];    /* state/activity.db */
        struct seal_key *key;
        struct activity *a; /* opened by setup_open */
        mode_t umask;
        unsigned next_id;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char key[128];

        if (!f || seal_init() < 0)
                goto fail;
        strcpy(f->root, "/tmp/mlsec-test-activity-XXXXXX");
        if (!mkdtemp(f->root))
                goto fail;
        snprintf(f->state, sizeof(f->state), "%s/state", f->root);
        snprintf(f->db, sizeof(f->db), "%s/%s", f->state, ACTIVITY_DB_NAME);
        snprintf(key, sizeof(key), "%s/key", f->root);
        if (seal_key_load(key, true, &f->key) < 0)
                goto fail;
        f->umask = umask(022);
        *state = f;
        return 0;
fail:
        free(f);
        return -1;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r;

        f->a = activity_close(f->a);
        f->key = seal_key_free(f->key);
        r = nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        umask(f->umask);
        free(f);
        return r;
}

static int setup_open(void **state)
{
        struct fixture *f;

        if (setup(state) < 0)
                return -1;
        f = *state;
        return activity_open(f->state, f->key, &f->a) < 0 ? -1 : 0;
}

static mode_t mode_of(const char *path)
{
        struct stat st;

        assert_int_equal(lstat(path, &st), 0);
        return st.st_mode & 07777;
}

/* An event with a fresh id of 32 lower-case hex digits (counted, so tests are repeatable). */
static struct mlsec_event make_event(struct fixture *f, enum event_kind kind, int64_t t, const char *user)
{
        struct mlsec_event e = {.kind = kind, .time_us = t, .uid = 1000, .pid = 4242, .actor_uid = -1};

        snprintf(e.id, sizeof(e.id), "%016x%016x", 0xabcdu, ++f->next_id);
        snprintf(e.user, sizeof(e.user), "%s", user);
        strcpy(e.service, "sshd");
        strcpy(e.rhost, "client.example.org");
        strcpy(e.ip, "192.0.2.7");
        strcpy(e.tty, "ssh");
        return e;
}

static struct mlsec_event make_login(struct fixture *f, int64_t t, const char *user, const char *result)
{
        struct mlsec_event e = make_event(f, EVENT_AUTH, t, user);

        strcpy(e.method, "totp");
        snprintf(e.result, sizeof(e.result), "%s", result);
        strcpy(e.reason, strcmp(result, "fail") == 0 ? "wrong code" : "ok");
        return e;
}

static struct mlsec_event make_session(struct fixture *f, enum event_kind kind, int64_t t, const char *user,
                                       const char *logind_id, const char *tty)
{
        struct mlsec_event e = make_event(f, kind, t, user);

        snprintf(e.session, sizeof(e.session), "%s", logind_id);
        snprintf(e.tty, sizeof(e.tty), "%s", tty);
        return e;
}

static bool store(struct fixture *f, const struct mlsec_event *e)
{
        bool added = false;

        assert_int_equal(activity_store_event(f->a, e, &added), 0);
        return added;
}

static void audit_add(struct fixture *f, int64_t t, const char *user, const char *action, const char *detail)
{
        struct mlsec_event e = make_event(f, EVENT_AUDIT, t, user);

        e.actor_uid = 0;
        snprintf(e.action, sizeof(e.action), "%s", action);
        snprintf(e.detail, sizeof(e.detail), "%s", detail);
        assert_true(store(f, &e));
}

static void verify(struct fixture *f, uint64_t want_checked, int64_t want_bad)
{
        uint64_t checked = 99;
        int64_t bad = 99;

        assert_int_equal(activity_audit_verify(f->a, &checked, &bad), 0);
        assert_int_equal(bad, want_bad);
        assert_int_equal(checked, want_checked);
}

/* Run SQL on a second connection to the same file, as someone editing it by hand would. */
static void raw_exec(struct fixture *f, const char *sql)
{
        sqlite3 *db = NULL;
        char *err = NULL;
        int rc;

        assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        rc = sqlite3_exec(db, sql, NULL, NULL, &err);
        if (rc != SQLITE_OK)
                fail_msg("%s: %s", sql, err ? err : "?");
        sqlite3_free(err);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t raw_int(struct fixture *f, const char *sql)
{
        sqlite3_stmt *st = NULL;
        sqlite3 *db = NULL;
        int64_t v;

        assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        return v;
}

static size_t history_n(struct fixture *f, const char *user, unsigned limit, bool failed_only)
{
        struct mlsec_event *h = NULL;
        size_t n = 99;

        assert_int_equal(activity_history(f->a, user, limit, failed_only, &h, &n), 0);
        free(h);
        return n;
}

/* ---- opening and files ---------------------------------------------------------- */

static void test_open_creates_private(void **state)
{
        struct fixture *f = *state;

        umask(0); /* modes must not depend on the caller's umask */
        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_int_equal(mode_of(f->state), 0700);
        assert_int_equal(mode_of(f->db), 0600);
        f->a = activity_close(f->a);
        assert_null(f->a);
        assert_int_equal(raw_int(f, "PRAGMA user_version"), ACTIVITY_SCHEMA_VERSION);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM sqlite_schema WHERE name IN ('events', 'sessions', 'audit')"),
                         3);

        /* reopening an existing, migrated file needs no change to it */
        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_int_equal(mode_of(f->db), 0600);
}

static void test_open_reopen_keeps_data(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        e = make_login(f, T0, "alice", "ok");
        assert_true(store(f, &e));
        f->a = activity_close(f->a);
        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_int_equal(history_n(f, "alice", 50, false), 1);

        /* WAL mode is recorded in the file */
        assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        sqlite3_close(db);
}

static void test_open_refuses_unsafe(void **state)
{
        struct fixture *f = *state;
        struct activity *a = NULL;
        char link[192], other[192];

        assert_int_equal(activity_open(NULL, f->key, &a), -EINVAL);
        assert_int_equal(activity_open("", f->key, &a), -EINVAL);
        assert_int_equal(activity_open(f->state, NULL, &a), -EINVAL);
        assert_int_equal(activity_open(f->state, f->key, NULL), -EINVAL);

        /* a directory others can write to */
        assert_int_equal(mkdir(f->state, 0700), 0);
        assert_int_equal(chmod(f->state, 0777), 0);
        assert_int_equal(activity_open(f->state, f->key, &a), -EPERM);
        assert_int_equal(chmod(f->state, 0770), 0);
        assert_int_equal(activity_open(f->state, f->key, &a), -EPERM);
        /* a directory of another user */
        assert_int_equal(chmod(f->state, 0700), 0);
        assert_int_equal(chown(f->state, 1, 1), 0);
        assert_int_equal(activity_open(f->state, f->key, &a), -EPERM);
        assert_int_equal(chown(f->state, geteuid(), getegid()), 0);
        assert_null(a);

        /* a file others can read */
        assert_int_equal(activity_open(f->state, f->key, &a), 0);
        a = activity_close(a);
        assert_int_equal(chmod(f->db, 0644), 0);
        assert_int_equal(activity_open(f->state, f->key, &a), -EPERM);
        assert_int_equal(chmod(f->db, 0600), 0);
        /* a file of another user */
        assert_int_equal(chown(f->db, 1, 1), 0);
        assert_int_equal(activity_open(f->state, f->key, &a), -EPERM);
        assert_int_equal(chown(f->db, geteuid(), getegid()), 0);

        /* a symlink as the file, or as the directory */
        snprintf(other, sizeof(other), "%s/elsewhere.db", f->root);
        assert_int_equal(rename(f->db, other), 0);
        assert_int_equal(symlink(other, f->db), 0);
        assert_int_equal(activity_open(f->state, f->key, &a), -EPERM);
        assert_int_equal(unlink(f->db), 0);
        snprintf(link, sizeof(link), "%s/linked", f->root);
        assert_int_equal(symlink(f->state, link), 0);
        assert_int_equal(activity_open(link, f->key, &a), -EPERM);

        /* something that is not a database, and a schema from the future */
        assert_int_equal(rename(other, f->db), 0);
        assert_int_equal(activity_open(f->state, f->key, &a), 0);
        a = activity_close(a);
        raw_exec(f, "PRAGMA user_version = 99");
        assert_int_equal(activity_open(f->state, f->key, &a), -EBADMSG);
        assert_int_equal(unlink(f->db), 0);
        {
                int fd = open(f->db, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                char junk[4096];

                assert_true(fd >= 0);
                memset(junk, 'x', sizeof(junk));
                assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
                close(fd);
        }
        assert_int_equal(activity_open(f->state, f->key, &a), -EBADMSG);
        assert_null(a);
}

/* ---- storing -------------------------------------------------------------------- */

static void test_exactly_once(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event login = make_login(f, T0, "alice", "ok");
        struct mlsec_event open = make_session(f, EVENT_SESSION_OPEN, T0 + 1, "alice", "3", "pts/0");
        struct mlsec_event close = make_session(f, EVENT_SESSION_CLOSE, T0 + 9, "alice", "3", "pts/0");
        struct mlsec_event audit = make_event(f, EVENT_AUDIT, T0 + 2, "alice");
        struct activity_session s;
        bool added = true;

        strcpy(audit.action, "enrol");
        assert_true(store(f, &login));
        assert_false(store(f, &login));
        assert_int_equal(history_n(f, "alice", 50, false), 1);

        assert_true(store(f, &open));
        assert_false(store(f, &open)); /* not a second session */
        assert_int_equal(raw_int(f, "SELECT count(*) FROM sessions"), 1);
        assert_true(store(f, &close));
        /* the same close again must not close a newer session of the same id */
        open = make_session(f, EVENT_SESSION_OPEN, T0 + 20, "alice", "3", "pts/0");
        assert_true(store(f, &open));
        assert_false(store(f, &close));
        assert_int_equal(activity_session_get(f->a, "3", &s), 0);
        assert_int_equal(s.opened_us, T0 + 20);

        assert_true(store(f, &audit));
        assert_false(store(f, &audit));
        verify(f, 1, -1);

        /* every kind but audit is one row of events, under one UNIQUE(event_id) */
        assert_int_equal(raw_int(f, "SELECT count(*) FROM events"), 4);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM audit"), 1);

        /* inside a caller's transaction too */
        assert_int_equal(activity_begin(f->a), 0);
        assert_int_equal(activity_store_event(f->a, &login, &added), 0);
        assert_false(added);
        assert_int_equal(activity_commit(f->a), 0);
}

static void test_store_rejects_bad_events(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e = make_login(f, T0, "alice", "ok"), bad;
        bool added = true;

        assert_int_equal(activity_store_event(NULL, &e, &added), -EINVAL);
        assert_int_equal(activity_store_event(f->a, NULL, &added), -EINVAL);
        assert_int_equal(activity_store_event(f->a, &e, NULL), -EINVAL);
        bad = e;
        bad.id[5] = 'A'; /* upper case */
        assert_int_equal(activity_store_event(f->a, &bad, &added), -EINVAL);
        bad = e;
        bad.id[31] = 0; /* short */
        assert_int_equal(activity_store_event(f->a, &bad, &added), -EINVAL);
        bad = e;
        bad.kind = _EVENT_KIND_MAX;
        assert_int_equal(activity_store_event(f->a, &bad, &added), -EINVAL);
        bad = e;
        bad.time_us = 0;
        assert_int_equal(activity_store_event(f->a, &bad, &added), -EINVAL);
        bad = e;
        memset(bad.rhost, 'h', sizeof(bad.rhost)); /* not terminated */
        assert_int_equal(activity_store_event(f->a, &bad, &added), -EINVAL);
        bad = e;
        memset(bad.detail, 'd', sizeof(bad.detail));
        assert_int_equal(activity_store_event(f->a, &bad, &added), -EINVAL);
        assert_true(added); /* untouched on failure */
        assert_int_equal(history_n(f, NULL, 50, false), 0);
}

static void test_transactions(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;

        assert_int_equal(activity_begin(NULL), -EINVAL);
        assert_int_equal(activity_commit(f->a), -EINVAL); /* none open */
        assert_int_equal(activity_rollback(f->a), 0);

        assert_int_equal(activity_begin(f->a), 0);
        assert_int_equal(activity_begin(f->a), -EINVAL); /* no nesting */
        for (int i = 0; i < 3; i++) {
                e = make_login(f, T0 + i, "alice", "ok");
                assert_true(store(f, &e));
        }
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 5, "alice", "8", "pts/1");
        assert_true(store(f, &e));
        assert_int_equal(activity_rollback(f->a), 0);
        assert_int_equal(history_n(f, "alice", 50, false), 0);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM sessions"), 0);

        assert_int_equal(activity_begin(f->a), 0);
        for (int i = 0; i < 3; i++) {
                e = make_login(f, T0 + i, "alice", "ok");
                assert_true(store(f, &e));
        }
        audit_add(f, T0 + 4, "alice", "enrol", "in a batch");
        assert_int_equal(activity_commit(f->a), 0);
        assert_int_equal(history_n(f, "alice", 50, false), 3);
        verify(f, 1, -1);
}

/* ---- history -------------------------------------------------------------------- */

static void test_history(void **state)
{
        struct fixture *f = *state;
        static const char *const results[] = {"ok", "fail", "skipped", "fail", "ok"};
        struct mlsec_event *h = NULL, e, open;
        size_t n = 0;

        /* alice: 5 attempts, stored out of order; bob: 2; plus session events */
        for (int i = 4; i >= 0; i--) {
                e = make_login(f, T0 + i * 1000, "alice", results[i]);
                assert_true(store(f, &e));
        }
        e = make_login(f, T0 + 500, "bob", "ok");
        assert_true(store(f, &e));
        e = make_login(f, T0 + 9000, "bob", "fail");
        strcpy(e.rhost, "attacker.example.net");
        strcpy(e.session, "");
        e.uid = 1001;
        e.pid = 77;
        assert_true(store(f, &e));
        open = make_session(f, EVENT_SESSION_OPEN, T0 + 9500, "alice", "4", "pts/2");
        assert_true(store(f, &open));

        /* one user, newest first, only logins */
        assert_int_equal(activity_history(f->a, "alice", 50, false, &h, &n), 0);
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(h[i].time_us, T0 + (int64_t)(4 - i) * 1000);
                assert_int_equal(h[i].kind, EVENT_AUTH);
                assert_string_equal(h[i].user, "alice");
                assert_string_equal(h[i].result, results[4 - i]);
        }
        free(h);

        /* the limit keeps the newest */
        assert_int_equal(activity_history(f->a, "alice", 2, false, &h, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(h[0].time_us, T0 + 4000);
        assert_int_equal(h[1].time_us, T0 + 3000);
        free(h);

        /* failed only */
        assert_int_equal(activity_history(f->a, "alice", 50, true, &h, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(h[0].time_us, T0 + 3000);
        assert_int_equal(h[1].time_us, T0 + 1000);
        assert_string_equal(h[0].reason, "wrong code");
        free(h);

        /* every user; every field comes back */
        assert_int_equal(activity_history(f->a, NULL, 50, false, &h, &n), 0);
        assert_int_equal(n, 7);
        assert_string_equal(h[0].user, "bob");
        assert_string_equal(h[0].id, e.id);
        assert_string_equal(h[0].rhost, "attacker.example.net");
        assert_string_equal(h[0].ip, "192.0.2.7");
        assert_string_equal(h[0].service, "sshd");
        assert_string_equal(h[0].tty, "ssh");
        assert_string_equal(h[0].method, "totp");
        assert_int_equal(h[0].uid, 1001);
        assert_int_equal(h[0].pid, 77);
        assert_int_equal(h[0].actor_uid, -1);
        assert_string_equal(h[6].user, "alice");
        assert_int_equal(h[6].time_us, T0);
        free(h);
        assert_int_equal(history_n(f, NULL, 50, true), 3);
        assert_int_equal(history_n(f, NULL, 3, false), 3);

        /* nobody */
        h = (void *)1;
        assert_int_equal(activity_history(f->a, "carol", 50, false, &h, &n), 0);
        assert_int_equal(n, 0);
        assert_null(h);

        assert_int_equal(activity_history(f->a, "alice", 0, false, &h, &n), -EINVAL);
        assert_int_equal(activity_history(f->a, "", 50, false, &h, &n), -EINVAL);
        assert_int_equal(activity_history(f->a, "x123456789012345678901234567890123456789012345678901234567890123", 50,
                                          false, &h, &n),
                         -EINVAL);
        assert_int_equal(activity_history(NULL, "alice", 50, false, &h, &n), -EINVAL);
        assert_int_equal(activity_history(f->a, "alice", 50, false, NULL, &n), -EINVAL);
        assert_int_equal(activity_history(f->a, "alice", 50, false, &h, NULL), -EINVAL);
}

/* ---- sessions ------------------------------------------------------------------- */

static void test_session_by_logind_id(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event open = make_session(f, EVENT_SESSION_OPEN, T0, "alice", "12", "pts/3");
        struct mlsec_event close = make_session(f, EVENT_SESSION_CLOSE, T0 + 60, "alice", "12", "other");
        struct activity_session s;

        open.uid = 1000;
        open.pid = 999;
        assert_true(store(f, &open));
        assert_int_equal(activity_session_get(f->a, "12", &s), 0);
        assert_string_equal(s.logind_id, "12");
        assert_string_equal(s.user, "alice");
        assert_string_equal(s.service, "sshd");
        assert_string_equal(s.tty, "pts/3");
        assert_string_equal(s.rhost, "client.example.org");
        assert_string_equal(s.ip, "192.0.2.7");
        assert_int_equal(s.uid, 1000);
        assert_int_equal(s.pid, 999);
        assert_int_equal(s.opened_us, T0);
        assert_int_equal(s.closed_us, 0);
        assert_string_equal(s.end_reason, "");
        assert_int_equal(s.ended_by_uid, -1);

        /* the logind id decides, not the tty */
        assert_true(store(f, &close));
        assert_int_equal(activity_session_get(f->a, "12", &s), -ENOENT);
        assert_int_equal(raw_int(f, "SELECT closed_us FROM sessions WHERE logind_id = '12'"), T0 + 60);
        assert_int_equal(raw_int(f, "SELECT end_reason = 'closed' AND ended_by_uid = -1 FROM sessions"), 1);
        /* the close is an event too */
        assert_int_equal(raw_int(f, "SELECT count(*) FROM events WHERE kind = 'session-close'"), 1);

        /* a close for a session we never saw is stored and closes nothing */
        close = make_session(f, EVENT_SESSION_CLOSE, T0 + 70, "alice", "13", "pts/3");
        assert_true(store(f, &close));

        assert_int_equal(activity_session_get(f->a, "", &s), -EINVAL);
        assert_int_equal(activity_session_get(f->a, NULL, &s), -EINVAL);
        assert_int_equal(activity_session_get(f->a, "12", NULL), -EINVAL);
}

static void test_session_fallback(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        struct activity_session *s = NULL;
        size_t n = 0;

        /* no logind id: two on the same tty, one on another tty, one of another user */
        e = make_session(f, EVENT_SESSION_OPEN, T0, "alice", "", "tty1");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 10, "alice", "", "tty1");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 20, "alice", "", "tty2");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 30, "bob", "", "tty1");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 40, "alice", "21", "tty1"); /* has an id */
        assert_true(store(f, &e));

        /* a close without an id closes the newest open one of user, service and tty */
        e = make_session(f, EVENT_SESSION_CLOSE, T0 + 100, "alice", "", "tty2");
        assert_true(store(f, &e));
        assert_int_equal(raw_int(f, "SELECT closed_us FROM sessions WHERE opened_us = 1700000000000020"), T0 + 100);

        /* a close with an id nobody opened under: only a session without an id matches */
        e = make_session(f, EVENT_SESSION_CLOSE, T0 + 200, "alice", "22", "tty1");
        assert_true(store(f, &e));
        assert_int_equal(raw_int(f, "SELECT closed_us FROM sessions WHERE opened_us = 1700000000000010"), T0 + 200);
        assert_int_equal(raw_int(f, "SELECT closed_us FROM sessions WHERE logind_id = '21'"), 0);
        assert_int_equal(raw_int(f, "SELECT closed_us FROM sessions WHERE opened_us = 1700000000000000"), 0);
        assert_int_equal(raw_int(f, "SELECT closed_us FROM sessions WHERE user = 'bob'"), 0);

        /* lists: open ones, all of them, per user, newest first, limit */
        assert_int_equal(activity_sessions(f->a, "alice", false, 50, &s, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(s[0].opened_us, T0 + 40);
        assert_int_equal(s[1].opened_us, T0);
        free(s);
        assert_int_equal(activity_sessions(f->a, "alice", true, 50, &s, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(s[0].opened_us, T0 + 40);
        assert_int_equal(s[1].opened_us, T0 + 20);
        assert_int_equal(s[1].closed_us, T0 + 100);
        assert_string_equal(s[1].end_reason, "closed");
        free(s);
        assert_int_equal(activity_sessions(f->a, NULL, false, 50, &s, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(s[1].user, "bob");
        free(s);
        assert_int_equal(activity_sessions(f->a, NULL, true, 2, &s, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(s[0].opened_us, T0 + 40);
        assert_int_equal(s[1].opened_us, T0 + 30);
        free(s);
        assert_int_equal(activity_sessions(f->a, NULL, true, 0, &s, &n), -EINVAL);
        assert_int_equal(activity_sessions(f->a, "", true, 10, &s, &n), -EINVAL);
}

static void test_session_end_and_ids(void **state)
{
        struct fixture *f = *state;
        char(*ids)[EVENT_SESSION_MAX] = NULL;
        struct activity_session s;
        struct mlsec_event e;
        size_t n = 0;

        assert_int_equal(activity_open_session_ids(f->a, &ids, &n), 0);
        assert_int_equal(n, 0);
        assert_null(ids);

        e = make_session(f, EVENT_SESSION_OPEN, T0, "alice", "5", "pts/0");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 1, "bob", "7", "pts/1");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 2, "carol", "c3", "pts/2");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 3, "dave", "", "tty1"); /* no id: not listed */
        assert_true(store(f, &e));

        /* mlsecctl logout: who asked is recorded */
        assert_int_equal(activity_session_end(f->a, "7", T0 + 50, "logout", 1000), 1);
        assert_int_equal(activity_session_end(f->a, "7", T0 + 60, "logout", 1000), 0); /* no-op */
        assert_int_equal(activity_session_get(f->a, "7", &s), -ENOENT);
        assert_int_equal(raw_int(f, "SELECT closed_us FROM sessions WHERE logind_id = '7'"), T0 + 50);
        assert_int_equal(raw_int(f, "SELECT ended_by_uid FROM sessions WHERE logind_id = '7'"), 1000);
        assert_int_equal(raw_int(f, "SELECT end_reason = 'logout' FROM sessions WHERE logind_id = '7'"), 1);
        /* gone from logind */
        assert_int_equal(activity_session_end(f->a, "c3", T0 + 70, "ended", -1), 1);
        assert_int_equal(raw_int(f, "SELECT end_reason = 'ended' FROM sessions WHERE logind_id = 'c3'"), 1);
        assert_int_equal(activity_session_end(f->a, "nope", T0 + 70, "ended", -1), 0);

        assert_int_equal(activity_open_session_ids(f->a, &ids, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(ids[0], "5");
        free(ids);

        /* logind counts from 1 again after a reboot: a new session 5 ends the stale one */
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 1000, "erin", "5", "pts/0");
        assert_true(store(f, &e));
        assert_int_equal(activity_session_get(f->a, "5", &s), 0);
        assert_string_equal(s.user, "erin");
        assert_int_equal(raw_int(f, "SELECT closed_us FROM sessions WHERE user = 'alice'"), T0 + 1000);
        assert_int_equal(raw_int(f, "SELECT end_reason = 'ended' FROM sessions WHERE user = 'alice'"), 1);

        assert_int_equal(activity_session_end(f->a, "", T0, "logout", 0), -EINVAL);
        assert_int_equal(activity_session_end(f->a, "5", 0, "logout", 0), -EINVAL);
        assert_int_equal(activity_session_end(f->a, "5", T0, "", 0), -EINVAL);
        assert_int_equal(activity_session_end(f->a, "5", T0, NULL, 0), -EINVAL);
        assert_int_equal(activity_session_end(f->a, "5", T0, "logout", -2), -EINVAL);
        assert_int_equal(activity_open_session_ids(f->a, NULL, &n), -EINVAL);
        assert_int_equal(activity_open_session_ids(NULL, &ids, &n), -EINVAL);
}

/* ---- the audit chain ------------------------------------------------------------ */

static void fill_audit(struct fixture *f, int n)
{
        char detail[64];

        for (int i = 1; i <= n; i++) {
                snprintf(detail, sizeof(detail), "change number %d", i);
                audit_add(f, T0 + i, i % 2 ? "alice" : "bob", i % 3 ? "enrol" : "mfa-disabled", detail);
        }
}

static void test_audit_intact(void **state)
{
        struct fixture *f = *state;
        struct activity_audit *x = NULL;
        size_t n = 0;
        int64_t bad = 99;

        verify(f, 0, -1); /* an empty chain holds */
        fill_audit(f, 100);
        verify(f, 100, -1);
        assert_int_equal(activity_audit_verify(f->a, NULL, &bad), 0);
        assert_int_equal(bad, -1);

        assert_int_equal(activity_audit(f->a, NULL, 1000, &x, &n), 0);
        assert_int_equal(n, 100);
        assert_int_equal(x[0].seq, 100);
        assert_int_equal(x[99].seq, 1);
        assert_string_equal(x[99].detail, "change number 1");
        assert_string_equal(x[99].user, "alice");
        assert_string_equal(x[99].action, "enrol");
        assert_int_equal(x[99].actor_uid, 0);
        assert_int_equal(x[99].time_us, T0 + 1);
        assert_int_equal(strlen(x[99].event_id), EVENT_ID_LEN);
        free(x);
        assert_int_equal(activity_audit(f->a, "bob", 3, &x, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(x[0].seq, 100);
        assert_int_equal(x[1].seq, 98);
        assert_string_equal(x[2].user, "bob");
        free(x);

        /* the chain goes on across a reopen */
        f->a = activity_close(f->a);
        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        audit_add(f, T0 + 500, "", "config", "after reopen");
        verify(f, 101, -1);

        assert_int_equal(activity_audit(f->a, NULL, 0, &x, &n), -EINVAL);
        assert_int_equal(activity_audit_verify(f->a, NULL, NULL), -EINVAL);
        assert_int_equal(activity_audit_verify(NULL, NULL, &bad), -EINVAL);
}

static void test_audit_edited_row(void **state)
{
        struct fixture *f = *state;

        fill_audit(f, 100);
        raw_exec(f, "UPDATE audit SET detail = 'nothing happened' WHERE seq = 37");
        verify(f, 36, 37);
}

static void test_audit_edited_number(void **state)
{
        struct fixture *f = *state;

        fill_audit(f, 100);
        raw_exec(f, "UPDATE audit SET actor_uid = 1000 WHERE seq = 64");
        verify(f, 63, 64);
}

static void test_audit_deleted_row(void **state)
{
        struct fixture *f = *state;

        fill_audit(f, 100);
        raw_exec(f, "DELETE FROM audit WHERE seq = 50");
        verify(f, 49, 50);
}

static void test_audit_deleted_and_renumbered(void **state)
{
        struct fixture *f = *state;

        /* closing the gap by renumbering does not help: seq is in every link */
        fill_audit(f, 100);
        raw_exec(f, "DELETE FROM audit WHERE seq = 50;"
                    "UPDATE audit SET seq = seq - 1 WHERE seq > 50");
        verify(f, 49, 50);
}

static void test_audit_forged_row(void **state)
{
        struct fixture *f = *state;

        fill_audit(f, 100);
        raw_exec(f, "INSERT INTO audit(seq, event_id, time_us, actor_uid, user, action, detail, hash)"
                    " VALUES(101, 'ffffffffffffffffffffffffffffffff', 1700000000000101, 0, 'alice', 'enrol',"
                    " 'forged', zeroblob(32))");
        verify(f, 100, 101);
        /* and one slipped in before the first link */
        raw_exec(f, "DELETE FROM audit WHERE seq = 101;"
                    "INSERT INTO audit(seq, event_id, time_us, actor_uid, user, action, detail, hash)"
                    " VALUES(0, 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', 1700000000000000, 0, 'alice', 'enrol',"
                    " 'forged', randomblob(32))");
        verify(f, 0, 0);
}

static void test_audit_swapped_rows(void **state)
{
        struct fixture *f = *state;

        fill_audit(f, 100);
        /* swap everything but seq (hashes included) between links 20 and 30 */
        raw_exec(f, "UPDATE audit SET seq = -1 WHERE seq = 20;"
                    "UPDATE audit SET seq = 20 WHERE seq = 30;"
                    "UPDATE audit SET seq = 30 WHERE seq = -1;");
        verify(f, 19, 20);
}

static void test_audit_wrong_type(void **state)
{
        struct fixture *f = *state;

        fill_audit(f, 10);
        raw_exec(f, "UPDATE audit SET hash = x'00' WHERE seq = 4");
        verify(f, 3, 4);
        raw_exec(f, "UPDATE audit SET detail = x'41' WHERE seq = 2"); /* a blob, not text */
        verify(f, 1, 2);
}

static void test_audit_other_key(void **state)
{
        struct fixture *f = *state;
        struct seal_key *other = NULL;
        char path[192];

        fill_audit(f, 10);
        f->a = activity_close(f->a);
        snprintf(path, sizeof(path), "%s/other-key", f->root);
        assert_int_equal(seal_key_load(path, true, &other), 0);
        assert_int_equal(activity_open(f->state, other, &f->a), 0);
        verify(f, 0, 1);
        f->a = activity_close(f->a);
        other = seal_key_free(other);
        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        verify(f, 10, -1);
}

/* ---- pruning -------------------------------------------------------------------- */

static void test_prune(void **state)
{
        struct fixture *f = *state;
        const int64_t cut = T0 + 1000000;
        struct activity_session *s = NULL;
        struct mlsec_event e;
        uint64_t deleted = 99;
        size_t n = 0;

        for (int i = 0; i < 10; i++) {
                e = make_login(f, T0 + i, "alice", i % 2 ? "ok" : "fail"); /* old */
                assert_true(store(f, &e));
                e = make_login(f, cut + i, "alice", "ok"); /* new */
                assert_true(store(f, &e));
        }
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 100, "alice", "1", "pts/0"); /* old, closed */
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_CLOSE, T0 + 200, "alice", "1", "pts/0");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 300, "alice", "2", "pts/1"); /* old, still open */
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 400, "alice", "3", "pts/2"); /* closed after the cut */
        assert_true(store(f, &e));
        assert_int_equal(activity_session_end(f->a, "3", cut + 5, "ended", -1), 1);
        fill_audit(f, 20); /* all old */

        assert_int_equal(activity_prune(f->a, cut, &deleted), 0);
        /* 10 old logins + 4 old session events + the session closed before the cut */
        assert_int_equal(deleted, 15);
        assert_int_equal(history_n(f, "alice", 100, false), 10);
        assert_int_equal(history_n(f, "alice", 100, true), 0);
        assert_int_equal(activity_sessions(f->a, "alice", true, 50, &s, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(s[0].logind_id, "3");
        assert_string_equal(s[1].logind_id, "2");
        assert_int_equal(s[1].closed_us, 0);
        free(s);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM audit"), 20);
        verify(f, 20, -1);

        /* again: nothing left to do; inside a caller's transaction it is a savepoint */
        assert_int_equal(activity_begin(f->a), 0);
        assert_int_equal(activity_prune(f->a, cut, &deleted), 0);
        assert_int_equal(deleted, 0);
        assert_int_equal(activity_commit(f->a), 0);
        assert_int_equal(activity_prune(f->a, cut, NULL), 0);
        assert_int_equal(activity_prune(NULL, cut, &deleted), -EINVAL);
}

/* Every name of a login row, each with its attempts, the newest one's source, whether one
 * was recorded with a uid, and its newest login (mlsecctl's code checks aside); session and
 * audit rows alone make no name; names with a uid first, each part by name. */
static void test_users(void **state)
{
        struct fixture *f = *state;
        struct activity_user *u = NULL;
        struct mlsec_event e;
        uint64_t names = 9, attempts = 9;
        size_t n = 0;

        assert_int_equal(activity_users(f->a, "mlsecctl", 10, &u, &n), 0);
        assert_int_equal(n, 0);
        free(u);
        u = NULL;
        assert_int_equal(activity_users_total(f->a, &names, &attempts), 0);
        assert_true(names == 0 && attempts == 0);

        e = make_login(f, T0 + 1000, "carol", "ok");
        strcpy(e.ip, "198.51.100.1");
        assert_true(store(f, &e));
        e = make_login(f, T0 + 3000, "carol", "ok"); /* the newest success */
        strcpy(e.ip, "198.51.100.3");
        strcpy(e.service, "login");
        assert_true(store(f, &e));
        e = make_login(f, T0 + 3500, "carol", "ok"); /* a settings change's code check: no login */
        strcpy(e.service, "mlsecctl");
        assert_true(store(f, &e));
        e = make_login(f, T0 + 5000, "carol", "fail"); /* newer, but a failure */
        strcpy(e.ip, "203.0.113.66");
        assert_true(store(f, &e));
        e = make_login(f, T0 + 2000, "alice", "fail");
        assert_true(store(f, &e));
        e = make_login(f, T0 + 2500, "alice", "skipped");
        assert_true(store(f, &e));
        e = make_login(f, T0 + 2600, "", "fail"); /* an invalid name was tried: no name */
        assert_true(store(f, &e));
        /* a name that was never an account (no uid): after the others */
        e = make_login(f, T0 + 2700, "admin", "fail");
        e.uid = -1;
        e.ip[0] = '\0';
        assert_true(store(f, &e));
        e = make_login(f, T0 + 2800, "admin", "fail");
        e.uid = -1;
        e.ip[0] = e.rhost[0] = '\0';
        strcpy(e.tty, "tty3");
        assert_true(store(f, &e));
        e = make_session(f, EVENT_SESSION_OPEN, T0 + 4000, "dave", "7", "pts/1");
        assert_true(store(f, &e));
        audit_add(f, T0 + 4100, "erin", "mfa-reset", "by root");

        assert_int_equal(activity_users(f->a, "mlsecctl", 10, &u, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(u[0].user, "alice");
        assert_true(u[0].was_account);
        assert_int_equal(u[0].attempts, 2);
        assert_int_equal(u[0].last_attempt_us, T0 + 2500);
        assert_string_equal(u[0].last_attempt_from, "192.0.2.7");
        assert_int_equal(u[0].last_login_us, T0 + 2500); /* let in without a code: a login */
        assert_string_equal(u[0].ip, "192.0.2.7");
        assert_string_equal(u[1].user, "carol");
        assert_int_equal(u[1].attempts, 4);
        assert_int_equal(u[1].last_attempt_us, T0 + 5000);
        assert_string_equal(u[1].last_attempt_from, "203.0.113.66");
        assert_int_equal(u[1].last_login_us, T0 + 3000);
        assert_string_equal(u[1].ip, "198.51.100.3");
        assert_string_equal(u[1].service, "login");
        assert_string_equal(u[1].rhost, "client.example.org");
        assert_string_equal(u[1].tty, "ssh");
        assert_string_equal(u[2].user, "admin");
        assert_false(u[2].was_account);
        assert_int_equal(u[2].attempts, 2);
        assert_int_equal(u[2].last_attempt_us, T0 + 2800);
        assert_string_equal(u[2].last_attempt_from, "tty3"); /* the newest one's: no address, no host */
        assert_int_equal(u[2].last_login_us, 0);
        assert_string_equal(u[2].service, "");
        free(u);
        u = NULL;

        /* without a service left out, the code check is carol's newest login */
        assert_int_equal(activity_users(f->a, NULL, 10, &u, &n), 0);
        assert_int_equal(u[1].last_login_us, T0 + 3500);
        free(u);
        u = NULL;

        /* a limit cuts the names without a uid first */
        assert_int_equal(activity_users(f->a, "mlsecctl", 2, &u, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(u[0].user, "alice");
        assert_string_equal(u[1].user, "carol");
        free(u);
        assert_int_equal(activity_users_total(f->a, &names, &attempts), 0);
        assert_int_equal(names, 3);
        assert_int_equal(attempts, 8);

        assert_int_equal(activity_users(f->a, NULL, 0, &u, &n), -EINVAL);
        assert_int_equal(activity_users(NULL, NULL, 5, &u, &n), -EINVAL);
        assert_int_equal(activity_users_total(NULL, &names, &attempts), -EINVAL);
}

/* The overview: the newest successful login (mlsecctl's own code checks aside) and the
 * failures after it. */
static void test_last_login_and_failures_since(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e, last;
        uint64_t n = 99;

        assert_int_equal(activity_last_login(f->a, "alice", "mlsecctl", &last, NULL), -ENOENT);
        assert_int_equal(activity_count_failed(f->a, "alice", 0, &n), 0);
        assert_int_equal(n, 0);

        e = make_login(f, T0, "alice", "ok");
        store(f, &e);
        e = make_login(f, T0 + 10, "alice", "fail");
        store(f, &e);
        e = make_login(f, T0 + 20, "alice", "ok");
        strcpy(e.ip, "203.0.113.9");
        store(f, &e);
        e = make_login(f, T0 + 30, "alice", "fail");
        store(f, &e);
        e = make_login(f, T0 + 40, "alice", "fail");
        store(f, &e);
        e = make_login(f, T0 + 50, "alice", "ok"); /* a settings change's code check */
        strcpy(e.service, "mlsecctl");
        store(f, &e);
        e = make_login(f, T0 + 60, "bob", "ok");
        store(f, &e);
        e = make_login(f, T0 + 70, "bob", "fail");
        store(f, &e);

        memset(&last, 0, sizeof(last));
        assert_int_equal(activity_last_login(f->a, "alice", "mlsecctl", &last, NULL), 0);
        assert_int_equal(last.time_us, T0 + 20);
        assert_string_equal(last.ip, "203.0.113.9");
        assert_string_equal(last.service, "sshd");
        assert_string_equal(last.result, "ok");
        assert_int_equal(activity_last_login(f->a, "alice", NULL, &last, NULL), 0);
        assert_int_equal(last.time_us, T0 + 50);
        assert_int_equal(activity_count_failed(f->a, "alice", T0 + 20, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(activity_count_failed(f->a, "alice", 0, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(activity_count_failed(f->a, "bob", T0 + 60, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(activity_last_login(f->a, "carol", NULL, &last, NULL), -ENOENT);
        assert_int_equal(activity_last_login(f->a, NULL, NULL, &last, NULL), -EINVAL);
        assert_int_equal(activity_count_failed(NULL, "alice", 0, &n), -EINVAL);
}

/* Which attempts count as a login, asked the same way by every question of a last or a
 * previous login: ok and skipped do, fail does not, and a skipped one the account stack
 * refused right after (the next attempt of the same user, service and remote host, within
 * 30 s) does not either. */
static struct mlsec_event skipped_at(struct fixture *f, int64_t t)
{
        struct mlsec_event e = make_login(f, t, "alice", "skipped");

        strcpy(e.method, "none");
        strcpy(e.reason, "unenrolled");
        assert_true(store(f, &e));
        return e;
}

static void fail_at(struct fixture *f, int64_t t, const char *reason, const char *rhost)
{
        struct mlsec_event e = make_login(f, t, "alice", "fail");

        snprintf(e.reason, sizeof(e.reason), "%s", reason);
        if (rhost)
                snprintf(e.rhost, sizeof(e.rhost), "%s", rhost);
        assert_true(store(f, &e));
}

/* alice's newest login by each question; all agree on ID (NULL: none) */
static void newest_is(struct fixture *f, const struct mlsec_event *want)
{
        struct activity_user *u = NULL;
        struct activity_login l;
        struct mlsec_event last;
        size_t n = 0;

        assert_int_equal(activity_last_login(f->a, "alice", NULL, &last, NULL), 0);
        assert_string_equal(last.id, want->id);
        assert_int_equal(activity_previous_login(f->a, "alice", NULL, NULL, &l), 0);
        assert_string_equal(l.event.id, want->id);
        assert_int_equal(activity_prev_success(f->a, "alice", INT64_MAX, NULL, NULL, false, &l), 0);
        assert_string_equal(l.event.id, want->id);
        assert_int_equal(activity_login_get(f->a, "alice", want->id, &l), 0);
        assert_int_equal(activity_users(f->a, NULL, 10, &u, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(u[0].last_login_us, want->time_us);
        free(u);
}

static void test_login_rule(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e, ok, sk1, sk2, sk3;
        struct activity_login l;
        uint64_t n = 0;

        ok = make_login(f, T0, "alice", "ok");
        assert_true(store(f, &ok));
        fail_at(f, T0 + 1000000, "wrong code", NULL);
        e = make_login(f, T0 + 2000000, "alice", "error"); /* not a word of the rule */
        assert_true(store(f, &e));
        newest_is(f, &ok);

        sk1 = skipped_at(f, T0 + 3000000);
        newest_is(f, &sk1);
        /* a refusal from another host, or too late: not this one's */
        fail_at(f, T0 + 4000000, "mfa-required", "elsewhere.example.org");
        fail_at(f, T0 + 3000000 + 31000000, "mfa-required", NULL);
        newest_is(f, &sk1);

        /* a refusal after another attempt from there is that attempt's */
        sk2 = skipped_at(f, T0 + 40000000);
        fail_at(f, T0 + 41000000, "error", NULL);
        fail_at(f, T0 + 42000000, "policy-error", NULL);
        newest_is(f, &sk2);

        /* refused right after: nobody got in, and the refusal is a failed attempt since */
        sk3 = skipped_at(f, T0 + 50000000);
        fail_at(f, T0 + 50500000, "grace-expired", NULL);
        newest_is(f, &sk2);
        assert_int_equal(activity_login_get(f->a, "alice", sk3.id, &l), -ENOENT);
        assert_int_equal(activity_count_failed(f->a, "alice", sk2.time_us, &n), 0);
        assert_int_equal(n, 3); /* error, policy-error (of that attempt), grace-expired */

        /* a login with a code is one whatever follows */
        e = make_login(f, T0 + 60000000, "alice", "ok");
        assert_true(store(f, &e));
        fail_at(f, T0 + 60500000, "policy-error", NULL);
        newest_is(f, &e);
}

/* ---- places (schema 2) ------------------------------------------------------------ */

static struct geo_place sydney(void)
{
        struct geo_place p = {.kind = GEO_FOUND, .has_location = true, .latitude = -33.8688, .longitude = 151.2093};

        strcpy(p.country, "AU");
        strcpy(p.country_name, "Australia");
        strcpy(p.city, "Sydney");
        return p;
}

static bool store_at(struct fixture *f, const struct mlsec_event *e, const struct geo_place *p)
{
        bool added = false;

        assert_int_equal(activity_store_event_at(f->a, e, p, &added), 0);
        return added;
}

static void test_place_stored(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event old = make_login(f, T0, "alice", "ok"), syd = make_login(f, T0 + 1, "alice", "fail"),
                           lan = make_login(f, T0 + 2, "alice", "ok"), last;
        struct geo_place s = sydney(), priv = {.kind = GEO_PRIVATE}, us = {.kind = GEO_FOUND}, bad;
        struct activity_place lp;
        struct activity_login *l = NULL;
        struct mlsec_event *h = NULL;
        bool added;
        size_t n = 0;

        strcpy(us.country, "US");    /* a country without a city or coordinates */
        assert_true(store(f, &old)); /* no place */
        assert_true(store_at(f, &syd, &s));
        assert_true(store_at(f, &lan, &priv));
        /* a known id keeps the place it was stored with */
        assert_false(store_at(f, &syd, &priv));

        assert_int_equal(activity_logins(f->a, "alice", 10, false, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0].event.id, lan.id);
        assert_true(l[0].place.stored);
        assert_int_equal(l[0].place.geo.kind, GEO_PRIVATE);
        assert_string_equal(l[0].place.geo.country, "");
        assert_false(l[0].place.geo.has_location);
        assert_string_equal(l[1].event.id, syd.id);
        assert_true(l[1].place.stored);
        assert_int_equal(l[1].place.geo.kind, GEO_FOUND);
        assert_string_equal(l[1].place.geo.country, "AU");
        assert_string_equal(l[1].place.geo.country_name, "Australia");
        assert_string_equal(l[1].place.geo.city, "Sydney");
        assert_true(l[1].place.geo.has_location);
        assert_true(l[1].place.geo.latitude == -33.8688 && l[1].place.geo.longitude == 151.2093);
        assert_string_equal(l[1].event.ip, "192.0.2.7"); /* the event itself is unchanged */
        assert_string_equal(l[2].event.id, old.id);
        assert_false(l[2].place.stored);
        free(l);

        assert_int_equal(activity_logins(f->a, NULL, 10, true, &l, &n), 0); /* failures of everyone */
        assert_int_equal(n, 1);
        assert_string_equal(l[0].place.geo.city, "Sydney");
        free(l);
        /* activity_history reads the same rows without places */
        assert_int_equal(activity_history(f->a, "alice", 10, false, &h, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(h[1].id, syd.id);
        free(h);

        /* the overview's last login, with its place */
        assert_int_equal(activity_last_login(f->a, "alice", NULL, &last, &lp), 0);
        assert_string_equal(last.id, lan.id);
        assert_true(lp.stored && lp.geo.kind == GEO_PRIVATE);
        {
                struct mlsec_event u = make_login(f, T0 + 3, "bob", "ok");
                assert_true(store_at(f, &u, &us));
                assert_int_equal(activity_last_login(f->a, "bob", NULL, &last, &lp), 0);
                assert_true(lp.stored && lp.geo.kind == GEO_FOUND && !lp.geo.has_location);
                assert_string_equal(lp.geo.country, "US");
                assert_string_equal(lp.geo.city, "");
        }

        /* only a login has a place, and only a well-formed one */
        {
                struct mlsec_event o = make_session(f, EVENT_SESSION_OPEN, T0 + 4, "alice", "c1", "pts/1");
                struct mlsec_event e = make_login(f, T0 + 5, "alice", "ok");
                assert_int_equal(activity_store_event_at(f->a, &o, &s, &added), -EINVAL);
                bad = s;
                bad.kind = (enum geo_kind)99;
                assert_int_equal(activity_store_event_at(f->a, &e, &bad, &added), -EINVAL);
                bad = s;
                bad.latitude = 91;
                assert_int_equal(activity_store_event_at(f->a, &e, &bad, &added), -EINVAL);
                bad = s;
                memset(bad.city, 'x', sizeof(bad.city)); /* not terminated */
                assert_int_equal(activity_store_event_at(f->a, &e, &bad, &added), -EINVAL);
                assert_true(store_at(f, &o, NULL)); /* without a place: as before */
        }
        assert_int_equal(activity_logins(f->a, "alice", 0, false, &l, &n), -EINVAL);
        assert_int_equal(activity_logins(NULL, "alice", 5, false, &l, &n), -EINVAL);
}

/* A database of schema 1 with logins in it: migrated to 2 on open, every row kept, the old
 * ones without a place, new ones with. Schema 1 is made from a fresh file by taking schema
 * 2's columns away again (ALTER TABLE DROP COLUMN) and setting user_version back. */
static void test_migration_keeps_rows(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event a = make_login(f, T0, "alice", "ok"), b = make_login(f, T0 + 1, "alice", "fail");
        struct mlsec_event c = make_login(f, T0 + 2, "alice", "ok");
        struct geo_place s = sydney();
        struct activity_login *l = NULL;
        size_t n = 0;

        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_true(store(f, &a));
        assert_true(store(f, &b));
        f->a = activity_close(f->a);
        raw_exec(f, "DROP TABLE alerts; DROP INDEX events_ok_user;" /* schema 3 away */
                    "ALTER TABLE events DROP COLUMN geo_kind; ALTER TABLE events DROP COLUMN geo_country;"
                    "ALTER TABLE events DROP COLUMN geo_country_name; ALTER TABLE events DROP COLUMN geo_city;"
                    "ALTER TABLE events DROP COLUMN geo_latitude; ALTER TABLE events DROP COLUMN geo_longitude;"
                    "PRAGMA user_version = 1;");
        assert_int_equal(raw_int(f, "SELECT count(*) FROM pragma_table_info('events') WHERE name LIKE 'geo_%'"), 0);

        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_int_equal(raw_int(f, "PRAGMA user_version"), ACTIVITY_SCHEMA_VERSION);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM pragma_table_info('events') WHERE name LIKE 'geo_%'"), 6);
        assert_true(store_at(f, &c, &s));
        assert_false(store(f, &a)); /* still exactly once across the migration */
        assert_int_equal(activity_logins(f->a, "alice", 10, false, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0].event.id, c.id);
        assert_true(l[0].place.stored);
        assert_string_equal(l[0].place.geo.city, "Sydney");
        assert_string_equal(l[1].event.id, b.id);
        assert_string_equal(l[1].event.result, "fail");
        assert_false(l[1].place.stored);
        assert_string_equal(l[2].event.id, a.id);
        assert_false(l[2].place.stored);
        free(l);
        /* opening again migrates nothing twice */
        f->a = activity_close(f->a);
        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_int_equal(history_n(f, "alice", 10, false), 3);
}

/* A database of schema 2 with logins (with places), sessions and audit entries: migrated to
 * 3 on open, every row kept, the audit chain intact, the alerts table there and empty.
 * Schema 2 is made from a fresh file by dropping what 3 added and setting user_version. */
static void test_migration_2_to_3_keeps_rows(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event a = make_login(f, T0, "alice", "ok"), b = make_login(f, T0 + 1, "alice", "fail");
        struct mlsec_event so = make_session(f, EVENT_SESSION_OPEN, T0 + 2, "alice", "7", "pts/1");
        struct activity_alert x = {.time_us = T0 + 3, .reporter_uid = -1}, *xs = NULL;
        struct geo_place s = sydney();
        struct activity_login *l = NULL;
        struct activity_session *ss = NULL;
        int64_t id = 0;
        size_t n = 0;

        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_true(store_at(f, &a, &s));
        assert_true(store(f, &b));
        assert_true(store(f, &so));
        audit_add(f, T0 + 3, "alice", "lockout", "203.0.113.7 locked");
        f->a = activity_close(f->a);
        raw_exec(f, "DROP TABLE alerts; DROP INDEX events_ok_user; PRAGMA user_version = 2;");
        assert_int_equal(raw_int(f, "SELECT count(*) FROM sqlite_master WHERE name = 'alerts'"), 0);

        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_int_equal(raw_int(f, "PRAGMA user_version"), ACTIVITY_SCHEMA_VERSION);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM alerts"), 0);
        assert_int_equal(activity_logins(f->a, "alice", 10, false, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[1].event.id, a.id);
        assert_string_equal(l[1].place.geo.city, "Sydney");
        assert_string_equal(l[0].event.id, b.id);
        free(l);
        assert_int_equal(activity_sessions(f->a, "alice", true, 10, &ss, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(ss[0].logind_id, "7");
        free(ss);
        verify(f, 1, -1);
        /* and the new table works */
        strcpy(x.user, "alice");
        strcpy(x.kind, "new-country");
        memcpy(x.event_id, a.id, sizeof(x.event_id));
        strcpy(x.detail, "facts");
        assert_int_equal(activity_alert_add(f->a, &x, &id), 0);
        assert_true(id > 0);
        assert_int_equal(activity_alerts(f->a, "alice", true, 10, &xs, &n), 0);
        assert_int_equal(n, 1);
        free(xs);
}

/* Schema 4: the addresses stored before in several spellings read as one (#12 item 2). */
static void test_migration_3_to_4_canonical_addresses(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event a = make_login(f, T0, "alice", "fail"), b = make_login(f, T0 + 1, "alice", "ok");
        struct mlsec_event so = make_session(f, EVENT_SESSION_OPEN, T0 + 2, "alice", "7", "pts/1");

        strcpy(a.rhost, "::FFFF:192.0.2.1");
        strcpy(a.ip, "::ffff:c000:201");
        strcpy(b.rhost, "Gw.Example.ORG.");
        strcpy(so.rhost, "[2001:DB8::1]:22");
        strcpy(so.ip, "2001:0db8::1");
        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_true(store(f, &a));
        assert_true(store(f, &b));
        assert_true(store(f, &so));
        f->a = activity_close(f->a);
        raw_exec(f, "PRAGMA user_version = 3;");
        assert_int_equal(activity_open(f->state, f->key, &f->a), 0);
        assert_int_equal(raw_int(f, "PRAGMA user_version"), 4);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM events WHERE rhost = '192.0.2.1' AND ip = '192.0.2.1'"), 1);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM events WHERE rhost = 'gw.example.org'"), 1);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM sessions WHERE rhost = '2001:db8::1' AND ip = '2001:db8::1'"),
                         1);
        assert_int_equal(raw_int(f, "SELECT count(*) FROM events"), 3);
}

/* Alerts: one per kind and event, newest first, open and acknowledged, counted, refused
 * when malformed; the questions of the rules. */
static void test_alerts(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e1 = make_login(f, T0, "alice", "ok"), e2 = make_login(f, T0 + 10, "alice", "ok");
        struct activity_alert x = {.time_us = T0, .reporter_uid = -1}, y, got, *xs = NULL;
        int64_t id1 = 0, id2 = 0, id3 = 0;
        uint64_t open = 9;
        bool recent = true;
        size_t n = 0;

        strcpy(x.user, "alice");
        strcpy(x.kind, "new-country");
        memcpy(x.event_id, e1.id, sizeof(x.event_id));
        strcpy(x.detail, "from Berlin");
        assert_int_equal(activity_alert_add(f->a, &x, &id1), 0);
        assert_true(id1 > 0);
        assert_int_equal(activity_alert_add(f->a, &x, &id2), 0);
        assert_int_equal(id2, 0); /* one per kind and event */
        y = x;
        strcpy(y.kind, "user-report");
        y.time_us = T0 + 20;
        y.reporter_uid = 1000;
        strcpy(y.note, "not me");
        assert_int_equal(activity_alert_add(f->a, &y, &id2), 0);
        assert_true(id2 > id1);
        y.time_us = T0 + 5;
        strcpy(y.kind, "backup-code-used");
        memcpy(y.event_id, e2.id, sizeof(y.event_id));
        strcpy(y.user, "bob");
        assert_int_equal(activity_alert_add(f->a, &y, &id3), 0);

        assert_int_equal(activity_alerts(f->a, NULL, false, 10, &xs, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(xs[0].id, id2); /* newest first, by the time of the event or report */
        assert_string_equal(xs[0].note, "not me");
        assert_int_equal(xs[0].reporter_uid, 1000);
        assert_int_equal(xs[1].id, id3);
        assert_int_equal(xs[2].id, id1);
        assert_int_equal(xs[2].reporter_uid, -1);
        assert_int_equal(xs[2].acked_us, 0);
        free(xs);
        assert_int_equal(activity_alerts(f->a, "alice", false, 1, &xs, &n), 0);
        assert_int_equal(n, 1);
        free(xs);
        assert_int_equal(activity_alerts_open(f->a, "alice", &open), 0);
        assert_int_equal(open, 2);

        assert_int_equal(activity_alert_ack(f->a, id1, T0 + 100, 0), 1);
        assert_int_equal(activity_alert_ack(f->a, id1, T0 + 101, 0), 0); /* closed already */
        assert_int_equal(activity_alert_ack(f->a, 999, T0 + 101, 0), 0);
        assert_int_equal(activity_alert_get(f->a, id1, &got), 0);
        assert_int_equal(got.acked_us, T0 + 100);
        assert_int_equal(got.acked_by_uid, 0);
        assert_int_equal(activity_alert_get(f->a, 999, &got), -ENOENT);
        assert_int_equal(activity_alerts_open(f->a, "alice", &open), 0);
        assert_int_equal(open, 1);
        assert_int_equal(activity_alerts(f->a, "alice", true, 10, &xs, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(xs[0].id, id2);
        free(xs);

        assert_int_equal(activity_alert_recent(f->a, "alice", "new-country", T0 - 1, T0, &recent), 0);
        assert_true(recent);
        assert_int_equal(activity_alert_recent(f->a, "alice", "new-country", T0, T0 + 50, &recent), 0);
        assert_false(recent); /* (after, until]: T0 itself is outside */
        assert_int_equal(activity_alert_recent(f->a, "bob", "new-country", 0, T0 + 50, &recent), 0);
        assert_false(recent);

        /* refused: malformed alerts */
        y = x;
        y.event_id[0] = '\0';
        assert_int_equal(activity_alert_add(f->a, &y, &id3), -EINVAL);
        y = x;
        y.user[0] = '\0';
        assert_int_equal(activity_alert_add(f->a, &y, &id3), -EINVAL);
        y = x;
        memset(y.note, 'n', sizeof(y.note)); /* not terminated */
        assert_int_equal(activity_alert_add(f->a, &y, &id3), -EINVAL);
        y = x;
        y.time_us = 0;
        assert_int_equal(activity_alert_add(f->a, &y, &id3), -EINVAL);
        assert_int_equal(activity_alert_ack(f->a, 0, T0, 0), -EINVAL);
}

/* What the rules ask: countries seen in a window, the previous (located) success, failures
 * in a window, the last lockout, one login by id. */
static void test_rule_questions(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event a = make_login(f, T0, "alice", "ok"), b = make_login(f, T0 + 100, "alice", "ok"),
                           c = make_login(f, T0 + 200, "alice", "fail"), d = make_login(f, T0 + 300, "alice", "fail"),
                           k = make_login(f, T0 + 400, "alice", "ok");
        struct geo_place s = sydney(), us = {.kind = GEO_FOUND};
        struct activity_login l;
        uint64_t n = 0;
        int64_t t = 0;

        strcpy(us.country, "US");
        strcpy(k.service, "mlsecctl");
        strcpy(d.reason, "locked");
        assert_true(store_at(f, &a, &s));
        assert_true(store_at(f, &b, &us));
        assert_true(store_at(f, &c, &s)); /* a failure from Australia */
        assert_true(store(f, &d));
        assert_true(store(f, &k));

        assert_int_equal(activity_prev_success(f->a, "alice", T0 + 1000, NULL, NULL, false, &l), 0);
        assert_string_equal(l.event.id, k.id);
        assert_int_equal(activity_prev_success(f->a, "alice", T0 + 1000, NULL, "mlsecctl", false, &l), 0);
        assert_string_equal(l.event.id, b.id); /* the code check left out */
        assert_int_equal(activity_prev_success(f->a, "alice", T0 + 1000, b.id, "mlsecctl", false, &l), 0);
        assert_string_equal(l.event.id, a.id);
        assert_int_equal(activity_prev_success(f->a, "alice", T0 + 1000, NULL, NULL, true, &l), 0);
        assert_string_equal(l.event.id, a.id); /* the US has no coordinates */
        assert_true(l.place.geo.has_location);
        assert_int_equal(activity_prev_success(f->a, "alice", T0 - 1, NULL, NULL, false, &l), -ENOENT);

        assert_int_equal(activity_failures(f->a, "alice", T0 + 200, T0 + 301, NULL, &n, NULL), 0);
        assert_int_equal(n, 1); /* (after, before) */
        assert_int_equal(activity_failures(f->a, "alice", T0 + 199, T0 + 301, NULL, &n, NULL), 0);
        assert_int_equal(n, 2);

        assert_int_equal(activity_last_lockout(f->a, "alice", 0, T0 + 1000, &t), 0);
        assert_int_equal(t, T0 + 300); /* a login refused as locked */
        audit_add(f, T0 + 350, "alice", "lockout", "every remote source locked");
        assert_int_equal(activity_last_lockout(f->a, "alice", 0, T0 + 1000, &t), 0);
        assert_int_equal(t, T0 + 350); /* a lockout begun */
        assert_int_equal(activity_last_lockout(f->a, "alice", 0, T0 + 349, &t), 0);
        assert_int_equal(t, T0 + 300);
        assert_int_equal(activity_last_lockout(f->a, "alice", 0, T0 + 299, &t), -ENOENT);
        assert_int_equal(activity_last_lockout(f->a, "alice", T0 + 350, T0 + 1000, &t), -ENOENT); /* (after, */
        assert_int_equal(activity_last_lockout(f->a, "bob", 0, T0 + 1000, &t), -ENOENT);
}

/* report's EVENT_ID: the full id or a prefix of 8 or more digits, among one user's own login
 * events only (by name, and by uid where the event has one); two of them: ambiguous. */
static void test_event_find(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event a = make_login(f, T0, "alice", "ok"), b = make_login(f, T0 + 100, "alice", "fail"),
                           c = make_login(f, T0 + 200, "alice", "ok"), m = make_login(f, T0 + 300, "mallory", "ok"),
                           u = make_login(f, T0 + 400, "alice", "ok"), o = make_login(f, T0 + 500, "alice", "ok"),
                           s = make_session(f, EVENT_SESSION_OPEN, T0 + 600, "alice", "7", "pts/1");
        struct activity_login l;

        /* a and b share 12 digits, c only 8 with them; mallory's shares 16 with c */
        strcpy(a.id, "0123456789ab0000aaaaaaaaaaaaaaaa");
        strcpy(b.id, "0123456789ab1111bbbbbbbbbbbbbbbb");
        strcpy(c.id, "01234567ffff2222cccccccccccccccc");
        strcpy(m.id, "01234567ffff2222dddddddddddddddd");
        strcpy(u.id, "fffffffffffffffffffffffffffffff0"); /* no uid: alice's by name */
        u.uid = -1;
        strcpy(o.id, "ffffffff00000000eeeeeeeeeeeeeeee"); /* "alice" with another uid: not hers */
        o.uid = 2000;
        strcpy(s.id, "5555555555555555aaaaaaaaaaaaaaaa"); /* a session, not a login */
        for (size_t i = 0; i < 7; i++)
                assert_true(store(f, (const struct mlsec_event *[]){&a, &b, &c, &m, &u, &o, &s}[i]));

        assert_int_equal(activity_event_find(f->a, "alice", 1000, a.id, &l), 0); /* the full id */
        assert_string_equal(l.event.id, a.id);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "0123456789ab0", &l), 0);
        assert_string_equal(l.event.id, a.id);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "0123456789ab1", &l), 0);
        assert_string_equal(l.event.id, b.id);
        assert_string_equal(l.event.result, "fail"); /* whatever its result */
        memset(&l, 0x5a, sizeof(l));
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "0123456789ab", &l), -ENOTUNIQ);
        assert_int_equal(l.event.time_us, (int64_t)0x5a5a5a5a5a5a5a5a); /* not written */
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "01234567", &l), -ENOTUNIQ);
        /* mallory's event neither matches for alice nor makes her prefix ambiguous */
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "01234567ffff2222", &l), 0);
        assert_string_equal(l.event.id, c.id);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "01234567ffff2222d", &l), -ENOENT);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, m.id, &l), -ENOENT);
        assert_int_equal(activity_event_find(f->a, "mallory", 1000, "01234567", &l), 0);
        assert_string_equal(l.event.id, m.id);
        /* an event without a uid is the named user's; one with another uid is not */
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "ffffffff", &l), 0);
        assert_string_equal(l.event.id, u.id);
        assert_int_equal(activity_event_find(f->a, "alice", 2000, "ffffffff0", &l), 0);
        assert_string_equal(l.event.id, o.id);
        assert_int_equal(activity_event_find(f->a, "alice", 2000, "ffffffff", &l), -ENOTUNIQ);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "ffffffff0", &l), -ENOENT);
        /* the upper bound after "f...f" (all 32) still finds it */
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "fffffffffffffffffffffffffffffff", &l), 0);
        assert_string_equal(l.event.id, u.id);
        /* only login events */
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "55555555", &l), -ENOENT);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "99999999", &l), -ENOENT);
        /* the prefix: 8 to 32 lower-case hex digits, a user name */
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "0123456", &l), -EINVAL);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "0123456789AB", &l), -EINVAL);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "01234567%", &l), -EINVAL);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "0123456789ab0000aaaaaaaaaaaaaaaa0", &l), -EINVAL);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, "", &l), -EINVAL);
        assert_int_equal(activity_event_find(f->a, "", 1000, "01234567", &l), -EINVAL);
        assert_int_equal(activity_event_find(f->a, NULL, 1000, "01234567", &l), -EINVAL);
        assert_int_equal(activity_event_find(f->a, "alice", 1000, NULL, &l), -EINVAL);
}

/* A place this file could not have written is corruption, not a place. */
static void test_place_corrupt(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e = make_login(f, T0, "alice", "ok");
        struct geo_place s = sydney();
        struct activity_login *l = NULL;
        size_t n = 0;

        assert_true(store_at(f, &e, &s));
        /* the CHECK refuses an unknown kind even from another connection */
        {
                sqlite3 *db = NULL;
                assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
                assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET geo_kind = 'mars'", NULL, NULL, NULL),
                                     SQLITE_OK);
                assert_int_equal(sqlite3_close(db), SQLITE_OK);
        }
        raw_exec(f, "UPDATE events SET geo_longitude = NULL"); /* a latitude alone */
        assert_int_equal(activity_logins(f->a, "alice", 10, false, &l, &n), -EBADMSG);
        raw_exec(f, "UPDATE events SET geo_longitude = 'east'");
        assert_int_equal(activity_logins(f->a, "alice", 10, false, &l, &n), -EBADMSG);
        raw_exec(f, "UPDATE events SET geo_longitude = 151.2, geo_city = NULL");
        assert_int_equal(activity_logins(f->a, "alice", 10, false, &l, &n), -EBADMSG);
        raw_exec(f, "UPDATE events SET geo_city = 'Sydney'");
        assert_int_equal(activity_logins(f->a, "alice", 10, false, &l, &n), 0);
        assert_int_equal(n, 1);
        free(l);
}

/* ---- the login notice ------------------------------------------------------------- */

static struct geo_place berlin(void)
{
        struct geo_place p = {.kind = GEO_FOUND};

        strcpy(p.country, "DE");
        strcpy(p.country_name, "Germany");
        strcpy(p.city, "Berlin");
        return p;
}

/* A login of USER at T with RESULT from IP (rhost the same), through SERVICE, stored with PLACE. */
static struct mlsec_event login_from(struct fixture *f, int64_t t, const char *user, const char *result, const char *ip,
                                     const char *service, const struct geo_place *place)
{
        struct mlsec_event e = make_login(f, t, user, result);

        snprintf(e.ip, sizeof(e.ip), "%s", ip);
        snprintf(e.rhost, sizeof(e.rhost), "%s", ip);
        snprintf(e.service, sizeof(e.service), "%s", service);
        assert_true(store_at(f, &e, place));
        return e;
}

/* The current login by id or by (service, address, recent), the one before it (skipping
 * mlsecctl's code checks), never another user's. */
static void test_notice_current_and_previous(void **state)
{
        struct fixture *f = *state;
        struct geo_place s = sydney(), b = berlin();
        struct activity_login l;
        struct mlsec_event first, skipped, cur, tie, local;

        assert_int_equal(activity_previous_login(f->a, "alice", NULL, "mlsecctl", &l), -ENOENT);
        first = login_from(f, T0, "alice", "ok", "203.0.113.7", "sshd", &s);
        (void)login_from(f, T0 + 5, "alice", "fail", "198.51.100.9", "sshd", &b);
        skipped = login_from(f, T0 + 10, "alice", "skipped", "203.0.113.8", "login", &s);
        (void)login_from(f, T0 + 15, "alice", "ok", "", "mlsecctl", NULL); /* a settings change: no login */
        (void)login_from(f, T0 + 16, "bob", "ok", "192.0.2.1", "sshd", NULL);
        cur = login_from(f, T0 + 20, "alice", "ok", "198.51.100.9", "sshd", &b);
        (void)login_from(f, T0 + 30, "bob", "ok", "198.51.100.9", "sshd", &b);

        /* by id: only a successful login of that user */
        assert_int_equal(activity_login_get(f->a, "alice", cur.id, &l), 0);
        assert_string_equal(l.event.id, cur.id);
        assert_true(l.place.stored);
        assert_string_equal(l.place.geo.country, "DE");
        assert_int_equal(activity_login_get(f->a, "bob", cur.id, &l), -ENOENT);
        assert_int_equal(activity_login_get(f->a, "alice", "0123456789abcdef0123456789abcdef", &l), -ENOENT);
        assert_int_equal(activity_login_get(f->a, "alice", "not-an-id", &l), -EINVAL);

        /* recent: service and source must match, and it must be late enough */
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", "198.51.100.9", "", T0 + 20, &l), 0);
        assert_string_equal(l.event.id, cur.id);
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", "198.51.100.9", "", T0 + 21, &l), -ENOENT);
        assert_int_equal(activity_recent_login(f->a, "alice", "login", "198.51.100.9", "", 0, &l), -ENOENT);
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", "203.0.113.99", "", 0, &l), -ENOENT);
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", "203.0.113.99", "h.example", 0, &l), -ENOENT);
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", "", "", 0, &l), -ENOENT); /* it has a source */
        assert_int_equal(activity_recent_login(f->a, "alice", "login", "203.0.113.8", "", 0, &l), 0);
        assert_string_equal(l.event.id, skipped.id); /* skipped: let through without MFA */
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", "198.51.100.9", "", 0, &l), 0);
        assert_string_equal(l.event.id, cur.id); /* bob's later login from there is not alice's */
        /* the remote host alone (sshd authenticating with SSH_CONNECTION, opening without) */
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", "", "198.51.100.9", 0, &l), 0);
        assert_string_equal(l.event.id, cur.id);
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", "192.0.2.200", "198.51.100.9", 0, &l), 0);
        assert_string_equal(l.event.id, cur.id);
        local = make_login(f, T0 + 19, "carol", "ok");
        strcpy(local.service, "login");
        local.ip[0] = local.rhost[0] = '\0';
        assert_true(store(f, &local));
        assert_int_equal(activity_recent_login(f->a, "carol", "login", "", "", 0, &l), 0);
        assert_string_equal(l.event.id, local.id); /* a console login: no source on either side */

        /* previous: older than the current one, mlsecctl's checks and failures left out */
        assert_int_equal(activity_previous_login(f->a, "alice", cur.id, "mlsecctl", &l), 0);
        assert_string_equal(l.event.id, skipped.id);
        assert_int_equal(l.event.time_us, T0 + 10);
        assert_string_equal(l.event.service, "login");
        assert_string_equal(l.place.geo.city, "Sydney");
        assert_int_equal(activity_previous_login(f->a, "alice", skipped.id, "mlsecctl", &l), 0);
        assert_string_equal(l.event.id, first.id);
        assert_int_equal(activity_previous_login(f->a, "alice", first.id, "mlsecctl", &l), -ENOENT);
        /* without a current one: the newest */
        assert_int_equal(activity_previous_login(f->a, "alice", NULL, "mlsecctl", &l), 0);
        assert_string_equal(l.event.id, cur.id);
        assert_int_equal(activity_previous_login(f->a, "alice", "", NULL, &l), 0);
        assert_string_equal(l.event.id, cur.id);
        /* the service excluded only when asked */
        assert_int_equal(activity_previous_login(f->a, "alice", cur.id, NULL, &l), 0);
        assert_string_equal(l.event.service, "mlsecctl");
        /* two logins in the same microsecond: the order they were stored in decides */
        tie = login_from(f, T0 + 20, "alice", "ok", "203.0.113.7", "sshd", &s);
        assert_int_equal(activity_previous_login(f->a, "alice", tie.id, "mlsecctl", &l), 0);
        assert_string_equal(l.event.id, cur.id);
        assert_int_equal(activity_previous_login(f->a, "alice", cur.id, "mlsecctl", &l), 0);
        assert_string_equal(l.event.id, skipped.id);
        assert_int_equal(activity_previous_login(f->a, "bob", NULL, NULL, &l), 0);
        assert_int_equal(l.event.time_us, T0 + 30);

        assert_int_equal(activity_previous_login(NULL, "alice", NULL, NULL, &l), -EINVAL);
        assert_int_equal(activity_previous_login(f->a, "alice", "xyz", NULL, &l), -EINVAL);
        assert_int_equal(activity_recent_login(f->a, NULL, "sshd", "", "", 0, &l), -EINVAL);
        assert_int_equal(activity_recent_login(f->a, "alice", "sshd", NULL, "", 0, &l), -EINVAL);
}

/* Failures between two logins: how many, and the newest with its place. */
static void test_notice_failures_between(void **state)
{
        struct fixture *f = *state;
        struct geo_place b = berlin();
        struct activity_login last;
        uint64_t n = 99;

        assert_int_equal(activity_failures(f->a, "alice", 0, 0, "mlsecctl", &n, &last), 0);
        assert_int_equal(n, 0);
        (void)login_from(f, T0, "alice", "fail", "192.0.2.1", "sshd", NULL); /* before the previous login */
        (void)login_from(f, T0 + 10, "alice", "ok", "203.0.113.7", "sshd", NULL);
        (void)login_from(f, T0 + 20, "alice", "fail", "203.0.113.7", "sshd", NULL);
        (void)login_from(f, T0 + 25, "alice", "fail", "", "mlsecctl", NULL); /* a settings change's code */
        (void)login_from(f, T0 + 30, "alice", "fail", "198.51.100.9", "login", &b);
        (void)login_from(f, T0 + 35, "bob", "fail", "192.0.2.2", "sshd", NULL);
        (void)login_from(f, T0 + 40, "alice", "ok", "203.0.113.7", "sshd", NULL); /* the current one */
        (void)login_from(f, T0 + 50, "alice", "fail", "192.0.2.3", "sshd", NULL); /* after it */

        memset(&last, 0, sizeof(last));
        assert_int_equal(activity_failures(f->a, "alice", T0 + 10, T0 + 40, "mlsecctl", &n, &last), 0);
        assert_int_equal(n, 2);
        assert_int_equal(last.event.time_us, T0 + 30);
        assert_string_equal(last.event.ip, "198.51.100.9");
        assert_string_equal(last.event.service, "login");
        assert_string_equal(last.event.result, "fail");
        assert_true(last.place.stored);
        assert_string_equal(last.place.geo.city, "Berlin");
        assert_int_equal(activity_failures(f->a, "alice", T0 + 10, T0 + 40, NULL, &n, NULL), 0);
        assert_int_equal(n, 3); /* with mlsecctl's */
        assert_int_equal(activity_failures(f->a, "alice", T0 + 10, 0, "mlsecctl", &n, &last), 0);
        assert_int_equal(n, 3); /* up to now */
        assert_int_equal(last.event.time_us, T0 + 50);
        assert_int_equal(activity_failures(f->a, "alice", 0, T0 + 10, "mlsecctl", &n, &last), 0);
        assert_int_equal(n, 1);
        assert_int_equal(last.event.time_us, T0);
        assert_false(last.place.stored);
        /* none: *ret_last untouched */
        memset(&last, 0x5a, sizeof(last));
        assert_int_equal(activity_failures(f->a, "alice", T0 + 30, T0 + 40, "mlsecctl", &n, &last), 0);
        assert_int_equal(n, 0);
        assert_int_equal(last.event.time_us, 0x5a5a5a5a5a5a5a5aLL);
        assert_int_equal(activity_failures(f->a, "carol", 0, 0, NULL, &n, &last), 0);
        assert_int_equal(n, 0);
        assert_int_equal(activity_failures(f->a, NULL, 0, 0, NULL, &n, &last), -EINVAL);
}

/* The one check of a new country or network: earlier successful logins in the window only,
 * the current one left out, failures and other users never counted. */
static void test_notice_place_seen(void **state)
{
        struct fixture *f = *state;
        struct geo_place s = sydney(), b = berlin(), priv = {.kind = GEO_PRIVATE};
        struct activity_seen seen;
        struct mlsec_event cur;

        /* nothing yet: nothing to compare with */
        assert_int_equal(activity_place_seen(f->a, "alice", 0, NULL, "AU", "203.0.113.0/24", &seen), 0);
        assert_false(seen.located || seen.country || seen.addressed || seen.network);

        cur = login_from(f, T0 + 100, "alice", "ok", "203.0.113.7", "sshd", &s);
        /* the current login alone is its own first: still nothing to compare with */
        assert_int_equal(activity_place_seen(f->a, "alice", 0, cur.id, "AU", "203.0.113.0/24", &seen), 0);
        assert_false(seen.located || seen.country || seen.addressed || seen.network);
        /* without leaving it out, it is seen */
        assert_int_equal(activity_place_seen(f->a, "alice", 0, NULL, "AU", "203.0.113.0/24", &seen), 0);
        assert_true(seen.located && seen.country && seen.addressed && seen.network);

        (void)login_from(f, T0, "alice", "ok", "10.0.0.5", "sshd", &priv);         /* a LAN, no country */
        (void)login_from(f, T0 + 10, "alice", "fail", "198.51.100.9", "sshd", &b); /* failed: never counts */
        (void)login_from(f, T0 + 20, "bob", "ok", "198.51.100.7", "sshd", &b);     /* bob's: never counts */
        (void)login_from(f, T0 + 30, "alice", "ok", "host.example", "sshd", NULL); /* a name: no network */
        assert_int_equal(activity_place_seen(f->a, "alice", 0, cur.id, "DE", "198.51.100.0/24", &seen), 0);
        assert_false(seen.located); /* the LAN login has no country: Germany is not "new" */
        assert_false(seen.country);
        assert_true(seen.addressed);
        assert_false(seen.network);
        assert_int_equal(activity_place_seen(f->a, "alice", 0, cur.id, NULL, "10.0.0.0/24", &seen), 0);
        assert_true(seen.network);
        assert_false(seen.located); /* country not asked */

        (void)login_from(f, T0 + 40, "alice", "skipped", "2001:db8:1::5", "login", &s);
        assert_int_equal(activity_place_seen(f->a, "alice", 0, cur.id, "DE", "2001:db8:1::/48", &seen), 0);
        assert_true(seen.located);
        assert_false(seen.country);
        assert_true(seen.network);
        assert_int_equal(activity_place_seen(f->a, "alice", 0, cur.id, "AU", "2001:db8:2::/48", &seen), 0);
        assert_true(seen.country);
        assert_false(seen.network);
        /* the window: only logins at or after SINCE */
        assert_int_equal(activity_place_seen(f->a, "alice", T0 + 41, cur.id, "AU", "10.0.0.0/24", &seen), 0);
        assert_false(seen.located || seen.country || seen.addressed || seen.network);
        assert_int_equal(activity_place_seen(f->a, "alice", T0 + 40, cur.id, "AU", "10.0.0.0/24", &seen), 0);
        assert_true(seen.located && seen.country && seen.addressed);
        assert_false(seen.network);
        /* bob saw Germany, alice did not */
        assert_int_equal(activity_place_seen(f->a, "bob", 0, NULL, "DE", "198.51.100.0/24", &seen), 0);
        assert_true(seen.country && seen.network);

        assert_int_equal(activity_place_seen(f->a, "alice", 0, "bad id", "AU", NULL, &seen), -EINVAL);
        assert_int_equal(activity_place_seen(f->a, NULL, 0, NULL, "AU", NULL, &seen), -EINVAL);
        assert_int_equal(activity_place_seen(f->a, "alice", 0, NULL, "AU", NULL, NULL), -EINVAL);
}

/* The bounds on the work of one notice: the newest ACTIVITY_SEEN_MAX logins are compared,
 * failures are counted up to ACTIVITY_FAILURES_MAX. */
static void test_notice_bounds(void **state)
{
        struct fixture *f = *state;
        struct geo_place s = sydney(), b = berlin();
        struct activity_login last;
        struct activity_seen seen;
        struct mlsec_event e;
        uint64_t n = 0;

        assert_int_equal(activity_begin(f->a), 0);
        e = login_from(f, T0, "alice", "ok", "198.51.100.9", "sshd", &b); /* the oldest: Germany */
        for (int i = 1; i < ACTIVITY_SEEN_MAX; i++)
                e = login_from(f, T0 + i, "alice", "ok", "203.0.113.7", "sshd", &s);
        for (int i = 0; i <= ACTIVITY_FAILURES_MAX; i++)
                (void)login_from(f, T0 + 100000 + i, "alice", "fail", "192.0.2.1", "sshd", NULL);
        assert_int_equal(activity_commit(f->a), 0);

        /* 1000 logins: Germany is still among them */
        assert_int_equal(activity_place_seen(f->a, "alice", 0, NULL, "DE", "198.51.100.0/24", &seen), 0);
        assert_true(seen.country && seen.network);
        /* one more from Sydney: Germany is now beyond the newest 1000 */
        e = login_from(f, T0 + ACTIVITY_SEEN_MAX, "alice", "ok", "203.0.113.7", "sshd", &s);
        assert_int_equal(activity_place_seen(f->a, "alice", 0, NULL, "DE", "198.51.100.0/24", &seen), 0);
        assert_true(seen.located && seen.addressed);
        assert_false(seen.country || seen.network);
        /* the current one left out: the oldest is back in */
        assert_int_equal(activity_place_seen(f->a, "alice", 0, e.id, "DE", "198.51.100.0/24", &seen), 0);
        assert_true(seen.country && seen.network);

        assert_int_equal(activity_failures(f->a, "alice", 0, 0, NULL, &n, &last), 0);
        assert_int_equal(n, ACTIVITY_FAILURES_MAX); /* 10001 stored, counted up to 10000 */
        assert_int_equal(last.event.time_us, T0 + 100000 + ACTIVITY_FAILURES_MAX); /* the newest all the same */
        assert_int_equal(activity_failures(f->a, "alice", T0 + 100000 + 5, 0, NULL, &n, NULL), 0);
        assert_int_equal(n, ACTIVITY_FAILURES_MAX - 5);
}

/* The names of an attacked host: 100,000 attempts of 10,000 names that are no account, and
 * a few users with logins among them, read in one query in under a second (generous: a
 * quarter of that here, with the row inserts), with the right counts. */
static void test_users_at_scale(void **state)
{
        struct fixture *f = *state;
        struct activity_user *u = NULL;
        uint64_t names = 0, attempts = 0, sum = 0;
        struct timespec t0, t1;
        struct mlsec_event e;
        double s;
        size_t n = 0;

        raw_exec(f, "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 99999)"
                    " INSERT INTO events(event_id, kind, time_us, user, uid, service, rhost, ip, tty, method,"
                    " result, reason, session, pid)"
                    " SELECT printf('%032x', 1000000 + i), 'auth', 1700000000000000 + i, printf('dict%05d', i % 10000),"
                    " -1, 'sshd', '', printf('203.0.%d.%d', i / 256 % 256, i % 256), '', 'none', 'fail',"
                    " 'unknown user', '', 1 FROM c");
        for (int i = 0; i < 3; i++) {
                e = make_login(f, T0 + i, i == 0 ? "alice" : i == 1 ? "bob" : "carol", "ok");
                assert_true(store(f, &e));
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(activity_users(f->a, "mlsecctl", 20000, &u, &n), 0);
        assert_int_equal(activity_users_total(f->a, &names, &attempts), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        /* a figure to read, not a timed check (the speed claims live in make bench) */
        print_message("activity_users over 100003 attempts of 10003 names: %.3f s\n", s);
        assert_int_equal(n, 10003);
        assert_int_equal(names, 10003);
        assert_int_equal(attempts, 100003);
        /* the accounts first, then the names that never were one */
        assert_string_equal(u[0].user, "alice");
        assert_true(u[0].was_account && u[0].last_login_us == T0);
        assert_string_equal(u[3].user, "dict00000");
        assert_false(u[3].was_account);
        assert_int_equal(u[3].last_login_us, 0);
        for (size_t i = 3; i < n; i++)
                sum += u[i].attempts;
        assert_int_equal(sum, 100000);
        assert_int_equal(u[n - 1].attempts, 10);
        assert_int_equal(u[n - 1].last_attempt_us, 1700000000000000LL + 99999);
        assert_string_equal(u[n - 1].last_attempt_from, "203.0.134.159"); /* the newest attempt's */
        free(u);
        u = NULL;
        /* bounded: the limit cuts */
        assert_int_equal(activity_users(f->a, "mlsecctl", 100, &u, &n), 0);
        assert_int_equal(n, 100);
        free(u);
}

int main(void)
{
#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TO(fn) cmocka_unit_test_setup_teardown(fn, setup_open, teardown)
        const struct CMUnitTest tests[] = {
                T(test_open_creates_private),
                T(test_open_reopen_keeps_data),
                T(test_open_refuses_unsafe),
                TO(test_exactly_once),
                TO(test_store_rejects_bad_events),
                TO(test_transactions),
                TO(test_history),
                TO(test_session_by_logind_id),
                TO(test_session_fallback),
                TO(test_session_end_and_ids),
                TO(test_audit_intact),
                TO(test_audit_edited_row),
                TO(test_audit_edited_number),
                TO(test_audit_deleted_row),
                TO(test_audit_deleted_and_renumbered),
                TO(test_audit_forged_row),
                TO(test_audit_swapped_rows),
                TO(test_audit_wrong_type),
                TO(test_audit_other_key),
                TO(test_prune),
                TO(test_users),
                TO(test_last_login_and_failures_since),
                TO(test_login_rule),
                TO(test_place_stored),
                T(test_migration_keeps_rows),
                T(test_migration_2_to_3_keeps_rows),
                T(test_migration_3_to_4_canonical_addresses),
                TO(test_alerts),
                TO(test_rule_questions),
                TO(test_event_find),
                TO(test_place_corrupt),
                TO(test_notice_current_and_previous),
                TO(test_notice_failures_between),
                TO(test_notice_place_seen),
                TO(test_notice_bounds),
                TO(test_users_at_scale),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
