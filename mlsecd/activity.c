/* SPDX-License-Identifier: MIT */
/* activity.db on SQLite: login attempts, sessions and the keyed audit hash chain, with the
 * checks on the state directory and the file, the schema migrations and one cached prepared
 * statement per query. The only file of mlsecd that includes <sqlite3.h>; SQLite result
 * codes become negative errno values here. It never logs, never aborts, never builds SQL
 * from strings, and never keeps a copy of the chain key. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"

#include "activity.h"

#define BUSY_TIMEOUT_MS 10000
#define INITIAL_ROWS    64

/* The spelling of each event kind in the kind column. It is part of the stored schema (the
 * CHECK below and the partial indexes spell it too), so it is written here and not taken
 * from event.c, whose names may change without touching databases in the field. */
static const char *const place_sql[] = {
        [GEO_FOUND] = "found",       [GEO_UNKNOWN] = "unknown",          [GEO_PRIVATE] = "private",
        [GEO_LOOPBACK] = "loopback", [GEO_NOT_AN_IP] = "not-an-address",
};
#define N_PLACE_KINDS (sizeof(place_sql) / sizeof(place_sql[0]))

static const char *const kind_sql[_EVENT_KIND_MAX] = {
        [EVENT_AUTH] = "auth",
        [EVENT_SESSION_OPEN] = "session-open",
        [EVENT_SESSION_CLOSE] = "session-close",
        [EVENT_AUDIT] = "audit", /* never in events: the audit table holds those */
};

/* migrations[i] moves the schema from version i to i + 1 and ends by recording it. Append
 * only: a shipped script is never edited, since databases in the field already ran it.
 * Exactly-once is the one UNIQUE(event_id) of events (auth, session open and close) and of
 * audit. The partial indexes walk only the rows a list asks for (logins, failed logins, open
 * sessions), whatever else the table holds. Those that share columns with a wider index
 * repeat the filtered column (result, closed_us) so that the query planner, which runs
 * without statistics here, prefers them for the equality they add, not by chance. */
static const char *const migrations[] = {
        "CREATE TABLE events("
        "  id INTEGER PRIMARY KEY,"
        "  event_id TEXT NOT NULL UNIQUE,"
        "  kind TEXT NOT NULL CHECK(kind IN ('auth', 'session-open', 'session-close')),"
        "  time_us INTEGER NOT NULL,"
        "  user TEXT NOT NULL,"
        "  uid INTEGER NOT NULL,"
        "  service TEXT NOT NULL,"
        "  rhost TEXT NOT NULL,"
        "  ip TEXT NOT NULL,"
        "  tty TEXT NOT NULL,"
        "  method TEXT NOT NULL,"
        "  result TEXT NOT NULL,"
        "  reason TEXT NOT NULL,"
        "  session TEXT NOT NULL,"
        "  pid INTEGER NOT NULL);"
        "CREATE INDEX events_time ON events(time_us);"
        "CREATE INDEX events_login_user ON events(user, time_us) WHERE kind = 'auth';"
        "CREATE INDEX events_failed_user ON events(user, result, time_us) WHERE kind = 'auth' AND result = 'fail';"
        "CREATE INDEX events_failed ON events(result, time_us) WHERE kind = 'auth' AND result = 'fail';"
        "CREATE TABLE sessions("
        "  id INTEGER PRIMARY KEY,"
        "  logind_id TEXT NOT NULL,"
        "  user TEXT NOT NULL,"
        "  uid INTEGER NOT NULL,"
        "  service TEXT NOT NULL,"
        "  tty TEXT NOT NULL,"
        "  rhost TEXT NOT NULL,"
        "  ip TEXT NOT NULL,"
        "  pid INTEGER NOT NULL,"
        "  opened_us INTEGER NOT NULL,"
        "  closed_us INTEGER NOT NULL DEFAULT 0,"
        "  end_reason TEXT NOT NULL DEFAULT '',"
        "  ended_by_uid INTEGER NOT NULL DEFAULT -1);"
        /* at most one open session per logind id: logind reuses ids after a reboot */
        "CREATE UNIQUE INDEX sessions_open_logind ON sessions(logind_id)"
        "  WHERE closed_us = 0 AND logind_id != '';"
        "CREATE INDEX sessions_user ON sessions(user, opened_us);"
        "CREATE INDEX sessions_user_open ON sessions(user, closed_us, opened_us) WHERE closed_us = 0;"
        "CREATE INDEX sessions_opened ON sessions(opened_us);"
        "CREATE INDEX sessions_open ON sessions(closed_us, opened_us) WHERE closed_us = 0;"
        "CREATE TABLE audit("
        "  seq INTEGER PRIMARY KEY,"
        "  event_id TEXT NOT NULL UNIQUE,"
        "  time_us INTEGER NOT NULL,"
        "  actor_uid INTEGER NOT NULL,"
        "  user TEXT NOT NULL,"
        "  action TEXT NOT NULL,"
        "  detail TEXT NOT NULL,"
        "  hash BLOB NOT NULL);"
        "CREATE INDEX audit_user ON audit(user, seq);"
        "PRAGMA user_version = 1;",
        /* 2: where a login came from, as the geo database said when it was stored. NULL
         * geo_kind: stored before this (or without a lookup); the other columns are then NULL
         * too. Coordinates are NULL when the database had none. */
        "ALTER TABLE events ADD COLUMN geo_kind TEXT"
        "  CHECK(geo_kind IS NULL OR geo_kind IN ('found', 'unknown', 'private', 'loopback', 'not-an-address'));"
        "ALTER TABLE events ADD COLUMN geo_country TEXT;"
        "ALTER TABLE events ADD COLUMN geo_country_name TEXT;"
        "ALTER TABLE events ADD COLUMN geo_city TEXT;"
        "ALTER TABLE events ADD COLUMN geo_latitude REAL;"
        "ALTER TABLE events ADD COLUMN geo_longitude REAL;"
        "PRAGMA user_version = 2;",
        /* 3: alerts, from the suspicious-activity rules (kind: the rule) and from users who
         * report one of their own events (kind 'user-report'). One alert per kind and event:
         * an event judged twice raises nothing twice. Kept when the events are pruned. */
        "CREATE TABLE alerts("
        "  id INTEGER PRIMARY KEY,"
        "  time_us INTEGER NOT NULL,"
        "  user TEXT NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  event_id TEXT NOT NULL,"
        "  detail TEXT NOT NULL,"
        "  note TEXT NOT NULL DEFAULT '',"
        "  reporter_uid INTEGER NOT NULL DEFAULT -1,"
        "  acked_us INTEGER NOT NULL DEFAULT 0,"
        "  acked_by_uid INTEGER NOT NULL DEFAULT -1,"
        "  UNIQUE(kind, event_id));"
        "CREATE INDEX alerts_user ON alerts(user, time_us);"
        "CREATE INDEX alerts_time ON alerts(time_us);"
        "CREATE INDEX alerts_user_open ON alerts(user, acked_us, time_us) WHERE acked_us = 0;"
        "CREATE INDEX events_ok_user ON events(user, result, time_us) WHERE kind = 'auth' AND result = 'ok';"
        "PRAGMA user_version = 3;",
        /* 4: one address, one place (source.c): rhost and ip in their canonical spelling, so
         * the rules, the notice and the history see one address where PAM wrote several.
         * Needs mlsec_source (db.c). */
        "UPDATE events SET rhost = mlsec_source(rhost) WHERE rhost != '' AND rhost != mlsec_source(rhost);"
        "UPDATE events SET ip = mlsec_source(ip) WHERE ip != '' AND ip != mlsec_source(ip);"
        "UPDATE sessions SET rhost = mlsec_source(rhost) WHERE rhost != '' AND rhost != mlsec_source(rhost);"
        "UPDATE sessions SET ip = mlsec_source(ip) WHERE ip != '' AND ip != mlsec_source(ip);"
        "PRAGMA user_version = 4;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == ACTIVITY_SCHEMA_VERSION,
               "one migration script per schema version");

#define EVENT_COLS "event_id, time_us, user, uid, service, rhost, ip, tty, method, result, reason, session, pid"
/* after EVENT_COLS in the login lists: columns 13 to 18 */
#define PLACE_COLS  "geo_kind, geo_country, geo_country_name, geo_city, geo_latitude, geo_longitude"
#define LOGIN_COLS  EVENT_COLS ", " PLACE_COLS
#define PLACE_FIRST 13
#define SESSION_COLS                                                                                                   \
        "id, logind_id, user, uid, service, tty, rhost, ip, pid, opened_us, closed_us, end_reason, ended_by_uid"
#define AUDIT_COLS   "seq, time_us, actor_uid, user, action, detail, event_id"
#define ALERT_COLS   "id, time_us, user, kind, event_id, detail, note, reporter_uid, acked_us, acked_by_uid"
#define NEWEST_ALERT " ORDER BY time_us DESC, id DESC LIMIT ?2"
#define NEWEST_LOGIN " ORDER BY time_us DESC, id DESC LIMIT ?2"
#define NEWEST_SESS  " ORDER BY opened_us DESC, id DESC LIMIT ?2"
#define SESSION_SET  "UPDATE sessions SET closed_us = ?2, end_reason = ?3, ended_by_uid = ?4"
#define NEWEST_ONE   " ORDER BY time_us DESC, id DESC LIMIT 1"
#define NEWEST_N     " ORDER BY time_us DESC, id DESC LIMIT ?5"
/* The one rule of which login attempts count as a login, wherever activity.db is asked for
 * one (the overview's and the user list's last login, the login notice, the rules' previous
 * success, the places seen): an auth row that got through the auth stack, "ok" (whatever the
 * method), or "skipped" (no MFA, let through under unenrolled = allow) unless the account
 * stack refused it right after. pam_mlsec's account.c reports such a refusal as a failed
 * attempt (its REASON_* words) of the same user, service and remote host, the next attempt
 * from there and within seconds; then nobody got in. Failed attempts are counted apart, each
 * refusal among them. For an unaliased events row. The refusal is looked up on the index of
 * failed logins from the skipped row on: the first failure after it is the refusal when
 * there is one, and a user without MFA has few other failures to walk past. */
