/* SPDX-License-Identifier: MIT */
/* pam_sm_chauthtok: the password policy in the password stack. Before the module that sets
 * the password it asks for the new one, has common/pwpolicy.c judge it and hands it on as
 * PAM_AUTHTOK; with `record`, after that module succeeded, it adds the new password's
 * argon2id hash to the history and reports "password-changed". A guest in the caller's
 * process like the rest of pam_mlsec: no globals, options parsed per call, pam_syslog and
 * the conversation only, passwords wiped and never logged, every error refuses. */
#define PAM_SM_PASSWORD

#include <errno.h>
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

#include <unistd.h>

#include "conf.h"
#include "module.h"
#include "event.h"
#include "pwpolicy.h"
#include "report.h"
#include "seal.h"
#include "store.h"
#include "util.h"

#define PROMPT_NEW    "New password: "
#define PROMPT_RETYPE "Retype new password: "
#define RETRY_DEFAULT 3
#define RETRY_MAX     10
#define MSG_MISMATCH  "Sorry, passwords do not match."
#define MSG_NONE      "No password has been supplied."
#define MSG_BROKEN    "The password policy cannot be checked. Contact your administrator."

struct options {
        const char *conf; /* NULL: the default path */
        unsigned retry;   /* new passwords asked for before giving up */
        bool record;      /* the line after the updater: history and audit */
        bool use_authtok; /* judge the PAM_AUTHTOK of an earlier module instead of asking */
        bool debug;
        bool silent; /* PAM_SILENT: no info or error messages */
};

/* What one call needs, released in one place. */
struct pw_ctx {
        struct mlsec_conf conf;
        struct pwpolicy *policy;
        struct store *store;
        const char *user;
        char user_esc[UTIL_USER_MAX * 4 + 4];
};

static void parse_options(pam_handle_t *pamh, int flags, int argc, const char **argv, struct options *o)
{
        *o = (struct options){.silent = (flags & PAM_SILENT) != 0, .retry = RETRY_DEFAULT};
        for (int i = 0; i < argc; i++) {
                char *end = NULL;
                unsigned long n;

                if (module_option(argv[i], &o->conf, &o->debug, &o->silent))
                        continue;
                if (strncmp(argv[i], "retry=", 6) == 0 && argv[i][6] >= '1' && argv[i][6] <= '9' &&
                    (n = strtoul(argv[i] + 6, &end, 10)) <= RETRY_MAX && *end == '\0')
                        o->retry = (unsigned)n;
                else if (strcmp(argv[i], "record") == 0)
                        o->record = true;
                else if (strcmp(argv[i], "use_authtok") == 0)
                        o->use_authtok = true;
                else
                        module_option_unknown(pamh, argv[i]);
        }
}

static void ctx_release(struct pw_ctx *ctx)
{
        ctx->policy = pwpolicy_free(ctx->policy);
        ctx->store = store_close(ctx->store);
}

/* The user, the configuration and, to judge, the policy and the store (a missing store
 * means no history yet). */
static int open_state(pam_handle_t *pamh, const struct options *o, struct pw_ctx *ctx, bool judge)
{
        char err[CONF_ERR_MAX];
        int r;

        r = pam_get_user(pamh, &ctx->user, NULL);
        if (r != PAM_SUCCESS || !ctx->user || !*ctx->user) {
                pam_syslog(pamh, LOG_ERR, "cannot determine the user name, refusing");
                return -ESRCH;
        }
        util_escape(ctx->user, ctx->user_esc, sizeof(ctx->user_esc));
        if (!pam_modutil_getpwnam(pamh, ctx->user)) {
                pam_syslog(pamh, LOG_ERR, "unknown user=%s, refusing", ctx->user_esc);
                return -ESRCH;
        }
        r = conf_load(o->conf, &ctx->conf, err, sizeof(err));
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "configuration error, refusing: %s", err);
                return r;
        }
        if (seal_init() < 0) {
                pam_syslog(pamh, LOG_ERR, "crypto library failed to initialise, refusing");
                return -EIO;
        }
        if (!judge)
                return 0;
        r = pwpolicy_load(&ctx->conf, &ctx->policy, err, sizeof(err));
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "password quality settings unusable, refusing: %s", err);
                return r;
        }
        if (ctx->conf.password_history == 0)
                return 0; /* no history: the store is not needed */
        r = store_open(ctx->conf.state_dir, false, &ctx->store);
        if (r == -ENOENT) {
                ctx->store = NULL;
                return 0;
        }
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "cannot open credential store %s/%s, refusing: %s", ctx->conf.state_dir,
                           STORE_DB_NAME, module_store_error(r));
                return r;
        }
        return 0;
}

