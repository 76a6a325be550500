/* SPDX-License-Identifier: MIT */
/* Unit tests of common/pwpolicy.c: the real libpwquality reading a pwquality.conf of the
 * test's own, a real credential store in a private directory under /tmp for the history,
 * real argon2id hashes. Each refusal must name its rule. Never touches the system's
 * pwquality.conf or state directory. */
#define _GNU_SOURCE

#include <errno.h>
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
#include "pwpolicy.h"
#include "store.h"

struct fixture {
        char root[64];
        char state[128];
        char pwq[128];
        struct mlsec_conf conf;
        struct store *store;
        struct pwpolicy *p;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void write_pwq(struct fixture *f, const char *text)
{
        FILE *fp = fopen(f->pwq, "w");

        assert_non_null(fp);
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(chmod(f->pwq, 0644), 0);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        strcpy(f->root, "/tmp/mlsec-test-pwpolicy-XXXXXX");
        if (!mkdtemp(f->root)) {
                free(f);
                return -1;
        }
        snprintf(f->state, sizeof(f->state), "%s/state", f->root);
        snprintf(f->pwq, sizeof(f->pwq), "%s/pwquality.conf", f->root);
        conf_defaults(&f->conf);
        snprintf(f->conf.state_dir, sizeof(f->conf.state_dir), "%s", f->state);
        snprintf(f->conf.pwquality_conf, sizeof(f->conf.pwquality_conf), "%s", f->pwq);
        /* deterministic: no dictionary unless a test asks for it */
        write_pwq(f, "minlen = 8\ndictcheck = 0\n");
        umask(022);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        f->p = pwpolicy_free(f->p);
        f->store = store_close(f->store);
        (void)nftw(f->root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static void load(struct fixture *f)
{
        char err[256] = "";

        f->p = pwpolicy_free(f->p);
        if (pwpolicy_load(&f->conf, &f->p, err, sizeof(err)) < 0)
                fail_msg("pwpolicy_load: %s", err);
}

static void open_store(struct fixture *f)
{
        if (!f->store)
                assert_int_equal(store_open(f->state, true, &f->store), 0);
}

/* check PW for USER (OLD may be NULL): the verdict, and the message in MSG */
static enum pwpolicy_verdict check(struct fixture *f, const char *user, const char *pw, const char *old,
                                   char msg[PWPOLICY_MSG_MAX])
{
        enum pwpolicy_verdict v = _PWPOLICY_VERDICT_MAX;

        assert_int_equal(pwpolicy_check(f->p, f->store, user, pw, old, &v, msg, PWPOLICY_MSG_MAX), 0);
        if (v == PWPOLICY_OK)
                assert_string_equal(msg, "");
        else
                assert_true(strlen(msg) > 10);
        return v;
}

static void test_good_password_passes(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX];

        load(f);
        assert_int_equal(check(f, "alice", "Tq7#vLp2-Wm9", NULL, msg), PWPOLICY_OK);
        assert_int_equal(check(f, "alice", "Tq7#vLp2-Wm9", "older-Pass-42", msg), PWPOLICY_OK);
}

static void test_length_from_pwquality_conf_and_from_mlsec_conf(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX];

        load(f);
        assert_int_equal(check(f, "alice", "x9K#a", NULL, msg), PWPOLICY_WEAK);
        assert_string_equal(msg, "The password is shorter than 8 characters");
        /* mlsec.conf's minimum overrides pwquality.conf's */
        f->conf.password_min_length = 12;
        load(f);
        assert_int_equal(check(f, "alice", "Tq7#vLp2-W", NULL, msg), PWPOLICY_WEAK);
        assert_string_equal(msg, "The password is shorter than 12 characters");
        assert_int_equal(check(f, "alice", "Tq7#vLp2-Wm9", NULL, msg), PWPOLICY_OK);
        /* pwquality.conf's own minimum when mlsec.conf says 0 */
        f->conf.password_min_length = 0;
        write_pwq(f, "minlen = 14\ndictcheck = 0\n");
        load(f);
        assert_int_equal(check(f, "alice", "Tq7#vLp2-Wm9", NULL, msg), PWPOLICY_WEAK);
        assert_string_equal(msg, "The password is shorter than 14 characters");
}

static void test_classes_from_mlsec_conf(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX];

        f->conf.password_min_classes = 3;
        load(f);
        assert_int_equal(check(f, "alice", "onlylowercaseletters", NULL, msg), PWPOLICY_WEAK);
        assert_string_equal(msg, "The password contains less than 3 character classes");
        assert_int_equal(check(f, "alice", "lower-and-UPPER", NULL, msg), PWPOLICY_OK);
}

