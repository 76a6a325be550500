/* SPDX-License-Identifier: MIT */
/* The options, the prompt, the user messages and the questions to mlsecd every pam_mlsec
 * entry point shares (module.h). No state: a guest in somebody else's process. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "client.h"
#include "module.h"
#include "seal.h"
#include "util.h"

#define MLSECD_TIMEOUT_MS 5000 /* one question to mlsecd on the unprivileged path */

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

int module_ask_mlsecd(pam_handle_t *pamh, const struct mlsec_conf *conf, const char *user_esc,
                      const struct proto_request *req, const char *what, struct proto_obj **ret)
{
        char code[64] = "", msg[256] = "", esc[sizeof(msg) * 4];
        int r;

        r = client_call(conf->socket, req, MLSECD_TIMEOUT_MS, ret, code, sizeof(code), msg, sizeof(msg));
        if (r == -EREMOTEIO)
                pam_syslog(pamh, LOG_ERR, "user=%s: mlsecd refused %s (%s: %s), refusing", user_esc, what,
                           util_escape(code, esc, sizeof(esc) / 2),
                           util_escape(msg, esc + sizeof(esc) / 2, sizeof(esc) / 2));
        else if (r < 0)
                pam_syslog(pamh, LOG_ERR, "user=%s: no answer from mlsecd at %s to %s (%s), refusing", user_esc,
                           conf->socket, what,
                           r == -ENOENT || r == -ECONNREFUSED ? "mlsecd is not running"
                           : r == -ETIMEDOUT                  ? "timed out"
                           : r == -EBADMSG                    ? "malformed reply"
                                                              : strerror(-r));
        return r;
}

int module_mlsecd_enrolled(pam_handle_t *pamh, const struct mlsec_conf *conf, const char *user_esc, const char *user,
                           bool *ret)
{
        struct proto_request req = {.method = PROTO_MFA_DEVICES};
        struct proto_obj *res = NULL, *devs = NULL;
        const char *who;
        int r;

        r = module_ask_mlsecd(pamh, conf, user_esc, &req, "the list of devices", &res);
        if (r < 0)
                return r;
        who = proto_obj_get_str(res, "user");
        devs = proto_obj_get(res, "devices");
        if (!who || strcmp(who, user) != 0 || !devs) {
                pam_syslog(pamh, LOG_ERR, "user=%s: unexpected answer from mlsecd to the list of devices, refusing",
                           user_esc);
                r = -EBADMSG;
        } else {
                *ret = proto_array_len(devs) > 0;
        }
        proto_obj_free(devs);
        proto_obj_free(res);
        return r;
}
