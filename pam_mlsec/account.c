/* SPDX-License-Identifier: MIT */
/* pam_mlsec's account stack: the MFA policy by group (require_mfa_group, enroll_grace_days,
 * exempt_tty in mlsec.conf). A member of a required group without a device is refused, or
 * let in with a reminder while their grace period lasts; root on an exempt console always
 * passes. The rules live in common/policy.c; this file turns them into PAM codes, syslog
 * lines, messages and events for mlsecd (a refusal is a failed login in the history, a
 * grace or exempt admission an audit entry). Every doubt about a member refuses; without a
 * policy it opens nothing. */
#define PAM_SM_ACCOUNT

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "conf.h"
#include "module.h"
#include "policy.h"
#include "seal.h"
#include "store.h"
#include "util.h"
#include "verify.h"

#define MSG_GRACE                                                                                                      \
        "Two-factor authentication is required for your account: %u days left to set it up. Run \"mlsecctl mfa "       \
        "enable\" now."
#define MSG_GRACE_LAST                                                                                                 \
        "Two-factor authentication is required for your account: today is the last day to set it up. Run "             \
        "\"mlsecctl mfa enable\" now."
#define MSG_REFUSED                                                                                                    \
        "Two-factor authentication is required for your account and it is not set up. Ask an administrator to set "    \
        "it up for you."
#define MSG_EXPIRED                                                                                                    \
        "Two-factor authentication is required for your account and the time to set it up has run out. Ask an "        \
        "administrator to set it up for you."
#define MSG_UNPRIVILEGED                                                                                               \
        "Two-factor authentication is required for your account and it is not set up; the time left to set it up "     \
        "cannot be checked here. Log in on a terminal and run \"mlsecctl mfa enable\"."
#define MSG_UNAVAILABLE "Your account cannot be checked against the two-factor policy. Contact your administrator."

/* The reasons of the failed login a refusal reports (beside verify.h's verdicts in history) */
#define REASON_REQUIRED "mfa-required"  /* a member without a device, no grace period */
#define REASON_EXPIRED  "grace-expired" /* a member without a device, the grace period over */
#define REASON_ERROR    "policy-error"  /* the policy could not be decided */
/* The audit actions of an admission without a device */
#define ACTION_GRACE  "mfa-grace"  /* a member let in during the grace period */
#define ACTION_EXEMPT "mfa-exempt" /* root let in on an exempt_tty terminal */

struct options {
        const char *conf; /* NULL: the default path */
        bool debug;
        bool silent; /* PAM_SILENT: no info or error messages */
};

/* What one account check needs, released in one place. */
struct acct_ctx {
        struct options o;
        struct mlsec_conf conf;
        struct store *store;
        const char *user;
        char user_esc[UTIL_USER_MAX * 4 + 4];
        char tty_esc[128];
        char group_esc[CONF_ITEM_MAX * 4];
        int64_t now;
        uid_t uid;
        gid_t gid;
        bool exempt; /* root on an exempt_tty terminal */
};

static void parse_options(pam_handle_t *pamh, int flags, int argc, const char **argv, struct options *o)
{
        *o = (struct options){.silent = (flags & PAM_SILENT) != 0};
        for (int i = 0; i < argc; i++)
                if (!module_option(argv[i], &o->conf, &o->debug, &o->silent))
                        module_option_unknown(pamh, argv[i]);
}

/* An event about this account check for mlsecd (else the spool), as pam_sm_authenticate
 * reports its own; nothing without root (module_send_event), never fatal. */
static bool event_start(pam_handle_t *pamh, const struct acct_ctx *ctx, enum event_kind kind, struct mlsec_event *e)
{
        if (geteuid() != 0)
                return false; /* only root may report */
        if (seal_init() < 0) {
                pam_syslog(pamh, LOG_WARNING, "user=%s: event not reported: crypto library failed to initialise",
                           ctx->user_esc);
                return false;
        }
        module_event_from_pam(pamh, kind, ctx->user, e);
        return true;
}

