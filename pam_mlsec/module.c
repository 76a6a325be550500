/* SPDX-License-Identifier: MIT */
/* The options and the user messages every pam_mlsec entry point shares (module.h). No
 * state: a guest in somebody else's process. */
#include <stdarg.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "module.h"
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

void module_say(pam_handle_t *pamh, bool silent, int style, const char *fmt, ...)
{
        va_list ap;

        if (silent)
                return;
        va_start(ap, fmt);
        (void)pam_vprompt(pamh, style, NULL, fmt, ap);
        va_end(ap);
}
