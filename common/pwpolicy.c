/* SPDX-License-Identifier: MIT */
/* The password policy: the rules a new password must pass, and its entry into the history.
 * The only file that includes <pwquality.h>; libpwquality's codes become a verdict and a
 * sentence here. A password is never copied into a message, a log or the store: the history
 * holds argon2id strings (seal.c), compared one by one. */
#define _GNU_SOURCE /* strcasestr */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pwquality.h>

#include "pwpolicy.h"
#include "seal.h"
#include "store.h"
#include "util.h"

struct pwpolicy {
        pwquality_settings_t *pwq;
        unsigned history;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (!err || errlen == 0)
                return;
        va_start(ap, fmt);
        (void)vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

/* A file read as root decides what passwords are accepted: it must be root's (or ours). */
static int check_file(const char *path, bool *ret_exists, char *err, size_t errlen)
{
        struct stat st;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT) {
                        *ret_exists = false;
                        return 0;
                }
                set_err(err, errlen, "%s: %s", path, strerror(errno));
                return -errno;
        }
        if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
                set_err(err, errlen, "%s: not a regular file owned by root and writable by root only", path);
                return -EPERM;
        }
        *ret_exists = true;
        return 0;
}

/* cracklib answers "error loading dictionary" for every password when its dictionary is
 * missing: that is a broken installation, not a weak password. */
static int check_dictionary(pwquality_settings_t *pwq, const char *conf_path, char *err, size_t errlen)
{
        const char *dict = NULL;
        char path[PATH_MAX];
        struct stat st;
        int on = 1;

        if (pwquality_get_int_value(pwq, PWQ_SETTING_DICT_CHECK, &on) != 0 || !on)
                return 0;
        if (pwquality_get_str_value(pwq, PWQ_SETTING_DICT_PATH, &dict) != 0 || !dict || !*dict)
                dict = PWPOLICY_DEFAULT_DICT;
        if (snprintf(path, sizeof(path), "%s.pwd", dict) >= (int)sizeof(path)) {
                set_err(err, errlen, "dictionary path too long");
                return -ENAMETOOLONG;
        }
        if (stat(path, &st) < 0) {
                set_err(err, errlen,
                        "the cracklib dictionary %s is missing (install cracklib-runtime, or set dictcheck = 0 "
                        "in %s)",
                        path, conf_path);
                return -ENOENT;
        }
        return 0;
}

int pwpolicy_load(const struct mlsec_conf *c, struct pwpolicy **ret, char *err, size_t errlen)
{
        struct pwpolicy *p;
        char msg[PWQ_MAX_ERROR_MESSAGE_LEN];
        void *aux = NULL;
        bool exists = false;
        int r;

        if (!c || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->history = c->password_history;
        p->pwq = pwquality_default_settings();
        if (!p->pwq) {
                r = -ENOMEM;
                goto fail;
        }
        r = check_file(c->pwquality_conf, &exists, err, errlen);
        if (r < 0)
                goto fail;
        if (exists) {
                r = pwquality_read_config(p->pwq, c->pwquality_conf, &aux);
                if (r != 0) {
                        set_err(err, errlen, "%s: %s", c->pwquality_conf, pwquality_strerror(msg, sizeof(msg), r, aux));
                        r = r == PWQ_ERROR_MEM_ALLOC ? -ENOMEM : -EINVAL;
                        goto fail;
                }
        }
        if ((c->password_min_length &&
             pwquality_set_int_value(p->pwq, PWQ_SETTING_MIN_LENGTH, (int)c->password_min_length) != 0) ||
            (c->password_min_classes &&
             pwquality_set_int_value(p->pwq, PWQ_SETTING_MIN_CLASS, (int)c->password_min_classes) != 0)) {
                set_err(err, errlen, "password_min_length or password_min_classes refused by libpwquality");
                r = -EINVAL;
                goto fail;
        }
        r = check_dictionary(p->pwq, c->pwquality_conf, err, errlen);
        if (r < 0)
                goto fail;
        *ret = p;
        return 0;
fail:
        pwpolicy_free(p);
        return r;
}

struct pwpolicy *pwpolicy_free(struct pwpolicy *p)
{
        if (!p)
                return NULL;
        if (p->pwq)
                pwquality_free_settings(p->pwq);
        free(p);
        return NULL;
}

static bool same_string(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);

        return la == lb && seal_equal(a, b, la);
}

/* The user name, straight or reversed, as the whole password or (long names) inside it.
 * User names are ASCII, so the case-insensitive comparisons of the C library suffice. */
static const char *user_name_rule(const char *user, const char *pw)
{
        char rev[UTIL_USER_MAX];
        size_t n = strnlen(user, sizeof(rev));
        const char *why = NULL;

        if (n == 0 || n >= sizeof(rev))
                return NULL;
        for (size_t i = 0; i < n; i++)
                rev[i] = user[n - 1 - i];
        rev[n] = '\0';
        if (strcasecmp(pw, user) == 0)
                why = "The password is the user name";
        else if (strcasecmp(pw, rev) == 0)
                why = "The password is the user name reversed";
        else if (n >= PWPOLICY_NAME_MIN && strcasestr(pw, user))
                why = "The password contains the user name";
        else if (n >= PWPOLICY_NAME_MIN && strcasestr(pw, rev))
                why = "The password contains the user name reversed";
        seal_wipe(rev, sizeof(rev));
        return why;
}

