/* SPDX-License-Identifier: MIT */
/* mlsec_fleet.so: the check inside the database tier. The C functions behind the fleet's
 * API (pgext/schema_v1.sql): before-code, verify, enrolment, backup codes and import, each
 * running common/verify.c's and common/enroll.c's rules on the fleet's tables (store_spi.c)
 * under the fleet key, a file only the database server's owner can read (mlsec.key_file).
 * The database's clock is the TOTP clock. A secret never leaves here except the new one
 * an enrolment shows once; nothing here logs a secret or a code. */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup.h"
#include "conf.h"
#include "enroll.h"
#include "seal.h"
#include "source.h"
#include "store_spi.h"
#include "totp.h"
#include "util.h"
#include "verify.h"

PG_MODULE_MAGIC;

#define FLEET_KEY_DEFAULT  "mlsec_fleet.key" /* in the data directory */
#define FLEET_LOCK_CLASS   7243              /* pg_advisory_xact_lock(class, hashtext(user)) */
#define FLEET_POLICY_MAX   4096

void _PG_init(void);
PG_FUNCTION_INFO_V1(mlsec_key_create);
PG_FUNCTION_INFO_V1(mlsec_before_code);
PG_FUNCTION_INFO_V1(mlsec_verify);
PG_FUNCTION_INFO_V1(mlsec_enrol_begin);
PG_FUNCTION_INFO_V1(mlsec_enrol_confirm);
PG_FUNCTION_INFO_V1(mlsec_backup_regenerate);
PG_FUNCTION_INFO_V1(mlsec_import_device);

static char *key_file_guc;
/* the backend's copy of the key, in sodium's guarded memory; loaded at first use */
static struct seal_key *fleet_key;

void _PG_init(void)
{
        DefineCustomStringVariable("mlsec.key_file", "The fleet key (32 bytes, owner-only).",
                                   "Relative paths are in the data directory.", &key_file_guc, FLEET_KEY_DEFAULT,
                                   PGC_SIGHUP, 0, NULL, NULL, NULL);
        MarkGUCPrefixReserved("mlsec");
}

static void key_path(char *out, size_t outlen)
{
        const char *f = key_file_guc && key_file_guc[0] ? key_file_guc : FLEET_KEY_DEFAULT;

        if (f[0] == '/')
                snprintf(out, outlen, "%s", f);
        else
                snprintf(out, outlen, "%s/%s", DataDir, f);
}

static void init_libs(void)
{
        if (seal_init() < 0 || totp_init() < 0)
                ereport(ERROR, (errmsg("mlsec: libsodium or liboath cannot start")));
}

static const struct seal_key *key_get(void)
{
        char path[MAXPGPATH];
        int r;

        if (fleet_key)
                return fleet_key;
        init_libs();
        key_path(path, sizeof(path));
        r = seal_key_load(path, false, &fleet_key);
        if (r < 0)
                ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
                                errmsg("mlsec: the fleet key %s cannot be loaded: %s", path, strerror(-r)),
                                errhint(r == -ENOENT ? "Run mlsecctl admin fleet init." : "It must be owned by the "
                                                                                           "server's user, mode 0600.")));
        return fleet_key;
}

/* The fleet's policy: mlsec.conf's defaults under the rows of mlsec.policy, read by
 * common/conf.c's parser (an unknown key or a bad value is an error, as in mlsec.conf). */
static void policy_load(struct mlsec_conf *c)
{
        char text[FLEET_POLICY_MAX] = "", err[CONF_ERR_MAX];
        size_t len = 0;
        int n;

        n = store_spi_execute("SELECT key, value FROM mlsec.policy ORDER BY key", 0, NULL, NULL, NULL);
        if (n != SPI_OK_SELECT)
                ereport(ERROR, (errmsg("mlsec: the fleet policy cannot be read")));
        for (uint64 i = 0; i < SPI_processed; i++) {
                char *k = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
                char *v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
                int w = snprintf(text + len, sizeof(text) - len, "%s = %s\n", k ? k : "", v ? v : "");

                if (w < 0 || (size_t)w >= sizeof(text) - len)
                        ereport(ERROR, (errmsg("mlsec: the fleet policy is too long")));
                len += (size_t)w;
        }
        if (conf_parse("mlsec.policy", text, len, c, err, sizeof(err)) < 0)
                ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("mlsec: %s", err)));
}

