/* SPDX-License-Identifier: MIT */
/* pam_mlsec: the PAM entry points. A guest in somebody else's process (sshd, sudo, login):
 * no writable globals, options parsed per call, messages through the conversation and
 * pam_syslog only, and every error in the auth path fails closed. The rules live in
 * common/verify.c; this file turns PAM items into a request and verdicts into PAM codes.
 * As root it reads the credential store itself; without root (a screen locker, a user
 * service) it asks mlsecd, only about the calling user's own account. */
#define PAM_SM_AUTH
#define PAM_SM_SESSION

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>
#include <pwd.h>
#include <shadow.h>

#include <unistd.h>

#include "client.h"
#include "conf.h"
#include "module.h"
#include "event.h"
#include "fleet.h"
#include "notice.h"
#include "proto.h"
#include "proto_verify.h"
#include "report.h"
#include "seal.h"
#include "session.h"
#include "source.h"
#include "store.h"
#include "totp.h"
#include "util.h"
#include "verify.h"

#define PROMPT_CODE     "Verification code: "
#define PROMPT_COMBINED "Password & verification code: "
#define PROMPT_PASSWORD "Password: "

/* What one auth line does: ask for the code (the default), or track attempts around the
 * password module as pam_faillock does (preauth before it, authfail right after it). */
enum auth_mode { MODE_CODE, MODE_PREAUTH, MODE_AUTHFAIL };

struct options {
        const char *conf; /* NULL: the default path */
        enum auth_mode mode;
        bool forward_pass; /* one prompt: password then code; password handed on */
        bool debug;
        bool silent; /* PAM_SILENT: no info or error messages */
        bool notice; /* session open: the login notice (notice=yes|no) */
};

/* The state one authentication needs, released in one place. */
struct auth_ctx {
        struct mlsec_conf conf;
        struct store *store;
        struct seal_key *key;
        char *answer;
        char user_esc[UTIL_USER_MAX * 4 + 4];
        char source[STORE_SOURCE_MAX];
        char source_esc[STORE_SOURCE_MAX];
        enum source_class cls;
        /* what a remembered grant of this login is bound to, made once (grant_ctx_of) */
        bool has_grant;
        struct verify_grant_ctx grant;
        uint8_t pwfp[SEAL_HASH_BYTES];
        char session[STORE_SERVICE_MAX];
        /* the two paths: mlsecd's verdict (a kept connection), or the own check (direct) */
        bool privileged;          /* root: may check on its own; the event is ours to send */
        bool direct;              /* mlsecd did not answer: checking here */
        struct client *mlsecd;    /* the connection of this login's verify requests */
        struct mlsec_event event; /* the login's auth event, as mlsecd records it */
        bool store_opened, key_loaded;
        struct fleet *fleet; /* fleet mode, mlsecd not answering: the module's own connection */
};

static void parse_options(pam_handle_t *pamh, int flags, int argc, const char **argv, struct options *o)
{
        *o = (struct options){.silent = (flags & PAM_SILENT) != 0, .notice = true};
        for (int i = 0; i < argc; i++) {
                if (module_option(argv[i], &o->conf, &o->debug, &o->silent))
                        continue;
                if (strcmp(argv[i], "forward_pass") == 0)
                        o->forward_pass = true;
                else if (strcmp(argv[i], "preauth") == 0)
                        o->mode = MODE_PREAUTH;
                else if (strcmp(argv[i], "authfail") == 0)
                        o->mode = MODE_AUTHFAIL;
                else if (strncmp(argv[i], "notice=", 7) == 0 && strcmp(argv[i] + 7, "yes") == 0)
                        o->notice = true;
                else if (strncmp(argv[i], "notice=", 7) == 0 && strcmp(argv[i] + 7, "no") == 0)
                        o->notice = false;
                else
                        module_option_unknown(pamh, argv[i]);
        }
}

/* Failures are counted per source (source.h): the canonical remote host, else the terminal,
 * and together for every remote source and for every local terminal but the consoles. */
static void find_source(pam_handle_t *pamh, struct auth_ctx *ctx)
{
        const void *rhost = NULL, *tty = NULL, *service = NULL;
        char consoles[128];
        struct login_source src;

        (void)pam_get_item(pamh, PAM_RHOST, &rhost);
        (void)pam_get_item(pamh, PAM_TTY, &tty);
        (void)pam_get_item(pamh, PAM_SERVICE, &service);
        source_console_active(consoles, sizeof(consoles));
        source_of_login(rhost, tty, service, consoles, &ctx->conf.exempt_tty, &src);
        snprintf(ctx->source, sizeof(ctx->source), "%s", src.name);
        ctx->cls = src.cls;
        util_escape(ctx->source, ctx->source_esc, sizeof(ctx->source_esc));
}

static void ctx_release(struct auth_ctx *ctx)
{
        ctx->mlsecd = client_close(ctx->mlsecd);
        ctx->fleet = fleet_close(ctx->fleet);
        ctx->store = store_close(ctx->store);
        ctx->key = seal_key_free(ctx->key);
        if (ctx->answer)
                ctx->answer = seal_wipe_free_str(ctx->answer);
        seal_wipe(ctx->pwfp, sizeof(ctx->pwfp));
}

