/* SPDX-License-Identifier: MIT */
/* Unit tests of common/gauth.c: the parser on files as google-authenticator writes them and
 * on malformed ones (no secret, bad base32, CRLF, huge lines, duplicate options, too many
 * scratch codes, NUL bytes, HOTP), the notes, the checks of the file read (symlink, owner,
 * mode, links, size), and an import into a real store checked with verify_answer: codes of
 * the file's step, scratch codes once each, steps already used refused, --replace. */
#define _GNU_SOURCE /* nftw */

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
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "gauth.h"
#include "seal.h"
#include "store.h"
#include "totp.h"
#include "verify.h"

/* what `google-authenticator -t -d -f -r 3 -R 30 -w 3 -e 5 -q` wrote */
#define REAL_FILE                                                                                                      \
        "7JTF23IADGYYYQPQVMZ5O2ZC24\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"          \
        "62285737\n91397033\n34236798\n94135237\n27262837\n"
#define SECRET "7JTF23IADGYYYQPQVMZ5O2ZC24"

static int parse(const char *text, struct gauth_file *f, char *err, size_t errlen)
{
        return gauth_parse(text, strlen(text), f, err, errlen);
}

static void test_parse_real_file(void **state)
{
        struct gauth_file f;
        char err[GAUTH_ERR_MAX];

        assert_int_equal(parse(REAL_FILE, &f, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_string_equal(f.secret_b32, SECRET);
        assert_int_equal(f.secret_len, 16);
        assert_int_equal(f.step, 30);
        assert_int_equal(f.window, 3);
        assert_true(f.totp_auth && f.disallow_reuse && f.rate_limit && !f.hotp);
        assert_int_equal(f.rate_attempts, 3);
        assert_int_equal(f.rate_seconds, 30);
        assert_int_equal(f.last_step, -1);
        assert_int_equal(f.n_scratch, 5);
        assert_string_equal(f.scratch[0], "62285737");
        assert_string_equal(f.scratch[4], "27262837");
        gauth_clear(&f);
        assert_int_equal(f.secret_b32[0], 0);
}

static void test_parse_state_the_module_wrote(void **state)
{
        /* a file after some logins: the module appends times and used steps */
        const char *text = "CJEWH6THAJH5FUKI\n\" RESETTING_TIME_SKEW 47822956-958 47823967-958\n"
                           "\" RATE_LIMIT 3 30 1439976483 1439976496\n\" DISALLOW_REUSE 47959316 47959318 47959317\n"
                           "\" TIME_SKEW -2\n\" STEP_SIZE 60\n\" LAST0 192.0.2.1 1439976483\n\" TOTP_AUTH\n"
                           "52449723\n11133056\n";
        struct gauth_file f;
        char err[GAUTH_ERR_MAX];

        assert_int_equal(parse(text, &f, err, sizeof(err)), 0);
        assert_int_equal(f.secret_len, 10); /* 80 bits, the oldest files */
        assert_int_equal(f.last_step, 47959318);
        assert_int_equal(f.step, 60);
        assert_true(f.time_skew && f.time_skew_steps == -2 && f.state_ignored);
        assert_int_equal(f.n_scratch, 2);
        gauth_clear(&f);
}

static void test_parse_crlf_lowercase_blank_lines(void **state)
{
        const char *text = "7jtf 23ia dgyy yqpq vmz5 o2zc 24\r\n\r\n\" TOTP_AUTH\r\n\r\n12345678\r\n87654321";
        struct gauth_file f;

        assert_int_equal(parse(text, &f, NULL, 0), 0);
        assert_string_equal(f.secret_b32, SECRET);
        assert_int_equal(f.n_scratch, 2);
        assert_string_equal(f.scratch[1], "87654321"); /* no newline at the end */
        assert_false(f.disallow_reuse);
        gauth_clear(&f);
}

/* each malformed file: the error, and that the message names no part of the file */
static void refused(const char *text, size_t len, int want, const char *msg_part)
{
        struct gauth_file f;
        char err[GAUTH_ERR_MAX];

        memset(&f, 0x5a, sizeof(f));
        assert_int_equal(gauth_parse(text, len, &f, err, sizeof(err)), want);
        if (!strstr(err, msg_part))
                fail_msg("'%s' does not say '%s'", err, msg_part);
        assert_null(strstr(err, "7JTF"));
        assert_null(strstr(err, "1234"));
        if (want != -EOPNOTSUPP) /* written only on success: nothing of the file in it */
                for (size_t i = 0; i < sizeof(f); i++)
                        assert_int_equal(((unsigned char *)&f)[i], 0x5a);
}

static void test_parse_refuses_malformed(void **state)
{
        static char big[GAUTH_FILE_MAX + 2], line[GAUTH_FILE_MAX];
        char many[512];
        size_t n;

        refused("", 0, -EINVAL, "empty");
        refused("\n\" TOTP_AUTH\n12345678\n", 22, -EINVAL, "no secret");
        refused("\" TOTP_AUTH\n", 12, -EINVAL, "line 1");
        refused("7JTF23IADGYYYQPQVMZ5O2ZC2!\n", 27, -EINVAL, "not a base32 secret");
        refused("7JTF23IADGYYYQPQVMZ5O2ZC24==\n", 29, -EINVAL, "base32"); /* padding */
        refused("7JTF23IADGYYYQPQVMZ5O2ZC1\n", 26, -EINVAL, "base32");    /* 1 is not base32 */
        refused("7JTF23IADGYYYQP\n", 16, -EINVAL, "16 to 127");           /* too short */
        refused("7JTF23IADGYYYQPQV\n", 18, -EINVAL, "base32");            /* 17: not whole bytes */
        refused(SECRET "\n\" TOTP_AUTH\n\" TOTP_AUTH\n", 50, -EINVAL, "TOTP_AUTH appears twice");
        refused(SECRET "\n\" WINDOW_SIZE 3\n\" WINDOW_SIZE 17\n", 59, -EINVAL,
                "line 3: option WINDOW_SIZE appears twice");
        refused(SECRET "\n\" STEP_SIZE 0\n", 41, -EINVAL, "STEP_SIZE must be 1 to 60");
        refused(SECRET "\n\" STEP_SIZE 61\n", 42, -EINVAL, "STEP_SIZE");
        refused(SECRET "\n\" STEP_SIZE 30 30\n", 45, -EINVAL, "STEP_SIZE");
        refused(SECRET "\n\" WINDOW_SIZE 101\n", 45, -EINVAL, "WINDOW_SIZE must be 1 to 100");
        refused(SECRET "\n\" RATE_LIMIT 3\n", 42, -EINVAL, "RATE_LIMIT");
        refused(SECRET "\n\" RATE_LIMIT 3 30 x\n", 47, -EINVAL, "RATE_LIMIT");
        refused(SECRET "\n\" DISALLOW_REUSE 12 x\n", 49, -EINVAL, "DISALLOW_REUSE");
        refused(SECRET "\n\"TOTP_AUTH\n", 38, -EINVAL, "must start with");
        refused(SECRET "\n\" totp_auth\n", 39, -EINVAL, "invalid option name");
        refused(SECRET "\n\" TOTP_AUTH yes\n", 43, -EINVAL, "takes no value");
        refused(SECRET "\n1234567\n", 35, -EINVAL, "line 2: neither an option nor an eight-digit scratch code");
        refused(SECRET "\n01234567\n", 36, -EINVAL, "scratch code");
        refused(SECRET "\n123456789\n", 37, -EINVAL, "scratch code");
        refused(SECRET "\n12345678 \n", 37, -EINVAL, "scratch code");
        refused(SECRET "\n\" TOTP_AUTH\n\" HOTP_COUNTER 1\n", 55, -EINVAL, "both TOTP_AUTH and HOTP_COUNTER");
        refused(SECRET "\n\" TOTP\0AUTH\n", 39, -EINVAL, "NUL");
        /* eleven scratch codes */
        n = (size_t)snprintf(many, sizeof(many), "%s\n", SECRET);
        for (int i = 0; i < 11; i++)
                n += (size_t)snprintf(many + n, sizeof(many) - n, "%d\n", 20000000 + i);
        refused(many, n, -E2BIG, "line 12: more than 10 scratch codes");
        /* a huge line, a huge file */
        memset(line, 'A', sizeof(line) - 1);
        refused(line, GAUTH_LINE_MAX + 1, -EINVAL, "line 1: the line is too long");
        n = (size_t)snprintf(big, sizeof(big), "%s\n\" X ", SECRET);
        memset(big + n, 'x', GAUTH_LINE_MAX + 1);
        refused(big, n + GAUTH_LINE_MAX + 1, -EINVAL, "line 2: the line is too long");
        memset(big, 'A', sizeof(big));
        refused(big, GAUTH_FILE_MAX + 1, -EMSGSIZE, "larger than 4096");
}

static void test_parse_hotp_is_reported(void **state)
{
        const char *text = "S6DE6NI2YWQW7D37W3BKOJ5OCU\n\" WINDOW_SIZE 3\n\" HOTP_COUNTER 1\n11476770\n";
        struct gauth_file f;
        char err[GAUTH_ERR_MAX];

        assert_int_equal(parse(text, &f, err, sizeof(err)), -EOPNOTSUPP);
        assert_true(f.hotp);
        assert_non_null(strstr(err, "HOTP"));
        gauth_clear(&f);
}

static void test_parse_duplicates_and_unknown(void **state)
{
        const char *text = SECRET "\n\" TOTP_AUTH\n\" SOMETHING_NEW 1\n12345678\n12345678\n87654321\n";
        char notes[GAUTH_NOTES_MAX][GAUTH_NOTE_MAX];
        struct mlsec_conf c;
        struct gauth_file f;
        size_t n;
        bool unknown = false, dup = false;

        assert_int_equal(parse(text, &f, NULL, 0), 0);
        assert_int_equal(f.n_scratch, 2); /* a repeated code kept once: it works once */
        assert_int_equal(f.n_scratch_dup, 1);
        assert_int_equal(f.n_unknown, 1);
        assert_string_equal(f.unknown[0], "SOMETHING_NEW");
        conf_defaults(&c);
        n = gauth_notes(&f, &c, notes, GAUTH_NOTES_MAX);
        for (size_t i = 0; i < n; i++) {
                unknown |= strstr(notes[i], "unknown option SOMETHING_NEW ignored") != NULL;
                dup |= strstr(notes[i], "1 repeated scratch code kept once") != NULL;
                assert_null(strstr(notes[i], "12345678"));
                assert_null(strstr(notes[i], "7JTF"));
        }
        assert_true(unknown && dup);
        gauth_clear(&f);
}

static bool has_note(const char (*notes)[GAUTH_NOTE_MAX], size_t n, const char *part)
{
        for (size_t i = 0; i < n; i++)
                if (strstr(notes[i], part))
                        return true;
        return false;
}

static void test_notes(void **state)
{
        char notes[GAUTH_NOTES_MAX][GAUTH_NOTE_MAX];
        struct mlsec_conf c;
        struct gauth_file f;
        size_t n;

        conf_defaults(&c);
        c.window = 1;
        assert_int_equal(parse(REAL_FILE, &f, NULL, 0), 0);
        n = gauth_notes(&f, &c, notes, GAUTH_NOTES_MAX);
        assert_int_equal(n, 1); /* only RATE_LIMIT: WINDOW_SIZE 3 is window = 1 */
        assert_true(has_note(notes, n, "RATE_LIMIT 3 30 is not carried over"));
        gauth_clear(&f);

        assert_int_equal(parse(SECRET "\n\" WINDOW_SIZE 17\n\" TOTP_AUTH\n\" TIME_SKEW 3\n", &f, NULL, 0), 0);
        n = gauth_notes(&f, &c, notes, GAUTH_NOTES_MAX);
        assert_true(
                has_note(notes, n, "WINDOW_SIZE 17 (codes from 8 steps before to 8 after now) is not carried over"));
        assert_true(has_note(notes, n, "window = 1 step either side"));
        assert_true(has_note(notes, n, "no DISALLOW_REUSE"));
        assert_true(has_note(notes, n, "TIME_SKEW 3"));
        assert_true(has_note(notes, n, "no scratch codes"));
        assert_false(has_note(notes, n, "RATE_LIMIT"));
        /* at most MAX notes */
        assert_int_equal(gauth_notes(&f, &c, notes, 2), 2);
        gauth_clear(&f);

        assert_int_equal(parse(SECRET "\n", &f, NULL, 0), 0);
        n = gauth_notes(&f, &c, notes, GAUTH_NOTES_MAX);
        assert_true(has_note(notes, n, "no TOTP_AUTH line: read as time-based"));
        gauth_clear(&f);
}

/* ---- reading the file ---- */

struct dir {
        char path[64];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t)len);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static void test_read_file_checks(void **state)
{
        char dir[] = "/tmp/test_gauth.XXXXXX", p[128], q[128], buf[GAUTH_FILE_MAX + 1];
        static char big[GAUTH_FILE_MAX + 1];
        const char *why = NULL;
        size_t len = 0;
        uid_t me = geteuid();

        assert_non_null(mkdtemp(dir));
        snprintf(p, sizeof(p), "%s/ga", dir);
        write_file(p, REAL_FILE, strlen(REAL_FILE), 0400);
        assert_int_equal(gauth_read_file(p, me, false, buf, sizeof(buf), &len, &why), 0);
        assert_int_equal(len, strlen(REAL_FILE));
        assert_string_equal(buf, REAL_FILE);
        /* another owner: only root may be it, and only when allowed */
        assert_int_equal(gauth_read_file(p, me + 1, false, buf, sizeof(buf), &len, &why), -EPERM);
        assert_string_equal(why, "it is not owned by the user");
        assert_int_equal(buf[0], 0); /* wiped */
        assert_int_equal(gauth_read_file(p, me + 1, true, buf, sizeof(buf), &len, &why), me == 0 ? 0 : -EPERM);
        /* group- or world-writable */
        assert_int_equal(chmod(p, 0620), 0);
        assert_int_equal(gauth_read_file(p, me, false, buf, sizeof(buf), &len, &why), -EACCES);
        assert_string_equal(why, "it is writable by group or others");
        assert_int_equal(chmod(p, 0602), 0);
        assert_int_equal(gauth_read_file(p, me, false, buf, sizeof(buf), &len, &why), -EACCES);
        assert_int_equal(chmod(p, 0600), 0);
        /* a symlink, a hard link, a directory, nothing */
        snprintf(q, sizeof(q), "%s/link", dir);
        assert_int_equal(symlink("ga", q), 0);
        assert_int_equal(gauth_read_file(q, me, false, buf, sizeof(buf), &len, &why), -ELOOP);
        assert_string_equal(why, "it is a symbolic link");
        assert_int_equal(unlink(q), 0);
        assert_int_equal(link(p, q), 0);
        assert_int_equal(gauth_read_file(p, me, false, buf, sizeof(buf), &len, &why), -EMLINK);
        assert_int_equal(unlink(q), 0);
        assert_int_equal(gauth_read_file(dir, me, false, buf, sizeof(buf), &len, &why), -EINVAL);
        assert_string_equal(why, "it is not a regular file");
        assert_int_equal(gauth_read_file(q, me, false, buf, sizeof(buf), &len, &why), -ENOENT);
        assert_string_equal(why, "it does not exist");
        /* empty, too large */
        write_file(p, "", 0, 0600);
        assert_int_equal(gauth_read_file(p, me, false, buf, sizeof(buf), &len, &why), -EFBIG);
        memset(big, 'A', sizeof(big));
        write_file(p, big, sizeof(big), 0600);
        assert_int_equal(gauth_read_file(p, me, false, buf, sizeof(buf), &len, &why), -EFBIG);
        write_file(p, big, GAUTH_FILE_MAX, 0600);
        assert_int_equal(gauth_read_file(p, me, false, buf, sizeof(buf), &len, &why), 0);
        assert_int_equal(len, GAUTH_FILE_MAX);
        /* a buffer too small is refused before anything is read */
        assert_int_equal(gauth_read_file(p, me, false, buf, GAUTH_FILE_MAX, &len, &why), -EINVAL);
        assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* ---- the import, checked with the verification rules ---- */

struct fixture {
        char dir[64], state_dir[128], key_path[128];
        struct store *s;
        struct seal_key *k;
        struct mlsec_conf c;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f || seal_init() < 0 || totp_init() < 0)
                return -1;
        strcpy(f->dir, "/tmp/test_gauth.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->dir);
        snprintf(f->key_path, sizeof(f->key_path), "%s/etc/secret.key", f->dir);
        if (store_open(f->state_dir, true, &f->s) < 0 || seal_key_load(f->key_path, true, &f->k) < 0)
                return -1;
        conf_defaults(&f->c);
        f->c.window = 1;
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

#define T0 ((time_t)1790000000)

static enum mlsec_verdict answer(struct fixture *f, const char *user, const char *a, time_t now,
                                 struct verify_result *ret)
{
        struct verify_request req = {.user = user, .known_user = true, .answer = a, .source = "tty1", .now = now};
        struct verify_result res;

        assert_int_equal(verify_answer(f->s, f->k, &f->c, &req, &res), 0);
        if (ret)
                *ret = res;
        return res.verdict;
}

static void code_at(const char *b32, unsigned period, time_t t, char out[TOTP_CODE_MAX])
{
        uint8_t secret[TOTP_SECRET_MAX];
        size_t len;

        assert_int_equal(totp_base32_decode(b32, secret, sizeof(secret), &len), 0);
        assert_int_equal(totp_generate_period(secret, len, TOTP_SHA1, 6, period, totp_step_period(t, period), out), 0);
}

static void test_import_then_verify(void **state)
{
        struct fixture *f = *state;
        static const char scratch[2][GAUTH_SCRATCH_DIGITS + 1] = {"62285737", "91397033"};
        struct gauth_import im = {.user = "gina",
                                  .secret_b32 = SECRET,
                                  .digits = 6,
                                  .period = 60,
                                  .last_step = -1,
                                  .scratch = scratch,
                                  .n_scratch = 2,
                                  .now = T0};
        struct store_device *devs = NULL;
        struct verify_result res;
        char code[TOTP_CODE_MAX], code30[TOTP_CODE_MAX];
        size_t n = 0;
        unsigned replaced = 9;

        assert_int_equal(gauth_import(f->s, f->k, &im, &replaced), 0);
        assert_int_equal(replaced, 0);
        assert_int_equal(store_list_devices(f->s, "gina", &devs, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(devs[0].name, GAUTH_DEVICE_DEFAULT);
        assert_int_equal(devs[0].period, 60);
        assert_int_equal(devs[0].last_step, -1);
        assert_int_equal(devs[0].last_used, 0);
        assert_int_equal(devs[0].sealed_len, 16 + SEAL_OVERHEAD);
        store_devices_free(devs, n);

        /* a code of a 60 s step, 40 s into it; the 30 s code of that time is not one */
        code_at(SECRET, 60, T0 + 40, code);
        code_at(SECRET, 30, T0 + 40, code30);
        if (strcmp(code, code30) != 0)
                assert_int_equal(answer(f, "gina", code30, T0 + 40, NULL), VERDICT_WRONG);
        assert_int_equal(answer(f, "gina", code, T0 + 40, &res), VERDICT_OK);
        assert_int_equal(res.method, METHOD_TOTP);
        assert_int_equal(answer(f, "gina", code, T0 + 41, NULL), VERDICT_REPLAY);
        /* window = 1 is one step of 60 s: the next minute's code is fine, two ahead drifts */
        code_at(SECRET, 60, T0 + 40 + 60, code);
        assert_int_equal(answer(f, "gina", code, T0 + 40, NULL), VERDICT_OK);
        code_at(SECRET, 60, T0 + 40 + 240, code);
        assert_int_equal(answer(f, "gina", code, T0 + 40, &res), VERDICT_DRIFT);
        assert_int_equal(res.drift_seconds, 240);

        /* scratch codes: each once, as itself or after a password in combined mode */
        assert_int_equal(answer(f, "gina", "62285737", T0 + 50, &res), VERDICT_OK);
        assert_int_equal(res.method, METHOD_BACKUP);
        assert_int_equal(res.backup_left, 1);
        assert_int_equal(answer(f, "gina", "62285737", T0 + 51, NULL), VERDICT_WRONG);
        {
                struct verify_request req = {.user = "gina",
                                             .known_user = true,
                                             .answer = "pw1291397033",
                                             .combined = true,
                                             .source = "tty1",
                                             .now = T0 + 52};

                assert_int_equal(verify_answer(f->s, f->k, &f->c, &req, &res), 0);
                assert_int_equal(res.verdict, VERDICT_OK);
                assert_int_equal(res.method, METHOD_BACKUP);
                assert_int_equal(res.password_len, 4); /* "pw12" */
                assert_int_equal(res.backup_left, 0);
        }
        assert_int_equal(answer(f, "gina", "91397033", T0 + 53, NULL), VERDICT_WRONG);
}

static void test_import_keeps_used_steps_and_replaces(void **state)
{
        struct fixture *f = *state;
        struct gauth_import im = {.user = "gina", .secret_b32 = SECRET, .digits = 6, .period = 30, .now = T0};
        struct store_backup *codes = NULL;
        char code[TOTP_CODE_MAX];
        size_t n = 9;
        unsigned replaced = 0;

        /* the step google-authenticator last accepted stays used */
        im.last_step = (int64_t)totp_step(T0);
        assert_int_equal(gauth_import(f->s, f->k, &im, &replaced), 0);
        code_at(SECRET, 30, T0, code);
        assert_int_equal(answer(f, "gina", code, T0 + 1, NULL), VERDICT_REPLAY);
        code_at(SECRET, 30, T0 + 30, code);
        assert_int_equal(answer(f, "gina", code, T0 + 30, NULL), VERDICT_OK);
        /* a second import: refused, then with replace */
        im.last_step = -1;
        im.device = "phone app";
        assert_int_equal(gauth_import(f->s, f->k, &im, &replaced), -EEXIST);
        im.replace = true;
        assert_int_equal(gauth_import(f->s, f->k, &im, &replaced), 0);
        assert_int_equal(replaced, 1);
        assert_int_equal(store_list_backup_codes(f->s, "gina", &codes, &n), 0);
        assert_int_equal(n, 0);
        free(codes);
        /* bad input is refused before anything changes */
        im.period = 61;
        assert_int_equal(gauth_import(f->s, f->k, &im, &replaced), -EINVAL);
        im.period = 30;
        im.secret_b32 = "NOT BASE32!";
        assert_int_equal(gauth_import(f->s, f->k, &im, &replaced), -EINVAL);
        im.secret_b32 = SECRET;
        im.device = "a/b";
        assert_int_equal(gauth_import(f->s, f->k, &im, &replaced), -EINVAL);
        im.device = NULL;
        {
                static const char bad[1][GAUTH_SCRATCH_DIGITS + 1] = {"0123456"};
                im.scratch = bad;
                im.n_scratch = 1;
                assert_int_equal(gauth_import(f->s, f->k, &im, &replaced), -EINVAL);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_real_file),
                cmocka_unit_test(test_parse_state_the_module_wrote),
                cmocka_unit_test(test_parse_crlf_lowercase_blank_lines),
                cmocka_unit_test(test_parse_refuses_malformed),
                cmocka_unit_test(test_parse_hotp_is_reported),
                cmocka_unit_test(test_parse_duplicates_and_unknown),
                cmocka_unit_test(test_notes),
                cmocka_unit_test(test_read_file_checks),
                cmocka_unit_test_setup_teardown(test_import_then_verify, setup, teardown),
                cmocka_unit_test_setup_teardown(test_import_keeps_used_steps_and_replaces, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
