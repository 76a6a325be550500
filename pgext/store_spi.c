/* SPDX-License-Identifier: MIT */
/* common/store.h over SPI: the credential store's contract, kept by the fleet's tables, so
 * that common/verify.c and common/enroll.c run inside the database unchanged (one rule, one
 * place). Every call runs in the transaction of the API function that called the rules; a
 * failed statement is caught, the store is marked failed (every later call fails at once)
 * and the caller turns the error into an ERROR that rolls everything back. Never logs. */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "store.h"
#include "store_spi.h"

struct store {
        char host[STORE_USER_MAX];
        bool failed;
        char error[256];
};

struct store *store_spi_new(const char *host)
{
        struct store *s = calloc(1, sizeof(*s));

        if (s)
                snprintf(s->host, sizeof(s->host), "%s", host);
        return s;
}

struct store *store_spi_free(struct store *s)
{
        free(s);
        return NULL;
}

const char *store_spi_error(const struct store *s)
{
        return s && s->failed ? s->error : NULL;
}

/* The name a lockout or failure source is kept under: a remote address is the same source
 * on every host; a terminal ("tty:pts/0", "local") and the account-wide local scope are
 * this host's own. */
static void source_key(const struct store *s, const char *source, bool remote, char *out, size_t outlen)
{
        if (remote || strcmp(source, STORE_REMOTE_ALL) == 0)
                snprintf(out, outlen, "%s", source);
        else
                snprintf(out, outlen, "%s@%s", source, s->host);
}

static bool source_remote(const char *source)
{
        /* failures carry their class; lockouts are looked up by name: a local name has a
         * prefix (source.h) */
        return strncmp(source, "tty:", 4) != 0 && strcmp(source, "local") != 0 && strcmp(source, STORE_LOCAL_ALL) != 0 &&
               strncmp(source, "mlsecd:", 7) != 0;
}

#define MAXARGS 8
struct q {
        int n;
        Oid types[MAXARGS];
        Datum values[MAXARGS];
        char nulls[MAXARGS];
};

static void arg_text(struct q *q, const char *v)
{
        q->types[q->n] = TEXTOID;
        q->values[q->n] = CStringGetTextDatum(v);
        q->nulls[q->n++] = ' ';
}

static void arg_int8(struct q *q, int64_t v)
{
        q->types[q->n] = INT8OID;
        q->values[q->n] = Int64GetDatum(v);
        q->nulls[q->n++] = ' ';
}

static void arg_bytea(struct q *q, const uint8_t *p, size_t len)
{
        bytea *b = palloc(VARHDRSZ + len);

        SET_VARSIZE(b, VARHDRSZ + len);
        memcpy(VARDATA(b), p, len);
        q->types[q->n] = BYTEAOID;
        q->values[q->n] = PointerGetDatum(b);
        q->nulls[q->n++] = ' ';
}

/* Plans kept for the backend's life, one per statement of this extension (SQL is always a
 * string literal: its address names it), so a login parses and plans nothing. */
#define PLANS_MAX 64
static struct {
        const char *sql;
        SPIPlanPtr plan;
} plans[PLANS_MAX];

int store_spi_execute(const char *sql, int n, Oid *types, Datum *values, const char *nulls)
{
        SPIPlanPtr plan = NULL;
        size_t i;

        for (i = 0; i < PLANS_MAX && plans[i].sql; i++)
                if (plans[i].sql == sql) {
                        plan = plans[i].plan;
                        break;
                }
        if (!plan) {
                plan = SPI_prepare(sql, n, types);
                if (!plan)
                        return SPI_result;
                if (i < PLANS_MAX && SPI_keepplan(plan) == 0) {
                        plans[i].sql = sql;
                        plans[i].plan = plan;
                }
        }
        /* never read-only: that would reuse the snapshot and miss this function's own writes
         * (a device just added, a failure just counted) */
        return SPI_execute_plan(plan, values, nulls, false, 0);
}

/* Run SQL; the number of rows processed, or -EIO with the store marked failed. */
static int run(struct store *s, const char *sql, struct q *q, bool read_only)
{
        MemoryContext mc = CurrentMemoryContext;
        volatile int r = 0;

        if (s->failed)
                return -EIO;
        PG_TRY();
        {
                int rc = store_spi_execute(sql, q->n, q->types, q->values, q->nulls);

                if (rc < 0) {
                        snprintf(s->error, sizeof(s->error), "%s", SPI_result_code_string(rc));
                        r = -EIO;
                } else
                        r = (int)SPI_processed;
        }
        PG_CATCH();
        {
                ErrorData *e;

                MemoryContextSwitchTo(mc);
                e = CopyErrorData();
                FlushErrorState();
                snprintf(s->error, sizeof(s->error), "%s", e->message ? e->message : "statement failed");
                FreeErrorData(e);
                r = -EIO;
        }
        PG_END_TRY();
        if (r < 0)
                s->failed = true;
        return r;
}