static int load_conf(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx)
{
        char err[CONF_ERR_MAX];
        int r;

        r = conf_load(o->conf, &ctx->conf, err, sizeof(err));
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "configuration error, refusing: %s", err);
                return r;
        }
        if (seal_init() < 0 || totp_init() < 0) {
                pam_syslog(pamh, LOG_ERR, "crypto libraries failed to initialise, refusing");
                return -EIO;
        }
        return 0;
}

/* The store, opened once per login (the own path, attempt tracking). A missing database
 * means nobody is enrolled yet; anything else that goes wrong is an error and the caller
 * fails closed. */
static int direct_open(pam_handle_t *pamh, struct auth_ctx *ctx)
{
        int r;

        if (ctx->store_opened)
                return 0;
        r = store_open(ctx->conf.state_dir, false, &ctx->store);
        if (r == -ENOENT) {
                ctx->store = NULL; /* nobody is enrolled yet */
        } else if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "cannot open credential store %s/%s, refusing: %s", ctx->conf.state_dir,
                           STORE_DB_NAME, module_store_error(r));
                return r;
        }
        ctx->store_opened = true;
        return 0;
}

/* The key is needed only to check an answer: users who step aside never load it. */
static int load_key(pam_handle_t *pamh, struct auth_ctx *ctx)
{
        int r = seal_key_load(ctx->conf.key_file, false, &ctx->key);

        if (r == -ENOENT) {
                ctx->key = NULL;
                return 0;
        }
        if (r < 0)
                pam_syslog(pamh, LOG_ERR, "cannot load key file %s, refusing: %s", ctx->conf.key_file,
                           r == -EPERM    ? "unsafe owner or mode"
                           : r == -EINVAL ? "wrong size"
                                          : strerror(-r));
        return r;
}

/* forward_pass: hand the password part of the answer on to the next module. */
static int forward_password(pam_handle_t *pamh, char *answer, size_t password_len)
{
        char saved;
        int r;

        if (password_len > strlen(answer))
                password_len = strlen(answer);
        saved = answer[password_len];
        answer[password_len] = '\0';
        r = pam_set_item(pamh, PAM_AUTHTOK, answer);
        answer[password_len] = saved;
        return r;
}

static void log_outcome(pam_handle_t *pamh, const struct auth_ctx *ctx, const struct verify_result *res)
{
        pam_syslog(pamh, res->verdict == VERDICT_OK ? LOG_INFO : LOG_NOTICE,
                   "user=%s source=%s result=%s method=%s%s%s%s", ctx->user_esc, ctx->source_esc,
                   verify_verdict_to_string(res->verdict), verify_method_to_string(res->method),
                   res->device[0] ? " device=" : "", res->device, res->lock_started ? " lockout=started" : "");
}

static void tell_user(pam_handle_t *pamh, const struct options *o, const struct auth_ctx *ctx,
                      const struct verify_result *res)
{
        char msg[256], d[64];

        if (res->verdict == VERDICT_OK) {
                if (res->method == METHOD_BACKUP)
                        say(pamh, o, PAM_TEXT_INFO, "Backup code accepted. %u backup code%s left.%s", res->backup_left,
                            res->backup_left == 1 ? "" : "s",
                            res->backup_left <= ctx->conf.backup_codes_low ? " Generate new ones soon." : "");
                return;
        }
        /* an unknown or unenrolled (deny) user reads exactly what a wrong code reads; a wrong
         * password was told by the password module (or the application) already */
        if (res->verdict == VERDICT_UNKNOWN_USER || res->verdict == VERDICT_UNENROLLED ||
            res->verdict == VERDICT_MALFORMED)
                say(pamh, o, PAM_ERROR_MSG, "Invalid verification code.");
        else if (res->verdict != VERDICT_WRONG_PASSWORD)
                say(pamh, o, PAM_ERROR_MSG, "%s", verify_user_message(res, msg, sizeof(msg)));
        if (res->lock_started)
                say(pamh, o, PAM_ERROR_MSG, "Too many failed attempts %s. Try again in %s.", verify_lock_words(res),
                    util_duration(ctx->conf.lockout_seconds, d, sizeof(d)));
}

/* Unenrolled under `unenrolled = allow`: step aside, but with forward_pass the password
 * still has to reach the next module. */
static int step_aside(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx)
{
        int r;

        if (!o->forward_pass)
                return PAM_IGNORE;
        r = module_ask(pamh, PROMPT_PASSWORD, &ctx->answer);
        if (r != PAM_SUCCESS)
                return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_AUTH_ERR;
        r = pam_set_item(pamh, PAM_AUTHTOK, ctx->answer);
        return r == PAM_SUCCESS ? PAM_IGNORE : PAM_AUTH_ERR;
}

/* Report the attempt with its outcome and, from RES (NULL: none), the audit entries it makes
 * (verify_audit_events: a backup code spent, a lockout begun), as mlsecd records them on its
 * path. */