static bool same_text(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);

        return la == lb && seal_equal(a, b, la);
}

/* The policy's verdict on PW: PAM_SUCCESS, PAM_AUTHTOK_ERR after telling the user which
 * rule refused it, or PAM_AUTHTOK_ERR with *ret_broken when it could not be decided. */
static int judge(pam_handle_t *pamh, const struct options *o, struct pw_ctx *ctx, const char *pw, bool *ret_broken)
{
        const void *old = NULL;
        enum pwpolicy_verdict v;
        char msg[PWPOLICY_MSG_MAX];
        int r;

        *ret_broken = false;
        (void)pam_get_item(pamh, PAM_OLDAUTHTOK, &old);
        r = pwpolicy_check(ctx->policy, ctx->store, ctx->user, pw, old, &v, msg, sizeof(msg));
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "cannot check the password policy for user=%s, refusing: %s", ctx->user_esc,
                           r == -EINVAL ? "invalid user name or history entry" : module_store_error(r));
                say(pamh, o, PAM_ERROR_MSG, "%s", MSG_BROKEN);
                *ret_broken = true;
                return PAM_AUTHTOK_ERR;
        }
        if (v != PWPOLICY_OK) {
                pam_syslog(pamh, LOG_NOTICE, "user=%s new password refused: rule=%s", ctx->user_esc,
                           pwpolicy_verdict_to_string(v));
                say(pamh, o, PAM_ERROR_MSG, "%s.", msg);
                return PAM_AUTHTOK_ERR;
        }
        return PAM_SUCCESS;
}

/* use_authtok: the new password an earlier module asked for; judged once, no retry. */
static int check_given(pam_handle_t *pamh, const struct options *o, struct pw_ctx *ctx)
{
        const void *tok = NULL;
        bool broken;
        int r;

        if (pam_get_item(pamh, PAM_AUTHTOK, &tok) != PAM_SUCCESS || !tok) {
                pam_syslog(pamh, LOG_ERR, "use_authtok but no new password from an earlier module, refusing");
                return PAM_AUTHTOK_ERR;
        }
        r = judge(pamh, o, ctx, tok, &broken);
        if (r != PAM_SUCCESS)
                (void)pam_set_item(pamh, PAM_AUTHTOK, NULL); /* the next module must not set it */
        return r;
}