/* One user's checks and changes run one at a time in the whole fleet: each waits for the
 * previous one's commit and then reads what it wrote (read committed, a snapshot per
 * statement), so a code is spent once and every failure is counted. */
static void user_lock(const char *user)
{
        Oid types[2] = {INT4OID, TEXTOID};
        Datum values[2] = {Int32GetDatum(FLEET_LOCK_CLASS), CStringGetTextDatum(user)};

        if (store_spi_execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", 2, types, values, NULL) != SPI_OK_SELECT)
                ereport(ERROR, (errmsg("mlsec: the user cannot be locked")));
}

static void exec_args(const char *sql, int n, Oid *types, Datum *values)
{
        if (store_spi_execute(sql, n, types, values, NULL) < 0)
                ereport(ERROR, (errmsg("mlsec: statement failed: %s", sql)));
}

static void audit(const char *host, const char *user, const char *action, const char *detail)
{
        Oid types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
        Datum values[4] = {CStringGetTextDatum(host), CStringGetTextDatum(user), CStringGetTextDatum(action),
                           CStringGetTextDatum(detail)};

        exec_args("INSERT INTO mlsec.audit (at, host, username, action, detail) "
                  "VALUES (extract(epoch from clock_timestamp())::bigint, $1, $2, $3, $4)",
                  4, types, values);
}

/* The proof a later device change on HOST needs: a check of USER passed there now. */
static void passed(const char *host, const char *user, time_t now)
{
        Oid types[3] = {TEXTOID, TEXTOID, INT8OID};
        Datum values[3] = {CStringGetTextDatum(user), CStringGetTextDatum(host), Int64GetDatum((int64)now)};

        exec_args("INSERT INTO mlsec.passes (username, host, at) VALUES ($1, $2, $3) "
                  "ON CONFLICT (username, host) DO UPDATE SET at = $3",
                  3, types, values);
}

static void fail_store(struct store *s, int r, const char *what)
{
        const char *e = store_spi_error(s);

        ereport(ERROR, (errmsg("mlsec: %s: %s%s%s", what, strerror(-r), e ? ": " : "", e ? e : "")));
}

static char *arg_text(FunctionCallInfo fcinfo, int i, size_t max, const char *name)
{
        text *t = PG_GETARG_TEXT_PP(i);
        size_t len = VARSIZE_ANY_EXHDR(t);

        if (len >= max)
                ereport(ERROR, (errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION), errmsg("mlsec: %s is too long", name)));
        return text_to_cstring(t);
}

static enum source_class arg_class(FunctionCallInfo fcinfo, int i)
{
        int32 c = PG_GETARG_INT32(i);

        if (c != SOURCE_LOCAL && c != SOURCE_REMOTE && c != SOURCE_CONSOLE)
                ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("mlsec: no such source class")));
        return (enum source_class)c;
}

/* The composite type the SQL declaration of the called function returns. */
static TupleDesc result_desc(FunctionCallInfo fcinfo, const char *type)
{
        TupleDesc td;

        if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
                ereport(ERROR, (errmsg("mlsec: the result type is not %s", type)));
        return BlessTupleDesc(td);
}

static Datum outcome_datum(FunctionCallInfo fcinfo, enum verify_step step, const struct verify_result *res)
{
        TupleDesc td = result_desc(fcinfo, "mlsec.outcome");
        Datum v[11];
        bool nulls[11] = {0};

        v[0] = CStringGetTextDatum(verify_step_to_string(step));
        v[1] = CStringGetTextDatum(verify_verdict_to_string(res->verdict));
        v[2] = CStringGetTextDatum(verify_method_to_string(res->method));
        v[3] = CStringGetTextDatum(res->device);
        v[4] = Int64GetDatum((int64)res->drift_seconds);
        v[5] = Int64GetDatum((int64)res->lock_remaining);
        v[6] = BoolGetDatum(res->lock_user_wide);
        v[7] = BoolGetDatum(res->lock_local_wide);
        v[8] = BoolGetDatum(res->lock_started);
        v[9] = Int32GetDatum((int32)res->backup_left);
        v[10] = Int32GetDatum((int32)res->password_len);
        return HeapTupleGetDatum(heap_form_tuple(td, v, nulls));
}

