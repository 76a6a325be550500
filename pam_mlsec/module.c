/* SPDX-License-Identifier: MIT */
/* The options, the prompt and the user messages every pam_mlsec entry point shares (module.h). No
 * state: a guest in somebody else's process. */
#include <stdarg.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "module.h"
#include "seal.h"
#include "util.h"

bool module_option(const char *arg, const char **conf, bool *debug, bool *silent)
{
        if (strncmp(arg, "conf=", 5) == 0 && arg[5] == '/')
                *conf = arg + 5;
        else if (strcmp(arg, "debug") == 0)
                *debug = true;
        else if (strcmp(arg, "silent") == 0)
                *silent = true;
        else
                return false;
        return true;
}

void module_option_unknown(pam_handle_t *pamh, const char *arg)
{
        char esc[128];

        pam_syslog(pamh, LOG_WARNING, "unknown or invalid option ignored: %s", util_escape(arg, esc, sizeof(esc)));
}

int module_ask(pam_handle_t *pamh, const char *prompt, char **ret)
{
        char *resp = NULL;
        int r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt);

        if (r != PAM_SUCCESS || !resp) {
                if (resp)
                        seal_wipe_free_str(resp);
                return r == PAM_SUCCESS ? PAM_CONV_ERR : r;
        }
        *ret = resp;
        return PAM_SUCCESS;
}

void module_say(pam_handle_t *pamh, bool silent, int style, const char *fmt, ...)
{
        va_list ap;

        if (silent)
                return;
        va_start(ap, fmt);
        (void)pam_vprompt(pamh, style, NULL, fmt, ap);
        va_end(ap);
}