#define LOGIN_REFUSAL_WINDOW_US "30000000"
#define LOGIN_OK                                                                                                       \
        "(result = 'ok' OR (result = 'skipped' AND NOT EXISTS (SELECT 1 FROM events AS refusal"                        \
        " WHERE refusal.kind = 'auth' AND refusal.result = 'fail' AND refusal.user = events.user"                      \
        " AND refusal.time_us >= events.time_us AND refusal.time_us <= events.time_us + " LOGIN_REFUSAL_WINDOW_US      \
        " AND refusal.reason IN ('mfa-required', 'grace-expired', 'policy-error')"                                     \
        " AND refusal.service = events.service AND refusal.rhost = events.rhost"                                       \
        " AND NOT EXISTS (SELECT 1 FROM events AS other WHERE other.kind = 'auth' AND other.user = events.user"        \
        " AND other.time_us > events.time_us AND other.time_us < refusal.time_us"                                      \
        " AND other.service = events.service AND other.rhost = events.rhost))))"
/* where a login came from: its client address, else its remote host */
#define LOGIN_ADDR "(CASE WHEN ip != '' THEN ip ELSE rhost END)"
/* USER's successful logins since ?2 but the one with event id ?3 */
#define SEEN_WHERE "kind = 'auth' AND user = ?1 AND " LOGIN_OK " AND time_us >= ?2 AND event_id != ?3"

enum stmt_id {
        ST_BEGIN,
        ST_COMMIT,
        ST_ROLLBACK,
        ST_SAVEPOINT,
        ST_RELEASE,
        ST_ROLLBACK_TO,
        ST_SET_WAL,
        ST_EVENT_ADD,
        ST_HISTORY_USER,
        ST_HISTORY_USER_FAILED,
        ST_HISTORY_ALL,
        ST_HISTORY_ALL_FAILED,
        ST_SESSION_ADD,
        ST_SESSION_END,
        ST_SESSION_CLOSE_FALLBACK,
        ST_SESSION_GET,
        ST_SESSION_IDS,
        ST_SESSIONS_USER,
        ST_SESSIONS_USER_OPEN,
        ST_SESSIONS_ALL,
        ST_SESSIONS_ALL_OPEN,
        ST_AUDIT_LAST,
        ST_AUDIT_ADD,
        ST_AUDIT_USER,
        ST_AUDIT_ALL,
        ST_AUDIT_WALK,
        ST_PRUNE_EVENTS,
        ST_PRUNE_SESSIONS,
        ST_USERS,
        ST_USERS_TOTAL,
        ST_LAST_LOGIN,
        ST_COUNT_FAILED,
        ST_PREV_SUCCESS,
        ST_PREV_LOCATED,
        ST_LAST_LOCKOUT,
        ST_EVENT_FIND,
        ST_ALERT_ADD,
        ST_ALERT_RECENT,
        ST_ALERT_ACK,
        ST_ALERT_GET,
        ST_ALERTS_USER,
        ST_ALERTS_USER_OPEN,
        ST_ALERTS_ALL,
        ST_ALERTS_ALL_OPEN,
        ST_ALERTS_COUNT_OPEN,
        ST_LOGIN_GET,
        ST_RECENT_LOGIN,
        ST_PREVIOUS_LOGIN,
        ST_FAILURES_COUNT,
        ST_FAILURES_LAST,
        ST_SEEN_COUNTRY,
        ST_SEEN_ADDRESSES,
        _ST_MAX,
};

static const char *const stmt_sql[_ST_MAX] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_SAVEPOINT] = "SAVEPOINT activity_op",
        [ST_RELEASE] = "RELEASE activity_op",
        [ST_ROLLBACK_TO] = "ROLLBACK TO activity_op",
        [ST_SET_WAL] = "PRAGMA journal_mode = WAL",
        [ST_EVENT_ADD] = "INSERT INTO events(event_id, kind, time_us, user, uid, service, rhost, ip, tty, method,"
                         " result, reason, session, pid, " PLACE_COLS ")"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                         " ?15, ?16, ?17, ?18, ?19, ?20)"
                         " ON CONFLICT(event_id) DO NOTHING",
        /* kind and result are literals, not parameters, so the partial indexes apply */
        [ST_HISTORY_USER] = "SELECT " LOGIN_COLS " FROM events WHERE kind = 'auth' AND user = ?1" NEWEST_LOGIN,
        [ST_HISTORY_USER_FAILED] = "SELECT " LOGIN_COLS " FROM events"
                                   " WHERE kind = 'auth' AND result = 'fail' AND user = ?1" NEWEST_LOGIN,
        [ST_HISTORY_ALL] = "SELECT " LOGIN_COLS " FROM events WHERE kind = 'auth'" NEWEST_LOGIN,
        [ST_HISTORY_ALL_FAILED] = "SELECT " LOGIN_COLS " FROM events"
                                  " WHERE kind = 'auth' AND result = 'fail'" NEWEST_LOGIN,
        [ST_SESSION_ADD] = "INSERT INTO sessions(logind_id, user, uid, service, tty, rhost, ip, pid, opened_us)"
                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        [ST_SESSION_END] = SESSION_SET " WHERE logind_id = ?1 AND logind_id != '' AND closed_us = 0",
        /* ?5: the close event's logind id. Without one, any open session of the same user,
         * service and tty; with one that matched nothing, only a session opened before
         * logind gave it an id, never a session that has another id. */
        [ST_SESSION_CLOSE_FALLBACK] = SESSION_SET " WHERE id = (SELECT id FROM sessions"
                                                  " WHERE closed_us = 0 AND user = ?1 AND service = ?5 AND tty = ?6"
                                                  " AND (?7 = '' OR logind_id = '')"
                                                  " ORDER BY opened_us DESC, id DESC LIMIT 1)",
        [ST_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions"
                           " WHERE logind_id = ?1 AND logind_id != '' AND closed_us = 0",
        [ST_SESSION_IDS] = "SELECT logind_id FROM sessions WHERE closed_us = 0 AND logind_id != ''"
                           " ORDER BY logind_id",
        [ST_SESSIONS_USER] = "SELECT " SESSION_COLS " FROM sessions WHERE user = ?1" NEWEST_SESS,
        [ST_SESSIONS_USER_OPEN] = "SELECT " SESSION_COLS " FROM sessions WHERE user = ?1 AND closed_us = 0" NEWEST_SESS,
        [ST_SESSIONS_ALL] = "SELECT " SESSION_COLS " FROM sessions" NEWEST_SESS,
        [ST_SESSIONS_ALL_OPEN] = "SELECT " SESSION_COLS " FROM sessions WHERE closed_us = 0" NEWEST_SESS,
        [ST_AUDIT_LAST] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
        [ST_AUDIT_ADD] = "INSERT INTO audit(seq, time_us, actor_uid, user, action, detail, event_id, hash)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(event_id) DO NOTHING",
        [ST_AUDIT_USER] = "SELECT " AUDIT_COLS " FROM audit WHERE user = ?1 ORDER BY seq DESC LIMIT ?2",
        [ST_AUDIT_ALL] = "SELECT " AUDIT_COLS " FROM audit ORDER BY seq DESC LIMIT ?2",
        [ST_AUDIT_WALK] = "SELECT " AUDIT_COLS ", hash FROM audit ORDER BY seq",
        [ST_PRUNE_EVENTS] = "DELETE FROM events WHERE time_us < ?1",
        /* a session closes after it opens: opened_us < ?1 lets the index find them */
        [ST_PRUNE_SESSIONS] = "DELETE FROM sessions WHERE opened_us < ?1 AND closed_us > 0 AND closed_us < ?1",
        /* every name of a login row, once (GROUP BY on the login index), with its attempts,
         * the source of the newest (a bare column of max(): that row's), whether one was
         * recorded with a uid, and its newest login not through ?1 (again max()'s row). Names
         * seen as accounts first, so that LIMIT ?2 cuts the others. */
        [ST_USERS] = "SELECT n.user, n.attempts, n.last_us, n.last_from, n.with_uid,"
                     " l.time_us, l.service, l.rhost, l.ip, l.tty"
                     " FROM (SELECT user, count(*) AS attempts, max(time_us) AS last_us,"
                     " (CASE WHEN ip != '' THEN ip WHEN rhost != '' THEN rhost ELSE tty END) AS last_from,"
                     " sum(uid >= 0) AS with_uid"
                     " FROM events WHERE kind = 'auth' AND user != '' GROUP BY user) AS n"
                     " LEFT JOIN (SELECT user, max(time_us) AS time_us, service, rhost, ip, tty FROM events"
                     " WHERE kind = 'auth' AND user != '' AND " LOGIN_OK " AND service != ?1 GROUP BY user) AS l"
                     " ON l.user = n.user"
                     " ORDER BY n.with_uid = 0, n.user LIMIT ?2",
        [ST_USERS_TOTAL] = "SELECT count(DISTINCT user), count(*) FROM events WHERE kind = 'auth' AND user != ''",
        [ST_LAST_LOGIN] = "SELECT " LOGIN_COLS " FROM events WHERE kind = 'auth' AND user = ?1 AND " LOGIN_OK
                          " AND service != ?2 ORDER BY time_us DESC, id DESC LIMIT 1",
        [ST_COUNT_FAILED] = "SELECT count(*) FROM events"
                            " WHERE kind = 'auth' AND result = 'fail' AND user = ?1 AND time_us > ?2",
        /* ?2: at or before this time, ?3: not this event, ?4: not this service */
        [ST_PREV_SUCCESS] = "SELECT " LOGIN_COLS " FROM events WHERE kind = 'auth' AND " LOGIN_OK " AND user = ?1"
                            " AND time_us <= ?2 AND event_id != ?3 AND service != ?4"
                            " ORDER BY time_us DESC, id DESC LIMIT 1",
        [ST_PREV_LOCATED] = "SELECT " LOGIN_COLS " FROM events WHERE kind = 'auth' AND " LOGIN_OK " AND user = ?1"
                            " AND time_us <= ?2 AND event_id != ?3 AND service != ?4"
                            " AND geo_latitude IS NOT NULL AND geo_longitude IS NOT NULL"
                            " ORDER BY time_us DESC, id DESC LIMIT 1",
        /* a lockout begun (the module's audit entry) or a login refused because locked */
        [ST_LAST_LOCKOUT] = "SELECT max(t) FROM ("
                            "SELECT max(time_us) AS t FROM audit WHERE user = ?1 AND action = 'lockout'"
                            " AND time_us > ?3 AND time_us <= ?2"
                            " UNION ALL SELECT max(time_us) FROM events WHERE kind = 'auth' AND result = 'fail'"
                            " AND user = ?1 AND reason = 'locked' AND time_us > ?3 AND time_us <= ?2)",
        /* the login notice: a successful login is an auth row with result ok or skipped */
        [ST_LOGIN_GET] = "SELECT " LOGIN_COLS " FROM events WHERE event_id = ?1 AND kind = 'auth' AND user = ?2"
                         " AND " LOGIN_OK,
        /* the same source: the client address (?3) or the remote host (?5) agree, or neither
         * side has either; an address seen at authentication but not at session open (or the
         * other way round) still matches by the remote host */
        [ST_RECENT_LOGIN] = "SELECT " LOGIN_COLS " FROM events WHERE kind = 'auth' AND user = ?1 AND " LOGIN_OK
                            " AND service = ?2 AND time_us >= ?4"
                            " AND ((?3 != '' AND ip = ?3) OR (?5 != '' AND rhost = ?5)"
                            " OR (?3 = '' AND ?5 = '' AND ip = '' AND rhost = ''))" NEWEST_ONE,
        /* ?3: the current login's event id ('' for none), of which only older rows count */
        [ST_PREVIOUS_LOGIN] =
                "SELECT " LOGIN_COLS " FROM events WHERE kind = 'auth' AND user = ?1 AND " LOGIN_OK " AND service != ?2"
                " AND (?3 = '' OR (time_us, id) < (SELECT time_us, id FROM events WHERE event_id = ?3))" NEWEST_ONE,
        /* counted up to ?5: an attack's millions of attempts cost no more than that */
        [ST_FAILURES_COUNT] = "SELECT count(*) FROM (SELECT 1 FROM events WHERE kind = 'auth' AND result = 'fail'"
                              " AND user = ?1 AND time_us > ?2 AND time_us < ?3 AND (?4 = '' OR service != ?4)"
                              " LIMIT ?5)",
        [ST_FAILURES_LAST] = "SELECT " LOGIN_COLS " FROM events WHERE kind = 'auth' AND result = 'fail' AND user = ?1"
                             " AND time_us > ?2 AND time_us < ?3 AND (?4 = '' OR service != ?4)" NEWEST_ONE,
        /* over the newest ?5 of them only: the work per notice stays bounded for an account
         * that logs in every minute */
        [ST_SEEN_COUNTRY] = "SELECT coalesce(max(geo_kind = 'found' AND geo_country != ''), 0),"
                            " coalesce(max(geo_kind = 'found' AND geo_country = ?4), 0)"
                            " FROM (SELECT geo_kind, geo_country FROM events WHERE " SEEN_WHERE NEWEST_N ")",
        [ST_SEEN_ADDRESSES] = "SELECT DISTINCT addr FROM (SELECT " LOGIN_ADDR " AS addr FROM events WHERE " SEEN_WHERE
                              " AND (ip != '' OR rhost != '')" NEWEST_N ")",
        /* the ids that start with a prefix: [?1, ?2) with ?2 the prefix and a 'g' (above every
         * hex digit). Only USER's (?3, by name, and by uid ?4 where the row knows one): another
         * user's can neither match nor make a prefix ambiguous. "+user" keeps the planner on
         * the event_id index, not on the walk of every login of the user. */
        [ST_EVENT_FIND] = "SELECT " LOGIN_COLS " FROM events WHERE event_id >= ?1 AND event_id < ?2"
                          " AND kind = 'auth' AND +user = ?3 AND (uid < 0 OR uid = ?4) ORDER BY event_id LIMIT 2",
        [ST_ALERT_ADD] = "INSERT INTO alerts(time_us, user, kind, event_id, detail, note, reporter_uid)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(kind, event_id) DO NOTHING",
        [ST_ALERT_RECENT] = "SELECT 1 FROM alerts WHERE user = ?1 AND kind = ?2 AND time_us > ?3 AND time_us <= ?4"
                            " LIMIT 1",
        [ST_ALERT_ACK] = "UPDATE alerts SET acked_us = ?2, acked_by_uid = ?3 WHERE id = ?1 AND acked_us = 0",
        [ST_ALERT_GET] = "SELECT " ALERT_COLS " FROM alerts WHERE id = ?1",
        [ST_ALERTS_USER] = "SELECT " ALERT_COLS " FROM alerts WHERE user = ?1" NEWEST_ALERT,
        [ST_ALERTS_USER_OPEN] = "SELECT " ALERT_COLS " FROM alerts WHERE user = ?1 AND acked_us = 0" NEWEST_ALERT,
        [ST_ALERTS_ALL] = "SELECT " ALERT_COLS " FROM alerts" NEWEST_ALERT,
        [ST_ALERTS_ALL_OPEN] = "SELECT " ALERT_COLS " FROM alerts WHERE acked_us = 0" NEWEST_ALERT,
        [ST_ALERTS_COUNT_OPEN] = "SELECT count(*) FROM alerts WHERE user = ?1 AND acked_us = 0",
};

