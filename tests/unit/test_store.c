/* SPDX-License-Identifier: MIT */
/* Unit tests of common/store.c against real SQLite files in a private directory under
 * /tmp: file and directory checks, migrations, every query, transactions across two
 * processes. It never touches the system state directory and never includes <sqlite3.h>:
 * it checks the file format by reading the database header itself. */

#define _GNU_SOURCE /* nftw, memmem */

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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

struct fixture {
        char root[64];   /* mkdtemp'd, removed at teardown */
        char state[128]; /* root/state: the state directory under test (not created) */
        char db[192];    /* state/credentials.db */
        mode_t umask;
};

static const uint8_t sealed_a[] = "sealed-secret-of-device-a-0123456789abcdef-0123456789";
static const uint8_t sealed_b[] = "sealed-secret-of-device-b";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        strcpy(f->root, "/tmp/mlsec-test-store-XXXXXX");
        if (!mkdtemp(f->root)) {
                free(f);
                return -1;
        }
        snprintf(f->state, sizeof(f->state), "%s/state", f->root);
        snprintf(f->db, sizeof(f->db), "%s/%s", f->state, STORE_DB_NAME);
        f->umask = umask(022);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r = nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);

        umask(f->umask);
        free(f);
        return r;
}

static struct store *open_ok(const char *dir, bool create)
{
        struct store *s = NULL;

        assert_int_equal(store_open(dir, create, &s), 0);
        assert_non_null(s);
        return s;
}

static mode_t mode_of(const char *path)
{
        struct stat st;

        assert_int_equal(lstat(path, &st), 0);
        return st.st_mode & 07777;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

/* A big-endian 32-bit field of the database header (valid once every handle is closed:
 * the last close checkpoints the WAL into the main file). */
static uint32_t header_u32(const char *path, off_t offset)
{
        uint8_t b[4];
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(pread(fd, b, sizeof(b), offset), (ssize_t)sizeof(b));
        close(fd);
        return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void header_set_u32(const char *path, off_t offset, uint32_t v)
{
        uint8_t b[4] = {v >> 24, v >> 16, v >> 8, v};
        int fd = open(path, O_WRONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, b, sizeof(b), offset), (ssize_t)sizeof(b));
        close(fd);
}

#define HEADER_USER_VERSION 60

static bool file_contains(const char *path, const void *needle, size_t len)
{
        static char buf[1 << 20];
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf));
        close(fd);
        return n > 0 && memmem(buf, (size_t)n, needle, len) != NULL;
}

static void add_device(struct store *s, const char *user, const char *name, const uint8_t *sealed, size_t len,
                       int64_t now)
{
        assert_int_equal(store_add_device(s, user, name, TOTP_SHA1, 6, sealed, len, now), 0);
}

static size_t count_devices(struct store *s, const char *user)
{
        struct store_device *d = NULL;
        size_t n = 99;

        assert_int_equal(store_list_devices(s, user, &d, &n), 0);
        d = store_devices_free(d, n);
        return n;
}

static size_t count_codes(struct store *s, const char *user)
{
        struct store_backup *b = NULL;
        size_t n = 99;

        assert_int_equal(store_list_backup_codes(s, user, &b, &n), 0);
        free(b);
        return n;
}

static unsigned count_failures(struct store *s, const char *user, const char *source, int64_t since)
{
        unsigned n = 99;

        assert_int_equal(store_count_failures(s, user, source, since, &n), 0);
        return n;
}

static unsigned count_remote(struct store *s, const char *user, int64_t since)
{
        unsigned n = 99;

        assert_int_equal(store_count_class_failures(s, user, SOURCE_REMOTE, since, &n), 0);
        return n;
}

static double now_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- opening and files ---------------------------------------------------------- */

static void test_create_and_reopen(void **state)
{
        struct fixture *f = *state;
        struct store *s;

        umask(0); /* modes must not depend on the caller's umask */
        s = open_ok(f->state, true);
        assert_int_equal(mode_of(f->state), 0700);
        assert_int_equal(mode_of(f->db), 0600);
        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 1000);
        s = store_close(s);
        assert_null(s);

        s = open_ok(f->state, false);
        assert_int_equal(count_devices(s, "alice"), 1);
        s = store_close(s);
}

static void test_wal_and_shm_are_private(void **state)
{
        struct fixture *f = *state;
        char wal[256], shm[256];
        struct store *s;

        umask(0); /* SQLite's default would be 0644 here */
        s = open_ok(f->state, true);
        assert_int_equal(store_add_failure(s, "alice", "tty1", false, 1), 0);
        snprintf(wal, sizeof(wal), "%s-wal", f->db);
        snprintf(shm, sizeof(shm), "%s-shm", f->db);
        assert_int_equal(mode_of(wal), 0600);
        assert_int_equal(mode_of(shm), 0600);
        s = store_close(s);
}

static void test_dir_permissions(void **state)
{
        struct fixture *f = *state;
        char link[256], orphan[256];
        struct store *s = NULL;

        assert_int_equal(mkdir(f->state, 0755), 0);
        s = open_ok(f->state, true); /* 0755: nobody else can write, accepted */
        s = store_close(s);

        assert_int_equal(chmod(f->state, 0777), 0);
        assert_int_equal(store_open(f->state, false, &s), -EPERM);
        assert_int_equal(store_open(f->state, true, &s), -EPERM);
        assert_int_equal(chmod(f->state, 0775), 0);
        assert_int_equal(store_open(f->state, false, &s), -EPERM);
        assert_null(s);
        assert_int_equal(chmod(f->state, 0700), 0);

        /* A symlinked state directory is refused, even pointing at a good one. */
        snprintf(link, sizeof(link), "%s/link", f->root);
        assert_int_equal(symlink(f->state, link), 0);
        assert_int_equal(store_open(link, false, &s), -EPERM);

        /* Only the last component is created. */
        snprintf(orphan, sizeof(orphan), "%s/missing/state", f->root);
        assert_int_equal(store_open(orphan, true, &s), -ENOENT);
        assert_null(s);

        if (geteuid() == 0) {
                assert_int_equal(chown(f->state, 12345, 0), 0);
                assert_int_equal(store_open(f->state, false, &s), -EPERM);
                assert_int_equal(chown(f->state, 0, 0), 0);
        }
        s = open_ok(f->state, false);
        s = store_close(s);
}

