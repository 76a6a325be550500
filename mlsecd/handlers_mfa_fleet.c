/* SPDX-License-Identifier: MIT */
/* Self-service MFA in fleet mode: the methods of handlers_mfa.c (mfa begin/confirm/devices/
 * remove/disable, backup codes) on the fleet's database, with the same replies, so mlsecctl
 * is the same on every host. The database decides whether this host may change a user's
 * devices (a check of that user passed here in the last minutes, or a first enrolment) and
 * writes the fleet's audit entry; this host records its own as before. The caller is
 * always SO_PEERCRED's user. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "enroll.h"
#include "fleet.h"
#include "journal.h"
#include "seal.h"

#define FLEET_DEVICES_MAX 64

static int unreachable(struct daemon *d, int r, char *out, size_t max, size_t *ret_len)
{
        struct fleet *f = d->fleet;

        if (r == -EPERM)
                return handle_reply_error(PROTO_E_FORBIDDEN,
                                          "The fleet refuses this change from this host: verify with a code here "
                                          "first (the change needs a recent check on this host).",
                                          out, max, ret_len);
        journal_daemon(3, "a self-service call to the fleet failed: %s", fleet_error(f));
        daemon_fleet_failed(d, r);
        return handle_reply_error(r == -EIO ? PROTO_E_INTERNAL : PROTO_E_UNAVAILABLE,
                                  r == -EIO ? "the fleet refused the change" : "the fleet database cannot be reached",
                                  out, max, ret_len);
}

static int fleet_n_devices(struct fleet *f, const char *user, const char *name, size_t *ret_n, bool *ret_has)
{
        struct fleet_device dev[FLEET_DEVICES_MAX];
        size_t n = 0;
        int r = fleet_devices(f, user, dev, FLEET_DEVICES_MAX, &n);

        if (r < 0)
                return r;
        *ret_has = false;
        for (size_t i = 0; name && i < n; i++)
                if (strcmp(dev[i].name, name) == 0)
                        *ret_has = true;
        *ret_n = n;
        return 0;
}

static int on_devices(struct daemon *d, struct fleet *f, const struct peer *p, const struct proto_request *req,
                      char *out, size_t max, size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        struct fleet_device dev[FLEET_DEVICES_MAX];
        struct proto_obj *o, *arr;
        size_t n = 0;
        int r;

        if (denied || !user)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied ? denied : "name one user", out, max, ret_len);
        r = fleet_devices(f, user, dev, FLEET_DEVICES_MAX, &n);
        if (r < 0)
                return unreachable(d, r, out, max, ret_len);
        o = proto_obj_new();
        arr = proto_array_new();
        r = o && arr ? proto_obj_set_str(o, "user", user) : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct proto_obj *e = proto_obj_new();

                r = e ? 0 : -ENOMEM;
                if (r >= 0)
                        r = proto_obj_set_str(e, "name", dev[i].name);
                if (r >= 0)
                        r = proto_obj_set_str(e, "algorithm", dev[i].alg);
                if (r >= 0)
                        r = proto_obj_set_int(e, "digits", dev[i].digits);
                if (r >= 0)
                        r = proto_obj_set_int(e, "period", TOTP_PERIOD);
                if (r >= 0)
                        r = proto_obj_set_int(e, "created", dev[i].created);
                if (r >= 0)
                        r = proto_obj_set_int(e, "last_used", dev[i].last_used < 0 ? 0 : dev[i].last_used);
                if (r >= 0)
                        r = proto_obj_set_str(e, "enrolled_on", dev[i].created_on);
                if (r >= 0)
                        r = proto_array_add(arr, e);
                else
                        proto_obj_free(e);
        }
        if (r >= 0) {
                r = proto_obj_set_obj(o, "devices", arr);
                arr = NULL;
        }
        proto_obj_free(arr);
        if (r < 0) {
                proto_obj_free(o);
                return handle_reply_error(PROTO_E_INTERNAL, "out of memory", out, max, ret_len);
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

static int on_backup_codes(struct daemon *d, struct fleet *f, const struct peer *p, const struct proto_request *req,
                           char *out, size_t max, size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        unsigned n_dev = 0, left = 0, locked = 0;
        struct proto_obj *o;
        int r;

        if (denied || !user)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied ? denied : "name one user", out, max, ret_len);
        r = fleet_summary(f, user, &n_dev, &left, &locked);
        if (r < 0)
                return unreachable(d, r, out, max, ret_len);
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "user", user) < 0 || proto_obj_set_int(o, "left", left) < 0 ||
            proto_obj_set_bool(o, "mfa_enabled", n_dev > 0) < 0 ||
            proto_obj_set_bool(o, "low", n_dev > 0 && left <= ENROLL_BACKUP_LOW) < 0)
                o = proto_obj_free(o);
        return handle_reply_obj(o, false, out, max, ret_len);
}

static int on_begin(struct daemon *d, struct fleet *f, const struct peer *p, const struct proto_request *req,
                    char *out, size_t max, size_t *ret_len)
{
        const char *denied = handle_mfa_own_user(p, req);
        const char *name = req->device[0] ? req->device : ENROLL_DEVICE_DEFAULT;
        char uri[FLEET_URI_MAX], secret[TOTP_BASE32_MAX], token[ENROLL_TOKEN_LEN + 1];
        uint8_t raw[ENROLL_TOKEN_LEN / 2];
        bool exists = false;
        size_t n = 0;
        int r;

        if (denied)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        if (!enroll_device_name_valid(name))
                return handle_reply_error(PROTO_E_BAD_REQUEST, "invalid device name", out, max, ret_len);
        r = fleet_n_devices(f, p->user, name, &n, &exists);
        if (r < 0)
                return unreachable(d, r, out, max, ret_len);
        r = handle_mfa_may_begin(d, p, req, name, n, exists, out, max, ret_len);
        if (r <= 0)
                return r < 0 ? unreachable(d, r, out, max, ret_len) : 0;
        r = fleet_enrol_begin(f, p->user, name, 6, uri, secret);
        if (r < 0)
                return unreachable(d, r, out, max, ret_len);
        /* the pending enrolment is the database's, one per user and host: the token only
         * keeps mlsecctl's protocol */
        seal_random(raw, sizeof(raw));
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(token + 2 * i, 3, "%02x", raw[i]);
        r = handle_mfa_begun(token, name, "sha1", 6, secret, uri, (int64_t)time(NULL) + d->conf.enroll_timeout, out,
                             max, ret_len);
        seal_wipe(uri, sizeof(uri));
        seal_wipe(secret, sizeof(secret));
        return r;
}

