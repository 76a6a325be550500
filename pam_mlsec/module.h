/* SPDX-License-Identifier: MIT */
/* What every entry point of pam_mlsec shares: the options all of them take (conf=, debug,
 * silent), the one way to tell the user something (through the conversation, never
 * under PAM_SILENT or silent), the questions an unprivileged caller asks mlsecd and the
 * events reported to it (mlsecd, else the spool). Each entry point parses its own options
 * per call. */
#pragma once

#include <stdbool.h>

#include <security/pam_modules.h>

#include "conf.h"
#include "event.h"
#include "proto.h"

/* ARG is one of the common options: sets *conf / *debug / *silent and returns true. */
bool module_option(const char *arg, const char **conf, bool *debug, bool *silent);
/* Log that ARG was not understood (escaped); it is ignored. */
void module_option_unknown(pam_handle_t *pamh, const char *arg);
/* Ask PROMPT with echo off. PAM_SUCCESS and *ret (ours: wipe, then free) on an answer;
 * the conversation's error, or PAM_CONV_ERR when it gave no answer, otherwise. */
int module_ask(pam_handle_t *pamh, const char *prompt, char **ret);
/* A PAM_TEXT_INFO or PAM_ERROR_MSG to the user unless SILENT. */
void module_say(pam_handle_t *pamh, bool silent, int style, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* One request to mlsecd at CONF's socket. Fails with a syslog line saying why (WHAT: what
 * was asked, USER_ESC: the escaped user name for the log). *ret: the reply's object. */
int module_ask_mlsecd(pam_handle_t *pamh, const struct mlsec_conf *conf, const char *user_esc,
                      const struct proto_request *req, const char *what, struct proto_obj **ret);
/* Does mlsecd know devices of the caller (who must be USER: mlsecd answers about whoever
 * connects)? A reply about anybody else is an error. */
int module_mlsecd_enrolled(pam_handle_t *pamh, const struct mlsec_conf *conf, const char *user_esc, const char *user,
                           bool *ret);

/* *E: a fresh event of KIND with what PAM knows (service, remote host, client address from
 * SSH_CONNECTION, terminal, pid) for USER (its uid when it exists; a name that is no valid
 * user name only escaped in detail). Untrusted items that do not fit are left out. The
 * caller has run seal_init(). */
void module_event_from_pam(pam_handle_t *pamh, enum event_kind kind, const char *user, struct mlsec_event *e);
/* Hand E to mlsecd, else to the spool; a failure of both, or an invalid event, is logged,
 * never fatal. Only with effective uid 0 (only root may report); otherwise nothing. True
 * when mlsecd itself took it (not spooled, not dropped). */
bool module_send_event(pam_handle_t *pamh, const struct mlsec_conf *c, const struct mlsec_event *e);

/* Why store_open or a store call failed with R, for a log line. */
const char *module_store_error(int r);

/* say(pamh, o, style, fmt, ...) with O a module's own options (which have `silent`). */
/* One question to mlsecd without root: no own path to fall back on, so a generous wait. */
#define MODULE_MLSECD_TIMEOUT_MS 5000
/* How long, as root, the module waits for mlsecd's verdict once it has sent the code (at least
 * verify_timeout). mlsecd answered the first request in time, so it is there; it may be in a
 * slow commit, with the code already used: checking the code again on the own path would
 * refuse it as replayed, and mlsecd would record a second attempt for it. */
#define MODULE_CODE_WAIT_MS 2000

#define say(pamh, o, style, ...) module_say((pamh), (o)->silent, (style), __VA_ARGS__)