static void test_db_permissions(void **state)
{
        struct fixture *f = *state;
        char other[128], other_db[256];
        struct store *s = NULL;

        s = open_ok(f->state, true);
        s = store_close(s);

        assert_int_equal(chmod(f->db, 0644), 0);
        assert_int_equal(store_open(f->state, false, &s), -EPERM);
        assert_int_equal(store_open(f->state, true, &s), -EPERM);
        assert_int_equal(mode_of(f->db), 0644); /* refused, not silently "fixed" */
        assert_int_equal(chmod(f->db, 0640), 0);
        assert_int_equal(store_open(f->state, false, &s), -EPERM);
        assert_int_equal(chmod(f->db, 0600), 0);

        if (geteuid() == 0) {
                assert_int_equal(chown(f->db, 12345, 0), 0);
                assert_int_equal(store_open(f->state, false, &s), -EPERM);
                assert_int_equal(chown(f->db, 0, 0), 0);
        }
        s = open_ok(f->state, false);
        s = store_close(s);

        /* credentials.db as a symlink to a perfectly good database. */
        snprintf(other, sizeof(other), "%s/other", f->root);
        s = open_ok(other, true);
        s = store_close(s);
        snprintf(other_db, sizeof(other_db), "%s/%s", other, STORE_DB_NAME);
        assert_int_equal(unlink(f->db), 0);
        assert_int_equal(symlink(other_db, f->db), 0);
        assert_int_equal(store_open(f->state, false, &s), -EPERM);
        assert_int_equal(store_open(f->state, true, &s), -EPERM);

        /* Not a regular file. */
        assert_int_equal(unlink(f->db), 0);
        assert_int_equal(mkdir(f->db, 0700), 0);
        assert_int_equal(store_open(f->state, false, &s), -EPERM);
        assert_null(s);
}

static void test_missing(void **state)
{
        struct fixture *f = *state;
        struct store *s = NULL;

        assert_int_equal(store_open(f->state, false, &s), -ENOENT); /* no directory */
        assert_int_equal(mkdir(f->state, 0700), 0);
        assert_int_equal(store_open(f->state, false, &s), -ENOENT); /* no file */
        assert_null(s);
        assert_int_equal(access(f->db, F_OK), -1); /* and none was created */
        assert_int_equal(store_open(NULL, true, &s), -EINVAL);
        assert_int_equal(store_open("", true, &s), -EINVAL);
}

static void test_garbage_file(void **state)
{
        struct fixture *f = *state;
        char garbage[8192];
        struct store *s = NULL;

        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = "this is not a database\n"[i % 23];
        assert_int_equal(mkdir(f->state, 0700), 0);
        write_file(f->db, garbage, sizeof(garbage), 0600);
        assert_int_equal(store_open(f->state, false, &s), -EBADMSG);
        assert_int_equal(store_open(f->state, true, &s), -EBADMSG);
        assert_null(s);
        assert_true(file_contains(f->db, garbage, sizeof(garbage))); /* left alone */
}

static void test_newer_schema_refused(void **state)
{
        struct fixture *f = *state;
        struct store *s = NULL;

        s = open_ok(f->state, true);
        assert_int_equal(store_checkpoint(s), 0);
        s = store_close(s);
        assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), STORE_SCHEMA_VERSION);
        header_set_u32(f->db, HEADER_USER_VERSION, 99);

        assert_int_equal(store_open(f->state, false, &s), -EBADMSG);
        assert_int_equal(store_open(f->state, true, &s), -EBADMSG);
        assert_null(s);
        assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), 99); /* never downgraded */
}

/* ---- migrations ------------------------------------------------------------------ */

static void use_every_table(struct store *s)
{
        static const uint8_t hashes[1][SEAL_HASH_BYTES] = {{1}};
        struct store_lockout l;

        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 10);
        assert_int_equal(store_replace_backup_codes(s, "alice", hashes, 1, 10), 0);
        assert_int_equal(store_add_failure(s, "alice", "10.0.0.1", true, 10), 0);
        assert_int_equal(store_set_lockout(s, "alice", "10.0.0.1", 10, 20), 0);
        assert_int_equal(count_devices(s, "alice"), 1);
        assert_int_equal(count_codes(s, "alice"), 1);
        assert_int_equal(count_remote(s, "alice", 0), 1);
        assert_int_equal(store_get_lockout(s, "alice", "10.0.0.1", &l), 0);
}

static void test_migrate_empty_v0(void **state)
{
        struct fixture *f = *state;
        char magic[16];
        struct store *s;
        int fd;

        /* An empty file is a valid SQLite database at user_version 0. */
        assert_int_equal(mkdir(f->state, 0700), 0);
        write_file(f->db, "", 0, 0600);
        s = open_ok(f->state, false);
        use_every_table(s);
        assert_int_equal(store_checkpoint(s), 0);
        s = store_close(s);

        fd = open(f->db, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, magic, sizeof(magic)), (ssize_t)sizeof(magic));
        close(fd);
        assert_memory_equal(magic, "SQLite format 3", 16);
        assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), STORE_SCHEMA_VERSION);
        /* Bytes 18 and 19 are 2 in WAL mode, which persists in the file. */
        assert_int_equal(header_u32(f->db, 16) & 0xffff, 0x0202);
}

static void test_reopen_keeps_version_and_data(void **state)
{
        struct fixture *f = *state;
        struct store_device *d = NULL;
        struct store *s;
        size_t n = 0;

        s = open_ok(f->state, true);
        use_every_table(s);
        s = store_close(s);
        /* Reopening must not re-run a migration (CREATE TABLE would fail) nor lose data. */
        for (int i = 0; i < 2; i++) {
                s = open_ok(f->state, i == 0);
                assert_int_equal(store_list_devices(s, "alice", &d, &n), 0);
                assert_int_equal(n, 1);
                assert_string_equal(d[0].name, "phone");
                assert_int_equal(d[0].sealed_len, sizeof(sealed_a));
                assert_memory_equal(d[0].sealed, sealed_a, sizeof(sealed_a));
                d = store_devices_free(d, n);
                assert_int_equal(count_codes(s, "alice"), 1);
                assert_int_equal(count_remote(s, "alice", 0), 1);
                assert_int_equal(store_checkpoint(s), 0);
                s = store_close(s);
                assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), STORE_SCHEMA_VERSION);
        }
}

/* A database written by schema 1 (as an mlsec of issue #2 left it, made here with the
 * sqlite3 command-line tool) is migrated to the current schema on open, its data kept. */
