/* SPDX-License-Identifier: MIT */
/* Unit tests of common/spool.c on a real temporary directory: what a spooled event looks like
 * on disk, that a scan gives every event back whole, oldest first and exactly once, that
 * unreadable or forged files are quarantined, crash leftovers reaped, and unsafe directories
 * refused. */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "proto.h"
#include "spool.h"

#define MANY 1000
/* 2023-11-14T22:13:20Z: after 2000 and in the past, as event_validate wants. */
#define T0 1700000000000000LL

struct fixture {
        char root[64];
        char dir[128]; /* root/spool: not created until the first write */
};

struct refused;

struct seen {
        size_t n;
        size_t cap;
        struct mlsec_event *events;
        int stop_after;          /* return -ECANCELED after this many; 0: never */
        struct refused *refused; /* the bad files reported, for note_bad */
};

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
        (void)snprintf(f->root, sizeof(f->root), "/tmp/test_spool.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        (void)snprintf(f->dir, sizeof(f->dir), "%s/spool", f->root);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        (void)nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static int collect(const struct mlsec_event *e, void *userdata)
{
        struct seen *s = userdata;

        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                struct mlsec_event *p = realloc(s->events, cap * sizeof(*p));

                if (!p)
                        return -ENOMEM;
                s->events = p;
                s->cap = cap;
        }
        s->events[s->n++] = *e;
        if (s->stop_after && (int)s->n >= s->stop_after)
                return -ECANCELED;
        return 0;
}

static void make_event(struct mlsec_event *e, int64_t time_us)
{
        event_init(e, EVENT_AUTH);
        e->time_us = time_us;
        assert_int_equal(event_set_text(e->user, sizeof(e->user), "alice"), 0);
        assert_int_equal(event_set_text(e->result, sizeof(e->result), "ok"), 0);
}

/* Every field set, so a round trip that drops one is caught. */
static void make_full_event(struct mlsec_event *e)
{
        make_event(e, T0 + 123456);
        e->uid = 1000;
        e->pid = 4242;
        e->actor_uid = 0;
        assert_int_equal(event_set_text(e->service, sizeof(e->service), "sshd"), 0);
        assert_int_equal(event_set_text(e->rhost, sizeof(e->rhost), "client.example.org"), 0);
        assert_int_equal(event_set_text(e->ip, sizeof(e->ip), "2001:db8::1"), 0);
        assert_int_equal(event_set_text(e->tty, sizeof(e->tty), "ssh"), 0);
        assert_int_equal(event_set_text(e->method, sizeof(e->method), "totp"), 0);
        assert_int_equal(event_set_text(e->reason, sizeof(e->reason), "accepted"), 0);
        assert_int_equal(event_set_text(e->session, sizeof(e->session), "17"), 0);
        assert_int_equal(event_set_text(e->action, sizeof(e->action), "login"), 0);
        assert_int_equal(event_set_text(e->detail, sizeof(e->detail), "caf\xc3\xa9 \"quoted\" detail"), 0);
}

static void assert_event_equal(const struct mlsec_event *a, const struct mlsec_event *b)
{
        assert_string_equal(a->id, b->id);
        assert_int_equal(a->kind, b->kind);
        assert_int_equal(a->time_us, b->time_us);
        assert_string_equal(a->user, b->user);
        assert_int_equal(a->uid, b->uid);
        assert_string_equal(a->service, b->service);
        assert_string_equal(a->rhost, b->rhost);
        assert_string_equal(a->ip, b->ip);
        assert_string_equal(a->tty, b->tty);
        assert_string_equal(a->method, b->method);
        assert_string_equal(a->result, b->result);
        assert_string_equal(a->reason, b->reason);
        assert_string_equal(a->session, b->session);
        assert_int_equal(a->pid, b->pid);
        assert_int_equal(a->actor_uid, b->actor_uid);
        assert_string_equal(a->action, b->action);
        assert_string_equal(a->detail, b->detail);
}