struct activity {
        sqlite3 *db;
        const struct seal_key *key;  /* the caller's; keys the audit chain */
        sqlite3_stmt *stmt[_ST_MAX]; /* prepared on first use, finalized by activity_close */
};

/* db_errno, and a violated constraint (a duplicate) as -EEXIST. */
static int errno_from_sqlite(int rc)
{
        return (rc & 0xff) == SQLITE_CONSTRAINT ? -EEXIST : db_errno(rc);
}

/* The error a failed sqlite3_bind_*() left on the connection. */
static int bind_error(struct activity *a)
{
        int r = errno_from_sqlite(sqlite3_errcode(a->db));

        return r < 0 ? r : -EIO;
}

static int stmt_get(struct activity *a, enum stmt_id id, sqlite3_stmt **ret)
{
        int r = db_stmt_cached(a->db, &a->stmt[id], stmt_sql[id]);

        if (r < 0)
                return r;
        *ret = a->stmt[id];
        return 0;
}

/* 1 for a row, 0 when done, < 0 on error (-EEXIST for a violated constraint). */
static int stmt_step(sqlite3_stmt *st)
{
        int r = db_step(st);

        if (r == -EIO && (sqlite3_errcode(sqlite3_db_handle(st)) & 0xff) == SQLITE_CONSTRAINT)
                return -EEXIST;
        return r;
}

static int step_done(sqlite3_stmt *st)
{
        int r = stmt_step(st);

        return r > 0 ? -EIO : r;
}

/* Run a statement without parameters or rows (transaction control). */
static int exec_stmt(struct activity *a, enum stmt_id id)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(a, id, &st);
        if (r < 0)
                return r;
        return step_done(st);
}

static int bind_text(struct activity *a, sqlite3_stmt *st, int col, const char *s)
{
        return sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : bind_error(a);
}

static int bind_int(struct activity *a, sqlite3_stmt *st, int col, int64_t v)
{
        return sqlite3_bind_int64(st, col, v) == SQLITE_OK ? 0 : bind_error(a);
}

/* A REAL, or NULL when !HAVE. */
static int bind_real(struct activity *a, sqlite3_stmt *st, int col, bool have, double v)
{
        int rc = have ? sqlite3_bind_double(st, col, v) : sqlite3_bind_null(st, col);

        return rc == SQLITE_OK ? 0 : bind_error(a);
}

/* A text column that is NULL when S is NULL. */
static int bind_text_or_null(struct activity *a, sqlite3_stmt *st, int col, const char *s)
{
        return s ? bind_text(a, st, col, s) : (sqlite3_bind_null(st, col) == SQLITE_OK ? 0 : bind_error(a));
}

/* ?1 is the user (the statements for every user have no ?1), ?2 the limit. */
static int bind_user_limit(struct activity *a, sqlite3_stmt *st, const char *user, unsigned limit)
{
        int r = user ? bind_text(a, st, 1, user) : 0;

        return r < 0 ? r : bind_int(a, st, 2, limit);
}

/* Functions that run several statements are atomic on their own: in the caller's
 * transaction they run in a savepoint, otherwise in their own BEGIN IMMEDIATE. */
static int op_begin(struct activity *a, bool *ret_own)
{
        bool own = sqlite3_get_autocommit(a->db);
        int r;

        r = exec_stmt(a, own ? ST_BEGIN : ST_SAVEPOINT);
        if (r < 0)
                return r;
        *ret_own = own;
        return 0;
}

static int op_end(struct activity *a, bool own, int r)
{
        if (r >= 0) {
                int q = exec_stmt(a, own ? ST_COMMIT : ST_RELEASE);
                if (q >= 0)
                        return r;
                r = q;
        }
        /* SQLite may already have rolled back on its own (I/O error, out of memory). */
        if (own) {
                if (!sqlite3_get_autocommit(a->db))
                        (void)exec_stmt(a, ST_ROLLBACK);
        } else if (!sqlite3_get_autocommit(a->db) && exec_stmt(a, ST_ROLLBACK_TO) >= 0)
                (void)exec_stmt(a, ST_RELEASE);
        return r;
}

/* A non-empty string that ends inside a buffer of MAX bytes. */
static bool string_ok(const char *s, size_t max)
{
        return s && s[0] && strnlen(s, max) < max;
}

#define FIELD_OK(e, f) (strnlen((e)->f, sizeof((e)->f)) < sizeof((e)->f))

/* What this file relies on, whoever validated the event: an id that is the exactly-once key,
 * a known kind, a time that cannot read as "still open", and every string terminated. */