static void test_user_name(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX];

        write_pwq(f, "minlen = 6\ndictcheck = 0\n");
        load(f);
        assert_int_equal(check(f, "mallory", "MALLORY", NULL, msg), PWPOLICY_USER_NAME);
        assert_string_equal(msg, "The password is the user name");
        assert_int_equal(check(f, "mallory", "yrollam", NULL, msg), PWPOLICY_USER_NAME);
        assert_string_equal(msg, "The password is the user name reversed");
        assert_int_equal(check(f, "mallory", "Xx-MaLLory-2024!", NULL, msg), PWPOLICY_USER_NAME);
        assert_string_equal(msg, "The password contains the user name");
        assert_int_equal(check(f, "mallory", "9!yrollAm#Zq", NULL, msg), PWPOLICY_USER_NAME);
        assert_string_equal(msg, "The password contains the user name reversed");
        /* a name of two letters is refused as the whole password, not inside one */
        assert_int_equal(check(f, "jo", "Jo", NULL, msg), PWPOLICY_USER_NAME);
        assert_int_equal(check(f, "jo", "majo-R1ver#7", NULL, msg), PWPOLICY_OK);
}

static void test_same_as_current(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX];

        load(f);
        assert_int_equal(check(f, "alice", "Tq7#vLp2-Wm9", "Tq7#vLp2-Wm9", msg), PWPOLICY_SAME_AS_OLD);
        assert_string_equal(msg, "The password is the same as the current one");
        /* libpwquality's similarity check gets the current password too */
        write_pwq(f, "minlen = 8\ndictcheck = 0\ndifok = 5\n");
        load(f);
        assert_int_equal(check(f, "alice", "Tq7#vLp2-Wm8", "Tq7#vLp2-Wm9", msg), PWPOLICY_WEAK);
        assert_string_equal(msg, "The password is too similar to the old one");
}

static void test_empty_and_too_long(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX], big[PWPOLICY_PASSWORD_MAX + 2];

        load(f);
        assert_int_equal(check(f, "alice", "", NULL, msg), PWPOLICY_EMPTY);
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(check(f, "alice", big, NULL, msg), PWPOLICY_TOO_LONG);
        assert_string_equal(msg, "The password is longer than 512 characters");
}

static void test_history(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX];
        char(*h)[STORE_PWHASH_MAX] = NULL;
        size_t n = 0;

        f->conf.password_history = 2;
        load(f);
        open_store(f);
        assert_int_equal(check(f, "alice", "First-pass-11", NULL, msg), PWPOLICY_OK);
        assert_int_equal(pwpolicy_record(f->store, "alice", "First-pass-11", 2, 1000), 0);
        assert_int_equal(check(f, "alice", "First-pass-11", NULL, msg), PWPOLICY_REUSED);
        assert_string_equal(msg,
                            "The password was used recently; choose one you have not used in your last 2 passwords");
        /* another user's history is not this one's */
        assert_int_equal(check(f, "bob", "First-pass-11", NULL, msg), PWPOLICY_OK);

        /* kept as argon2id strings, never the password */
        assert_int_equal(store_list_passwords(f->store, "alice", 10, &h, &n), 0);
        assert_int_equal(n, 1);
        assert_true(strncmp(h[0], "$argon2id$", 10) == 0);
        assert_null(strstr(h[0], "First-pass-11"));
        free(h);

        assert_int_equal(pwpolicy_record(f->store, "alice", "Second-pass-22", 2, 1001), 0);
        assert_int_equal(check(f, "alice", "First-pass-11", NULL, msg), PWPOLICY_REUSED);
        assert_int_equal(pwpolicy_record(f->store, "alice", "Third-pass-33", 2, 1002), 0);
        /* two newer ones since: the first may come back */
        assert_int_equal(check(f, "alice", "First-pass-11", NULL, msg), PWPOLICY_OK);
        assert_int_equal(check(f, "alice", "Second-pass-22", NULL, msg), PWPOLICY_REUSED);
        assert_int_equal(store_list_passwords(f->store, "alice", 10, &h, &n), 0);
        assert_int_equal(n, 2);
        free(h);

        /* a history of one says so in the singular */
        f->conf.password_history = 1;
        load(f);
        assert_int_equal(check(f, "alice", "Third-pass-33", NULL, msg), PWPOLICY_REUSED);
        assert_string_equal(msg, "The password was used recently; choose one other than your last password");
        assert_int_equal(check(f, "alice", "Second-pass-22", NULL, msg), PWPOLICY_OK);
}

static void test_history_off(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX];
        char(*h)[STORE_PWHASH_MAX] = NULL;
        size_t n = 7;

        f->conf.password_history = 0;
        load(f);
        open_store(f);
        assert_int_equal(pwpolicy_record(f->store, "alice", "First-pass-11", 0, 1000), 0);
        assert_int_equal(store_list_passwords(f->store, "alice", 10, &h, &n), 0);
        assert_int_equal(n, 0);
        free(h);
        assert_int_equal(check(f, "alice", "First-pass-11", NULL, msg), PWPOLICY_OK);
        /* no store yet: nothing to compare with */
        f->store = store_close(f->store);
        f->conf.password_history = 5;
        load(f);
        assert_int_equal(check(f, "alice", "First-pass-11", NULL, msg), PWPOLICY_OK);
}

