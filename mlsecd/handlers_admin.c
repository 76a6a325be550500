/* SPDX-License-Identifier: MIT */
/* Administration through mlsecd: every user's MFA state, account recovery (reset-mfa),
 * unlock and mlsecd's own state (the spool, its reserve and its losses), for root and members of admin_group only: who
 * asks comes from SO_PEERCRED (struct peer), never from the request. Every change is audited with the actor, and a
 * reset leaves the user a notice for their next session. Secrets are never read here: the
 * store is asked for counts and removes what it holds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "enroll.h"
#include "spool.h"
#include "store.h"

#define ADMIN_USERS_MAX 10000 /* users looked at for one listing */

/* One entry of the user list: a name, and its newest successful login when recorded. */
struct admin_user {
        char user[STORE_USER_MAX];
        const struct activity_user *act; /* NULL: no login recorded */
};

/* By name; of two entries for one name, the one with a recorded login first. */
static int cmp_admin_user(const void *a, const void *b)
{
        const struct admin_user *x = a, *y = b;
        int c = strcmp(x->user, y->user);

        return c ? c : (y->act != NULL) - (x->act != NULL);
}

/* The union of the store's users and the recorded ones, sorted, each once. */
static int merge_users(char (*su)[STORE_USER_MAX], size_t ns, const struct activity_user *au, size_t na,
                       struct admin_user **ret, size_t *ret_n)
{
        struct admin_user *m;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        if (ns + na == 0)
                return 0;
        m = calloc(ns + na, sizeof(*m));
        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < ns; i++)
                snprintf(m[i].user, sizeof(m[i].user), "%s", su[i]);
        for (size_t j = 0; j < na; j++) {
                snprintf(m[ns + j].user, sizeof(m[ns + j].user), "%s", au[j].user);
                m[ns + j].act = &au[j];
        }
        qsort(m, ns + na, sizeof(*m), cmp_admin_user);
        for (size_t i = 0; i < ns + na; i++)
                if (n == 0 || strcmp(m[n - 1].user, m[i].user) != 0)
                        m[n++] = m[i];
        *ret = m;
        *ret_n = n;
        return 0;
}

/* Where a login came from, for people: the address, else the host name, else the tty. */
static const char *login_from(const struct activity_user *u)
{
        if (u->ip[0])
                return u->ip;
        if (u->rhost[0])
                return u->rhost;
        if (u->tty[0])
                return u->tty;
        return "local";
}

static struct proto_obj *user_obj(const struct admin_user *u, const struct enroll_status *st)
{
        struct proto_obj *o = proto_obj_new(), *locks = proto_array_new();
        int r = o && locks ? 0 : -ENOMEM;

        if (r >= 0)
                r = proto_obj_set_str(o, "user", u->user);
        if (r >= 0)
                r = proto_obj_set_bool(o, "mfa_enabled", st->n_devices > 0);
        if (r >= 0)
                r = proto_obj_set_int(o, "devices", (int64_t)st->n_devices);
        if (r >= 0)
                r = proto_obj_set_int(o, "backup_codes_left", st->backup_left);
        for (size_t i = 0; r >= 0 && i < st->n_lockouts; i++) {
                struct proto_obj *l = proto_obj_new();
                r = l ? proto_obj_set_str(l, "source", st->lockouts[i].source) : -ENOMEM;
                if (r >= 0)
                        r = proto_obj_set_int(l, "locked_at", st->lockouts[i].locked_at);
                if (r >= 0)
                        r = proto_obj_set_int(l, "until", st->lockouts[i].until);
                if (r >= 0)
                        r = proto_array_add(locks, l);
                else
                        proto_obj_free(l);
        }
        if (r >= 0) {
                r = proto_obj_set_obj(o, "lockouts", locks);
                locks = NULL;
        }
        if (r >= 0 && u->act && u->act->last_login_us > 0) {
                r = proto_obj_set_int(o, "last_login_us", u->act->last_login_us);
                if (r >= 0)
                        r = proto_obj_set_str(o, "last_login_from", login_from(u->act));
                if (r >= 0 && u->act->service[0])
                        r = proto_obj_set_str(o, "last_login_service", u->act->service);
        }
        proto_obj_free(locks);
        if (r < 0)
                return proto_obj_free(o);
        return o;
}

