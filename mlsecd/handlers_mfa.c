/* SPDX-License-Identifier: MIT */
/* Self-service MFA in mlsecd: the overview, enrolment with a confirming code, devices,
 * backup codes, each for the caller's own account (SO_PEERCRED) and each change audited.
 * A new device's secret waits in memory (bounded, expiring, wiped) until a code proves
 * the authenticator has it; every other change needs a current code or a backup code,
 * checked with the login rules. Secrets never reach the journal or an error message. */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "daemon.h"
#include "enroll.h"
#include "journal.h"
#include "policy.h"
#include "store.h"
#include "totp.h"
#include "util.h"
#include "verify.h"

#define PENDING_MAX     64                   /* enrolments waiting for their code, all users */
#define PENDING_PER_UID 3                    /* per user: a fourth replaces the oldest */
#define CHECK_SERVICE   DAEMON_CHECK_SERVICE /* the code checks of changes: recorded, but no login */

_Static_assert(ENROLL_TOKEN_LEN == PROTO_TOKEN_LEN, "one token length on the wire and in the table");

struct pending_enrollment {
        struct enroll_table *table;
        struct sd_event_source *timer; /* at the earliest expiry */
};

static int64_t wall_us(void)
{
        struct timespec t;

        clock_gettime(CLOCK_REALTIME, &t);
        return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int fail(int r, char *out, size_t max, size_t *ret_len)
{
        return handle_reply_error(PROTO_E_INTERNAL, r == -ENOMEM ? "out of memory" : "the credential store failed", out,
                                  max, ret_len);
}

/* ---- pending enrolments -------------------------------------------------------------- */

static void arm_timer(struct daemon *d);

static int on_expire_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        handle_mfa_expire(d, wall_us());
        return 0;
}

static void arm_timer(struct daemon *d)
{
        struct pending_enrollment *pe = d->pending;
        int64_t next;

        if (!pe || !d->loop)
                return;
        next = enroll_table_next_expiry(pe->table);
        if (next <= 0) {
                if (pe->timer)
                        (void)sd_event_source_set_enabled(pe->timer, SD_EVENT_OFF);
                return;
        }
        if (!pe->timer) {
                if (sd_event_add_time(d->loop, &pe->timer, CLOCK_REALTIME, (uint64_t)next, 100000, on_expire_timer, d) <
                    0)
                        journal_daemon(4, "could not arm the expiry of pending enrolments");
                return;
        }
        (void)sd_event_source_set_time(pe->timer, (uint64_t)next);
        (void)sd_event_source_set_enabled(pe->timer, SD_EVENT_ONESHOT);
}

void handle_mfa_expire(struct daemon *d, int64_t now_us)
{
        struct pending_enrollment *pe = d->pending;
        size_t n;

        if (!pe)
                return;
        n = enroll_table_expire(pe->table, now_us);
        if (now_us == 0) {
                pe->table = enroll_table_free(pe->table);
                pe->timer = sd_event_source_unref(pe->timer);
                free(pe);
                d->pending = NULL;
                return;
        }
        if (n)
                journal_daemon(6, "%zu abandoned enrolment(s) expired and wiped", n);
        arm_timer(d);
}

static int pending_table(struct daemon *d, struct enroll_table **ret)
{
        struct pending_enrollment *pe = d->pending;
        int r;

        if (!pe) {
                pe = calloc(1, sizeof(*pe));
                if (!pe)
                        return -ENOMEM;
                r = enroll_table_new(PENDING_MAX, PENDING_PER_UID, &pe->table);
                if (r < 0) {
                        free(pe);
                        return r;
                }
                d->pending = pe;
        }
        *ret = pe->table;
        return 0;
}

/* ---- helpers -------------------------------------------------------------------------- */

/* A change is always the caller's own: a "user" naming someone else is refused. */
const char *handle_mfa_own_user(const struct peer *p, const struct proto_request *req)
{
        if (!p->user[0])
                return "your uid has no user name";
        if (req->user[0] && strcmp(req->user, p->user) != 0)
                return "you may only change your own settings (administrators: mlsecctl admin)";
        return NULL;
}