static void report_auth(pam_handle_t *pamh, const struct auth_ctx *ctx, const char *user, const char *result,
                        const char *reason, enum verify_method method, const struct verify_result *res)
{
        struct mlsec_event e, audits[2];
        size_t n = 0;

        module_event_from_pam(pamh, EVENT_AUTH, user, &e);
        verify_event_outcome(&e, result, reason, method);
        (void)module_send_event(pamh, &ctx->conf, &e);
        /* the session opened through this handle is this login (the notice's "current") */
        if (strcmp(result, "ok") == 0 || strcmp(result, "skipped") == 0)
                notice_remember_login(pamh, e.id);
        if (res)
                n = verify_audit_events(&e, res, ctx->source, ctx->conf.lockout_seconds, audits);
        for (size_t i = 0; i < n; i++)
                (void)module_send_event(pamh, &ctx->conf, &audits[i]);
}

/* Does USER exist (NSS)? */
static bool user_known(pam_handle_t *pamh, const char *user)
{
        return util_user_valid(user) && pam_modutil_getpwnam(pamh, user) != NULL;
}

/* ---- attempt tracking around the password module (preauth, authfail) ---- */

/* The request for what the stack knows before or after the password: no answer. */
static struct verify_request attempt_request(const struct auth_ctx *ctx, const char *user, bool known)
{
        return (struct verify_request){
                .user = verify_store_user(user),
                .known_user = known,
                .answer = "",
                .source = ctx->source,
                .cls = ctx->cls,
                .now = time(NULL),
        };
}

/* A locked source (or account-wide scope) is refused before the password is asked, so a
 * locked-out guesser learns nothing from the password module. 1: refused (told, logged,
 * reported); 0: not locked; < 0: could not tell (the caller fails closed). */
static int refuse_locked(pam_handle_t *pamh, const struct options *o, const struct auth_ctx *ctx, const char *user,
                         bool known)
{
        struct verify_request req = attempt_request(ctx, user, known);
        struct verify_result res;
        int r;

        r = verify_locked(ctx->store, &req, &res);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "cannot read the lockouts of user=%s, refusing: %s", ctx->user_esc,
                           module_store_error(r));
                return r;
        }
        if (res.verdict != VERDICT_LOCKED)
                return 0;
        log_outcome(pamh, ctx, &res);
        tell_user(pamh, o, ctx, &res);
        report_auth(pamh, ctx, user, "fail", verify_verdict_to_string(res.verdict), METHOD_NONE, NULL);
        return 1;
}

/* preauth: refuse a locked source before the password module runs; PAM_SUCCESS otherwise.
 * authfail: the password module refused: count the attempt like a wrong code (budgets,
 * lockouts, history) and fail, always. Both need the store, so root; without root, preauth
 * steps aside and authfail only fails (mlsecd's own check still applies the lockouts). */
static int track_attempt(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx, const char *user)
{
        struct verify_request req;
        struct verify_result res;
        bool known;
        int r;

        if (geteuid() != 0) {
                if (o->mode == MODE_AUTHFAIL)
                        pam_syslog(pamh, LOG_NOTICE,
                                   "user=%s: wrong password not counted: attempt tracking needs root (uid %u)",
                                   ctx->user_esc, (unsigned)getuid());
                return o->mode == MODE_PREAUTH ? PAM_IGNORE : PAM_AUTH_ERR;
        }
        if (load_conf(pamh, o, ctx) < 0 || direct_open(pamh, ctx) < 0) {
                say(pamh, o, PAM_ERROR_MSG, "Verification is unavailable. Contact your administrator.");
                if (o->mode == MODE_AUTHFAIL)
                        report_auth(pamh, ctx, user, "fail", "wrong password", METHOD_PASSWORD, NULL);
                return PAM_AUTH_ERR;
        }
        find_source(pamh, ctx);
        known = user_known(pamh, user);
        if (o->mode == MODE_PREAUTH) {
                r = refuse_locked(pamh, o, ctx, user, known);
                if (r < 0)
                        say(pamh, o, PAM_ERROR_MSG, "Verification is unavailable. Contact your administrator.");
                return r == 0 ? PAM_SUCCESS : PAM_AUTH_ERR;
        }
        req = attempt_request(ctx, user, known);
        r = verify_password_failed(ctx->store, &ctx->conf, &req, &res);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "cannot count the failed password of user=%s: %s", ctx->user_esc,
                           module_store_error(r));
                report_auth(pamh, ctx, user, "fail", "wrong password", METHOD_PASSWORD, NULL);
                return PAM_AUTH_ERR;
        }
        log_outcome(pamh, ctx, &res);
        tell_user(pamh, o, ctx, &res);
        /* what happened is a wrong password, also when the source was locked already */
        report_auth(pamh, ctx, user, "fail", "wrong password", METHOD_PASSWORD, &res);
        return PAM_AUTH_ERR;
}

/* ---- remembered grants (the module's own path) ---- */

/* The local session a grant on a terminal is bound to, as sudo's timestamp is: the session
 * leader's pid and its start time (so a new session with a reused pid is another one). */
static void session_key(char *out, size_t outlen)
{
        char path[64], buf[1024], *p;
        unsigned long long start = 0;
        pid_t sid = getsid(0);
        FILE *f;
        size_t n;

        out[0] = '\0';
        if (sid <= 0)
                return;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)sid);
        f = fopen(path, "re");
        if (!f)
                return;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        p = strrchr(buf, ')'); /* the command name may hold anything but ends at the last ')' */
        /* after ") ": state is field 3, starttime field 22 */
        for (int field = 2; p && field < 22; field++)
                p = strchr(p + 1, ' ');
        if (p && sscanf(p + 1, "%llu", &start) == 1 && start > 0)
                snprintf(out, outlen, "%d@%llu", (int)sid, start);
}

