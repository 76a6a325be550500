/* SPDX-License-Identifier: MIT */
/* Unit tests of common/verify.c: every verdict a user can meet (accepted, wrong, replayed,
 * drifting clock, locked, unenrolled, malformed) driven with explicit times against a real
 * SQLite store and a real key in a private temp directory. Codes come from totp_generate
 * for chosen steps of a known secret; nothing sleeps and nothing touches system state. */
#define _GNU_SOURCE /* nftw */

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define SECRET_B32  "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
#define SECRET2_B32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#define STEP0       ((uint64_t)56666667)
#define T0          ((time_t)(STEP0 * TOTP_PERIOD + 15)) /* the middle of STEP0 */
#define SRC         "192.0.2.10"

struct fixture {
        char dir[64];
        char state_dir[128];
        char key_path[128];
        struct store *s;
        struct seal_key *k;
        struct mlsec_conf c;
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
        strcpy(f->dir, "/tmp/test_verify.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->dir);
        snprintf(f->key_path, sizeof(f->key_path), "%s/etc/secret.key", f->dir);
        if (store_open(f->state_dir, true, &f->s) < 0 || seal_key_load(f->key_path, true, &f->k) < 0)
                return -1;
        conf_defaults(&f->c);
        *state = f;
        return 0;
}

static void enrol(struct fixture *f, const char *user, const char *device, const char *b32, unsigned digits)
{
        struct enroll_device_req req = {
                .user = user,
                .device = device,
                .secret_b32 = b32,
                .alg = TOTP_SHA1,
                .digits = digits,
                .issuer = "test",
                .now = T0 - 86400,
        };
        struct enroll_device_result res;

        assert_int_equal(enroll_device(f->s, f->k, &req, &res), 0);
}

/* alice has one 6-digit device "phone" with SECRET_B32. */
static int setup_enrolled(void **state)
{
        if (setup(state) < 0)
                return -1;
        enrol(*state, "alice", "phone", SECRET_B32, 6);
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

/* The code of B32 for STEP, computed independently of verify.c. */
static void code_of(const char *b32, unsigned digits, uint64_t step, char out[TOTP_CODE_MAX])
{
        uint8_t secret[TOTP_SECRET_MAX];
        size_t len;

        assert_int_equal(totp_base32_decode(b32, secret, sizeof(secret), &len), 0);
        assert_int_equal(totp_generate(secret, len, TOTP_SHA1, digits, step, out), 0);
}

static void code_at(uint64_t step, char out[TOTP_CODE_MAX])
{
        code_of(SECRET_B32, 6, step, out);
}

/* A 6-digit answer that matches no step of SECRET_B32 within the drift span around NOW. */
static void wrong_code(time_t now, char out[TOTP_CODE_MAX])
{
        uint64_t step = totp_step(now);

        for (unsigned v = 0;; v++) {
                bool clash = false;

                snprintf(out, TOTP_CODE_MAX, "%06u", v);
                for (int d = -VERIFY_DRIFT_MAX; d <= VERIFY_DRIFT_MAX && !clash; d++) {
                        char c[TOTP_CODE_MAX];

                        code_at(step + (uint64_t)(int64_t)d, c);
                        clash = strcmp(c, out) == 0;
                }
                if (!clash)
                        return;
        }
}

static struct verify_result ask_full(struct fixture *f, const char *user, bool known, const char *answer, bool combined,
                                     const char *source, enum source_class remote, time_t now)
{
        struct verify_request req = {
                .user = user,
                .known_user = known,
                .answer = answer,
                .combined = combined,
                .source = source,
                .cls = remote,
                .now = now,
        };
        struct verify_result res;

        memset(&res, 0xaa, sizeof(res));
        assert_int_equal(verify_answer(f->s, f->k, &f->c, &req, &res), 0);
        return res;
}

/* alice answers from the default remote source. */
static struct verify_result ask(struct fixture *f, const char *answer, time_t now)
{
        return ask_full(f, "alice", true, answer, false, SRC, true, now);
}

static struct verify_result ask_from(struct fixture *f, const char *answer, const char *source,
                                     enum source_class remote, time_t now)
{
        return ask_full(f, "alice", true, answer, false, source, remote, now);
}

static struct verify_result ask_combined(struct fixture *f, const char *user, const char *answer, time_t now)
{
        return ask_full(f, user, true, answer, true, SRC, true, now);
}

/* alice's code for the step of NOW. */
static struct verify_result ask_right(struct fixture *f, const char *source, enum source_class remote, time_t now)
{
        char code[TOTP_CODE_MAX];

        code_at(totp_step(now), code);
        return ask_from(f, code, source, remote, now);
}

static struct verify_result ask_wrong(struct fixture *f, const char *source, enum source_class remote, time_t now)
{
        char code[TOTP_CODE_MAX];

        wrong_code(now, code);
        return ask_from(f, code, source, remote, now);
}

static unsigned failures(struct fixture *f, const char *user, const char *source)
{
        unsigned n = UINT_MAX;

        assert_int_equal(store_count_failures(f->s, user, source, 0, &n), 0);
        return n;
}

static void assert_ok_totp(const struct verify_result *res, const char *device)
{
        assert_int_equal(res->verdict, VERDICT_OK);
        assert_int_equal(res->method, METHOD_TOTP);
        assert_string_equal(res->device, device);
        assert_int_equal(res->drift_seconds, 0);
        assert_false(res->lock_started);
}

static void assert_drift(const struct verify_result *res, long seconds)
{
        assert_int_equal(res->verdict, VERDICT_DRIFT);
        assert_int_equal(res->method, METHOD_TOTP);
        assert_string_equal(res->device, "phone");
        assert_int_equal(res->drift_seconds, seconds);
}

static void assert_locked(const struct verify_result *res, long remaining, bool user_wide)
{
        assert_int_equal(res->verdict, VERDICT_LOCKED);
        assert_int_equal(res->method, METHOD_NONE);
        assert_int_equal(res->lock_remaining, remaining);
        assert_int_equal(res->lock_user_wide, user_wide);
        assert_false(res->lock_started);
}

/* Three failures from SRC at T0, T0+1, T0+2: the third locks it (max_failures = 3). */
static void lock_source(struct fixture *f)
{
        struct verify_result res;

        f->c.max_failures = 3;
        for (int i = 0; i < 3; i++) {
                res = ask_wrong(f, SRC, true, T0 + i);
                assert_int_equal(res.verdict, VERDICT_WRONG);
                assert_int_equal(res.lock_started, i == 2);
                assert_false(res.lock_user_wide);
                assert_int_equal(res.lock_remaining, i == 2 ? (long)f->c.lockout_seconds : 0);
        }
}

/* ---- accepted codes, windows, drift ------------------------------------------------- */

static void test_current_code_logs_in_with_device_name(void **state)
{
        struct fixture *f = *state;
        struct verify_result res = ask_right(f, SRC, true, T0);

        assert_ok_totp(&res, "phone");
        assert_int_equal(res.password_len, 0);
        assert_int_equal(res.backup_left, 0);
        assert_false(res.lock_user_wide);
        assert_string_equal(verify_verdict_to_string(res.verdict), "ok");
        assert_string_equal(verify_method_to_string(res.method), "totp");
}

static void test_window_one_accepts_previous_step(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        code_at(STEP0 - 1, code);
        res = ask(f, code, T0);
        assert_ok_totp(&res, "phone");
}

static void test_window_one_accepts_next_step(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        code_at(STEP0 + 1, code);
        res = ask(f, code, T0);
        assert_ok_totp(&res, "phone");
}

static void test_two_steps_away_is_refused_as_drift_and_not_consumed(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        code_at(STEP0 + 2, code);
        res = ask(f, code, T0);
        assert_drift(&res, 60);
        code_at(STEP0 - 2, code);
        res = ask(f, code, T0);
        assert_drift(&res, -60);
        assert_int_equal(failures(f, "alice", SRC), 2);
        /* a drift refusal consumed nothing: the current code still works */
        res = ask_right(f, SRC, true, T0);
        assert_ok_totp(&res, "phone");
}

static void test_window_zero_accepts_only_current_step(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        f->c.window = 0;
        code_at(STEP0 - 1, code);
        res = ask(f, code, T0);
        assert_drift(&res, -30);
        code_at(STEP0 + 1, code);
        res = ask(f, code, T0);
        assert_drift(&res, 30);
        res = ask_right(f, SRC, true, T0);
        assert_ok_totp(&res, "phone");
}

static void test_drift_of_ten_steps_is_explained(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        code_at(STEP0 + 10, code);
        res = ask(f, code, T0);
        assert_drift(&res, 300);
        code_at(STEP0 - 10, code);
        res = ask(f, code, T0);
        assert_drift(&res, -300);
}

static void test_drift_of_eleven_steps_is_just_wrong(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        code_at(STEP0 + 11, code);
        res = ask(f, code, T0);
        assert_int_equal(res.verdict, VERDICT_WRONG);
        assert_int_equal(res.method, METHOD_NONE);
        assert_int_equal(res.drift_seconds, 0);
        code_at(STEP0 - 11, code);
        res = ask(f, code, T0);
        assert_int_equal(res.verdict, VERDICT_WRONG);
        assert_int_equal(res.method, METHOD_NONE);
        assert_int_equal(res.drift_seconds, 0);
        assert_string_equal(verify_verdict_to_string(res.verdict), "wrong code");
}

/* ---- replay --------------------------------------------------------------------------- */

static void test_same_code_twice_is_replay(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        code_at(STEP0, code);
        res = ask(f, code, T0);
        assert_ok_totp(&res, "phone");
        res = ask(f, code, T0 + 5);
        assert_int_equal(res.verdict, VERDICT_REPLAY);
        assert_int_equal(res.method, METHOD_TOTP);
        assert_string_equal(res.device, "phone");
        assert_int_equal(res.drift_seconds, 0);
        /* still within the window one step later, still a replay */
        res = ask(f, code, T0 + TOTP_PERIOD);
        assert_int_equal(res.verdict, VERDICT_REPLAY);
        assert_int_equal(failures(f, "alice", SRC), 2);
}

static void test_older_code_after_newer_one_is_replay(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        code_at(STEP0 + 1, code);
        res = ask(f, code, T0);
        assert_ok_totp(&res, "phone");
        code_at(STEP0, code);
        res = ask(f, code, T0 + 1);
        assert_int_equal(res.verdict, VERDICT_REPLAY);
        assert_string_equal(res.device, "phone");
        code_at(STEP0 - 1, code);
        res = ask(f, code, T0 + 2);
        assert_int_equal(res.verdict, VERDICT_REPLAY);
}

/* ---- devices ---------------------------------------------------------------------------- */

static void test_eight_digit_device_accepts_its_code(void **state)
{
        struct fixture *f = *state;
        char code8[TOTP_CODE_MAX], code6[TOTP_CODE_MAX];
        struct verify_result res;

        enrol(f, "carol", "token", SECRET_B32, 8);
        code_of(SECRET_B32, 8, STEP0, code8);
        code_of(SECRET_B32, 6, STEP0, code6);
        assert_int_equal(strlen(code8), 8);
        /* six digits are not enough for an eight-digit device */
        res = ask_full(f, "carol", true, code6, false, SRC, true, T0);
        assert_int_equal(res.verdict, VERDICT_WRONG);
        res = ask_full(f, "carol", true, code8, false, SRC, true, T0);
        assert_ok_totp(&res, "token");
}

static void test_second_device_matches(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        enrol(f, "alice", "tablet", SECRET2_B32, 6);
        code_of(SECRET2_B32, 6, STEP0, code);
        res = ask(f, code, T0);
        assert_ok_totp(&res, "tablet");
        /* the tablet's step does not consume the phone's */
        res = ask_right(f, SRC, true, T0 + 1);
        assert_ok_totp(&res, "phone");
}

/* ---- backup codes ------------------------------------------------------------------------- */

static void test_backup_code_works_once_and_counts_down(void **state)
{
        struct fixture *f = *state;
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        char spaced[32], digits[BACKUP_CODE_DIGITS + 1];
        struct verify_result res;

        assert_int_equal(enroll_backup_codes(f->s, f->k, "alice", T0, codes), 0);
        res = ask(f, codes[0], T0);
        assert_int_equal(res.verdict, VERDICT_OK);
        assert_int_equal(res.method, METHOD_BACKUP);
        assert_string_equal(res.device, "");
        assert_int_equal(res.backup_left, 9);
        assert_string_equal(verify_method_to_string(res.method), "backup");

        res = ask(f, codes[0], T0 + 1);
        assert_int_equal(res.verdict, VERDICT_WRONG);
        assert_int_equal(res.method, METHOD_NONE);
        assert_int_equal(res.backup_left, 9);

        /* typed without the dash */
        assert_int_equal(backup_normalize(codes[1], digits), 0);
        res = ask(f, digits, T0 + 2);
        assert_int_equal(res.verdict, VERDICT_OK);
        assert_int_equal(res.backup_left, 8);

        /* typed with spaces and the dash */
        snprintf(spaced, sizeof(spaced), "%.3s %.2s - %.3s %.2s", codes[2], codes[2] + 3, codes[2] + 6, codes[2] + 9);
        res = ask(f, spaced, T0 + 3);
        assert_int_equal(res.verdict, VERDICT_OK);
        assert_int_equal(res.method, METHOD_BACKUP);
        assert_int_equal(res.backup_left, 7);

        /* a TOTP login reports what is left without using any */
        res = ask_right(f, SRC, true, T0 + 4);
        assert_ok_totp(&res, "phone");
        assert_int_equal(res.backup_left, 7);
}

/* ---- malformed, unknown and unenrolled users ------------------------------------------------ */

static void test_empty_or_overlong_answer_is_malformed(void **state)
{
        struct fixture *f = *state;
        char longest[66];
        struct verify_result res;

        res = ask(f, "", T0);
        assert_int_equal(res.verdict, VERDICT_MALFORMED);
        assert_string_equal(verify_verdict_to_string(res.verdict), "malformed");
        memset(longest, '1', 65);
        longest[65] = '\0';
        res = ask(f, longest, T0);
        assert_int_equal(res.verdict, VERDICT_MALFORMED);
}

static void test_non_digit_answer_is_malformed(void **state)
{
        struct fixture *f = *state;
        const char *bad[] = {"abcdef", "12345a", "12 456", "12345", "1234567", "password"};
        struct verify_result res;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                res = ask(f, bad[i], T0);
                assert_int_equal(res.verdict, VERDICT_MALFORMED);
                assert_int_equal(res.method, METHOD_NONE);
        }
}

static void test_unknown_user_fails_and_counts_a_failure(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_result res;

        code_at(STEP0, code);
        res = ask_full(f, "mallory", false, code, false, SRC, true, T0);
        assert_int_equal(res.verdict, VERDICT_UNKNOWN_USER);
        assert_int_equal(res.method, METHOD_NONE);
        assert_false(res.lock_started);
        assert_int_equal(failures(f, "mallory", SRC), 1);
        assert_string_equal(verify_verdict_to_string(res.verdict), "unknown user");
}

static void test_unknown_user_is_locked_like_a_known_one(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;

        f->c.max_failures = 3;
        for (int i = 0; i < 3; i++) {
                res = ask_full(f, "mallory", false, "123456", false, SRC, true, T0 + i);
                assert_int_equal(res.verdict, VERDICT_UNKNOWN_USER);
                assert_int_equal(res.lock_started, i == 2);
        }
        res = ask_full(f, "mallory", false, "123456", false, SRC, true, T0 + 3);
        assert_locked(&res, f->c.lockout_seconds - 1, false);
}

/* Asked only under unenrolled = deny: refused, and counted like a wrong code, so that the
 * three paths (MFA, none, unknown user) do the same work, write included (#12 item 4). */
static void test_unenrolled_user_counts_like_a_wrong_code(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;

        res = ask_full(f, "bob", true, "123456", false, SRC, true, T0);
        assert_int_equal(res.verdict, VERDICT_UNENROLLED);
        assert_int_equal(res.method, METHOD_NONE);
        assert_int_equal(failures(f, "bob", SRC), 1);
        assert_string_equal(verify_verdict_to_string(res.verdict), "unenrolled");
        res = ask_full(f, "ghost", false, "123456", false, SRC, true, T0);
        assert_int_equal(res.verdict, VERDICT_UNKNOWN_USER);
        assert_int_equal(failures(f, "ghost", SRC), 1);
}

static void test_no_database_means_unenrolled_or_unknown(void **state)
{
        struct fixture *f = *state;
        struct verify_request req = {
                .user = "alice",
                .known_user = true,
                .answer = "123456",
                .source = SRC,
                .cls = SOURCE_REMOTE,
                .now = T0,
        };
        struct verify_result res;

        assert_int_equal(verify_answer(NULL, f->k, &f->c, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_UNENROLLED);
        assert_int_equal(res.method, METHOD_NONE);
        assert_int_equal(verify_answer(NULL, NULL, &f->c, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_UNENROLLED);
        req.known_user = false;
        assert_int_equal(verify_answer(NULL, f->k, &f->c, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_UNKNOWN_USER);
        assert_int_equal(verify_answer(NULL, NULL, &f->c, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_UNKNOWN_USER);
}

static void test_missing_key_cannot_decide_and_consumes_nothing(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX];
        struct verify_request req = {
                .user = "alice",
                .known_user = true,
                .answer = code,
                .source = SRC,
                .cls = SOURCE_REMOTE,
                .now = T0,
        };
        struct verify_result res, untouched;
        bool enrolled = false;

        code_at(STEP0, code);
        memset(&res, 0x5a, sizeof(res));
        memcpy(&untouched, &res, sizeof(res));
        assert_int_equal(verify_answer(f->s, NULL, &f->c, &req, &res), -ENOKEY);
        assert_memory_equal(&res, &untouched, sizeof(res));
        assert_int_equal(failures(f, "alice", SRC), 0);
        assert_int_equal(verify_enrolled(f->s, "alice", &enrolled), 0);
        assert_true(enrolled);
        /* with the key the same code is still unused */
        res = ask(f, code, T0);
        assert_ok_totp(&res, "phone");
}

static void test_enrolled_reports_devices(void **state)
{
        struct fixture *f = *state;
        bool enrolled = true;

        assert_int_equal(verify_enrolled(f->s, "bob", &enrolled), 0);
        assert_false(enrolled);
        assert_int_equal(verify_enrolled(NULL, "alice", &enrolled), 0);
        assert_false(enrolled);
        assert_int_equal(verify_enrolled(f->s, "alice", &enrolled), 0);
        assert_true(enrolled);
}

/* ---- failures and lockouts ----------------------------------------------------------------- */

static void test_third_failure_locks_source_even_for_right_code(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;

        lock_source(f);
        res = ask_right(f, SRC, true, T0 + 10);
        /* locked at T0 + 2 for 300 s: 8 s have passed */
        assert_locked(&res, 292, false);
        /* a refusal while locked is not a new failure */
        assert_int_equal(failures(f, "alice", SRC), 3);
}

static void test_lockout_ends_exactly_at_its_end(void **state)
{
        struct fixture *f = *state;
        time_t end = T0 + 2 + f->c.lockout_seconds;
        struct verify_result res;

        lock_source(f);
        res = ask_right(f, SRC, true, end - 1);
        assert_locked(&res, 1, false);
        res = ask_right(f, SRC, true, end);
        assert_ok_totp(&res, "phone");
}

static void test_one_failure_after_lockout_does_not_relock(void **state)
{
        struct fixture *f = *state;
        time_t end = T0 + 2 + f->c.lockout_seconds;
        struct verify_result res;

        lock_source(f);
        res = ask_wrong(f, SRC, true, end);
        assert_int_equal(res.verdict, VERDICT_WRONG);
        assert_false(res.lock_started);
        res = ask_wrong(f, SRC, true, end + 1);
        assert_false(res.lock_started);
        res = ask_right(f, SRC, true, end + 2);
        assert_ok_totp(&res, "phone");
}

static void test_three_new_failures_after_lockout_relock(void **state)
{
        struct fixture *f = *state;
        time_t end = T0 + 2 + f->c.lockout_seconds;
        struct verify_result res;

        lock_source(f);
        for (int i = 0; i < 3; i++) {
                res = ask_wrong(f, SRC, true, end + i);
                assert_int_equal(res.verdict, VERDICT_WRONG);
                assert_int_equal(res.lock_started, i == 2);
        }
        res = ask_right(f, SRC, true, end + 3);
        assert_locked(&res, f->c.lockout_seconds - 1, false);
}

static void test_other_source_is_not_locked(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;

        lock_source(f);
        res = ask_right(f, "192.0.2.11", true, T0 + 10);
        assert_ok_totp(&res, "phone");
        res = ask_right(f, "tty1", false, T0 + 40);
        assert_ok_totp(&res, "phone");
}

static void test_many_remote_sources_lock_network_but_not_console(void **state)
{
        struct fixture *f = *state;
        char src[32];
        struct verify_result res;

        f->c.max_failures = 3;
        f->c.max_user_failures = 4;
        for (int i = 1; i <= 4; i++) {
                snprintf(src, sizeof(src), "198.51.100.%d", i);
                res = ask_wrong(f, src, true, T0 + i);
                assert_int_equal(res.verdict, VERDICT_WRONG);
                assert_int_equal(res.lock_started, i == 4);
                assert_int_equal(res.lock_user_wide, i == 4);
                assert_int_equal(res.lock_remaining, i == 4 ? (long)f->c.lockout_seconds : 0);
        }
        /* a fifth host with the right code: every remote source is locked since T0 + 4 */
        res = ask_right(f, "198.51.100.5", true, T0 + 10);
        assert_locked(&res, f->c.lockout_seconds - 6, true);
        /* the console is never locked by the network */
        res = ask_right(f, "tty1", false, T0 + 11);
        assert_ok_totp(&res, "phone");
}

static void test_local_failures_do_not_lock_the_network(void **state)
{
        struct fixture *f = *state;
        char tty[16];
        struct verify_result res;

        f->c.max_failures = 3;
        f->c.max_user_failures = 4;
        for (int i = 1; i <= 4; i++) {
                snprintf(tty, sizeof(tty), "tty%d", i);
                res = ask_wrong(f, tty, false, T0 + i);
                assert_false(res.lock_started);
                assert_false(res.lock_user_wide);
        }
        res = ask_right(f, SRC, true, T0 + 10);
        assert_ok_totp(&res, "phone");
}

static void test_failures_older_than_window_are_forgotten(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;

        f->c.max_failures = 3;
        f->c.failure_window = 900;
        res = ask_wrong(f, SRC, true, T0);
        res = ask_wrong(f, SRC, true, T0 + 1);
        assert_false(res.lock_started);
        /* the failure at T0 is 900 s old: outside the window */
        res = ask_wrong(f, SRC, true, T0 + 900);
        assert_int_equal(res.verdict, VERDICT_WRONG);
        assert_false(res.lock_started);
        res = ask_right(f, SRC, true, T0 + 901);
        assert_ok_totp(&res, "phone");
}

static void test_failures_just_inside_window_still_lock(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;

        f->c.max_failures = 3;
        f->c.failure_window = 900;
        res = ask_wrong(f, SRC, true, T0);
        res = ask_wrong(f, SRC, true, T0 + 1);
        res = ask_wrong(f, SRC, true, T0 + 899);
        assert_true(res.lock_started);
        res = ask_right(f, SRC, true, T0 + 900);
        assert_locked(&res, f->c.lockout_seconds - 1, false);
}

static void test_success_clears_failures_of_its_source_only(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;

        f->c.max_failures = 3;
        (void)ask_wrong(f, SRC, true, T0);
        (void)ask_wrong(f, SRC, true, T0 + 1);
        (void)ask_wrong(f, "192.0.2.99", true, T0 + 2);
        (void)ask_wrong(f, "192.0.2.99", true, T0 + 3);
        res = ask_right(f, SRC, true, T0 + 4);
        assert_ok_totp(&res, "phone");
        assert_int_equal(failures(f, "alice", SRC), 0);
        assert_int_equal(failures(f, "alice", "192.0.2.99"), 2);
        /* the other source's two failures still count towards its lockout */
        res = ask_wrong(f, "192.0.2.99", true, T0 + 5);
        assert_true(res.lock_started);
}

/* ---- combined (forward_pass) answers ------------------------------------------------------ */

static void test_combined_password_and_code(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX], answer[64];
        struct verify_result res;

        code_at(STEP0, code);
        snprintf(answer, sizeof(answer), "pw123%s", code);
        res = ask_combined(f, "alice", answer, T0);
        assert_ok_totp(&res, "phone");
        assert_int_equal(res.password_len, 5);
}

static void test_combined_password_and_eight_digit_code(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX], answer[64];
        struct verify_result res;

        enrol(f, "carol", "token", SECRET_B32, 8);
        code_of(SECRET_B32, 8, STEP0, code);
        snprintf(answer, sizeof(answer), "pw123%s", code);
        res = ask_combined(f, "carol", answer, T0);
        assert_ok_totp(&res, "token");
        assert_int_equal(res.password_len, 5);
}

static void test_combined_password_and_backup_code(void **state)
{
        struct fixture *f = *state;
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        char digits[BACKUP_CODE_DIGITS + 1], answer[64];
        struct verify_result res;

        assert_int_equal(enroll_backup_codes(f->s, f->k, "alice", T0, codes), 0);
        snprintf(answer, sizeof(answer), "pw%s", codes[0]); /* 12345-67890 form */
        res = ask_combined(f, "alice", answer, T0);
        assert_int_equal(res.verdict, VERDICT_OK);
        assert_int_equal(res.method, METHOD_BACKUP);
        assert_int_equal(res.password_len, 2);
        assert_int_equal(res.backup_left, 9);

        assert_int_equal(backup_normalize(codes[1], digits), 0);
        snprintf(answer, sizeof(answer), "pw%s", digits); /* ten digits */
        res = ask_combined(f, "alice", answer, T0 + 1);
        assert_int_equal(res.verdict, VERDICT_OK);
        assert_int_equal(res.method, METHOD_BACKUP);
        assert_int_equal(res.password_len, 2);
        assert_int_equal(res.backup_left, 8);
}

static void test_combined_password_ending_in_digits(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX], answer[64];
        struct verify_result res;

        code_at(STEP0, code);
        snprintf(answer, sizeof(answer), "pass2024%s", code);
        res = ask_combined(f, "alice", answer, T0);
        assert_ok_totp(&res, "phone");
        assert_int_equal(res.password_len, 8);
}

/* ---- what the user is told ------------------------------------------------------------------ */

static void test_message_for_replay(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX], msg[256];
        struct verify_result res;

