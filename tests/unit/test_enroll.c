/* SPDX-License-Identifier: MIT */
/* Unit tests of common/enroll.c: the otpauth:// URI a user scans, which devices, secrets
 * and digit counts are refused (with nothing stored), that secrets are sealed at rest,
 * backup-code replacement and the status a user or admin reads. Runs against a real
 * SQLite store and key in a private temp directory, removed at the end. */
#define _GNU_SOURCE /* nftw, memmem */

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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backup.h"
#include "conf.h"
#include "enroll.h"
#include "seal.h"
#include "store.h"
#include "totp.h"
#include "verify.h"

#define SECRET_B32 "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
#define URI_TAIL6  "&algorithm=SHA1&digits=6&period=30"
#define T0         ((time_t)1700000025)

struct fixture {
        char dir[64];
        char state_dir[128];
        char key_path[128];
        struct store *s;
        struct seal_key *k;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f || seal_init() < 0 || totp_init() < 0)
                return -1;
        strcpy(f->dir, "/tmp/test_enroll.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->dir);
        snprintf(f->key_path, sizeof(f->key_path), "%s/etc/secret.key", f->dir);
        if (store_open(f->state_dir, true, &f->s) < 0 || seal_key_load(f->key_path, true, &f->k) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r;

        f->s = store_close(f->s);
        f->k = seal_key_free(f->k);
        r = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return r;
}

static struct enroll_device_req req_for(const char *user, const char *device, const char *b32)
{
        return (struct enroll_device_req){
                .user = user,
                .device = device,
                .secret_b32 = b32,
                .alg = TOTP_SHA1,
                .digits = 6,
                .issuer = "my host",
                .now = T0,
        };
}

static int enrol(struct fixture *f, const struct enroll_device_req *req, struct enroll_device_result *res)
{
        return enroll_device(f->s, f->k, req, res);
}

static size_t n_devices(struct fixture *f, const char *user)
{
        struct store_device *d = NULL;
        size_t n = 99;

        assert_int_equal(store_list_devices(f->s, user, &d, &n), 0);
        store_devices_free(d, n);
        return n;
}

/* verify_answer with the code of B32 for the step of NOW, from the console. */
static struct verify_result try_totp(struct fixture *f, const char *user, const char *b32, unsigned digits, time_t now)
{
        struct mlsec_conf c;
        uint8_t secret[TOTP_SECRET_MAX];
        char code[TOTP_CODE_MAX];
        size_t len;
        struct verify_request req = {
                .user = user,
                .known_user = true,
                .answer = code,
                .source = "tty1",
                .cls = SOURCE_LOCAL,
                .now = now,
        };
        struct verify_result res;

        conf_defaults(&c);
        assert_int_equal(totp_base32_decode(b32, secret, sizeof(secret), &len), 0);
        assert_int_equal(totp_generate(secret, len, TOTP_SHA1, digits, totp_step(now), code), 0);
        assert_int_equal(verify_answer(f->s, f->k, &c, &req, &res), 0);
        return res;
}

static struct verify_result try_answer(struct fixture *f, const char *user, const char *answer, time_t now)
{
        struct mlsec_conf c;
        struct verify_request req = {
                .user = user,
                .known_user = true,
                .answer = answer,
                .source = "tty1",
                .cls = SOURCE_LOCAL,
                .now = now,
        };
        struct verify_result res;

        conf_defaults(&c);
        assert_int_equal(verify_answer(f->s, f->k, &c, &req, &res), 0);
        return res;
}

/* ---- devices and URIs ------------------------------------------------------------------ */

static void test_given_secret_gives_exact_uri(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", NULL, SECRET_B32);
        struct enroll_device_result res;
        struct store_device *d = NULL;
        struct verify_result v;
        size_t n = 0;

        assert_int_equal(enrol(f, &req, &res), 0);
        assert_string_equal(res.uri, "otpauth://totp/my%20host:alice?secret=" SECRET_B32 "&issuer=my%20host" URI_TAIL6);
        assert_string_equal(res.secret_b32, SECRET_B32);

        assert_int_equal(store_list_devices(f->s, "alice", &d, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(d[0].name, ENROLL_DEVICE_DEFAULT);
        assert_int_equal(d[0].digits, 6);
        assert_int_equal(d[0].alg, TOTP_SHA1);
        assert_int_equal(d[0].last_step, -1);
        assert_int_equal(d[0].created, T0);
        store_devices_free(d, n);

        /* the stored secret is the one given */
        v = try_totp(f, "alice", SECRET_B32, 6, T0 + 60);
        assert_int_equal(v.verdict, VERDICT_OK);
        assert_string_equal(v.device, "default");
}

static void test_typed_secret_is_shown_canonical(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", "phone", "jbsw y3dp-ehpk 3pxp jbsw y3dp ehpk 3pxp");
        struct enroll_device_result res;

        assert_int_equal(enrol(f, &req, &res), 0);
        assert_string_equal(res.secret_b32, SECRET_B32);
        assert_string_equal(res.uri, "otpauth://totp/my%20host:alice?secret=" SECRET_B32 "&issuer=my%20host" URI_TAIL6);
}

static void test_uri_names_algorithm_digits_and_escapes_labels(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("smb$", "token", SECRET_B32);
        struct enroll_device_result res;

        req.alg = TOTP_SHA256;
        req.digits = 8;
        req.issuer = "a&b=c:d";
        assert_int_equal(enrol(f, &req, &res), 0);
        assert_string_equal(res.uri, "otpauth://totp/a%26b%3Dc%3Ad:smb%24?secret=" SECRET_B32
                                     "&issuer=a%26b%3Dc%3Ad&algorithm=SHA256&digits=8&period=30");
}

static void test_default_issuer_is_mlsec(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", "phone", SECRET_B32);
        struct enroll_device_result res;

        req.issuer = NULL;
        assert_int_equal(enrol(f, &req, &res), 0);
        assert_string_equal(res.uri, "otpauth://totp/mlsec:alice?secret=" SECRET_B32 "&issuer=mlsec" URI_TAIL6);
}

static void test_fresh_secret_is_random_and_works(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req1 = req_for("alice", "phone", NULL), req2 = req_for("alice", "tablet", NULL);
        struct enroll_device_result res1, res2;
        uint8_t secret[TOTP_SECRET_MAX];
        char want[ENROLL_URI_MAX];
        struct verify_result v;
        size_t len = 0;

        assert_int_equal(enrol(f, &req1, &res1), 0);
        assert_int_equal(enrol(f, &req2, &res2), 0);
        assert_int_equal(strlen(res1.secret_b32), 32);
        assert_int_equal(totp_base32_decode(res1.secret_b32, secret, sizeof(secret), &len), 0);
        assert_int_equal(len, TOTP_SECRET_DEFAULT);
        assert_string_not_equal(res1.secret_b32, res2.secret_b32);
        snprintf(want, sizeof(want), "otpauth://totp/my%%20host:alice?secret=%s&issuer=my%%20host" URI_TAIL6,
                 res1.secret_b32);
        assert_string_equal(res1.uri, want);

        v = try_totp(f, "alice", res2.secret_b32, 6, T0);
        assert_int_equal(v.verdict, VERDICT_OK);
        assert_string_equal(v.device, "tablet");
        v = try_totp(f, "alice", res1.secret_b32, 6, T0 + 1);
        assert_int_equal(v.verdict, VERDICT_OK);
        assert_string_equal(v.device, "phone");
}

static void test_duplicate_device_name_is_refused(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", "phone", SECRET_B32);
        struct enroll_device_result res, untouched;
        struct verify_result v;

        assert_int_equal(enrol(f, &req, &res), 0);
        req.secret_b32 = NULL;
        memset(&res, 0x5a, sizeof(res));
        memcpy(&untouched, &res, sizeof(res));
        assert_int_equal(enrol(f, &req, &res), -EEXIST);
        assert_memory_equal(&res, &untouched, sizeof(res));
        assert_int_equal(n_devices(f, "alice"), 1);
        /* the first secret was not replaced */
        v = try_totp(f, "alice", SECRET_B32, 6, T0);
        assert_int_equal(v.verdict, VERDICT_OK);
        /* another user may use the same name */
        req.user = "bob";
        assert_int_equal(enrol(f, &req, &res), 0);
}

static void test_bad_device_names_are_refused(void **state)
{
        struct fixture *f = *state;
        char name64[65], name63[64];
        const char *bad[] = {"", " phone", "a/b", "tab\tx", "caf\xc3\xa9", "a:b", name64};
        struct enroll_device_req req = req_for("alice", NULL, SECRET_B32);
        struct enroll_device_result res;

        memset(name64, 'n', 64);
        name64[64] = '\0';
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                req.device = bad[i];
                assert_false(enroll_device_name_valid(bad[i]));
                assert_int_equal(enrol(f, &req, &res), -EINVAL);
        }
        assert_false(enroll_device_name_valid(NULL));
        assert_int_equal(n_devices(f, "alice"), 0);

        memset(name63, 'n', 63);
        name63[63] = '\0';
        req.device = name63;
        assert_true(enroll_device_name_valid(name63));
        assert_int_equal(enrol(f, &req, &res), 0);
        req.device = "my phone-2.b_c";
        assert_int_equal(enrol(f, &req, &res), 0);
        assert_int_equal(n_devices(f, "alice"), 2);
}

static void test_bad_digits_algorithm_or_user_are_refused(void **state)
{
        struct fixture *f = *state;
        const unsigned digits[] = {0, 5, 7, 9, 10};
        struct enroll_device_req req = req_for("alice", "phone", SECRET_B32);
        struct enroll_device_result res;

        for (size_t i = 0; i < sizeof(digits) / sizeof(digits[0]); i++) {
                req.digits = digits[i];
                assert_int_equal(enrol(f, &req, &res), -EINVAL);
        }
        req.digits = 6;
        req.alg = (enum totp_alg)(TOTP_SHA512 + 1);
        assert_int_equal(enrol(f, &req, &res), -EINVAL);
        req.alg = TOTP_SHA1;
        req.user = "-alice";
        assert_int_equal(enrol(f, &req, &res), -EINVAL);
        req.user = "al ice";
        assert_int_equal(enrol(f, &req, &res), -EINVAL);
        assert_int_equal(n_devices(f, "alice"), 0);
}

static void test_bad_secrets_are_refused(void **state)
{
        struct fixture *f = *state;
        char b32_65[105], b32_64[104];
        const char *bad[] = {
                "",                 /* nothing */
                "JBSWY3DP",         /* 5 bytes */
                "JBSWY3DPEHPK3PX",  /* 9 bytes */
                "JBSWY3DPEHPK3PX1", /* '1' is not base32 */
                "JBSWY3DPEHPK3P",   /* 14 characters: no whole bytes */
                b32_65,             /* 65 bytes */
        };
        struct enroll_device_req req = req_for("alice", "phone", NULL);
        struct enroll_device_result res;

        memset(b32_65, 'A', 104);
        b32_65[104] = '\0';
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                req.secret_b32 = bad[i];
                assert_int_equal(enrol(f, &req, &res), -EINVAL);
        }
        assert_int_equal(n_devices(f, "alice"), 0);

        /* 10 and 64 bytes are the limits that are accepted */
        req.secret_b32 = "JBSWY3DPEHPK3PXP";
        assert_int_equal(enrol(f, &req, &res), 0);
        assert_string_equal(res.secret_b32, "JBSWY3DPEHPK3PXP");
        memset(b32_64, 'B', 102);
        b32_64[102] = 'A'; /* 103 characters: 512 bits and 3 zero bits of padding */
        b32_64[103] = '\0';
        req.device = "long";
        req.secret_b32 = b32_64;
        assert_int_equal(enrol(f, &req, &res), 0);
        assert_string_equal(res.secret_b32, b32_64);
        assert_int_equal(n_devices(f, "alice"), 2);
}

/* ---- secrets at rest --------------------------------------------------------------------- */

/* Does any file of DIR contain NEEDLE? */
static bool dir_contains(const char *dir, const void *needle, size_t len)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        bool found = false;

        assert_non_null(d);
        while (!found && (e = readdir(d))) {
                char path[512];
                struct stat st;
                char *buf;
                int fd;

                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
                        continue;
                fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                buf = malloc((size_t)st.st_size);
                assert_non_null(buf);
                assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
                close(fd);
                found = memmem(buf, (size_t)st.st_size, needle, len) != NULL;
                free(buf);
        }
        closedir(d);
        return found;
}