/* What a grant of this login is bound to, in ctx->grant (ctx->has_grant): read once, for
 * the grant that may spare the code and for the one a right code leaves. None without a
 * key, a store, remember_seconds or remember_tty_seconds, or a service name. */
static void grant_ctx_of(pam_handle_t *pamh, struct auth_ctx *ctx, const char *user)
{
        const void *service = NULL, *tty = NULL;

        ctx->has_grant = false;
        if (!ctx->store)
                return;
        (void)pam_get_item(pamh, PAM_SERVICE, &service);
        (void)pam_get_item(pamh, PAM_TTY, &tty);
        ctx->session[0] = '\0';
        if (ctx->cls != SOURCE_REMOTE)
                session_key(ctx->session, sizeof(ctx->session));
        ctx->has_grant = verify_grant_bind(ctx->key, &ctx->conf, user, ctx->source, ctx->cls, service, tty,
                                           ctx->session, time(NULL), ctx->pwfp, &ctx->grant) > 0;
}

/* After a right code: the grant this login may leave (remember_seconds and the rest), bound
 * as try_remembered read it before the code was asked. */
static void leave_grant(pam_handle_t *pamh, struct auth_ctx *ctx)
{
        int r;

        if (!ctx->has_grant)
                return;
        ctx->grant.now = time(NULL);
        r = verify_grant_after_code(ctx->store, &ctx->conf, &ctx->grant);
        if (r < 0)
                pam_syslog(pamh, LOG_WARNING, "user=%s: the code is not remembered for source=%s: %s", ctx->user_esc,
                           ctx->source_esc, module_store_error(r));
}

/* ---- the two paths: mlsecd's verdict, or the module's own check ---- */

/* Ask mlsecd (the connection kept in ctx->mlsecd for the code that may follow). CODE NULL:
 * what is decided before the code. 0: *ret is its answer. 1: mlsecd is not there, refused
 * the connection or did not answer within verify_timeout, or answered what cannot be read:
 * the caller checks on its own path (as root; without root that is an error). < 0: mlsecd
 * answered with an error: fail closed. */
static int ask_mlsecd(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx, bool known, const char *code,
                      struct proto_verify_reply *ret)
{
        struct proto_request req = {.method = PROTO_VERIFY, .combined = o->forward_pass};
        const void *service = NULL, *tty = NULL;
        int timeout = !ctx->privileged                               ? MODULE_MLSECD_TIMEOUT_MS
                      : code && ctx->conf.verify_timeout < MODULE_CODE_WAIT_MS ? MODULE_CODE_WAIT_MS
                                                                               : (int)ctx->conf.verify_timeout;
        struct proto_obj *obj = NULL;
        char ecode[64] = "", emsg[256] = "", esc[sizeof(emsg) * 4];
        const char *why = "";
        size_t len = code ? strlen(code) : 0;
        bool not_running;
        int r;

        if (code && (len == 0 || len >= sizeof(req.code) || event_set_text(req.code, sizeof(req.code), code) < 0)) {
                /* what the wire cannot carry is no code at all, as verify_answer would say */
                seal_wipe(&req, sizeof(req));
                *ret = (struct proto_verify_reply){.step = VERIFY_CHECKED,
                                                   .res = {.verdict = VERDICT_MALFORMED, .password_len = len}};
                return ctx->privileged ? 1 : 0; /* as root the own path records it */
        }
        if (ctx->privileged) {
                req.event = ctx->event;
                snprintf(req.source, sizeof(req.source), "%s", ctx->source);
                snprintf(req.cls, sizeof(req.cls), "%s",
                         ctx->cls == SOURCE_REMOTE    ? "remote"
                         : ctx->cls == SOURCE_CONSOLE ? "console"
                                                      : "local");
                req.known = known;
                if (ctx->cls != SOURCE_REMOTE)
                        session_key(req.grant_session, sizeof(req.grant_session));
        } else {
                (void)pam_get_item(pamh, PAM_SERVICE, &service);
                (void)pam_get_item(pamh, PAM_TTY, &tty);
                if (service)
                        (void)event_set_text(req.service, sizeof(req.service), service);
                if (tty)
                        (void)event_set_text(req.tty, sizeof(req.tty), tty);
        }
        r = ctx->mlsecd ? 0 : client_open(ctx->conf.socket, timeout, &ctx->mlsecd);
        if (r >= 0)
                r = client_ask(ctx->mlsecd, &req, timeout, &obj, ecode, sizeof(ecode), emsg, sizeof(emsg));
        seal_wipe(&req, sizeof(req));
        if (r >= 0) {
                r = proto_verify_reply_from_obj(obj, o->forward_pass, len, ret, &why);
                if (r >= 0 && !code && ret->step == VERIFY_CHECKED)
                        r = -EBADMSG, why = "a verdict without a code";
        }
        obj = proto_obj_free(obj);
        if (r >= 0)
                return 0;
        ctx->mlsecd = client_close(ctx->mlsecd);
        if (r == -EREMOTEIO) {
                pam_syslog(pamh, LOG_ERR, "user=%s: mlsecd refused the check (%s: %s), refusing", ctx->user_esc,
                           util_escape(ecode, esc, sizeof(esc) / 2),
                           util_escape(emsg, esc + sizeof(esc) / 2, sizeof(esc) / 2));
                return r;
        }
        not_running = r == -ENOENT || r == -ECONNREFUSED;
        if (!ctx->privileged) {
                if (r == -EBADMSG)
                        pam_syslog(pamh, LOG_ERR,
                                   "user=%s: unexpected answer from mlsecd to a code check (%s), refusing",
                                   ctx->user_esc, why[0] ? why : "malformed reply");
                else
                        pam_syslog(pamh, LOG_ERR, "user=%s: no answer from mlsecd at %s to a code check (%s), refusing",
                                   ctx->user_esc, ctx->conf.socket,
                                   not_running       ? "mlsecd is not running"
                                   : r == -ETIMEDOUT ? "timed out"
                                                     : strerror(-r));
                return r;
        }
        if (o->debug || !not_running)
                pam_syslog(pamh, not_running ? LOG_DEBUG : LOG_WARNING, "user=%s: mlsecd %s; checking in %s/%s",
                           ctx->user_esc,
                           not_running       ? "is not running"
                           : r == -ETIMEDOUT ? "did not answer within verify_timeout"
                           : r == -EBADMSG   ? "sent a reply that cannot be read"
                                             : strerror(-r),
                           ctx->conf.state_dir, STORE_DB_NAME);
        ctx->direct = true;
        return 1;
}