static bool event_ok(const struct mlsec_event *e)
{
        if (!e || (unsigned)e->kind >= _EVENT_KIND_MAX || e->time_us <= 0)
                return false;
        if (!event_id_valid(e->id))
                return false;
        return FIELD_OK(e, user) && FIELD_OK(e, service) && FIELD_OK(e, rhost) && FIELD_OK(e, ip) && FIELD_OK(e, tty) &&
               FIELD_OK(e, method) && FIELD_OK(e, result) && FIELD_OK(e, reason) && FIELD_OK(e, session) &&
               FIELD_OK(e, action) && FIELD_OK(e, detail);
}

/* NULL (every user) or a user name that fits an event. */
static bool user_filter_ok(const char *user)
{
        return !user || string_ok(user, EVENT_USER_MAX);
}

/* Copy a text column into OUT; anything that could not have been stored by this file (NULL,
 * another type, too long, an embedded NUL) is corruption. */
static int copy_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
        const unsigned char *t;
        int len;

        if (sqlite3_column_type(st, col) != SQLITE_TEXT)
                return -EBADMSG;
        t = sqlite3_column_text(st, col);
        len = sqlite3_column_bytes(st, col);
        if (!t)
                return -ENOMEM;
        if (len < 0 || (size_t)len >= outlen || memchr(t, 0, (size_t)len))
                return -EBADMSG;
        memcpy(out, t, (size_t)len);
        out[len] = 0;
        return 0;
}

static int copy_int(sqlite3_stmt *st, int col, int64_t *out)
{
        if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
                return -EBADMSG;
        *out = sqlite3_column_int64(st, col);
        return 0;
}

#define COPY_TEXT(st, col, field) copy_text(st, col, field, sizeof(field))

/* Make room for element N of a malloc'd array of *cap elements, doubling. */
static int grow(void **array, size_t *cap, size_t n, size_t size)
{
        size_t c;
        void *p;

        if (n < *cap)
                return 0;
        c = *cap ? *cap * 2 : INITIAL_ROWS;
        if (c > SIZE_MAX / size)
                return -ENOMEM;
        p = realloc(*array, c * size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *cap = c;
        return 0;
}

/* Step ST to its end, turning each row into element n of a malloc'd array with FROM_ROW. */
static int collect(sqlite3_stmt *st, size_t size, int (*from_row)(sqlite3_stmt *, void *), void **ret, size_t *ret_n)
{
        size_t n = 0, cap = 0;
        void *v = NULL;
        int r;

        while ((r = stmt_step(st)) > 0) {
                r = grow(&v, &cap, n, size);
                if (r < 0)
                        break;
                r = from_row(st, (char *)v + n * size);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- opening ---------------------------------------------------------------------- */

static bool owned_private(const struct stat *st, mode_t forbidden)
{
        return st->st_uid == geteuid() && (st->st_mode & forbidden) == 0;
}

static int check_dir(const char *dir)
{
        struct stat st;

        if (lstat(dir, &st) < 0) {
                if (errno != ENOENT)
                        return -errno;
                /* Only the last component: a missing parent is a configuration error. */
                if (mkdir(dir, 0700) < 0) {
                        if (errno != EEXIST)
                                return -errno;
                } else if (chmod(dir, 0700) < 0) /* mkdir obeys the umask */
                        return -errno;
                if (lstat(dir, &st) < 0)
                        return -errno;
        }
        if (!S_ISDIR(st.st_mode) || !owned_private(&st, 0022))
                return -EPERM;
        return 0;
}

/* Create the file 0600 whatever the umask (SQLite would create it 0644), then check it. */
static int check_file(const char *path)
{
        struct stat st;
        int fd, r = 0;

        fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
        if (fd < 0)
                return errno == ELOOP ? -EPERM : -errno;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode) || !owned_private(&st, 0077))
                r = -EPERM;
        else if (st.st_size == 0 && fchmod(fd, 0600) < 0)
                r = -errno;
        (void)close(fd);
        return r;
}

static int exec_script(struct activity *a, const char *sql)
{
        return db_exec(a->db, sql);
}

static int set_wal(struct activity *a)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        const unsigned char *mode;
        int r;

        r = stmt_get(a, ST_SET_WAL, &st);
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        mode = r > 0 ? sqlite3_column_text(st, 0) : NULL;
        return mode && strcmp((const char *)mode, "wal") == 0 ? 0 : -EIO;
}

static int migrate_locked(struct activity *a)
{
        int64_t v;
        int r;

        r = db_user_version(a->db, &v);
        if (r < 0)
                return r;
        if (v < 0 || v > ACTIVITY_SCHEMA_VERSION)
                return -EBADMSG; /* never downgrade */
        for (; v < ACTIVITY_SCHEMA_VERSION; v++) {
                r = exec_script(a, migrations[v]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int migrate(struct activity *a)
{
        int r;

        r = db_register_source_function(a->db);
        if (r < 0)
                return r;
        r = exec_stmt(a, ST_BEGIN);
        if (r < 0)
                return r;
        r = migrate_locked(a);
        if (r >= 0)
                r = exec_stmt(a, ST_COMMIT);
        if (r < 0 && !sqlite3_get_autocommit(a->db))
                (void)exec_stmt(a, ST_ROLLBACK);
        return r;
}

static int configure(struct activity *a)
{
        (void)sqlite3_extended_result_codes(a->db, 1);
        (void)sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
        /* The file is read as root: refuse schema tricks and untrusted SQL functions in it. */
        (void)sqlite3_db_config(a->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        (void)sqlite3_db_config(a->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        /* synchronous = NORMAL: a commit is in the WAL, written to the kernel, before mlsecd
         * acknowledges it, so a crash or restart of mlsecd loses nothing; only a power cut can
         * take the last instant's commits (WAL is fsynced at each checkpoint). FULL would add
         * an fsync to every batch: measured here, 4,000 instead of 20,000+ events/s with 8
         * reporters, and 1.5 ms more for every login's report. The cache holds the upper
         * levels of the indexes of a large events table; the WAL is cut back after checkpoints
         * that follow a large batch. */
        return exec_script(a, "PRAGMA synchronous = NORMAL;"
                              "PRAGMA cache_size = -32768;"
                              "PRAGMA journal_size_limit = 67108864;"
                              "PRAGMA temp_store = MEMORY;"
                              "PRAGMA secure_delete = FAST;");
}

int activity_open(const char *state_dir, const struct seal_key *k, struct activity **ret)
{
        char path[PATH_MAX];
        struct activity *a;
        int rc, r;

        if (!state_dir || !state_dir[0] || !k || !ret)
                return -EINVAL;
        r = db_path(state_dir, ACTIVITY_DB_NAME, path, sizeof(path));
        if (r < 0)
                return r;
        r = check_dir(state_dir);
        if (r < 0)
                return r;
        r = check_file(path);
        if (r < 0)
                return r;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->key = k;
        rc = sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = a->db ? errno_from_sqlite(sqlite3_extended_errcode(a->db)) : -ENOMEM;
                goto fail;
        }
        r = configure(a);
        if (r >= 0)
                r = set_wal(a);
        if (r >= 0)
                r = migrate(a);
        if (r < 0)
                goto fail;
        *ret = a;
        return 0;
fail:
        (void)activity_close(a);
        return r < 0 ? r : -EIO;
}

struct activity *activity_close(struct activity *a)
{
        if (!a)
                return NULL;
        for (size_t i = 0; i < _ST_MAX; i++)
                (void)sqlite3_finalize(a->stmt[i]);
        (void)sqlite3_close_v2(a->db);
        free(a);
        return NULL;
}

/* ---- transactions ----------------------------------------------------------------- */

int activity_begin(struct activity *a)
{
        if (!a)
                return -EINVAL;
        if (!sqlite3_get_autocommit(a->db))
                return -EINVAL; /* transactions do not nest */
        return exec_stmt(a, ST_BEGIN);
}

int activity_commit(struct activity *a)
{
        if (!a)
                return -EINVAL;
        if (sqlite3_get_autocommit(a->db))
                return -EINVAL; /* nothing to commit */
        return exec_stmt(a, ST_COMMIT);
}

int activity_rollback(struct activity *a)
{
        if (!a)
                return -EINVAL;
        /* After some errors SQLite has rolled back already; cleanup paths must not fail. */
        if (sqlite3_get_autocommit(a->db))
                return 0;
        return exec_stmt(a, ST_ROLLBACK);
}

/* ---- events and sessions ---------------------------------------------------------- */

/* ?15..?20: the place, all NULL without one. */
static int bind_place(struct activity *a, sqlite3_stmt *st, const struct geo_place *p)
{
        int r;

        if ((r = bind_text_or_null(a, st, 15, p ? place_sql[p->kind] : NULL)) < 0 ||
            (r = bind_text_or_null(a, st, 16, p ? p->country : NULL)) < 0 ||
            (r = bind_text_or_null(a, st, 17, p ? p->country_name : NULL)) < 0 ||
            (r = bind_text_or_null(a, st, 18, p ? p->city : NULL)) < 0 ||
            (r = bind_real(a, st, 19, p && p->has_location, p ? p->latitude : 0)) < 0 ||
            (r = bind_real(a, st, 20, p && p->has_location, p ? p->longitude : 0)) < 0)
                return r;
        return 0;
}

static int event_add(struct activity *a, const struct mlsec_event *e, const struct geo_place *place, bool *ret_new)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(a, ST_EVENT_ADD, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, e->id)) < 0 || (r = bind_text(a, st, 2, kind_sql[e->kind])) < 0 ||
            (r = bind_int(a, st, 3, e->time_us)) < 0 || (r = bind_text(a, st, 4, e->user)) < 0 ||
            (r = bind_int(a, st, 5, e->uid)) < 0 || (r = bind_text(a, st, 6, e->service)) < 0 ||
            (r = bind_text(a, st, 7, e->rhost)) < 0 || (r = bind_text(a, st, 8, e->ip)) < 0 ||
            (r = bind_text(a, st, 9, e->tty)) < 0 || (r = bind_text(a, st, 10, e->method)) < 0 ||
            (r = bind_text(a, st, 11, e->result)) < 0 || (r = bind_text(a, st, 12, e->reason)) < 0 ||
            (r = bind_text(a, st, 13, e->session)) < 0 || (r = bind_int(a, st, 14, e->pid)) < 0 ||
            (r = bind_place(a, st, place)) < 0)
                return r;
        r = step_done(st);
        if (r < 0)
                return r;
        *ret_new = sqlite3_changes(a->db) > 0;
        return 0;
}

/* The SET and the WHERE of the session updates: ?1 the logind id or the user, ?2..?4 how it
 * ended. Returns the number of sessions closed (0 or 1). */
static int session_update(struct activity *a, enum stmt_id id, const char *key, int64_t time_us, const char *reason,
                          int64_t by_uid, const struct mlsec_event *e)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(a, id, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, key)) < 0 || (r = bind_int(a, st, 2, time_us)) < 0 ||
            (r = bind_text(a, st, 3, reason)) < 0 || (r = bind_int(a, st, 4, by_uid)) < 0)
                return r;
        if (e && ((r = bind_text(a, st, 5, e->service)) < 0 || (r = bind_text(a, st, 6, e->tty)) < 0 ||
                  (r = bind_text(a, st, 7, e->session)) < 0))
                return r;
        r = step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(a->db) > 0 ? 1 : 0;
}