static void path_of(const struct fixture *f, const char *name, char *buf, size_t n)
{
        (void)snprintf(buf, n, "%s/%s", f->dir, name);
}

static void event_path(const struct fixture *f, const char *id, char *buf, size_t n)
{
        (void)snprintf(buf, n, "%s/%s" SPOOL_SUFFIX, f->dir, id);
}

static void write_file(const char *path, const void *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
}

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        (void)closedir(d);
        return n;
}

static void test_write_creates_private_file(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        char path[256];
        struct stat st;

        make_event(&e, T0);
        assert_int_equal(spool_write(f->dir, &e), 0);

        /* The directory did not exist: made 0700. */
        assert_int_equal(lstat(f->dir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);

        event_path(f, e.id, path, sizeof(path));
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, geteuid());
        assert_true(st.st_size > 0 && st.st_size <= PROTO_MSG_MAX);
        /* Nothing but the event and the reserve: the temporary name is gone. */
        assert_int_equal(count_entries(f->dir), 2);
        /* A spool made by a writer gets its audit reserve at once: private, full size. */
        path_of(f, "reserve", path, sizeof(path));
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(count_entries(path), SPOOL_RESERVE_SLOTS + 1);
        path_of(f, "reserve/slot-00", path, sizeof(path));
        assert_int_equal(lstat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, SPOOL_RESERVE_SLOT_SIZE);
        assert_true(st.st_blocks * 512 >= SPOOL_RESERVE_SLOT_SIZE); /* written, not a hole */
}

static void test_write_refuses_invalid_event(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;

        /* An id that would name another path must never reach the file system. */
        make_event(&e, T0);
        memcpy(e.id, "../../../../../../../tmp/evil.xx", EVENT_ID_LEN);
        assert_int_equal(spool_write(f->dir, &e), -EINVAL);
        make_event(&e, T0);
        e.result[0] = '\0'; /* an auth event needs its result */
        assert_int_equal(spool_write(f->dir, &e), -EINVAL);
        assert_int_equal(access(f->dir, F_OK), -1);
}

static void test_scan_returns_all_fields(void **state)
{
        struct fixture *f = *state;
        struct seen s = {0};
        struct mlsec_event e;
        size_t bad = 99;

        make_full_event(&e);
        assert_int_equal(spool_write(f->dir, &e), 0);
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 1);
        assert_int_equal(bad, 0);
        assert_int_equal(s.n, 1);
        assert_event_equal(&s.events[0], &e);
        /* A scan does not consume: the caller removes what it stored. */
        s.n = 0;
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 1);
        free(s.events);
}

static void test_scan_missing_dir_is_empty(void **state)
{
        struct fixture *f = *state;
        struct seen s = {0};
        size_t bad = 99;

        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 0);
        assert_int_equal(bad, 0);
        assert_int_equal(s.n, 0);
}

static void test_scan_oldest_first(void **state)
{
        static const int64_t times[] = {T0 + 500, T0 + 100, T0 + 300, T0 + 100, T0 + 200, T0 + 400};
        struct fixture *f = *state;
        struct mlsec_event e[6];
        struct seen s = {0};
        size_t bad;

        for (size_t i = 0; i < 6; i++) {
                make_event(&e[i], times[i]);
                assert_int_equal(spool_write(f->dir, &e[i]), 0);
        }
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 6);
        assert_int_equal(s.n, 6);
        for (size_t i = 1; i < s.n; i++) {
                assert_true(s.events[i - 1].time_us <= s.events[i].time_us);
                /* Same time: by id, so the order is the same on every scan. */
                if (s.events[i - 1].time_us == s.events[i].time_us)
                        assert_true(strcmp(s.events[i - 1].id, s.events[i].id) < 0);
        }
        assert_int_equal(s.events[0].time_us, T0 + 100);
        assert_int_equal(s.events[5].time_us, T0 + 500);
        free(s.events);
}