static int n_devices(struct daemon *d, const char *user, const char *name, size_t *ret_n, bool *ret_has_name)
{
        struct store_device *dev = NULL;
        size_t n = 0;
        int r;

        r = store_list_devices(d->store, user, &dev, &n);
        if (r < 0)
                return r;
        *ret_has_name = false;
        for (size_t i = 0; name && i < n; i++)
                if (strcmp(dev[i].name, name) == 0)
                        *ret_has_name = true;
        store_devices_free(dev, n);
        *ret_n = n;
        return 0;
}

/* Check the caller's code with the login rules. 1: accepted; 0: refused and the reply
 * written; < 0: could not decide. */
int handle_mfa_need_code(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                     size_t *ret_len)
{
        struct verify_result res;
        char msg[256] = "";
        int r;

        if (!req->code[0]) {
                r = handle_reply_error(PROTO_E_CODE,
                                       "This change needs a current code from your authenticator or a backup code.",
                                       out, max, ret_len);
                return r < 0 ? r : 0;
        }
        r = handle_check_code(d, p, req->code, false, CHECK_SERVICE, NULL, &res, msg, sizeof(msg));
        if (r < 0)
                return r;
        if (res.verdict == VERDICT_OK)
                return 1;
        r = handle_code_refused(&res, msg, out, max, ret_len);
        return r < 0 ? r : 0;
}

static int add_devices(struct proto_obj *o, const struct store_device *dev, size_t n)
{
        struct proto_obj *arr = proto_array_new();
        int r = arr ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct proto_obj *e = proto_obj_new();
                r = e ? 0 : -ENOMEM;
                if (r >= 0)
                        r = proto_obj_set_str(e, "name", dev[i].name);
                if (r >= 0)
                        r = proto_obj_set_str(e, "algorithm", totp_alg_to_string(dev[i].alg));
                if (r >= 0)
                        r = proto_obj_set_int(e, "digits", dev[i].digits);
                if (r >= 0)
                        r = proto_obj_set_int(e, "period", dev[i].period);
                if (r >= 0)
                        r = proto_obj_set_int(e, "created", dev[i].created);
                if (r >= 0)
                        r = proto_obj_set_int(e, "last_used", dev[i].last_used);
                if (r >= 0)
                        r = proto_array_add(arr, e);
                else
                        proto_obj_free(e);
        }
        if (r < 0) {
                proto_obj_free(arr);
                return r;
        }
        return proto_obj_set_obj(o, "devices", arr);
}

int handle_mfa_add_codes(struct proto_obj *o, char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN])
{
        struct proto_obj *arr = proto_array_new();
        int r = arr ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < BACKUP_CODE_COUNT; i++)
                r = proto_array_add_str(arr, codes[i]);
        if (r < 0) {
                proto_obj_wipe(arr);
                proto_obj_free(arr);
                return r;
        }
        return proto_obj_set_obj(o, "backup_codes", arr);
}

/* ---- reads ------------------------------------------------------------------------------ */

static int on_devices(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                      size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        struct store_device *dev = NULL;
        struct proto_obj *o;
        size_t n = 0;
        int r;

        if (denied || !user)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied ? denied : "name one user", out, max, ret_len);
        r = store_list_devices(d->store, user, &dev, &n);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the credential store could not be read", out, max,
                                          ret_len);
        o = proto_obj_new();
        r = o ? proto_obj_set_str(o, "user", user) : -ENOMEM;
        if (r >= 0)
                r = add_devices(o, dev, n);
        store_devices_free(dev, n);
        if (r < 0) {
                proto_obj_free(o);
                return r;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

static int on_backup_codes(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out,
                           size_t max, size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        struct enroll_status st = {0};
        struct proto_obj *o;
        int r;

        if (denied || !user)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied ? denied : "name one user", out, max, ret_len);
        r = enroll_status(d->store, user, time(NULL), &st);
        if (r < 0)
                return fail(r, out, max, ret_len);
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "user", user) < 0 || proto_obj_set_int(o, "left", st.backup_left) < 0 ||
            proto_obj_set_bool(o, "mfa_enabled", st.n_devices > 0) < 0 ||
            proto_obj_set_bool(o, "low", st.n_devices > 0 && st.backup_left <= ENROLL_BACKUP_LOW) < 0) {
                proto_obj_free(o);
                o = NULL;
        }
        enroll_status_clear(&st);
        return handle_reply_obj(o, false, out, max, ret_len);
}