static int session_open(struct activity *a, const struct mlsec_event *e)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        /* An open session with this id is left from before a reboot (logind counts from 1
         * again) or from a close we never heard of: it has ended by now. */
        if (e->session[0]) {
                r = session_update(a, ST_SESSION_END, e->session, e->time_us, "ended", -1, NULL);
                if (r < 0)
                        return r;
        }
        r = stmt_get(a, ST_SESSION_ADD, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, e->session)) < 0 || (r = bind_text(a, st, 2, e->user)) < 0 ||
            (r = bind_int(a, st, 3, e->uid)) < 0 || (r = bind_text(a, st, 4, e->service)) < 0 ||
            (r = bind_text(a, st, 5, e->tty)) < 0 || (r = bind_text(a, st, 6, e->rhost)) < 0 ||
            (r = bind_text(a, st, 7, e->ip)) < 0 || (r = bind_int(a, st, 8, e->pid)) < 0 ||
            (r = bind_int(a, st, 9, e->time_us)) < 0)
                return r;
        return step_done(st);
}

static int session_close(struct activity *a, const struct mlsec_event *e)
{
        int r = 0;

        if (e->session[0])
                r = session_update(a, ST_SESSION_END, e->session, e->time_us, "closed", -1, NULL);
        if (r == 0)
                r = session_update(a, ST_SESSION_CLOSE_FALLBACK, e->user, e->time_us, "closed", -1, e);
        return r < 0 ? r : 0;
}

/* ---- the audit chain -------------------------------------------------------------- */

#define CANON_MAX (3 * 8 + 4 * 8 + EVENT_USER_MAX + EVENT_WORD_MAX + EVENT_DETAIL_MAX + EVENT_ID_LEN + 1)

struct canon {
        uint8_t b[CANON_MAX];
        size_t n;
};

static void put_u64(struct canon *c, uint64_t v)
{
        for (int i = 7; i >= 0; i--)
                c->b[c->n++] = (uint8_t)(v >> (i * 8));
}

static void put_str(struct canon *c, const char *s, size_t max)
{
        size_t len = strnlen(s, max - 1);

        put_u64(c, len);
        memcpy(c->b + c->n, s, len);
        c->n += len;
}

/* The bytes a link covers: fixed-width big-endian numbers and length-prefixed strings, so
 * no two different entries have the same encoding. */
static int audit_hash(const struct activity *a, const struct activity_audit *x, const uint8_t prev[SEAL_HASH_BYTES],
                      uint8_t ret[SEAL_HASH_BYTES])
{
        struct canon c = {.n = 0};

        put_u64(&c, (uint64_t)x->seq);
        put_u64(&c, (uint64_t)x->time_us);
        put_u64(&c, (uint64_t)x->actor_uid);
        put_str(&c, x->user, sizeof(x->user));
        put_str(&c, x->action, sizeof(x->action));
        put_str(&c, x->detail, sizeof(x->detail));
        put_str(&c, x->event_id, sizeof(x->event_id));
        return seal_chain_hash(a->key, prev, c.b, c.n, ret);
}

static int audit_from_row(sqlite3_stmt *st, void *p)
{
        struct activity_audit *x = p;
        int r;

        *x = (struct activity_audit){.seq = 0};
        if ((r = copy_int(st, 0, &x->seq)) < 0 || (r = copy_int(st, 1, &x->time_us)) < 0 ||
            (r = copy_int(st, 2, &x->actor_uid)) < 0 || (r = COPY_TEXT(st, 3, x->user)) < 0 ||
            (r = COPY_TEXT(st, 4, x->action)) < 0 || (r = COPY_TEXT(st, 5, x->detail)) < 0 ||
            (r = COPY_TEXT(st, 6, x->event_id)) < 0)
                return r;
        return 0;
}

/* The seq and hash of the newest link; seq 0 and zeros for an empty chain. */
static int audit_last(struct activity *a, int64_t *ret_seq, uint8_t ret_hash[SEAL_HASH_BYTES])
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int64_t seq;
        int r;

        r = stmt_get(a, ST_AUDIT_LAST, &st);
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r == 0) {
                *ret_seq = 0;
                memset(ret_hash, 0, SEAL_HASH_BYTES);
                return 0;
        }
        /* A damaged tail cannot be extended; activity_audit_verify tells where it broke. */
        if (copy_int(st, 0, &seq) < 0 || seq < 0 || seq == INT64_MAX || sqlite3_column_type(st, 1) != SQLITE_BLOB ||
            sqlite3_column_bytes(st, 1) != SEAL_HASH_BYTES)
                return -EBADMSG;
        memcpy(ret_hash, sqlite3_column_blob(st, 1), SEAL_HASH_BYTES);
        *ret_seq = seq;
        return 0;
}

static int audit_insert(struct activity *a, const struct activity_audit *x, const uint8_t hash[SEAL_HASH_BYTES],
                        bool *ret_new)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(a, ST_AUDIT_ADD, &st);
        if (r < 0)
                return r;
        if ((r = bind_int(a, st, 1, x->seq)) < 0 || (r = bind_int(a, st, 2, x->time_us)) < 0 ||
            (r = bind_int(a, st, 3, x->actor_uid)) < 0 || (r = bind_text(a, st, 4, x->user)) < 0 ||
            (r = bind_text(a, st, 5, x->action)) < 0 || (r = bind_text(a, st, 6, x->detail)) < 0 ||
            (r = bind_text(a, st, 7, x->event_id)) < 0)
                return r;
        if (sqlite3_bind_blob(st, 8, hash, SEAL_HASH_BYTES, SQLITE_STATIC) != SQLITE_OK)
                return bind_error(a);
        r = step_done(st);
        if (r < 0)
                return r;
        *ret_new = sqlite3_changes(a->db) > 0;
        return 0;
}

static int audit_add(struct activity *a, const struct mlsec_event *e, bool *ret_new)
{
        uint8_t prev[SEAL_HASH_BYTES], hash[SEAL_HASH_BYTES];
        struct activity_audit x = {.time_us = e->time_us, .actor_uid = e->actor_uid};
        int64_t last;
        int r;

        _Static_assert(sizeof(x.user) >= sizeof(e->user) && sizeof(x.action) >= sizeof(e->action) &&
                               sizeof(x.detail) >= sizeof(e->detail) && sizeof(x.event_id) >= sizeof(e->id),
                       "an audit entry holds every field of its event");
        memcpy(x.user, e->user, sizeof(e->user));
        memcpy(x.action, e->action, sizeof(e->action));
        memcpy(x.detail, e->detail, sizeof(e->detail));
        memcpy(x.event_id, e->id, sizeof(e->id));
        r = audit_last(a, &last, prev);
        if (r < 0)
                return r;
        x.seq = last + 1;
        r = audit_hash(a, &x, prev, hash);
        if (r < 0)
                return r;
        return audit_insert(a, &x, hash, ret_new);
}

/* ---- storing ---------------------------------------------------------------------- */

static int store_locked(struct activity *a, const struct mlsec_event *e, bool *ret_new)
{
        int r;

        if (e->kind == EVENT_AUDIT)
                return audit_add(a, e, ret_new);
        r = event_add(a, e, NULL, ret_new);
        if (r < 0 || !*ret_new)
                return r; /* a known event changes no session twice */
        return e->kind == EVENT_SESSION_OPEN ? session_open(a, e) : session_close(a, e);
}

/* What this file relies on in a place: a known kind, terminated strings, finite
 * coordinates on the globe. */
static bool place_ok(const struct geo_place *p)
{
        if ((unsigned)p->kind >= N_PLACE_KINDS || !place_sql[p->kind])
                return false;
        if (!FIELD_OK(p, country) || !FIELD_OK(p, country_name) || !FIELD_OK(p, city))
                return false;
        return !p->has_location ||
               (p->latitude >= -90 && p->latitude <= 90 && p->longitude >= -180 && p->longitude <= 180);
}

int activity_store_event(struct activity *a, const struct mlsec_event *e, bool *ret_new)
{
        return activity_store_event_at(a, e, NULL, ret_new);
}