static int direct_key(pam_handle_t *pamh, struct auth_ctx *ctx)
{
        int r;

        if (ctx->key_loaded)
                return 0;
        r = load_key(pamh, ctx);
        if (r >= 0)
                ctx->key_loaded = true;
        return r;
}

struct grant_arg {
        pam_handle_t *pamh;
        struct auth_ctx *ctx;
        const char *user;
};

/* verify_before_code asks for a grant's binding only for a known, enrolled user. */
static int direct_grant_of(void *userdata, const struct verify_grant_ctx **ret)
{
        struct grant_arg *a = userdata;
        int r = direct_key(a->pamh, a->ctx);

        if (r < 0)
                return r;
        grant_ctx_of(a->pamh, a->ctx, a->user);
        *ret = a->ctx->has_grant ? &a->ctx->grant : NULL;
        return 0;
}

/* Fleet mode, mlsecd not answering: the module connects itself, as the same host role (the
 * certificate mlsec.conf's fleet_db names), once per login. -ENETUNREACH when it cannot. */
static struct fleet *direct_fleet(pam_handle_t *pamh, struct auth_ctx *ctx)
{
        char err[FLEET_ERR_MAX] = "", esc[FLEET_ERR_MAX * 4];
        int r;

        if (ctx->fleet)
                return fleet_ok(ctx->fleet) ? ctx->fleet : NULL;
        r = fleet_open(&ctx->conf, &ctx->fleet, err, sizeof(err));
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "user=%s: the fleet database cannot be reached, refusing: %s", ctx->user_esc,
                           util_escape(err, esc, sizeof(esc)));
                return NULL;
        }
        return ctx->fleet;
}

static void fleet_failed(pam_handle_t *pamh, struct auth_ctx *ctx, const char *what)
{
        char esc[FLEET_ERR_MAX * 4];

        pam_syslog(pamh, LOG_ERR, "user=%s: the fleet could not %s, refusing: %s", ctx->user_esc, what,
                   util_escape(fleet_error(ctx->fleet), esc, sizeof(esc)));
}

/* What is decided before the code, on mlsecd's path or the own one. *ret_recorded: mlsecd
 * has recorded the outcome. */
static int before_code(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx, const char *user, bool known,
                       struct verify_pass *ret, bool *ret_recorded)
{
        struct grant_arg ga = {.pamh = pamh, .ctx = ctx, .user = user};
        struct verify_request req = attempt_request(ctx, user, known);
        struct proto_verify_reply reply;
        int r;

        *ret_recorded = false;
        if (!ctx->direct) {
                r = ask_mlsecd(pamh, o, ctx, known, NULL, &reply);
                if (r < 0)
                        return r;
                if (r == 0) {
                        *ret = (struct verify_pass){.step = reply.step,
                                                    .reason = verify_pass_reason(reply.res.method),
                                                    .method = reply.res.method,
                                                    .granted = reply.granted,
                                                    .res = reply.res};
                        *ret_recorded = reply.recorded;
                        return 0;
                }
        }
        req.combined = o->forward_pass;
        if (fleet_configured(&ctx->conf)) {
                struct fleet *f = direct_fleet(pamh, ctx);

                if (!f)
                        return -ENETUNREACH;
                r = fleet_before_code(f, &ctx->conf, &req, ret);
                if (r < 0)
                        fleet_failed(pamh, ctx, "decide the login");
                return r;
        }
        r = direct_open(pamh, ctx);
        if (r < 0)
                return r;
        r = verify_before_code(ctx->store, &ctx->conf, &req, direct_grant_of, &ga, ret);
        if (r < 0)
                pam_syslog(pamh, LOG_ERR, "cannot read the credential store for user=%s, refusing: %s", ctx->user_esc,
                           module_store_error(r));
        return r;
}