/* Open sessions of USER; only those logind still has when mlsecd talks to logind. */
static int count_sessions(struct daemon *d, const char *user, int64_t *ret, bool *ret_live)
{
        struct activity_session *ss = NULL;
        struct logind_session *ls = NULL;
        size_t n = 0, nl = 0;
        bool live = d->logind && logind_list(d->logind, &ls, &nl) >= 0;
        int64_t count = 0;
        int r;

        r = activity_sessions(d->act, user, false, PROTO_LIMIT_MAX, &ss, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                bool found = !live;
                for (size_t j = 0; live && !found && ss[i].logind_id[0] && j < nl; j++)
                        found = strcmp(ls[j].id, ss[i].logind_id) == 0;
                count += found;
        }
        free(ss);
        free(ls);
        if (r < 0)
                return r;
        *ret = count;
        *ret_live = live;
        return 0;
}

static struct proto_obj *warning(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct proto_obj *warning(const char *kind, const char *fmt, ...)
{
        struct proto_obj *w = proto_obj_new();
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (w && (proto_obj_set_str(w, "kind", kind) < 0 || proto_obj_set_str(w, "message", msg) < 0))
                w = proto_obj_free(w);
        return w;
}

/* The overview's last login, with its place (null when stored without one). */
static struct proto_obj *last_login_obj(const struct mlsec_event *e, const struct activity_place *p)
{
        struct proto_obj *o = proto_obj_new();
        const char *from = e->ip[0] ? e->ip : e->rhost[0] ? e->rhost : "local";

        if (!o)
                return NULL;
        if (proto_obj_set_int(o, "time_us", e->time_us) < 0 || proto_obj_set_str(o, "service", e->service) < 0 ||
            proto_obj_set_str(o, "from", from) < 0 || proto_obj_set_str(o, "tty", e->tty) < 0 ||
            proto_obj_set_str(o, "method", e->method) < 0 || handle_set_place(o, p) < 0)
                return proto_obj_free(o);
        return o;
}

/* The overview's "mfa_policy" (null when no require_mfa_group names USER) and, for a member
 * without a device, a warning saying what the account stack will do at the next login. Read
 * only: the grace period starts at a login, never because somebody looked. */
static int policy_status(struct daemon *d, const char *user, bool enrolled, struct proto_obj *o,
                         struct proto_obj *warns)
{
        struct policy_membership m;
        struct passwd pw, *res = NULL;
        struct proto_obj *p;
        int64_t started = 0, now = time(NULL);
        const char *state;
        unsigned left = 0;
        char buf[4096];
        int r;

        if (!policy_active(&d->conf) || getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return proto_obj_set_str(o, "mfa_policy", NULL);
        r = policy_member(&d->conf, user, pw.pw_gid, &m);
        if (r >= 0 && !m.member)
                return proto_obj_set_str(o, "mfa_policy", NULL);
        if (r < 0)
                state = "unknown"; /* the account stack refuses on a failed lookup */
        else if (enrolled)
                state = "met";
        else if (d->conf.enroll_grace_days == 0)
                state = "refused";
        else if ((r = store_get_grace(d->store, user, &started)) == -ENOENT) {
                state = "grace-not-started";
                left = d->conf.enroll_grace_days;
        } else if (r < 0) {
                state = "unknown";
        } else {
                left = policy_days_left(started, d->conf.enroll_grace_days, now);
                state = left > 0 ? "grace" : "expired";
        }
        p = proto_obj_new();
        r = p ? 0 : -ENOMEM;
        if (r >= 0)
                r = proto_obj_set_str(p, "state", state);
        if (r >= 0)
                r = proto_obj_set_str(p, "group", m.member ? m.group : NULL);
        if (r >= 0)
                r = left > 0 ? proto_obj_set_int(p, "days_left", left) : proto_obj_set_str(p, "days_left", NULL);
        if (r >= 0) {
                r = proto_obj_set_obj(o, "mfa_policy", p);
                p = NULL;
        }
        proto_obj_free(p);
        if (r < 0 || strcmp(state, "met") == 0)
                return r;
        if (strcmp(state, "grace") == 0 || strcmp(state, "grace-not-started") == 0)
                return proto_array_add(warns, warning("mfa-policy",
                                                      "MFA is required for this account (group %s): %u day%s left "
                                                      "to turn it on with 'mlsecctl mfa enable'",
                                                      m.group, left, left == 1 ? "" : "s"));
        if (strcmp(state, "unknown") == 0)
                return proto_array_add(warns, warning("mfa-policy", "the MFA policy could not be checked for "
                                                                    "this account: logins may be refused"));
        return proto_array_add(warns, warning("mfa-policy",
                                              "MFA is required for this account (group %s) and it is off: "
                                              "logins are refused until an administrator turns it on",
                                              m.group));
}

static int status_obj(struct daemon *d, const char *user, struct proto_obj *o)
{
        struct enroll_status st = {0};
        struct mlsec_event last;
        struct activity_place last_place;
        struct proto_obj *locks = NULL, *warns = NULL, *next = NULL;
        time_t now = time(NULL);
        uint64_t failed = 0;
        int64_t sessions = 0;
        bool have_last, live = false;
        enum enroll_next step;
        char dur[64];
        int r;

        /* fleet mode: the devices, backup codes and lockouts are the fleet's */
        r = fleet_configured(&d->conf) ? handle_fleet_enroll_status(d, user, &st) : enroll_status(d->store, user, now, &st);
        if (r < 0)
                return r;
        r = activity_last_login(d->act, user, CHECK_SERVICE, &last, &last_place);
        have_last = r >= 0;
        if (r == -ENOENT)
                r = 0;
        if (r >= 0)
                r = activity_count_failed(d->act, user, have_last ? last.time_us : 0, &failed);
        if (r >= 0)
                r = count_sessions(d, user, &sessions, &live);
        if (r < 0)
                goto out;
        r = proto_obj_set_str(o, "user", user);
        if (r >= 0)
                r = proto_obj_set_bool(o, "mfa_enabled", st.n_devices > 0);
        if (r >= 0)
                r = add_devices(o, st.devices, st.n_devices);
        if (r >= 0)
                r = proto_obj_set_int(o, "backup_codes_left", st.backup_left);
        if (r >= 0)
                r = have_last ? proto_obj_set_obj(o, "last_login", last_login_obj(&last, &last_place))
                              : proto_obj_set_str(o, "last_login", NULL);
        if (r >= 0)
                r = proto_obj_set_int(o, "failed_since_last_login", (int64_t)failed);
        if (r >= 0)
                r = proto_obj_set_int(o, "active_sessions", sessions);
        if (r >= 0)
                r = proto_obj_set_bool(o, "sessions_live", live);
        if (r < 0)
                goto out;

        locks = proto_array_new();
        warns = proto_array_new();
        r = locks && warns ? 0 : -ENOMEM;
        if (r >= 0 && st.n_devices == 0)
                r = proto_array_add(warns, warning("mfa-off", "MFA is off: a password alone opens this account"));
        if (r >= 0 && st.n_devices > 0 && st.backup_left <= ENROLL_BACKUP_LOW)
                r = proto_array_add(warns, warning("backup-codes-low", "only %u backup code%s left", st.backup_left,
                                                   st.backup_left == 1 ? "" : "s"));
        if (r >= 0)
                r = policy_status(d, user, st.n_devices > 0, o, warns);
        for (size_t i = 0; r >= 0 && i < st.n_lockouts; i++) {
                const struct store_lockout *l = &st.lockouts[i];
                struct proto_obj *e = proto_obj_new();
                char esc[STORE_SOURCE_MAX * 4];

                r = e ? 0 : -ENOMEM;
                if (r >= 0)
                        r = proto_obj_set_str(e, "source", l->source);
                if (r >= 0)
                        r = proto_obj_set_int(e, "locked_at", l->locked_at);
                if (r >= 0)
                        r = proto_obj_set_int(e, "until", l->until);
                if (r >= 0)
                        r = proto_array_add(locks, e);
                else
                        proto_obj_free(e);
                if (r >= 0) {
                        const char *src = source_lock_scope(l->source) ? source_lock_scope(l->source)
                                          : strncmp(l->source, "mlsecd:", 7) == 0
                                                  ? "mlsecctl (codes for settings changes)"
                                                  : util_escape(l->source, esc, sizeof(esc));
                        r = proto_array_add(warns,
                                            warning("lockout",
                                                    "logins from %s are locked for %s after "
                                                    "repeated failures",
                                                    src, util_duration((long)(l->until - now), dur, sizeof(dur))));
                }
        }
        if (r >= 0 && failed > 0)
                r = proto_array_add(warns, warning("failed-attempts", "%llu failed login attempt%s since %s",
                                                   (unsigned long long)failed, failed == 1 ? "" : "s",
                                                   have_last ? "your last login" : "the history began"));
        if (r >= 0) {
                r = proto_obj_set_obj(o, "lockouts", locks);
                locks = NULL;
        }
        if (r >= 0) {
                r = proto_obj_set_obj(o, "warnings", warns);
                warns = NULL;
        }
        step = enroll_next_step(&st, failed > UINT32_MAX ? UINT32_MAX : (unsigned)failed);
        if (r >= 0 && step == ENROLL_NEXT_NONE) {
                r = proto_obj_set_str(o, "next_step", NULL);
        } else if (r >= 0) {
                next = proto_obj_new();
                r = next ? 0 : -ENOMEM;
                if (r >= 0)
                        r = proto_obj_set_str(next, "action", enroll_next_to_string(step));
                if (r >= 0)
                        r = proto_obj_set_str(next, "message", enroll_next_message(step));
                if (r >= 0)
                        r = proto_obj_set_str(next, "command", enroll_next_command(step));
                if (r >= 0)
                        r = proto_obj_set_obj(o, "next_step", next);
                else
                        proto_obj_free(next);
        }
out:
        proto_obj_free(locks);
        proto_obj_free(warns);
        enroll_status_clear(&st);
        return r;
}

static int on_status(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                     size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        struct proto_obj *o;
        int r;

        if (denied || !user)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied ? denied : "name one user", out, max, ret_len);
        o = proto_obj_new();
        if (!o)
                return -ENOMEM;
        r = status_obj(d, user, o);
        if (r >= 0)
                r = handle_alerts_status(d, user, o);
        if (r >= 0)
                r = handle_grants_status(d, user, o);
        /* Administrators see on their own overview what the spool could not keep. */
        if (r >= 0 && p->admin)
                r = handle_spool_status(d, o);
        if (r < 0) {
                proto_obj_free(o);
                return handle_reply_error(PROTO_E_INTERNAL, "the overview could not be read", out, max, ret_len);
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

/* ---- enrolment ------------------------------------------------------------------------------ */

int handle_mfa_may_begin(struct daemon *d, const struct peer *p, const struct proto_request *req, const char *name,
                         size_t n, bool exists, char *out, size_t max, size_t *ret_len)
{
        char msg[256];
        int r;

        if (exists) {
                snprintf(msg, sizeof(msg), "You already have a device called '%s'.", name);
                r = handle_reply_error(PROTO_E_CONFLICT, msg, out, max, ret_len);
                return r < 0 ? r : 0;
        }
        if (n > 0 && !req->code[0]) {
                r = handle_reply_error(PROTO_E_CONFLICT,
                                       "MFA is already enabled: adding a device needs a current code (mlsecctl mfa "
                                       "add-device NAME).",
                                       out, max, ret_len);
                return r < 0 ? r : 0;
        }
        /* adding a device to an account with MFA: prove a factor you have (in fleet mode the
         * check passed here is also the database's proof for the change) */
        return n > 0 ? handle_mfa_need_code(d, p, req, out, max, ret_len) : 1;
}

int handle_mfa_begun(const char *token, const char *device, const char *alg, unsigned digits, const char *secret,
                     const char *uri, int64_t expires, char *out, size_t max, size_t *ret_len)
{
        struct proto_obj *o = proto_obj_new();

        if (!o || proto_obj_set_str(o, "token", token) < 0 || proto_obj_set_str(o, "device", device) < 0 ||
            proto_obj_set_str(o, "algorithm", alg) < 0 || proto_obj_set_int(o, "digits", digits) < 0 ||
            proto_obj_set_int(o, "period", TOTP_PERIOD) < 0 || proto_obj_set_str(o, "secret", secret) < 0 ||
            proto_obj_set_str(o, "uri", uri) < 0 || proto_obj_set_int(o, "expires", expires) < 0) {
                if (o)
                        proto_obj_wipe(o);
                o = proto_obj_free(o);
        }
        return handle_reply_obj(o, true, out, max, ret_len);
}

static int on_begin(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                    size_t *ret_len)
{
        const char *denied = handle_mfa_own_user(p, req);
        const char *name = req->device[0] ? req->device : ENROLL_DEVICE_DEFAULT;
        struct enroll_device_req er = {.user = p->user, .device = name, .alg = TOTP_SHA1, .digits = 6};
        struct enroll_device_result shown;
        struct enroll_pending pend;
        struct enroll_table *t;
        char host[256] = "", token[ENROLL_TOKEN_LEN + 1];
        int64_t now_us = wall_us(), expires_us = now_us + (int64_t)d->conf.enroll_timeout * 1000000;
        size_t n = 0;
        bool exists = false;
        int r;

        if (denied)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        if (!enroll_device_name_valid(name))
                return handle_reply_error(PROTO_E_BAD_REQUEST, "invalid device name", out, max, ret_len);
        r = n_devices(d, p->user, name, &n, &exists);
        if (r < 0)
                return fail(r, out, max, ret_len);
        r = handle_mfa_may_begin(d, p, req, name, n, exists, out, max, ret_len);
        if (r <= 0)
                return r < 0 ? fail(r, out, max, ret_len) : 0;
        if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                snprintf(host, sizeof(host), "mlsec");
        er.issuer = host;
        er.now = now_us / 1000000;
        handle_mfa_expire(d, now_us);
        r = pending_table(d, &t);
        if (r < 0)
                return fail(r, out, max, ret_len);
        r = enroll_pending_new(&er, &pend, &shown);
        if (r < 0)
                return fail(r, out, max, ret_len);
        pend.first = n == 0;
        r = enroll_table_add(t, p->uid, &pend, expires_us, token);
        seal_wipe(&pend, sizeof(pend));
        if (r == -EBUSY) {
                seal_wipe(&shown, sizeof(shown));
                return handle_reply_error(PROTO_E_RATE, "Too many enrolments are waiting; try again in a few minutes.",
                                          out, max, ret_len);
        }
        if (r < 0) {
                seal_wipe(&shown, sizeof(shown));
                return fail(r, out, max, ret_len);
        }
        arm_timer(d);
        r = handle_mfa_begun(token, name, totp_alg_to_string(er.alg), er.digits, shown.secret_b32, shown.uri,
                             expires_us / 1000000, out, max, ret_len);
        seal_wipe(&shown, sizeof(shown));
        seal_wipe(token, sizeof(token));
        return r;
}

static int on_confirm(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                      size_t *ret_len)
{
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], msg[256], detail[EVENT_DETAIL_MAX];
        const char *denied = handle_mfa_own_user(p, req);
        struct enroll_pending *e = NULL;
        struct enroll_table *t = d->pending ? d->pending->table : NULL;
        int64_t now_us = wall_us(), step = -1;
        struct proto_obj *o;
        bool first = false;
        int r;

        if (denied)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        handle_mfa_expire(d, now_us);
        e = enroll_table_find(t, p->uid, req->token, now_us);
        if (!e || strcmp(e->user, p->user) != 0) {
                char dur[64];
                snprintf(msg, sizeof(msg),
                         "No enrolment is waiting for this (it expired after %s, or was cancelled): start again "
                         "with mlsecctl mfa enable.",
                         util_duration((long)d->conf.enroll_timeout, dur, sizeof(dur)));
                return handle_reply_error(PROTO_E_EXPIRED, msg, out, max, ret_len);
        }
        r = enroll_pending_check(e, req->code, (time_t)(now_us / 1000000), d->conf.window, &step);
        if (r < 0) {
                enroll_table_drop(t, e);
                return fail(r, out, max, ret_len);
        }
        if (r == 0) {
                if (--e->tries_left == 0) {
                        enroll_table_drop(t, e);
                        arm_timer(d);
                        snprintf(msg, sizeof(msg),
                                 "Wrong code. The enrolment was cancelled after %d wrong codes; nothing was "
                                 "changed. Start again with mlsecctl mfa enable.",
                                 ENROLL_TRIES);
                        return handle_reply_error(PROTO_E_EXPIRED, msg, out, max, ret_len);
                }
                snprintf(msg, sizeof(msg),
                         "Wrong code (%u %s left). Type the code the authenticator shows now; check that its clock "
                         "is right.",
                         e->tries_left, e->tries_left == 1 ? "try" : "tries");
                return handle_reply_error(PROTO_E_CODE, msg, out, max, ret_len);
        }
        r = enroll_pending_commit(d->store, d->key, e, step, (time_t)(now_us / 1000000), &first, codes);
        snprintf(detail, sizeof(detail), "device '%s' (%s, %u digits) added by the user with mlsecctl", e->device,
                 totp_alg_to_string(e->alg), e->digits);
        if (r >= 0 && first)
                snprintf(detail, sizeof(detail),
                         "MFA enabled by the user with mlsecctl: device '%s' (%s, %u digits), %d backup codes issued",
                         e->device, totp_alg_to_string(e->alg), e->digits, BACKUP_CODE_COUNT);
        snprintf(msg, sizeof(msg), "%s", e->device);
        enroll_table_drop(t, e); /* one way or the other, this enrolment is over */
        arm_timer(d);
        if (r == -EEXIST)
                return handle_reply_error(PROTO_E_CONFLICT, "You already have a device of that name.", out, max,
                                          ret_len);
        if (r == -EALREADY)
                return handle_reply_error(PROTO_E_CONFLICT,
                                          "MFA was enabled meanwhile by another enrolment; add this device with "
                                          "mlsecctl mfa add-device NAME.",
                                          out, max, ret_len);
        if (r == -ESTALE)
                return handle_reply_error(PROTO_E_CONFLICT,
                                          "Your devices were removed meanwhile; start again with mlsecctl mfa enable.",
                                          out, max, ret_len);
        if (r < 0)
                return fail(r, out, max, ret_len);
        handle_audit(d, p->uid, p->user, first ? "mfa-enabled" : "device-added", detail);
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "device", msg) < 0 || proto_obj_set_bool(o, "mfa_enabled", true) < 0 ||
            (first && handle_mfa_add_codes(o, codes) < 0)) {
                if (o)
                        proto_obj_wipe(o);
                o = proto_obj_free(o);
        }
        seal_wipe(codes, sizeof(codes));
        return handle_reply_obj(o, true, out, max, ret_len);
}