static void test_migrate_v1_keeps_data(void **state)
{
        static const char v1[] =
                "PRAGMA journal_mode = WAL;"
                "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);"
                "CREATE TABLE devices(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON "
                "DELETE CASCADE, name TEXT NOT NULL, algorithm TEXT NOT NULL CHECK(algorithm IN ('sha1', "
                "'sha256', 'sha512')), digits INTEGER NOT NULL CHECK(digits IN (6, 8)), period INTEGER NOT NULL "
                "DEFAULT 30, secret BLOB NOT NULL, created INTEGER NOT NULL, last_step INTEGER NOT NULL DEFAULT "
                "-1, last_used INTEGER NOT NULL DEFAULT 0, UNIQUE(user_id, name));"
                "CREATE TABLE backup_codes(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) "
                "ON DELETE CASCADE, hash BLOB NOT NULL, created INTEGER NOT NULL, used_at INTEGER);"
                "CREATE INDEX backup_codes_user ON backup_codes(user_id);"
                "CREATE TABLE failures(id INTEGER PRIMARY KEY, user TEXT NOT NULL, source TEXT NOT NULL, remote "
                "INTEGER NOT NULL, at INTEGER NOT NULL);"
                "CREATE INDEX failures_source ON failures(user, source, at);"
                "CREATE INDEX failures_remote ON failures(user, remote, at);"
                "CREATE TABLE lockouts(user TEXT NOT NULL, source TEXT NOT NULL, locked_at INTEGER NOT NULL, "
                "until INTEGER NOT NULL, PRIMARY KEY(user, source));"
                "PRAGMA user_version = 1;"
                "INSERT INTO users(name, created) VALUES('alice', 1);"
                "INSERT INTO devices(user_id, name, algorithm, digits, secret, created) VALUES(1, 'phone', "
                "'sha1', 6, x'0102', 1);";
        struct fixture *f = *state;
        char cmd[512], (*h)[STORE_PWHASH_MAX] = NULL;
        struct store *s;
        size_t n = 9;
        FILE *p;

        if (system("command -v sqlite3 >/dev/null") != 0)
                skip();
        assert_int_equal(mkdir(f->state, 0700), 0);
        snprintf(cmd, sizeof(cmd), "umask 077; sqlite3 '%s' >/dev/null", f->db);
        p = popen(cmd, "w");
        assert_non_null(p);
        assert_int_equal(fputs(v1, p) >= 0, 1);
        assert_int_equal(pclose(p), 0);
        assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), 1);

        s = open_ok(f->state, false);
        assert_int_equal(count_devices(s, "alice"), 1);
        assert_int_equal(store_add_password(s, "alice", "$argon2id$x", 5, 2), 0);
        assert_int_equal(store_list_passwords(s, "alice", 5, &h, &n), 0);
        assert_int_equal(n, 1);
        free(h);
        assert_int_equal(store_add_notice(s, "alice", "hello", 2), 0);
        s = store_close(s);
        assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), STORE_SCHEMA_VERSION);
}

/* A database written by schema 2 (issue #4's mlsec: password history and notices) is
 * migrated to schema 4 on open, every row of every table kept (sources canonical), the new grace table
 * works. */