        code_at(STEP0, code);
        (void)ask(f, code, T0);
        res = ask(f, code, T0 + 1);
        assert_int_equal(res.verdict, VERDICT_REPLAY);
        assert_string_equal(verify_user_message(&res, msg, sizeof(msg)),
                            "This code has already been used. Wait for the next code and try again.");
}

static void test_message_for_drift_ahead(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX], msg[256];
        struct verify_result res;

        code_at(STEP0 + 3, code);
        res = ask(f, code, T0);
        assert_drift(&res, 90);
        assert_string_equal(verify_user_message(&res, msg, sizeof(msg)),
                            "Code refused: your authenticator's clock looks about 1 minute 30 seconds ahead of "
                            "this server's. Set its time automatically (network time) and try again.");
}

/* "behind of this server's" is not English: the clock is behind this server's. */
static void test_message_for_drift_behind(void **state)
{
        struct fixture *f = *state;
        char code[TOTP_CODE_MAX], msg[256];
        struct verify_result res;

        code_at(STEP0 - 10, code);
        res = ask(f, code, T0);
        assert_drift(&res, -300);
        assert_string_equal(verify_user_message(&res, msg, sizeof(msg)),
                            "Code refused: your authenticator's clock looks about 5 minutes behind "
                            "this server's. Set its time automatically (network time) and try again.");
}