static void test_scan_max(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        struct seen s = {0};
        size_t bad;

        for (int i = 5; i > 0; i--) {
                make_event(&e, T0 + i * 1000);
                assert_int_equal(spool_write(f->dir, &e), 0);
        }
        assert_int_equal(spool_scan(f->dir, 2, collect, NULL, &s, &bad), 2);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.events[0].time_us, T0 + 1000);
        assert_int_equal(s.events[1].time_us, T0 + 2000);
        s.n = 0;
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 5);
        free(s.events);
}

static void test_scan_stops_when_fn_fails(void **state)
{
        struct fixture *f = *state;
        struct seen s = {.stop_after = 2};
        struct mlsec_event e;
        size_t bad;

        for (int i = 0; i < 4; i++) {
                make_event(&e, T0 + i);
                assert_int_equal(spool_write(f->dir, &e), 0);
        }
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), -ECANCELED);
        assert_int_equal(s.n, 2);
        free(s.events);
}

static void test_bad_file_moved_aside(void **state)
{
        static const char *garbage[] = {"", "not json at all", "{\"id\":\"0123\"}", "{\"v\":1}"};
        static const char *ids[] = {"00000000000000000000000000000001", "00000000000000000000000000000002",
                                    "00000000000000000000000000000003", "00000000000000000000000000000004"};
        struct fixture *f = *state;
        struct mlsec_event good;
        struct seen s = {0};
        char path[256];
        struct stat st;
        size_t bad = 0;

        make_event(&good, T0);
        assert_int_equal(spool_write(f->dir, &good), 0);
        for (size_t i = 0; i < 4; i++) {
                event_path(f, ids[i], path, sizeof(path));
                write_file(path, garbage[i], strlen(garbage[i]));
        }
        /* Not our names: left alone, not counted. */
        path_of(f, "README", path, sizeof(path));
        write_file(path, "x", 1);
        path_of(f, "0123456789ABCDEF0123456789ABCDEF.event", path, sizeof(path));
        write_file(path, "x", 1);

        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 1);
        assert_int_equal(bad, 4);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.events[0].id, good.id);

        path_of(f, "bad", path, sizeof(path));
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        for (size_t i = 0; i < 4; i++) {
                event_path(f, ids[i], path, sizeof(path));
                assert_int_equal(access(path, F_OK), -1);
                (void)snprintf(path, sizeof(path), "%s/bad/%s" SPOOL_SUFFIX, f->dir, ids[i]);
                assert_int_equal(access(path, F_OK), 0);
        }
        path_of(f, "README", path, sizeof(path));
        assert_int_equal(access(path, F_OK), 0);

        /* Quarantined once: the next scan is clean. */
        s.n = 0;
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 1);
        assert_int_equal(bad, 0);
        free(s.events);
}

static void test_id_mismatch_is_bad(void **state)
{
        static const char *other = "ffffffffffffffffffffffffffffffff";
        struct fixture *f = *state;
        struct mlsec_event e;
        struct seen s = {0};
        char *buf = malloc(PROTO_MSG_MAX), path[256];
        size_t len, bad = 0;

        assert_non_null(buf);
        make_event(&e, T0);
        assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
        assert_int_equal(mkdir(f->dir, 0700), 0);
        /* A well-formed event under another event's name: replaying it would break
         * exactly-once ingestion, so it is not delivered. */
        event_path(f, other, path, sizeof(path));
        write_file(path, buf, len);

        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 0);
        assert_int_equal(bad, 1);
        assert_int_equal(s.n, 0);
        (void)snprintf(path, sizeof(path), "%s/bad/%s" SPOOL_SUFFIX, f->dir, other);
        assert_int_equal(access(path, F_OK), 0);
        free(buf);
}