/* The check of the answer, on mlsecd's path or the own one. */
static int check_code(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx, const char *user, bool known,
                      struct verify_result *ret, bool *ret_recorded)
{
        struct proto_verify_reply reply;
        struct verify_request req;
        int r;

        *ret_recorded = false;
        if (!ctx->direct) {
                r = ask_mlsecd(pamh, o, ctx, known, ctx->answer, &reply);
                if (r < 0)
                        return r;
                if (r == 0) {
                        *ret = reply.res;
                        *ret_recorded = reply.recorded;
                        return 0;
                }
        }
        if (fleet_configured(&ctx->conf)) {
                struct fleet *f = direct_fleet(pamh, ctx);

                if (!f)
                        return -ENETUNREACH;
                req = attempt_request(ctx, user, known);
                req.answer = ctx->answer;
                req.combined = o->forward_pass;
                r = fleet_answer(f, &req, ret);
                if (r < 0)
                        fleet_failed(pamh, ctx, "check the code");
                return r;
        }
        r = direct_open(pamh, ctx);
        if (r >= 0)
                r = direct_key(pamh, ctx);
        if (r < 0)
                return r;
        if (known && !ctx->has_grant)
                grant_ctx_of(pamh, ctx, user); /* the grant a right code may leave */
        req = attempt_request(ctx, user, known);
        req.answer = ctx->answer;
        req.combined = o->forward_pass;
        r = verify_answer(ctx->store, ctx->key, &ctx->conf, &req, ret);
        if (r < 0)
                pam_syslog(pamh, LOG_ERR, "cannot verify user=%s, refusing: %s", ctx->user_esc,
                           r == -ENOKEY    ? "key file missing"
                           : r == -EBADMSG ? "a sealed secret does not open with this key, or the database is corrupt"
                                           : module_store_error(r));
        return r;
}

/* A login let in without a code: unenrolled (under unenrolled = allow) or from a trusted
 * network (recorded "skipped", PAM_IGNORE), or spared by a remembered grant ("ok",
 * PAM_SUCCESS). With forward_pass the password is still asked, for the next module. */
static int let_through(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx, const char *user,
                       const struct verify_pass *pass, bool recorded)
{
        bool granted = pass->method == METHOD_REMEMBERED;
        int64_t ago;
        char d[64];
        int r;

        if (pass->clear_error < 0)
                pam_syslog(pamh, LOG_WARNING, "user=%s: failures of source=%s not cleared: %s", ctx->user_esc,
                           ctx->source_esc, module_store_error(pass->clear_error));
        r = step_aside(pamh, o, ctx);
        if (r != PAM_IGNORE) {
                report_auth(pamh, ctx, user, "fail", "no answer", pass->method, NULL);
                return r;
        }
        if (pass->method != METHOD_NONE)
                pam_syslog(pamh, LOG_INFO, "user=%s source=%s result=%s method=%s", ctx->user_esc, ctx->source_esc,
                           granted ? "ok" : "skipped", verify_method_to_string(pass->method));
        if (!recorded)
                report_auth(pamh, ctx, user, granted ? "ok" : "skipped", pass->reason, pass->method, NULL);
        else
                notice_remember_login(pamh, ctx->event.id);
        if (!granted)
                return PAM_IGNORE;
        ago = (int64_t)time(NULL) - pass->granted;
        if (ago >= 60)
                ago -= ago % 60;
        if (ago < 1)
                ago = 1;
        if (ctx->cls == SOURCE_REMOTE)
                say(pamh, o, PAM_TEXT_INFO, "No code asked: you entered one from %s %s ago.", ctx->source_esc,
                    util_duration(ago, d, sizeof(d)));
        else
                say(pamh, o, PAM_TEXT_INFO, "No code asked: you entered one on this terminal %s ago.",
                    util_duration(ago, d, sizeof(d)));
        return PAM_SUCCESS;
}

/* What the user reads when nothing could be decided (the login is refused). */
static void unavailable(pam_handle_t *pamh, const struct options *o, const struct auth_ctx *ctx)
{
        if (fleet_configured(&ctx->conf))
                say(pamh, o, PAM_ERROR_MSG,
                    "Verification is unavailable: the fleet's verification service cannot be reached. "
                    "Login refused; contact your administrator.");
        else
                say(pamh, o, PAM_ERROR_MSG, "Verification is unavailable. Contact your administrator.");
}

/* Which path decided (debug): mlsecd, or the module's own check. */
static void log_path(pam_handle_t *pamh, const struct options *o, const struct auth_ctx *ctx, const char *what)
{
        if (o->debug)
                pam_syslog(pamh, LOG_DEBUG, "user=%s: %s %s", ctx->user_esc, what,
                           ctx->direct ? "by the module itself (mlsecd did not answer)" : "by mlsecd");
}

/* One login's second factor, whichever path decides it: what is known before the code,
 * then the code. Every error fails closed and is recorded (by mlsecd when it answered). */