/* The request every check is made of; the user's name as the store knows it. */
static void request_of(FunctionCallInfo fcinfo, int user_arg, int source_arg, int class_arg, int known_arg,
                       struct verify_request *ret)
{
        char *user = arg_text(fcinfo, user_arg, STORE_USER_MAX, "the user name");
        char *source = arg_text(fcinfo, source_arg, SOURCE_MAX, "the source");

        *ret = (struct verify_request){
                .user = verify_store_user(user),
                .known_user = PG_GETARG_BOOL(known_arg) && util_user_valid(user),
                .answer = "",
                .source = source,
                .cls = arg_class(fcinfo, class_arg),
                .now = time(NULL),
        };
}

/* _before_code(host, user, source, cls, known, unenrolled_allow, trusted, combined) */
Datum mlsec_before_code(PG_FUNCTION_ARGS)
{
        char *host = arg_text(fcinfo, 0, STORE_USER_MAX, "the host");
        struct mlsec_conf c;
        struct verify_request req;
        struct verify_pass pass;
        struct store *s;
        Datum d;
        int r;

        request_of(fcinfo, 1, 2, 3, 4, &req);
        req.combined = PG_GETARG_BOOL(7);
        conf_defaults(&c);
        if (SPI_connect() != SPI_OK_CONNECT)
                ereport(ERROR, (errmsg("mlsec: SPI_connect failed")));
        policy_load(&c);
        c.unenrolled = PG_GETARG_BOOL(5) ? CONF_UNENROLLED_ALLOW : CONF_UNENROLLED_DENY;
        /* trusted_networks are the host's own: it says whether this source is inside */
        c.trusted_networks.n = 0;
        if (PG_GETARG_BOOL(6) && req.cls == SOURCE_REMOTE) {
                c.trusted_networks.n = 1;
                if (source_canonical(req.source, c.trusted_networks.item[0], CONF_ITEM_MAX) < 1)
                        c.trusted_networks.n = 0; /* only an address can be inside a network */
        }
        user_lock(req.user);
        s = store_spi_new(host);
        if (!s)
                ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("mlsec: out of memory")));
        r = verify_before_code(s, &c, &req, NULL, NULL, &pass);
        if (r < 0) {
                store_spi_free(s);
                ereport(ERROR, (errmsg("mlsec: the login cannot be decided: %s", strerror(-r))));
        }
        s = store_spi_free(s);
        if (pass.step == VERIFY_PASS)
                pass.res.method = pass.method;
        SPI_finish();
        d = outcome_datum(fcinfo, pass.step, &pass.res);
        PG_RETURN_DATUM(d);
}

/* _verify(host, user, answer, source, cls, known, combined) */
Datum mlsec_verify(PG_FUNCTION_ARGS)
{
        char *host = arg_text(fcinfo, 0, STORE_USER_MAX, "the host");
        text *answer_t = PG_GETARG_TEXT_PP(2);
        char answer[VERIFY_ANSWER_MAX + 1];
        size_t alen = VARSIZE_ANY_EXHDR(answer_t);
        const struct seal_key *k;
        struct mlsec_conf c;
        struct verify_request req;
        struct verify_result res;
        struct store *s;
        Datum d;
        int r;

        request_of(fcinfo, 1, 3, 4, 5, &req);
        req.combined = PG_GETARG_BOOL(6);
        /* an over-long answer is no code at all (verify_answer says malformed) */
        if (alen > VERIFY_ANSWER_MAX)
                alen = 0;
        memcpy(answer, VARDATA_ANY(answer_t), alen);
        answer[alen] = '\0';
        req.answer = answer;
        conf_defaults(&c);
        k = key_get();
        if (SPI_connect() != SPI_OK_CONNECT)
                ereport(ERROR, (errmsg("mlsec: SPI_connect failed")));
        policy_load(&c);
        user_lock(req.user);
        s = store_spi_new(host);
        if (!s)
                ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("mlsec: out of memory")));
        r = verify_answer(s, k, &c, &req, &res);
        explicit_bzero(answer, sizeof(answer));
        if (r < 0)
                fail_store(s, r, "the code cannot be checked");
        s = store_spi_free(s);
        if (res.verdict == VERDICT_OK)
                passed(host, req.user, req.now);
        if (res.verdict == VERDICT_OK && res.method == METHOD_BACKUP) {
                char left[32];

                snprintf(left, sizeof(left), "%u left", res.backup_left);
                audit(host, req.user, "backup-code-used", left);
        }
        if (res.lock_started)
                audit(host, req.user, "locked",
                      res.lock_user_wide    ? "every remote source"
                      : res.lock_local_wide ? "every local terminal"
                                            : req.source);
        SPI_finish();
        d = outcome_datum(fcinfo, VERIFY_CHECKED, &res);
        PG_RETURN_DATUM(d);
}