/* #12 item 1: every local terminal but the consoles shares one budget, max_local_failures:
 * new pseudo-terminals do not buy new guesses. */
static void test_local_terminals_are_capped_together(void **state)
{
        struct fixture *f = *state;
        char tty[32];
        struct verify_result res;

        f->c.max_failures = 3;
        f->c.max_local_failures = 5;
        for (int i = 1; i <= 5; i++) {
                snprintf(tty, sizeof(tty), "tty:pts/%d", i);
                res = ask_wrong(f, tty, SOURCE_LOCAL, T0 + i);
                assert_int_equal(res.verdict, VERDICT_WRONG);
                assert_int_equal(res.lock_started, i == 5);
                assert_int_equal(res.lock_local_wide, i == 5);
                assert_false(res.lock_user_wide);
        }
        /* a sixth terminal with the right code is refused, and told why */
        res = ask_right(f, "tty:pts/6", SOURCE_LOCAL, T0 + 10);
        assert_int_equal(res.verdict, VERDICT_LOCKED);
        assert_true(res.lock_local_wide);
        assert_false(res.lock_user_wide);
        assert_int_equal(res.lock_remaining, f->c.lockout_seconds - 5);
        /* so is a login without a terminal: it is local too */
        res = ask_right(f, "local", SOURCE_LOCAL, T0 + 11);
        assert_int_equal(res.verdict, VERDICT_LOCKED);
        /* the console and the network are not locked by it */
        res = ask_right(f, "tty:tty1", SOURCE_CONSOLE, T0 + 12);
        assert_ok_totp(&res, "phone");
        res = ask_right(f, SRC, SOURCE_REMOTE, T0 + 70);
        assert_ok_totp(&res, "phone");
        /* after lockout_seconds the terminals may try again */
        res = ask_right(f, "tty:pts/7", SOURCE_LOCAL, T0 + 5 + (time_t)f->c.lockout_seconds + 60);
        assert_ok_totp(&res, "phone");
}