/* A refused login is a failed login attempt in the history, with REASON: the auth stack may
 * have reported it as passed (or skipped) already, and sshd with a key runs no auth stack
 * at all. It is not a wrong code: the failure counters of credentials.db are not touched. */
static void report_refusal(pam_handle_t *pamh, const struct acct_ctx *ctx, const char *reason)
{
        struct mlsec_event e;

        if (!event_start(pamh, ctx, EVENT_AUTH, &e))
                return;
        (void)event_set_text(e.result, sizeof(e.result), "fail");
        (void)event_set_text(e.reason, sizeof(e.reason), reason);
        (void)event_set_text(e.method, sizeof(e.method), "none");
        (void)module_send_event(pamh, &ctx->conf, &e);
}

/* A member let in without a device: an audit entry (actor: the system) saying why. */
__attribute__((format(printf, 4, 5))) static void report_admission(pam_handle_t *pamh, const struct acct_ctx *ctx,
                                                                   const char *action, const char *fmt, ...)
{
        struct mlsec_event e;
        va_list ap;

        if (!event_start(pamh, ctx, EVENT_AUDIT, &e))
                return;
        (void)event_set_text(e.action, sizeof(e.action), action);
        va_start(ap, fmt);
        (void)vsnprintf(e.detail, sizeof(e.detail), fmt, ap);
        va_end(ap);
        (void)module_send_event(pamh, &ctx->conf, &e);
}

/* Refuse with CODE, saying MSG to the user, logging WHY and reporting a failed login with
 * REASON, unless root is on an exempt console: then let them in with a warning and an
 * audit entry instead. */
__attribute__((format(printf, 6, 7))) static int refuse(pam_handle_t *pamh, const struct acct_ctx *ctx, int code,
                                                        const char *reason, const char *msg, const char *why, ...)
{
        char text[512];
        va_list ap;

        va_start(ap, why);
        (void)vsnprintf(text, sizeof(text), why, ap);
        va_end(ap);
        if (ctx->exempt) {
                pam_syslog(pamh, LOG_WARNING, "user=%s tty=%s: allowed by exempt_tty although %s", ctx->user_esc,
                           ctx->tty_esc, text);
                report_admission(pamh, ctx, ACTION_EXEMPT, "let in on exempt_tty %s although %s", ctx->tty_esc, text);
                return PAM_SUCCESS;
        }
        pam_syslog(pamh, code == PAM_PERM_DENIED ? LOG_NOTICE : LOG_ERR, "user=%s tty=%s: %s, refusing", ctx->user_esc,
                   ctx->tty_esc, text);
        say(pamh, &ctx->o, PAM_ERROR_MSG, "%s", msg);
        report_refusal(pamh, ctx, reason);
        return code;
}

static void utc_time(int64_t when, char *out, size_t outlen)
{
        time_t t = (time_t)when;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, outlen, "%Y-%m-%d %H:%M UTC", &tm) == 0)
                snprintf(out, outlen, "%lld", (long long)when);
}

