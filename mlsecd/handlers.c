/* SPDX-License-Identifier: MIT */
/* mlsecd's request handlers and the rules of who may do what: only uid 0 reports events;
 * a user reads and logs out only their own; root and admin_group members act on anyone.
 * Who asks comes from SO_PEERCRED (struct peer), never from the request. Also the daemon's
 * own records: logouts in the audit log, sessions closed when logind drops them. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "journal.h"
#include "util.h"

static int64_t wall_us(void)
{
        struct timespec t;

        clock_gettime(CLOCK_REALTIME, &t);
        return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int handle_reply_error(const char *code, const char *msg, char *out, size_t max, size_t *ret_len)
{
        return proto_encode_error(code, msg, out, max, ret_len);
}

#define reply_error handle_reply_error

int handle_reply_obj(struct proto_obj *o, bool wipe, char *out, size_t max, size_t *ret_len)
{
        int r;

        if (!o)
                return -ENOMEM;
        r = proto_encode_reply(o, out, max, ret_len);
        if (wipe)
                proto_obj_wipe(o);
        proto_obj_free(o);
        if (r == -EMSGSIZE)
                return proto_encode_error(PROTO_E_INTERNAL, "reply too large; ask for fewer entries", out, max,
                                          ret_len);
        return r;
}

/* A reply {KEY: [items...], ...}: when the items do not fit in one datagram, the newest
 * ones that do are sent with "truncated": true rather than nothing. */
typedef struct proto_obj *(*item_fn)(const void *items, size_t i, void *ctx);

static int reply_list(const char *key, const void *items, size_t n, item_fn fn, void *ctx, const char *flag,
                      bool flag_value, char *out, size_t max, size_t *ret_len)
{
        for (size_t k = n;; k /= 2) {
                struct proto_obj *o = proto_obj_new(), *arr = proto_array_new();
                int r = o && arr ? 0 : -ENOMEM;

                for (size_t i = 0; i < k && r >= 0; i++)
                        r = proto_array_add(arr, fn(items, i, ctx));
                if (r >= 0) {
                        r = proto_obj_set_obj(o, key, arr);
                        arr = NULL;
                }
                if (r >= 0 && flag)
                        r = proto_obj_set_bool(o, flag, flag_value);
                if (r >= 0 && k < n)
                        r = proto_obj_set_bool(o, "truncated", true);
                if (r >= 0)
                        r = proto_encode_reply(o, out, max, ret_len);
                proto_obj_free(arr);
                proto_obj_free(o);
                if (r != -EMSGSIZE || k == 0)
                        return r;
        }
}

int handle_reply_list(const char *key, const void *items, size_t n, item_fn fn, void *ctx, char *out, size_t max,
                      size_t *ret_len)
{
        return reply_list(key, items, n, fn, ctx, NULL, false, out, max, ret_len);
}

static int reply_obj(struct proto_obj *o, char *out, size_t max, size_t *ret_len)
{
        return handle_reply_obj(o, false, out, max, ret_len);
}

/* Whose data a read request is about: NULL for everybody. Non-admins get only their own. */
const char *handle_target(const struct peer *p, const struct proto_request *req, const char **ret_denied)
{
        *ret_denied = NULL;
        if (req->all) {
                if (!p->admin)
                        *ret_denied = "only administrators may read every user's data";
                return NULL;
        }
        if (req->user[0] && strcmp(req->user, p->user) != 0) {
                if (!p->admin)
                        *ret_denied = "you may only read your own data";
                return req->user;
        }
        if (!p->user[0])
                *ret_denied = "your uid has no user name";
        return p->user;
}

/* Where an auth event came from: its client address (ip), else rhost when that is one.
 * False for a login without a remote side (a console): there is no place to store. A
 * database read error stores "unknown": the login is recorded all the same. */
static bool login_place(struct daemon *d, const struct mlsec_event *e, struct geo_place *ret)
{
        const char *addr = e->ip[0] ? e->ip : e->rhost;

        if (e->kind != EVENT_AUTH || !addr[0])
                return false;
        if (geo_lookup(d->geo, addr, ret) < 0)
                *ret = (struct geo_place){.kind = GEO_UNKNOWN};
        return true;
}

static struct proto_obj *place_obj(const struct activity_place *p)
{
        const struct geo_place *g = &p->geo;
        struct proto_obj *o;
        char desc[2 * GEO_NAME_MAX + 4];
        int r;