static void test_oversized_and_foreign_files_are_bad(void **state)
{
        static const char *big_id = "11111111111111111111111111111111";
        static const char *link_id = "22222222222222222222222222222222";
        static const char *foreign_id = "33333333333333333333333333333333";
        struct fixture *f = *state;
        struct mlsec_event e;
        struct seen s = {0};
        char *buf = calloc(1, PROTO_MSG_MAX + 2), path[256], target[256];
        size_t len, bad = 0;

        assert_non_null(buf);
        assert_int_equal(mkdir(f->dir, 0700), 0);
        /* Over the size bound, even though it starts like an event. */
        make_event(&e, T0);
        memcpy(e.id, big_id, EVENT_ID_LEN);
        assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
        memset(buf + len, ' ', PROTO_MSG_MAX + 1 - len);
        event_path(f, big_id, path, sizeof(path));
        write_file(path, buf, PROTO_MSG_MAX + 1);

        /* A symlink to a valid event elsewhere is never followed. */
        make_event(&e, T0);
        memcpy(e.id, link_id, EVENT_ID_LEN);
        assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
        (void)snprintf(target, sizeof(target), "%s/elsewhere", f->root);
        write_file(target, buf, len);
        event_path(f, link_id, path, sizeof(path));
        assert_int_equal(symlink(target, path), 0);

        /* A valid event owned by someone else (only root can make one). */
        if (geteuid() == 0) {
                make_event(&e, T0);
                memcpy(e.id, foreign_id, EVENT_ID_LEN);
                assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
                event_path(f, foreign_id, path, sizeof(path));
                write_file(path, buf, len);
                assert_int_equal(chown(path, 4242, (gid_t)-1), 0);
        }

        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 0);
        assert_int_equal(bad, geteuid() == 0 ? 3 : 2);
        assert_int_equal(s.n, 0);
        /* The link's target is untouched. */
        assert_int_equal(access(target, F_OK), 0);
        free(buf);
}

struct refused {
        size_t n;
        char names[8][64];
        enum spool_bad why[8];
};

static void note_bad(const char *name, enum spool_bad why, void *userdata)
{
        struct refused *rf = ((struct seen *)userdata)->refused;

        if (rf->n < 8) {
                (void)snprintf(rf->names[rf->n], sizeof(rf->names[0]), "%s", name);
                rf->why[rf->n++] = why;
        }
}

static enum spool_bad why_of(const struct refused *rf, const char *id)
{
        for (size_t i = 0; i < rf->n; i++)
                if (strncmp(rf->names[i], id, EVENT_ID_LEN) == 0)
                        return rf->why[i];
        fail_msg("%s was not reported as bad", id);
        return _SPOOL_BAD_MAX;
}

/* Issue #12 item 6: a spool file is read like every file root reads. Each valid event below
 * sits in a file that is not private to root in one way; none is ingested, each goes to bad/
 * and the caller hears which file and why. */