/* The verdict's PAM code for a member, with what the user reads and what is logged. */
static int apply(pam_handle_t *pamh, const struct acct_ctx *ctx, const struct policy_result *res)
{
        char when[32];

        switch (res->verdict) {
        case POLICY_ENROLLED:
                if (ctx->o.debug)
                        pam_syslog(pamh, LOG_DEBUG, "user=%s group=%s: has an MFA device, policy met", ctx->user_esc,
                                   ctx->group_esc);
                return PAM_SUCCESS;
        case POLICY_GRACE:
                pam_syslog(pamh, LOG_INFO,
                           "user=%s group=%s: no MFA device, allowed in the grace period (%u day%s left%s)",
                           ctx->user_esc, ctx->group_esc, res->days_left, res->days_left == 1 ? "" : "s",
                           res->grace_start == ctx->now ? ", started now" : "");
                utc_time(res->grace_end, when, sizeof(when));
                report_admission(pamh, ctx, ACTION_GRACE,
                                 "no MFA device, let in during the grace period of group %s: %u day%s left, until %s%s",
                                 ctx->group_esc, res->days_left, res->days_left == 1 ? "" : "s", when,
                                 res->grace_start == ctx->now ? " (started now)" : "");
                if (res->days_left == 1)
                        say(pamh, &ctx->o, PAM_TEXT_INFO, MSG_GRACE_LAST);
                else
                        say(pamh, &ctx->o, PAM_TEXT_INFO, MSG_GRACE, res->days_left);
                return PAM_SUCCESS;
        case POLICY_REFUSED:
                return refuse(pamh, ctx, PAM_PERM_DENIED, REASON_REQUIRED, MSG_REFUSED,
                              "group=%s requires MFA and the user has no device (no grace period)", ctx->group_esc);
        case POLICY_EXPIRED:
                utc_time(res->grace_end, when, sizeof(when));
                return refuse(pamh, ctx, PAM_PERM_DENIED, REASON_EXPIRED, MSG_EXPIRED,
                              "group=%s requires MFA, the user has no device and the %u-day grace period ended %s",
                              ctx->group_esc, ctx->conf.enroll_grace_days, when);
        }
        return refuse(pamh, ctx, PAM_AUTH_ERR, REASON_ERROR, MSG_UNAVAILABLE, "unknown policy verdict");
}

/* As root: the store says whether the member has a device, and keeps the grace start. */
static int check_privileged(pam_handle_t *pamh, struct acct_ctx *ctx)
{
        struct policy_result res;
        bool enrolled = false;
        int r;

        r = store_open(ctx->conf.state_dir, false, &ctx->store);
        if (r < 0 && r != -ENOENT)
                return refuse(pamh, ctx, PAM_AUTH_ERR, REASON_ERROR, MSG_UNAVAILABLE,
                              "cannot open credential store %s/%s (%s)", ctx->conf.state_dir, STORE_DB_NAME,
                              module_store_error(r));
        if (r == -ENOENT)
                ctx->store = NULL; /* nobody is enrolled yet */
        r = verify_enrolled(ctx->store, ctx->user, &enrolled);
        if (r < 0)
                return refuse(pamh, ctx, PAM_AUTH_ERR, REASON_ERROR, MSG_UNAVAILABLE,
                              "cannot read the credential store (%s)", module_store_error(r));
        ctx->now = time(NULL);
        r = policy_decide(ctx->store, &ctx->conf, ctx->user, enrolled, ctx->now, &res);
        if (r == -ENOENT && !ctx->store) {
                /* the first grace period to record: the store is created for it */
                r = store_open(ctx->conf.state_dir, true, &ctx->store);
                if (r < 0)
                        return refuse(pamh, ctx, PAM_AUTH_ERR, REASON_ERROR, MSG_UNAVAILABLE,
                                      "cannot create credential store %s/%s to record the grace period (%s)",
                                      ctx->conf.state_dir, STORE_DB_NAME, module_store_error(r));
                r = policy_decide(ctx->store, &ctx->conf, ctx->user, enrolled, ctx->now, &res);
        }
        if (r < 0)
                return refuse(pamh, ctx, PAM_AUTH_ERR, REASON_ERROR, MSG_UNAVAILABLE,
                              "cannot read or record the grace period in the credential store (%s)",
                              r == -EBUSY ? "credential store busy" : module_store_error(r));
        return apply(pamh, ctx, &res);
}

/* Without root (a screen locker): only the caller's own account, and mlsecd says whether it
 * has a device. The grace start is root's to read and record, so a member without a device
 * is refused here even inside a grace period. */
