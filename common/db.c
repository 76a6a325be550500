/* SPDX-License-Identifier: MIT */
/* The SQLite calls both of mlsec's databases make the same way: error mapping, cached
 * statements, stepping, scripts. Written once here so that store.c and activity.c keep
 * only their own SQL and rules. It never logs. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "db.h"
#include "source.h"

int db_errno(int rc)
{
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
                return -EBADMSG;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_FULL:
                return -ENOSPC;
        default: /* SQLITE_CANTOPEN, SQLITE_IOERR and whatever else */
                return -EIO;
        }
}

int db_errno_in(sqlite3 *db, int rc)
{
        int r = db_errno(rc), e;
        struct statvfs vfs;
        const char *file;

        if (r != -EACCES && r != -EIO && r != -ENOSPC)
                return r;
        /* what the kernel said, where SQLite's own code hides it */
        e = db ? sqlite3_system_errno(db) : 0;
        if (e == EROFS || e == ENOSPC || e == EDQUOT || e == ENOENT)
                return -e;
        if (e == EACCES || e == EPERM)
                return -EACCES;
        /* SQLite fell back to a read-only open earlier, and now refuses the write itself */
        file = db ? sqlite3_db_filename(db, "main") : NULL;
        if ((rc & 0xff) == SQLITE_READONLY && file && *file && statvfs(file, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
                return -EROFS;
        return r;
}

void db_stmt_resetp(sqlite3_stmt **st)
{
        if (*st) {
                (void)sqlite3_reset(*st);
                (void)sqlite3_clear_bindings(*st);
        }
}

int db_stmt_cached(sqlite3 *db, sqlite3_stmt **slot, const char *sql)
{
        int rc;

        if (*slot)
                return 0;
        rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
        if (rc != SQLITE_OK) {
                *slot = NULL;
                return db_errno_in(db, rc) ?: -EIO;
        }
        return 0;
}

int db_step(sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return db_errno_in(sqlite3_db_handle(st), rc) ?: -EIO;
}

int db_step_done(sqlite3_stmt *st)
{
        int r = db_step(st);

        return r > 0 ? -EIO : r;
}

int db_exec(sqlite3 *db, const char *sql)
{
        return db_errno_in(db, sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int db_path(const char *dir, const char *name, char *out, size_t outlen)
{
        int n = snprintf(out, outlen, "%s%s/%s", dir[0] == '/' ? "" : "./", dir, name);

        if (n < 0)
                return -EINVAL;
        if ((size_t)n >= outlen)
                return -ENAMETOOLONG;
        return 0;
}

int db_user_version(sqlite3 *db, int64_t *ret)
{
        sqlite3_stmt *st = NULL;
        int r;

        r = db_errno(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL));
        if (r >= 0) {
                r = db_step(st);
                if (r == 0)
                        r = -EIO;
                if (r > 0) {
                        *ret = sqlite3_column_int64(st, 0);
                        r = 0;
                }
        }
        (void)sqlite3_finalize(st);
        return r;
}

static void source_function(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
        const unsigned char *in = sqlite3_value_text(argv[0]);
        char out[SOURCE_MAX];

        if (!in || sqlite3_value_bytes(argv[0]) >= SOURCE_MAX) {
                sqlite3_result_value(ctx, argv[0]);
                return;
        }
        source_stored_canonical((const char *)in, out, sizeof(out));
        sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

int db_register_source_function(sqlite3 *db)
{
        return db_errno(sqlite3_create_function_v2(db, "mlsec_source", 1,
                                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                                   source_function, NULL, NULL, NULL));
}
