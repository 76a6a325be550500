/* SPDX-License-Identifier: MIT */
/* Checking a code for the caller's own account inside mlsecd: the `verify` method (a
 * screen locker or a user service running pam_mlsec without the privilege to open the
 * store) and every self-service change that needs a current code. The rules are
 * verify_answer's, the same as at login; who is checked comes from SO_PEERCRED only, and
 * failures are counted per "mlsecd:uid=N" source so that brute force through the socket
 * locks out like brute force at a terminal. Every attempt is recorded as a login event. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "journal.h"
#include "store.h"
#include "util.h"
#include "verify.h"

static void record(struct daemon *d, const struct peer *p, const struct verify_result *res, const char *source,
                   const char *service, const char *tty)
{
        struct mlsec_event e;
        bool is_new;
        char dur[64];

        event_init(&e, EVENT_AUTH);
        e.pid = p->pid;
        e.uid = p->uid;
        (void)event_set_text(e.user, sizeof(e.user), p->user);
        (void)event_set_text(e.service, sizeof(e.service), service && *service ? service : "mlsecd");
        if (tty)
                (void)event_set_text(e.tty, sizeof(e.tty), tty);
        (void)event_set_text(e.result, sizeof(e.result), res->verdict == VERDICT_OK ? "ok" : "fail");
        (void)event_set_text(e.reason, sizeof(e.reason), verify_verdict_to_string(res->verdict));
        (void)event_set_text(e.method, sizeof(e.method), verify_method_to_string(res->method));
        snprintf(e.detail, sizeof(e.detail), "checked by mlsecd for uid %u (pid %d)", (unsigned)p->uid, (int)p->pid);
        if (handle_store_event(d, &e, &is_new) < 0)
                journal_daemon(3, "could not record a verification for %s", p->user);
        if (res->verdict == VERDICT_OK && res->method == METHOD_BACKUP) {
                char detail[EVENT_DETAIL_MAX];
                snprintf(detail, sizeof(detail), "a backup code was used (through mlsecd); %u left", res->backup_left);
                handle_audit(d, p->uid, p->user, "backup-code-used", detail);
        }
        if (res->lock_started) {
                char detail[EVENT_DETAIL_MAX];
                snprintf(detail, sizeof(detail),
                         "%s locked for %s after repeated failures (ends by itself then, or with mlsecctl admin "
                         "unlock)",
                         res->lock_local_wide ? source_lock_scope(STORE_LOCAL_ALL) : source,
                         util_duration(d->conf.lockout_seconds, dur, sizeof(dur)));
                handle_audit(d, p->uid, p->user, "lockout", detail);
        }
        (void)server_flush(d);
}

int handle_check_code(struct daemon *d, const struct peer *p, const char *code, bool combined, const char *service,
                      const char *tty, struct verify_result *ret, char *msg, size_t msglen)
{
        struct verify_result res;
        struct verify_request vr;
        char source[STORE_SOURCE_MAX];
        int r;

        if (!p->user[0])
                return -EPERM;
        snprintf(source, sizeof(source), "mlsecd:uid=%u", (unsigned)p->uid);
        vr = (struct verify_request){
                .user = p->user,
                .known_user = true,
                .answer = code,
                .combined = combined,
                .source = source,
                .cls = SOURCE_LOCAL, /* never a console: the tty is the client's word */
                .now = time(NULL),
        };
        r = verify_answer(d->store, d->key, &d->conf, &vr, &res);
        if (r < 0)
                return r;
        record(d, p, &res, source, service, tty);
        if (res.verdict == VERDICT_UNENROLLED)
                snprintf(msg, msglen, "MFA is not enabled for %s.", p->user);
        else
                verify_user_message(&res, msg, msglen);
        if (res.lock_started && msglen > 0) {
                char dur[64];
                size_t len = strlen(msg);
                snprintf(msg + len, msglen - len, " Too many failed attempts: locked for %s.",
                         util_duration(d->conf.lockout_seconds, dur, sizeof(dur)));
        }
        *ret = res;
        return 0;
}

int handle_code_refused(const struct verify_result *res, const char *msg, char *out, size_t max, size_t *ret_len)
{
        return handle_reply_error(res->verdict == VERDICT_UNENROLLED ? PROTO_E_CONFLICT : PROTO_E_CODE,
                                  msg[0] ? msg : "Invalid verification code.", out, max, ret_len);
}

int handle_verify(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len)
{
        struct verify_result res;
        struct proto_obj *o;
        char msg[256];
        int r;

        if (!p->user[0])
                return handle_reply_error(PROTO_E_FORBIDDEN, "your uid has no user name", out, max, ret_len);
        r = handle_check_code(d, p, req->code, req->combined, req->service, req->tty, &res, msg, sizeof(msg));
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the code could not be checked", out, max, ret_len);
        o = proto_obj_new();
        if (!o || proto_obj_set_bool(o, "ok", res.verdict == VERDICT_OK) < 0 ||
            proto_obj_set_str(o, "verdict", verify_verdict_to_string(res.verdict)) < 0 ||
            proto_obj_set_str(o, "method", verify_method_to_string(res.method)) < 0 ||
            proto_obj_set_str(o, "message", msg) < 0 || proto_obj_set_int(o, "backup_left", res.backup_left) < 0 ||
            proto_obj_set_bool(o, "lock_started", res.lock_started) < 0 ||
            proto_obj_set_int(o, "lock_remaining", res.lock_remaining) < 0 ||
            proto_obj_set_bool(o, "lock_user_wide", res.lock_user_wide) < 0 ||
            proto_obj_set_bool(o, "lock_local_wide", res.lock_local_wide) < 0 ||
            (res.verdict == VERDICT_DRIFT && proto_obj_set_int(o, "drift_seconds", res.drift_seconds) < 0) ||
            (res.device[0] && proto_obj_set_str(o, "device", res.device) < 0) ||
            (req->combined && proto_obj_set_int(o, "password_len", (int64_t)res.password_len) < 0)) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}