static void test_migrate_v2_keeps_every_row(void **state)
{
        static const char v2[] =
                "PRAGMA journal_mode = WAL;"
                "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);"
                "CREATE TABLE devices(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON "
                "DELETE CASCADE, name TEXT NOT NULL, algorithm TEXT NOT NULL CHECK(algorithm IN ('sha1', "
                "'sha256', 'sha512')), digits INTEGER NOT NULL CHECK(digits IN (6, 8)), period INTEGER NOT NULL "
                "DEFAULT 30, secret BLOB NOT NULL, created INTEGER NOT NULL, last_step INTEGER NOT NULL DEFAULT "
                "-1, last_used INTEGER NOT NULL DEFAULT 0, UNIQUE(user_id, name));"
                "CREATE TABLE backup_codes(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) "
                "ON DELETE CASCADE, hash BLOB NOT NULL, created INTEGER NOT NULL, used_at INTEGER);"
                "CREATE INDEX backup_codes_user ON backup_codes(user_id);"
                "CREATE TABLE failures(id INTEGER PRIMARY KEY, user TEXT NOT NULL, source TEXT NOT NULL, remote "
                "INTEGER NOT NULL, at INTEGER NOT NULL);"
                "CREATE INDEX failures_source ON failures(user, source, at);"
                "CREATE INDEX failures_remote ON failures(user, remote, at);"
                "CREATE TABLE lockouts(user TEXT NOT NULL, source TEXT NOT NULL, locked_at INTEGER NOT NULL, "
                "until INTEGER NOT NULL, PRIMARY KEY(user, source));"
                "PRAGMA user_version = 1;"
                "CREATE TABLE password_history(id INTEGER PRIMARY KEY, user TEXT NOT NULL, hash TEXT NOT NULL, "
                "created INTEGER NOT NULL);"
                "CREATE INDEX password_history_user ON password_history(user, id);"
                "CREATE TABLE notices(id INTEGER PRIMARY KEY, user TEXT NOT NULL, text TEXT NOT NULL, created "
                "INTEGER NOT NULL);"
                "CREATE INDEX notices_user ON notices(user, id);"
                "PRAGMA user_version = 2;"
                "INSERT INTO users(name, created) VALUES('alice', 1);"
                "INSERT INTO users(name, created) VALUES('bob', 1);"
                "INSERT INTO devices(user_id, name, algorithm, digits, secret, created, last_step) VALUES(1, "
                "'phone', 'sha256', 8, x'0102', 1, 77);"
                "INSERT INTO devices(user_id, name, algorithm, digits, secret, created) VALUES(2, 'key', 'sha1', "
                "6, x'03', 1);"
                "INSERT INTO backup_codes(user_id, hash, created) VALUES(1, zeroblob(32), 1);"
                "INSERT INTO backup_codes(user_id, hash, created, used_at) VALUES(1, zeroblob(32), 1, 5);"
                "INSERT INTO failures(user, source, remote, at) VALUES('alice', '10.0.0.1', 1, 100);"
                "INSERT INTO failures(user, source, remote, at) VALUES('bob', 'tty:tty1', 0, 100);"
                "INSERT INTO failures(user, source, remote, at) VALUES('alice', '::ffff:10.0.0.1', 1, 101);"
                "INSERT INTO failures(user, source, remote, at) VALUES('bob', 'tty:pts/3', 0, 100);"
                "INSERT INTO lockouts(user, source, locked_at, until) VALUES('alice', '10.0.0.1', 100, "
                "4000000000);"
                "INSERT INTO lockouts(user, source, locked_at, until) VALUES('alice', '[::FFFF:10.0.0.1]:22', 150, "
                "3000000000);"
                "INSERT INTO lockouts(user, source, locked_at, until) VALUES('bob', 'Gw.Example.ORG.', 150, "
                "3000000000);"
                "INSERT INTO lockouts(user, source, locked_at, until) VALUES('bob', 'tty:pts/3', 150, 3000000000);"
                "INSERT INTO password_history(user, hash, created) VALUES('alice', '$argon2id$old', 1);"
                "INSERT INTO notices(user, text, created) VALUES('bob', 'your MFA was reset', 1);";
        struct fixture *f = *state;
        char cmd[512], (*h)[STORE_PWHASH_MAX] = NULL, (*notes)[STORE_NOTICE_MAX] = NULL;
        struct store_device *d = NULL;
        struct store_lockout l;
        struct store *s;
        int64_t started = 0;
        size_t n = 9;
        FILE *p;

        if (system("command -v sqlite3 >/dev/null") != 0)
                skip();
        assert_int_equal(mkdir(f->state, 0700), 0);
        snprintf(cmd, sizeof(cmd), "umask 077; sqlite3 '%s' >/dev/null", f->db);
        p = popen(cmd, "w");
        assert_non_null(p);
        assert_int_equal(fputs(v2, p) >= 0, 1);
        assert_int_equal(pclose(p), 0);
        assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), 2);

        s = open_ok(f->state, false);
        assert_int_equal(store_list_devices(s, "alice", &d, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(d[0].name, "phone");
        assert_int_equal(d[0].alg, TOTP_SHA256);
        assert_int_equal(d[0].digits, 8);
        assert_int_equal(d[0].last_step, 77);
        d = store_devices_free(d, n);
        assert_int_equal(count_devices(s, "bob"), 1);
        assert_int_equal(count_codes(s, "alice"), 1); /* the unused one */
        /* schema 4: one address is one source, lockouts merged keeping the later start and end */
        assert_int_equal(count_remote(s, "alice", 0), 2);
        assert_int_equal(count_failures(s, "alice", "10.0.0.1", 0), 2);
        assert_int_equal(count_failures(s, "bob", "tty:tty1", 0), 1);
        assert_int_equal(store_get_lockout(s, "alice", "10.0.0.1", &l), 0);
        assert_int_equal(l.until, 4000000000);
        assert_int_equal(l.locked_at, 150);
        assert_int_equal(store_get_lockout(s, "alice", "[::FFFF:10.0.0.1]:22", &l), -ENOENT);
        assert_int_equal(store_get_lockout(s, "bob", "gw.example.org", &l), 0);
        assert_int_equal(store_get_lockout(s, "bob", "tty:pts/3", &l), 0);
        /* the console's failure is in the console class now, the terminal's stays local */
        {
                unsigned c = 9;
                assert_int_equal(store_count_class_failures(s, "bob", SOURCE_CONSOLE, 0, &c), 0);
                assert_int_equal(c, 1);
                assert_int_equal(store_count_class_failures(s, "bob", SOURCE_LOCAL, 0, &c), 0);
                assert_int_equal(c, 1);
        }
        assert_int_equal(store_list_passwords(s, "alice", 5, &h, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(h[0], "$argon2id$old");
        free(h);
        assert_int_equal(store_take_notices(s, "bob", &notes, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(notes[0], "your MFA was reset");
        free(notes);
        /* the new table exists and starts empty */
        assert_int_equal(store_get_grace(s, "alice", &started), -ENOENT);
        assert_int_equal(store_grace_start(s, "alice", 1000, &started), 0);
        assert_int_equal(started, 1000);
        assert_int_equal(store_checkpoint(s), 0);
        s = store_close(s);
        assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), STORE_SCHEMA_VERSION);
        assert_int_equal(STORE_SCHEMA_VERSION, 5);
}

/* The grace start is recorded once: later starts give back the first; it is per user and
 * survives a reopen; clearing it lets the next start record a new one. */
static void test_grace(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        int64_t started = 0;
        unsigned removed = 0;

        assert_int_equal(store_get_grace(s, "alice", &started), -ENOENT);
        assert_int_equal(started, 0); /* untouched */
        assert_int_equal(store_grace_start(s, "alice", 1000, &started), 0);
        assert_int_equal(started, 1000);
        assert_int_equal(store_grace_start(s, "alice", 5000, &started), 0);
        assert_int_equal(started, 1000); /* the first start stays */
        assert_int_equal(store_grace_start(s, "bob", 2000, &started), 0);
        assert_int_equal(started, 2000);
        s = store_close(s);

        s = open_ok(f->state, false);
        assert_int_equal(store_get_grace(s, "alice", &started), 0);
        assert_int_equal(started, 1000);
        /* removing a user's MFA does not touch the grace start (it does not restart) */
        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 10);
        assert_int_equal(store_remove_user_mfa(s, "alice", &removed), 0);
        assert_int_equal(store_get_grace(s, "alice", &started), 0);
        assert_int_equal(started, 1000);
        /* inside a caller's transaction, rolled back with it */
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_clear_grace(s, "alice"), 0);
        assert_int_equal(store_get_grace(s, "alice", &started), -ENOENT);
        assert_int_equal(store_rollback(s), 0);
        assert_int_equal(store_get_grace(s, "alice", &started), 0);
        assert_int_equal(store_clear_grace(s, "alice"), 0);
        assert_int_equal(store_clear_grace(s, "alice"), 0); /* nothing left: not an error */
        assert_int_equal(store_get_grace(s, "alice", &started), -ENOENT);
        assert_int_equal(store_grace_start(s, "alice", 9000, &started), 0);
        assert_int_equal(started, 9000);
        assert_int_equal(store_get_grace(s, "bob", &started), 0);
        assert_int_equal(started, 2000);

        assert_int_equal(store_grace_start(s, "", 1, &started), -EINVAL);
        assert_int_equal(store_grace_start(NULL, "alice", 1, &started), -EINVAL);
        assert_int_equal(store_get_grace(s, NULL, &started), -EINVAL);
        assert_int_equal(store_clear_grace(s, ""), -EINVAL);
        s = store_close(s);
}

/* Several processes create and migrate the same fresh database at once: exactly one
 * migrates, none fails. */
static void test_concurrent_create(void **state)
{
        struct fixture *f = *state;
        enum { N = 6 };
        pid_t pids[N];
        int go[2];
        struct store *s;

        assert_int_equal(pipe(go), 0);
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        struct store *c = NULL;
                        char b;
                        int r;

                        close(go[1]);
                        if (read(go[0], &b, 1) < 0) /* returns 0 when the parent closes */
                                _exit(99);
                        r = store_open(f->state, true, &c);
                        if (r == 0)
                                r = store_add_failure(c, "alice", "tty1", false, 1);
                        c = store_close(c);
                        _exit(r == 0 ? 0 : 100 + (-r & 0x7f));
                }
        }
        close(go[0]);
        close(go[1]);
        for (int i = 0; i < N; i++) {
                int status = 0;

                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        s = open_ok(f->state, false);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), N);
        assert_int_equal(store_checkpoint(s), 0);
        s = store_close(s);
        assert_int_equal(header_u32(f->db, HEADER_USER_VERSION), STORE_SCHEMA_VERSION);
}

