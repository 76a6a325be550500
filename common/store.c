/* SPDX-License-Identifier: MIT */
/* The credentials store on SQLite: opening and checking credentials.db and its directory,
 * schema migrations, and one cached prepared statement per query. The only file that
 * includes <sqlite3.h>; SQLite result codes become negative errno values here. It runs
 * inside sshd and sudo: it never logs, never writes a global, never aborts, never builds
 * SQL from strings, and never holds a secret in clear (device secrets arrive sealed). */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"

#include "store.h"

#define BUSY_TIMEOUT_MS 10000
#define WAL_FRAMES_MAX  32 /* pages in the WAL before a commit checkpoints it */

/* migrations[i] moves the schema from version i to i + 1 and ends by recording it. Append
 * only: a shipped script is never edited, since databases in the field already ran it. */
static const char *const migrations[] = {
        "CREATE TABLE users("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  created INTEGER NOT NULL);"
        "CREATE TABLE devices("
        "  id INTEGER PRIMARY KEY,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL,"
        "  algorithm TEXT NOT NULL CHECK(algorithm IN ('sha1', 'sha256', 'sha512')),"
        "  digits INTEGER NOT NULL CHECK(digits IN (6, 8)),"
        "  period INTEGER NOT NULL DEFAULT 30,"
        "  secret BLOB NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  last_step INTEGER NOT NULL DEFAULT -1,"
        "  last_used INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE(user_id, name));"
        "CREATE TABLE backup_codes("
        "  id INTEGER PRIMARY KEY,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  hash BLOB NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  used_at INTEGER);"
        "CREATE INDEX backup_codes_user ON backup_codes(user_id);"
        "CREATE TABLE failures("
        "  id INTEGER PRIMARY KEY,"
        "  user TEXT NOT NULL,"
        "  source TEXT NOT NULL,"
        "  remote INTEGER NOT NULL,"
        "  at INTEGER NOT NULL);"
        "CREATE INDEX failures_source ON failures(user, source, at);"
        "CREATE INDEX failures_remote ON failures(user, remote, at);"
        "CREATE TABLE lockouts("
        "  user TEXT NOT NULL,"
        "  source TEXT NOT NULL,"
        "  locked_at INTEGER NOT NULL,"
        "  until INTEGER NOT NULL,"
        "  PRIMARY KEY(user, source));"
        "PRAGMA user_version = 1;",
        /* 2: password history (argon2id strings, never plaintext) and notices shown to a
         * user at the next login (e.g. "an administrator reset your MFA"). */
        "CREATE TABLE password_history("
        "  id INTEGER PRIMARY KEY,"
        "  user TEXT NOT NULL,"
        "  hash TEXT NOT NULL,"
        "  created INTEGER NOT NULL);"
        "CREATE INDEX password_history_user ON password_history(user, id);"
        "CREATE TABLE notices("
        "  id INTEGER PRIMARY KEY,"
        "  user TEXT NOT NULL,"
        "  text TEXT NOT NULL,"
        "  created INTEGER NOT NULL);"
        "CREATE INDEX notices_user ON notices(user, id);"
        "PRAGMA user_version = 2;",
        /* 3: when the MFA policy's grace period to enrol began, per user (the account stack
         * records it the first time it lets a member without a device in). */
        "CREATE TABLE mfa_grace("
        "  user TEXT NOT NULL PRIMARY KEY,"
        "  started INTEGER NOT NULL);"
        "PRAGMA user_version = 3;",
        /* 4: one address, one budget (source.c): remote sources in their canonical spelling,
         * lockouts that became one kept with the later end; the consoles' failures in a class
         * of their own (2), which no account-wide cap counts. Needs mlsec_source (db.c). */
        "UPDATE failures SET source = mlsec_source(source) WHERE remote = 1;"
        "UPDATE failures SET remote = 2 WHERE remote = 0 AND (source GLOB 'tty:tty[1-9]'"
        "  OR source GLOB 'tty:tty[1-5][0-9]' OR source GLOB 'tty:tty6[0-3]' OR source = 'tty:console');"
        "UPDATE lockouts SET"
        "  locked_at = (SELECT max(l.locked_at) FROM lockouts l WHERE l.user = lockouts.user"
        "    AND mlsec_source(l.source) = mlsec_source(lockouts.source)),"
        "  until = (SELECT max(l.until) FROM lockouts l WHERE l.user = lockouts.user"
        "    AND mlsec_source(l.source) = mlsec_source(lockouts.source));"
        "DELETE FROM lockouts WHERE rowid NOT IN"
        "  (SELECT min(rowid) FROM lockouts GROUP BY user, mlsec_source(source));"
        "UPDATE lockouts SET source = mlsec_source(source) WHERE source != mlsec_source(source);"
        "PRAGMA user_version = 4;",
        /* 5: remembered grants (remember_seconds, remember_tty_seconds): a right code from
         * an address (or on a terminal, in one session) spares the code there for a while.
         * Bound to user, source, service, terminal and session, and to a fingerprint of the
         * password; removing a device of the user removes them all. */
        "CREATE TABLE grants("
        "  id INTEGER PRIMARY KEY,"
        "  user TEXT NOT NULL,"
        "  source TEXT NOT NULL,"
        "  service TEXT NOT NULL,"
        "  tty TEXT NOT NULL,"
        "  session TEXT NOT NULL,"
        "  pwfp BLOB NOT NULL,"
        "  granted INTEGER NOT NULL,"
        "  expires INTEGER NOT NULL,"
        "  UNIQUE(user, source, service, tty, session));"
        "CREATE TRIGGER grants_end_with_a_device BEFORE DELETE ON devices BEGIN"
        "  DELETE FROM grants WHERE user = (SELECT name FROM users WHERE id = OLD.user_id);"
        "END;"
        "PRAGMA user_version = 5;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration script per schema version");