static int64_t col_int8(int row, int col, int64_t null_value)
{
        bool isnull;
        Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

        return isnull ? null_value : DatumGetInt64(d);
}

static char *col_text(int row, int col)
{
        return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

static bytea *col_bytea(int row, int col)
{
        bool isnull;
        Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

        return isnull ? NULL : DatumGetByteaPP(d);
}

/* ---- transactions: the API function's own ---------------------------------------------- */

int store_begin(struct store *s)
{
        return s->failed ? -EIO : 0;
}

int store_commit(struct store *s)
{
        return s->failed ? -EIO : 0;
}

int store_rollback(struct store *s)
{
        /* what was written is undone by the ERROR the caller raises for the failure that
         * made the rules roll back */
        s->failed = true;
        if (!s->error[0])
                snprintf(s->error, sizeof(s->error), "rolled back");
        return 0;
}

int store_op_begin(struct store *s, bool *ret_own)
{
        *ret_own = false;
        return s->failed ? -EIO : 0;
}

int store_op_end(struct store *s, bool own, int r)
{
        return r < 0 ? r : s->failed ? -EIO : r;
}

int store_checkpoint(struct store *s)
{
        return s->failed ? -EIO : 0;
}

/* ---- devices --------------------------------------------------------------------------- */

int store_list_devices(struct store *s, const char *user, struct store_device **ret, size_t *ret_n)
{
        struct q q = {0};
        struct store_device *d = NULL;
        int n;

        arg_text(&q, user);
        n = run(s, "SELECT id, name, alg, digits, period, sealed, last_step FROM mlsec.devices "
                   "WHERE username = $1 ORDER BY id",
                &q, true);
        if (n < 0)
                return n;
        if (n > 0 && !(d = calloc((size_t)n, sizeof(*d))))
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                bytea *b = col_bytea(i, 6);
                char *alg = col_text(i, 3);

                d[i].id = col_int8(i, 1, 0);
                snprintf(d[i].name, sizeof(d[i].name), "%s", col_text(i, 2));
                if (totp_alg_from_string(alg ? alg : "", &d[i].alg) < 0)
                        d[i].alg = TOTP_SHA1;
                d[i].digits = (unsigned)DatumGetInt32(
                        SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4, &(bool){0}));
                d[i].period = (unsigned)DatumGetInt32(
                        SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 5, &(bool){0}));
                d[i].last_step = col_int8(i, 7, -1);
                if (b) {
                        d[i].sealed_len = VARSIZE_ANY_EXHDR(b);
                        d[i].sealed = malloc(d[i].sealed_len ? d[i].sealed_len : 1);
                        if (!d[i].sealed) {
                                store_devices_free(d, (size_t)n);
                                return -ENOMEM;
                        }
                        memcpy(d[i].sealed, VARDATA_ANY(b), d[i].sealed_len);
                }
        }
        *ret = d;
        *ret_n = (size_t)n;
        return 0;
}

struct store_device *store_devices_free(struct store_device *d, size_t n)
{
        for (size_t i = 0; d && i < n; i++) {
                if (d[i].sealed)
                        explicit_bzero(d[i].sealed, d[i].sealed_len);
                free(d[i].sealed);
        }
        free(d);
        return NULL;
}

int store_add_device_period(struct store *s, const char *user, const char *name, enum totp_alg alg, unsigned digits,
                            unsigned period, int64_t last_step, const uint8_t *sealed, size_t sealed_len, int64_t now)
{
        struct q q = {0};
        int n;

        arg_text(&q, user);
        arg_text(&q, name);
        arg_text(&q, totp_alg_to_string(alg));
        arg_int8(&q, digits);
        arg_int8(&q, period);
        arg_int8(&q, last_step);
        arg_bytea(&q, sealed, sealed_len);
        arg_int8(&q, now);
        n = run(s, "INSERT INTO mlsec.devices (username, name, alg, digits, period, last_step, sealed, created, "
                   "created_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, session_user) "
                   "ON CONFLICT (username, name) DO NOTHING",
                &q, false);
        return n < 0 ? n : n == 0 ? -EEXIST : 0;
}

int store_add_device(struct store *s, const char *user, const char *name, enum totp_alg alg, unsigned digits,
                     const uint8_t *sealed, size_t sealed_len, int64_t now)
{
        return store_add_device_period(s, user, name, alg, digits, TOTP_PERIOD, -1, sealed, sealed_len, now);
}

