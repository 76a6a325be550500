/* SPDX-License-Identifier: MIT */
/* The verify reply (common/proto_verify.c): what mlsecd encodes the module decodes to the
 * same struct, and a reply that is missing a field, out of range or contradicts itself is
 * refused, so the module fails closed rather than believe it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto_verify.h"

/* encode V, then change KEY to the JSON VALUE (NULL: remove it) through a re-parsed reply */
static int decode_with(const struct proto_verify_reply *v, bool combined, size_t answer_len, const char *key,
                       const char *value, struct proto_verify_reply *ret)
{
        struct proto_obj *o = proto_verify_reply_to_obj(v, combined), *res = NULL;
        char buf[PROTO_MSG_MAX], text[PROTO_MSG_MAX + 256], code[64], msg[256];
        const char *why = NULL;
        size_t len = 0;
        int r;

        assert_non_null(o);
        assert_int_equal(proto_encode_reply(o, buf, sizeof(buf), &len), 0);
        proto_obj_free(o);
        buf[len] = '\0';
        if (key) {
                char pat[64], *at, *end;
                snprintf(pat, sizeof(pat), "\"%s\":", key);
                at = strstr(strstr(buf, "\"result\":"), pat); /* inside the result, not the envelope */
                if (at) {
                        end = at + strlen(pat);
                        while (*end && *end != ',' && *end != '}')
                                end++;
                        if (value)
                                snprintf(text, sizeof(text), "%.*s%s%s%s", (int)(at - buf), buf, pat, value, end);
                        else if (*end == ',')
                                snprintf(text, sizeof(text), "%.*s%s", (int)(at - buf), buf, end + 1);
                        else /* the last key: its comma goes too */
                                snprintf(text, sizeof(text), "%.*s%s", (int)(at - buf - 1), buf, end);
                } else {
                        assert_non_null(value);
                        snprintf(text, sizeof(text), "%.*s,%s%s}}", (int)len - 2, buf, pat, value);
                }
        } else {
                snprintf(text, sizeof(text), "%s", buf);
        }
        if (proto_decode_reply(text, strlen(text), &res, code, sizeof(code), msg, sizeof(msg)) != 0)
                fail_msg("not a reply: %s", text);
        r = proto_verify_reply_from_obj(res, combined, answer_len, ret, &why);
        if (r < 0)
                assert_non_null(why);
        proto_obj_free(res);
        return r;
}

static void test_round_trip(void **state)
{
        struct proto_verify_reply v = {.step = VERIFY_CHECKED,
                                       .res = {.verdict = VERDICT_DRIFT,
                                               .method = METHOD_TOTP,
                                               .drift_seconds = -90,
                                               .backup_left = 7,
                                               .lock_started = true,
                                               .lock_local_wide = true,
                                               .password_len = 9},
                                       .recorded = true},
                                  back;

        strcpy(v.res.device, "phone");
        strcpy(v.message, "Code refused: your authenticator's clock looks about 1 minute behind this server's.");
        assert_int_equal(decode_with(&v, true, 15, NULL, NULL, &back), 0);
        assert_int_equal(back.step, VERIFY_CHECKED);
        assert_int_equal(back.res.verdict, VERDICT_DRIFT);
        assert_int_equal(back.res.method, METHOD_TOTP);
        assert_int_equal(back.res.drift_seconds, -90);
        assert_int_equal(back.res.backup_left, 7);
        assert_true(back.res.lock_started && back.res.lock_local_wide && !back.res.lock_user_wide);
        assert_int_equal(back.res.password_len, 9);
        assert_true(back.recorded);
        assert_string_equal(back.res.device, "phone");
        assert_string_equal(back.message, v.message);

        v = (struct proto_verify_reply){
                .step = VERIFY_PASS, .res = {.method = METHOD_REMEMBERED}, .granted = 1700000000};
        assert_int_equal(decode_with(&v, false, 0, NULL, NULL, &back), 0);
        assert_int_equal(back.step, VERIFY_PASS);
        assert_int_equal(back.res.method, METHOD_REMEMBERED);
        assert_int_equal(back.granted, 1700000000);
        assert_false(back.recorded);
}

static void test_refuses_what_does_not_add_up(void **state)
{
        struct proto_verify_reply ok = {.step = VERIFY_CHECKED, .res = {.verdict = VERDICT_OK, .method = METHOD_TOTP}},
                                  drift = {.step = VERIFY_CHECKED,
                                           .res = {.verdict = VERDICT_DRIFT, .drift_seconds = 60}},
                                  back;

        assert_int_equal(decode_with(&ok, false, 6, "ok", "false", &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, false, 6, "ok", NULL, &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, false, 6, "step", "\"pass\"", &back), -EBADMSG); /* a pass by TOTP */
        assert_int_equal(decode_with(&ok, false, 6, "step", "\"maybe\"", &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, false, 6, "verdict", "\"fine\"", &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, false, 6, "method", "\"remembered\"", &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, false, 6, "backup_left", "-1", &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, false, 6, "lock_remaining", NULL, &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, false, 6, "recorded", NULL, &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, true, 6, "password_len", NULL, &back), -EBADMSG);
        assert_int_equal(decode_with(&ok, true, 6, "password_len", "7", &back), -EBADMSG); /* past the answer */
        assert_int_equal(decode_with(&drift, false, 6, "drift_seconds", NULL, &back), -EBADMSG);
        assert_int_equal(decode_with(&drift, false, 6, "drift_seconds", "100000", &back), -EBADMSG);
        /* a refusal is a lock, nothing else */
        ok.step = VERIFY_REFUSE;
        assert_int_equal(decode_with(&ok, false, 0, NULL, NULL, &back), -EBADMSG);
        assert_int_equal(proto_verify_reply_from_obj(NULL, false, 0, &back, &(const char *){NULL}), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_refuses_what_does_not_add_up),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