/* ---- changes that need a code ---------------------------------------------------------------- */

static int on_remove(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                     size_t *ret_len)
{
        const char *denied = handle_mfa_own_user(p, req);
        char msg[256], detail[EVENT_DETAIL_MAX];
        struct proto_obj *o;
        bool exists = false, off = false;
        size_t n = 0;
        int r;

        if (denied)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        if (!req->device[0])
                return handle_reply_error(PROTO_E_BAD_REQUEST, "name the device to remove", out, max, ret_len);
        r = n_devices(d, p->user, req->device, &n, &exists);
        if (r < 0)
                return fail(r, out, max, ret_len);
        if (!exists) {
                /* before the code is checked: a typo does not spend it */
                snprintf(msg, sizeof(msg), "You have no device called '%s' (see mlsecctl mfa devices).", req->device);
                return handle_reply_error(PROTO_E_NOT_FOUND, msg, out, max, ret_len);
        }
        r = handle_mfa_need_code(d, p, req, out, max, ret_len);
        if (r <= 0)
                return r < 0 ? fail(r, out, max, ret_len) : 0;
        r = enroll_remove_device(d->store, p->user, req->device, &off);
        if (r == -ENOENT)
                return handle_reply_error(PROTO_E_NOT_FOUND, "That device was removed meanwhile.", out, max, ret_len);
        if (r < 0)
                return fail(r, out, max, ret_len);
        snprintf(detail, sizeof(detail), "device '%s' removed by the user with mlsecctl%s", req->device,
                 off ? "; it was the last one" : "");
        handle_audit(d, p->uid, p->user, "device-removed", detail);
        if (off)
                handle_audit(d, p->uid, p->user, "mfa-disabled",
                             "MFA is off: the last device and all backup codes were removed by the user");
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "device", req->device) < 0 || proto_obj_set_bool(o, "mfa_enabled", !off) < 0)
                o = proto_obj_free(o);
        return handle_reply_obj(o, false, out, max, ret_len);
}