static int authenticate(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx, const char *user, bool known)
{
        struct verify_pass pass;
        struct verify_result res;
        bool recorded = false;
        int r;

        r = before_code(pamh, o, ctx, user, known, &pass, &recorded);
        if (r < 0) {
                unavailable(pamh, o, ctx);
                if (r != -EREMOTEIO)
                        report_auth(pamh, ctx, user, "fail", "error", METHOD_NONE, NULL);
                return PAM_AUTH_ERR;
        }
        if (pass.grant_error < 0)
                pam_syslog(pamh, LOG_WARNING, "user=%s: remembered grants cannot be read, asking for the code: %s",
                           ctx->user_esc, module_store_error(pass.grant_error));
        if (pass.step != VERIFY_ASK)
                log_path(pamh, o, ctx, "decided without a code");
        if (pass.step == VERIFY_REFUSE) {
                log_outcome(pamh, ctx, &pass.res);
                tell_user(pamh, o, ctx, &pass.res);
                if (!recorded)
                        report_auth(pamh, ctx, user, "fail", verify_verdict_to_string(pass.res.verdict), METHOD_NONE,
                                    NULL);
                return PAM_AUTH_ERR;
        }
        if (pass.step == VERIFY_PASS)
                return let_through(pamh, o, ctx, user, &pass, recorded);
        if (pass.step != VERIFY_ASK)
                return PAM_AUTH_ERR;
        r = module_ask(pamh, o->forward_pass ? PROMPT_COMBINED : PROMPT_CODE, &ctx->answer);
        if (r != PAM_SUCCESS) {
                pam_syslog(pamh, LOG_NOTICE, "user=%s source=%s: no answer to the prompt", ctx->user_esc,
                           ctx->source_esc);
                return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_AUTH_ERR;
        }
        r = check_code(pamh, o, ctx, user, known, &res, &recorded);
        if (r < 0) {
                unavailable(pamh, o, ctx);
                if (r != -EREMOTEIO)
                        report_auth(pamh, ctx, user, "fail", "error", METHOD_NONE, NULL);
                return PAM_AUTH_ERR;
        }
        log_path(pamh, o, ctx, "code checked");
        if (o->forward_pass && forward_password(pamh, ctx->answer, res.password_len) != PAM_SUCCESS)
                return PAM_AUTH_ERR;
        log_outcome(pamh, ctx, &res);
        tell_user(pamh, o, ctx, &res);
        if (!recorded) {
                report_auth(pamh, ctx, user, res.verdict == VERDICT_OK ? "ok" : "fail",
                            verify_verdict_to_string(res.verdict), res.method, &res);
        } else if (res.verdict == VERDICT_OK) {
                notice_remember_login(pamh, ctx->event.id);
        }
        if (res.verdict != VERDICT_OK)
                return PAM_AUTH_ERR;
        if (ctx->direct)
                leave_grant(pamh, ctx);
        return PAM_SUCCESS;
}

/* Without the privilege to open the store: only the calling user's own account, through
 * mlsecd, which applies the same rules and records the attempt. Every doubt fails closed. */
static int authenticate_unprivileged(pam_handle_t *pamh, const struct options *o, struct auth_ctx *ctx,
                                     const char *user)
{
        const struct passwd *pw;

        snprintf(ctx->source, sizeof(ctx->source), "mlsecd:uid=%u", (unsigned)getuid());
        util_escape(ctx->source, ctx->source_esc, sizeof(ctx->source_esc));
        ctx->cls = SOURCE_LOCAL;
        pw = pam_modutil_getpwuid(pamh, getuid());
        if (getuid() != geteuid() || !pw || !util_user_valid(user) || strcmp(pw->pw_name, user) != 0) {
                /* mlsecd checks whoever connects (SO_PEERCRED): only the caller's own account */
                pam_syslog(pamh, LOG_ERR,
                           "user=%s is not the calling user (uid %u, euid %u): without root only the caller's own "
                           "account can be verified, refusing",
                           ctx->user_esc, (unsigned)getuid(), (unsigned)geteuid());
                say(pamh, o, PAM_ERROR_MSG, "Verification is unavailable. Contact your administrator.");
                return PAM_AUTH_ERR;
        }
        return authenticate(pamh, o, ctx, user, true);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        struct auth_ctx ctx = {.store = NULL};
        struct options o;
        const char *user = NULL;
        bool known;
        int ret = PAM_AUTH_ERR, r;

        parse_options(pamh, flags, argc, argv, &o);
        r = pam_get_user(pamh, &user, NULL);
        if (r != PAM_SUCCESS || !user || !*user) {
                pam_syslog(pamh, LOG_ERR, "cannot determine the user name, refusing");
                return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_AUTH_ERR;
        }
        util_escape(user, ctx.user_esc, sizeof(ctx.user_esc));
        if (o.mode != MODE_CODE) {
                ret = track_attempt(pamh, &o, &ctx, user);
                goto out;
        }
        if (load_conf(pamh, &o, &ctx) < 0) {
                say(pamh, &o, PAM_ERROR_MSG, "Verification is unavailable. Contact your administrator.");
                goto out;
        }
        if (geteuid() != 0) {
                ret = authenticate_unprivileged(pamh, &o, &ctx, user);
                goto out;
        }
        ctx.privileged = true;
        find_source(pamh, &ctx);
        /* the login's auth event: sent to mlsecd, which records it with the outcome; its uid
         * says whether NSS knows the user (one lookup a login) */
        module_event_from_pam(pamh, EVENT_AUTH, user, &ctx.event);
        known = ctx.event.uid >= 0;
        (void)event_set_text(ctx.event.result, sizeof(ctx.event.result), "fail");
        ret = authenticate(pamh, &o, &ctx, user, known);
out:
        ctx_release(&ctx);
        return ret;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        return PAM_SUCCESS;
}

