/* SPDX-License-Identifier: MIT */
/* db.c: the SQLite plumbing of both databases. The error mapping that callers turn into
 * messages, statements prepared once and reused, stepping and scripts, on an in-memory
 * database. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db.h"

static void test_errno_mapping(void **state)
{
        assert_int_equal(db_errno(SQLITE_OK), 0);
        assert_int_equal(db_errno(SQLITE_DONE), 0);
        assert_int_equal(db_errno(SQLITE_NOMEM), -ENOMEM);
        assert_int_equal(db_errno(SQLITE_BUSY), -EBUSY);
        assert_int_equal(db_errno(SQLITE_BUSY_SNAPSHOT), -EBUSY); /* extended codes too */
        assert_int_equal(db_errno(SQLITE_NOTADB), -EBADMSG);
        assert_int_equal(db_errno(SQLITE_CORRUPT), -EBADMSG);
        assert_int_equal(db_errno(SQLITE_READONLY), -EACCES);
        assert_int_equal(db_errno(SQLITE_FULL), -ENOSPC);
        assert_int_equal(db_errno(SQLITE_IOERR_FSYNC), -EIO);
        assert_int_equal(db_errno(SQLITE_CONSTRAINT), -EIO);
}

static void test_cached_statement_and_steps(void **state)
{
        sqlite3 *db = NULL;
        sqlite3_stmt *slot = NULL, *first;

        assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
        assert_int_equal(db_exec(db, "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2);"), 0);
        assert_int_equal(db_stmt_cached(db, &slot, "SELECT x FROM t ORDER BY x"), 0);
        first = slot;
        assert_non_null(first);
        assert_int_equal(db_stmt_cached(db, &slot, "SELECT x FROM t ORDER BY x"), 0);
        assert_ptr_equal(slot, first); /* prepared once */
        {
                _cleanup_reset_ sqlite3_stmt *st = slot;
                assert_int_equal(db_step(st), 1);
                assert_int_equal(sqlite3_column_int(st, 0), 1);
                assert_int_equal(db_step(st), 1);
                assert_int_equal(db_step(st), 0);
        }
        /* reset by the cleanup: it starts again from the first row */
        assert_int_equal(db_step(slot), 1);
        assert_int_equal(sqlite3_column_int(slot, 0), 1);
        assert_int_equal(db_step_done(slot), -EIO); /* a row where none may come */
        sqlite3_finalize(slot);
        sqlite3_close(db);
}

static void test_errors(void **state)
{
        sqlite3 *db = NULL;
        sqlite3_stmt *slot = NULL;

        assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
        assert_int_equal(db_exec(db, "this is not sql"), -EIO);
        assert_int_equal(db_stmt_cached(db, &slot, "SELECT nope FROM nowhere"), -EIO);
        assert_null(slot);
        sqlite3_close(db);
}

static void test_path_and_version(void **state)
{
        char buf[32];
        sqlite3 *db = NULL;
        int64_t v = -1;

        assert_int_equal(db_path("/var/lib/mlsec", "x.db", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "/var/lib/mlsec/x.db");
        assert_int_equal(db_path("file:evil", "x.db", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "./file:evil/x.db"); /* never a URI */
        assert_int_equal(db_path("/a/very/long/state/directory", "x.db", buf, sizeof(buf)), -ENAMETOOLONG);

        assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
        assert_int_equal(db_user_version(db, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(db_exec(db, "PRAGMA user_version = 7;"), 0);
        assert_int_equal(db_user_version(db, &v), 0);
        assert_int_equal(v, 7);
        sqlite3_close(db);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_errno_mapping),
                cmocka_unit_test(test_cached_statement_and_steps),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_path_and_version),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