int activity_store_event_at(struct activity *a, const struct mlsec_event *e, const struct geo_place *place,
                            bool *ret_new)
{
        bool added = false, own;
        int r;

        if (!a || !event_ok(e) || !ret_new || (place && (e->kind != EVENT_AUTH || !place_ok(place))))
                return -EINVAL;
        if (e->kind == EVENT_AUTH) {
                /* one statement: atomic without a transaction of its own */
                r = event_add(a, e, place, &added);
        } else {
                r = op_begin(a, &own);
                if (r < 0)
                        return r;
                r = op_end(a, own, store_locked(a, e, &added));
        }
        if (r < 0)
                return r;
        *ret_new = added;
        return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

static int login_from_row(sqlite3_stmt *st, void *p)
{
        struct mlsec_event *e = p;
        int r;

        *e = (struct mlsec_event){.kind = EVENT_AUTH, .actor_uid = -1};
        if ((r = COPY_TEXT(st, 0, e->id)) < 0 || (r = copy_int(st, 1, &e->time_us)) < 0 ||
            (r = COPY_TEXT(st, 2, e->user)) < 0 || (r = copy_int(st, 3, &e->uid)) < 0 ||
            (r = COPY_TEXT(st, 4, e->service)) < 0 || (r = COPY_TEXT(st, 5, e->rhost)) < 0 ||
            (r = COPY_TEXT(st, 6, e->ip)) < 0 || (r = COPY_TEXT(st, 7, e->tty)) < 0 ||
            (r = COPY_TEXT(st, 8, e->method)) < 0 || (r = COPY_TEXT(st, 9, e->result)) < 0 ||
            (r = COPY_TEXT(st, 10, e->reason)) < 0 || (r = COPY_TEXT(st, 11, e->session)) < 0 ||
            (r = copy_int(st, 12, &e->pid)) < 0)
                return r;
        return 0;
}

/* An optional REAL column. 1 when present, 0 for NULL. */
static int copy_real_or_null(sqlite3_stmt *st, int col, double *out)
{
        switch (sqlite3_column_type(st, col)) {
        case SQLITE_NULL:
                return 0;
        case SQLITE_FLOAT:
        case SQLITE_INTEGER:
                *out = sqlite3_column_double(st, col);
                return 1;
        default:
                return -EBADMSG;
        }
}

/* Columns PLACE_FIRST.. of a login row. */
static int place_from_row(sqlite3_stmt *st, struct activity_place *ret)
{
        struct activity_place p = {.stored = false};
        const unsigned char *kind;
        double lat = 0, lon = 0;
        int c = PLACE_FIRST, r, q;
        size_t i;

        if (sqlite3_column_type(st, c) == SQLITE_NULL) {
                *ret = p; /* stored before locations were */
                return 0;
        }
        if (sqlite3_column_type(st, c) != SQLITE_TEXT || !(kind = sqlite3_column_text(st, c)))
                return -EBADMSG;
        for (i = 0; i < N_PLACE_KINDS; i++)
                if (place_sql[i] && strcmp((const char *)kind, place_sql[i]) == 0)
                        break;
        if (i == N_PLACE_KINDS)
                return -EBADMSG;
        p.stored = true;
        p.geo.kind = (enum geo_kind)i;
        if ((r = COPY_TEXT(st, c + 1, p.geo.country)) < 0 || (r = COPY_TEXT(st, c + 2, p.geo.country_name)) < 0 ||
            (r = COPY_TEXT(st, c + 3, p.geo.city)) < 0)
                return r;
        r = copy_real_or_null(st, c + 4, &lat);
        q = copy_real_or_null(st, c + 5, &lon);
        if (r < 0 || q < 0 || r != q)
                return -EBADMSG;
        p.geo.has_location = r > 0;
        p.geo.latitude = lat;
        p.geo.longitude = lon;
        *ret = p;
        return 0;
}

static int placed_login_from_row(sqlite3_stmt *st, void *p)
{
        struct activity_login *l = p;
        int r;

        r = login_from_row(st, &l->event);
        if (r < 0)
                return r;
        return place_from_row(st, &l->place);
}

static int session_from_row(sqlite3_stmt *st, void *p)
{
        struct activity_session *s = p;
        int r;

        *s = (struct activity_session){.id = 0};
        if ((r = copy_int(st, 0, &s->id)) < 0 || (r = COPY_TEXT(st, 1, s->logind_id)) < 0 ||
            (r = COPY_TEXT(st, 2, s->user)) < 0 || (r = copy_int(st, 3, &s->uid)) < 0 ||
            (r = COPY_TEXT(st, 4, s->service)) < 0 || (r = COPY_TEXT(st, 5, s->tty)) < 0 ||
            (r = COPY_TEXT(st, 6, s->rhost)) < 0 || (r = COPY_TEXT(st, 7, s->ip)) < 0 ||
            (r = copy_int(st, 8, &s->pid)) < 0 || (r = copy_int(st, 9, &s->opened_us)) < 0 ||
            (r = copy_int(st, 10, &s->closed_us)) < 0 || (r = COPY_TEXT(st, 11, s->end_reason)) < 0 ||
            (r = copy_int(st, 12, &s->ended_by_uid)) < 0)
                return r;
        return 0;
}

/* Run a "newest first" list statement for USER (NULL: all) into a malloc'd array. */
static int list(struct activity *a, enum stmt_id id, const char *user, unsigned limit, size_t size,
                int (*from_row)(sqlite3_stmt *, void *), void **ret, size_t *ret_n)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(a, id, &st);
        if (r < 0)
                return r;
        r = bind_user_limit(a, st, user, limit);
        if (r < 0)
                return r;
        return collect(st, size, from_row, ret, ret_n);
}

static enum stmt_id history_stmt(const char *user, bool failed_only)
{
        if (user)
                return failed_only ? ST_HISTORY_USER_FAILED : ST_HISTORY_USER;
        return failed_only ? ST_HISTORY_ALL_FAILED : ST_HISTORY_ALL;
}