/* The consoles keep their own per-source budget and never count toward, or fall under, an
 * account-wide lockout: the administrator at the console always gets in. */
static void test_console_has_only_its_own_budget(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;

        f->c.max_failures = 3;
        f->c.max_local_failures = 2;
        f->c.max_user_failures = 2;
        for (int i = 1; i <= 2; i++) {
                res = ask_wrong(f, "tty:tty1", SOURCE_CONSOLE, T0 + i);
                assert_false(res.lock_started);
        }
        /* two console failures reached neither account-wide cap */
        res = ask_right(f, "tty:pts/1", SOURCE_LOCAL, T0 + 3);
        assert_ok_totp(&res, "phone");
        /* lock every local terminal and every remote source */
        for (int i = 1; i <= 2; i++) {
                char src[32];
                snprintf(src, sizeof(src), "tty:pts/%d", i);
                (void)ask_wrong(f, src, SOURCE_LOCAL, T0 + 40 + i);
                snprintf(src, sizeof(src), "192.0.2.%d", i);
                (void)ask_wrong(f, src, SOURCE_REMOTE, T0 + 40 + i);
        }
        res = ask_right(f, "tty:pts/9", SOURCE_LOCAL, T0 + 45);
        assert_true(res.verdict == VERDICT_LOCKED && res.lock_local_wide);
        res = ask_right(f, "192.0.2.9", SOURCE_REMOTE, T0 + 45);
        assert_true(res.verdict == VERDICT_LOCKED && res.lock_user_wide);
        res = ask_right(f, "tty:tty1", SOURCE_CONSOLE, T0 + 46);
        assert_ok_totp(&res, "phone");
        /* its own third failure still locks the console itself */
        for (int i = 0; i < 3; i++)
                res = ask_wrong(f, "tty:tty2", SOURCE_CONSOLE, T0 + 100 + i);
        assert_true(res.lock_started);
        assert_false(res.lock_local_wide || res.lock_user_wide);
}