static void test_secret_is_sealed_in_the_database(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", "phone-of-alice", SECRET_B32);
        struct enroll_device_result res;
        uint8_t secret[TOTP_SECRET_MAX];
        size_t len = 0;

        assert_int_equal(enrol(f, &req, &res), 0);
        assert_int_equal(totp_base32_decode(SECRET_B32, secret, sizeof(secret), &len), 0);
        assert_int_equal(len, 20);
        f->s = store_close(f->s); /* the last close checkpoints the WAL into the file */

        /* the files do hold what is not secret, so a miss below means something */
        assert_true(dir_contains(f->state_dir, "phone-of-alice", strlen("phone-of-alice")));
        assert_false(dir_contains(f->state_dir, secret, len));
        assert_false(dir_contains(f->state_dir, secret, 10));
        assert_false(dir_contains(f->state_dir, SECRET_B32, strlen(SECRET_B32)));
        assert_int_equal(store_open(f->state_dir, false, &f->s), 0);
}

/* ---- backup codes -------------------------------------------------------------------------- */

static bool shown_form(const char *code)
{
        if (strlen(code) != 11 || code[5] != '-')
                return false;
        for (size_t i = 0; i < 11; i++)
                if (i != 5 && (code[i] < '0' || code[i] > '9'))
                        return false;
        return true;
}

