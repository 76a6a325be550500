/* SPDX-License-Identifier: MIT */
/* What every entry point of pam_mlsec shares: the options all of them take (conf=, debug,
 * silent) and the one way to tell the user something (through the conversation, never
 * under PAM_SILENT or silent). Each entry point parses its own options per call. */
#pragma once

#include <stdbool.h>

#include <security/pam_modules.h>

/* ARG is one of the common options: sets *conf / *debug / *silent and returns true. */
bool module_option(const char *arg, const char **conf, bool *debug, bool *silent);
/* Log that ARG was not understood (escaped); it is ignored. */
void module_option_unknown(pam_handle_t *pamh, const char *arg);
/* Ask PROMPT with echo off. PAM_SUCCESS and *ret (ours: wipe, then free) on an answer;
 * the conversation's error, or PAM_CONV_ERR when it gave no answer, otherwise. */
int module_ask(pam_handle_t *pamh, const char *prompt, char **ret);
/* A PAM_TEXT_INFO or PAM_ERROR_MSG to the user unless SILENT. */
void module_say(pam_handle_t *pamh, bool silent, int style, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* say(pamh, o, style, fmt, ...) with O a module's own options (which have `silent`). */
#define say(pamh, o, style, ...) module_say((pamh), (o)->silent, (style), __VA_ARGS__)