static int on_confirm(struct daemon *d, struct fleet *f, const struct peer *p, const struct proto_request *req,
                      char *out, size_t max, size_t *ret_len)
{
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], result[32] = "", msg[256], device[STORE_NAME_MAX] = "";
        const char *denied = handle_mfa_own_user(p, req);
        unsigned tries = 0;
        size_t n_codes = 0;
        struct proto_obj *o;
        int r;

        if (denied)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        r = fleet_enrol_confirm(f, p->user, req->code, result, sizeof(result), &tries, codes, &n_codes, device);
        if (r < 0 && strstr(fleet_error(f), "no enrolment"))
                return handle_reply_error(PROTO_E_EXPIRED,
                                          "No enrolment is waiting for this (it expired, or was cancelled): start "
                                          "again with mlsecctl mfa enable.",
                                          out, max, ret_len);
        if (r < 0) {
                seal_wipe(codes, sizeof(codes));
                return unreachable(d, r, out, max, ret_len);
        }
        if (strcmp(result, "ok") != 0) {
                seal_wipe(codes, sizeof(codes));
                if (strcmp(result, "wrong code") == 0 && tries > 0) {
                        snprintf(msg, sizeof(msg),
                                 "Wrong code (%u %s left). Type the code the authenticator shows now; check that "
                                 "its clock is right.",
                                 tries, tries == 1 ? "try" : "tries");
                        return handle_reply_error(PROTO_E_CODE, msg, out, max, ret_len);
                }
                return handle_reply_error(PROTO_E_EXPIRED,
                                          strcmp(result, "expired") == 0
                                                  ? "The enrolment expired; start again with mlsecctl mfa enable."
                                                  : "Wrong code. The enrolment was cancelled; nothing was changed. "
                                                    "Start again with mlsecctl mfa enable.",
                                          out, max, ret_len);
        }
        handle_audit(d, p->uid, p->user, n_codes ? "mfa-enabled" : "device-added",
                     n_codes ? "MFA enabled by the user with mlsecctl, in the fleet"
                             : "a device added by the user with mlsecctl, in the fleet");
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "device", device) < 0 || proto_obj_set_bool(o, "mfa_enabled", true) < 0 ||
            (n_codes == BACKUP_CODE_COUNT && handle_mfa_add_codes(o, codes) < 0)) {
                if (o)
                        proto_obj_wipe(o);
                o = proto_obj_free(o);
        }
        seal_wipe(codes, sizeof(codes));
        return handle_reply_obj(o, true, out, max, ret_len);
}