        if (!p->stored)
                return NULL;
        o = proto_obj_new();
        if (!o)
                return NULL;
        r = proto_obj_set_str(o, "kind", geo_kind_to_string(g->kind));
        if (r >= 0 && g->country[0])
                r = proto_obj_set_str(o, "country", g->country);
        if (r >= 0 && g->country_name[0])
                r = proto_obj_set_str(o, "country_name", g->country_name);
        if (r >= 0 && g->city[0])
                r = proto_obj_set_str(o, "city", g->city);
        if (r >= 0 && g->has_location)
                r = proto_obj_set_real(o, "latitude", g->latitude);
        if (r >= 0 && g->has_location)
                r = proto_obj_set_real(o, "longitude", g->longitude);
        if (r >= 0)
                r = proto_obj_set_str(o, "description", geo_describe(g, desc, sizeof(desc)));
        return r < 0 ? proto_obj_free(o) : o;
}

int handle_set_place(struct proto_obj *o, const struct activity_place *p)
{
        struct proto_obj *place = place_obj(p);

        if (place)
                return proto_obj_set_obj(o, "place", place);
        return p->stored ? -ENOMEM : proto_obj_set_str(o, "place", NULL);
}

/* E stored in activity.db, in the batch, as it is (canonical). */
static int store_one(struct daemon *d, const struct mlsec_event *e, const struct geo_place *place, bool *ret_new)
{
        int r = activity_store_event_at(d->act, e, place, ret_new);

        if (r >= 0 && *ret_new) {
                batch_new_event(d, e);
                d->ingested++;
        }
        return r;
}

int handle_store_event(struct daemon *d, const struct mlsec_event *given, bool *ret_new)
{
        struct mlsec_event canon = *given, *e = &canon, audits[RULES_N];
        struct geo_place place;
        bool is_new = false, placed, audit_new;
        size_t n;
        int r;

        /* whoever reported it (a module of an older version, the spool): stored canonical */
        event_canonical_hosts(e);

        r = batch_activity(d);
        if (r < 0)
                return r;
        placed = login_place(d, e, &place);
        r = store_one(d, e, placed ? &place : NULL, &is_new);
        if (r < 0)
                return r;
        *ret_new = is_new;
        if (!is_new || e->kind != EVENT_AUTH)
                return 0;
        /* judged once, when first stored; the alerts' audit entries stored here, after it */
        n = handle_rules(d, e, placed ? &place : NULL, audits);
        for (size_t i = 0; i < n; i++)
                if (store_one(d, &audits[i], NULL, &audit_new) < 0)
                        journal_daemon(LOG_ERR, "could not record the audit entry %s for %s", audits[i].action,
                                       audits[i].user);
        return 0;
}

void handle_audit(struct daemon *d, int64_t actor_uid, const char *user, const char *action, const char *detail)
{
        struct mlsec_event e;
        bool is_new;

        event_init(&e, EVENT_AUDIT);
        e.actor_uid = actor_uid;
        e.pid = getpid();
        (void)event_set_text(e.user, sizeof(e.user), user);
        (void)event_set_text(e.action, sizeof(e.action), action);
        (void)event_set_text(e.detail, sizeof(e.detail), detail);
        if (handle_store_event(d, &e, &is_new) < 0)
                journal_daemon(3, "could not record audit entry %s for %s", action, user);
}