/* ---- devices --------------------------------------------------------------------- */

static void test_devices(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        struct store_device *d = NULL;
        size_t n = 99;

        assert_int_equal(store_list_devices(s, "alice", &d, &n), 0);
        assert_null(d);
        assert_int_equal(n, 0);

        assert_int_equal(store_add_device(s, "alice", "phone", TOTP_SHA256, 8, sealed_a, sizeof(sealed_a), 100), 0);
        assert_int_equal(store_add_device(s, "alice", "phone", TOTP_SHA1, 6, sealed_b, sizeof(sealed_b), 101), -EEXIST);
        assert_int_equal(store_add_device(s, "alice", "tablet", TOTP_SHA512, 6, sealed_b, sizeof(sealed_b), 102), 0);
        assert_int_equal(store_add_device(s, "bob", "phone", TOTP_SHA1, 6, sealed_b, sizeof(sealed_b), 103), 0);
        assert_int_equal(store_add_device(s, "alice", "bad", TOTP_SHA1, 7, sealed_b, sizeof(sealed_b), 1), -EINVAL);
        assert_int_equal(store_add_device(s, "alice", "", TOTP_SHA1, 6, sealed_b, sizeof(sealed_b), 1), -EINVAL);
        assert_int_equal(store_add_device(s, "alice", "x", TOTP_SHA1, 6, NULL, 0, 1), -EINVAL);

        assert_int_equal(store_list_devices(s, "alice", &d, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(d[0].name, "phone");
        assert_int_equal(d[0].alg, TOTP_SHA256);
        assert_int_equal(d[0].digits, 8);
        assert_int_equal(d[0].sealed_len, sizeof(sealed_a));
        assert_memory_equal(d[0].sealed, sealed_a, sizeof(sealed_a));
        assert_int_equal(d[0].created, 100);
        assert_int_equal(d[0].last_step, -1);
        assert_int_equal(d[0].last_used, 0);
        assert_string_equal(d[1].name, "tablet");
        assert_int_equal(d[1].alg, TOTP_SHA512);
        assert_int_equal(d[1].digits, 6);

        /* The accepted step only moves forward; last_used records the latest use. */
        assert_int_equal(store_device_accepted(s, d[0].id, 50000, 200), 0);
        assert_int_equal(store_device_accepted(s, d[0].id, 49999, 210), 0);
        assert_int_equal(store_device_accepted(s, 987654, 1, 1), -ENOENT);
        d = store_devices_free(d, n);
        assert_int_equal(store_list_devices(s, "alice", &d, &n), 0);
        assert_int_equal(d[0].last_step, 50000);
        assert_int_equal(d[0].last_used, 210);
        assert_int_equal(d[1].last_step, -1); /* the other device is untouched */
        assert_int_equal(store_device_accepted(s, d[0].id, 50001, 220), 0);
        d = store_devices_free(d, n);
        assert_int_equal(store_list_devices(s, "alice", &d, &n), 0);
        assert_int_equal(d[0].last_step, 50001);
        d = store_devices_free(d, n);

        assert_int_equal(count_devices(s, "bob"), 1);
        assert_null(store_devices_free(NULL, 3));
        s = store_close(s);
        assert_null(store_close(NULL));
}

static void test_remove_user_mfa(void **state)
{
        struct fixture *f = *state;
        static const uint8_t hashes[2][SEAL_HASH_BYTES] = {{1}, {2}};
        struct store *s = open_ok(f->state, true);
        unsigned removed = 99;

        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 1);
        add_device(s, "alice", "tablet", sealed_b, sizeof(sealed_b), 1);
        add_device(s, "bob", "phone", sealed_b, sizeof(sealed_b), 1);
        assert_int_equal(store_replace_backup_codes(s, "alice", hashes, 2, 1), 0);
        assert_int_equal(store_replace_backup_codes(s, "bob", hashes, 2, 1), 0);

        assert_int_equal(store_remove_user_mfa(s, "alice", &removed), 0);
        assert_int_equal(removed, 2);
        assert_int_equal(count_devices(s, "alice"), 0);
        assert_int_equal(count_codes(s, "alice"), 0);
        assert_int_equal(count_devices(s, "bob"), 1);
        assert_int_equal(count_codes(s, "bob"), 2);
        assert_int_equal(store_remove_user_mfa(s, "alice", &removed), 0);
        assert_int_equal(removed, 0);
        assert_int_equal(store_remove_user_mfa(s, "carol", &removed), 0);
        assert_int_equal(removed, 0);

        /* Enrolling again after removal works (the name is free again). */
        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 2);
        assert_int_equal(count_devices(s, "alice"), 1);
        s = store_close(s);
}

static void test_remove_device_by_name(void **state)
{
        struct fixture *f = *state;
        static const uint8_t hashes[1][SEAL_HASH_BYTES] = {{1}};
        struct store *s = open_ok(f->state, true);

        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 1);
        add_device(s, "alice", "tablet", sealed_b, sizeof(sealed_b), 1);
        add_device(s, "bob", "phone", sealed_b, sizeof(sealed_b), 1);
        assert_int_equal(store_replace_backup_codes(s, "alice", hashes, 1, 1), 0);
        assert_int_equal(store_remove_device(s, "alice", "phone"), 0);
        assert_int_equal(count_devices(s, "alice"), 1);
        assert_int_equal(count_devices(s, "bob"), 1);
        assert_int_equal(count_codes(s, "alice"), 1); /* the caller decides about codes */
        assert_int_equal(store_remove_device(s, "alice", "phone"), -ENOENT);
        assert_int_equal(store_remove_device(s, "carol", "phone"), -ENOENT);
        assert_int_equal(store_remove_device(s, "alice", ""), -EINVAL);
        s = store_close(s);
}

