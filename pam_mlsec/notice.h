/* SPDX-License-Identifier: MIT */
/* The login notice at session open: the previous login, the failed attempts since, and
 * warnings, asked from mlsecd with a short deadline and shown as informational messages.
 * It never delays a login past NOTICE_TIMEOUT_MS, never fails a session, and shows nothing
 * at all when anything goes wrong. */
#pragma once

#include <stdbool.h>

#include <security/pam_modules.h>

#include "conf.h"

#define NOTICE_TIMEOUT_MS 200 /* connect, ask and read the answer, all together */
#define NOTICE_LINES_MAX  12  /* lines of one notice */
#define NOTICE_LINE_MAX   512 /* bytes of one line */

/* Keep ID, the event id of this login's successful auth event, in the PAM handle: the
 * session opened later through the same handle is that login. */
void notice_remember_login(pam_handle_t *pamh, const char *id);

/* Ask mlsecd for USER's notice about this session (SERVICE, RHOST, IP as reported with it;
 * each may be "") and show its lines. 0 when shown (or when there was nothing to show); < 0
 * when nothing was shown: -ENOENT/-ECONNREFUSED/-ETIMEDOUT (mlsecd not there or too slow),
 * -EREMOTEIO (mlsecd refused; code/message in ERR), -EBADMSG (an answer we do not
 * understand). Never logs: the caller decides. */
int notice_show(pam_handle_t *pamh, const struct mlsec_conf *conf, const char *user, const char *service,
                const char *rhost, const char *ip, char *err, size_t errlen);