/* Ask for the new password until one passes the policy and is typed the same twice. */
static int check_asked(pam_handle_t *pamh, const struct options *o, struct pw_ctx *ctx)
{
        char *pw = NULL, *again = NULL;
        int ret = PAM_MAXTRIES, r;
        bool broken;

        for (unsigned i = 0; i < o->retry; i++) {
                pw = again = NULL;
                r = module_ask(pamh, PROMPT_NEW, &pw);
                if (r != PAM_SUCCESS) {
                        pam_syslog(pamh, LOG_NOTICE, "user=%s: no answer to the new password prompt", ctx->user_esc);
                        ret = PAM_AUTHTOK_ERR;
                        goto out;
                }
                if (!*pw) {
                        /* an empty answer is how a user gives up */
                        say(pamh, o, PAM_ERROR_MSG, "%s", MSG_NONE);
                        ret = PAM_AUTHTOK_ERR;
                        goto out;
                }
                r = judge(pamh, o, ctx, pw, &broken);
                if (broken) {
                        ret = r;
                        goto out;
                }
                if (r == PAM_SUCCESS) {
                        r = module_ask(pamh, PROMPT_RETYPE, &again);
                        if (r != PAM_SUCCESS) {
                                ret = PAM_AUTHTOK_ERR;
                                goto out;
                        }
                        if (same_text(pw, again)) {
                                ret = pam_set_item(pamh, PAM_AUTHTOK, pw) == PAM_SUCCESS ? PAM_SUCCESS
                                                                                         : PAM_AUTHTOK_ERR;
                                if (ret == PAM_SUCCESS && o->debug)
                                        pam_syslog(pamh, LOG_DEBUG, "user=%s new password accepted by the policy",
                                                   ctx->user_esc);
                                goto out;
                        }
                        say(pamh, o, PAM_ERROR_MSG, "%s", MSG_MISMATCH);
                        again = seal_wipe_free_str(again);
                }
                pw = seal_wipe_free_str(pw);
        }
        pam_syslog(pamh, LOG_NOTICE, "user=%s: no acceptable new password in %u tries", ctx->user_esc, o->retry);
out:
        if (pw)
                seal_wipe_free_str(pw);
        if (again)
                seal_wipe_free_str(again);
        return ret;
}

/* "password-changed", by the user or by whoever the real uid is (root for another user).
 * Only root may report; a failure to report is logged, never fatal. */
static void report_changed(pam_handle_t *pamh, const struct pw_ctx *ctx)
{
        const void *service = NULL, *tty = NULL, *rhost = NULL;
        const struct passwd *pw;
        struct mlsec_event e;
        char svc[EVENT_SERVICE_MAX], err[256];
        bool spooled = false;
        uid_t actor = getuid();

        if (geteuid() != 0)
                return;
        event_init(&e, EVENT_AUDIT);
        e.pid = getpid();
        e.actor_uid = actor;
        (void)event_set_text(e.user, sizeof(e.user), ctx->user);
        pw = pam_modutil_getpwnam(pamh, ctx->user);
        if (pw)
                e.uid = pw->pw_uid;
        (void)pam_get_item(pamh, PAM_SERVICE, &service);
        (void)pam_get_item(pamh, PAM_TTY, &tty);
        (void)pam_get_item(pamh, PAM_RHOST, &rhost);
        if (service)
                (void)event_set_text(e.service, sizeof(e.service), service);
        if (tty)
                (void)event_set_text(e.tty, sizeof(e.tty), tty);
        if (rhost)
                (void)event_set_text(e.rhost, sizeof(e.rhost), rhost);
        (void)event_set_text(e.action, sizeof(e.action), "password-changed");
        util_escape(service ? service : "?", svc, sizeof(svc));
        if (pw && pw->pw_uid == actor)
                snprintf(e.detail, sizeof(e.detail), "password changed by the user through service %s", svc);
        else if (actor == 0)
                snprintf(e.detail, sizeof(e.detail), "password changed by root through service %s", svc);
        else
                snprintf(e.detail, sizeof(e.detail), "password changed by uid %u through service %s", (unsigned)actor,
                         svc);
        if (event_validate(&e, err, sizeof(err)) < 0) {
                pam_syslog(pamh, LOG_WARNING, "event not reported: %s", err);
                return;
        }
        if (report_event(&ctx->conf, &e, &spooled) < 0)
                pam_syslog(pamh, LOG_ERR, "event %s could not be reported nor spooled in %s", e.id,
                           ctx->conf.spool_dir);
}

/* record: the updater before this line succeeded; PAM_AUTHTOK is the password now set. */
/* A new password ends every remembered grant of the user (they are also bound to a
 * fingerprint of the password, which catches changes made elsewhere). Never fails the
 * change: it happened already. */