enum stmt_id {
        ST_BEGIN,
        ST_COMMIT,
        ST_ROLLBACK,
        ST_SAVEPOINT,
        ST_RELEASE,
        ST_ROLLBACK_TO,
        ST_JOURNAL_MODE,
        ST_SET_WAL,
        ST_USER_ADD,
        ST_DEVICE_LIST,
        ST_DEVICE_ADD,
        ST_DEVICE_ACCEPTED,
        ST_DEVICE_DELETE_USER,
        ST_CODE_LIST,
        ST_CODE_ADD,
        ST_CODE_USE,
        ST_CODE_DELETE_USER,
        ST_FAILURE_ADD,
        ST_FAILURE_COUNT_SOURCE,
        ST_FAILURE_COUNT_CLASS,
        ST_FAILURE_CLEAR_SOURCE,
        ST_FAILURE_CLEAR_CLASS,
        ST_FAILURE_CLEAR_ALL,
        ST_FAILURE_PRUNE,
        ST_LOCKOUT_GET,
        ST_LOCKOUT_SET,
        ST_LOCKOUT_LIST,
        ST_LOCKOUT_DELETE_SOURCE,
        ST_LOCKOUT_DELETE_ALL,
        ST_LOCKOUT_PRUNE,
        ST_DEVICE_DELETE_NAMED,
        ST_USER_LIST,
        ST_PWHIST_ADD,
        ST_PWHIST_LIST,
        ST_PWHIST_TRIM,
        ST_NOTICE_ADD,
        ST_NOTICE_LIST,
        ST_NOTICE_DELETE,
        ST_GRACE_ADD,
        ST_GRACE_GET,
        ST_GRACE_DELETE,
        ST_GRANT_ADD,
        ST_GRANT_FIND,
        ST_GRANT_LIST,
        ST_GRANT_DELETE_USER,
        ST_GRANT_PRUNE,
        _ST_MAX,
};

static const char *const stmt_sql[_ST_MAX] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_SAVEPOINT] = "SAVEPOINT store_op",
        [ST_RELEASE] = "RELEASE store_op",
        [ST_ROLLBACK_TO] = "ROLLBACK TO store_op",
        [ST_JOURNAL_MODE] = "PRAGMA journal_mode",
        [ST_SET_WAL] = "PRAGMA journal_mode = WAL",
        [ST_USER_ADD] = "INSERT OR IGNORE INTO users(name, created) VALUES(?1, ?2)",
        [ST_DEVICE_LIST] = "SELECT d.id, d.name, d.algorithm, d.digits, d.secret, d.last_step,"
                           " d.created, d.last_used, d.period"
                           " FROM devices AS d JOIN users AS u ON u.id = d.user_id"
                           " WHERE u.name = ?1 ORDER BY d.id",
        [ST_DEVICE_ADD] = "INSERT INTO devices(user_id, name, algorithm, digits, period, secret, created, last_step)"
                          " SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM users WHERE name = ?1",
        [ST_DEVICE_ACCEPTED] = "UPDATE devices SET last_step = MAX(last_step, ?1), last_used = ?2"
                               " WHERE id = ?3",
        [ST_DEVICE_DELETE_USER] = "DELETE FROM devices"
                                  " WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        [ST_CODE_LIST] = "SELECT b.id, b.hash"
                         " FROM backup_codes AS b JOIN users AS u ON u.id = b.user_id"
                         " WHERE u.name = ?1 AND b.used_at IS NULL ORDER BY b.id",
        [ST_CODE_ADD] = "INSERT INTO backup_codes(user_id, hash, created)"
                        " SELECT id, ?2, ?3 FROM users WHERE name = ?1",
        [ST_CODE_USE] = "UPDATE backup_codes SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL",
        [ST_CODE_DELETE_USER] = "DELETE FROM backup_codes"
                                " WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        [ST_FAILURE_ADD] = "INSERT INTO failures(user, source, remote, at) VALUES(?1, ?2, ?3, ?4)",
        [ST_FAILURE_COUNT_SOURCE] = "SELECT count(*) FROM failures"
                                    " WHERE user = ?1 AND source = ?2 AND at >= ?3",
        [ST_FAILURE_COUNT_CLASS] = "SELECT count(*) FROM failures"
                                   " WHERE user = ?1 AND remote = ?2 AND at >= ?3",
        [ST_FAILURE_CLEAR_SOURCE] = "DELETE FROM failures WHERE user = ?1 AND source = ?2",
        [ST_FAILURE_CLEAR_CLASS] = "DELETE FROM failures WHERE user = ?1 AND remote = ?2",
        [ST_FAILURE_CLEAR_ALL] = "DELETE FROM failures WHERE user = ?1",
        [ST_FAILURE_PRUNE] = "DELETE FROM failures WHERE at < ?1",
        [ST_LOCKOUT_GET] = "SELECT source, locked_at, until FROM lockouts WHERE user = ?1 AND source = ?2",
        [ST_LOCKOUT_SET] = "INSERT INTO lockouts(user, source, locked_at, until) VALUES(?1, ?2, ?3, ?4)"
                           " ON CONFLICT(user, source)"
                           " DO UPDATE SET locked_at = excluded.locked_at, until = excluded.until",
        [ST_LOCKOUT_LIST] = "SELECT source, locked_at, until FROM lockouts"
                            " WHERE user = ?1 AND until > ?2 ORDER BY until DESC, source",
        [ST_LOCKOUT_DELETE_SOURCE] = "DELETE FROM lockouts WHERE user = ?1 AND source = ?2",
        [ST_LOCKOUT_DELETE_ALL] = "DELETE FROM lockouts WHERE user = ?1",
        [ST_LOCKOUT_PRUNE] = "DELETE FROM lockouts WHERE until < ?1",
        [ST_DEVICE_DELETE_NAMED] = "DELETE FROM devices"
                                   " WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND name = ?2",
        [ST_USER_LIST] = "SELECT name FROM users UNION SELECT user FROM lockouts ORDER BY 1",
        [ST_PWHIST_ADD] = "INSERT INTO password_history(user, hash, created) VALUES(?1, ?2, ?3)",
        [ST_PWHIST_LIST] = "SELECT hash FROM password_history WHERE user = ?1 ORDER BY id DESC LIMIT ?2",
        [ST_PWHIST_TRIM] = "DELETE FROM password_history WHERE user = ?1 AND id NOT IN"
                           " (SELECT id FROM password_history WHERE user = ?1 ORDER BY id DESC LIMIT ?2)",
        [ST_NOTICE_ADD] = "INSERT INTO notices(user, text, created) VALUES(?1, ?2, ?3)",
        [ST_NOTICE_LIST] = "SELECT text FROM notices WHERE user = ?1 ORDER BY id",
        [ST_NOTICE_DELETE] = "DELETE FROM notices WHERE user = ?1",
        [ST_GRACE_ADD] = "INSERT OR IGNORE INTO mfa_grace(user, started) VALUES(?1, ?2)",
        [ST_GRACE_GET] = "SELECT started FROM mfa_grace WHERE user = ?1",
        [ST_GRACE_DELETE] = "DELETE FROM mfa_grace WHERE user = ?1",
        [ST_GRANT_ADD] = "INSERT INTO grants(user, source, service, tty, session, pwfp, granted, expires)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                         " ON CONFLICT(user, source, service, tty, session) DO UPDATE SET"
                         " pwfp = excluded.pwfp, granted = excluded.granted, expires = excluded.expires",
        [ST_GRANT_FIND] = "SELECT source, service, tty, granted, expires, pwfp FROM grants WHERE user = ?1"
                          " AND source = ?2 AND service = ?3 AND tty = ?4 AND session = ?5 AND expires > ?6",
        [ST_GRANT_LIST] = "SELECT source, service, tty, granted, expires, x'' FROM grants WHERE user = ?1"
                          " AND expires > ?2 ORDER BY granted DESC, id DESC LIMIT 100",
        [ST_GRANT_DELETE_USER] = "DELETE FROM grants WHERE user = ?1",
        [ST_GRANT_PRUNE] = "DELETE FROM grants WHERE expires < ?1",
};