/* {"users":[...]} with the first K users. */
static int encode_users(struct daemon *d, const struct admin_user *m, size_t k, bool truncated, time_t now, char *out,
                        size_t max, size_t *ret_len)
{
        struct proto_obj *o = proto_obj_new(), *arr = proto_array_new();
        int r = o && arr ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < k; i++) {
                struct enroll_status st = {0};
                struct proto_obj *u;

                r = enroll_status(d->store, m[i].user, now, &st);
                if (r < 0)
                        break;
                u = user_obj(&m[i], &st);
                enroll_status_clear(&st);
                r = u ? proto_array_add(arr, u) : -ENOMEM;
        }
        if (r >= 0) {
                r = proto_obj_set_obj(o, "users", arr);
                arr = NULL;
        }
        if (r >= 0 && truncated)
                r = proto_obj_set_bool(o, "truncated", true);
        if (r >= 0)
                r = proto_encode_reply(o, out, max, ret_len);
        proto_obj_free(arr);
        proto_obj_free(o);
        return r;
}

static int on_users(struct daemon *d, const struct peer *p, char *out, size_t max, size_t *ret_len)
{
        char(*su)[STORE_USER_MAX] = NULL;
        struct activity_user *au = NULL;
        struct admin_user *m = NULL;
        size_t ns = 0, na = 0, n = 0;
        time_t now = time(NULL);
        int r;

        (void)server_flush(d); /* what was reported so far */
        r = store_list_users(d->store, &su, &ns);
        if (r >= 0)
                r = activity_users(d->act, ADMIN_USERS_MAX, &au, &na);
        if (r >= 0)
                r = merge_users(su, ns, au, na, &m, &n);
        /* when everybody does not fit in one datagram: the first ones that do, marked */
        for (size_t k = n; r >= 0; k /= 2) {
                r = encode_users(d, m, k, k < n, now, out, max, ret_len);
                if (r != -EMSGSIZE || k == 0)
                        break;
                r = 0;
        }
        free(su);
        free(au);
        free(m);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the user list could not be read", out, max, ret_len);
        return 0;
}

/* "root (uid 0)", "adm1 (uid 40003)" */
static const char *actor_name(const struct peer *p, char *buf, size_t len)
{
        snprintf(buf, len, "%s (uid %u)", p->user[0] ? p->user : "?", (unsigned)p->uid);
        return buf;
}

static int on_reset_mfa(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                        size_t *ret_len)
{
        char actor[EVENT_USER_MAX + 32], detail[EVENT_DETAIL_MAX], notice[STORE_NOTICE_MAX], when[32];
        time_t now = time(NULL);
        struct proto_obj *o;
        struct tm tm;
        unsigned n = 0;
        int r;

        if (!req->user[0] || !req->reason[0])
                return handle_reply_error(PROTO_E_BAD_REQUEST, "reset-mfa needs a user and a reason", out, max,
                                          ret_len);
        actor_name(p, actor, sizeof(actor));
        if (!gmtime_r(&now, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm) == 0)
                snprintf(when, sizeof(when), "recently");
        /* the reason is bounded (PROTO_REASON_MAX) and free of control characters (proto.c) */
        snprintf(notice, sizeof(notice),
                 "Your MFA was reset by an administrator (%s) on %s. Reason: %s. Your old devices and "
                 "backup codes no longer work; set MFA up again: mlsecctl mfa enable",
                 p->user[0] ? p->user : "root", when, req->reason);
        r = store_begin(d->store);
        if (r >= 0)
                r = store_remove_user_mfa(d->store, req->user, &n);
        if (r >= 0 && n > 0)
                r = store_add_notice(d->store, req->user, notice, now);
        /* account recovery: under an MFA policy with enroll_grace_days the user gets a new
         * grace period from their next login, instead of being refused at once */
        if (r >= 0 && n > 0)
                r = store_clear_grace(d->store, req->user);
        if (r >= 0)
                r = store_commit(d->store);
        else
                (void)store_rollback(d->store);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the credential store could not be changed", out, max,
                                          ret_len);
        if (n == 0) {
                snprintf(detail, sizeof(detail), "%s has no MFA device: nothing to reset", req->user);
                return handle_reply_error(PROTO_E_CONFLICT, detail, out, max, ret_len);
        }
        (void)store_checkpoint(d->store); /* overwrite the removed secrets in the file now */
        snprintf(detail, sizeof(detail), "%u device(s) and all backup codes removed by %s; reason: %s", n, actor,
                 req->reason);
        handle_audit(d, p->uid, req->user, "mfa-reset", detail);
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "user", req->user) < 0 || proto_obj_set_int(o, "devices_removed", n) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