static void test_message_for_locked_source_and_account(void **state)
{
        struct fixture *f = *state;
        char msg[256];
        struct verify_result res;

        lock_source(f);
        res = ask_right(f, SRC, true, T0 + 10);
        assert_string_equal(verify_user_message(&res, msg, sizeof(msg)),
                            "Too many failed attempts from this source. Try again in 4 minutes 52 seconds.");

        res = (struct verify_result){.verdict = VERDICT_LOCKED, .lock_user_wide = true, .lock_remaining = 3600};
        assert_string_equal(verify_user_message(&res, msg, sizeof(msg)),
                            "Too many failed attempts for this account from the network. Try again in 1 hour.");

        res = (struct verify_result){.verdict = VERDICT_LOCKED, .lock_local_wide = true, .lock_remaining = 60};
        assert_string_equal(verify_user_message(&res, msg, sizeof(msg)),
                            "Too many failed attempts for this account from local terminals. Try again in 1 minute.");
}

static void test_message_for_ok_and_wrong(void **state)
{
        struct fixture *f = *state;
        char msg[256];
        struct verify_result res;

        res = ask_right(f, SRC, true, T0);
        memset(msg, 'x', sizeof(msg));
        assert_string_equal(verify_user_message(&res, msg, sizeof(msg)), "");
        res = ask_wrong(f, SRC, true, T0 + 1);
        assert_string_equal(verify_user_message(&res, msg, sizeof(msg)), "Invalid verification code.");
}