struct store {
        sqlite3 *db;
        sqlite3_stmt *stmt[_ST_MAX]; /* prepared on first use, finalized by store_close */
};

/* The error a failed sqlite3_bind_*() left on the connection. */
static int bind_error(struct store *s)
{
        int r = db_errno(sqlite3_errcode(s->db));

        return r < 0 ? r : -EIO;
}

static int stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **ret)
{
        int r = db_stmt_cached(s->db, &s->stmt[id], stmt_sql[id]);

        if (r < 0)
                return r;
        *ret = s->stmt[id];
        return 0;
}

/* Run a statement without parameters or rows (transaction control). */
static int exec_stmt(struct store *s, enum stmt_id id)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        return db_step_done(st);
}

/* Run a statement that has one text parameter and changes rows; *ret_changes counts them. */
static int exec_user(struct store *s, enum stmt_id id, const char *user, unsigned *ret_changes)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(s);
        r = db_step_done(st);
        if (r < 0)
                return r;
        if (ret_changes)
                *ret_changes = (unsigned)sqlite3_changes(s->db);
        return 0;
}

/* Functions that run several statements are atomic on their own: in the caller's
 * transaction they run in a savepoint, otherwise in their own BEGIN IMMEDIATE (taking the
 * write lock first, so the busy timeout applies instead of a snapshot conflict). */
int store_op_begin(struct store *s, bool *ret_own)
{
        bool own = sqlite3_get_autocommit(s->db);
        int r;

        r = exec_stmt(s, own ? ST_BEGIN : ST_SAVEPOINT);
        if (r < 0)
                return r;
        *ret_own = own;
        return 0;
}

int store_op_end(struct store *s, bool own, int r)
{
        if (r >= 0) {
                int q = exec_stmt(s, own ? ST_COMMIT : ST_RELEASE);
                if (q >= 0)
                        return r;
                r = q;
        }
        /* SQLite may already have rolled back on its own (I/O error, out of memory). */
        if (own) {
                if (!sqlite3_get_autocommit(s->db))
                        (void)exec_stmt(s, ST_ROLLBACK);
        } else if (exec_stmt(s, ST_ROLLBACK_TO) >= 0)
                (void)exec_stmt(s, ST_RELEASE);
        return r;
}

static bool string_ok(const char *str, size_t max)
{
        return str && str[0] && strnlen(str, max) < max;
}

/* User names are bounded like sources: failures are recorded for names nobody enrolled. */
static bool user_ok(const char *user)
{
        return string_ok(user, STORE_SOURCE_MAX);
}

static int copy_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
        const unsigned char *t = sqlite3_column_text(st, col);
        int len = sqlite3_column_bytes(st, col);

        if (!t)
                return sqlite3_column_type(st, col) == SQLITE_NULL ? -EBADMSG : -ENOMEM;
        if (len < 0 || (size_t)len >= outlen || memchr(t, 0, (size_t)len))
                return -EBADMSG;
        memcpy(out, t, (size_t)len);
        out[len] = 0;
        return 0;
}

/* The algorithm column holds totp.c's names ("sha1", ...); anything else is corruption. */
static int alg_from_sql(const unsigned char *t, enum totp_alg *ret)
{
        if (!t || totp_alg_from_string((const char *)t, ret) < 0)
                return -EBADMSG;
        return 0;
}

/* ---- opening ---------------------------------------------------------------------- */

static bool owned_private(const struct stat *st, mode_t forbidden)
{
        return st->st_uid == geteuid() && (st->st_mode & forbidden) == 0;
}

static int fchmod_path(const char *path, int flags, mode_t mode)
{
        int fd, r = 0;

        fd = open(path, flags | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, mode) < 0)
                r = -errno;
        (void)close(fd);
        return r;
}

static int check_dir(const char *dir, bool create)
{
        struct stat st;

        if (lstat(dir, &st) < 0) {
                if (errno != ENOENT || !create)
                        return -errno;
                /* Only the last component: a missing parent is a configuration error. */
                if (mkdir(dir, 0700) < 0) {
                        if (errno != EEXIST)
                                return -errno;
                } else {
                        /* mkdir obeys the umask; the mode must not depend on it. */
                        int r = fchmod_path(dir, O_DIRECTORY, 0700);
                        if (r < 0)
                                return r;
                }
                if (lstat(dir, &st) < 0)
                        return -errno;
        }
        if (!S_ISDIR(st.st_mode) || !owned_private(&st, STORE_DIR_FORBIDDEN_MODE))
                return -EPERM;
        return 0;
}

static int create_db_file(const char *path)
{
        int fd, r = 0;

        fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno; /* a concurrent opener won the race */
        if (fchmod(fd, 0600) < 0)
                r = -errno;
        (void)close(fd);
        return r;
}

/* Check the file and read its header: *ret_ready when it is already a WAL database at the
 * current schema version, so that a login needs no setup queries at all. The header may
 * lag behind a WAL that was not checkpointed yet, but versions only grow: a header that
 * says "current" is right, and one that lags only costs the setup queries. */
static int check_db_file(const char *path, bool create, bool *ret_ready)
{
        static const char magic[16] = "SQLite format 3";
        unsigned char h[100];
        struct stat st;
        ssize_t n;
        int fd, r;

        if (create) {
                r = create_db_file(path);
                if (r < 0)
                        return r;
        }
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EPERM : -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                (void)close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode) || !owned_private(&st, STORE_FILE_FORBIDDEN_MODE)) {
                (void)close(fd);
                return -EPERM;
        }
        n = pread(fd, h, sizeof(h), 0);
        (void)close(fd);
        if (n < 0)
                return -EIO;
        if (n == 0) {
                *ret_ready = false; /* a new, empty file */
                return 0;
        }
        if ((size_t)n < sizeof(h) || memcmp(h, magic, sizeof(magic)) != 0)
                return -EBADMSG;
        *ret_ready =
                h[18] == 2 && h[19] == 2 && /* WAL read and write versions */
                ((uint32_t)h[60] << 24 | (uint32_t)h[61] << 16 | (uint32_t)h[62] << 8 | h[63]) == STORE_SCHEMA_VERSION;
        return 0;
}