static int on_disable(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                      size_t *ret_len)
{
        const char *denied = handle_mfa_own_user(p, req);
        char detail[EVENT_DETAIL_MAX];
        struct proto_obj *o;
        unsigned n = 0;
        int r;

        if (denied)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        r = handle_mfa_need_code(d, p, req, out, max, ret_len);
        if (r <= 0)
                return r < 0 ? fail(r, out, max, ret_len) : 0;
        r = enroll_disable(d->store, p->user, &n);
        if (r < 0)
                return fail(r, out, max, ret_len);
        snprintf(detail, sizeof(detail),
                 "%u device(s) and all backup codes removed by the user with mlsecctl mfa disable", n);
        handle_audit(d, p->uid, p->user, "mfa-disabled", detail);
        o = proto_obj_new();
        if (!o || proto_obj_set_int(o, "devices_removed", n) < 0)
                o = proto_obj_free(o);
        return handle_reply_obj(o, false, out, max, ret_len);
}

static int on_regenerate(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                         size_t *ret_len)
{
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN];
        const char *denied = handle_mfa_own_user(p, req);
        struct proto_obj *o;
        int r;

        if (denied)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        r = handle_mfa_need_code(d, p, req, out, max, ret_len);
        if (r <= 0)
                return r < 0 ? fail(r, out, max, ret_len) : 0;
        r = enroll_backup_codes(d->store, d->key, p->user, time(NULL), codes);
        if (r == -ENOENT)
                return handle_reply_error(PROTO_E_CONFLICT,
                                          "MFA is not enabled: enable it first (mlsecctl mfa enable).", out, max,
                                          ret_len);
        if (r < 0)
                return fail(r, out, max, ret_len);
        handle_audit(d, p->uid, p->user, "backup-codes-regenerated",
                     "10 new backup codes by the user with mlsecctl; the old ones no longer work");
        o = proto_obj_new();
        if (!o || handle_mfa_add_codes(o, codes) < 0) {
                if (o)
                        proto_obj_wipe(o);
                o = proto_obj_free(o);
        }
        seal_wipe(codes, sizeof(codes));
        return handle_reply_obj(o, true, out, max, ret_len);
}

