/* SPDX-License-Identifier: MIT */
/* Alerts: the suspicious-activity rules run on every login event mlsecd stores (reports,
 * the spool, its own code checks), each alert an audit entry and a journal event; a user's
 * report of one of their own events (report-event: whose events they are comes from
 * SO_PEERCRED, the id may be an unambiguous prefix among the caller's own events, and another
 * user's event is "no such event" like one that does not exist);
 * the administrators' list of alerts and their acknowledgement; and the alerts on a user's
 * overview. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "journal.h"
#include "rules.h"
#include "util.h"

#define ALERT_ACTION_PREFIX "alert-" /* journal.c gives these their own MESSAGE_ID */
#define KIND_USER_REPORT    "user-report"
#define STATUS_LATEST       3 /* open alerts shown on the overview */
#define HOST_SHOWN          80

static int64_t wall_us(void)
{
        struct timespec t;

        clock_gettime(CLOCK_REALTIME, &t);
        return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* The audit entry of an alert of KIND raised for USER by ACTOR_UID (-1: the rules). */
static int alert_event(int64_t actor_uid, const char *user, const char *kind, const char *detail,
                       struct mlsec_event *ret)
{
        char action[EVENT_WORD_MAX];

        event_init(ret, EVENT_AUDIT);
        ret->actor_uid = actor_uid;
        ret->pid = getpid();
        (void)snprintf(action, sizeof(action), ALERT_ACTION_PREFIX "%s", kind);
        if (event_set_text(ret->user, sizeof(ret->user), user) < 0 ||
            event_set_text(ret->action, sizeof(ret->action), action) < 0 ||
            event_set_text(ret->detail, sizeof(ret->detail), detail) < 0)
                return -EINVAL;
        return 0;
}

/* An alert's audit entry stored inside the current batch: journalled after the commit with
 * the batch's other events. */
static void alert_audit(struct daemon *d, int64_t actor_uid, const char *user, const char *kind, const char *detail)
{
        struct mlsec_event a;
        bool is_new;

        if (alert_event(actor_uid, user, kind, detail, &a) < 0 || handle_store_event(d, &a, &is_new) < 0)
                journal_daemon(LOG_ERR, "could not record the audit entry of alert %s for %s", kind, user);
}

size_t handle_rules(struct daemon *d, const struct mlsec_event *e, const struct geo_place *place,
                    struct mlsec_event ret[RULES_N])
{
        struct rules_alert al[RULES_N];
        size_t n = 0, out = 0;
        int r;

        r = rules_judge(d->act, &d->conf, e, place, DAEMON_CHECK_SERVICE, al, &n);
        if (r < 0) {
                journal_daemon(LOG_WARNING, "could not judge login event %s of %s against the alert rules: %s", e->id,
                               e->user, strerror(-r));
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                char detail[EVENT_DETAIL_MAX];
                int w = snprintf(detail, sizeof(detail), "alert %" PRId64 ", event %s: %s", al[i].id, e->id,
                                 al[i].detail);

                if (w < 0 || (size_t)w >= sizeof(detail))
                        rules_utf8_tail(detail);
                if (alert_event(-1, e->user, al[i].kind, detail, &ret[out]) < 0)
                        journal_daemon(LOG_ERR, "could not record the audit entry of alert %s for %s", al[i].kind,
                                       e->user);
                else
                        out++;
        }
        return out;
}

/* ---- replies ---------------------------------------------------------------------- */

static struct proto_obj *alert_obj(const struct activity_alert *x)
{
        struct proto_obj *o = proto_obj_new();
        int r;

        if (!o)
                return NULL;
        r = proto_obj_set_int(o, "id", x->id);
        if (r >= 0)
                r = proto_obj_set_int(o, "time_us", x->time_us);
        if (r >= 0)
                r = proto_obj_set_str(o, "user", x->user);
        if (r >= 0)
                r = proto_obj_set_str(o, "kind", x->kind);
        if (r >= 0)
                r = proto_obj_set_str(o, "event_id", x->event_id);
        if (r >= 0)
                r = proto_obj_set_str(o, "detail", x->detail);
        if (r >= 0 && x->note[0])
                r = proto_obj_set_str(o, "note", x->note);
        if (r >= 0 && x->reporter_uid >= 0)
                r = proto_obj_set_int(o, "reporter_uid", x->reporter_uid);
        if (r >= 0)
                r = proto_obj_set_bool(o, "open", x->acked_us == 0);
        if (r >= 0 && x->acked_us)
                r = proto_obj_set_int(o, "acked_us", x->acked_us);
        if (r >= 0 && x->acked_us && x->acked_by_uid >= 0)
                r = proto_obj_set_int(o, "acked_by_uid", x->acked_by_uid);
        return r < 0 ? proto_obj_free(o) : o;
}

static struct proto_obj *alert_item(const void *items, size_t i, void *ctx)
{
        return alert_obj(&((const struct activity_alert *)items)[i]);
}

int handle_alerts_status(struct daemon *d, const char *user, struct proto_obj *o)
{
        struct activity_alert *xs = NULL;
        struct proto_obj *al = NULL, *latest = NULL;
        uint64_t open = 0;
        size_t n = 0;
        int r;

        r = activity_alerts_open(d->act, user, &open);
        if (r >= 0)
                r = activity_alerts(d->act, user, true, STATUS_LATEST, &xs, &n);
        if (r < 0)
                return r;
        al = proto_obj_new();
        latest = proto_array_new();
        r = al && latest ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = proto_array_add(latest, alert_obj(&xs[i]));
        if (r >= 0)
                r = proto_obj_set_int(al, "open", open > INT64_MAX ? INT64_MAX : (int64_t)open);
        if (r >= 0) {
                r = proto_obj_set_obj(al, "latest", latest);
                latest = NULL;
        }
        if (r >= 0) {
                r = proto_obj_set_obj(o, "alerts", al);
                al = NULL;
        }
        proto_obj_free(latest);
        proto_obj_free(al);
        free(xs);
        return r;
}

/* "login ok via sshd from 203.0.113.7 at 2026-12-02 03:04:05 UTC" */
static const char *describe_login(const struct mlsec_event *e, char *buf, size_t len)
{
        char svc[HOST_SHOWN], host[HOST_SHOWN], when[64] = "?";
        const char *from = e->ip[0] ? e->ip : e->rhost;
        time_t t = (time_t)(e->time_us / 1000000);
        struct tm tm;

        if (gmtime_r(&t, &tm))
                (void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        (void)snprintf(buf, len, "login %s via %s %s %s at %s", e->result,
                       util_escape(e->service[0] ? e->service : "?", svc, sizeof(svc)), from[0] ? "from" : "on",
                       util_escape(from[0]     ? from
                                   : e->tty[0] ? e->tty
                                               : "local",
                                   host, sizeof(host)),
                       when);
        return buf;
}

static int on_report_event(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out,
                           size_t max, size_t *ret_len)
{
        struct activity_alert x = {.reporter_uid = p->uid, .acked_by_uid = -1};
        struct activity_login l;
        char what[320], detail[EVENT_DETAIL_MAX];
        struct proto_obj *o;
        int64_t id = 0;
        int r, w;

        if (!p->user[0])
                return handle_reply_error(PROTO_E_FORBIDDEN, "your uid has no user name", out, max, ret_len);
        /* the id or its start, looked up among the caller's own events only: another user's
         * event gets the answer of one that does not exist, and never makes a prefix
         * ambiguous, so there is no probing */
        r = activity_event_find(d->act, p->user, p->uid, req->event_id, &l);
        if (r == -ENOTUNIQ) {
                (void)snprintf(what, sizeof(what),
                               "the event id prefix %s is ambiguous: more than one event in your history "
                               "starts with it; give more digits",
                               req->event_id);
                return handle_reply_error(PROTO_E_AMBIGUOUS, what, out, max, ret_len);
        }
        if (r < 0 && r != -ENOENT && r != -EINVAL)
                return handle_reply_error(PROTO_E_INTERNAL, "the history could not be read", out, max, ret_len);
        if (r < 0 || strcmp(l.event.user, p->user) != 0 || (l.event.uid >= 0 && l.event.uid != p->uid))
                return handle_reply_error(PROTO_E_NOT_FOUND, "no such event in your history", out, max, ret_len);
        x.time_us = wall_us();
        memcpy(x.user, p->user, sizeof(x.user));
        (void)snprintf(x.kind, sizeof(x.kind), "%s", KIND_USER_REPORT);
        memcpy(x.event_id, l.event.id, sizeof(x.event_id));
        (void)snprintf(x.detail, sizeof(x.detail), "reported by %s (uid %u): %s", p->user, (unsigned)p->uid,
                       describe_login(&l.event, what, sizeof(what)));
        _Static_assert(sizeof(x.note) >= sizeof(req->note), "a note fits");
        memcpy(x.note, req->note, sizeof(req->note));
        r = activity_alert_add(d->act, &x, &id);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the report could not be stored", out, max, ret_len);
        if (id == 0)
                return handle_reply_error(PROTO_E_CONFLICT, "you have reported this event already", out, max, ret_len);
        w = snprintf(detail, sizeof(detail), "alert %" PRId64 ", event %s: %s%s%s%s", id, l.event.id, x.detail,
                     x.note[0] ? "; note: \"" : "", x.note, x.note[0] ? "\"" : "");
        if (w < 0 || (size_t)w >= sizeof(detail))
                rules_utf8_tail(detail); /* a long note is cut here; the alert keeps it whole */
        alert_audit(d, p->uid, p->user, KIND_USER_REPORT, detail);
        o = proto_obj_new();
        if (!o || proto_obj_set_int(o, "alert", id) < 0 || proto_obj_set_str(o, "event_id", l.event.id) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

static int on_admin_alerts(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out,
                           size_t max, size_t *ret_len)
{
        struct activity_alert *xs = NULL;
        size_t n = 0;
        int r;

        r = activity_alerts(d->act, req->user[0] ? req->user : NULL, req->open_only,
                            req->limit ? req->limit : PROTO_LIMIT_DEFAULT, &xs, &n);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the alerts could not be read", out, max, ret_len);
        r = handle_reply_list("alerts", xs, n, alert_item, NULL, out, max, ret_len);
        free(xs);
        return r;
}

static int on_alert_ack(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                        size_t *ret_len)
{
        struct activity_alert x;
        char detail[EVENT_DETAIL_MAX];
        struct proto_obj *o;
        int r;

        r = activity_alert_get(d->act, req->alert, &x);
        if (r == -ENOENT)
                return handle_reply_error(PROTO_E_NOT_FOUND, "no such alert", out, max, ret_len);
        if (r >= 0)
                r = activity_alert_ack(d->act, req->alert, wall_us(), p->uid);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the alert could not be acknowledged", out, max, ret_len);
        if (r == 0)
                return handle_reply_error(PROTO_E_CONFLICT, "that alert is acknowledged already", out, max, ret_len);
        (void)snprintf(detail, sizeof(detail), "alert %" PRId64 " (%s, event %s) acknowledged by %s (uid %u)", x.id,
                       x.kind, x.event_id, p->user[0] ? p->user : "?", (unsigned)p->uid);
        handle_audit(d, p->uid, x.user, "ack-alert", detail);
        o = proto_obj_new();
        if (!o || proto_obj_set_int(o, "alert", x.id) < 0 || proto_obj_set_str(o, "user", x.user) < 0 ||
            proto_obj_set_str(o, "kind", x.kind) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

int handle_alerts(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len)
{
        if (req->method == PROTO_REPORT_EVENT)
                return on_report_event(d, p, req, out, max, ret_len);
        if (req->method == PROTO_ADMIN_ALERTS)
                return on_admin_alerts(d, p, req, out, max, ret_len);
        return on_alert_ack(d, p, req, out, max, ret_len);
}