int activity_history(struct activity *a, const char *user, unsigned limit, bool failed_only, struct mlsec_event **ret,
                     size_t *ret_n)
{
        void *v = NULL;
        size_t n = 0;
        int r;

        if (!a || !user_filter_ok(user) || limit == 0 || !ret || !ret_n)
                return -EINVAL;
        r = list(a, history_stmt(user, failed_only), user, limit, sizeof(**ret), login_from_row, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

int activity_logins(struct activity *a, const char *user, unsigned limit, bool failed_only, struct activity_login **ret,
                    size_t *ret_n)
{
        void *v = NULL;
        size_t n = 0;
        int r;

        if (!a || !user_filter_ok(user) || limit == 0 || !ret || !ret_n)
                return -EINVAL;
        r = list(a, history_stmt(user, failed_only), user, limit, sizeof(**ret), placed_login_from_row, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* A column of the LEFT JOIN: NULL when the user never logged in successfully. */
static int copy_text_or_null(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
                out[0] = '\0';
                return 0;
        }
        return copy_text(st, col, out, outlen);
}

static int user_from_row(sqlite3_stmt *st, void *p)
{
        struct activity_user *u = p;
        int64_t attempts = 0, with_uid = 0;
        int r;

        *u = (struct activity_user){.last_login_us = 0};
        if ((r = COPY_TEXT(st, 0, u->user)) < 0 || (r = copy_int(st, 1, &attempts)) < 0 ||
            (r = copy_int(st, 2, &u->last_attempt_us)) < 0 || (r = COPY_TEXT(st, 3, u->last_attempt_from)) < 0 ||
            (r = copy_int(st, 4, &with_uid)) < 0)
                return r;
        u->attempts = attempts > 0 ? (uint64_t)attempts : 0;
        u->was_account = with_uid > 0;
        if (sqlite3_column_type(st, 5) != SQLITE_NULL && (r = copy_int(st, 5, &u->last_login_us)) < 0)
                return r;
        if ((r = copy_text_or_null(st, 6, u->service, sizeof(u->service))) < 0 ||
            (r = copy_text_or_null(st, 7, u->rhost, sizeof(u->rhost))) < 0 ||
            (r = copy_text_or_null(st, 8, u->ip, sizeof(u->ip))) < 0 ||
            (r = copy_text_or_null(st, 9, u->tty, sizeof(u->tty))) < 0)
                return r;
        return 0;
}

int activity_users(struct activity *a, const char *exclude_service, unsigned limit, struct activity_user **ret,
                   size_t *ret_n)
{
        void *v = NULL;
        size_t n = 0;
        int r;

        if (!a || limit == 0 || !ret || !ret_n)
                return -EINVAL;
        /* the "user" of list() is ?1: here the service left out */
        r = list(a, ST_USERS, exclude_service ? exclude_service : "", limit, sizeof(**ret), user_from_row, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

int activity_users_total(struct activity *a, uint64_t *ret_names, uint64_t *ret_attempts)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int64_t names = 0, attempts = 0;
        int r;

        if (!a || !ret_names || !ret_attempts)
                return -EINVAL;
        r = stmt_get(a, ST_USERS_TOTAL, &st);
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r <= 0)
                return r < 0 ? r : -EIO;
        if ((r = copy_int(st, 0, &names)) < 0 || (r = copy_int(st, 1, &attempts)) < 0)
                return r;
        *ret_names = names > 0 ? (uint64_t)names : 0;
        *ret_attempts = attempts > 0 ? (uint64_t)attempts : 0;
        return 0;
}

int activity_sessions(struct activity *a, const char *user, bool include_closed, unsigned limit,
                      struct activity_session **ret, size_t *ret_n)
{
        enum stmt_id id;
        void *v = NULL;
        size_t n = 0;
        int r;

        if (!a || !user_filter_ok(user) || limit == 0 || !ret || !ret_n)
                return -EINVAL;
        if (user)
                id = include_closed ? ST_SESSIONS_USER : ST_SESSIONS_USER_OPEN;
        else
                id = include_closed ? ST_SESSIONS_ALL : ST_SESSIONS_ALL_OPEN;
        r = list(a, id, user, limit, sizeof(**ret), session_from_row, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

int activity_session_get(struct activity *a, const char *logind_id, struct activity_session *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        struct activity_session s;
        int r;

        if (!a || !string_ok(logind_id, EVENT_SESSION_MAX) || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_SESSION_GET, &st);
        if (r < 0)
                return r;
        r = bind_text(a, st, 1, logind_id);
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        r = session_from_row(st, &s);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

int activity_session_end(struct activity *a, const char *logind_id, int64_t time_us, const char *reason, int64_t by_uid)
{
        if (!a || !string_ok(logind_id, EVENT_SESSION_MAX) || time_us <= 0 || !string_ok(reason, EVENT_WORD_MAX) ||
            by_uid < -1)
                return -EINVAL;
        return session_update(a, ST_SESSION_END, logind_id, time_us, reason, by_uid, NULL);
}

static int session_id_from_row(sqlite3_stmt *st, void *p)
{
        return copy_text(st, 0, p, EVENT_SESSION_MAX);
}

int activity_open_session_ids(struct activity *a, char (**ret)[EVENT_SESSION_MAX], size_t *ret_n)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        void *v = NULL;
        size_t n = 0;
        int r;

        if (!a || !ret || !ret_n)
                return -EINVAL;
        r = stmt_get(a, ST_SESSION_IDS, &st);
        if (r < 0)
                return r;
        r = collect(st, sizeof(**ret), session_id_from_row, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

int activity_audit(struct activity *a, const char *user, unsigned limit, struct activity_audit **ret, size_t *ret_n)
{
        void *v = NULL;
        size_t n = 0;
        int r;

        if (!a || !user_filter_ok(user) || limit == 0 || !ret || !ret_n)
                return -EINVAL;
        r = list(a, user ? ST_AUDIT_USER : ST_AUDIT_ALL, user, limit, sizeof(**ret), audit_from_row, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Whether the row under ST is link EXPECT of the chain that PREV ends; on success PREV
 * becomes this link's hash. 0: it holds, 1: it does not, < 0: could not tell. */
static int audit_check_row(struct activity *a, sqlite3_stmt *st, int64_t expect, uint8_t prev[SEAL_HASH_BYTES],
                           int64_t *ret_seq)
{
        uint8_t h[SEAL_HASH_BYTES];
        struct activity_audit x;
        int r;

        r = audit_from_row(st, &x);
        *ret_seq = sqlite3_column_int64(st, 0);
        if (r == -EBADMSG)
                return 1; /* nothing this file writes: an edited row */
        if (r < 0)
                return r;
        if (x.seq != expect)
                return 1;
        if (sqlite3_column_type(st, 7) != SQLITE_BLOB || sqlite3_column_bytes(st, 7) != SEAL_HASH_BYTES)
                return 1;
        r = audit_hash(a, &x, prev, h);
        if (r < 0)
                return r;
        if (!seal_equal(h, sqlite3_column_blob(st, 7), SEAL_HASH_BYTES))
                return 1;
        memcpy(prev, h, SEAL_HASH_BYTES);
        return 0;
}

int activity_audit_verify(struct activity *a, uint64_t *ret_checked, int64_t *ret_first_bad)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        uint8_t prev[SEAL_HASH_BYTES] = {0};
        int64_t expect = 1, seq = 0, bad = -1;
        uint64_t checked = 0;
        int r;

        if (!a || !ret_first_bad)
                return -EINVAL;
        r = stmt_get(a, ST_AUDIT_WALK, &st);
        if (r < 0)
                return r;
        /* one statement: one snapshot of the whole chain */
        while ((r = stmt_step(st)) > 0) {
                r = audit_check_row(a, st, expect, prev, &seq);
                if (r < 0)
                        return r;
                if (r > 0) {
                        /* A gap names the missing link; a row before link 1 names itself. */
                        bad = seq > expect ? expect : seq;
                        break;
                }
                checked++;
                expect++;
        }
        if (r < 0)
                return r;
        if (ret_checked)
                *ret_checked = checked;
        *ret_first_bad = bad;
        return 0;
}

/* ---- pruning ---------------------------------------------------------------------- */

static int prune_one(struct activity *a, enum stmt_id id, int64_t before, uint64_t *deleted)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(a, id, &st);
        if (r < 0)
                return r;
        r = bind_int(a, st, 1, before);
        if (r < 0)
                return r;
        r = step_done(st);
        if (r < 0)
                return r;
        *deleted += (uint64_t)sqlite3_changes64(a->db);
        return 0;
}

int activity_prune(struct activity *a, int64_t before_us, uint64_t *ret_deleted)
{
        uint64_t n = 0;
        bool own;
        int r;

        if (!a)
                return -EINVAL;
        r = op_begin(a, &own);
        if (r < 0)
                return r;
        r = prune_one(a, ST_PRUNE_EVENTS, before_us, &n);
        if (r >= 0)
                r = prune_one(a, ST_PRUNE_SESSIONS, before_us, &n);
        r = op_end(a, own, r);
        if (r < 0)
                return r;
        if (ret_deleted)
                *ret_deleted = n;
        return 0;
}

/* ---- the overview ------------------------------------------------------------------ */

int activity_last_login(struct activity *a, const char *user, const char *exclude_service, struct mlsec_event *ret,
                        struct activity_place *ret_place)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        struct activity_place place;
        struct mlsec_event e;
        int r;

        if (!a || !user || !user_filter_ok(user) || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_LAST_LOGIN, &st);
        if (r < 0)
                return r;
        r = bind_text(a, st, 1, user);
        if (r >= 0)
                r = bind_text(a, st, 2, exclude_service ? exclude_service : "");
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        r = login_from_row(st, &e);
        if (r >= 0)
                r = place_from_row(st, &place);
        if (r < 0)
                return r;
        *ret = e;
        if (ret_place)
                *ret_place = place;
        return 0;
}

int activity_count_failed(struct activity *a, const char *user, int64_t since_us, uint64_t *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int64_t n = 0;
        int r;

        if (!a || !user || !user_filter_ok(user) || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_COUNT_FAILED, &st);
        if (r < 0)
                return r;
        r = bind_text(a, st, 1, user);
        if (r >= 0)
                r = bind_int(a, st, 2, since_us);
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r > 0)
                r = copy_int(st, 0, &n);
        if (r < 0)
                return r;
        *ret = n > 0 ? (uint64_t)n : 0;
        return 0;
}

/* ---- what the suspicious-activity rules ask ----------------------------------------- */

/* A statement whose one row is one integer (count, max: NULL is -ENOENT). */
static int one_int(sqlite3_stmt *st, int64_t *ret)
{
        int r = stmt_step(st);

        if (r < 0)
                return r;
        if (r == 0 || sqlite3_column_type(st, 0) == SQLITE_NULL)
                return -ENOENT;
        return copy_int(st, 0, ret);
}

int activity_prev_success(struct activity *a, const char *user, int64_t until_us, const char *exclude_event_id,
                          const char *exclude_service, bool located, struct activity_login *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        struct activity_login l;
        int r;

        if (!a || !user || !user_filter_ok(user) || !ret)
                return -EINVAL;
        r = stmt_get(a, located ? ST_PREV_LOCATED : ST_PREV_SUCCESS, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, user)) < 0 || (r = bind_int(a, st, 2, until_us)) < 0 ||
            (r = bind_text(a, st, 3, exclude_event_id ? exclude_event_id : "")) < 0 ||
            (r = bind_text(a, st, 4, exclude_service ? exclude_service : "")) < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        r = placed_login_from_row(st, &l);
        if (r < 0)
                return r;
        *ret = l;
        return 0;
}

int activity_last_lockout(struct activity *a, const char *user, int64_t after_us, int64_t until_us, int64_t *ret_us)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int64_t t;
        int r;

        if (!a || !user || !user_filter_ok(user) || !ret_us)
                return -EINVAL;
        r = stmt_get(a, ST_LAST_LOCKOUT, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, user)) < 0 || (r = bind_int(a, st, 2, until_us)) < 0 ||
            (r = bind_int(a, st, 3, after_us)) < 0)
                return r;
        r = one_int(st, &t);
        if (r < 0)
                return r;
        *ret_us = t;
        return 0;
}

int activity_event_find(struct activity *a, const char *user, int64_t uid, const char *prefix,
                        struct activity_login *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        char upper[EVENT_ID_LEN + 2];
        struct activity_login l;
        size_t n;
        int r;

        if (!a || !string_ok(user, EVENT_USER_MAX) || !prefix || !ret)
                return -EINVAL;
        if (!event_id_prefix_valid(prefix, EVENT_ID_LEN + 1))
                return -EINVAL;
        n = strlen(prefix);
        memcpy(upper, prefix, n);
        upper[n] = 'g';
        upper[n + 1] = '\0';
        r = stmt_get(a, ST_EVENT_FIND, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, prefix)) < 0 || (r = bind_text(a, st, 2, upper)) < 0 ||
            (r = bind_text(a, st, 3, user)) < 0 || (r = bind_int(a, st, 4, uid)) < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        r = placed_login_from_row(st, &l);
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r > 0)
                return -ENOTUNIQ;
        *ret = l;
        return 0;
}

/* ---- alerts ------------------------------------------------------------------------ */

static bool alert_ok(const struct activity_alert *x)
{
        return x && x->time_us > 0 && string_ok(x->user, sizeof(x->user)) && string_ok(x->kind, sizeof(x->kind)) &&
               strnlen(x->event_id, sizeof(x->event_id)) == EVENT_ID_LEN && FIELD_OK(x, detail) && FIELD_OK(x, note) &&
               x->reporter_uid >= -1;
}

int activity_alert_add(struct activity *a, const struct activity_alert *x, int64_t *ret_id)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!a || !alert_ok(x) || !ret_id)
                return -EINVAL;
        r = stmt_get(a, ST_ALERT_ADD, &st);
        if (r < 0)
                return r;
        if ((r = bind_int(a, st, 1, x->time_us)) < 0 || (r = bind_text(a, st, 2, x->user)) < 0 ||
            (r = bind_text(a, st, 3, x->kind)) < 0 || (r = bind_text(a, st, 4, x->event_id)) < 0 ||
            (r = bind_text(a, st, 5, x->detail)) < 0 || (r = bind_text(a, st, 6, x->note)) < 0 ||
            (r = bind_int(a, st, 7, x->reporter_uid)) < 0)
                return r;
        r = step_done(st);
        if (r < 0)
                return r;
        *ret_id = sqlite3_changes(a->db) > 0 ? sqlite3_last_insert_rowid(a->db) : 0;
        return 0;
}

int activity_alert_recent(struct activity *a, const char *user, const char *kind, int64_t after_us, int64_t until_us,
                          bool *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!a || !user || !user_filter_ok(user) || !string_ok(kind, EVENT_WORD_MAX) || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_ALERT_RECENT, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, user)) < 0 || (r = bind_text(a, st, 2, kind)) < 0 ||
            (r = bind_int(a, st, 3, after_us)) < 0 || (r = bind_int(a, st, 4, until_us)) < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        *ret = r > 0;
        return 0;
}