static void test_unsafe_files_refused_with_reason(void **state)
{
        static const char *mode_id = "44444444444444444444444444444444";
        static const char *link_id = "55555555555555555555555555555555";
        static const char *fifo_id = "66666666666666666666666666666666";
        static const char *sym_id = "77777777777777777777777777777777";
        static const char *owner_id = "88888888888888888888888888888888";
        struct fixture *f = *state;
        struct refused rf = {0};
        struct seen s = {.refused = &rf};
        struct mlsec_event e, good;
        char *buf = malloc(PROTO_MSG_MAX), path[256], other[256];
        size_t len, bad = 0;
        struct stat st;

        assert_non_null(buf);
        make_event(&good, T0);
        assert_int_equal(spool_write(f->dir, &good), 0);

        make_event(&e, T0);
        memcpy(e.id, mode_id, EVENT_ID_LEN);
        assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
        event_path(f, mode_id, path, sizeof(path));
        write_file(path, buf, len);
        assert_int_equal(chmod(path, 0644), 0);

        memcpy(e.id, link_id, EVENT_ID_LEN);
        assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
        event_path(f, link_id, path, sizeof(path));
        write_file(path, buf, len);
        (void)snprintf(other, sizeof(other), "%s/second-name", f->root);
        assert_int_equal(link(path, other), 0);

        event_path(f, fifo_id, path, sizeof(path));
        assert_int_equal(mkfifo(path, 0600), 0);

        memcpy(e.id, sym_id, EVENT_ID_LEN);
        assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
        (void)snprintf(other, sizeof(other), "%s/target", f->root);
        write_file(other, buf, len);
        event_path(f, sym_id, path, sizeof(path));
        assert_int_equal(symlink(other, path), 0);

        if (geteuid() == 0) {
                memcpy(e.id, owner_id, EVENT_ID_LEN);
                assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
                event_path(f, owner_id, path, sizeof(path));
                write_file(path, buf, len);
                assert_int_equal(chown(path, 4242, (gid_t)-1), 0);
        }

        assert_int_equal(spool_scan(f->dir, 0, collect, note_bad, &s, &bad), 1);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.events[0].id, good.id);
        assert_int_equal(bad, geteuid() == 0 ? 5 : 4);
        assert_int_equal(rf.n, bad);
        assert_int_equal(why_of(&rf, mode_id), SPOOL_BAD_MODE);
        assert_int_equal(why_of(&rf, link_id), SPOOL_BAD_LINKS);
        assert_int_equal(why_of(&rf, fifo_id), SPOOL_BAD_TYPE);
        assert_int_equal(why_of(&rf, sym_id), SPOOL_BAD_TYPE);
        if (geteuid() == 0)
                assert_int_equal(why_of(&rf, owner_id), SPOOL_BAD_OWNER);
        assert_string_equal(spool_bad_to_string(SPOOL_BAD_LINKS), "has more than one link");
        for (size_t i = 0; i < rf.n; i++) {
                (void)snprintf(path, sizeof(path), "%s/bad/%s", f->dir, rf.names[i]);
                assert_int_equal(lstat(path, &st), 0);
                path_of(f, rf.names[i], path, sizeof(path));
                assert_int_equal(access(path, F_OK), -1);
        }
        /* The symlink's target and the hard link's other name are untouched. */
        assert_int_equal(access(other, F_OK), 0);
        (void)snprintf(other, sizeof(other), "%s/second-name", f->root);
        assert_int_equal(lstat(other, &st), 0);
        free(s.events);
        free(buf);
}

/* Fill the filesystem under FD's file until it refuses a byte. */
static void fill_up(int fd)
{
        static const char block[4096];
        ssize_t n;

        while ((n = write(fd, block, sizeof(block))) > 0)
                ;
        while ((n = write(fd, block, 1)) > 0)
                ;
        assert_true(errno == ENOSPC);
}

static void make_audit(struct mlsec_event *e, const char *action)
{
        make_event(e, T0);
        e->kind = EVENT_AUDIT;
        (void)snprintf(e->action, sizeof(e->action), "%s", action);
        e->result[0] = '\0';
}

/* Issue #12 item 3 at its depth: a spool on a full filesystem (a 512 KiB tmpfs in a mount
 * namespace of this test process) keeps audit events in the reserve, counts every event it
 * cannot keep, and the counter survives. */
