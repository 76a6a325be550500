/* SPDX-License-Identifier: MIT */
/* The password policy, written once: what a new password must not be (the current one, the
 * user name, weak by libpwquality's rules, one of the last password_history passwords) and
 * how a new one enters the history (argon2id hashes in the credential store, never the
 * password). The only file that includes <pwquality.h>. It never logs and never copies a
 * password into a message. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

#define PWPOLICY_MSG_MAX      256 /* a refusal's message, bytes incl. NUL */
#define PWPOLICY_PASSWORD_MAX 512 /* longest password checked (PAM_MAX_RESP_SIZE) */
#define PWPOLICY_NAME_MIN     3   /* shorter user names are refused only as the whole password */
/* cracklib's dictionary on Debian (cracklib-runtime) when pwquality.conf names none */
#define PWPOLICY_DEFAULT_DICT "/var/cache/cracklib/cracklib_dict"

enum pwpolicy_verdict {
        PWPOLICY_OK,
        PWPOLICY_EMPTY,       /* no password at all */
        PWPOLICY_TOO_LONG,    /* longer than PWPOLICY_PASSWORD_MAX */
        PWPOLICY_SAME_AS_OLD, /* the current password again */
        PWPOLICY_USER_NAME,   /* is or contains the user name, straight or reversed */
        PWPOLICY_WEAK,        /* refused by libpwquality (length, classes, dictionary, ...) */
        PWPOLICY_REUSED,      /* one of the user's last password_history passwords */
        _PWPOLICY_VERDICT_MAX,
};

struct pwpolicy; /* libpwquality's settings and mlsec.conf's history length */

/* Read C->pwquality_conf into libpwquality's settings (a missing file leaves its built-in
 * defaults), then override minlen and minclass with password_min_length and
 * password_min_classes when they are not 0. -EINVAL for a file libpwquality refuses,
 * -EPERM for one that is not a regular file owned by root (or the effective uid) and
 * writable by nobody else, -ENOENT when the dictionary check is on and cracklib's
 * dictionary is missing (every password would fail it), -ENOMEM. A message for the
 * administrator is written into err (err may be NULL). */
int pwpolicy_load(const struct mlsec_conf *c, struct pwpolicy **ret, char *err, size_t errlen);
struct pwpolicy *pwpolicy_free(struct pwpolicy *p);

/* Check NEW_PW for USER, the cheapest rules first: empty or too long, the current password
 * OLD_PW (NULL when not known), the user name (case-insensitive; also reversed; names
 * shorter than PWPOLICY_NAME_MIN only as the whole password), libpwquality (with OLD_PW
 * for its similarity checks), then the history in S (NULL: no store yet, nothing to
 * compare with). *ret_verdict is the first rule that refused, and MSG (msglen > 0) a
 * sentence for the user that names that rule ("" when OK). r < 0 only when it could not
 * decide (a store or hashing error, an unexpected libpwquality error): the caller refuses. */
int pwpolicy_check(const struct pwpolicy *p, struct store *s, const char *user, const char *new_pw, const char *old_pw,
                   enum pwpolicy_verdict *ret_verdict, char *msg, size_t msglen);

/* Add NEW_PW's argon2id hash to USER's history in S, keeping the newest KEEP (nothing is
 * stored when KEEP is 0). */
int pwpolicy_record(struct store *s, const char *user, const char *new_pw, unsigned keep, int64_t now);

/* "ok", "empty", "too-long", "same-as-current", "user-name", "weak", "reused": for logs. */
const char *pwpolicy_verdict_to_string(enum pwpolicy_verdict v);