static int on_unlock(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                     size_t *ret_len)
{
        const char *source = req->source[0] ? req->source : NULL;
        char actor[EVENT_USER_MAX + 32], detail[EVENT_DETAIL_MAX];
        struct proto_obj *o;
        unsigned n = 0;
        int r;

        if (!req->user[0])
                return handle_reply_error(PROTO_E_BAD_REQUEST, "unlock needs a user", out, max, ret_len);
        r = store_begin(d->store);
        if (r >= 0)
                r = store_unlock(d->store, req->user, source, &n);
        if (r >= 0)
                r = store_commit(d->store);
        else
                (void)store_rollback(d->store);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the credential store could not be changed", out, max,
                                          ret_len);
        snprintf(detail, sizeof(detail), "%u lockout(s) lifted%s%s and failures forgotten by %s", n,
                 source ? " for " : "", source ? source : "", actor_name(p, actor, sizeof(actor)));
        handle_audit(d, p->uid, req->user, "unlock", detail);
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "user", req->user) < 0 ||
            (source && proto_obj_set_str(o, "source", source) < 0) || proto_obj_set_int(o, "lockouts_removed", n) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

int handle_spool_status(struct daemon *d, struct proto_obj *o)
{
        struct spool_status st;
        struct proto_obj *sp;
        int r;

        r = spool_status(d->conf.spool_dir, true, &st);
        if (r < 0)
                return r;
        sp = proto_obj_new();
        if (!sp)
                return -ENOMEM;
        r = proto_obj_set_str(sp, "dir", d->conf.spool_dir);
        if (r >= 0)
                r = proto_obj_set_int(sp, "pending", (int64_t)st.pending);
        if (r >= 0)
                r = proto_obj_set_int(sp, "bad", (int64_t)st.bad);
        if (r >= 0)
                r = proto_obj_set_int(sp, "reserve_ready", st.reserve_ready);
        if (r >= 0)
                r = proto_obj_set_int(sp, "reserve_slots", st.reserve_slots);
        if (r >= 0)
                r = proto_obj_set_bool(sp, "counter", st.counter);
        if (r >= 0)
                r = proto_obj_set_int(sp, "lost_audit", st.lost_audit > INT64_MAX ? INT64_MAX : (int64_t)st.lost_audit);
        if (r >= 0)
                r = proto_obj_set_int(sp, "lost_other", st.lost_other > INT64_MAX ? INT64_MAX : (int64_t)st.lost_other);
        if (r < 0) {
                proto_obj_free(sp);
                return r;
        }
        return proto_obj_set_obj(o, "spool", sp);
}

static int on_status(struct daemon *d, char *out, size_t max, size_t *ret_len)
{
        struct proto_obj *o = proto_obj_new();
        int r;

        if (!o)
                return -ENOMEM;
        r = proto_obj_set_int(o, "ingested", d->ingested > INT64_MAX ? INT64_MAX : (int64_t)d->ingested);
        if (r >= 0)
                r = proto_obj_set_bool(o, "logind", d->logind != NULL);
        if (r >= 0)
                r = handle_spool_status(d, o);
        if (r < 0) {
                proto_obj_free(o);
                return handle_reply_error(PROTO_E_INTERNAL, "the spool could not be read", out, max, ret_len);
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

int handle_admin(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                 size_t *ret_len)
{
        if (!p->admin)
                return handle_reply_error(
                        PROTO_E_FORBIDDEN,
                        req->method == PROTO_ADMIN_USERS       ? "only administrators may list users"
                        : req->method == PROTO_ADMIN_RESET_MFA ? "only administrators may reset a user's MFA"
                        : req->method == PROTO_ADMIN_STATUS    ? "only administrators may read mlsecd's status"
                                                               : "only administrators may unlock a user",
                        out, max, ret_len);
        switch (req->method) {
        case PROTO_ADMIN_USERS:
                return on_users(d, p, out, max, ret_len);
        case PROTO_ADMIN_RESET_MFA:
                return on_reset_mfa(d, p, req, out, max, ret_len);
        case PROTO_ADMIN_UNLOCK:
                return on_unlock(d, p, req, out, max, ret_len);
        case PROTO_ADMIN_STATUS:
                return on_status(d, out, max, ret_len);
        default:
                return handle_reply_error(PROTO_E_METHOD, "unknown method", out, max, ret_len);
        }
}