static void test_full_spool_keeps_audit_and_counts_loss(void **state)
{
        struct fixture *f = *state;
        struct spool_status st;
        struct mlsec_event e, kept[SPOOL_RESERVE_SLOTS];
        struct seen s = {0};
        char path[256];
        size_t bad = 0;
        int fd;

        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                skip();
                return;
        }
        assert_int_equal(mkdir(f->dir, 0700), 0);
        assert_int_equal(mount("tmpfs", f->dir, "tmpfs", 0, "size=512k,mode=0700"), 0);
        assert_int_equal(spool_reserve_fill(f->dir), SPOOL_RESERVE_SLOTS);
        assert_int_equal(spool_status(f->dir, true, &st), 0);
        assert_true(st.counter);
        assert_int_equal(st.reserve_ready, SPOOL_RESERVE_SLOTS);
        assert_int_equal(st.lost_audit + st.lost_other, 0);

        path_of(f, "filler", path, sizeof(path));
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        fill_up(fd);

        /* A login event has no reserve: refused, and counted. */
        make_event(&e, T0);
        assert_int_equal(spool_write(f->dir, &e), -ENOSPC);
        /* Audit events: every one kept while a slot is left, the filesystem full again before
         * each (a used slot's truncated tail frees a little). */
        for (size_t i = 0; i < SPOOL_RESERVE_SLOTS; i++) {
                fill_up(fd);
                make_audit(&kept[i], i % 2 ? "lockout" : "backup-code-used");
                kept[i].time_us = T0 + (int64_t)i;
                assert_int_equal(spool_write(f->dir, &kept[i]), SPOOL_WRITE_RESERVE);
        }
        fill_up(fd);
        make_audit(&e, "lockout");
        assert_int_equal(spool_write(f->dir, &e), -ENOSPC);

        assert_int_equal(spool_status(f->dir, true, &st), 0);
        assert_int_equal(st.pending, SPOOL_RESERVE_SLOTS);
        assert_int_equal(st.reserve_ready, 0);
        assert_true(st.counter);
        assert_int_equal(st.lost_audit, 1);
        assert_int_equal(st.lost_other, 1);
        assert_int_equal(st.reported_audit + st.reported_other, 0);

        /* The kept ones are ordinary, whole spool files: checked and delivered like any. */
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), SPOOL_RESERVE_SLOTS);
        assert_int_equal(bad, 0);
        for (size_t i = 0; i < SPOOL_RESERVE_SLOTS; i++)
                assert_event_equal(&s.events[i], &kept[i]);
        for (size_t i = 0; i < SPOOL_RESERVE_SLOTS; i++)
                assert_int_equal(spool_remove(f->dir, kept[i].id), 0);

        /* Still full: the reserve cannot be refilled, and says so. */
        fill_up(fd);
        assert_int_equal(spool_reserve_fill(f->dir), -ENOSPC);
        /* Space again: whole. The counter is untouched by refills. */
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(spool_reserve_fill(f->dir), SPOOL_RESERVE_SLOTS);
        assert_int_equal(spool_lost_mark_reported(f->dir, 1, 1), 0);
        assert_int_equal(spool_status(f->dir, true, &st), 0);
        assert_int_equal(st.reserve_ready, SPOOL_RESERVE_SLOTS);
        assert_int_equal(st.lost_audit, 1);
        assert_int_equal(st.lost_other, 1);
        assert_int_equal(st.reported_audit, 1);
        assert_int_equal(st.reported_other, 1);
        /* "reported" never exceeds what was lost, nor goes back. */
        assert_int_equal(spool_lost_mark_reported(f->dir, 0, 5), 0);
        assert_int_equal(spool_status(f->dir, true, &st), 0);
        assert_int_equal(st.reported_audit, 1);
        assert_int_equal(st.reported_other, 1);

        (void)close(fd);
        free(s.events);
        (void)umount2(f->dir, MNT_DETACH);
}

/* A slot that is not a private file of ours (here: a hard link to a file elsewhere, the way
 * to make root overwrite it) is never written; the fill replaces it. */
static void test_reserve_unsafe_slot_replaced(void **state)
{
        struct fixture *f = *state;
        char slot[256], other[256];
        struct stat st;

        assert_int_equal(spool_reserve_fill(f->dir), SPOOL_RESERVE_SLOTS);
        path_of(f, "reserve/slot-03", slot, sizeof(slot));
        (void)snprintf(other, sizeof(other), "%s/precious", f->root);
        write_file(other, "keep me", 7);
        assert_int_equal(unlink(slot), 0);
        assert_int_equal(link(other, slot), 0);
        assert_int_equal(spool_reserve_fill(f->dir), SPOOL_RESERVE_SLOTS);
        assert_int_equal(lstat(slot, &st), 0);
        assert_int_equal(st.st_nlink, 1);
        assert_int_equal(st.st_size, SPOOL_RESERVE_SLOT_SIZE);
        assert_int_equal(lstat(other, &st), 0);
        assert_int_equal(st.st_size, 7);
}