static int on_report(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                     size_t *ret_len)
{
        struct proto_obj *o;
        bool is_new = false;
        int r;

        r = handle_store_event(d, &req->event, &is_new);
        if (r < 0)
                return reply_error(PROTO_E_INTERNAL, "the event could not be stored", out, max, ret_len);
        o = proto_obj_new();
        if (!o || proto_obj_set_bool(o, "stored", is_new) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return reply_obj(o, out, max, ret_len);
}

/* An event of the history with its "place" (null when stored without one). */
static struct proto_obj *event_item(const void *items, size_t i, void *ctx)
{
        const struct activity_login *l = &((const struct activity_login *)items)[i];
        struct proto_obj *o = proto_event_to_obj(&l->event);

        if (o && handle_set_place(o, &l->place) < 0)
                return proto_obj_free(o);
        return o;
}

static int on_history(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                      size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        struct activity_login *ev = NULL;
        size_t n = 0;
        int r;

        if (denied)
                return reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        r = activity_logins(d->act, user, req->limit ? req->limit : PROTO_LIMIT_DEFAULT, req->failed_only, &ev, &n);
        if (r < 0)
                return reply_error(PROTO_E_INTERNAL, "history could not be read", out, max, ret_len);
        r = reply_list("events", ev, n, event_item, NULL, NULL, false, out, max, ret_len);
        free(ev);
        return r;
}

static struct proto_obj *session_obj(const struct activity_session *s, bool live)
{
        struct proto_obj *o = proto_obj_new();

        if (!o)
                return NULL;
        proto_obj_set_str(o, "id", s->logind_id);
        proto_obj_set_str(o, "user", s->user);
        if (s->uid >= 0)
                proto_obj_set_int(o, "uid", s->uid);
        proto_obj_set_str(o, "service", s->service);
        proto_obj_set_str(o, "tty", s->tty);
        proto_obj_set_str(o, "rhost", s->rhost);
        proto_obj_set_str(o, "ip", s->ip);
        proto_obj_set_int(o, "opened_us", s->opened_us);
        if (s->closed_us) {
                proto_obj_set_int(o, "closed_us", s->closed_us);
                proto_obj_set_str(o, "end_reason", s->end_reason);
                if (s->ended_by_uid >= 0)
                        proto_obj_set_int(o, "ended_by_uid", s->ended_by_uid);
        }
        proto_obj_set_bool(o, "live", live);
        return o;
}

static bool logind_has(const struct logind_session *ls, size_t n, const char *id)
{
        for (size_t i = 0; id[0] && i < n; i++)
                if (strcmp(ls[i].id, id) == 0)
                        return true;
        return false;
}

struct session_ctx {
        bool live;
        const struct logind_session *ls;
        size_t nl;
};

static struct proto_obj *session_item(const void *items, size_t i, void *ctx)
{
        const struct activity_session *s = &((const struct activity_session *)items)[i];
        const struct session_ctx *c = ctx;

        return session_obj(s, c->live && !s->closed_us && logind_has(c->ls, c->nl, s->logind_id));
}

static int on_sessions(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                       size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        struct logind_session *ls = NULL;
        struct activity_session *ss = NULL;
        struct session_ctx ctx = {0};
        size_t n = 0, nl = 0;
        int r;

        if (denied)
                return reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        if (d->logind && logind_list(d->logind, &ls, &nl) >= 0)
                ctx = (struct session_ctx){.live = true, .ls = ls, .nl = nl};
        r = activity_sessions(d->act, user, req->include_closed, req->limit ? req->limit : PROTO_LIMIT_DEFAULT, &ss,
                              &n);
        if (r >= 0)
                r = reply_list("sessions", ss, n, session_item, &ctx, "live", ctx.live, out, max, ret_len);
        else
                r = reply_error(PROTO_E_INTERNAL, "sessions could not be read", out, max, ret_len);
        free(ss);
        free(ls);
        return r;
}

/* Log a session out. The owner comes from logind (the kernel's view of who runs it) when
 * available, else from our record; the caller must be that owner or an admin. */
static int on_logout(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                     size_t *ret_len)
{
        struct activity_session rec;
        struct logind_session ls;
        char owner[EVENT_USER_MAX], detail[EVENT_DETAIL_MAX];
        bool have_rec;
        int r;

        if (!d->logind)
                return reply_error(PROTO_E_UNAVAILABLE, "no connection to systemd-logind: cannot log sessions out", out,
                                   max, ret_len);
        have_rec = activity_session_get(d->act, req->session, &rec) >= 0;
        r = logind_get(d->logind, req->session, &ls);
        if (r == -ENOENT)
                return reply_error(PROTO_E_NOT_FOUND, "no such session", out, max, ret_len);
        if (r < 0)
                return reply_error(PROTO_E_UNAVAILABLE, "systemd-logind did not answer", out, max, ret_len);
        snprintf(owner, sizeof(owner), "%s", ls.user[0] ? ls.user : have_rec ? rec.user : "");
        if (!p->admin && (ls.uid != (int64_t)p->uid || strcmp(owner, p->user) != 0))
                /* same answer as for a session that does not exist: no probing of others' ids */
                return reply_error(PROTO_E_NOT_FOUND, "no such session", out, max, ret_len);
        r = logind_terminate(d->logind, req->session, DAEMON_ESCALATE_MS);
        if (r == -ENOENT)
                return reply_error(PROTO_E_NOT_FOUND, "no such session", out, max, ret_len);
        if (r < 0)
                return reply_error(PROTO_E_UNAVAILABLE, "systemd-logind refused to terminate the session", out, max,
                                   ret_len);
        (void)activity_session_end(d->act, req->session, wall_us(), "logout", p->uid);
        snprintf(detail, sizeof(detail), "session %s (%s%s%s) logged out by %s (uid %u)", req->session,
                 ls.service[0] ? ls.service
                 : have_rec    ? rec.service
                               : "?",
                 ls.remote_host[0] ? " from " : "", ls.remote_host, p->user[0] ? p->user : "?", (unsigned)p->uid);
        handle_audit(d, p->uid, owner, "session-terminated", detail);

        struct proto_obj *o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "session", req->session) < 0 || proto_obj_set_str(o, "user", owner) < 0 ||
            proto_obj_set_bool(o, "terminated", true) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return reply_obj(o, out, max, ret_len);
}

