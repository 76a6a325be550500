/* SPDX-License-Identifier: MIT */
/* The host's side of the fleet's API over libpq (fleet.h): bounded connect and calls, the
 * replies parsed into mlsec's own types. The only file that includes <libpq-fe.h>. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "seal.h"
#include "source.h"
#include "util.h"

struct fleet {
        PGconn *conn;
        unsigned timeout_ms;
        bool broken;
        char error[FLEET_ERR_MAX];
};

bool fleet_configured(const struct mlsec_conf *c)
{
        return c && c->fleet_db[0];
}

bool fleet_ok(const struct fleet *f)
{
        return f && f->conn && !f->broken && PQstatus(f->conn) == CONNECTION_OK;
}

const char *fleet_error(const struct fleet *f)
{
        return f ? f->error : "";
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's words without the trailing newline, bounded */
static void set_error(char *out, size_t outlen, const char *msg)
{
        size_t n;

        if (!out || !outlen)
                return;
        snprintf(out, outlen, "%s", msg && msg[0] ? msg : "unknown error");
        n = strlen(out);
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
                out[--n] = '\0';
        for (char *p = out; *p; p++)
                if (*p == '\n' || *p == '\t')
                        *p = ' ';
}

/* Wait until the socket is ready for EVENTS or the deadline passes. */
static int wait_socket(PGconn *conn, short events, int64_t deadline)
{
        struct pollfd p = {.fd = PQsocket(conn), .events = events};
        int64_t left = deadline - now_ms();
        int r;

        if (p.fd < 0)
                return -ECONNRESET;
        if (left <= 0)
                return -ETIMEDOUT;
        do
                r = poll(&p, 1, (int)left);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

/* CONNINFO, with USER (when not NULL) as the role unless CONNINFO names one */
static int connect_bounded(const char *conninfo, const char *user, unsigned timeout_ms, PGconn **ret, char *err,
                           size_t errlen)
{
        const char *keys[] = {"user", "dbname", NULL};
        const char *values[] = {user, conninfo, NULL};
        int64_t deadline = now_ms() + timeout_ms;
        PostgresPollingStatusType st = PGRES_POLLING_WRITING;
        PGconn *conn = user && user[0] ? PQconnectStartParams(keys, values, 1)
                                       : PQconnectStartParams(keys + 1, values + 1, 1);
        int r = 0;

        if (!conn)
                return -ENOMEM;
        if (PQstatus(conn) == CONNECTION_BAD) {
                set_error(err, errlen, PQerrorMessage(conn));
                PQfinish(conn);
                return -ECONNREFUSED;
        }
        while (st != PGRES_POLLING_OK) {
                if (st == PGRES_POLLING_FAILED) {
                        set_error(err, errlen, PQerrorMessage(conn));
                        r = -ECONNREFUSED;
                        break;
                }
                r = wait_socket(conn, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
                if (r < 0) {
                        set_error(err, errlen, r == -ETIMEDOUT ? "no answer within fleet_timeout" : strerror(-r));
                        break;
                }
                st = PQconnectPoll(conn);
        }
        if (r < 0) {
                PQfinish(conn);
                return r;
        }
        if (PQsetnonblocking(conn, 1) != 0) {
                set_error(err, errlen, PQerrorMessage(conn));
                PQfinish(conn);
                return -EIO;
        }
        *ret = conn;
        return 0;
}

static int open_with(const char *conninfo, const char *user, unsigned timeout_ms, struct fleet **ret, char *err,
                     size_t errlen)
{
        struct fleet *f = calloc(1, sizeof(*f));
        int r;

        if (!f)
                return -ENOMEM;
        f->timeout_ms = timeout_ms;
        r = connect_bounded(conninfo, user, timeout_ms, &f->conn, err, errlen);
        if (r < 0) {
                free(f);
                return r;
        }
        *ret = f;
        return 0;
}

int fleet_open(const struct mlsec_conf *c, struct fleet **ret, char *err, size_t errlen)
{
        char host[CONF_HOST_NAME_MAX];

        if (!fleet_configured(c) || !ret)
                return -EINVAL;
        /* the role is the host's name unless fleet_db says user=... */
        return open_with(c->fleet_db, conf_host_name(c, host, sizeof(host)), c->fleet_timeout * 1000, ret, err,
                         errlen);
}

int fleet_admin_open(const char *conninfo, unsigned timeout_s, struct fleet **ret, char *err, size_t errlen)
{
        if (!conninfo || !ret)
                return -EINVAL;
        return open_with(conninfo, NULL, (timeout_s ? timeout_s : 10) * 1000, ret, err, errlen);
}

struct fleet *fleet_close(struct fleet *f)
{
        if (!f)
                return NULL;
        if (f->conn)
                PQfinish(f->conn);
        free(f);
        return NULL;
}

/* One statement with text parameters, its whole result within the deadline. -ETIMEDOUT or
 * -ECONNRESET mark the connection broken (the caller opens a new one); -EPERM: the server
 * said insufficient privilege; -EIO: another error of the statement. */
static int call(struct fleet *f, const char *sql, int n, const char *const *params, PGresult **ret)
{
        int64_t deadline = now_ms() + f->timeout_ms;
        PGresult *res, *last = NULL;
        int r;

        f->error[0] = '\0';
        if (!fleet_ok(f)) {
                set_error(f->error, sizeof(f->error), "not connected");
                return -ECONNRESET;
        }
        /* without parameters: the simple protocol, which also runs several statements (init) */
        if (!(n == 0 ? PQsendQuery(f->conn, sql) : PQsendQueryParams(f->conn, sql, n, NULL, params, NULL, NULL, 0)))
                goto broken;
        for (;;) {
                r = PQflush(f->conn);
                if (r < 0)
                        goto broken;
                if (r == 0)
                        break;
                r = wait_socket(f->conn, POLLOUT | POLLIN, deadline);
                if (r < 0)
                        goto timeout;
                if (!PQconsumeInput(f->conn))
                        goto broken;
        }
        for (;;) {
                while (PQisBusy(f->conn)) {
                        r = wait_socket(f->conn, POLLIN, deadline);
                        if (r < 0)
                                goto timeout;
                        if (!PQconsumeInput(f->conn))
                                goto broken;
                }
                res = PQgetResult(f->conn);
                if (!res)
                        break;
                if (last)
                        PQclear(last);
                last = res;
        }
        if (!last)
                goto broken;
        if (PQresultStatus(last) != PGRES_TUPLES_OK && PQresultStatus(last) != PGRES_COMMAND_OK) {
                const char *state = PQresultErrorField(last, PG_DIAG_SQLSTATE);
                const char *msg = PQresultErrorField(last, PG_DIAG_MESSAGE_PRIMARY);

                set_error(f->error, sizeof(f->error), msg ? msg : PQresultErrorMessage(last));
                r = state && strcmp(state, "42501") == 0 ? -EPERM : -EIO;
                PQclear(last);
                if (PQstatus(f->conn) != CONNECTION_OK)
                        f->broken = true;
                return r;
        }
        *ret = last;
        return 0;
timeout:
        if (last)
                PQclear(last);
        set_error(f->error, sizeof(f->error), "no answer within fleet_timeout");
        f->broken = true;
        return -ETIMEDOUT;
broken:
        if (last)
                PQclear(last);
        set_error(f->error, sizeof(f->error), PQerrorMessage(f->conn));
        f->broken = true;
        return -ECONNRESET;
}

static const char *col(const PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? "" : PQgetvalue(res, row, c);
}

static int64_t col_int(const PGresult *res, int row, int c, int64_t null_value)
{
        const char *s = PQgetvalue(res, row, c);
        char *end = NULL;
        long long v;

        if (PQgetisnull(res, row, c))
                return null_value;
        errno = 0;
        v = strtoll(s, &end, 10);
        return errno || end == s || *end ? null_value : (int64_t)v;
}

static bool col_bool(const PGresult *res, int row, int c)
{
        return !PQgetisnull(res, row, c) && PQgetvalue(res, row, c)[0] == 't';
}

static const char *cls_param(enum source_class cls, char buf[4])
{
        snprintf(buf, 4, "%d", (int)cls);
        return buf;
}

#define OUTCOME_COLS                                                                                                   \
        "step, verdict, method, device, drift_seconds, lock_remaining, lock_user_wide, lock_local_wide, "             \
        "lock_started, backup_left, password_len"

/* mlsec.outcome into the verify types; -EBADMSG for a row that is not one */
static int outcome_of(const PGresult *res, enum verify_step *ret_step, struct verify_result *ret)
{
        struct verify_result v = {0};
        int64_t bl, pl;

        if (PQntuples(res) != 1 || PQnfields(res) != 11)
                return -EBADMSG;
        if (verify_step_from_string(col(res, 0, 0), ret_step) < 0 ||
            verify_verdict_from_string(col(res, 0, 1), &v.verdict) < 0 ||
            verify_method_from_string(col(res, 0, 2), &v.method) < 0)
                return -EBADMSG;
        snprintf(v.device, sizeof(v.device), "%s", col(res, 0, 3));
        v.drift_seconds = (long)col_int(res, 0, 4, 0);
        v.lock_remaining = (long)col_int(res, 0, 5, 0);
        v.lock_user_wide = col_bool(res, 0, 6);
        v.lock_local_wide = col_bool(res, 0, 7);
        v.lock_started = col_bool(res, 0, 8);
        bl = col_int(res, 0, 9, 0);
        pl = col_int(res, 0, 10, 0);
        if (bl < 0 || bl > 1000 || pl < 0 || pl > VERIFY_ANSWER_MAX)
                return -EBADMSG;
        v.backup_left = (unsigned)bl;
        v.password_len = (size_t)pl;
        *ret = v;
        return 0;
}

int fleet_before_code(struct fleet *f, const struct mlsec_conf *c, const struct verify_request *req,
                      struct verify_pass *ret)
{
        char cls[4];
        bool trusted = req->cls == SOURCE_REMOTE && source_in_networks(req->source, &c->trusted_networks);
        const char *p[7] = {req->user,
                            req->source,
                            cls_param(req->cls, cls),
                            req->known_user ? "t" : "f",
                            c->unenrolled == CONF_UNENROLLED_ALLOW ? "t" : "f",
                            trusted ? "t" : "f",
                            req->combined ? "t" : "f"};
        struct verify_pass pass = {0};
        PGresult *res = NULL;
        int r;

        r = call(f, "SELECT " OUTCOME_COLS " FROM mlsec.before_code($1, $2, $3, $4, $5, $6, $7)", 7, p, &res);
        if (r < 0)
                return r;
        r = outcome_of(res, &pass.step, &pass.res);
        PQclear(res);
        if (r < 0)
                return r;
        if (pass.step == VERIFY_PASS) {
                pass.method = pass.res.method;
                pass.res.method = METHOD_NONE;
                pass.reason = verify_pass_reason(pass.method);
        }
        *ret = pass;
        return 0;
}

int fleet_answer(struct fleet *f, const struct verify_request *req, struct verify_result *ret)
{
        char cls[4];
        const char *p[6] = {req->user, req->answer, req->source, cls_param(req->cls, cls), req->known_user ? "t" : "f",
                            req->combined ? "t" : "f"};
        enum verify_step step;
        PGresult *res = NULL;
        int r;

        r = call(f, "SELECT " OUTCOME_COLS " FROM mlsec.verify($1, $2, $3, $4, $5, $6)", 6, p, &res);
        if (r < 0)
                return r;
        r = outcome_of(res, &step, ret);
        PQclear(res);
        return r;
}

int fleet_enrol_begin(struct fleet *f, const char *user, const char *device, unsigned digits,
                      char uri[FLEET_URI_MAX], char secret[TOTP_BASE32_MAX])
{
        char d[4];
        const char *p[3] = {user, device ? device : "default", d};
        PGresult *res = NULL;
        int r;

        snprintf(d, sizeof(d), "%u", digits);
        r = call(f, "SELECT uri, secret FROM mlsec.enrol_begin($1, $2, $3::int)", 3, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1 || strlen(col(res, 0, 0)) >= FLEET_URI_MAX ||
            strlen(col(res, 0, 1)) >= TOTP_BASE32_MAX)
                r = -EBADMSG;
        else {
                snprintf(uri, FLEET_URI_MAX, "%s", col(res, 0, 0));
                snprintf(secret, TOTP_BASE32_MAX, "%s", col(res, 0, 1));
        }
        PQclear(res);
        return r;
}

/* a text[] as PostgreSQL prints it, {a,b,c}, of backup codes (digits and '-' only) */
static int codes_of(const char *s, char ret[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], size_t *ret_n)
{
        size_t n = 0;

        if (*s != '{')
                return -EBADMSG;
        s++;
        while (*s && *s != '}') {
                size_t len = strspn(s, "0123456789-");

                if (len == 0 || len >= BACKUP_CODE_SHOWN || n >= BACKUP_CODE_COUNT)
                        return -EBADMSG;
                memcpy(ret[n], s, len);
                ret[n++][len] = '\0';
                s += len;
                if (*s == ',')
                        s++;
        }
        *ret_n = n;
        return *s == '}' ? 0 : -EBADMSG;
}

int fleet_enrol_confirm(struct fleet *f, const char *user, const char *code, char *ret_result, size_t resultlen,
                        unsigned *ret_tries, char ret_codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN],
                        size_t *ret_n_codes, char ret_device[STORE_NAME_MAX])
{
        const char *p[2] = {user, code};
        PGresult *res = NULL;
        int r;

        r = call(f, "SELECT result, tries_left, backup_codes, device FROM mlsec.enrol_confirm($1, $2)", 2, p, &res);
        if (r < 0)
                return r;
        *ret_n_codes = 0;
        if (PQntuples(res) != 1)
                r = -EBADMSG;
        else {
                snprintf(ret_result, resultlen, "%s", col(res, 0, 0));
                *ret_tries = (unsigned)col_int(res, 0, 1, 0);
                snprintf(ret_device, STORE_NAME_MAX, "%s", col(res, 0, 3));
                if (!PQgetisnull(res, 0, 2))
                        r = codes_of(col(res, 0, 2), ret_codes, ret_n_codes);
        }
        /* the codes were in libpq's buffer: wipe it with the result */
        for (int c = 0; PQntuples(res) == 1 && c < PQnfields(res); c++)
                if (!PQgetisnull(res, 0, c))
                        seal_wipe(PQgetvalue(res, 0, c), (size_t)PQgetlength(res, 0, c));
        PQclear(res);
        return r;
}

int fleet_backup_codes(struct fleet *f, const char *user, char ret[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN])
{
        const char *p[1] = {user};
        PGresult *res = NULL;
        size_t n = 0;
        int r;

        r = call(f, "SELECT mlsec.backup_regenerate($1)", 1, p, &res);
        if (r < 0)
                return r;
        r = PQntuples(res) == 1 ? codes_of(col(res, 0, 0), ret, &n) : -EBADMSG;
        if (r >= 0 && n != BACKUP_CODE_COUNT)
                r = -EBADMSG;
        if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
                seal_wipe(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
        PQclear(res);
        return r;
}

/* SQL returning one integer or boolean */
static int call_scalar(struct fleet *f, const char *sql, int n, const char *const *p, int64_t *ret)
{
        PGresult *res = NULL;
        int r = call(f, sql, n, p, &res);

        if (r < 0)
                return r;
        if (PQntuples(res) != 1 || PQnfields(res) < 1)
                r = -EBADMSG;
        else if (strcmp(col(res, 0, 0), "t") == 0 || strcmp(col(res, 0, 0), "f") == 0)
                *ret = col(res, 0, 0)[0] == 't';
        else
                *ret = col_int(res, 0, 0, -1);
        PQclear(res);
        return r;
}

int fleet_remove_device(struct fleet *f, const char *user, const char *device)
{
        const char *p[2] = {user, device};
        int64_t v = 0;
        int r = call_scalar(f, "SELECT mlsec.device_remove($1, $2)", 2, p, &v);

        return r < 0 ? r : v ? 0 : -ENOENT;
}

static int count_call(struct fleet *f, const char *sql, const char *user, unsigned *ret)
{
        const char *p[1] = {user};
        int64_t v = 0;
        int r = call_scalar(f, sql, 1, p, &v);

        if (r >= 0 && ret)
                *ret = v < 0 ? 0 : (unsigned)v;
        return r;
}

int fleet_disable(struct fleet *f, const char *user, unsigned *ret_removed)
{
        return count_call(f, "SELECT mlsec.disable($1)", user, ret_removed);
}

int fleet_unlock(struct fleet *f, const char *user, unsigned *ret_n)
{
        return count_call(f, "SELECT mlsec.unlock($1)", user, ret_n);
}

int fleet_reset(struct fleet *f, const char *user, unsigned *ret_removed)
{
        return count_call(f, "SELECT mlsec.admin_reset($1)", user, ret_removed);
}

int fleet_devices(struct fleet *f, const char *user, struct fleet_device *ret, size_t max, size_t *ret_n)
{
        const char *p[1] = {user};
        PGresult *res = NULL;
        size_t n = 0;
        int r;

        r = call(f, "SELECT name, alg, digits, created, created_on, last_used FROM mlsec.devices($1)", 1, p, &res);
        if (r < 0)
                return r;
        for (int i = 0; i < PQntuples(res) && n < max; i++, n++) {
                struct fleet_device *d = &ret[n];

                snprintf(d->name, sizeof(d->name), "%s", col(res, i, 0));
                snprintf(d->alg, sizeof(d->alg), "%s", col(res, i, 1));
                d->digits = (unsigned)col_int(res, i, 2, 6);
                d->created = col_int(res, i, 3, 0);
                snprintf(d->created_on, sizeof(d->created_on), "%s", col(res, i, 4));
                d->last_used = col_int(res, i, 5, -1);
        }
        PQclear(res);
        *ret_n = n;
        return 0;
}

int fleet_import_device(struct fleet *f, const char *user, const char *device, const char *alg, unsigned digits,
                        unsigned period, int64_t last_step, const uint8_t *secret, size_t secret_len)
{
        char d[4], per[4], step[24], hex[2 * TOTP_SECRET_MAX + 3];
        const char *p[7] = {user, device, alg, d, per, step, hex};
        PGresult *res = NULL;
        int r;

        if (secret_len > TOTP_SECRET_MAX)
                return -EINVAL;
        snprintf(d, sizeof(d), "%u", digits);
        snprintf(per, sizeof(per), "%u", period);
        snprintf(step, sizeof(step), "%lld", (long long)last_step);
        memcpy(hex, "\\x", 2);
        for (size_t i = 0; i < secret_len; i++)
                snprintf(hex + 2 + 2 * i, 3, "%02x", secret[i]);
        hex[2 + 2 * secret_len] = '\0';
        r = call(f, "SELECT mlsec.import_device($1, $2, $3, $4::int, $5::int, $6::bigint, $7::bytea)", 7, p, &res);
        seal_wipe(hex, sizeof(hex));
        if (r < 0)
                return r;
        r = PQntuples(res) != 1                              ? -EBADMSG
            : strcmp(col(res, 0, 0), "imported") == 0 ? 1
            : strcmp(col(res, 0, 0), "present") == 0  ? 0
            : strcmp(col(res, 0, 0), "taken") == 0    ? -EEXIST
                                                      : -EBADMSG;
        PQclear(res);
        return r;
}

int fleet_lockouts(struct fleet *f, const char *user, struct store_lockout *ret, size_t max, size_t *ret_n)
{
        const char *p[1] = {user};
        PGresult *res = NULL;
        size_t n = 0;
        int r;

        r = call(f, "SELECT source, locked_at, until FROM mlsec.lockouts($1)", 1, p, &res);
        if (r < 0)
                return r;
        for (int i = 0; i < PQntuples(res) && n < max; i++, n++) {
                snprintf(ret[n].source, sizeof(ret[n].source), "%s", col(res, i, 0));
                ret[n].locked_at = col_int(res, i, 1, 0);
                ret[n].until = col_int(res, i, 2, 0);
        }
        PQclear(res);
        *ret_n = n;
        return 0;
}

int fleet_summary(struct fleet *f, const char *user, unsigned *ret_devices, unsigned *ret_backup_left,
                  unsigned *ret_locked)
{
        const char *p[1] = {user};
        PGresult *res = NULL;
        int r;

        r = call(f, "SELECT devices, backup_left, locked FROM mlsec.summary($1)", 1, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1 || PQnfields(res) != 3)
                r = -EBADMSG;
        else {
                *ret_devices = (unsigned)col_int(res, 0, 0, 0);
                *ret_backup_left = (unsigned)col_int(res, 0, 1, 0);
                *ret_locked = (unsigned)col_int(res, 0, 2, 0);
        }
        PQclear(res);
        return r;
}

int fleet_status(struct fleet *f, struct fleet_status *ret)
{
        struct fleet_status st = {0};
        PGresult *res = NULL;
        int r;

        r = call(f,
                 "SELECT s.host, s.admin, s.schema_version, s.db_time, current_setting('synchronous_standby_names'), "
                 "pg_is_in_recovery() FROM mlsec.status() s",
                 0, NULL, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1 || PQnfields(res) != 6)
                r = -EBADMSG;
        else {
                snprintf(st.host, sizeof(st.host), "%s", col(res, 0, 0));
                st.admin = col_bool(res, 0, 1);
                st.schema_version = (int)col_int(res, 0, 2, 0);
                st.db_time = col_int(res, 0, 3, 0);
                snprintf(st.sync_standbys, sizeof(st.sync_standbys), "%s", col(res, 0, 4));
                st.in_recovery = col_bool(res, 0, 5);
                *ret = st;
        }
        PQclear(res);
        return r;
}

/* ---- the owner's side ------------------------------------------------------------------ */

static int exec_simple(struct fleet *f, const char *sql)
{
        PGresult *res = NULL;
        int r = call(f, sql, 0, NULL, &res);

        if (r >= 0)
                PQclear(res);
        return r;
}

/* SQL with every @MODULE@ replaced by MODULE (a path: no quote allowed) */
static char *with_module(const char *sql, const char *module)
{
        size_t n = 0, ml = strlen(module);
        const char *p;
        char *out, *o;

        for (p = sql; (p = strstr(p, "@MODULE@")); p += 8)
                n++;
        out = malloc(strlen(sql) + n * ml + 1);
        if (!out)
                return NULL;
        for (o = out, p = sql;;) {
                const char *m = strstr(p, "@MODULE@");

                if (!m) {
                        strcpy(o, p);
                        break;
                }
                memcpy(o, p, (size_t)(m - p));
                o += m - p;
                memcpy(o, module, ml);
                o += ml;
                p = m + 8;
        }
        return out;
}

int fleet_admin_init(struct fleet *f, const char *sql, const char *module, int *ret_from, int *ret_to,
                     char *key_path, size_t keylen)
{
        PGresult *res = NULL;
        char *text;
        int from = 0, r;

        if (!module || module[0] != '/' || strpbrk(module, "'\\\n"))
                return -EINVAL;
        /* the whole of init in one transaction: a failure leaves nothing half made */
        r = exec_simple(f, "BEGIN");
        if (r < 0)
                return r;
        r = call(f, "SELECT to_regclass('mlsec.meta') IS NOT NULL", 0, NULL, &res);
        if (r < 0)
                goto fail;
        from = col_bool(res, 0, 0) ? -1 : 0;
        PQclear(res);
        if (from < 0) {
                r = call(f, "SELECT value::int FROM mlsec.meta WHERE key = 'schema_version'", 0, NULL, &res);
                if (r < 0)
                        goto fail;
                from = PQntuples(res) == 1 ? (int)col_int(res, 0, 0, 0) : 0;
                PQclear(res);
                if (from <= 0) {
                        set_error(f->error, sizeof(f->error), "a schema mlsec exists without a version: not ours");
                        r = -EEXIST;
                        goto fail;
                }
        }
        if (from > FLEET_SCHEMA_VERSION) {
                set_error(f->error, sizeof(f->error), "the fleet's schema is newer than this mlsecctl");
                r = -EPROTO;
                goto fail;
        }
        if (from == 0) {
                text = with_module(sql, module);
                if (!text) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = exec_simple(f, text);
                free(text);
                if (r < 0)
                        goto fail;
        } else {
                /* the same version: the functions' library path may have moved */
                const char *p[1] = {module};

                r = call(f,
                         "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                         "WHERE n.nspname = 'mlsec' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') "
                         "AND p.probin <> $1",
                         1, p, &res);
                if (r < 0)
                        goto fail;
                if (col_int(res, 0, 0, 0) > 0) {
                        PQclear(res);
                        set_error(f->error, sizeof(f->error),
                                  "the fleet's functions use another mlsec_fleet.so; give that --module path");
                        r = -EEXIST;
                        goto fail;
                }
                PQclear(res);
        }
        r = call(f, "SELECT mlsec._key_create()", 0, NULL, &res);
        if (r < 0)
                goto fail;
        snprintf(key_path, keylen, "%s", col(res, 0, 0));
        PQclear(res);
        r = exec_simple(f, "COMMIT");
        if (r < 0)
                return r;
        *ret_from = from;
        *ret_to = FLEET_SCHEMA_VERSION;
        return 0;
fail:
        {
                char keep[FLEET_ERR_MAX];

                memcpy(keep, f->error, sizeof(keep));
                if (fleet_ok(f))
                        (void)exec_simple(f, "ROLLBACK");
                memcpy(f->error, keep, sizeof(keep));
        }
        return r;
}

int fleet_admin_add_host(struct fleet *f, const char *name, bool admin)
{
        const char *p[2] = {name, admin ? "t" : "f"};
        PGresult *res = NULL;
        char sql[512];
        int r;

        if (!conf_host_name_valid(name))
                return -EINVAL;
        r = exec_simple(f, "BEGIN");
        if (r < 0)
                return r;
        r = call(f, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, p, &res);
        if (r < 0)
                goto fail;
        if (PQntuples(res) > 0) {
                PQclear(res);
                set_error(f->error, sizeof(f->error), "a role of that name exists");
                r = -EEXIST;
                goto fail;
        }
        PQclear(res);
        /* NAME is [a-z0-9_-]: quoted as an identifier it is itself */
        snprintf(sql, sizeof(sql), "CREATE ROLE \"%s\" LOGIN IN ROLE mlsec_host", name);
        r = exec_simple(f, sql);
        if (r < 0)
                goto fail;
        r = call(f,
                 "INSERT INTO mlsec.hosts (name, added, admin) "
                 "VALUES ($1, extract(epoch from clock_timestamp())::bigint, $2::boolean)",
                 2, p, &res);
        if (r < 0)
                goto fail;
        PQclear(res);
        return exec_simple(f, "COMMIT");
fail:
        if (fleet_ok(f))
                (void)exec_simple(f, "ROLLBACK");
        return r;
}