static void test_list_users(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        char(*u)[STORE_USER_MAX] = NULL;
        size_t n = 99;

        assert_int_equal(store_list_users(s, &u, &n), 0);
        assert_int_equal(n, 0);
        free(u);
        add_device(s, "carol", "phone", sealed_a, sizeof(sealed_a), 1);
        add_device(s, "alice", "phone", sealed_b, sizeof(sealed_b), 1);
        assert_int_equal(store_set_lockout(s, "bob", "10.0.0.1", 10, 20), 0); /* never enrolled, locked */
        assert_int_equal(store_set_lockout(s, "alice", "10.0.0.2", 10, 20), 0);
        assert_int_equal(store_list_users(s, &u, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(u[0], "alice");
        assert_string_equal(u[1], "bob");
        assert_string_equal(u[2], "carol");
        free(u);
        s = store_close(s);
}

static void test_password_history(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        char(*h)[STORE_PWHASH_MAX] = NULL;
        char hash[32];
        size_t n = 99;

        assert_int_equal(store_list_passwords(s, "alice", 5, &h, &n), 0);
        assert_int_equal(n, 0);
        free(h);
        for (int i = 1; i <= 7; i++) {
                snprintf(hash, sizeof(hash), "$argon2id$fake%d", i);
                assert_int_equal(store_add_password(s, "alice", hash, 5, i), 0);
        }
        assert_int_equal(store_add_password(s, "bob", "$argon2id$bob", 5, 1), 0);
        /* only the newest 5 are kept, newest first */
        assert_int_equal(store_list_passwords(s, "alice", 50, &h, &n), 0);
        assert_int_equal(n, 5);
        assert_string_equal(h[0], "$argon2id$fake7");
        assert_string_equal(h[4], "$argon2id$fake3");
        free(h);
        assert_int_equal(store_list_passwords(s, "alice", 2, &h, &n), 0);
        assert_int_equal(n, 2);
        free(h);
        /* keep shrinks on the next add */
        assert_int_equal(store_add_password(s, "alice", "$argon2id$fake8", 2, 8), 0);
        assert_int_equal(store_list_passwords(s, "alice", 50, &h, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(h[1], "$argon2id$fake7");
        free(h);
        assert_int_equal(store_list_passwords(s, "bob", 50, &h, &n), 0);
        assert_int_equal(n, 1);
        free(h);
        assert_int_equal(store_add_password(s, "alice", "", 5, 1), -EINVAL);
        assert_int_equal(store_add_password(s, "alice", "x", 0, 1), -EINVAL);
        s = store_close(s);
}

static void test_notices(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        char(*t)[STORE_NOTICE_MAX] = NULL;
        size_t n = 99;

        assert_int_equal(store_add_notice(s, "alice", "first", 1), 0);
        assert_int_equal(store_add_notice(s, "alice", "second", 2), 0);
        assert_int_equal(store_add_notice(s, "bob", "for bob", 2), 0);
        assert_int_equal(store_take_notices(s, "alice", &t, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(t[0], "first");
        assert_string_equal(t[1], "second");
        free(t);
        /* taken once */
        assert_int_equal(store_take_notices(s, "alice", &t, &n), 0);
        assert_int_equal(n, 0);
        free(t);
        assert_int_equal(store_take_notices(s, "bob", &t, &n), 0);
        assert_int_equal(n, 1);
        free(t);
        assert_int_equal(store_add_notice(s, "alice", "", 1), -EINVAL);
        s = store_close(s);
}

/* Removed secrets are overwritten in the file, not only unlinked from the b-tree. */
static void test_secure_delete(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        unsigned removed = 0;

        add_device(s, "bob", "phone", sealed_b, sizeof(sealed_b), 1); /* keeps the page in use */
        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 1);
        add_device(s, "zoe", "phone", sealed_b, sizeof(sealed_b), 1);
        assert_int_equal(store_checkpoint(s), 0);
        s = store_close(s); /* after the checkpoint the blob is in the main file */
        assert_true(file_contains(f->db, sealed_a, sizeof(sealed_a) - 1));

        s = open_ok(f->state, false);
        assert_int_equal(store_remove_user_mfa(s, "alice", &removed), 0);
        assert_int_equal(removed, 1);
        assert_int_equal(store_checkpoint(s), 0);
        s = store_close(s);
        assert_false(file_contains(f->db, sealed_a, sizeof(sealed_a) - 1));
        {
                char wal[4096];
                snprintf(wal, sizeof(wal), "%s-wal", f->db);
                assert_false(file_contains(wal, sealed_a, sizeof(sealed_a) - 1));
        }
        s = open_ok(f->state, false);
        assert_int_equal(count_devices(s, "bob"), 1);
        assert_int_equal(count_devices(s, "zoe"), 1);
        s = store_close(s);
}

/* ---- backup codes ---------------------------------------------------------------- */

static void test_backup_codes(void **state)
{
        struct fixture *f = *state;
        uint8_t hashes[3][SEAL_HASH_BYTES];
        struct store *s = open_ok(f->state, true);
        struct store_backup *b = NULL;
        size_t n = 99;

        for (size_t i = 0; i < 3; i++)
                memset(hashes[i], 0x10 + (int)i, SEAL_HASH_BYTES);
        assert_int_equal(store_list_backup_codes(s, "alice", &b, &n), 0);
        assert_null(b);
        assert_int_equal(n, 0);

        assert_int_equal(store_replace_backup_codes(s, "alice", (const uint8_t(*)[SEAL_HASH_BYTES])hashes, 3, 100), 0);
        assert_int_equal(store_list_backup_codes(s, "alice", &b, &n), 0);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < 3; i++)
                assert_memory_equal(b[i].hash, hashes[i], SEAL_HASH_BYTES);

        /* A code is spent once. */
        assert_int_equal(store_use_backup_code(s, b[1].id, 200), 0);
        assert_int_equal(store_use_backup_code(s, b[1].id, 201), -ESTALE);
        assert_int_equal(store_use_backup_code(s, 987654, 201), -ESTALE);
        free(b);
        assert_int_equal(store_list_backup_codes(s, "alice", &b, &n), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(b[0].hash, hashes[0], SEAL_HASH_BYTES);
        assert_memory_equal(b[1].hash, hashes[2], SEAL_HASH_BYTES);
        free(b);
        assert_int_equal(count_codes(s, "bob"), 0);

        /* Replacing drops every old code, used or not. */
        assert_int_equal(
                store_replace_backup_codes(s, "alice", (const uint8_t(*)[SEAL_HASH_BYTES]) & hashes[2], 1, 300), 0);
        assert_int_equal(store_list_backup_codes(s, "alice", &b, &n), 0);
        assert_int_equal(n, 1);
        assert_memory_equal(b[0].hash, hashes[2], SEAL_HASH_BYTES);
        free(b);
        assert_int_equal(store_replace_backup_codes(s, "alice", NULL, 0, 400), 0);
        assert_int_equal(count_codes(s, "alice"), 0);
        s = store_close(s);
}

/* ---- failures and lockouts ------------------------------------------------------- */

static void test_failures(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);

        assert_int_equal(store_add_failure(s, "alice", "10.0.0.1", true, 100), 0);
        assert_int_equal(store_add_failure(s, "alice", "10.0.0.1", true, 200), 0);
        assert_int_equal(store_add_failure(s, "alice", "10.0.0.2", true, 300), 0);
        assert_int_equal(store_add_failure(s, "alice", "tty1", false, 300), 0);
        assert_int_equal(store_add_failure(s, "ghost", "10.0.0.1", true, 300), 0); /* not enrolled */
        assert_int_equal(store_add_failure(s, "alice", STORE_REMOTE_ALL, true, 300), -EINVAL);

        assert_int_equal(count_failures(s, "alice", "10.0.0.1", 0), 2);
        assert_int_equal(count_failures(s, "alice", "10.0.0.1", 200), 1); /* at >= since */
        assert_int_equal(count_failures(s, "alice", "10.0.0.1", 201), 0);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), 1);
        assert_int_equal(count_remote(s, "alice", 0), 3); /* remote only */
        assert_int_equal(count_remote(s, "alice", 250), 1);
        assert_int_equal(count_remote(s, "ghost", 0), 1);
        assert_int_equal(count_remote(s, "bob", 0), 0);

        assert_int_equal(store_clear_failures(s, "alice", "10.0.0.1"), 0);
        assert_int_equal(count_failures(s, "alice", "10.0.0.1", 0), 0);
        assert_int_equal(count_failures(s, "alice", "10.0.0.2", 0), 1);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), 1);
        assert_int_equal(store_clear_failures(s, "alice", NULL), 0);
        assert_int_equal(count_failures(s, "alice", "10.0.0.2", 0), 0);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), 0);
        assert_int_equal(count_remote(s, "ghost", 0), 1); /* other users untouched */
        s = store_close(s);
}