static void forget_grants(pam_handle_t *pamh, const struct pw_ctx *ctx)
{
        struct store *s = NULL;
        unsigned n = 0;
        int r;

        r = store_open(ctx->conf.state_dir, false, &s);
        if (r == -ENOENT)
                return;
        if (r >= 0)
                r = store_forget_grants(s, ctx->user, &n);
        s = store_close(s);
        if (r < 0)
                pam_syslog(pamh, LOG_WARNING, "user=%s: remembered grants not ended at the password change: %s",
                           ctx->user_esc, module_store_error(r));
        else if (n)
                pam_syslog(pamh, LOG_INFO, "user=%s: %u remembered grant(s) ended by the password change", ctx->user_esc,
                           n);
}

static int record(pam_handle_t *pamh, const struct options *o, struct pw_ctx *ctx)
{
        const void *tok = NULL;
        int r;

        if (pam_get_item(pamh, PAM_AUTHTOK, &tok) != PAM_SUCCESS || !tok) {
                pam_syslog(pamh, LOG_ERR, "record: no new password (PAM_AUTHTOK) for user=%s, nothing recorded",
                           ctx->user_esc);
                return PAM_AUTHTOK_ERR;
        }
        report_changed(pamh, ctx);
        forget_grants(pamh, ctx);
        if (ctx->conf.password_history == 0)
                return PAM_SUCCESS;
        r = store_open(ctx->conf.state_dir, true, &ctx->store);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR,
                           "cannot open credential store %s/%s, password of user=%s not added to the history: %s",
                           ctx->conf.state_dir, STORE_DB_NAME, ctx->user_esc, module_store_error(r));
                return PAM_AUTHTOK_ERR;
        }
        r = pwpolicy_record(ctx->store, ctx->user, tok, ctx->conf.password_history, time(NULL));
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "cannot add the new password of user=%s to the history: %s", ctx->user_esc,
                           r == -EINVAL ? "invalid user name" : module_store_error(r));
                return PAM_AUTHTOK_ERR;
        }
        if (o->debug)
                pam_syslog(pamh, LOG_DEBUG, "user=%s new password added to the history (keeping %u)", ctx->user_esc,
                           ctx->conf.password_history);
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        struct pw_ctx ctx = {.policy = NULL};
        struct options o;
        int ret = PAM_AUTHTOK_ERR, r;

        parse_options(pamh, flags, argc, argv, &o);
        if (flags & PAM_PRELIM_CHECK) {
                if (o.record)
                        return PAM_IGNORE;
                /* the policy and the store must be usable before anyone types a password */
                r = open_state(pamh, &o, &ctx, true);
                if (r < 0) {
                        say(pamh, &o, PAM_ERROR_MSG, "%s", MSG_BROKEN);
                        ret = r == -ESRCH ? PAM_USER_UNKNOWN : PAM_TRY_AGAIN;
                } else {
                        ret = PAM_SUCCESS;
                }
                goto out;
        }
        if (!(flags & PAM_UPDATE_AUTHTOK)) {
                pam_syslog(pamh, LOG_ERR, "called neither to check nor to update, refusing");
                goto out;
        }
        r = open_state(pamh, &o, &ctx, !o.record);
        if (r < 0) {
                if (!o.record)
                        say(pamh, &o, PAM_ERROR_MSG, "%s", MSG_BROKEN);
                ret = r == -ESRCH ? PAM_USER_UNKNOWN : PAM_AUTHTOK_ERR;
                goto out;
        }
        if (o.record)
                ret = record(pamh, &o, &ctx);
        else if (o.use_authtok)
                ret = check_given(pamh, &o, &ctx);
        else
                ret = check_asked(pamh, &o, &ctx);
out:
        ctx_release(&ctx);
        return ret;
}
