/* SPDX-License-Identifier: MIT */
/* The login notice (issue #5): what pam_mlsec shows the user when a session opens, worked
 * out here from activity.db and the credential store: the successful login before this
 * one, the failed attempts between the two with the newest of them, and warnings (a country
 * or a network not seen on the account lately, few backup codes left, no MFA). It only
 * reads. Another user's notice is root's alone (the PAM module in sshd, login, sudo); any
 * user may read their own. The sentences are the module's; this file sends facts. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "enroll.h"
#include "geo.h"

/* The code checks of mlsecctl's settings changes are recorded as logins of this service
 * (handlers_mfa.c): they are no login and no login attempt for the notice. */
#define NOTICE_CHECK_SERVICE "mlsecctl"
/* Without the auth event's id, this login is the newest successful one of the same user,
 * service and source at most this old: session open follows authentication within seconds. */
#define NOTICE_CURRENT_WINDOW_S 120

static int64_t wall_us(void)
{
        struct timespec t;

        clock_gettime(CLOCK_REALTIME, &t);
        return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Where a login came from: its client address, else its remote host ("" for neither). */
static const char *login_addr(const struct mlsec_event *e)
{
        return e->ip[0] ? e->ip : e->rhost;
}

/* {"id","time_us","service","from"?,"tty"?,"method","place"} of a login or an attempt. */
static struct proto_obj *login_obj(const struct activity_login *l)
{
        const struct mlsec_event *e = &l->event;
        struct proto_obj *o = proto_obj_new();
        int r;

        if (!o)
                return NULL;
        r = proto_obj_set_str(o, "id", e->id);
        if (r >= 0)
                r = proto_obj_set_int(o, "time_us", e->time_us);
        if (r >= 0)
                r = proto_obj_set_str(o, "service", e->service);
        if (r >= 0 && login_addr(e)[0])
                r = proto_obj_set_str(o, "from", login_addr(e));
        if (r >= 0 && e->tty[0])
                r = proto_obj_set_str(o, "tty", e->tty);
        if (r >= 0)
                r = proto_obj_set_str(o, "method", e->method);
        if (r >= 0)
                r = handle_set_place(o, &l->place);
        return r < 0 ? proto_obj_free(o) : o;
}

/* KEY: the login's object, or null without one. */
static int set_login(struct proto_obj *o, const char *key, bool have, const struct activity_login *l)
{
        return have ? proto_obj_set_obj(o, key, login_obj(l)) : proto_obj_set_str(o, key, NULL);
}

/* This login: found by the id of its auth event when the module knows it (then only that
 * one: an id that is not stored yet means this login is not in activity.db, and nothing
 * older may stand in for it), else by service and source among the very recent ones. */
static int find_current(struct daemon *d, const char *user, const struct proto_request *req, int64_t now,
                        struct activity_login *ret, bool *ret_have)
{
        int r;

        *ret_have = false;
        if (req->login[0])
                r = activity_login_get(d->act, user, req->login, ret);
        else if (req->service[0])
                r = activity_recent_login(d->act, user, req->service, req->ip, req->rhost,
                                          now - (int64_t)NOTICE_CURRENT_WINDOW_S * 1000000, ret);
        else
                r = -ENOENT;
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        *ret_have = true;
        return 0;
}

/* The place of this login: as stored with it, else looked up now. */
static void current_place(struct daemon *d, const char *addr, bool have_cur, const struct activity_login *cur,
                          struct geo_place *ret)
{
        if (have_cur && cur->place.stored) {
                *ret = cur->place.geo;
                return;
        }
        if (!addr[0] || geo_lookup(d->geo, addr, ret) < 0)
                *ret = (struct geo_place){.kind = GEO_NOT_AN_IP};
}

static struct proto_obj *warning(const char *kind)
{
        struct proto_obj *w = proto_obj_new();

        if (w && proto_obj_set_str(w, "kind", kind) < 0)
                w = proto_obj_free(w);
        return w;
}

/* new-country, new-network: against the user's other successful logins of the last
 * history_days days (activity_place_seen decides). */
static int place_warnings(struct daemon *d, const char *user, const char *addr, bool have_cur,
                          const struct activity_login *cur, int64_t now, struct proto_obj *warns)
{
        struct activity_seen seen;
        struct geo_place place;
        struct proto_obj *w;
        char net[GEO_NETWORK_MAX] = "";
        const char *country;
        int64_t since = now - (int64_t)d->conf.history_days * 86400 * 1000000;
        int r;

        current_place(d, addr, have_cur, cur, &place);
        country = place.kind == GEO_FOUND && place.country[0] ? place.country : NULL;
        if (!addr[0] || geo_network(addr, net, sizeof(net)) < 0)
                net[0] = '\0';
        if (!country && !net[0])
                return 0;
        r = activity_place_seen(d->act, user, since, have_cur ? cur->event.id : NULL, country, net, &seen);
        if (r < 0)
                return r;
        if (country && seen.located && !seen.country) {
                w = warning("new-country");
                r = w ? proto_obj_set_str(w, "country", place.country) : -ENOMEM;
                if (r >= 0 && place.country_name[0])
                        r = proto_obj_set_str(w, "country_name", place.country_name);
                if (r < 0) {
                        proto_obj_free(w);
                        return r;
                }
                r = proto_array_add(warns, w);
                if (r < 0)
                        return r;
        }
        if (net[0] && seen.addressed && !seen.network) {
                w = warning("new-network");
                r = w ? proto_obj_set_str(w, "network", net) : -ENOMEM;
                if (r < 0) {
                        proto_obj_free(w);
                        return r;
                }
                r = proto_array_add(warns, w);
        }
        return r < 0 ? r : 0;
}

/* backup-codes-low, mfa-not-enabled: from the credential store. */
static int mfa_warnings(struct daemon *d, const char *user, struct proto_obj *o, struct proto_obj *warns)
{
        struct enroll_status st = {0};
        struct proto_obj *w;
        bool mfa;
        int r;

        r = enroll_status(d->store, user, time(NULL), &st);
        if (r < 0)
                return r;
        mfa = st.n_devices > 0;
        r = proto_obj_set_bool(o, "mfa_enabled", mfa);
        if (r >= 0)
                r = proto_obj_set_int(o, "backup_codes_left", st.backup_left);
        if (r >= 0 && mfa && st.backup_left <= d->conf.backup_codes_low) {
                w = warning("backup-codes-low");
                r = w ? proto_obj_set_int(w, "left", st.backup_left) : -ENOMEM;
                if (r >= 0)
                        r = proto_array_add(warns, w);
                else
                        proto_obj_free(w);
        }
        if (r >= 0 && !mfa)
                r = proto_array_add(warns, warning("mfa-not-enabled"));
        enroll_status_clear(&st);
        return r;
}

static int notice_obj(struct daemon *d, const char *user, const struct proto_request *req, struct proto_obj *o)
{
        struct activity_login cur = {.place = {.stored = false}}, prev, fail;
        struct proto_obj *warns = NULL;
        const char *addr;
        bool have_cur, have_prev;
        uint64_t failed = 0;
        int64_t now = wall_us();
        int r;

        r = find_current(d, user, req, now, &cur, &have_cur);
        if (r < 0)
                return r;
        r = activity_previous_login(d->act, user, have_cur ? cur.event.id : NULL, NOTICE_CHECK_SERVICE, &prev);
        have_prev = r >= 0;
        if (r < 0 && r != -ENOENT)
                return r;
        r = activity_failures(d->act, user, have_prev ? prev.event.time_us : 0, have_cur ? cur.event.time_us : 0,
                              NOTICE_CHECK_SERVICE, &failed, &fail);
        if (r < 0)
                return r;
        r = proto_obj_set_str(o, "user", user);
        if (r >= 0)
                r = set_login(o, "current", have_cur, &cur);
        if (r >= 0)
                r = set_login(o, "previous", have_prev, &prev);
        if (r >= 0)
                r = proto_obj_set_int(o, "failed", (int64_t)failed);
        if (r >= 0 && failed >= ACTIVITY_FAILURES_MAX)
                r = proto_obj_set_bool(o, "failed_at_least", true); /* counted no further */
        if (r >= 0)
                r = set_login(o, "last_failure", failed > 0, &fail);
        if (r >= 0)
                r = proto_obj_set_int(o, "history_days", d->conf.history_days);
        if (r < 0)
                return r;
        warns = proto_array_new();
        if (!warns)
                return -ENOMEM;
        /* the session's client address, else this login's as stored (it may have had one when
         * it authenticated), else the session's remote host */
        addr = req->ip[0] ? req->ip : have_cur && login_addr(&cur.event)[0] ? login_addr(&cur.event) : req->rhost;
        r = place_warnings(d, user, addr, have_cur, &cur, now, warns);
        if (r >= 0)
                r = mfa_warnings(d, user, o, warns);
        if (r < 0) {
                proto_obj_free(warns);
                return r;
        }
        return proto_obj_set_obj(o, "warnings", warns);
}

int handle_notice(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len)
{
        const char *user = req->user[0] ? req->user : p->user;
        struct proto_obj *o;
        int r;

        if (strcmp(user, p->user) != 0 && p->uid != 0)
                /* not even admin_group: the notice is the PAM module's, as root, at a login */
                return handle_reply_error(PROTO_E_FORBIDDEN, "only root may read another user's login notice", out, max,
                                          ret_len);
        if (!user[0])
                return handle_reply_error(PROTO_E_FORBIDDEN, "your uid has no user name", out, max, ret_len);
        o = proto_obj_new();
        if (!o)
                return -ENOMEM;
        r = notice_obj(d, user, req, o);
        if (r < 0) {
                proto_obj_free(o);
                return handle_reply_error(PROTO_E_INTERNAL,
                                          r == -ENOMEM ? "out of memory" : "the login notice could not be read", out,
                                          max, ret_len);
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}