static void test_prune(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        struct store_lockout l;

        assert_int_equal(store_add_failure(s, "alice", "h", true, 100), 0);
        assert_int_equal(store_add_failure(s, "alice", "h", true, 180), 0);
        assert_int_equal(store_add_failure(s, "alice", "h", true, 200), 0);
        assert_int_equal(store_set_lockout(s, "alice", "h", 100, 150), 0);
        assert_int_equal(store_set_lockout(s, "alice", "g", 100, 180), 0);
        assert_int_equal(store_set_lockout(s, "alice", STORE_REMOTE_ALL, 100, 300), 0);

        assert_int_equal(store_prune(s, 180), 0);
        assert_int_equal(count_failures(s, "alice", "h", 0), 2); /* at == before is kept */
        assert_int_equal(store_get_lockout(s, "alice", "h", &l), -ENOENT);
        assert_int_equal(store_get_lockout(s, "alice", "g", &l), 0);
        assert_int_equal(store_get_lockout(s, "alice", STORE_REMOTE_ALL, &l), 0);
        assert_int_equal(store_prune(s, 1000), 0);
        assert_int_equal(count_failures(s, "alice", "h", 0), 0);
        assert_int_equal(store_get_lockout(s, "alice", STORE_REMOTE_ALL, &l), -ENOENT);
        s = store_close(s);
}

static void test_lockouts(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        struct store_lockout l = {.until = 77}, *list = NULL;
        size_t n = 99;

        assert_int_equal(store_get_lockout(s, "alice", "10.0.0.1", &l), -ENOENT);
        assert_int_equal(l.until, 77); /* untouched on failure */
        assert_int_equal(store_set_lockout(s, "alice", "10.0.0.1", 100, 400), 0);
        assert_int_equal(store_get_lockout(s, "alice", "10.0.0.1", &l), 0);
        assert_string_equal(l.source, "10.0.0.1");
        assert_int_equal(l.locked_at, 100);
        assert_int_equal(l.until, 400);

        /* Upsert: one row per source, the newest. */
        assert_int_equal(store_set_lockout(s, "alice", "10.0.0.1", 500, 900), 0);
        assert_int_equal(store_get_lockout(s, "alice", "10.0.0.1", &l), 0);
        assert_int_equal(l.locked_at, 500);
        assert_int_equal(l.until, 900);
        assert_int_equal(store_get_lockout(s, "bob", "10.0.0.1", &l), -ENOENT);

        assert_int_equal(store_set_lockout(s, "alice", STORE_REMOTE_ALL, 500, 700), 0);
        assert_int_equal(store_set_lockout(s, "alice", "tty1", 100, 200), 0); /* expired at 600 */
        assert_int_equal(store_set_lockout(s, "bob", "tty2", 100, 2000), 0);
        assert_int_equal(store_list_lockouts(s, "alice", 600, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].source, "10.0.0.1"); /* longest first */
        assert_int_equal(list[0].until, 900);
        assert_string_equal(list[1].source, STORE_REMOTE_ALL);
        free(list);
        assert_int_equal(store_list_lockouts(s, "alice", 900, &list, &n), 0); /* until > now */
        assert_int_equal(n, 0);
        assert_null(list);
        /* get still returns an expired lockout until it is pruned */
        assert_int_equal(store_get_lockout(s, "alice", "tty1", &l), 0);
        s = store_close(s);
}

