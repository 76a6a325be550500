/* SPDX-License-Identifier: MIT */
/* The one verify path inside mlsecd: the `verify` method for the PAM module as root (any
 * user; the login's auth event comes with the request and is recorded here with the
 * outcome, in the same batch as what the check consumed) and for unprivileged callers (a
 * screen locker, a user service: their own account only, counted per "mlsecd:uid=N"), and
 * the code checks of self-service changes. The rules are common/verify.c's, the same as
 * the module's own path; who asks comes from SO_PEERCRED only. The answer is never logged
 * nor sent back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "journal.h"
#include "proto_verify.h"
#include "store.h"
#include "util.h"
#include "verify.h"

/* One verify request, as the rules see it. */
struct vreq {
        struct verify_request vr;
        char source[STORE_SOURCE_MAX];
        struct mlsec_event event; /* the auth event of the attempt, outcome not yet set */
        bool privileged;          /* uid 0: the module; the event and the source are its word */
        /* a remembered grant's binding (root only) */
        struct verify_grant_ctx grant;
        uint8_t pwfp[SEAL_HASH_BYTES];
};

/* Store the attempt's auth event with its outcome, and the audit entries the outcome makes.
 * In the batch: committed (after credentials.db) before anyone is answered. */
static void record(struct daemon *d, struct vreq *v, const char *result, const char *reason, enum verify_method method,
                   const struct verify_result *res)
{
        struct mlsec_event audits[2];
        size_t n = 0;
        bool is_new;

        verify_event_outcome(&v->event, result, reason, method);
        if (handle_store_event(d, &v->event, &is_new) < 0)
                journal_daemon(3, "could not record a verification for %s", v->vr.user);
        if (res)
                n = verify_audit_events(&v->event, res, v->source, d->conf.lockout_seconds, audits);
        for (size_t i = 0; i < n; i++)
                if (handle_store_event(d, &audits[i], &is_new) < 0)
                        journal_daemon(3, "could not record audit entry %s for %s", audits[i].action, v->vr.user);
}

static int class_of(const char *s, enum source_class *ret)
{
        if (strcmp(s, "remote") == 0)
                *ret = SOURCE_REMOTE;
        else if (strcmp(s, "local") == 0)
                *ret = SOURCE_LOCAL;
        else if (strcmp(s, "console") == 0)
                *ret = SOURCE_CONSOLE;
        else
                return -EINVAL;
        return 0;
}

/* The request as the rules see it, or a refusal in *ret_denied. Root speaks for the login
 * (its event, source, class, whether the user exists); anybody else is checked as
 * themselves, from a local source of their own. */
static int vreq_of(const struct peer *p, const struct proto_request *req, const char *service, const char *tty,
                   struct vreq *v, const char **ret_denied)
{
        *ret_denied = NULL;
        memset(v, 0, sizeof(*v));
        v->privileged = p->uid == 0 && req->event.id[0];
        if (v->privileged) {
                if (req->event.kind != EVENT_AUTH || !req->source[0] || class_of(req->cls, &v->vr.cls) < 0 ||
                    (req->user[0] && strcmp(req->user, req->event.user) != 0)) {
                        *ret_denied = "verify for a login needs an auth event, its user, source and class";
                        return -EINVAL;
                }
                v->event = req->event;
                snprintf(v->source, sizeof(v->source), "%s", req->source);
                v->vr.user = verify_store_user(v->event.user);
                v->vr.known_user = req->known && v->event.user[0];
        } else {
                if (!p->user[0]) {
                        *ret_denied = "your uid has no user name";
                        return -EPERM;
                }
                if ((req->user[0] && strcmp(req->user, p->user) != 0) || req->event.id[0] || req->source[0] ||
                    req->cls[0] || req->known || req->grant_session[0]) {
                        *ret_denied = "you may only verify your own account";
                        return -EPERM;
                }
                event_init(&v->event, EVENT_AUTH);
                v->event.pid = p->pid;
                v->event.uid = p->uid;
                (void)event_set_text(v->event.user, sizeof(v->event.user), p->user);
                (void)event_set_text(v->event.service, sizeof(v->event.service),
                                     service && *service ? service : "mlsecd");
                if (tty && *tty)
                        (void)event_set_text(v->event.tty, sizeof(v->event.tty), tty);
                snprintf(v->event.detail, sizeof(v->event.detail), "checked by mlsecd for uid %u (pid %d)",
                         (unsigned)p->uid, (int)p->pid);
                snprintf(v->source, sizeof(v->source), "mlsecd:uid=%u", (unsigned)p->uid);
                v->vr.user = v->event.user;
                v->vr.known_user = true;
                v->vr.cls = SOURCE_LOCAL; /* never a console: the tty is the client's word */
        }
        v->vr.source = v->source;
        v->vr.answer = "";
        v->vr.combined = req->combined;
        v->vr.now = time(NULL);
        return 0;
}

struct grant_arg {
        struct daemon *d;
        struct vreq *v;
        const char *session;
};