/* ---- attempt tracking around the password module (preauth, authfail) ---- */

static struct verify_request attempt(const char *user, const char *source, enum source_class cls, time_t now)
{
        return (struct verify_request){.user = user, .known_user = true, .answer = "", .source = source, .cls = cls,
                                       .now = now};
}

static void test_wrong_passwords_count_like_wrong_codes(void **state)
{
        struct fixture *f = *state;
        struct verify_request req = attempt("alice", SRC, SOURCE_REMOTE, T0);
        struct verify_result res;

        f->c.max_failures = 3;
        assert_int_equal(verify_password_failed(f->s, &f->c, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_WRONG_PASSWORD);
        assert_int_equal(res.method, METHOD_PASSWORD);
        assert_false(res.lock_started);
        res = ask_wrong(f, SRC, true, T0 + 1);
        assert_false(res.lock_started);
        req.now = T0 + 2;
        assert_int_equal(verify_password_failed(f->s, &f->c, &req, &res), 0);
        assert_true(res.lock_started);
        assert_int_equal(res.lock_remaining, f->c.lockout_seconds);
        assert_int_equal(failures(f, "alice", SRC), 3);
        /* locked: the right code is refused, and preauth says so before any password */
        res = ask_right(f, SRC, true, T0 + 10);
        assert_locked(&res, f->c.lockout_seconds - 8, false);
        req.now = T0 + 10;
        assert_int_equal(verify_locked(f->s, &req, &res), 0);
        assert_locked(&res, f->c.lockout_seconds - 8, false);
        /* a wrong password while locked is refused as locked and not counted again */
        assert_int_equal(verify_password_failed(f->s, &f->c, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_LOCKED);
        assert_false(res.lock_started);
        assert_int_equal(failures(f, "alice", SRC), 3);
        /* another source is not locked */
        req.source = "192.0.2.99";
        assert_int_equal(verify_locked(f->s, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_OK);
}

static void test_wrong_passwords_lock_the_network_never_the_console(void **state)
{
        struct fixture *f = *state;
        struct verify_result res;
        char src[32];

        f->c.max_failures = 3;
        f->c.max_user_failures = 4;
        for (int i = 1; i <= 4; i++) {
                struct verify_request req;

                snprintf(src, sizeof(src), "198.51.100.%d", i);
                req = attempt("alice", src, SOURCE_REMOTE, T0 + i);
                assert_int_equal(verify_password_failed(f->s, &f->c, &req, &res), 0);
                assert_int_equal(res.lock_user_wide, i == 4);
        }
        struct verify_request other = attempt("alice", "198.51.100.50", SOURCE_REMOTE, T0 + 10);
        assert_int_equal(verify_locked(f->s, &other, &res), 0);
        assert_locked(&res, f->c.lockout_seconds - 6, true);
        struct verify_request console = attempt("alice", "tty:tty1", SOURCE_CONSOLE, T0 + 10);
        assert_int_equal(verify_locked(f->s, &console, &res), 0);
        assert_int_equal(res.verdict, VERDICT_OK);
        struct verify_request pts = attempt("alice", "tty:pts/1", SOURCE_LOCAL, T0 + 10);
        assert_int_equal(verify_locked(f->s, &pts, &res), 0);
        assert_int_equal(res.verdict, VERDICT_OK);
}

static void test_password_ok_forgets_the_source_failures(void **state)
{
        struct fixture *f = *state;
        struct verify_request req = attempt("alice", SRC, SOURCE_REMOTE, T0);
        struct verify_result res;

        assert_int_equal(verify_password_failed(f->s, &f->c, &req, &res), 0);
        assert_int_equal(verify_password_failed(f->s, &f->c, &req, &res), 0);
        assert_int_equal(failures(f, "alice", SRC), 2);
        assert_int_equal(verify_password_ok(f->s, &req), 0);
        assert_int_equal(failures(f, "alice", SRC), 0);
        /* no database yet: nothing locked, nothing recorded, no error */
        assert_int_equal(verify_locked(NULL, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_OK);
        assert_int_equal(verify_password_failed(NULL, &f->c, &req, &res), 0);
        assert_int_equal(res.verdict, VERDICT_WRONG_PASSWORD);
        assert_int_equal(verify_password_ok(NULL, &req), 0);
        assert_string_equal(verify_verdict_to_string(VERDICT_WRONG_PASSWORD), "wrong password");
        assert_string_equal(verify_method_to_string(METHOD_PASSWORD), "password");
}

/* ---- remembered grants ---- */

static void test_grants_rules(void **state)
{
        struct fixture *f = *state;
        uint8_t fp[SEAL_HASH_BYTES], other[SEAL_HASH_BYTES];
        struct verify_grant_ctx g = {.user = "alice", .source = SRC, .cls = SOURCE_REMOTE, .service = "sshd",
                                     .tty = "", .session = "", .pwfp = fp, .now = T0};
        int64_t at = 0;

        memset(fp, 7, sizeof(fp));
        memset(other, 8, sizeof(other));
        /* off by default: nothing left, nothing found */
        assert_int_equal(verify_grant_after_code(f->s, &f->c, &g), 0);
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        f->c.remember_seconds = 600;
        assert_int_equal(verify_grant_after_code(f->s, &f->c, &g), 1);
        g.now = T0 + 599;
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 1);
        assert_int_equal(at, T0);
        g.now = T0 + 600;
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0); /* ended */
        g.now = T0 + 10;
        /* bound to user, address, service and password */
        g.user = "bob";
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        g.user = "alice";
        g.source = "192.0.2.99";
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        g.source = SRC;
        g.service = "sudo";
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        g.service = "sshd";
        /* another password: not this grant, and the grant is gone */
        g.pwfp = other;
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        g.pwfp = fp;
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        assert_int_equal(verify_grant_after_code(f->s, &f->c, &g), 1);
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 1);
        assert_int_equal(at, g.now);
        /* a lower remember_seconds applies to the grant made before */
        f->c.remember_seconds = 5;
        g.now = T0 + 16;
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        f->c.remember_seconds = 600;
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 1);
        g.now = T0 + 10;
        /* remember_services: only those listed */
        f->c.remember_services.n = 1;
        snprintf(f->c.remember_services.item[0], CONF_ITEM_MAX, "sudo");
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        f->c.remember_services.n = 0;
        /* remote:unknown never leaves one */
        g.source = SOURCE_UNKNOWN_REMOTE;
        assert_int_equal(verify_grant_after_code(f->s, &f->c, &g), 0);
        /* local: off unless remember_tty_seconds, and only with a terminal and a session */
        g.source = "tty:pts/3";
        g.cls = SOURCE_LOCAL;
        g.tty = "pts/3";
        assert_int_equal(verify_grant_after_code(f->s, &f->c, &g), 0);
        f->c.remember_tty_seconds = 60;
        assert_int_equal(verify_grant_after_code(f->s, &f->c, &g), 0); /* no session */
        g.session = "100@5000";
        assert_int_equal(verify_grant_after_code(f->s, &f->c, &g), 1);
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 1);
        g.session = "100@5001";
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        g.session = "100@5000";
        g.tty = "pts/4";
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        /* removing a device ends every grant of the user */
        assert_int_equal(store_remove_device(f->s, "alice", "phone"), 0);
        g.tty = "pts/3";
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
        g = (struct verify_grant_ctx){.user = "alice", .source = SRC, .cls = SOURCE_REMOTE, .service = "sshd",
                                      .tty = "", .session = "", .pwfp = fp, .now = T0 + 10};
        assert_int_equal(verify_grant_find(f->s, &f->c, &g, &at), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_enrolled, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_current_code_logs_in_with_device_name),
                T(test_window_one_accepts_previous_step),
                T(test_window_one_accepts_next_step),
                T(test_two_steps_away_is_refused_as_drift_and_not_consumed),
                T(test_window_zero_accepts_only_current_step),
                T(test_drift_of_ten_steps_is_explained),
                T(test_drift_of_eleven_steps_is_just_wrong),
                T(test_same_code_twice_is_replay),
                T(test_older_code_after_newer_one_is_replay),
                T(test_eight_digit_device_accepts_its_code),
                T(test_second_device_matches),
                T(test_backup_code_works_once_and_counts_down),
                T(test_empty_or_overlong_answer_is_malformed),
                T(test_non_digit_answer_is_malformed),
                T(test_unknown_user_fails_and_counts_a_failure),
                T(test_unknown_user_is_locked_like_a_known_one),
                T(test_unenrolled_user_counts_like_a_wrong_code),
                T(test_no_database_means_unenrolled_or_unknown),
                T(test_missing_key_cannot_decide_and_consumes_nothing),
                T(test_enrolled_reports_devices),
                T(test_third_failure_locks_source_even_for_right_code),
                T(test_lockout_ends_exactly_at_its_end),
                T(test_one_failure_after_lockout_does_not_relock),
                T(test_three_new_failures_after_lockout_relock),
                T(test_other_source_is_not_locked),
                T(test_many_remote_sources_lock_network_but_not_console),
                T(test_local_failures_do_not_lock_the_network),
                T(test_failures_older_than_window_are_forgotten),
                T(test_failures_just_inside_window_still_lock),
                T(test_success_clears_failures_of_its_source_only),
                T(test_combined_password_and_code),
                T(test_combined_password_and_eight_digit_code),
                T(test_combined_password_and_backup_code),
                T(test_combined_password_ending_in_digits),
                T(test_message_for_replay),
                T(test_message_for_drift_ahead),
                T(test_message_for_drift_behind),
                T(test_local_terminals_are_capped_together),
                T(test_console_has_only_its_own_budget),
                T(test_message_for_locked_source_and_account),
                T(test_message_for_ok_and_wrong),
                T(test_wrong_passwords_count_like_wrong_codes),
                T(test_wrong_passwords_lock_the_network_never_the_console),
                T(test_password_ok_forgets_the_source_failures),
                T(test_grants_rules),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
