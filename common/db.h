/* SPDX-License-Identifier: MIT */
/* SQLite plumbing shared by mlsec's two databases: credentials.db (common/store.c) and
 * activity.db (mlsecd/activity.c), the only two users. Result codes as negative errno,
 * statements prepared once per handle and reset when their caller is done with them. The
 * SQL itself stays in those two files. Never logs. */
#pragma once

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* SQLITE_OK/ROW/DONE -> 0; NOMEM -> -ENOMEM; BUSY/LOCKED -> -EBUSY; NOTADB/CORRUPT ->
 * -EBADMSG; READONLY/PERM/AUTH -> -EACCES; FULL -> -ENOSPC; anything else -> -EIO. */
int db_errno(int rc);

/* db_errno, with what the kernel said where SQLite's code hides it: -EROFS (a read-only
 * file system, also when SQLite fell back to a read-only open), -ENOSPC, -EDQUOT, -ENOENT,
 * -EACCES (no permission). The step, exec and prepare helpers below use it. */
int db_errno_in(sqlite3 *db, int rc);

/* Reset and unbind a statement: none keeps a read snapshot open or a caller's buffer bound. */
void db_stmt_resetp(sqlite3_stmt **st);
#define _cleanup_reset_ __attribute__((cleanup(db_stmt_resetp)))

/* *SLOT, prepared (persistent) from SQL on first use. */
int db_stmt_cached(sqlite3 *db, sqlite3_stmt **slot, const char *sql);

/* 1 for a row, 0 when done, < 0 on error. */
int db_step(sqlite3_stmt *st);
/* A step that must not return a row. */
int db_step_done(sqlite3_stmt *st);

/* Run a script of statements without parameters. */
int db_exec(sqlite3 *db, const char *sql);

/* DIR/NAME into OUT; a relative DIR gets "./" so that it is never taken as a "file:" URI.
 * -ENAMETOOLONG when it does not fit. */
int db_path(const char *dir, const char *name, char *out, size_t outlen);

/* PRAGMA user_version: the schema version the migrations keep. */
int db_user_version(sqlite3 *db, int64_t *ret);

/* Register mlsec_source(TEXT) on DB for migration scripts: source_stored_canonical's
 * spelling of a stored source or address (DIRECTONLY: never callable from a schema). */
int db_register_source_function(sqlite3 *db);