/* What a grant of this login is bound to: root's logins only, as the module binds it. */
static int grant_of(void *userdata, const struct verify_grant_ctx **ret)
{
        struct grant_arg *a = userdata;
        struct vreq *v = a->v;
        int r;

        *ret = NULL;
        if (!v->privileged)
                return 0;
        r = verify_grant_bind(a->d->key, &a->d->conf, v->event.user, v->source, v->vr.cls, v->event.service,
                              v->event.tty, a->session, v->vr.now, v->pwfp, &v->grant);
        if (r > 0)
                *ret = &v->grant;
        return 0;
}

/* The sentence for an unprivileged caller (the module as root words its own). */
static void message_of(const struct daemon *d, const struct vreq *v, const struct verify_result *res, char *msg,
                       size_t msglen)
{
        char dur[64];
        size_t len;

        if (res->verdict == VERDICT_UNENROLLED)
                snprintf(msg, msglen, "MFA is not enabled for %s.", v->vr.user);
        else
                verify_user_message(res, msg, msglen);
        if (res->lock_started && msglen > 0) {
                len = strlen(msg);
                snprintf(msg + len, msglen - len, " Too many failed attempts: locked for %s.",
                         util_duration(d->conf.lockout_seconds, dur, sizeof(dur)));
        }
}

/* ---- fleet mode: the check runs in the fleet's database (common/fleet.c) ---------------- */

#define FLEET_BACKOFF_MIN_MS 250
#define FLEET_BACKOFF_MAX_MS 10000

static int64_t mono_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct fleet *daemon_fleet(struct daemon *d)
{
        char err[FLEET_ERR_MAX] = "";
        int r;

        if (fleet_ok(d->fleet))
                return d->fleet;
        d->fleet = fleet_close(d->fleet);
        if (mono_us() < d->fleet_retry_us)
                return NULL;
        r = fleet_open(&d->conf, &d->fleet, err, sizeof(err));
        if (r < 0) {
                /* the shipped unit allows Unix sockets only: say what to install */
                journal_daemon(3, "the fleet database cannot be reached, refusing enrolled users: %s%s", err,
                               strstr(err, "Address family not supported") || strstr(err, "Operation not permitted")
                                       ? " (mlsecd.service forbids the network: install the fleet drop-in, "
                                         "/usr/share/mlsec/mlsecd-fleet.conf, see INSTALL 15)"
                                       : "");
                daemon_fleet_failed(d, r);
                return NULL;
        }
        if (d->fleet_backoff_ms)
                journal_daemon(5, "the fleet database is reachable again");
        d->fleet_backoff_ms = 0;
        return d->fleet;
}

void daemon_fleet_failed(struct daemon *d, int r)
{
        if (d->fleet && !fleet_ok(d->fleet)) {
                journal_daemon(3, "the fleet database stopped answering: %s", fleet_error(d->fleet));
                d->fleet = fleet_close(d->fleet);
        }
        if (r == -EPERM || r == -EIO)
                return; /* the database answered: no back-off */
        d->fleet_backoff_ms = d->fleet_backoff_ms ? d->fleet_backoff_ms * 2 : FLEET_BACKOFF_MIN_MS;
        if (d->fleet_backoff_ms > FLEET_BACKOFF_MAX_MS)
                d->fleet_backoff_ms = FLEET_BACKOFF_MAX_MS;
        d->fleet_retry_us = mono_us() + (int64_t)d->fleet_backoff_ms * 1000;
}

/* The database did not answer (as opposed to: answered with an error). */
static bool fleet_unreachable(int r)
{
        return r == -ENETUNREACH || r == -ETIMEDOUT || r == -ECONNRESET || r == -ECONNREFUSED;
}

/* The fleet's verdicts, with the journal line of a failure. */
static int fleet_before(struct daemon *d, struct vreq *v, struct verify_pass *ret)
{
        struct fleet *f = daemon_fleet(d);
        int r;

        if (!f)
                return -ENETUNREACH;
        r = fleet_before_code(f, &d->conf, &v->vr, ret);
        if (r < 0) {
                journal_daemon(3, "the fleet could not decide the login of %s: %s", v->vr.user, fleet_error(f));
                daemon_fleet_failed(d, r);
        }
        return r;
}

static int fleet_check(struct daemon *d, struct vreq *v, struct verify_result *ret)
{
        struct fleet *f = daemon_fleet(d);
        int r;

        if (!f)
                return -ENETUNREACH;
        r = fleet_answer(f, &v->vr, ret);
        if (r < 0) {
                journal_daemon(3, "the fleet could not check the code of %s: %s", v->vr.user, fleet_error(f));
                daemon_fleet_failed(d, r);
        }
        return r;
}

/* Before the code: ask, pass or refuse (verify_before_code), recorded unless the module
 * still has to ask for the password (combined: it records the pass itself). */
static int before_code(struct daemon *d, struct vreq *v, const struct proto_request *req,
                       struct proto_verify_reply *ret)
{
        struct grant_arg ga = {.d = d, .v = v, .session = req->grant_session};
        struct verify_pass pass;
        int r;