/* What an administrator left for USER (e.g. "your MFA was reset"): taken from the store and
 * shown once, as root only. Under PAM_SILENT or `silent` the notices stay for a session
 * that can show them. Never fails the session. */
static void show_notices(pam_handle_t *pamh, const struct options *o, const struct mlsec_conf *conf, const char *user)
{
        char(*notes)[STORE_NOTICE_MAX] = NULL;
        char user_esc[UTIL_USER_MAX * 4 + 4];
        struct store *s = NULL;
        size_t n = 0;
        int r;

        if (o->silent || geteuid() != 0 || !util_user_valid(user))
                return;
        util_escape(user, user_esc, sizeof(user_esc));
        r = store_open(conf->state_dir, false, &s);
        if (r == -ENOENT)
                return;
        if (r >= 0)
                r = store_take_notices(s, user, &notes, &n);
        s = store_close(s);
        if (r < 0) {
                pam_syslog(pamh, LOG_WARNING, "user=%s: notices could not be read from the credential store: %s",
                           user_esc, strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                /* written by mlsecd without control characters; a terminal is not trusted to that */
                for (char *c = notes[i]; *c; c++)
                        if ((unsigned char)*c < 0x20 || *c == 0x7f)
                                *c = '?';
                say(pamh, o, PAM_TEXT_INFO, "%s", notes[i]);
        }
        if (n)
                pam_syslog(pamh, LOG_INFO, "user=%s: %zu notice%s from an administrator shown", user_esc, n,
                           n == 1 ? "" : "s");
        free(notes);
}

/* The login notice (notice.h), as root, unless silent or notice=no. Only asked when mlsecd
 * just took the session's report: when that went to the spool, mlsecd is down or too slow
 * and asking again would only delay the login. Never fails the session. */
static void show_login_notice(pam_handle_t *pamh, const struct options *o, const struct mlsec_conf *conf,
                              const struct mlsec_event *e, bool reported)
{
        char err[CONF_ERR_MAX], user_esc[UTIL_USER_MAX * 4 + 4], esc[CONF_ERR_MAX];
        int r;

        if (o->silent || !o->notice || geteuid() != 0 || !reported || !e->user[0])
                return;
        r = notice_show(pamh, conf, e->user, e->service, e->rhost, e->ip, err, sizeof(err));
        if (r >= 0)
                return;
        util_escape(e->user, user_esc, sizeof(user_esc));
        if (r == -ENOENT || r == -ECONNREFUSED || r == -ETIMEDOUT) {
                if (o->debug)
                        pam_syslog(pamh, LOG_DEBUG, "user=%s: no login notice: mlsecd %s", user_esc,
                                   r == -ETIMEDOUT ? "did not answer in time" : "is not running");
                return;
        }
        pam_syslog(pamh, LOG_WARNING, "user=%s: no login notice: %s", user_esc,
                   r == -EREMOTEIO ? util_escape(err, esc, sizeof(esc))
                   : r == -EBADMSG ? "unexpected answer from mlsecd"
                                   : strerror(-r));
}

/* Session open and close are reported with the logind session id: from pam_systemd's
 * XDG_SESSION_ID when it ran before us, else from this process's cgroup. Reporting never
 * fails a session: every error is logged and PAM_SUCCESS returned. */
static int report_session(pam_handle_t *pamh, int flags, int argc, const char **argv, enum event_kind kind)
{
        struct mlsec_conf conf;
        struct mlsec_event e;
        struct options o;
        const char *user = NULL, *sid;
        char err[CONF_ERR_MAX];
        bool reported;

        parse_options(pamh, flags, argc, argv, &o);
        if (conf_load(o.conf, &conf, err, sizeof(err)) < 0) {
                pam_syslog(pamh, LOG_ERR, "configuration error, session not recorded: %s", err);
                return PAM_SUCCESS;
        }
        if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || !user || seal_init() < 0)
                return PAM_SUCCESS;
        module_event_from_pam(pamh, kind, user, &e);
        sid = pam_getenv(pamh, "XDG_SESSION_ID");
        if (!sid || event_set_text(e.session, sizeof(e.session), sid) < 0)
                (void)session_of_pid(0, e.session, sizeof(e.session));
        if (kind == EVENT_SESSION_CLOSE)
                (void)event_set_text(e.reason, sizeof(e.reason), "closed");
        reported = module_send_event(pamh, &conf, &e);
        if (kind == EVENT_SESSION_OPEN) {
                show_notices(pamh, &o, &conf, user);
                show_login_notice(pamh, &o, &conf, &e, reported);
        }
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        return report_session(pamh, flags, argc, argv, EVENT_SESSION_OPEN);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        return report_session(pamh, flags, argc, argv, EVENT_SESSION_CLOSE);
}