/* libpwquality's answer: a score, a rule that refused, or an error of its own. */
static int strength_rule(const struct pwpolicy *p, const char *user, const char *pw, const char *old, bool *ret_weak,
                         char *msg, size_t msglen)
{
        char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
        const char *text;
        void *aux = NULL;
        int r;

        r = pwquality_check(p->pwq, pw, old, user, &aux);
        if (r >= 0) {
                *ret_weak = false;
                return 0;
        }
        /* it returns BUF or a constant string; it also releases what AUX points to */
        text = pwquality_strerror(buf, sizeof(buf), r, aux);
        switch (r) {
        case PWQ_ERROR_MEM_ALLOC:
                return -ENOMEM;
        case PWQ_ERROR_FATAL_FAILURE:
        case PWQ_ERROR_INTEGER:
        case PWQ_ERROR_CFGFILE_OPEN:
        case PWQ_ERROR_CFGFILE_MALFORMED:
        case PWQ_ERROR_UNKNOWN_SETTING:
        case PWQ_ERROR_NON_INT_SETTING:
        case PWQ_ERROR_NON_STR_SETTING:
        case PWQ_ERROR_RNG:
        case PWQ_ERROR_GENERATION_FAILED:
                return -EIO;
        default:
                snprintf(msg, msglen, "%s", text ? text : "The password is too weak");
                *ret_weak = true;
                return 0;
        }
}

static int history_rule(const struct pwpolicy *p, struct store *s, const char *user, const char *pw, bool *ret_reused)
{
        char(*hashes)[STORE_PWHASH_MAX] = NULL;
        bool match = false;
        size_t n = 0;
        int r;

        *ret_reused = false;
        if (!s || p->history == 0)
                return 0;
        r = store_list_passwords(s, user, p->history, &hashes, &n);
        if (r < 0)
                return r;
        /* every entry is checked, so the time taken does not tell which one matched */
        for (size_t i = 0; i < n; i++) {
                bool m = false;
                r = seal_password_check(hashes[i], pw, &m);
                if (r < 0)
                        break;
                match |= m;
        }
        if (hashes) {
                seal_wipe(hashes, n * sizeof(*hashes));
                free(hashes);
        }
        if (r < 0)
                return r;
        *ret_reused = match;
        return 0;
}

int pwpolicy_check(const struct pwpolicy *p, struct store *s, const char *user, const char *new_pw, const char *old_pw,
                   enum pwpolicy_verdict *ret_verdict, char *msg, size_t msglen)
{
        enum pwpolicy_verdict v = PWPOLICY_OK;
        char text[PWPOLICY_MSG_MAX] = "";
        const char *why;
        bool refused;
        size_t len;
        int r;

        if (!p || !user || !*user || !new_pw || !ret_verdict || !msg || msglen == 0)
                return -EINVAL;
        len = strnlen(new_pw, PWPOLICY_PASSWORD_MAX + 1);
        if (old_pw && strnlen(old_pw, PWPOLICY_PASSWORD_MAX + 1) > PWPOLICY_PASSWORD_MAX)
                old_pw = NULL; /* no current password that long can match a new one we accept */
        if (len == 0) {
                v = PWPOLICY_EMPTY;
                snprintf(text, sizeof(text), "No password has been supplied");
        } else if (len > PWPOLICY_PASSWORD_MAX) {
                v = PWPOLICY_TOO_LONG;
                snprintf(text, sizeof(text), "The password is longer than %d characters", PWPOLICY_PASSWORD_MAX);
        } else if (old_pw && same_string(new_pw, old_pw)) {
                v = PWPOLICY_SAME_AS_OLD;
                snprintf(text, sizeof(text), "The password is the same as the current one");
        } else if ((why = user_name_rule(user, new_pw))) {
                v = PWPOLICY_USER_NAME;
                snprintf(text, sizeof(text), "%s", why);
        } else {
                r = strength_rule(p, user, new_pw, old_pw, &refused, text, sizeof(text));
                if (r < 0)
                        return r;
                if (refused) {
                        v = PWPOLICY_WEAK;
                } else {
                        r = history_rule(p, s, user, new_pw, &refused);
                        if (r < 0)
                                return r;
                        if (refused) {
                                v = PWPOLICY_REUSED;
                                if (p->history == 1)
                                        snprintf(text, sizeof(text),
                                                 "The password was used recently; choose one other than your "
                                                 "last password");
                                else
                                        snprintf(text, sizeof(text),
                                                 "The password was used recently; choose one you have not used in "
                                                 "your last %u passwords",
                                                 p->history);
                        }
                }
        }
        snprintf(msg, msglen, "%s", v == PWPOLICY_OK ? "" : text);
        *ret_verdict = v;
        return 0;
}

int pwpolicy_record(struct store *s, const char *user, const char *new_pw, unsigned keep, int64_t now)
{
        char hash[STORE_PWHASH_MAX];
        int r;

        if (!s || !user || !new_pw)
                return -EINVAL;
        if (keep == 0)
                return 0;
        r = seal_password_hash(new_pw, hash, sizeof(hash));
        if (r < 0)
                return r;
        r = store_add_password(s, user, hash, keep, now);
        seal_wipe(hash, sizeof(hash));
        return r;
}

const char *pwpolicy_verdict_to_string(enum pwpolicy_verdict v)
{
        static const char *const names[_PWPOLICY_VERDICT_MAX] = {
                [PWPOLICY_OK] = "ok",
                [PWPOLICY_EMPTY] = "empty",
                [PWPOLICY_TOO_LONG] = "too-long",
                [PWPOLICY_SAME_AS_OLD] = "same-as-current",
                [PWPOLICY_USER_NAME] = "user-name",
                [PWPOLICY_WEAK] = "weak",
                [PWPOLICY_REUSED] = "reused",
        };

        return (unsigned)v < _PWPOLICY_VERDICT_MAX ? names[v] : "?";
}
