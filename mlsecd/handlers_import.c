/* SPDX-License-Identifier: MIT */
/* admin-import: a device and backup codes from a google-authenticator file that an
 * administrator's mlsecctl read and parsed (gauth.c), sealed and stored in one transaction
 * by gauth_import, audited as "mfa-imported" with who did it and what was carried over, and
 * told to the user at the next login. Administrators only (SO_PEERCRED). The secret and the
 * scratch codes live in the request only; they are never logged, audited or replied. */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "gauth.h"
#include "journal.h"
#include "store.h"

_Static_assert(PROTO_SCRATCH_MAX == GAUTH_SCRATCH_MAX && PROTO_SCRATCH_LEN == GAUTH_SCRATCH_DIGITS,
               "the wire carries what a file holds");
_Static_assert(PROTO_SECRET_MAX == TOTP_BASE32_MAX, "the wire carries what a file holds");

/* Does USER exist on this system? (Another account's MFA must not be set up by a typo.) */
static bool user_exists(const char *user)
{
        struct passwd pw, *res = NULL;
        char buf[4096];

        return getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res;
}

int handle_import(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len)
{
        const char *device = req->device[0] ? req->device : GAUTH_DEVICE_DEFAULT;
        char detail[EVENT_DETAIL_MAX], notice[STORE_NOTICE_MAX], msg[256];
        struct gauth_import im = {
                .user = req->user,
                .device = device,
                .secret_b32 = req->secret,
                .digits = req->digits,
                .period = req->period,
                .last_step = req->last_step > 0 ? req->last_step : -1,
                .scratch = (const char(*)[GAUTH_SCRATCH_DIGITS + 1]) req->scratch,
                .n_scratch = req->n_scratch,
                .replace = req->replace,
                .now = time(NULL),
        };
        struct proto_obj *o;
        unsigned replaced = 0;
        int r;

        if (!req->user[0] || !user_exists(req->user))
                return handle_reply_error(PROTO_E_NOT_FOUND, "no such user on this system", out, max, ret_len);
        if (!d->key)
                return handle_reply_error(PROTO_E_UNAVAILABLE, "mlsecd has no key to seal the secret with", out, max,
                                          ret_len);
        r = gauth_import(d->store, d->key, &im, &replaced);
        if (r == -EEXIST) {
                snprintf(msg, sizeof(msg),
                         "%s already has MFA devices; nothing imported (--replace removes them and their backup codes)",
                         req->user);
                return handle_reply_error(PROTO_E_CONFLICT, msg, out, max, ret_len);
        }
        if (r == -EINVAL)
                return handle_reply_error(PROTO_E_BAD_REQUEST, "the secret, step, digits or device name is not valid",
                                          out, max, ret_len);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the credential store could not be changed", out, max,
                                          ret_len);
        /* the source path is bounded text without control characters (proto.c) */
        snprintf(detail, sizeof(detail),
                 "device '%s' (sha1, %u digits, %u s steps) and %zu scratch code(s) as backup codes imported from "
                 "google-authenticator%s%.200s by %s (uid %u)%s",
                 device, req->digits, req->period, req->n_scratch, req->source[0] ? " file " : "", req->source,
                 p->user[0] ? p->user : "?", (unsigned)p->uid,
                 replaced ? "; the previous devices and backup codes were removed" : "");
        handle_audit(d, p->uid, req->user, "mfa-imported", detail);
        snprintf(notice, sizeof(notice),
                 "An administrator (%s) moved your google-authenticator setup to mlsec: the same authenticator app "
                 "entry and your unused scratch codes keep working. See: mlsecctl status",
                 p->user[0] ? p->user : "root");
        if (store_add_notice(d->store, req->user, notice, im.now) < 0)
                journal_daemon(4, "could not leave %s a notice about the import", req->user);
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "user", req->user) < 0 || proto_obj_set_str(o, "device", device) < 0 ||
            proto_obj_set_int(o, "digits", req->digits) < 0 || proto_obj_set_int(o, "period", req->period) < 0 ||
            proto_obj_set_int(o, "backup_codes", (int64_t)req->n_scratch) < 0 ||
            proto_obj_set_int(o, "devices_replaced", replaced) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}