/* ---- enrolment --------------------------------------------------------------------------- */

static unsigned count_devices(const char *user)
{
        Oid types[1] = {TEXTOID};
        Datum values[1] = {CStringGetTextDatum(user)};

        if (SPI_execute_with_args("SELECT count(*) FROM mlsec.devices WHERE username = $1", 1, types, values, NULL,
                                  false, 0) != SPI_OK_SELECT ||
            SPI_processed != 1)
                ereport(ERROR, (errmsg("mlsec: the devices cannot be counted")));
        return (unsigned)DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &(bool){0}));
}

/* _enrol_begin(host, user, name, digits, issuer): a pending device (sealed here) and its
 * URI and secret, shown once to draw the QR code. */
Datum mlsec_enrol_begin(PG_FUNCTION_ARGS)
{
        char *host = arg_text(fcinfo, 0, STORE_USER_MAX, "the host");
        char *user = arg_text(fcinfo, 1, STORE_USER_MAX, "the user name");
        char *name = arg_text(fcinfo, 2, STORE_NAME_MAX, "the device name");
        char *issuer = arg_text(fcinfo, 4, 256, "the issuer");
        int32 digits = PG_GETARG_INT32(3);
        struct enroll_device_req er = {.user = user, .device = name, .alg = TOTP_SHA1, .digits = (unsigned)digits,
                                       .issuer = issuer, .now = time(NULL)};
        struct enroll_pending p;
        struct enroll_device_result shown;
        const struct seal_key *k;
        uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        struct mlsec_conf c;
        TupleDesc td;
        Datum v[3], d;
        bool nulls[3] = {0};
        int r;

        if (!util_user_valid(user))
                ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("mlsec: not a valid user name")));
        if (!enroll_device_name_valid(name))
                ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                                errmsg("mlsec: a device name is 1 to 63 letters, digits, spaces, '.', '_' or '-'")));
        if (digits != 6 && digits != 8)
                ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("mlsec: digits must be 6 or 8")));
        k = key_get();
        conf_defaults(&c);
        if (SPI_connect() != SPI_OK_CONNECT)
                ereport(ERROR, (errmsg("mlsec: SPI_connect failed")));
        policy_load(&c);
        user_lock(user);
        r = enroll_pending_new(&er, &p, &shown);
        if (r >= 0)
                r = seal_encrypt(k, user, p.secret, p.secret_len, &sealed, &sealed_len);
        p.first = r >= 0 && count_devices(user) == 0;
        seal_wipe(p.secret, sizeof(p.secret));
        if (r < 0) {
                seal_wipe(&shown, sizeof(shown));
                ereport(ERROR, (errmsg("mlsec: the enrolment cannot begin: %s", strerror(-r))));
        }
        {
                Oid types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, BYTEAOID, BOOLOID, INT8OID};
                bytea *b = palloc(VARHDRSZ + sealed_len);
                Datum a[8];

                SET_VARSIZE(b, VARHDRSZ + sealed_len);
                memcpy(VARDATA(b), sealed, sealed_len);
                free(sealed);
                a[0] = CStringGetTextDatum(user);
                a[1] = CStringGetTextDatum(host);
                a[2] = CStringGetTextDatum(name);
                a[3] = CStringGetTextDatum(totp_alg_to_string(p.alg));
                a[4] = Int32GetDatum(digits);
                a[5] = PointerGetDatum(b);
                a[6] = BoolGetDatum(p.first);
                a[7] = Int64GetDatum((int64)er.now + c.enroll_timeout);
                exec_args("INSERT INTO mlsec.pending (username, host, name, alg, digits, sealed, first, tries, expires) "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, 3, $8) ON CONFLICT (username) DO UPDATE SET "
                          "host = $2, name = $3, alg = $4, digits = $5, sealed = $6, first = $7, tries = 3, "
                          "expires = $8",
                          8, types, a);
        }
        SPI_finish();
        td = result_desc(fcinfo, "mlsec.enrolment");
        v[0] = CStringGetTextDatum(shown.uri);
        v[1] = CStringGetTextDatum(shown.secret_b32);
        v[2] = Int64GetDatum((int64)er.now + c.enroll_timeout);
        seal_wipe(&shown, sizeof(shown));
        d = HeapTupleGetDatum(heap_form_tuple(td, v, nulls));
        PG_RETURN_DATUM(d);
}