static void test_bad_history_entry_cannot_decide(void **state)
{
        struct fixture *f = *state;
        enum pwpolicy_verdict v = PWPOLICY_OK;
        char msg[PWPOLICY_MSG_MAX];

        f->conf.password_history = 3;
        load(f);
        open_store(f);
        assert_int_equal(store_add_password(f->store, "alice", "not-an-argon2-string", 3, 1000), 0);
        assert_true(pwpolicy_check(f->p, f->store, "alice", "First-pass-11", NULL, &v, msg, sizeof(msg)) < 0);
}

static void test_pwquality_conf_errors(void **state)
{
        struct fixture *f = *state;
        struct pwpolicy *p = NULL;
        char err[256] = "";

        /* missing: libpwquality's defaults (which check the dictionary, when there is one) */
        snprintf(f->conf.pwquality_conf, sizeof(f->conf.pwquality_conf), "%s/none.conf", f->root);
        if (access(PWPOLICY_DEFAULT_DICT ".pwd", F_OK) == 0) {
                assert_int_equal(pwpolicy_load(&f->conf, &p, err, sizeof(err)), 0);
                p = pwpolicy_free(p);
        } else {
                assert_int_equal(pwpolicy_load(&f->conf, &p, err, sizeof(err)), -ENOENT);
                assert_non_null(strstr(err, "cracklib-runtime"));
        }
        snprintf(f->conf.pwquality_conf, sizeof(f->conf.pwquality_conf), "%s", f->pwq);

        write_pwq(f, "minlen = 8\nnosuchsetting = 3\n");
        assert_int_equal(pwpolicy_load(&f->conf, &p, err, sizeof(err)), -EINVAL);
        assert_null(p);
        assert_non_null(strstr(err, f->pwq));

        write_pwq(f, "minlen = 8\ndictcheck = 1\ndictpath = /nonexistent/cracklib_dict\n");
        assert_int_equal(pwpolicy_load(&f->conf, &p, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "/nonexistent/cracklib_dict.pwd"));

        write_pwq(f, "minlen = 8\ndictcheck = 0\n");
        assert_int_equal(chmod(f->pwq, 0666), 0);
        assert_int_equal(pwpolicy_load(&f->conf, &p, err, sizeof(err)), -EPERM);
        assert_int_equal(chmod(f->pwq, 0644), 0);
        assert_int_equal(pwpolicy_load(&f->conf, &p, err, sizeof(err)), 0);
        p = pwpolicy_free(p);
}

static void test_dictionary(void **state)
{
        struct fixture *f = *state;
        char msg[PWPOLICY_MSG_MAX];

        if (access(PWPOLICY_DEFAULT_DICT ".pwd", F_OK) != 0)
                skip();
        write_pwq(f, "minlen = 8\ndictcheck = 1\n");
        load(f);
        assert_int_equal(check(f, "alice", "password1", NULL, msg), PWPOLICY_WEAK);
        assert_non_null(strstr(msg, "dictionary"));
        assert_int_equal(check(f, "alice", "Tq7#vLp2-Wm9", NULL, msg), PWPOLICY_OK);
}

static void test_verdict_strings_and_arguments(void **state)
{
        struct fixture *f = *state;
        enum pwpolicy_verdict v;
        char msg[PWPOLICY_MSG_MAX];

        for (int i = 0; i < _PWPOLICY_VERDICT_MAX; i++)
                assert_string_not_equal(pwpolicy_verdict_to_string(i), "?");
        assert_string_equal(pwpolicy_verdict_to_string(PWPOLICY_REUSED), "reused");
        assert_string_equal(pwpolicy_verdict_to_string(_PWPOLICY_VERDICT_MAX), "?");
        load(f);
        assert_int_equal(pwpolicy_check(f->p, NULL, NULL, "x", NULL, &v, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(pwpolicy_check(f->p, NULL, "alice", NULL, NULL, &v, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(pwpolicy_record(NULL, "alice", "x", 5, 0), -EINVAL);
        assert_null(pwpolicy_free(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_good_password_passes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_length_from_pwquality_conf_and_from_mlsec_conf, setup, teardown),
                cmocka_unit_test_setup_teardown(test_classes_from_mlsec_conf, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user_name, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_as_current, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty_and_too_long, setup, teardown),
                cmocka_unit_test_setup_teardown(test_history, setup, teardown),
                cmocka_unit_test_setup_teardown(test_history_off, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_history_entry_cannot_decide, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pwquality_conf_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dictionary, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verdict_strings_and_arguments, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