        r = fleet_configured(&d->conf) ? fleet_before(d, v, &pass)
                                       : verify_before_code(d->store, &d->conf, &v->vr, grant_of, &ga, &pass);
        seal_wipe(v->pwfp, sizeof(v->pwfp));
        if (r < 0) {
                record(d, v, "fail", fleet_unreachable(r) ? "fleet unreachable" : "error",
                       METHOD_NONE, NULL);
                return r;
        }
        if (pass.grant_error < 0)
                journal_daemon(4, "remembered grants of %s cannot be read, asking for the code: %s", v->vr.user,
                               strerror(-pass.grant_error));
        *ret = (struct proto_verify_reply){.step = pass.step, .res = pass.res, .granted = pass.granted};
        if (pass.step == VERIFY_PASS)
                ret->res.method = pass.method;
        if (pass.step == VERIFY_REFUSE) {
                record(d, v, "fail", verify_verdict_to_string(VERDICT_LOCKED), METHOD_NONE, NULL);
                ret->recorded = true;
                message_of(d, v, &pass.res, ret->message, sizeof(ret->message));
        } else if (pass.step == VERIFY_PASS && !v->vr.combined && v->privileged) {
                record(d, v, pass.method == METHOD_REMEMBERED ? "ok" : "skipped", pass.reason, pass.method, NULL);
                ret->recorded = true;
        }
        return 0;
}

/* The check of CODE: consumed and recorded (in the batch, for the verify method). SESSION:
 * the terminal session a grant this login leaves is bound to. */
static int check(struct daemon *d, struct vreq *v, const char *code, const char *session,
                 struct proto_verify_reply *ret)
{
        struct grant_arg ga = {.d = d, .v = v, .session = session};
        const struct verify_grant_ctx *g = NULL;
        struct verify_result res;
        int r;

        v->vr.answer = code;
        r = fleet_configured(&d->conf) ? fleet_check(d, v, &res) : verify_answer(d->store, d->key, &d->conf, &v->vr, &res);
        v->vr.answer = "";
        if (r < 0) {
                record(d, v, "fail", fleet_unreachable(r) ? "fleet unreachable" : "error",
                       METHOD_NONE, NULL);
                return r;
        }
        record(d, v, res.verdict == VERDICT_OK ? "ok" : "fail", verify_verdict_to_string(res.verdict), res.method,
               &res);
        if (res.verdict == VERDICT_OK && grant_of(&ga, &g) >= 0 && g) {
                r = verify_grant_after_code(d->store, &d->conf, g);
                if (r < 0)
                        journal_daemon(4, "the code of %s is not remembered: %s", v->vr.user, strerror(-r));
        }
        seal_wipe(v->pwfp, sizeof(v->pwfp));
        *ret = (struct proto_verify_reply){.step = VERIFY_CHECKED, .res = res, .recorded = true};
        message_of(d, v, &res, ret->message, sizeof(ret->message));
        return 0;
}

int handle_verify(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len)
{
        struct proto_verify_reply reply;
        const char *denied;
        struct vreq v;
        int r;

        r = vreq_of(p, req, req->service, req->tty, &v, &denied);
        if (r < 0)
                return handle_reply_error(r == -EPERM ? PROTO_E_FORBIDDEN : PROTO_E_BAD_REQUEST, denied, out, max,
                                          ret_len);
        /* what this check reads and consumes is committed with the round's batch, before the
         * reply leaves (group commit) */
        /* (fleet mode: what is consumed is the database's, committed before it answers) */
        r = fleet_configured(&d->conf) ? 0 : batch_store(d);
        if (r >= 0)
                r = req->code[0] ? check(d, &v, req->code, req->grant_session, &reply)
                                 : before_code(d, &v, req, &reply);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL,
                                          fleet_unreachable(r)
                                                  ? "the fleet database cannot be reached"
                                                  : "the code could not be checked",
                                          out, max, ret_len);
        return handle_reply_obj(proto_verify_reply_to_obj(&reply, req->combined), false, out, max, ret_len);
}

int handle_check_code(struct daemon *d, const struct peer *p, const char *code, bool combined, const char *service,
                      const char *tty, struct verify_result *ret, char *msg, size_t msglen)
{
        struct proto_request req = {.method = PROTO_VERIFY, .combined = combined};
        struct proto_verify_reply reply;
        const char *denied;
        struct vreq v;
        int r;

        r = vreq_of(p, &req, service, tty, &v, &denied);
        if (r < 0)
                return -EPERM;
        r = check(d, &v, code, "", &reply);
        if (r < 0)
                return r;
        snprintf(msg, msglen, "%s", reply.message);
        *ret = reply.res;
        return 0;
}

int handle_code_refused(const struct verify_result *res, const char *msg, char *out, size_t max, size_t *ret_len)
{
        return handle_reply_error(res->verdict == VERDICT_UNENROLLED ? PROTO_E_CONFLICT : PROTO_E_CODE,
                                  msg[0] ? msg : "Invalid verification code.", out, max, ret_len);
}