int store_device_accepted(struct store *s, int64_t device_id, int64_t step, int64_t now)
{
        struct q q = {0};

        arg_int8(&q, device_id);
        arg_int8(&q, step);
        arg_int8(&q, now);
        return run(s, "UPDATE mlsec.devices SET last_step = greatest(last_step, $2), last_used = $3 WHERE id = $1", &q,
                   false) < 0
                       ? -EIO
                       : 0;
}

int store_remove_device(struct store *s, const char *user, const char *name)
{
        struct q q = {0};
        int n;

        arg_text(&q, user);
        arg_text(&q, name);
        n = run(s, "DELETE FROM mlsec.devices WHERE username = $1 AND name = $2", &q, false);
        return n < 0 ? n : n == 0 ? -ENOENT : 0;
}

int store_remove_user_mfa(struct store *s, const char *user, unsigned *ret_removed)
{
        struct q q = {0};
        int n;

        arg_text(&q, user);
        n = run(s, "DELETE FROM mlsec.devices WHERE username = $1", &q, false);
        if (n < 0)
                return n;
        if (run(s, "DELETE FROM mlsec.backup_codes WHERE username = $1", &q, false) < 0)
                return -EIO;
        if (ret_removed)
                *ret_removed = (unsigned)n;
        return 0;
}

/* ---- backup codes ---------------------------------------------------------------------- */

int store_list_backup_codes(struct store *s, const char *user, struct store_backup **ret, size_t *ret_n)
{
        struct q q = {0};
        struct store_backup *b = NULL;
        size_t k = 0;
        int n;

        arg_text(&q, user);
        n = run(s, "SELECT id, hash FROM mlsec.backup_codes WHERE username = $1 AND used IS NULL ORDER BY id", &q,
                true);
        if (n < 0)
                return n;
        if (n > 0 && !(b = calloc((size_t)n, sizeof(*b))))
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                bytea *h = col_bytea(i, 2);

                if (!h || VARSIZE_ANY_EXHDR(h) != SEAL_HASH_BYTES)
                        continue; /* never matches */
                b[k].id = col_int8(i, 1, 0);
                memcpy(b[k].hash, VARDATA_ANY(h), SEAL_HASH_BYTES);
                k++;
        }
        *ret = b;
        *ret_n = k;
        return 0;
}

int store_replace_backup_codes(struct store *s, const char *user, const uint8_t (*hashes)[SEAL_HASH_BYTES], size_t n,
                               int64_t now)
{
        struct q q = {0};

        arg_text(&q, user);
        if (run(s, "DELETE FROM mlsec.backup_codes WHERE username = $1", &q, false) < 0)
                return -EIO;
        for (size_t i = 0; i < n; i++) {
                struct q qi = {0};

                arg_text(&qi, user);
                arg_bytea(&qi, hashes[i], SEAL_HASH_BYTES);
                arg_int8(&qi, now);
                if (run(s, "INSERT INTO mlsec.backup_codes (username, hash, created) VALUES ($1, $2, $3)", &qi,
                        false) < 0)
                        return -EIO;
        }
        return 0;
}

int store_use_backup_code(struct store *s, int64_t id, int64_t now)
{
        struct q q = {0};
        int n;

        arg_int8(&q, id);
        arg_int8(&q, now);
        n = run(s, "UPDATE mlsec.backup_codes SET used = $2 WHERE id = $1 AND used IS NULL", &q, false);
        return n < 0 ? n : n == 0 ? -ESTALE : 0;
}

/* ---- failures and lockouts: counted over every host ------------------------------------ */

int store_add_failure(struct store *s, const char *user, const char *source, enum source_class cls, int64_t now)
{
        char key[STORE_SOURCE_MAX + STORE_USER_MAX + 1];
        struct q q = {0};

        source_key(s, source, cls == SOURCE_REMOTE, key, sizeof(key));
        arg_text(&q, user);
        arg_text(&q, key);
        arg_int8(&q, (int64_t)cls);
        arg_int8(&q, now);
        arg_text(&q, s->host);
        return run(s, "INSERT INTO mlsec.failures (username, source, cls, at, host) VALUES ($1, $2, $3, $4, $5)", &q,
                   false) < 0
                       ? -EIO
                       : 0;
}

static int count(struct store *s, const char *sql, struct q *q, unsigned *ret)
{
        int n = run(s, sql, q, true);

        if (n < 0)
                return n;
        *ret = n == 1 ? (unsigned)col_int8(0, 1, 0) : 0;
        return 0;
}

int store_count_failures(struct store *s, const char *user, const char *source, int64_t since, unsigned *ret)
{
        char key[STORE_SOURCE_MAX + STORE_USER_MAX + 1];
        struct q q = {0};

        source_key(s, source, source_remote(source), key, sizeof(key));
        arg_text(&q, user);
        arg_text(&q, key);
        arg_int8(&q, since);
        return count(s, "SELECT count(*) FROM mlsec.failures WHERE username = $1 AND source = $2 AND at >= $3", &q,
                     ret);
}

