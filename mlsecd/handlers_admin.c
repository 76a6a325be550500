/* SPDX-License-Identifier: MIT */
/* Administration through mlsecd: every user's MFA state (admin-users: handlers_users.c), account recovery (reset-mfa),
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
#include "spool.h"
#include "store.h"

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
        if (fleet_configured(&d->conf)) {
                /* the fleet's devices: the database allows it to admin hosts only */
                struct fleet *f = daemon_fleet(d);

                r = f ? fleet_reset(f, req->user, &n) : -ENETUNREACH;
                if (r == -EPERM)
                        return handle_reply_error(PROTO_E_FORBIDDEN,
                                                  "this host is not an admin host of the fleet (mlsecctl admin fleet "
                                                  "add-host --admin)",
                                                  out, max, ret_len);
                if (r < 0) {
                        daemon_fleet_failed(d, r);
                        return handle_reply_error(PROTO_E_UNAVAILABLE, "the fleet database cannot be reached", out,
                                                  max, ret_len);
                }
                if (n > 0)
                        (void)store_add_notice(d->store, req->user, notice, now);
                goto done;
        }
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
done:
        if (n == 0) {
                snprintf(detail, sizeof(detail), "%s has no MFA device: nothing to reset", req->user);
                return handle_reply_error(PROTO_E_CONFLICT, detail, out, max, ret_len);
        }
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
        if (fleet_configured(&d->conf)) {
                /* every host's lockouts and failures of the user, in the fleet */
                struct fleet *f = daemon_fleet(d);

                if (source)
                        return handle_reply_error(PROTO_E_BAD_REQUEST,
                                                  "in fleet mode unlock lifts every lockout of the user (no --source)",
                                                  out, max, ret_len);
                r = f ? fleet_unlock(f, req->user, &n) : -ENETUNREACH;
                if (r < 0) {
                        daemon_fleet_failed(d, r);
                        return handle_reply_error(PROTO_E_UNAVAILABLE, "the fleet database cannot be reached", out,
                                                  max, ret_len);
                }
                goto done;
        }
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
done:
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
        switch (req->method) {
        case PROTO_ADMIN_USERS:
                return handle_admin_users(d, req, out, max, ret_len);
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