static Datum confirmation(FunctionCallInfo fcinfo, const char *result, int tries_left,
                          char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], size_t n_codes, const char *device)
{
        TupleDesc td = result_desc(fcinfo, "mlsec.confirmation");
        Datum v[4];
        bool nulls[4] = {0};

        v[0] = CStringGetTextDatum(result);
        v[1] = Int32GetDatum(tries_left);
        if (n_codes) {
                Datum e[BACKUP_CODE_COUNT];

                for (size_t i = 0; i < n_codes; i++)
                        e[i] = CStringGetTextDatum(codes[i]);
                v[2] = PointerGetDatum(construct_array(e, (int)n_codes, TEXTOID, -1, false, TYPALIGN_INT));
        } else
                nulls[2] = true;
        v[3] = CStringGetTextDatum(device);
        return HeapTupleGetDatum(heap_form_tuple(td, v, nulls));
}

/* _enrol_confirm(host, user, code): the code proves the authenticator has the secret; the
 * device is stored with that step spent, and a first device gets ten backup codes. */
Datum mlsec_enrol_confirm(PG_FUNCTION_ARGS)
{
        char *host = arg_text(fcinfo, 0, STORE_USER_MAX, "the host");
        char *user = arg_text(fcinfo, 1, STORE_USER_MAX, "the user name");
        char *code = arg_text(fcinfo, 2, 64, "the code");
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], device[STORE_NAME_MAX] = "";
        const char *result = "ok";
        struct enroll_pending p = {0};
        const struct seal_key *k;
        struct mlsec_conf c;
        struct store *s = NULL;
        int64 expires, step = -1;
        int tries = 0, r;
        bool first = false;
        Datum d;

        k = key_get();
        conf_defaults(&c);
        if (SPI_connect() != SPI_OK_CONNECT)
                ereport(ERROR, (errmsg("mlsec: SPI_connect failed")));
        policy_load(&c);
        user_lock(user);
        {
                Oid types[2] = {TEXTOID, TEXTOID};
                Datum a[2] = {CStringGetTextDatum(user), CStringGetTextDatum(host)};
                bytea *b;
                char *alg;

                if (SPI_execute_with_args("SELECT name, alg, digits, sealed, first, tries, expires FROM mlsec.pending "
                                          "WHERE username = $1 AND host = $2",
                                          2, types, a, NULL, false, 0) != SPI_OK_SELECT)
                        ereport(ERROR, (errmsg("mlsec: the enrolment cannot be read")));
                if (SPI_processed != 1)
                        ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
                                        errmsg("mlsec: no enrolment of %s was begun on this host", user)));
                snprintf(p.user, sizeof(p.user), "%s", user);
                snprintf(p.device, sizeof(p.device), "%s",
                         SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
                alg = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
                if (totp_alg_from_string(alg ? alg : "", &p.alg) < 0)
                        p.alg = TOTP_SHA1;
                p.digits = (unsigned)DatumGetInt32(
                        SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &(bool){0}));
                b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &(bool){0}));
                p.first = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &(bool){0}));
                tries = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &(bool){0}));
                expires = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7, &(bool){0}));
                r = seal_decrypt(k, user, (const uint8_t *)VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), p.secret,
                                 sizeof(p.secret), &p.secret_len);
                if (r < 0)
                        ereport(ERROR, (errmsg("mlsec: the pending secret cannot be opened")));
        }
        if (expires <= (int64)time(NULL)) {
                seal_wipe(&p, sizeof(p));
                result = "expired";
                goto drop;
        }
        r = enroll_pending_check(&p, code, time(NULL), c.window, &step);
        if (r < 0) {
                seal_wipe(&p, sizeof(p));
                ereport(ERROR, (errmsg("mlsec: the code cannot be checked")));
        }
        if (r == 0) {
                Oid types[2] = {TEXTOID, TEXTOID};
                Datum a[2] = {CStringGetTextDatum(user), CStringGetTextDatum(host)};

                seal_wipe(&p, sizeof(p));
                if (--tries <= 0) {
                        result = "wrong code";
                        goto drop;
                }
                exec_args("UPDATE mlsec.pending SET tries = tries - 1 WHERE username = $1 AND host = $2", 2, types, a);
                SPI_finish();
                d = confirmation(fcinfo, "wrong code", tries, NULL, 0, "");
                PG_RETURN_DATUM(d);
        }
        s = store_spi_new(host);
        if (!s)
                ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("mlsec: out of memory")));
        r = enroll_pending_commit(s, k, &p, step, time(NULL), &first, codes);
        snprintf(device, sizeof(device), "%s", p.device);
        seal_wipe(&p, sizeof(p));
        if (r == -EEXIST || r == -EALREADY || r == -ESTALE) {
                /* the rules rolled back: nothing of theirs was written (the store failed) */
                result = r == -EEXIST ? "exists" : "changed";
                s = store_spi_free(s);
                seal_wipe(codes, sizeof(codes));
                SPI_finish();
                ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION), errmsg("mlsec: the enrolment is refused: %s",
                                                                          r == -EEXIST ? "a device of that name exists"
                                                                                       : "the devices changed meanwhile")));
        }
        if (r < 0)
                fail_store(s, r, "the device cannot be stored");
        s = store_spi_free(s);
        audit(host, user, "device-added", device);
        passed(host, user, time(NULL));