static int on_change(struct daemon *d, struct fleet *f, const struct peer *p, const struct proto_request *req,
                     char *out, size_t max, size_t *ret_len)
{
        char codes[BACKUP_CODE_COUNT][BACKUP_CODE_SHOWN], msg[256];
        const char *denied = handle_mfa_own_user(p, req);
        struct proto_obj *o;
        bool exists = false;
        unsigned n = 0;
        size_t nd = 0;
        int r;

        if (denied)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied, out, max, ret_len);
        if (req->method == PROTO_MFA_REMOVE) {
                if (!req->device[0])
                        return handle_reply_error(PROTO_E_BAD_REQUEST, "name the device to remove", out, max,
                                                  ret_len);
                r = fleet_n_devices(f, p->user, req->device, &nd, &exists);
                if (r < 0)
                        return unreachable(d, r, out, max, ret_len);
                if (!exists) {
                        snprintf(msg, sizeof(msg), "You have no device called '%s' (see mlsecctl mfa devices).",
                                 req->device);
                        return handle_reply_error(PROTO_E_NOT_FOUND, msg, out, max, ret_len);
                }
        }
        r = handle_mfa_need_code(d, p, req, out, max, ret_len);
        if (r <= 0)
                return r < 0 ? unreachable(d, r, out, max, ret_len) : 0;
        f = daemon_fleet(d); /* the check may have reconnected */
        if (!f)
                return unreachable(d, -ENETUNREACH, out, max, ret_len);
        o = proto_obj_new();
        if (!o)
                return handle_reply_error(PROTO_E_INTERNAL, "out of memory", out, max, ret_len);
        switch (req->method) {
        case PROTO_MFA_REMOVE:
                r = fleet_remove_device(f, p->user, req->device);
                if (r == -ENOENT) {
                        proto_obj_free(o);
                        return handle_reply_error(PROTO_E_NOT_FOUND, "That device was removed meanwhile.", out, max,
                                                  ret_len);
                }
                if (r >= 0) {
                        handle_audit(d, p->uid, p->user, "device-removed", "a device removed in the fleet");
                        r = proto_obj_set_str(o, "device", req->device);
                        if (r >= 0)
                                r = proto_obj_set_bool(o, "mfa_enabled", nd > 1);
                }
                break;
        case PROTO_MFA_DISABLE:
                r = fleet_disable(f, p->user, &n);
                if (r >= 0) {
                        handle_audit(d, p->uid, p->user, "mfa-disabled", "every device removed in the fleet");
                        r = proto_obj_set_int(o, "devices_removed", n);
                }
                break;
        default: /* PROTO_BACKUP_REGENERATE */
                r = fleet_backup_codes(f, p->user, codes);
                if (r >= 0) {
                        handle_audit(d, p->uid, p->user, "backup-codes-regenerated",
                                     "10 new backup codes in the fleet; the old ones no longer work");
                        r = handle_mfa_add_codes(o, codes);
                }
                seal_wipe(codes, sizeof(codes));
                break;
        }
        if (r < 0) {
                proto_obj_wipe(o);
                proto_obj_free(o);
                return unreachable(d, r, out, max, ret_len);
        }
        return handle_reply_obj(o, req->method == PROTO_BACKUP_REGENERATE, out, max, ret_len);
}

int handle_fleet_enroll_status(struct daemon *d, const char *user, struct enroll_status *ret)
{
        struct fleet_device dev[FLEET_DEVICES_MAX];
        struct store_lockout locks[32];
        struct enroll_status st = {0};
        struct fleet *f = daemon_fleet(d);
        unsigned n_dev = 0, left = 0, locked = 0;
        size_t nd = 0, nl = 0;
        int r;

        if (!f)
                return -ENETUNREACH;
        r = fleet_devices(f, user, dev, FLEET_DEVICES_MAX, &nd);
        if (r >= 0)
                r = fleet_summary(f, user, &n_dev, &left, &locked);
        if (r >= 0)
                r = fleet_lockouts(f, user, locks, sizeof(locks) / sizeof(locks[0]), &nl);
        if (r < 0) {
                daemon_fleet_failed(d, r);
                return r;
        }
        if (nd && !(st.devices = calloc(nd, sizeof(*st.devices))))
                return -ENOMEM;
        if (nl && !(st.lockouts = calloc(nl, sizeof(*st.lockouts)))) {
                free(st.devices);
                return -ENOMEM;
        }
        for (size_t i = 0; i < nd; i++) {
                struct store_device *o = &st.devices[i];

                snprintf(o->name, sizeof(o->name), "%.*s", (int)sizeof(o->name) - 1, dev[i].name);
                if (totp_alg_from_string(dev[i].alg, &o->alg) < 0)
                        o->alg = TOTP_SHA1;
                o->digits = dev[i].digits;
                o->period = TOTP_PERIOD;
                o->created = dev[i].created;
                o->last_used = dev[i].last_used < 0 ? 0 : dev[i].last_used;
        }
        if (nl)
                memcpy(st.lockouts, locks, nl * sizeof(*locks));
        st.n_devices = nd;
        st.n_lockouts = nl;
        st.backup_left = left;
        *ret = st;
        return 0;
}

int handle_mfa_fleet(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                     size_t *ret_len)
{
        struct fleet *f = daemon_fleet(d);

        if (!f)
                return handle_reply_error(PROTO_E_UNAVAILABLE, "the fleet database cannot be reached", out, max,
                                          ret_len);
        switch (req->method) {
        case PROTO_MFA_BEGIN:
                return on_begin(d, f, p, req, out, max, ret_len);
        case PROTO_MFA_CONFIRM:
                return on_confirm(d, f, p, req, out, max, ret_len);
        case PROTO_MFA_DEVICES:
                return on_devices(d, f, p, req, out, max, ret_len);
        case PROTO_BACKUP_CODES:
                return on_backup_codes(d, f, p, req, out, max, ret_len);
        case PROTO_MFA_REMOVE:
        case PROTO_MFA_DISABLE:
        case PROTO_BACKUP_REGENERATE:
                return on_change(d, f, p, req, out, max, ret_len);
        default:
                return handle_reply_error(PROTO_E_METHOD, "unknown method", out, max, ret_len);
        }
}