int handle_mfa(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
               size_t *ret_len)
{
        if (fleet_configured(&d->conf) && req->method != PROTO_STATUS)
                return handle_mfa_fleet(d, p, req, out, max, ret_len);
        if (!d->store)
                return handle_reply_error(PROTO_E_UNAVAILABLE, "mlsecd has no credential store open", out, max,
                                          ret_len);
        switch (req->method) {
        case PROTO_STATUS:
                return on_status(d, p, req, out, max, ret_len);
        case PROTO_MFA_BEGIN:
                return on_begin(d, p, req, out, max, ret_len);
        case PROTO_MFA_CONFIRM:
                return on_confirm(d, p, req, out, max, ret_len);
        case PROTO_MFA_DEVICES:
                return on_devices(d, p, req, out, max, ret_len);
        case PROTO_MFA_REMOVE:
                return on_remove(d, p, req, out, max, ret_len);
        case PROTO_MFA_DISABLE:
                return on_disable(d, p, req, out, max, ret_len);
        case PROTO_BACKUP_CODES:
                return on_backup_codes(d, p, req, out, max, ret_len);
        case PROTO_BACKUP_REGENERATE:
                return on_regenerate(d, p, req, out, max, ret_len);
        default:
                return handle_reply_error(PROTO_E_METHOD, "unknown method", out, max, ret_len);
        }
}