static void test_backup_codes_are_ten_distinct_displayable_codes(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", "phone", SECRET_B32);
        struct enroll_device_result res;
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        struct enroll_status st;
        struct verify_result v;

        assert_int_equal(enrol(f, &req, &res), 0);
        memset(codes, 0, sizeof(codes));
        assert_int_equal(enroll_backup_codes(f->s, f->k, "alice", T0, codes), 0);
        for (size_t i = 0; i < BACKUP_CODE_COUNT; i++) {
                assert_true(shown_form(codes[i]));
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(codes[i], codes[j]);
        }
        assert_int_equal(enroll_status(f->s, "alice", T0, &st), 0);
        assert_int_equal(st.backup_left, BACKUP_CODE_COUNT);
        enroll_status_clear(&st);
        for (size_t i = 0; i < BACKUP_CODE_COUNT; i++) {
                v = try_answer(f, "alice", codes[i], T0 + (time_t)i);
                assert_int_equal(v.verdict, VERDICT_OK);
                assert_int_equal(v.method, METHOD_BACKUP);
                assert_int_equal(v.backup_left, BACKUP_CODE_COUNT - 1 - i);
        }
}

static void test_backup_codes_need_a_device(void **state)
{
        struct fixture *f = *state;
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        struct enroll_status st;

        memset(codes, 0x5a, sizeof(codes));
        assert_int_equal(enroll_backup_codes(f->s, f->k, "bob", T0, codes), -ENOENT);
        assert_int_equal(codes[0][0], 0x5a);
        assert_int_equal(enroll_status(f->s, "bob", T0, &st), 0);
        assert_int_equal(st.backup_left, 0);
        enroll_status_clear(&st);
        assert_int_equal(enroll_backup_codes(f->s, f->k, "bad user", T0, codes), -EINVAL);
}