int store_count_class_failures(struct store *s, const char *user, enum source_class cls, int64_t since, unsigned *ret)
{
        struct q q = {0};

        arg_text(&q, user);
        arg_int8(&q, (int64_t)cls);
        arg_int8(&q, since);
        if (cls == SOURCE_REMOTE)
                return count(s, "SELECT count(*) FROM mlsec.failures WHERE username = $1 AND cls = $2 AND at >= $3",
                             &q, ret);
        arg_text(&q, s->host); /* local terminals are counted per host */
        return count(s,
                     "SELECT count(*) FROM mlsec.failures WHERE username = $1 AND cls = $2 AND at >= $3 AND host = $4",
                     &q, ret);
}

int store_clear_failures(struct store *s, const char *user, const char *source)
{
        char key[STORE_SOURCE_MAX + STORE_USER_MAX + 1];
        struct q q = {0};

        arg_text(&q, user);
        if (!source)
                return run(s, "DELETE FROM mlsec.failures WHERE username = $1", &q, false) < 0 ? -EIO : 0;
        source_key(s, source, source_remote(source), key, sizeof(key));
        arg_text(&q, key);
        return run(s, "DELETE FROM mlsec.failures WHERE username = $1 AND source = $2", &q, false) < 0 ? -EIO : 0;
}

int store_prune(struct store *s, int64_t before)
{
        struct q q = {0};

        arg_int8(&q, before);
        if (run(s, "DELETE FROM mlsec.failures WHERE at < $1", &q, false) < 0)
                return -EIO;
        return run(s, "DELETE FROM mlsec.lockouts WHERE until < $1", &q, false) < 0 ? -EIO : 0;
}

int store_get_lockout(struct store *s, const char *user, const char *source, struct store_lockout *ret)
{
        char key[STORE_SOURCE_MAX + STORE_USER_MAX + 1];
        struct q q = {0};
        int n;

        source_key(s, source, source_remote(source), key, sizeof(key));
        arg_text(&q, user);
        arg_text(&q, key);
        n = run(s, "SELECT locked_at, until FROM mlsec.lockouts WHERE username = $1 AND source = $2", &q, true);
        if (n < 0)
                return n;
        if (n == 0)
                return -ENOENT;
        snprintf(ret->source, sizeof(ret->source), "%s", source);
        ret->locked_at = col_int8(0, 1, 0);
        ret->until = col_int8(0, 2, 0);
        return 0;
}

int store_set_lockout(struct store *s, const char *user, const char *source, int64_t locked_at, int64_t until)
{
        char key[STORE_SOURCE_MAX + STORE_USER_MAX + 1];
        struct q q = {0};

        source_key(s, source, source_remote(source), key, sizeof(key));
        arg_text(&q, user);
        arg_text(&q, key);
        arg_int8(&q, locked_at);
        arg_int8(&q, until);
        arg_text(&q, s->host);
        return run(s,
                   "INSERT INTO mlsec.lockouts (username, source, locked_at, until, host) VALUES ($1, $2, $3, $4, $5) "
                   "ON CONFLICT (username, source) DO UPDATE SET locked_at = $3, until = $4, host = $5",
                   &q, false) < 0
                       ? -EIO
                       : 0;
}

int store_list_lockouts(struct store *s, const char *user, int64_t now, struct store_lockout **ret, size_t *ret_n)
{
        struct q q = {0};
        struct store_lockout *l = NULL;
        int n;

        arg_text(&q, user);
        arg_int8(&q, now);
        n = run(s, "SELECT source, locked_at, until FROM mlsec.lockouts WHERE username = $1 AND until > $2 "
                   "ORDER BY source",
                &q, true);
        if (n < 0)
                return n;
        if (n > 0 && !(l = calloc((size_t)n, sizeof(*l))))
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                snprintf(l[i].source, sizeof(l[i].source), "%s", col_text(i, 1));
                l[i].locked_at = col_int8(i, 2, 0);
                l[i].until = col_int8(i, 3, 0);
        }
        *ret = l;
        *ret_n = (size_t)n;
        return 0;
}

/* ---- remembered grants: a host's own (mlsec.conf remember_*), not the fleet's ----------- */

int store_add_grant(struct store *s, const struct store_grant_key *g, const uint8_t pwfp[SEAL_HASH_BYTES],
                    int64_t now, int64_t expires)
{
        return -EOPNOTSUPP;
}

int store_find_grant(struct store *s, const struct store_grant_key *g, int64_t now, struct store_grant *ret)
{
        return -ENOENT;
}

int store_forget_grants(struct store *s, const char *user, unsigned *ret_n)
{
        if (ret_n)
                *ret_n = 0;
        return 0;
}