static int exec_script(struct store *s, const char *sql)
{
        return db_exec(s->db, sql);
}

static int migrate_locked(struct store *s)
{
        int64_t v;
        int r;

        /* Re-read under the write lock: another process may have migrated meanwhile. */
        r = db_user_version(s->db, &v);
        if (r < 0)
                return r;
        if (v < 0 || v > STORE_SCHEMA_VERSION)
                return -EBADMSG;
        for (; v < STORE_SCHEMA_VERSION; v++) {
                r = exec_script(s, migrations[v]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int migrate(struct store *s)
{
        int r;

        r = db_register_source_function(s->db);
        if (r < 0)
                return r;
        r = exec_stmt(s, ST_BEGIN);
        if (r < 0)
                return r;
        r = migrate_locked(s);
        if (r >= 0)
                r = exec_stmt(s, ST_COMMIT);
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void)exec_stmt(s, ST_ROLLBACK);
        /* into the file now, so the next open reads the new version from the header and
         * runs no setup queries (a failure only costs that shortcut) */
        if (r >= 0)
                (void)store_checkpoint(s);
        return r;
}

/* Run a journal_mode pragma; *ret tells whether the database is (now) in WAL mode. */
static int journal_mode(struct store *s, enum stmt_id id, bool *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        const unsigned char *mode;
        int r;

        r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        r = db_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -EIO;
        mode = sqlite3_column_text(st, 0);
        *ret = mode && strcmp((const char *)mode, "wal") == 0;
        return 0;
}

/* The path of every login: an initialised database needs no lock at all. */
static int needs_setup(struct store *s, bool *ret)
{
        bool wal = false;
        int64_t v;
        int r;

        r = db_user_version(s->db, &v); /* reads the header first, so journal_mode is the file's */
        if (r < 0)
                return r;
        if (v < 0 || v > STORE_SCHEMA_VERSION)
                return -EBADMSG; /* never downgrade */
        r = journal_mode(s, ST_JOURNAL_MODE, &wal);
        if (r < 0)
                return r;
        *ret = !wal || v != STORE_SCHEMA_VERSION;
        return 0;
}

/* Switching to WAL needs an exclusive lock on which two fresh openers can deadlock (SQLite
 * then fails at once instead of waiting), so first-time setup is serialised with flock()
 * on the state directory, polled up to the same timeout as SQLite's busy handler. */
static int lock_dir(const char *dir, int *ret_fd)
{
        const struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};
        int fd, r;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (int waited = 0;; waited += 10) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                        *ret_fd = fd;
                        return 0;
                }
                r = errno == EWOULDBLOCK || errno == EINTR ? -EBUSY : -errno;
                if (r != -EBUSY || waited >= BUSY_TIMEOUT_MS)
                        break;
                (void)nanosleep(&pause, NULL);
        }
        (void)close(fd);
        return r;
}

static int setup(struct store *s, const char *dir)
{
        bool needed = false, wal = false;
        int fd = -1, r;

        r = needs_setup(s, &needed);
        if (r < 0 || !needed)
                return r;
        r = lock_dir(dir, &fd);
        if (r < 0)
                return r;
        r = journal_mode(s, ST_SET_WAL, &wal);
        if (r >= 0 && !wal)
                r = -EIO;
        if (r >= 0)
                r = migrate(s);
        (void)close(fd); /* releases the lock */
        return r;
}

/* After a commit: once the WAL holds WAL_FRAMES_MAX frames, copy it back and truncate it.
 * A PASSIVE checkpoint would not do: its progress lives in the -shm file, which the next
 * process to open the store discards, so the WAL would never restart and would grow. */
static int wal_hook(void *userdata, sqlite3 *db, const char *name, int frames)
{
        if (frames >= WAL_FRAMES_MAX)
                (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        return SQLITE_OK;
}

static int configure(struct store *s)
{
        (void)sqlite3_extended_result_codes(s->db, 1);
        (void)sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
        /* The file is read as root: refuse schema tricks and untrusted SQL functions in it. */
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        /* Every login opens and closes the store. Without these, closing the last handle
         * checkpoints and deletes the WAL: two extra fsyncs and a file created and removed
         * per login. Commits checkpoint instead (wal_hook), which keeps the WAL that each
         * first opener must read back short. */
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        (void)sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &(int){1});
        (void)sqlite3_wal_hook(s->db, wal_hook, NULL);
        /* synchronous = FULL: in WAL mode the WAL is fsynced at every commit, so a step or a
         * backup code consumed is on the disk before the verdict is told (a power loss must
         * not bring a used code back). NORMAL would only sync at checkpoints. The cost is one
         * fdatasync per commit (about 0.2 ms on this project's test machines); mlsecd shares
         * one commit among the verifies of one round (group commit, mlsecd/batch.c). */
        return exec_script(s, "PRAGMA synchronous = FULL;"
                              "PRAGMA foreign_keys = ON;"
                              "PRAGMA secure_delete = ON;");
}

int store_open(const char *state_dir, bool create, struct store **ret)
{
        char path[PATH_MAX];
        struct store *s;
        bool ready = false;
        int rc, r;

        if (!state_dir || !state_dir[0] || !ret)
                return -EINVAL;
        r = db_path(state_dir, STORE_DB_NAME, path, sizeof(path));
        if (r < 0)
                return r;
        r = check_dir(state_dir, create);
        if (r < 0)
                return r;
        r = check_db_file(path, create, &ready);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = s->db ? db_errno_in(s->db, sqlite3_extended_errcode(s->db)) : -ENOMEM;
                goto fail;
        }
        r = configure(s);
        if (r < 0)
                goto fail;
        if (!ready) {
                r = setup(s, state_dir);
                if (r < 0)
                        goto fail;
        }
        *ret = s;
        return 0;
fail:
        (void)store_close(s);
        return r < 0 ? r : -EIO;
}

struct store *store_close(struct store *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < _ST_MAX; i++)
                (void)sqlite3_finalize(s->stmt[i]);
        (void)sqlite3_close_v2(s->db);
        free(s);
        return NULL;
}

int store_checkpoint(struct store *s)
{
        int rc;

        if (!s)
                return -EINVAL;
        rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        return rc == SQLITE_OK ? 0 : db_errno(rc);
}

/* ---- transactions ----------------------------------------------------------------- */

int store_begin(struct store *s)
{
        if (!s)
                return -EINVAL;
        if (!sqlite3_get_autocommit(s->db))
                return -EINVAL; /* transactions do not nest */
        return exec_stmt(s, ST_BEGIN);
}