static void test_new_backup_codes_invalidate_the_old_ones(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", "phone", SECRET_B32);
        struct enroll_device_result res;
        char old[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], new[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        struct verify_result v;

        assert_int_equal(enrol(f, &req, &res), 0);
        assert_int_equal(enroll_backup_codes(f->s, f->k, "alice", T0, old), 0);
        v = try_answer(f, "alice", old[0], T0);
        assert_int_equal(v.verdict, VERDICT_OK);
        assert_int_equal(v.backup_left, 9);

        assert_int_equal(enroll_backup_codes(f->s, f->k, "alice", T0 + 1, new), 0);
        v = try_answer(f, "alice", old[1], T0 + 2);
        assert_int_equal(v.verdict, VERDICT_WRONG);
        assert_int_equal(v.backup_left, 10);
        v = try_answer(f, "alice", new[0], T0 + 3);
        assert_int_equal(v.verdict, VERDICT_OK);
        assert_int_equal(v.method, METHOD_BACKUP);
        assert_int_equal(v.backup_left, 9);
}

/* ---- status ------------------------------------------------------------------------------------ */

static void test_status_lists_devices_codes_and_active_lockouts(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", "phone", SECRET_B32);
        struct enroll_device_result res;
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        struct enroll_status st;

        assert_int_equal(enrol(f, &req, &res), 0);
        req.device = "token";
        req.alg = TOTP_SHA256;
        req.digits = 8;
        req.secret_b32 = NULL;
        req.now = T0 + 5;
        assert_int_equal(enrol(f, &req, &res), 0);
        assert_int_equal(enroll_backup_codes(f->s, f->k, "alice", T0, codes), 0);
        assert_int_equal(try_answer(f, "alice", codes[3], T0).verdict, VERDICT_OK);
        assert_int_equal(try_totp(f, "alice", SECRET_B32, 6, T0 + 30).verdict, VERDICT_OK);

        assert_int_equal(store_set_lockout(f->s, "alice", "192.0.2.1", T0 - 10, T0 + 290), 0);
        assert_int_equal(store_set_lockout(f->s, "alice", STORE_REMOTE_ALL, T0 - 200, T0 + 100), 0);
        assert_int_equal(store_set_lockout(f->s, "alice", "192.0.2.2", T0 - 400, T0 - 100), 0); /* over */
        assert_int_equal(store_set_lockout(f->s, "alice", "192.0.2.3", T0 - 300, T0 + 60), 0);  /* ends at T0 + 60 */
        assert_int_equal(store_set_lockout(f->s, "bob", "192.0.2.4", T0, T0 + 300), 0);

        memset(&st, 0x5a, sizeof(st));
        assert_int_equal(enroll_status(f->s, "alice", T0 + 60, &st), 0);
        assert_int_equal(st.n_devices, 2);
        assert_string_equal(st.devices[0].name, "phone");
        assert_int_equal(st.devices[0].digits, 6);
        assert_int_equal(st.devices[0].alg, TOTP_SHA1);
        assert_int_equal(st.devices[0].created, T0);
        assert_int_equal(st.devices[0].last_step, (int64_t)totp_step(T0 + 30));
        assert_int_equal(st.devices[0].last_used, T0 + 30);
        assert_null(st.devices[0].sealed);
        assert_int_equal(st.devices[0].sealed_len, 0);
        assert_string_equal(st.devices[1].name, "token");
        assert_int_equal(st.devices[1].digits, 8);
        assert_int_equal(st.devices[1].alg, TOTP_SHA256);
        assert_int_equal(st.devices[1].created, T0 + 5);
        assert_int_equal(st.devices[1].last_step, -1);
        assert_null(st.devices[1].sealed);
        assert_int_equal(st.backup_left, 9);
        assert_int_equal(st.n_lockouts, 2);
        assert_string_equal(st.lockouts[0].source, "192.0.2.1");
        assert_int_equal(st.lockouts[0].locked_at, T0 - 10);
        assert_int_equal(st.lockouts[0].until, T0 + 290);
        assert_string_equal(st.lockouts[1].source, STORE_REMOTE_ALL);
        assert_int_equal(st.lockouts[1].until, T0 + 100);
        enroll_status_clear(&st);
        assert_null(st.devices);
        assert_null(st.lockouts);
        assert_int_equal(st.n_devices, 0);
        assert_int_equal(st.n_lockouts, 0);
        assert_int_equal(st.backup_left, 0);
        enroll_status_clear(NULL);
}

static void test_status_of_user_without_mfa_is_empty(void **state)
{
        struct fixture *f = *state;
        struct enroll_status st;

        memset(&st, 0x5a, sizeof(st));
        assert_int_equal(enroll_status(f->s, "bob", T0, &st), 0);
        assert_int_equal(st.n_devices, 0);
        assert_null(st.devices);
        assert_int_equal(st.backup_left, 0);
        assert_int_equal(st.n_lockouts, 0);
        assert_null(st.lockouts);
        enroll_status_clear(&st);
}

/* ---- self-service enrolment ------------------------------------------------------------------ */

static struct enroll_pending pending_for(const char *user, const char *device, bool first)
{
        struct enroll_device_req req = req_for(user, device, NULL);
        struct enroll_device_result shown;
        struct enroll_pending p;
        char b32[TOTP_BASE32_MAX];

        memset(&p, 0x5a, sizeof(p));
        assert_int_equal(enroll_pending_new(&req, &p, &shown), 0);
        /* what is shown is the pending secret */
        assert_int_equal(totp_base32_encode(p.secret, p.secret_len, b32, sizeof(b32)), 0);
        assert_string_equal(shown.secret_b32, b32);
        assert_non_null(strstr(shown.uri, b32));
        p.first = first;
        return p;
}

static void code_at(const struct enroll_pending *p, time_t t, char code[TOTP_CODE_MAX])
{
        assert_int_equal(totp_generate(p->secret, p->secret_len, p->alg, p->digits, totp_step(t), code), 0);
}

static void test_pending_is_not_stored_until_committed(void **state)
{
        struct fixture *f = *state;
        struct enroll_device_req req = req_for("alice", "phone", SECRET_B32);
        struct enroll_device_result shown;
        struct enroll_pending p = pending_for("alice", "phone", true), q;

        assert_string_equal(p.user, "alice");
        assert_string_equal(p.device, "phone");
        assert_int_equal(p.secret_len, TOTP_SECRET_DEFAULT);
        assert_int_equal(p.digits, 6);
        assert_int_equal(p.tries_left, ENROLL_TRIES);
        assert_int_equal(n_devices(f, "alice"), 0);
        /* a given secret, a bad name or bad digits are refused */
        assert_int_equal(enroll_pending_new(&req, &q, &shown), -EINVAL);
        req = req_for("alice", "a/b", NULL);
        assert_int_equal(enroll_pending_new(&req, &q, &shown), -EINVAL);
        req = req_for("alice", NULL, NULL);
        req.digits = 7;
        assert_int_equal(enroll_pending_new(&req, &q, &shown), -EINVAL);
        /* two enrolments get two secrets */
        q = pending_for("alice", "phone", true);
        assert_memory_not_equal(p.secret, q.secret, p.secret_len);
}

static void test_pending_check_accepts_only_the_window(void **state)
{
        struct enroll_pending p = pending_for("alice", "phone", true);
        char code[TOTP_CODE_MAX], spaced[16];
        int64_t step = -1;

        code_at(&p, T0, code);
        assert_int_equal(enroll_pending_check(&p, code, T0, 1, &step), 1);
        assert_int_equal(step, (int64_t)totp_step(T0));
        code_at(&p, T0 - 30, code);
        assert_int_equal(enroll_pending_check(&p, code, T0, 1, &step), 1);
        assert_int_equal(step, (int64_t)totp_step(T0) - 1);
        /* two steps away: outside a window of 1, inside one of 2 */
        code_at(&p, T0 + 60, code);
        step = -1;
        assert_int_equal(enroll_pending_check(&p, code, T0, 1, &step), 0);
        assert_int_equal(step, -1);
        assert_int_equal(enroll_pending_check(&p, code, T0, 2, &step), 1);
        /* typed with a space */
        code_at(&p, T0, code);
        snprintf(spaced, sizeof(spaced), "%.3s %s", code, code + 3);
        assert_int_equal(enroll_pending_check(&p, spaced, T0, 1, &step), 1);
        /* malformed answers are simply wrong */
        assert_int_equal(enroll_pending_check(&p, "", T0, 1, &step), 0);
        code[5] = '\0';
        assert_int_equal(enroll_pending_check(&p, code, T0, 1, &step), 0);
        code_at(&p, T0, code);
        snprintf(spaced, sizeof(spaced), "%s1", code);
        assert_int_equal(enroll_pending_check(&p, spaced, T0, 1, &step), 0);
        snprintf(spaced, sizeof(spaced), "%.5sx", code);
        assert_int_equal(enroll_pending_check(&p, spaced, T0, 1, &step), 0);
        assert_int_equal(enroll_pending_check(&p, code, T0, 11, &step), -EINVAL);
}

static void test_commit_first_device_records_step_and_gives_codes(void **state)
{
        struct fixture *f = *state;
        struct enroll_pending p = pending_for("alice", "phone", true);
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], code[TOTP_CODE_MAX];
        struct store_device *d = NULL;
        char b32[TOTP_BASE32_MAX];
        struct verify_result v;
        bool first = false;
        int64_t step = -1;
        size_t n = 0;

        code_at(&p, T0, code);
        assert_int_equal(enroll_pending_check(&p, code, T0, 1, &step), 1);
        memset(codes, 0, sizeof(codes));
        assert_int_equal(enroll_pending_commit(f->s, f->k, &p, step, T0, &first, codes), 0);
        assert_true(first);
        assert_int_equal(store_list_devices(f->s, "alice", &d, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(d[0].name, "phone");
        assert_int_equal(d[0].last_step, step);
        assert_int_equal(d[0].created, T0);
        store_devices_free(d, n);
        /* the confirming code is a replay at login; the next step's code works */
        assert_int_equal(totp_base32_encode(p.secret, p.secret_len, b32, sizeof(b32)), 0);
        v = try_answer(f, "alice", code, T0 + 1);
        assert_int_equal(v.verdict, VERDICT_REPLAY);
        v = try_totp(f, "alice", b32, 6, T0 + 30);
        assert_int_equal(v.verdict, VERDICT_OK);
        /* the 10 backup codes are distinct and work once */
        for (size_t i = 0; i < BACKUP_CODE_COUNT; i++) {
                assert_true(shown_form(codes[i]));
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(codes[i], codes[j]);
        }
        v = try_answer(f, "alice", codes[4], T0 + 31);
        assert_int_equal(v.verdict, VERDICT_OK);
        assert_int_equal(v.method, METHOD_BACKUP);
        assert_int_equal(v.backup_left, 9);
}

static void test_commit_second_device_keeps_backup_codes(void **state)
{
        struct fixture *f = *state;
        struct enroll_pending p1 = pending_for("alice", "phone", true), p2 = pending_for("alice", "tablet", false);
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], untouched[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        struct enroll_status st;
        bool first = true;

        assert_int_equal(enroll_pending_commit(f->s, f->k, &p1, (int64_t)totp_step(T0), T0, &first, codes), 0);
        memset(codes, 0x5a, sizeof(codes));
        memcpy(untouched, codes, sizeof(codes));
        assert_int_equal(enroll_pending_commit(f->s, f->k, &p2, (int64_t)totp_step(T0), T0 + 5, &first, codes), 0);
        assert_false(first);
        assert_memory_equal(codes, untouched, sizeof(codes));
        assert_int_equal(enroll_status(f->s, "alice", T0, &st), 0);
        assert_int_equal(st.n_devices, 2);
        assert_int_equal(st.backup_left, BACKUP_CODE_COUNT);
        enroll_status_clear(&st);
}

static void test_commit_refuses_what_changed_meanwhile(void **state)
{
        struct fixture *f = *state;
        struct enroll_pending p = pending_for("alice", "phone", true);
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        bool first = false;

        /* begun with devices, none left (e.g. an administrator's reset): refused */
        p.first = false;
        assert_int_equal(enroll_pending_commit(f->s, f->k, &p, 1, T0, &first, codes), -ESTALE);
        assert_int_equal(n_devices(f, "alice"), 0);
        /* begun without a device, one exists now: refused */
        p.first = true;
        assert_int_equal(enroll_pending_commit(f->s, f->k, &p, 1, T0, &first, codes), 0);
        p = pending_for("alice", "tablet", true);
        assert_int_equal(enroll_pending_commit(f->s, f->k, &p, 1, T0, &first, codes), -EALREADY);
        /* a name that exists: refused */
        p = pending_for("alice", "phone", false);
        assert_int_equal(enroll_pending_commit(f->s, f->k, &p, 1, T0, &first, codes), -EEXIST);
        assert_int_equal(n_devices(f, "alice"), 1);
}

static void test_remove_last_device_turns_mfa_off(void **state)
{
        struct fixture *f = *state;
        struct enroll_pending p1 = pending_for("alice", "phone", true), p2 = pending_for("alice", "tablet", false);
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        struct enroll_status st;
        bool first, off = true;

        assert_int_equal(enroll_pending_commit(f->s, f->k, &p1, 1, T0, &first, codes), 0);
        assert_int_equal(enroll_pending_commit(f->s, f->k, &p2, 1, T0, &first, codes), 0);
        assert_int_equal(enroll_remove_device(f->s, "alice", "nosuch", &off), -ENOENT);
        assert_int_equal(enroll_remove_device(f->s, "alice", "tablet", &off), 0);
        assert_false(off);
        assert_int_equal(enroll_status(f->s, "alice", T0, &st), 0);
        assert_int_equal(st.n_devices, 1);
        assert_int_equal(st.backup_left, BACKUP_CODE_COUNT);
        enroll_status_clear(&st);
        assert_int_equal(enroll_remove_device(f->s, "alice", "phone", &off), 0);
        assert_true(off);
        assert_int_equal(enroll_status(f->s, "alice", T0, &st), 0);
        assert_int_equal(st.n_devices, 0);
        assert_int_equal(st.backup_left, 0);
        enroll_status_clear(&st);
        assert_int_equal(try_answer(f, "alice", codes[0], T0).verdict, VERDICT_UNENROLLED);
}

static void test_disable_removes_everything(void **state)
{
        struct fixture *f = *state;
        struct enroll_pending p1 = pending_for("alice", "phone", true), p2 = pending_for("alice", "tablet", false);
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        struct enroll_status st;
        unsigned n = 0;
        bool first;

        assert_int_equal(enroll_pending_commit(f->s, f->k, &p1, 1, T0, &first, codes), 0);
        assert_int_equal(enroll_pending_commit(f->s, f->k, &p2, 1, T0, &first, codes), 0);
        assert_int_equal(enroll_disable(f->s, "alice", &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(enroll_status(f->s, "alice", T0, &st), 0);
        assert_int_equal(st.n_devices, 0);
        assert_int_equal(st.backup_left, 0);
        enroll_status_clear(&st);
        assert_int_equal(enroll_disable(f->s, "alice", &n), 0);
        assert_int_equal(n, 0);
}

static void test_table_expires_bounds_and_binds_to_uid(void **state)
{
        struct enroll_table *t = NULL;
        struct enroll_pending p = pending_for("alice", "phone", true), *e;
        char tok[4][ENROLL_TOKEN_LEN + 1];
        const int64_t now = (int64_t)T0 * 1000000;

        assert_int_equal(enroll_table_new(0, 1, &t), -EINVAL);
        assert_int_equal(enroll_table_new(4, 2, &t), 0);
        assert_int_equal(enroll_table_next_expiry(t), 0);
        assert_int_equal(enroll_table_add(t, 1000, &p, now + 600000000, tok[0]), 0);
        assert_int_equal(strlen(tok[0]), ENROLL_TOKEN_LEN);
        assert_int_equal(strspn(tok[0], "0123456789abcdef"), ENROLL_TOKEN_LEN);
        e = enroll_table_find(t, 1000, tok[0], now);
        assert_non_null(e);
        assert_string_equal(e->device, "phone");
        assert_memory_equal(e->secret, p.secret, p.secret_len);
        /* another uid, another token, or past the expiry: nothing */
        assert_null(enroll_table_find(t, 1001, tok[0], now));
        assert_null(enroll_table_find(t, 1000, "0123456789abcdef0123456789abcdef", now));
        assert_null(enroll_table_find(t, 1000, "short", now));
        assert_null(enroll_table_find(t, 1000, tok[0], now + 600000000));
        assert_int_equal(enroll_table_next_expiry(t), now + 600000000);

        /* per uid: a third replaces the oldest */
        assert_int_equal(enroll_table_add(t, 1000, &p, now + 600000001, tok[1]), 0);
        assert_int_equal(enroll_table_add(t, 1000, &p, now + 600000002, tok[2]), 0);
        assert_int_equal(enroll_table_count(t, 1000), 2);
        assert_null(enroll_table_find(t, 1000, tok[0], now));
        assert_non_null(enroll_table_find(t, 1000, tok[1], now));
        assert_non_null(enroll_table_find(t, 1000, tok[2], now));
        /* overall: full is full */
        assert_int_equal(enroll_table_add(t, 2000, &p, now + 1000, tok[3]), 0);
        assert_int_equal(enroll_table_add(t, 3000, &p, now + 1000, tok[3]), 0);
        assert_int_equal(enroll_table_add(t, 4000, &p, now + 1000, tok[3]), -EBUSY);
        assert_int_equal(enroll_table_next_expiry(t), now + 1000);

        /* expiry drops and wipes exactly the expired ones */
        assert_int_equal(enroll_table_expire(t, now + 999), 0);
        assert_int_equal(enroll_table_expire(t, now + 1000), 2);
        assert_int_equal(enroll_table_count(t, 2000), 0);
        assert_int_equal(enroll_table_count(t, 1000), 2);
        e = enroll_table_find(t, 1000, tok[1], now);
        assert_non_null(e);
        enroll_table_drop(t, e);
        assert_false(e->used);
        for (size_t i = 0; i < sizeof(e->secret); i++)
                assert_int_equal(e->secret[i], 0);
        assert_null(enroll_table_find(t, 1000, tok[1], now));
        assert_int_equal(enroll_table_expire(t, 0), 1);
        assert_int_equal(enroll_table_next_expiry(t), 0);
        t = enroll_table_free(t);
        assert_null(t);
}

static void test_next_step_is_the_most_urgent(void **state)
{
        struct store_lockout lock = {.source = "192.0.2.1"};
        struct enroll_status st = {0};
        struct store_device dev = {.name = "phone"};

        assert_int_equal(enroll_next_step(&st, 5), ENROLL_NEXT_ENABLE_MFA);
        assert_string_equal(enroll_next_command(ENROLL_NEXT_ENABLE_MFA), "mlsecctl mfa enable");
        assert_string_equal(enroll_next_message(ENROLL_NEXT_ENABLE_MFA), "enable MFA");
        st.devices = &dev;
        st.n_devices = 1;
        st.backup_left = 10;
        assert_int_equal(enroll_next_step(&st, 0), ENROLL_NEXT_NONE);
        assert_null(enroll_next_command(ENROLL_NEXT_NONE));
        assert_int_equal(enroll_next_step(&st, 1), ENROLL_NEXT_REVIEW_FAILS);
        st.backup_left = 4;
        assert_int_equal(enroll_next_step(&st, 0), ENROLL_NEXT_NONE);
        st.backup_left = ENROLL_BACKUP_LOW;
        assert_int_equal(enroll_next_step(&st, 1), ENROLL_NEXT_REGENERATE);
        assert_string_equal(enroll_next_command(ENROLL_NEXT_REGENERATE), "mlsecctl backup-codes regenerate");
        st.lockouts = &lock;
        st.n_lockouts = 1;
        assert_int_equal(enroll_next_step(&st, 1), ENROLL_NEXT_REVIEW_LOCKS);
        assert_string_equal(enroll_next_to_string(ENROLL_NEXT_REVIEW_LOCKS), "review-lockouts");
        assert_string_equal(enroll_next_to_string((enum enroll_next)99), "none");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_given_secret_gives_exact_uri),
                T(test_typed_secret_is_shown_canonical),
                T(test_uri_names_algorithm_digits_and_escapes_labels),
                T(test_default_issuer_is_mlsec),
                T(test_fresh_secret_is_random_and_works),
                T(test_duplicate_device_name_is_refused),
                T(test_bad_device_names_are_refused),
                T(test_bad_digits_algorithm_or_user_are_refused),
                T(test_bad_secrets_are_refused),
                T(test_secret_is_sealed_in_the_database),
                T(test_backup_codes_are_ten_distinct_displayable_codes),
                T(test_backup_codes_need_a_device),
                T(test_new_backup_codes_invalidate_the_old_ones),
                T(test_status_lists_devices_codes_and_active_lockouts),
                T(test_status_of_user_without_mfa_is_empty),
                T(test_pending_is_not_stored_until_committed),
                T(test_pending_check_accepts_only_the_window),
                T(test_commit_first_device_records_step_and_gives_codes),
                T(test_commit_second_device_keeps_backup_codes),
                T(test_commit_refuses_what_changed_meanwhile),
                T(test_remove_last_device_turns_mfa_off),
                T(test_disable_removes_everything),
                T(test_table_expires_bounds_and_binds_to_uid),
                T(test_next_step_is_the_most_urgent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
