/* SPDX-License-Identifier: MIT */
/* Self-service MFA in mlsecd: the overview, enrolment with a confirming code, devices,
 * backup codes. (Being written: see issue #4; mfa-devices is done.) */
#include <errno.h>

#include "daemon.h"
#include "enroll.h"
#include "store.h"
#include "totp.h"

static int on_devices(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                      size_t *ret_len)
{
        const char *denied, *user = handle_target(p, req, &denied);
        struct store_device *dev = NULL;
        struct proto_obj *o, *arr;
        size_t n = 0;
        int r;

        if (denied || !user)
                return handle_reply_error(PROTO_E_FORBIDDEN, denied ? denied : "name one user", out, max, ret_len);
        r = store_list_devices(d->store, user, &dev, &n);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the credential store could not be read", out, max,
                                          ret_len);
        o = proto_obj_new();
        arr = proto_array_new();
        r = o && arr ? proto_obj_set_str(o, "user", user) : -ENOMEM;
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
                        r = proto_obj_set_int(e, "created", dev[i].created);
                if (r >= 0)
                        r = proto_obj_set_int(e, "last_used", dev[i].last_used);
                if (r >= 0)
                        r = proto_array_add(arr, e);
                else
                        proto_obj_free(e);
        }
        store_devices_free(dev, n);
        if (r >= 0) {
                r = proto_obj_set_obj(o, "devices", arr);
                arr = NULL;
        }
        proto_obj_free(arr);
        if (r < 0) {
                proto_obj_free(o);
                return r;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}

int handle_mfa(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
               size_t *ret_len)
{
        switch (req->method) {
        case PROTO_MFA_DEVICES:
                return on_devices(d, p, req, out, max, ret_len);
        default:
                return handle_reply_error(PROTO_E_METHOD, "not implemented yet", out, max, ret_len);
        }
}

void handle_mfa_expire(struct daemon *d, int64_t now_us)
{
}