int store_commit(struct store *s)
{
        if (!s)
                return -EINVAL;
        return exec_stmt(s, ST_COMMIT);
}

int store_rollback(struct store *s)
{
        if (!s)
                return -EINVAL;
        /* After some errors SQLite has rolled back already; cleanup paths must not fail. */
        if (sqlite3_get_autocommit(s->db))
                return 0;
        return exec_stmt(s, ST_ROLLBACK);
}

/* ---- devices ---------------------------------------------------------------------- */

struct store_device *store_devices_free(struct store_device *d, size_t n)
{
        if (!d)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (d[i].sealed)
                        explicit_bzero(d[i].sealed, d[i].sealed_len);
                free(d[i].sealed);
        }
        explicit_bzero(d, n * sizeof(*d));
        free(d);
        return NULL;
}

static int device_from_row(sqlite3_stmt *st, struct store_device *d)
{
        const void *blob;
        int len, r;

        *d = (struct store_device){.id = sqlite3_column_int64(st, 0)};
        r = copy_text(st, 1, d->name, sizeof(d->name));
        if (r < 0)
                return r;
        r = alg_from_sql(sqlite3_column_text(st, 2), &d->alg);
        if (r < 0)
                return r;
        d->digits = (unsigned)sqlite3_column_int(st, 3);
        if (d->digits != 6 && d->digits != 8)
                return -EBADMSG;
        blob = sqlite3_column_blob(st, 4);
        len = sqlite3_column_bytes(st, 4);
        if (!blob || len <= 0)
                return -EBADMSG;
        d->sealed = malloc((size_t)len);
        if (!d->sealed)
                return -ENOMEM;
        memcpy(d->sealed, blob, (size_t)len);
        d->sealed_len = (size_t)len;
        d->last_step = sqlite3_column_int64(st, 5);
        d->created = sqlite3_column_int64(st, 6);
        d->last_used = sqlite3_column_int64(st, 7);
        d->period = (unsigned)sqlite3_column_int(st, 8);
        if (d->period < TOTP_PERIOD_MIN || d->period > TOTP_PERIOD_MAX)
                return -EBADMSG;
        return 0;
}

/* Make room for one more element in a malloc'd array of *n elements. */
static int grow(void **array, size_t n, size_t size)
{
        void *p;

        if (n >= SIZE_MAX / size - 1)
                return -ENOMEM;
        p = realloc(*array, (n + 1) * size);
        if (!p)
                return -ENOMEM;
        *array = p;
        return 0;
}

int store_list_devices(struct store *s, const char *user, struct store_device **ret, size_t *ret_n)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        struct store_device *d = NULL;
        size_t n = 0;
        int r;

        if (!s || !user_ok(user) || !ret || !ret_n)
                return -EINVAL;
        r = stmt_get(s, ST_DEVICE_LIST, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(s);
        while ((r = db_step(st)) > 0) {
                r = grow((void **)&d, n, sizeof(*d));
                if (r < 0)
                        break;
                r = device_from_row(st, &d[n]);
                if (r < 0) {
                        free(d[n].sealed);
                        break;
                }
                n++;
        }
        if (r < 0) {
                (void)store_devices_free(d, n);
                return r;
        }
        *ret = d;
        *ret_n = n;
        return 0;
}

static int user_add(struct store *s, const char *user, int64_t now)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(s, ST_USER_ADD, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, now) != SQLITE_OK)
                return bind_error(s);
        return db_step_done(st);
}

static int device_insert(struct store *s, const char *user, const char *name, enum totp_alg alg, unsigned digits,
                         unsigned period, int64_t last_step, const uint8_t *sealed, size_t sealed_len, int64_t now)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = stmt_get(s, ST_DEVICE_ADD, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 3, totp_alg_to_string(alg), -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int(st, 4, (int)digits) != SQLITE_OK || sqlite3_bind_int(st, 5, (int)period) != SQLITE_OK ||
            sqlite3_bind_blob(st, 6, sealed, (int)sealed_len, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 7, now) != SQLITE_OK || sqlite3_bind_int64(st, 8, last_step) != SQLITE_OK)
                return bind_error(s);
        rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_UNIQUE)
                return -EEXIST;
        if (rc != SQLITE_DONE)
                return db_errno(rc) ?: -EIO;
        return sqlite3_changes(s->db) == 1 ? 0 : -EIO;
}

int store_add_device(struct store *s, const char *user, const char *name, enum totp_alg alg, unsigned digits,
                     const uint8_t *sealed, size_t sealed_len, int64_t now)
{
        return store_add_device_period(s, user, name, alg, digits, TOTP_PERIOD, -1, sealed, sealed_len, now);
}

int store_add_device_period(struct store *s, const char *user, const char *name, enum totp_alg alg, unsigned digits,
                            unsigned period, int64_t last_step, const uint8_t *sealed, size_t sealed_len, int64_t now)
{
        bool own;
        int r;

        if (!s || !user_ok(user) || !string_ok(name, STORE_NAME_MAX) || !totp_alg_to_string(alg) ||
            (digits != 6 && digits != 8) || period < TOTP_PERIOD_MIN || period > TOTP_PERIOD_MAX || last_step < -1 ||
            !sealed || sealed_len == 0 || sealed_len > INT_MAX)
                return -EINVAL;
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        r = user_add(s, user, now);
        if (r >= 0)
                r = device_insert(s, user, name, alg, digits, period, last_step, sealed, sealed_len, now);
        return store_op_end(s, own, r);
}

int store_device_accepted(struct store *s, int64_t device_id, int64_t step, int64_t now)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = stmt_get(s, ST_DEVICE_ACCEPTED, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 1, step) != SQLITE_OK || sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
            sqlite3_bind_int64(st, 3, device_id) != SQLITE_OK)
                return bind_error(s);
        r = db_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) == 1 ? 0 : -ENOENT;
}

int store_remove_user_mfa(struct store *s, const char *user, unsigned *ret_removed)
{
        unsigned removed = 0;
        bool own;
        int r;

        if (!s || !user_ok(user))
                return -EINVAL;
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        r = exec_user(s, ST_DEVICE_DELETE_USER, user, &removed);
        if (r >= 0)
                r = exec_user(s, ST_CODE_DELETE_USER, user, NULL);
        r = store_op_end(s, own, r);
        if (r < 0)
                return r;
        if (ret_removed)
                *ret_removed = removed;
        return 0;
}

/* ---- backup codes ----------------------------------------------------------------- */