/* Every text field full of characters JSON escapes still fits a reserve slot. */
static void test_largest_event_fits_a_slot(void **state)
{
        struct mlsec_event e;
        char *buf = malloc(PROTO_MSG_MAX);
        size_t len;

        (void)state;
        assert_non_null(buf);
        make_full_event(&e);
        e.kind = EVENT_AUDIT;
        memset(e.detail, '"', sizeof(e.detail) - 1);
        e.detail[sizeof(e.detail) - 1] = '\0';
        memset(e.rhost, '\\', sizeof(e.rhost) - 1);
        e.rhost[sizeof(e.rhost) - 1] = '\0';
        memset(e.action, '/', sizeof(e.action) - 1);
        e.action[sizeof(e.action) - 1] = '\0';
        memset(e.service, '"', sizeof(e.service) - 1);
        e.service[sizeof(e.service) - 1] = '\0';
        memset(e.tty, '"', sizeof(e.tty) - 1);
        e.tty[sizeof(e.tty) - 1] = '\0';
        memset(e.reason, '"', sizeof(e.reason) - 1);
        e.reason[sizeof(e.reason) - 1] = '\0';
        assert_int_equal(proto_event_encode(&e, buf, PROTO_MSG_MAX, &len), 0);
        assert_true(len < 3072);
        assert_true(len < SPOOL_RESERVE_SLOT_SIZE);
        free(buf);
}

static void test_tmp_files(void **state)
{
        struct fixture *f = *state;
        struct timespec old[2];
        struct seen s = {0};
        char stale[256], fresh[256];
        size_t bad = 99;

        assert_int_equal(mkdir(f->dir, 0700), 0);
        path_of(f, ".tmp-00000000000000000000000000000001-1234", stale, sizeof(stale));
        path_of(f, ".tmp-00000000000000000000000000000002-1235", fresh, sizeof(fresh));
        write_file(stale, "{\"half", 6);
        write_file(fresh, "{\"half", 6);
        (void)clock_gettime(CLOCK_REALTIME, &old[0]);
        old[0].tv_sec -= 120;
        old[1] = old[0];
        assert_int_equal(utimensat(AT_FDCWD, stale, old, 0), 0);

        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 0);
        assert_int_equal(s.n, 0);
        assert_int_equal(bad, 0);
        /* Left by a crash two minutes ago: removed. Being written right now: left alone. */
        assert_int_equal(access(stale, F_OK), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(access(fresh, F_OK), 0);
}

static void test_unsafe_dir_refused(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        struct seen s = {0};
        char link[256];
        size_t bad = 99;

        make_event(&e, T0);
        assert_int_equal(spool_write(f->dir, &e), 0);

        /* Readable by others. */
        assert_int_equal(chmod(f->dir, 0755), 0);
        assert_int_equal(spool_write(f->dir, &e), -EPERM);
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), -EPERM);
        assert_int_equal(spool_remove(f->dir, e.id), -EPERM);
        assert_int_equal(bad, 99);
        assert_int_equal(chmod(f->dir, 0700), 0);

        /* Someone else's (only root can give it away). */
        if (geteuid() == 0) {
                assert_int_equal(chown(f->dir, 4242, (gid_t)-1), 0);
                assert_int_equal(spool_write(f->dir, &e), -EPERM);
                assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), -EPERM);
                assert_int_equal(chown(f->dir, 0, (gid_t)-1), 0);
        }

        /* A symlink to a perfectly safe directory is still refused. */
        (void)snprintf(link, sizeof(link), "%s/link", f->root);
        assert_int_equal(symlink(f->dir, link), 0);
        assert_int_equal(spool_write(link, &e), -EPERM);
        assert_int_equal(spool_scan(link, 0, collect, NULL, &s, &bad), -EPERM);

        /* A regular file where the directory should be. */
        (void)snprintf(link, sizeof(link), "%s/file", f->root);
        write_file(link, "x", 1);
        assert_int_equal(spool_write(link, &e), -EPERM);
        assert_int_equal(s.n, 0);
}

