/* SPDX-License-Identifier: MIT */
/* Remembered grants (remember_seconds): `forget` ends the caller's own, `admin-forget` an
 * administrator's choice of user's, each with an audit entry; the overview lists the
 * user's grants. The grants themselves are made and used by the PAM module (verify.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon.h"
#include "store.h"

int handle_grants_status(struct daemon *d, const char *user, struct proto_obj *o)
{
        struct store_grant *g = NULL;
        struct proto_obj *arr;
        size_t n = 0;
        int r;

        r = store_list_grants(d->store, user, time(NULL), &g, &n);
        if (r < 0)
                return r;
        arr = proto_array_new();
        if (!arr) {
                free(g);
                return -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct proto_obj *e = proto_obj_new();

                if (!e || proto_obj_set_str(e, "source", g[i].source) < 0 ||
                    proto_obj_set_str(e, "service", g[i].service) < 0 ||
                    (g[i].tty[0] && proto_obj_set_str(e, "tty", g[i].tty) < 0) ||
                    proto_obj_set_int(e, "granted", g[i].granted) < 0 ||
                    proto_obj_set_int(e, "expires", g[i].expires) < 0) {
                        proto_obj_free(e);
                        r = -ENOMEM;
                        break;
                }
                r = proto_array_add(arr, e);
        }
        free(g);
        if (r < 0) {
                proto_obj_free(arr);
                return r;
        }
        return proto_obj_set_obj(o, "remembered", arr);
}

int handle_grants(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                  size_t *ret_len)
{
        bool admin = req->method == PROTO_ADMIN_FORGET;
        const char *user = admin ? req->user : p->user;
        char detail[EVENT_DETAIL_MAX];
        struct proto_obj *o;
        unsigned n = 0;
        int r;

        if (!user[0])
                return handle_reply_error(admin ? PROTO_E_BAD_REQUEST : PROTO_E_FORBIDDEN,
                                          admin ? "admin-forget needs a user" : "your uid has no user name", out, max,
                                          ret_len);
        r = store_forget_grants(d->store, user, &n);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the credential store could not be changed", out, max,
                                          ret_len);
        snprintf(detail, sizeof(detail), "%u remembered source(s) forgotten by %s (uid %u)%s", n,
                 p->user[0] ? p->user : "?", (unsigned)p->uid, admin ? "" : ", the user's own");
        handle_audit(d, p->uid, user, "grants-forgotten", detail);
        o = proto_obj_new();
        if (!o || proto_obj_set_str(o, "user", user) < 0 || proto_obj_set_int(o, "grants_removed", n) < 0) {
                proto_obj_free(o);
                return -ENOMEM;
        }
        return handle_reply_obj(o, false, out, max, ret_len);
}