static int check_unprivileged(pam_handle_t *pamh, struct acct_ctx *ctx)
{
        bool enrolled = false;

        if (getuid() != geteuid() || getuid() != ctx->uid)
                return refuse(pamh, ctx, PAM_AUTH_ERR, REASON_ERROR, MSG_UNAVAILABLE,
                              "without root only the calling user's own account can be checked (uid %u, euid %u)",
                              (unsigned)getuid(), (unsigned)geteuid());
        if (module_mlsecd_enrolled(pamh, &ctx->conf, ctx->user_esc, ctx->user, &enrolled) < 0)
                return refuse(pamh, ctx, PAM_AUTH_ERR, REASON_ERROR, MSG_UNAVAILABLE,
                              "mlsecd could not say whether it has a device");
        if (enrolled)
                return apply(pamh, ctx, &(struct policy_result){.verdict = POLICY_ENROLLED});
        if (ctx->conf.enroll_grace_days == 0)
                return apply(pamh, ctx, &(struct policy_result){.verdict = POLICY_REFUSED});
        return refuse(pamh, ctx, PAM_PERM_DENIED, REASON_REQUIRED, MSG_UNPRIVILEGED,
                      "group=%s requires MFA, the user has no device, and without root the grace period cannot be "
                      "checked",
                      ctx->group_esc);
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        struct acct_ctx ctx = {.store = NULL};
        struct policy_membership m;
        const struct passwd *pw;
        const void *tty = NULL;
        char err[CONF_ERR_MAX], esc[CONF_ITEM_MAX * 4];
        int ret = PAM_AUTH_ERR, r;

        parse_options(pamh, flags, argc, argv, &ctx.o);
        r = pam_get_user(pamh, &ctx.user, NULL);
        if (r != PAM_SUCCESS || !ctx.user || !*ctx.user) {
                pam_syslog(pamh, LOG_ERR, "cannot determine the user name, refusing");
                return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_AUTH_ERR;
        }
        util_escape(ctx.user, ctx.user_esc, sizeof(ctx.user_esc));
        if (conf_load(ctx.o.conf, &ctx.conf, err, sizeof(err)) < 0) {
                /* whether a policy applies is unknown: refuse, as the auth stack does */
                pam_syslog(pamh, LOG_ERR, "configuration error, refusing: %s", err);
                say(pamh, &ctx.o, PAM_ERROR_MSG, MSG_UNAVAILABLE);
                return PAM_AUTH_ERR;
        }
        if (!policy_active(&ctx.conf))
                return PAM_IGNORE; /* no require_mfa_group: nothing asked of anybody */
        (void)pam_get_item(pamh, PAM_TTY, &tty);
        util_escape(tty ? (const char *)tty : "", ctx.tty_esc, sizeof(ctx.tty_esc));
        pw = util_user_valid(ctx.user) ? pam_modutil_getpwnam(pamh, ctx.user) : NULL;
        if (!pw) {
                pam_syslog(pamh, LOG_NOTICE, "user=%s: no such user, refusing", ctx.user_esc);
                return PAM_USER_UNKNOWN;
        }
        ctx.uid = pw->pw_uid;
        ctx.gid = pw->pw_gid;
        ctx.exempt = policy_tty_exempt(&ctx.conf, ctx.uid, tty);

        r = policy_member(&ctx.conf, ctx.user, ctx.gid, &m);
        if (r < 0) {
                ret = refuse(pamh, &ctx, PAM_AUTH_ERR, REASON_ERROR, MSG_UNAVAILABLE,
                             "the groups of require_mfa_group could not be looked up (%s)", strerror(-r));
                goto out;
        }
        if (m.n_missing > 0)
                pam_syslog(pamh, LOG_WARNING, "require_mfa_group %s is not a group (no members)%s",
                           util_escape(m.missing, esc, sizeof(esc)), m.n_missing > 1 ? ", nor are others" : "");
        if (!m.member) {
                if (ctx.o.debug)
                        pam_syslog(pamh, LOG_DEBUG, "user=%s is in no require_mfa_group group", ctx.user_esc);
                ret = PAM_IGNORE; /* the policy does not apply: the rest of the stack decides */
                goto out;
        }
        util_escape(m.group, ctx.group_esc, sizeof(ctx.group_esc));
        ret = geteuid() == 0 ? check_privileged(pamh, &ctx) : check_unprivileged(pamh, &ctx);
out:
        ctx.store = store_close(ctx.store);
        return ret;
}