static void test_unlock(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        struct store_lockout l;
        unsigned n = 99;

        assert_int_equal(store_add_failure(s, "alice", "10.0.0.1", true, 100), 0);
        assert_int_equal(store_add_failure(s, "alice", "10.0.0.2", true, 100), 0);
        assert_int_equal(store_add_failure(s, "alice", "tty1", false, 100), 0);
        assert_int_equal(store_add_failure(s, "bob", "10.0.0.1", true, 100), 0);
        assert_int_equal(store_set_lockout(s, "alice", "10.0.0.1", 100, 900), 0);
        assert_int_equal(store_set_lockout(s, "alice", "10.0.0.2", 100, 900), 0);
        assert_int_equal(store_set_lockout(s, "alice", "tty1", 100, 900), 0);
        assert_int_equal(store_set_lockout(s, "alice", STORE_REMOTE_ALL, 100, 900), 0);
        assert_int_equal(store_set_lockout(s, "bob", "10.0.0.1", 100, 900), 0);

        /* One source: its lockout and its failures, nothing else. */
        assert_int_equal(store_unlock(s, "alice", "10.0.0.1", &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(store_get_lockout(s, "alice", "10.0.0.1", &l), -ENOENT);
        assert_int_equal(count_failures(s, "alice", "10.0.0.1", 0), 0);
        assert_int_equal(store_get_lockout(s, "alice", "10.0.0.2", &l), 0);
        assert_int_equal(store_get_lockout(s, "alice", STORE_REMOTE_ALL, &l), 0);
        assert_int_equal(count_failures(s, "alice", "10.0.0.2", 0), 1);
        assert_int_equal(store_unlock(s, "alice", "10.0.0.1", &n), 0);
        assert_int_equal(n, 0);

        /* The user-wide remote lockout also forgets remote failures, not local ones. */
        assert_int_equal(store_unlock(s, "alice", STORE_REMOTE_ALL, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(count_remote(s, "alice", 0), 0);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), 1);
        assert_int_equal(store_get_lockout(s, "alice", "10.0.0.2", &l), 0);

        assert_int_equal(store_set_lockout(s, "alice", STORE_REMOTE_ALL, 100, 900), 0);
        assert_int_equal(store_unlock(s, "alice", NULL, &n), 0);
        assert_int_equal(n, 3); /* 10.0.0.2, tty1, *remote* */
        assert_int_equal(store_get_lockout(s, "alice", STORE_REMOTE_ALL, &l), -ENOENT);
        assert_int_equal(store_get_lockout(s, "alice", "tty1", &l), -ENOENT);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), 0);
        /* bob is untouched */
        assert_int_equal(store_get_lockout(s, "bob", "10.0.0.1", &l), 0);
        assert_int_equal(count_failures(s, "bob", "10.0.0.1", 0), 1);
        s = store_close(s);
}

/* ---- transactions ---------------------------------------------------------------- */

static void test_rollback_discards(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);

        assert_int_equal(store_rollback(s), 0); /* nothing open: nothing to do */
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_begin(s), -EINVAL); /* no nesting */
        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 1);
        assert_int_equal(store_add_failure(s, "alice", "tty1", false, 1), 0);
        assert_int_equal(store_set_lockout(s, "alice", "tty1", 1, 9), 0);
        assert_int_equal(count_devices(s, "alice"), 1); /* visible inside */
        assert_int_equal(store_rollback(s), 0);
        assert_int_equal(count_devices(s, "alice"), 0);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), 0);
        s = store_close(s);

        s = open_ok(f->state, false); /* and nothing reached the file */
        assert_int_equal(count_devices(s, "alice"), 0);
        assert_int_equal(store_begin(s), 0);
        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 1);
        assert_int_equal(store_commit(s), 0);
        s = store_close(s);
        s = open_ok(f->state, false);
        assert_int_equal(count_devices(s, "alice"), 1);
        s = store_close(s);
}

/* A failing call inside the caller's transaction undoes only itself. */
static void test_failed_call_keeps_transaction(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);

        assert_int_equal(store_begin(s), 0);
        add_device(s, "alice", "phone", sealed_a, sizeof(sealed_a), 1);
        assert_int_equal(store_add_device(s, "alice", "phone", TOTP_SHA1, 6, sealed_b, sizeof(sealed_b), 2), -EEXIST);
        assert_int_equal(store_add_failure(s, "alice", "tty1", false, 1), 0);
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(count_devices(s, "alice"), 1);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), 1);
        s = store_close(s);
}

/* While one handle holds BEGIN IMMEDIATE, another process's begin waits (busy timeout)
 * and succeeds once the first commits; then it sees the first one's write. SQLite state
 * must not cross fork(), so the parent opens its handle only after forking. */
static void test_begin_waits_for_writer(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_ok(f->state, true);
        int held[2], ready[2], status = 0;
        pid_t pid;
        char b = 0;

        s = store_close(s);
        assert_int_equal(pipe(held), 0);
        assert_int_equal(pipe(ready), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct store *c = NULL;
                unsigned n = 0;
                double t0;
                int r;

                close(held[1]);
                close(ready[0]);
                if (read(held[0], &b, 1) != 1)
                        _exit(10);
                r = store_open(f->state, false, &c);
                if (r < 0)
                        _exit(11);
                t0 = now_seconds();
                if (write(ready[1], "x", 1) != 1)
                        _exit(12);
                r = store_begin(c);
                if (r < 0)
                        _exit(40 + (-r & 0x7f));
                if (now_seconds() - t0 < 0.2)
                        _exit(13); /* did not wait for the other writer */
                if (store_count_failures(c, "alice", "tty1", 0, &n) < 0 || n != 1)
                        _exit(14); /* did not see the committed write */
                if (store_add_failure(c, "alice", "tty1", false, 2) < 0 || store_commit(c) < 0)
                        _exit(15);
                c = store_close(c);
                _exit(0);
        }
        close(held[0]);
        close(ready[1]);
        s = open_ok(f->state, false);
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(write(held[1], "x", 1), 1);
        assert_int_equal(read(ready[0], &b, 1), 1);
        usleep(400 * 1000); /* the child is now blocked in store_begin */
        assert_int_equal(store_add_failure(s, "alice", "tty1", false, 1), 0);
        assert_int_equal(store_commit(s), 0);

        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(held[1]);
        close(ready[0]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(count_failures(s, "alice", "tty1", 0), 2);
        s = store_close(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
                T(test_create_and_reopen),
                T(test_wal_and_shm_are_private),
                T(test_dir_permissions),
                T(test_db_permissions),
                T(test_missing),
                T(test_garbage_file),
                T(test_newer_schema_refused),
                T(test_migrate_empty_v0),
                T(test_reopen_keeps_version_and_data),
                T(test_migrate_v1_keeps_data),
                T(test_migrate_v2_keeps_every_row),
                T(test_grace),
                T(test_concurrent_create),
                T(test_devices),
                T(test_remove_user_mfa),
                T(test_remove_device_by_name),
                T(test_list_users),
                T(test_password_history),
                T(test_notices),
                T(test_secure_delete),
                T(test_backup_codes),
                T(test_failures),
                T(test_prune),
                T(test_lockouts),
                T(test_unlock),
                T(test_rollback_discards),
                T(test_failed_call_keeps_transaction),
                T(test_begin_waits_for_writer),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