int store_list_backup_codes(struct store *s, const char *user, struct store_backup **ret, size_t *ret_n)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        struct store_backup *b = NULL;
        size_t n = 0;
        int r;

        if (!s || !user_ok(user) || !ret || !ret_n)
                return -EINVAL;
        r = stmt_get(s, ST_CODE_LIST, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(s);
        while ((r = db_step(st)) > 0) {
                const void *hash = sqlite3_column_blob(st, 1);

                if (!hash || sqlite3_column_bytes(st, 1) != SEAL_HASH_BYTES) {
                        r = -EBADMSG;
                        break;
                }
                r = grow((void **)&b, n, sizeof(*b));
                if (r < 0)
                        break;
                b[n].id = sqlite3_column_int64(st, 0);
                memcpy(b[n].hash, hash, SEAL_HASH_BYTES);
                n++;
        }
        if (r < 0) {
                free(b);
                return r;
        }
        *ret = b;
        *ret_n = n;
        return 0;
}

static int code_insert(struct store *s, const char *user, const uint8_t hash[SEAL_HASH_BYTES], int64_t now)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(s, ST_CODE_ADD, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_blob(st, 2, hash, SEAL_HASH_BYTES, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 3, now) != SQLITE_OK)
                return bind_error(s);
        r = db_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) == 1 ? 0 : -EIO;
}

static int codes_replace(struct store *s, const char *user, const uint8_t (*hashes)[SEAL_HASH_BYTES], size_t n,
                         int64_t now)
{
        int r;

        r = user_add(s, user, now);
        if (r < 0)
                return r;
        r = exec_user(s, ST_CODE_DELETE_USER, user, NULL);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = code_insert(s, user, hashes[i], now);
        return r;
}

int store_replace_backup_codes(struct store *s, const char *user, const uint8_t (*hashes)[SEAL_HASH_BYTES], size_t n,
                               int64_t now)
{
        bool own;
        int r;

        if (!s || !user_ok(user) || (n > 0 && !hashes))
                return -EINVAL;
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        r = codes_replace(s, user, hashes, n, now);
        return store_op_end(s, own, r);
}

int store_use_backup_code(struct store *s, int64_t id, int64_t now)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = stmt_get(s, ST_CODE_USE, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK || sqlite3_bind_int64(st, 2, id) != SQLITE_OK)
                return bind_error(s);
        r = db_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) == 1 ? 0 : -ESTALE;
}

/* ---- failures --------------------------------------------------------------------- */

int store_add_failure(struct store *s, const char *user, const char *source, enum source_class cls, int64_t now)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        /* STORE_REMOTE_ALL and STORE_LOCAL_ALL name lockouts, never a place a failure came from. */
        if (!s || !user_ok(user) || !string_ok(source, STORE_SOURCE_MAX) || strcmp(source, STORE_REMOTE_ALL) == 0 ||
            strcmp(source, STORE_LOCAL_ALL) == 0 ||
            (cls != SOURCE_LOCAL && cls != SOURCE_REMOTE && cls != SOURCE_CONSOLE))
                return -EINVAL;
        r = stmt_get(s, ST_FAILURE_ADD, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int(st, 3, (int)cls) != SQLITE_OK || sqlite3_bind_int64(st, 4, now) != SQLITE_OK)
                return bind_error(s);
        return db_step_done(st);
}

static int bind_user_source(struct store *s, sqlite3_stmt *st, const char *user, const char *source)
{
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(s);
        if (source && sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(s);
        return 0;
}

/* The count a prepared count statement returns, bounded. */
static int step_count(sqlite3_stmt *st, unsigned *ret)
{
        int64_t count;
        int r;

        r = db_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -EIO;
        count = sqlite3_column_int64(st, 0);
        *ret = count > UINT_MAX ? UINT_MAX : (unsigned)count;
        return 0;
}

int store_count_failures(struct store *s, const char *user, const char *source, int64_t since, unsigned *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !user_ok(user) || !string_ok(source, STORE_SOURCE_MAX) || !ret)
                return -EINVAL;
        r = stmt_get(s, ST_FAILURE_COUNT_SOURCE, &st);
        if (r < 0)
                return r;
        r = bind_user_source(s, st, user, source);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 3, since) != SQLITE_OK)
                return bind_error(s);
        return step_count(st, ret);
}

int store_count_class_failures(struct store *s, const char *user, enum source_class cls, int64_t since, unsigned *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !user_ok(user) || !ret)
                return -EINVAL;
        r = stmt_get(s, ST_FAILURE_COUNT_CLASS, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int(st, 2, (int)cls) != SQLITE_OK || sqlite3_bind_int64(st, 3, since) != SQLITE_OK)
                return bind_error(s);
        return step_count(st, ret);
}

/* Delete rows of USER from SOURCE with one of two statements (per source, per user). */
static int delete_user_source(struct store *s, enum stmt_id by_source, enum stmt_id by_user, const char *user,
                              const char *source, unsigned *ret_changes)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(s, source ? by_source : by_user, &st);
        if (r < 0)
                return r;
        r = bind_user_source(s, st, user, source);
        if (r < 0)
                return r;
        r = db_step_done(st);
        if (r < 0)
                return r;
        if (ret_changes)
                *ret_changes = (unsigned)sqlite3_changes(s->db);
        return 0;
}

int store_clear_failures(struct store *s, const char *user, const char *source)
{
        if (!s || !user_ok(user) || (source && !string_ok(source, STORE_SOURCE_MAX)))
                return -EINVAL;
        return delete_user_source(s, ST_FAILURE_CLEAR_SOURCE, ST_FAILURE_CLEAR_ALL, user, source, NULL);
}

static int prune_one(struct store *s, enum stmt_id id, int64_t before)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 1, before) != SQLITE_OK)
                return bind_error(s);
        return db_step_done(st);
}

int store_prune(struct store *s, int64_t before)
{
        bool own;
        int r;

        if (!s)
                return -EINVAL;
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        r = prune_one(s, ST_FAILURE_PRUNE, before);
        if (r >= 0)
                r = prune_one(s, ST_LOCKOUT_PRUNE, before);
        if (r >= 0)
                r = prune_one(s, ST_GRANT_PRUNE, before);
        return store_op_end(s, own, r);
}

/* ---- lockouts --------------------------------------------------------------------- */

static int lockout_from_row(sqlite3_stmt *st, struct store_lockout *l)
{
        int r;

        r = copy_text(st, 0, l->source, sizeof(l->source));
        if (r < 0)
                return r;
        l->locked_at = sqlite3_column_int64(st, 1);
        l->until = sqlite3_column_int64(st, 2);
        return 0;
}