static int alert_from_row(sqlite3_stmt *st, void *p)
{
        struct activity_alert *x = p;
        int r;

        *x = (struct activity_alert){.id = 0};
        if ((r = copy_int(st, 0, &x->id)) < 0 || (r = copy_int(st, 1, &x->time_us)) < 0 ||
            (r = COPY_TEXT(st, 2, x->user)) < 0 || (r = COPY_TEXT(st, 3, x->kind)) < 0 ||
            (r = COPY_TEXT(st, 4, x->event_id)) < 0 || (r = COPY_TEXT(st, 5, x->detail)) < 0 ||
            (r = COPY_TEXT(st, 6, x->note)) < 0 || (r = copy_int(st, 7, &x->reporter_uid)) < 0 ||
            (r = copy_int(st, 8, &x->acked_us)) < 0 || (r = copy_int(st, 9, &x->acked_by_uid)) < 0)
                return r;
        return 0;
}

int activity_alerts(struct activity *a, const char *user, bool open_only, unsigned limit, struct activity_alert **ret,
                    size_t *ret_n)
{
        enum stmt_id id;
        void *v = NULL;
        size_t n = 0;
        int r;

        if (!a || !user_filter_ok(user) || limit == 0 || !ret || !ret_n)
                return -EINVAL;
        if (user)
                id = open_only ? ST_ALERTS_USER_OPEN : ST_ALERTS_USER;
        else
                id = open_only ? ST_ALERTS_ALL_OPEN : ST_ALERTS_ALL;
        r = list(a, id, user, limit, sizeof(**ret), alert_from_row, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

int activity_alerts_open(struct activity *a, const char *user, uint64_t *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int64_t n = 0;
        int r;

        if (!a || !user || !user_filter_ok(user) || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_ALERTS_COUNT_OPEN, &st);
        if (r < 0)
                return r;
        r = bind_text(a, st, 1, user);
        if (r < 0)
                return r;
        r = one_int(st, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret = n > 0 ? (uint64_t)n : 0;
        return 0;
}

int activity_alert_get(struct activity *a, int64_t id, struct activity_alert *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        struct activity_alert x;
        int r;

        if (!a || id <= 0 || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_ALERT_GET, &st);
        if (r < 0)
                return r;
        r = bind_int(a, st, 1, id);
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        r = alert_from_row(st, &x);
        if (r < 0)
                return r;
        *ret = x;
        return 0;
}

int activity_alert_ack(struct activity *a, int64_t id, int64_t time_us, int64_t by_uid)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!a || id <= 0 || time_us <= 0 || by_uid < -1)
                return -EINVAL;
        r = stmt_get(a, ST_ALERT_ACK, &st);
        if (r < 0)
                return r;
        if ((r = bind_int(a, st, 1, id)) < 0 || (r = bind_int(a, st, 2, time_us)) < 0 ||
            (r = bind_int(a, st, 3, by_uid)) < 0)
                return r;
        r = step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(a->db) > 0 ? 1 : 0;
}

/* ---- the login notice -------------------------------------------------------------- */

/* Step ST once into a login with its place: 0, or -ENOENT for no row. */
static int one_login(sqlite3_stmt *st, struct activity_login *ret)
{
        struct activity_login l;
        int r;

        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        r = placed_login_from_row(st, &l);
        if (r < 0)
                return r;
        *ret = l;
        return 0;
}

int activity_login_get(struct activity *a, const char *user, const char *id, struct activity_login *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!a || !user || !user_filter_ok(user) || !event_id_valid(id) || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_LOGIN_GET, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, id)) < 0 || (r = bind_text(a, st, 2, user)) < 0)
                return r;
        return one_login(st, ret);
}

int activity_recent_login(struct activity *a, const char *user, const char *service, const char *ip, const char *rhost,
                          int64_t since_us, struct activity_login *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!a || !user || !user_filter_ok(user) || !service || !ip || !rhost || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_RECENT_LOGIN, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, user)) < 0 || (r = bind_text(a, st, 2, service)) < 0 ||
            (r = bind_text(a, st, 3, ip)) < 0 || (r = bind_int(a, st, 4, since_us)) < 0 ||
            (r = bind_text(a, st, 5, rhost)) < 0)
                return r;
        return one_login(st, ret);
}

int activity_previous_login(struct activity *a, const char *user, const char *before_id, const char *exclude_service,
                            struct activity_login *ret)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        if (!a || !user || !user_filter_ok(user) || (before_id && before_id[0] && !event_id_valid(before_id)) || !ret)
                return -EINVAL;
        r = stmt_get(a, ST_PREVIOUS_LOGIN, &st);
        if (r < 0)
                return r;
        if ((r = bind_text(a, st, 1, user)) < 0 ||
            (r = bind_text(a, st, 2, exclude_service ? exclude_service : "")) < 0 ||
            (r = bind_text(a, st, 3, before_id ? before_id : "")) < 0)
                return r;
        return one_login(st, ret);
}

/* ?1 user, ?2 after, ?3 before, ?4 the service left out. */
static int bind_failures(struct activity *a, sqlite3_stmt *st, const char *user, int64_t after_us, int64_t before_us,
                         const char *exclude_service)
{
        int r;

        if ((r = bind_text(a, st, 1, user)) < 0 || (r = bind_int(a, st, 2, after_us)) < 0 ||
            (r = bind_int(a, st, 3, before_us > 0 ? before_us : INT64_MAX)) < 0 ||
            (r = bind_text(a, st, 4, exclude_service ? exclude_service : "")) < 0)
                return r;
        return 0;
}

int activity_failures(struct activity *a, const char *user, int64_t after_us, int64_t before_us,
                      const char *exclude_service, uint64_t *ret_n, struct activity_login *ret_last)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        _cleanup_reset_ sqlite3_stmt *lt = NULL;
        struct activity_login last;
        int64_t n = 0;
        int r;

        if (!a || !user || !user_filter_ok(user) || !ret_n)
                return -EINVAL;
        r = stmt_get(a, ST_FAILURES_COUNT, &st);
        if (r < 0)
                return r;
        r = bind_failures(a, st, user, after_us, before_us, exclude_service);
        if (r >= 0)
                r = bind_int(a, st, 5, ACTIVITY_FAILURES_MAX);
        if (r < 0)
                return r;
        r = stmt_step(st);
        if (r < 0)
                return r;
        if (r > 0 && (r = copy_int(st, 0, &n)) < 0)
                return r;
        if (n > 0 && ret_last) {
                r = stmt_get(a, ST_FAILURES_LAST, &lt);
                if (r < 0)
                        return r;
                r = bind_failures(a, lt, user, after_us, before_us, exclude_service);
                if (r < 0)
                        return r;
                r = one_login(lt, &last);
                if (r < 0)
                        return r == -ENOENT ? -EIO : r; /* counted, then gone: not in one read */
        }
        *ret_n = n > 0 ? (uint64_t)n : 0;
        if (n > 0 && ret_last)
                *ret_last = last;
        return 0;
}

/* ?1 user, ?2 since, ?3 the login left out, ?5 how many logins at most. */
static int bind_seen(struct activity *a, sqlite3_stmt *st, const char *user, int64_t since_us, const char *exclude_id)
{
        int r;

        if ((r = bind_text(a, st, 1, user)) < 0 || (r = bind_int(a, st, 2, since_us)) < 0 ||
            (r = bind_text(a, st, 3, exclude_id ? exclude_id : "")) < 0 ||
            (r = bind_int(a, st, 5, ACTIVITY_SEEN_MAX)) < 0)
                return r;
        return 0;
}

static int seen_country(struct activity *a, const char *user, int64_t since_us, const char *exclude_id,
                        const char *country, struct activity_seen *seen)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int64_t located = 0, same = 0;
        int r;

        r = stmt_get(a, ST_SEEN_COUNTRY, &st);
        if (r < 0)
                return r;
        if ((r = bind_seen(a, st, user, since_us, exclude_id)) < 0 || (r = bind_text(a, st, 4, country)) < 0)
                return r;
        r = stmt_step(st);
        if (r <= 0)
                return r < 0 ? r : -EIO;
        if ((r = copy_int(st, 0, &located)) < 0 || (r = copy_int(st, 1, &same)) < 0)
                return r;
        seen->located = located != 0;
        seen->country = same != 0;
        return 0;
}

static int seen_network(struct activity *a, const char *user, int64_t since_us, const char *exclude_id,
                        const char *network, struct activity_seen *seen)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        char addr[EVENT_HOST_MAX], net[GEO_NETWORK_MAX];
        int r;

        r = stmt_get(a, ST_SEEN_ADDRESSES, &st);
        if (r < 0)
                return r;
        r = bind_seen(a, st, user, since_us, exclude_id);
        if (r < 0)
                return r;
        /* the networks are worked out here, not stored: one row per distinct address */
        while ((r = stmt_step(st)) > 0) {
                r = COPY_TEXT(st, 0, addr);
                if (r < 0)
                        return r;
                if (geo_network(addr, net, sizeof(net)) < 0)
                        continue; /* a host name: no network */
                seen->addressed = true;
                if (strcmp(net, network) == 0) {
                        seen->network = true;
                        return 0;
                }
        }
        return r;
}

int activity_place_seen(struct activity *a, const char *user, int64_t since_us, const char *exclude_id,
                        const char *country, const char *network, struct activity_seen *ret)
{
        struct activity_seen seen = {false};
        int r;

        if (!a || !user || !user_filter_ok(user) || (exclude_id && exclude_id[0] && !event_id_valid(exclude_id)) ||
            !ret)
                return -EINVAL;
        if (country && country[0]) {
                r = seen_country(a, user, since_us, exclude_id, country, &seen);
                if (r < 0)
                        return r;
        }
        if (network && network[0]) {
                r = seen_network(a, user, since_us, exclude_id, network, &seen);
                if (r < 0)
                        return r;
        }
        *ret = seen;
        return 0;
}
