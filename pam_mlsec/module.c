/* SPDX-License-Identifier: MIT */
/* The options, the prompt, the user messages, the questions to mlsecd and the events
 * reported to it that every pam_mlsec entry point shares (module.h). No state: a guest in
 * somebody else's process. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <security/pam_ext.h>
#include <security/pam_modutil.h>

#include "client.h"
#include "module.h"
#include "source.h"
#include "report.h"
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

int module_ask_mlsecd(pam_handle_t *pamh, const struct mlsec_conf *conf, const char *user_esc,
                      const struct proto_request *req, const char *what, struct proto_obj **ret)
{
        char code[64] = "", msg[256] = "", esc[sizeof(msg) * 4];
        int r;

        r = client_call(conf->socket, req, MODULE_MLSECD_TIMEOUT_MS, ret, code, sizeof(code), msg, sizeof(msg));
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

/* The client address: the first word of SSH_CONNECTION when sshd gave one, else PAM_RHOST
 * when it is an address (it may be a host name); canonical either way (source.h). */
static void client_ip(pam_handle_t *pamh, const char *rhost, char *out, size_t outlen)
{
        const char *conn = pam_getenv(pamh, "SSH_CONNECTION");
        char word[EVENT_IP_MAX];

        out[0] = '\0';
        if (!conn)
                conn = getenv("SSH_CONNECTION");
        if (conn && sscanf(conn, "%47s", word) == 1 && source_canonical(word, out, outlen) == 1)
                return;
        out[0] = '\0';
        if (rhost && source_canonical(rhost, out, outlen) != 1)
                out[0] = '\0';
}

void module_event_from_pam(pam_handle_t *pamh, enum event_kind kind, const char *user, struct mlsec_event *e)
{
        const void *service = NULL, *rhost = NULL, *tty = NULL;
        const struct passwd *pw;

        event_init(e, kind);
        e->pid = getpid();
        (void)pam_get_item(pamh, PAM_SERVICE, &service);
        (void)pam_get_item(pamh, PAM_RHOST, &rhost);
        (void)pam_get_item(pamh, PAM_TTY, &tty);
        if (user && util_user_valid(user)) {
                (void)event_set_text(e->user, sizeof(e->user), user);
                pw = pam_modutil_getpwnam(pamh, user);
                if (pw)
                        e->uid = pw->pw_uid;
        } else if (user) {
                char esc[EVENT_DETAIL_MAX - 32];
                snprintf(e->detail, sizeof(e->detail), "invalid user name: %s", util_escape(user, esc, sizeof(esc)));
        }
        if (service)
                (void)event_set_text(e->service, sizeof(e->service), service);
        if (rhost && source_canonical(rhost, e->rhost, sizeof(e->rhost)) < 0)
                (void)event_set_text(e->rhost, sizeof(e->rhost), rhost);
        if (tty)
                (void)event_set_text(e->tty, sizeof(e->tty), tty);
        client_ip(pamh, rhost, e->ip, sizeof(e->ip));
}

bool module_send_event(pam_handle_t *pamh, const struct mlsec_conf *c, const struct mlsec_event *e)
{
        bool spooled = false;
        char err[256];

        if (geteuid() != 0)
                return false; /* only root may report; an unprivileged caller's events are mlsecd's to record */
        if (event_validate(e, err, sizeof(err)) < 0) {
                pam_syslog(pamh, LOG_WARNING, "event not reported: %s", err);
                return false;
        }
        if (report_event(c, e, &spooled) < 0) {
                pam_syslog(pamh, LOG_ERR, "event %s could not be reported nor spooled in %s", e->id, c->spool_dir);
                return false;
        }
        return !spooled;
}

const char *module_store_error(int r)
{
        switch (r) {
        case -EPERM:
                return "unsafe owner or mode";
        case -EBADMSG:
                return "corrupt or newer schema";
        case -EROFS:
                return "read-only file system";
        case -ENOSPC:
                return "no space left on the file system";
        case -EDQUOT:
                return "disk quota exceeded";
        case -EACCES:
                return "permission denied";
        case -ENOENT:
                return "file or directory missing";
        case -EBUSY:
                return "credential store busy";
        default:
                return strerror(-r);
        }
}