int store_get_lockout(struct store *s, const char *user, const char *source, struct store_lockout *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        struct store_lockout l;
        int r;

        if (!s || !user_ok(user) || !string_ok(source, STORE_SOURCE_MAX) || !ret)
                return -EINVAL;
        r = stmt_get(s, ST_LOCKOUT_GET, &st);
        if (r < 0)
                return r;
        r = bind_user_source(s, st, user, source);
        if (r < 0)
                return r;
        r = db_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        r = lockout_from_row(st, &l);
        if (r < 0)
                return r;
        *ret = l;
        return 0;
}

int store_set_lockout(struct store *s, const char *user, const char *source, int64_t locked_at, int64_t until)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !user_ok(user) || !string_ok(source, STORE_SOURCE_MAX))
                return -EINVAL;
        r = stmt_get(s, ST_LOCKOUT_SET, &st);
        if (r < 0)
                return r;
        r = bind_user_source(s, st, user, source);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 3, locked_at) != SQLITE_OK || sqlite3_bind_int64(st, 4, until) != SQLITE_OK)
                return bind_error(s);
        return db_step_done(st);
}

/* The rows of statement ID for USER valid at NOW (?1 user, ?2 now), each made by FROM_ROW
 * into an element of SIZE bytes of a malloc'd array. */
static int list_user_rows(struct store *s, enum stmt_id id, const char *user, int64_t now, size_t size,
                          int (*from_row)(sqlite3_stmt *st, void *elem), void **ret, size_t *ret_n)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        void *out = NULL;
        size_t n = 0;
        int r;

        if (!s || !user_ok(user) || !ret || !ret_n)
                return -EINVAL;
        r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, now) != SQLITE_OK)
                return bind_error(s);
        while ((r = db_step(st)) > 0) {
                r = grow(&out, n, size);
                if (r < 0)
                        break;
                r = from_row(st, (char *)out + n * size);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                free(out);
                return r;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

static int lockout_row(sqlite3_stmt *st, void *elem)
{
        return lockout_from_row(st, elem);
}

int store_list_lockouts(struct store *s, const char *user, int64_t now, struct store_lockout **ret, size_t *ret_n)
{
        return list_user_rows(s, ST_LOCKOUT_LIST, user, now, sizeof(**ret), lockout_row, (void **)ret, ret_n);
}

static int unlock_failures(struct store *s, const char *user, const char *source)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int cls = -1, r;

        /* Unlocking every remote source (every local terminal) forgets every failure of that
         * class, or the next one would lock the user out again at once. */
        if (source && strcmp(source, STORE_REMOTE_ALL) == 0)
                cls = SOURCE_REMOTE;
        else if (source && strcmp(source, STORE_LOCAL_ALL) == 0)
                cls = SOURCE_LOCAL;
        if (cls < 0)
                return delete_user_source(s, ST_FAILURE_CLEAR_SOURCE, ST_FAILURE_CLEAR_ALL, user, source, NULL);
        r = stmt_get(s, ST_FAILURE_CLEAR_CLASS, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK || sqlite3_bind_int(st, 2, cls) != SQLITE_OK)
                return bind_error(s);
        return db_step_done(st);
}

int store_unlock(struct store *s, const char *user, const char *given, unsigned *ret_n)
{
        char canon[STORE_SOURCE_MAX];
        const char *source = NULL;
        unsigned n = 0;
        bool own;
        int r;

        if (!s || !user_ok(user) || (given && !string_ok(given, STORE_SOURCE_MAX)))
                return -EINVAL;
        if (given) {
                /* "[192.0.2.1]:22" as an administrator may write it names the lockout of 192.0.2.1 */
                source_stored_canonical(given, canon, sizeof(canon));
                source = canon;
        }
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        r = delete_user_source(s, ST_LOCKOUT_DELETE_SOURCE, ST_LOCKOUT_DELETE_ALL, user, source, &n);
        if (r >= 0)
                r = unlock_failures(s, user, source);
        r = store_op_end(s, own, r);
        if (r < 0)
                return r;
        if (ret_n)
                *ret_n = n;
        return 0;
}

/* ---- devices by name, users, password history, notices (schema 2) ---- */

int store_remove_device(struct store *s, const char *user, const char *name)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !user_ok(user) || !name || !*name || strlen(name) >= STORE_NAME_MAX)
                return -EINVAL;
        r = stmt_get(s, ST_DEVICE_DELETE_NAMED, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(s);
        r = db_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

/* Rows of one text column of a statement whose parameters are bound, each at most MAX
 * bytes incl. NUL (longer ones: -EBADMSG). */
static int text_rows(sqlite3_stmt *st, size_t max, char **ret, size_t *ret_n)
{
        char *out = NULL;
        size_t n = 0;
        int r;

        while ((r = db_step(st)) > 0) {
                const unsigned char *t = sqlite3_column_text(st, 0);
                int len = sqlite3_column_bytes(st, 0);

                if (!t || len < 0 || (size_t)len >= max) {
                        r = -EBADMSG;
                        break;
                }
                r = grow((void **)&out, n, max);
                if (r < 0)
                        break;
                memset(out + n * max, 0, max);
                memcpy(out + n * max, t, (size_t)len);
                n++;
        }
        if (r < 0) {
                if (out)
                        seal_wipe(out, n * max);
                free(out);
                return r;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

int store_list_users(struct store *s, char (**ret)[STORE_USER_MAX], size_t *ret_n)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        char *out = NULL;
        size_t n = 0;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = stmt_get(s, ST_USER_LIST, &st);
        if (r < 0)
                return r;
        r = text_rows(st, STORE_USER_MAX, &out, &n);
        if (r < 0)
                return r;
        *ret = (char(*)[STORE_USER_MAX])out;
        *ret_n = n;
        return 0;
}

int store_add_password(struct store *s, const char *user, const char *hash, unsigned keep, int64_t now)
{
        bool own;
        int r;

        if (!s || !user_ok(user) || !hash || !*hash || strlen(hash) >= STORE_PWHASH_MAX || keep == 0)
                return -EINVAL;
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = stmt_get(s, ST_PWHIST_ADD, &st);
                if (r >= 0 && (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
                               sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC) != SQLITE_OK ||
                               sqlite3_bind_int64(st, 3, now) != SQLITE_OK))
                        r = bind_error(s);
                if (r >= 0)
                        r = db_step_done(st);
        }
        if (r >= 0) {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = stmt_get(s, ST_PWHIST_TRIM, &st);
                if (r >= 0 && (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
                               sqlite3_bind_int64(st, 2, keep) != SQLITE_OK))
                        r = bind_error(s);
                if (r >= 0)
                        r = db_step_done(st);
        }
        return store_op_end(s, own, r);
}