static struct proto_obj *audit_item(const void *items, size_t i, void *ctx)
{
        const struct activity_audit *a = &((const struct activity_audit *)items)[i];
        struct proto_obj *e = proto_obj_new();

        if (!e)
                return NULL;
        proto_obj_set_int(e, "seq", a->seq);
        proto_obj_set_int(e, "time_us", a->time_us);
        if (a->actor_uid >= 0)
                proto_obj_set_int(e, "actor_uid", a->actor_uid);
        proto_obj_set_str(e, "user", a->user);
        proto_obj_set_str(e, "action", a->action);
        proto_obj_set_str(e, "detail", a->detail);
        return e;
}

static int on_audit(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                    size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        struct activity_audit *a = NULL;
        size_t n = 0;
        int r;

        if (denied)
                return reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        r = activity_audit(d->act, user, req->limit ? req->limit : PROTO_LIMIT_DEFAULT, &a, &n);
        if (r < 0)
                return reply_error(PROTO_E_INTERNAL, "the audit log could not be read", out, max, ret_len);
        r = reply_list("entries", a, n, audit_item, NULL, NULL, false, out, max, ret_len);
        free(a);
        return r;
}

static int on_audit_verify(struct daemon *d, const struct peer *p, char *out, size_t max, size_t *ret_len)
{
        uint64_t checked = 0;
        int64_t bad = -1;
        struct proto_obj *o;
        int r;

        r = activity_audit_verify(d->act, &checked, &bad);
        if (r < 0)
                return reply_error(PROTO_E_INTERNAL, "the audit log could not be read", out, max, ret_len);
        o = proto_obj_new();
        if (!o || proto_obj_set_bool(o, "intact", bad < 0) < 0 ||
            proto_obj_set_int(o, "checked", (int64_t)checked) < 0 ||
            (bad >= 0 ? proto_obj_set_int(o, "first_bad", bad) : proto_obj_set_str(o, "first_bad", NULL)) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return reply_obj(o, out, max, ret_len);
}

static int on_ping(struct daemon *d, char *out, size_t max, size_t *ret_len)
{
        struct proto_obj *o = proto_obj_new();

        if (!o || proto_obj_set_int(o, "version", PROTO_VERSION) < 0 || proto_obj_set_int(o, "pid", getpid()) < 0 ||
            proto_obj_set_bool(o, "logind", d->logind != NULL) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return reply_obj(o, out, max, ret_len);
}

/* ---- the handler table ---- */

typedef int (*handler_fn)(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out,
                          size_t max, size_t *ret_len);

static int h_ping(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len)
{
        return on_ping(d, out, max, ret_len);
}

static int h_report(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                    size_t *ret_len)
{
        return on_report(d, p, req, out, max, ret_len);
}

static int h_audit_verify(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out,
                          size_t max, size_t *ret_len)
{
        return on_audit_verify(d, p, out, max, ret_len);
}

/* Who may call a method, from SO_PEERCRED. Methods open to anyone still decide inside whose
 * data the caller may see or change (handle_target: their own, or anyone's for an admin). */
enum who {
        WHO_ANYONE, /* any local user */
        WHO_ROOT,   /* uid 0 only: the PAM module's reports */
        WHO_ADMIN,  /* root and members of admin_group */
};

/* One row per method, in the spirit of OpenSSH's monitor table: the handler, who may call
 * it, the refusal otherwise, and whether it joins the write batch (its reply then waits for
 * the batch's commit; every other request runs after the batch is committed, so it reads
 * what was reported so far, and its own changes are committed before its reply). */
static const struct handler {
        handler_fn fn;
        enum who who;
        bool batch;
        const char *denied;
} handlers[_PROTO_METHOD_MAX] = {
        [PROTO_PING] = {h_ping, WHO_ANYONE, false, NULL},
        [PROTO_REPORT] = {h_report, WHO_ROOT, true, "only root may report events"},
        [PROTO_HISTORY] = {on_history, WHO_ANYONE, false, NULL},
        [PROTO_SESSIONS] = {on_sessions, WHO_ANYONE, false, NULL},
        [PROTO_LOGOUT] = {on_logout, WHO_ANYONE, false, NULL},
        [PROTO_AUDIT] = {on_audit, WHO_ANYONE, false, NULL},
        [PROTO_AUDIT_VERIFY] = {h_audit_verify, WHO_ADMIN, false, "only administrators may verify the audit log"},
        [PROTO_STATUS] = {handle_mfa, WHO_ANYONE, false, NULL},
        [PROTO_MFA_BEGIN] = {handle_mfa, WHO_ANYONE, false, NULL},
        [PROTO_MFA_CONFIRM] = {handle_mfa, WHO_ANYONE, false, NULL},
        [PROTO_MFA_DEVICES] = {handle_mfa, WHO_ANYONE, false, NULL},
        [PROTO_MFA_REMOVE] = {handle_mfa, WHO_ANYONE, false, NULL},
        [PROTO_MFA_DISABLE] = {handle_mfa, WHO_ANYONE, false, NULL},
        [PROTO_BACKUP_CODES] = {handle_mfa, WHO_ANYONE, false, NULL},
        [PROTO_BACKUP_REGENERATE] = {handle_mfa, WHO_ANYONE, false, NULL},
        [PROTO_VERIFY] = {handle_verify, WHO_ANYONE, true, NULL},
        [PROTO_ADMIN_USERS] = {handle_admin, WHO_ADMIN, false, "only administrators may list users"},
        [PROTO_ADMIN_RESET_MFA] = {handle_admin, WHO_ADMIN, false, "only administrators may reset a user's MFA"},
        [PROTO_ADMIN_UNLOCK] = {handle_admin, WHO_ADMIN, false, "only administrators may unlock a user"},
        [PROTO_ADMIN_IMPORT] = {handle_import, WHO_ADMIN, false, "only administrators may import a user's MFA"},
        [PROTO_REPORT_EVENT] = {handle_alerts, WHO_ANYONE, false, NULL},
        [PROTO_ADMIN_ALERTS] = {handle_alerts, WHO_ADMIN, false, "only administrators may read and acknowledge alerts"},
        [PROTO_ADMIN_ALERT_ACK] = {handle_alerts, WHO_ADMIN, false,
                                   "only administrators may read and acknowledge alerts"},
        [PROTO_NOTICE] = {handle_notice, WHO_ANYONE, false, NULL},
        [PROTO_ADMIN_STATUS] = {handle_admin, WHO_ADMIN, false, "only administrators may read mlsecd's status"},
        [PROTO_FORGET] = {handle_grants, WHO_ANYONE, false, NULL},
        [PROTO_ADMIN_FORGET] = {handle_grants, WHO_ADMIN, false,
                                "only administrators may forget another user's grants"},
};

int handle_request(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t outmax,
                   size_t *ret_len, bool *ret_deferred)
{
        const struct handler *h = (unsigned)req->method < _PROTO_METHOD_MAX ? &handlers[req->method] : NULL;
        int r;

        *ret_deferred = false;
        if (!h || !h->fn)
                return reply_error(PROTO_E_METHOD, "unknown method", out, outmax, ret_len);
        if ((h->who == WHO_ROOT && p->uid != 0) || (h->who == WHO_ADMIN && !p->admin))
                return reply_error(PROTO_E_FORBIDDEN, h->denied, out, outmax, ret_len);
        if (h->batch) {
                r = h->fn(d, p, req, out, outmax, ret_len);
                *ret_deferred = r >= 0;
                return r;
        }
        (void)batch_commit(d); /* read what was reported so far; no open transaction under it */
        r = h->fn(d, p, req, out, outmax, ret_len);
        (void)batch_commit(d); /* what it recorded (audit entries) is stored before its reply */
        return r;
}

void handle_logind_change(bool new_session, const char *id, void *userdata)
{
        struct daemon *d = userdata;

        if (new_session)
                return; /* the PAM module reports the session with its details */
        (void)batch_commit(d);
        if (activity_session_end(d->act, id, wall_us(), "ended", -1) < 0)
                journal_daemon(4, "could not close session %s after logind removed it", id);
}

void handle_reconcile(struct daemon *d)
{
        char(*ids)[EVENT_SESSION_MAX] = NULL;
        struct logind_session *ls = NULL;
        size_t n = 0, nl = 0;

        if (!d->logind || logind_list(d->logind, &ls, &nl) < 0)
                return;
        (void)batch_commit(d);
        if (activity_open_session_ids(d->act, &ids, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        if (ids[i][0] && !logind_has(ls, nl, ids[i]))
                                (void)activity_session_end(d->act, ids[i], wall_us(), "ended", -1);
        free(ids);
        free(ls);
}
