/* SPDX-License-Identifier: MIT */
/* The verify reply, both ways (proto_verify.h). What the module decodes here is all it
 * knows of mlsecd's decision, so every field is checked against the others: a verdict and
 * "ok" that disagree, a drift without its seconds, a password length past the answer are
 * refused, and the module fails closed. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "proto_verify.h"
#include "util.h"

struct proto_obj *proto_verify_reply_to_obj(const struct proto_verify_reply *v, bool combined)
{
        const struct verify_result *res = &v->res;
        struct proto_obj *o = proto_obj_new();

        if (!o || proto_obj_set_str(o, "step", verify_step_to_string(v->step)) < 0 ||
            proto_obj_set_bool(o, "ok", res->verdict == VERDICT_OK) < 0 ||
            proto_obj_set_str(o, "verdict", verify_verdict_to_string(res->verdict)) < 0 ||
            proto_obj_set_str(o, "method", verify_method_to_string(res->method)) < 0 ||
            proto_obj_set_str(o, "message", v->message) < 0 ||
            proto_obj_set_int(o, "backup_left", res->backup_left) < 0 ||
            proto_obj_set_bool(o, "lock_started", res->lock_started) < 0 ||
            proto_obj_set_int(o, "lock_remaining", res->lock_remaining) < 0 ||
            proto_obj_set_bool(o, "lock_user_wide", res->lock_user_wide) < 0 ||
            proto_obj_set_bool(o, "lock_local_wide", res->lock_local_wide) < 0 ||
            proto_obj_set_bool(o, "recorded", v->recorded) < 0 ||
            (v->granted > 0 && proto_obj_set_int(o, "granted", v->granted) < 0) ||
            (res->verdict == VERDICT_DRIFT && proto_obj_set_int(o, "drift_seconds", res->drift_seconds) < 0) ||
            (res->device[0] && proto_obj_set_str(o, "device", res->device) < 0) ||
            (combined && v->step == VERIFY_CHECKED &&
             proto_obj_set_int(o, "password_len", (int64_t)res->password_len) < 0))
                return proto_obj_free(o);
        return o;
}

/* What each step may say: ask and pass are OK, refuse is LOCKED, checked is any verdict. */
static bool step_agrees(enum verify_step step, const struct verify_result *res)
{
        switch (step) {
        case VERIFY_ASK:
                return res->verdict == VERDICT_OK && res->method == METHOD_NONE;
        case VERIFY_PASS:
                return res->verdict == VERDICT_OK && (res->method == METHOD_NONE || res->method == METHOD_TRUSTED ||
                                                      res->method == METHOD_REMEMBERED);
        case VERIFY_REFUSE:
                return res->verdict == VERDICT_LOCKED;
        case VERIFY_CHECKED:
                return res->method != METHOD_TRUSTED && res->method != METHOD_REMEMBERED &&
                       res->method != METHOD_PASSWORD;
        }
        return false;
}

int proto_verify_reply_from_obj(const struct proto_obj *o, bool combined, size_t answer_len,
                                struct proto_verify_reply *ret, const char **ret_why)
{
        struct proto_verify_reply v = {.res = {.verdict = VERDICT_WRONG, .method = METHOD_NONE}};
        struct verify_result *res = &v.res;
        const char *dev, *msg;
        bool ok = false;
        int64_t x;

        *ret_why = "no result";
        if (!o)
                return -EBADMSG;
        *ret_why = "unknown step, verdict or method";
        if (verify_step_from_string(proto_obj_get_str(o, "step"), &v.step) < 0 ||
            verify_verdict_from_string(proto_obj_get_str(o, "verdict"), &res->verdict) < 0 ||
            verify_method_from_string(proto_obj_get_str(o, "method"), &res->method) < 0)
                return -EBADMSG;
        *ret_why = "\"ok\" missing or not matching the verdict, or a verdict the step cannot have";
        if (proto_obj_get_bool(o, "ok", &ok) < 0 || ok != (res->verdict == VERDICT_OK) || !step_agrees(v.step, res))
                return -EBADMSG;
        *ret_why = "backup_left, lock_started, lock_remaining or recorded missing or out of range";
        if (proto_obj_get_int(o, "backup_left", &x) < 0 || x < 0 || x > UINT_MAX)
                return -EBADMSG;
        res->backup_left = (unsigned)x;
        if (proto_obj_get_bool(o, "lock_started", &res->lock_started) < 0 ||
            proto_obj_get_int(o, "lock_remaining", &x) < 0 || x < 0 || x > INT32_MAX ||
            proto_obj_get_bool(o, "recorded", &v.recorded) < 0)
                return -EBADMSG;
        res->lock_remaining = (long)x;
        if (proto_obj_get_int(o, "drift_seconds", &x) >= 0) {
                if (x < -86400 || x > 86400)
                        return -EBADMSG;
                res->drift_seconds = (long)x;
        } else if (res->verdict == VERDICT_DRIFT) {
                *ret_why = "drift without drift_seconds";
                return -EBADMSG;
        }
        if (proto_obj_get_int(o, "granted", &x) >= 0) {
                if (x <= 0)
                        return -EBADMSG;
                v.granted = x;
        }
        (void)proto_obj_get_bool(o, "lock_user_wide", &res->lock_user_wide);
        (void)proto_obj_get_bool(o, "lock_local_wide", &res->lock_local_wide);
        dev = proto_obj_get_str(o, "device");
        if (dev)
                util_escape(dev, res->device, sizeof(res->device));
        msg = proto_obj_get_str(o, "message"); /* the decoder let no control character through */
        if (msg)
                snprintf(v.message, sizeof(v.message), "%s", msg);
        if (combined && v.step == VERIFY_CHECKED) {
                *ret_why = "password_len missing or out of range";
                if (proto_obj_get_int(o, "password_len", &x) < 0 || x < 0 || (uint64_t)x > answer_len)
                        return -EBADMSG;
                res->password_len = (size_t)x;
        }
        *ret = v;
        return 0;
}