int store_list_passwords(struct store *s, const char *user, unsigned max, char (**ret)[STORE_PWHASH_MAX], size_t *ret_n)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        char *out = NULL;
        size_t n = 0;
        int r;

        if (!s || !user_ok(user) || !ret || !ret_n)
                return -EINVAL;
        r = stmt_get(s, ST_PWHIST_LIST, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, max) != SQLITE_OK)
                return bind_error(s);
        r = text_rows(st, STORE_PWHASH_MAX, &out, &n);
        if (r < 0)
                return r;
        *ret = (char(*)[STORE_PWHASH_MAX])out;
        *ret_n = n;
        return 0;
}

int store_add_notice(struct store *s, const char *user, const char *text, int64_t now)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !user_ok(user) || !text || !*text || strlen(text) >= STORE_NOTICE_MAX)
                return -EINVAL;
        r = stmt_get(s, ST_NOTICE_ADD, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 3, now) != SQLITE_OK)
                return bind_error(s);
        return db_step_done(st);
}

int store_take_notices(struct store *s, const char *user, char (**ret)[STORE_NOTICE_MAX], size_t *ret_n)
{
        char *out = NULL;
        size_t n = 0;
        bool own;
        int r;

        if (!s || !user_ok(user) || !ret || !ret_n)
                return -EINVAL;
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = stmt_get(s, ST_NOTICE_LIST, &st);
                if (r >= 0 && sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK)
                        r = bind_error(s);
                if (r >= 0)
                        r = text_rows(st, STORE_NOTICE_MAX, &out, &n);
        }
        if (r >= 0 && n > 0)
                r = exec_user(s, ST_NOTICE_DELETE, user, NULL);
        r = store_op_end(s, own, r);
        if (r < 0) {
                free(out);
                return r;
        }
        *ret = (char(*)[STORE_NOTICE_MAX])out;
        *ret_n = n;
        return 0;
}

/* ---- MFA policy grace periods (schema 3) ---- */

int store_get_grace(struct store *s, const char *user, int64_t *ret_started)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !user_ok(user) || !ret_started)
                return -EINVAL;
        r = stmt_get(s, ST_GRACE_GET, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(s);
        r = db_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        if (sqlite3_column_type(st, 0) != SQLITE_INTEGER)
                return -EBADMSG;
        *ret_started = sqlite3_column_int64(st, 0);
        return 0;
}

int store_grace_start(struct store *s, const char *user, int64_t now, int64_t *ret_started)
{
        int64_t started = 0;
        bool own;
        int r;

        if (!s || !user_ok(user) || !ret_started)
                return -EINVAL;
        r = store_op_begin(s, &own);
        if (r < 0)
                return r;
        {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = stmt_get(s, ST_GRACE_ADD, &st);
                if (r >= 0 && (sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK ||
                               sqlite3_bind_int64(st, 2, now) != SQLITE_OK))
                        r = bind_error(s);
                if (r >= 0)
                        r = db_step_done(st);
        }
        if (r >= 0)
                r = store_get_grace(s, user, &started);
        r = store_op_end(s, own, r);
        if (r < 0)
                return r;
        *ret_started = started;
        return 0;
}

int store_clear_grace(struct store *s, const char *user)
{
        if (!s || !user_ok(user))
                return -EINVAL;
        return exec_user(s, ST_GRACE_DELETE, user, NULL);
}

/* ---- remembered grants (schema 5) ---- */

static bool grant_key_ok(const struct store_grant_key *g)
{
        return g && user_ok(g->user) && g->source && strlen(g->source) < STORE_SOURCE_MAX && g->service &&
               strlen(g->service) < STORE_SERVICE_MAX && g->tty && strlen(g->tty) < STORE_SERVICE_MAX && g->session &&
               strlen(g->session) < STORE_SERVICE_MAX;
}

static int bind_grant_key(struct store *s, sqlite3_stmt *st, const struct store_grant_key *g)
{
        if (sqlite3_bind_text(st, 1, g->user, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, g->source, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 3, g->service, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 4, g->tty, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 5, g->session, -1, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(s);
        return 0;
}

int store_add_grant(struct store *s, const struct store_grant_key *g, const uint8_t pwfp[SEAL_HASH_BYTES],
                    int64_t now, int64_t expires)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !grant_key_ok(g) || !pwfp || expires <= now)
                return -EINVAL;
        r = stmt_get(s, ST_GRANT_ADD, &st);
        if (r < 0)
                return r;
        r = bind_grant_key(s, st, g);
        if (r < 0)
                return r;
        if (sqlite3_bind_blob(st, 6, pwfp, SEAL_HASH_BYTES, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 7, now) != SQLITE_OK || sqlite3_bind_int64(st, 8, expires) != SQLITE_OK)
                return bind_error(s);
        return db_step_done(st);
}

static int grant_from_row(sqlite3_stmt *st, struct store_grant *g)
{
        int r;

        *g = (struct store_grant){0};
        r = copy_text(st, 0, g->source, sizeof(g->source));
        if (r >= 0)
                r = copy_text(st, 1, g->service, sizeof(g->service));
        if (r >= 0)
                r = copy_text(st, 2, g->tty, sizeof(g->tty));
        if (r < 0)
                return r;
        g->granted = sqlite3_column_int64(st, 3);
        g->expires = sqlite3_column_int64(st, 4);
        if (sqlite3_column_bytes(st, 5) == SEAL_HASH_BYTES)
                memcpy(g->pwfp, sqlite3_column_blob(st, 5), SEAL_HASH_BYTES);
        return 0;
}

int store_find_grant(struct store *s, const struct store_grant_key *g, int64_t now, struct store_grant *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !grant_key_ok(g) || !ret)
                return -EINVAL;
        r = stmt_get(s, ST_GRANT_FIND, &st);
        if (r < 0)
                return r;
        r = bind_grant_key(s, st, g);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 6, now) != SQLITE_OK)
                return bind_error(s);
        r = db_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        if (sqlite3_column_bytes(st, 5) != SEAL_HASH_BYTES)
                return -EBADMSG;
        return grant_from_row(st, ret);
}

static int grant_row(sqlite3_stmt *st, void *elem)
{
        return grant_from_row(st, elem);
}

int store_list_grants(struct store *s, const char *user, int64_t now, struct store_grant **ret, size_t *ret_n)
{
        return list_user_rows(s, ST_GRANT_LIST, user, now, sizeof(**ret), grant_row, (void **)ret, ret_n);
}

int store_forget_grants(struct store *s, const char *user, unsigned *ret_n)
{
        if (!s || !user_ok(user))
                return -EINVAL;
        return exec_user(s, ST_GRANT_DELETE_USER, user, ret_n);
}

bool store_in_transaction(struct store *s)
{
        return s && !sqlite3_get_autocommit(s->db);
}