static void test_write_needs_parent(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e;
        char deep[256];

        make_event(&e, T0);
        (void)snprintf(deep, sizeof(deep), "%s/missing/spool", f->root);
        assert_int_equal(spool_write(deep, &e), -ENOENT);
}

static void test_remove_idempotent(void **state)
{
        struct fixture *f = *state;
        struct mlsec_event e, keep;
        struct seen s = {0};
        char path[256];
        size_t bad;

        make_event(&e, T0);
        make_event(&keep, T0 + 1);
        assert_int_equal(spool_write(f->dir, &e), 0);
        assert_int_equal(spool_write(f->dir, &keep), 0);
        assert_int_equal(spool_remove(f->dir, e.id), 0);
        event_path(f, e.id, path, sizeof(path));
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(spool_remove(f->dir, e.id), 0);

        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), 1);
        assert_string_equal(s.events[0].id, keep.id);

        /* Only ids name files: nothing else can be removed through it. */
        assert_int_equal(spool_remove(f->dir, "../spool"), -EINVAL);
        assert_int_equal(spool_remove(f->dir, "0123456789abcdef0123456789ABCDEF"), -EINVAL);
        assert_int_equal(spool_remove(f->dir, "0123456789abcdef0123456789abcdef0"), -EINVAL);
        free(s.events);
}

static int cmp_ids(const void *a, const void *b)
{
        return strcmp(a, b);
}

static void test_many_exactly_once(void **state)
{
        struct fixture *f = *state;
        char(*written)[EVENT_ID_LEN + 1] = calloc(MANY, sizeof(*written));
        char(*got)[EVENT_ID_LEN + 1] = calloc(MANY, sizeof(*got));
        struct seen s = {0};
        size_t bad = 99;

        assert_non_null(written);
        assert_non_null(got);
        for (int i = 0; i < MANY; i++) {
                struct mlsec_event e;

                /* Times collide in groups of 7, so the id tie-break is exercised too. */
                make_event(&e, T0 + (MANY - i) / 7);
                memcpy(written[i], e.id, sizeof(e.id));
                assert_int_equal(spool_write(f->dir, &e), 0);
        }
        assert_int_equal(spool_scan(f->dir, 0, collect, NULL, &s, &bad), MANY);
        assert_int_equal(bad, 0);
        assert_int_equal(s.n, MANY);
        for (size_t i = 0; i < s.n; i++) {
                memcpy(got[i], s.events[i].id, sizeof(got[i]));
                if (i > 0)
                        assert_true(s.events[i - 1].time_us < s.events[i].time_us ||
                                    (s.events[i - 1].time_us == s.events[i].time_us &&
                                     strcmp(s.events[i - 1].id, s.events[i].id) < 0));
        }
        qsort(written, MANY, sizeof(*written), cmp_ids);
        qsort(got, MANY, sizeof(*got), cmp_ids);
        for (int i = 0; i < MANY; i++) {
                assert_string_equal(written[i], got[i]);
                if (i > 0)
                        assert_string_not_equal(got[i - 1], got[i]);
        }
        free(written);
        free(got);
        free(s.events);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_write_creates_private_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_refuses_invalid_event, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scan_returns_all_fields, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scan_missing_dir_is_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scan_oldest_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scan_max, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scan_stops_when_fn_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_file_moved_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_id_mismatch_is_bad, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized_and_foreign_files_are_bad, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsafe_files_refused_with_reason, setup, teardown),
                cmocka_unit_test_setup_teardown(test_full_spool_keeps_audit_and_counts_loss, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reserve_unsafe_slot_replaced, setup, teardown),
                cmocka_unit_test(test_largest_event_fits_a_slot),
                cmocka_unit_test_setup_teardown(test_tmp_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsafe_dir_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_needs_parent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_idempotent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_many_exactly_once, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