drop:
        {
                Oid types[2] = {TEXTOID, TEXTOID};
                Datum a[2] = {CStringGetTextDatum(user), CStringGetTextDatum(host)};

                exec_args("DELETE FROM mlsec.pending WHERE username = $1 AND host = $2", 2, types, a);
        }
        SPI_finish();
        d = confirmation(fcinfo, result, strcmp(result, "ok") == 0 ? tries : 0, codes,
                         strcmp(result, "ok") == 0 && first ? BACKUP_CODE_COUNT : 0, device);
        seal_wipe(codes, sizeof(codes));
        PG_RETURN_DATUM(d);
}

/* _backup_regenerate(host, user): ten new backup codes, shown once; the old ones end. */
Datum mlsec_backup_regenerate(PG_FUNCTION_ARGS)
{
        char *host = arg_text(fcinfo, 0, STORE_USER_MAX, "the host");
        char *user = arg_text(fcinfo, 1, STORE_USER_MAX, "the user name");
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        Datum e[BACKUP_CODE_COUNT];
        const struct seal_key *k = key_get();
        struct store *s;
        int r;

        if (SPI_connect() != SPI_OK_CONNECT)
                ereport(ERROR, (errmsg("mlsec: SPI_connect failed")));
        user_lock(user);
        s = store_spi_new(host);
        if (!s)
                ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("mlsec: out of memory")));
        r = enroll_backup_codes(s, k, user, time(NULL), codes);
        if (r < 0)
                fail_store(s, r, "the backup codes cannot be made");
        s = store_spi_free(s);
        SPI_finish();
        for (size_t i = 0; i < BACKUP_CODE_COUNT; i++)
                e[i] = CStringGetTextDatum(codes[i]);
        seal_wipe(codes, sizeof(codes));
        PG_RETURN_ARRAYTYPE_P(construct_array(e, BACKUP_CODE_COUNT, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Has USER a device in the fleet with exactly this SECRET (under any name)? */
static int same_secret(struct store *s, const struct seal_key *k, const char *user, const uint8_t *secret, size_t slen,
                       bool *ret)
{
        struct store_device *devs = NULL;
        size_t n = 0;
        int r = store_list_devices(s, user, &devs, &n);

        *ret = false;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                uint8_t other[SEAL_SECRET_MAX];
                size_t olen = 0;

                if (seal_decrypt(k, user, devs[i].sealed, devs[i].sealed_len, other, sizeof(other), &olen) >= 0 &&
                    olen == slen && seal_equal(other, secret, slen))
                        *ret = true;
                seal_wipe(other, sizeof(other));
        }
        store_devices_free(devs, n);
        return r;
}

/* _import_device(host, user, name, alg, digits, period, last_step, secret): a host's own
 * enrolment, sealed here under the fleet key. 'imported'; 'present' when the user has a
 * device with this secret already (imported before, from this host or another); 'taken'
 * when the name is another device's. */
Datum mlsec_import_device(PG_FUNCTION_ARGS)
{
        char *host = arg_text(fcinfo, 0, STORE_USER_MAX, "the host");
        char *user = arg_text(fcinfo, 1, STORE_USER_MAX, "the user name");
        char *name = arg_text(fcinfo, 2, STORE_NAME_MAX, "the device name");
        char *alg_s = arg_text(fcinfo, 3, 16, "the algorithm");
        int32 digits = PG_GETARG_INT32(4), period = PG_GETARG_INT32(5);
        int64 last_step = PG_GETARG_INT64(6);
        bytea *secret = PG_GETARG_BYTEA_PP(7);
        size_t slen = VARSIZE_ANY_EXHDR(secret);
        const struct seal_key *k = key_get();
        enum totp_alg alg;
        uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        const char *result = "imported";
        struct store *s;
        bool present = false;
        int r;

        if (!util_user_valid(user) || !enroll_device_name_valid(name) || totp_alg_from_string(alg_s, &alg) < 0 ||
            (digits != 6 && digits != 8) || period < TOTP_PERIOD_MIN || period > TOTP_PERIOD_MAX || last_step < -1 ||
            slen < 10 || slen > TOTP_SECRET_MAX)
                ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("mlsec: not a device to import")));
        if (SPI_connect() != SPI_OK_CONNECT)
                ereport(ERROR, (errmsg("mlsec: SPI_connect failed")));
        user_lock(user);
        s = store_spi_new(host);
        if (!s)
                ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("mlsec: out of memory")));
        r = same_secret(s, k, user, (const uint8_t *)VARDATA_ANY(secret), slen, &present);
        if (r < 0)
                fail_store(s, r, "the devices cannot be read");
        if (present) {
                result = "present";
                goto done;
        }
        r = seal_encrypt(k, user, (const uint8_t *)VARDATA_ANY(secret), slen, &sealed, &sealed_len);
        if (r < 0)
                ereport(ERROR, (errmsg("mlsec: the secret cannot be sealed")));
        r = store_add_device_period(s, user, name, alg, (unsigned)digits, (unsigned)period, last_step, sealed,
                                    sealed_len, (int64_t)time(NULL));
        seal_wipe(sealed, sealed_len);
        free(sealed);
        if (r == -EEXIST) {
                result = "taken";
                goto done;
        }
        if (r < 0)
                fail_store(s, r, "the device cannot be stored");
        audit(host, user, "device-imported", name);
done:
        s = store_spi_free(s);
        SPI_finish();
        PG_RETURN_TEXT_P(cstring_to_text(result));
}

/* _key_create(): the fleet key, made once by `mlsecctl admin fleet init` (owner only). */
Datum mlsec_key_create(PG_FUNCTION_ARGS)
{
        char path[MAXPGPATH];
        struct seal_key *k = NULL;
        int r;

        init_libs();
        key_path(path, sizeof(path));
        r = seal_key_load(path, true, &k);
        if (r < 0)
                ereport(ERROR, (errmsg("mlsec: the fleet key %s cannot be made: %s", path, strerror(-r))));
        seal_key_free(k);
        PG_RETURN_TEXT_P(cstring_to_text(path));
}
