/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the wire codec of common/proto.c: every datagram goes to the request,
 * reply and event decoders. Besides memory safety it checks the contract: a refused input
 * leaves *ret untouched and a printable reason; an accepted one re-encodes, and the encoding
 * decodes to the same thing (the round-trip property). Test code: abort() is fine here. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_MAX 128

static void check_reason(const char *err)
{
        size_t n;

        if (!memchr(err, '\0', ERR_MAX))
                abort();
        n = strlen(err);
        if (n == 0)
                abort();
        for (size_t i = 0; i < n; i++)
                if (err[i] < 0x20 || err[i] >= 0x7f)
                        abort();
}

static void fuzz_request(const char *buf, size_t size)
{
        static char out[PROTO_MSG_MAX];
        struct proto_request req, before, back;
        char err[ERR_MAX];
        size_t len;
        int r;

        memset(&req, 0xa5, sizeof(req));
        memcpy(&before, &req, sizeof(req));
        memset(err, 'x', sizeof(err));
        r = proto_decode_request(buf, size, &req, err, sizeof(err));
        if (r < 0) {
                if (r != -EINVAL && r != -EMSGSIZE && r != -EPROTONOSUPPORT && r != -EOPNOTSUPP && r != -ENOMEM)
                        abort();
                if (memcmp(&req, &before, sizeof(req)) != 0)
                        abort();
                if (r != -ENOMEM)
                        check_reason(err);
                return;
        }
        if (r != 0 || err[0] != '\0')
                abort();
        r = proto_encode_request(&req, out, sizeof(out), &len);
        if (r == -ENOMEM)
                return;
        if (r != 0 || len > PROTO_MSG_MAX)
                abort();
        r = proto_decode_request(out, len, &back, err, sizeof(err));
        if (r != 0 || memcmp(&req, &back, sizeof(req)) != 0)
                abort();
}

static void fuzz_reply(const char *buf, size_t size)
{
        static char out[PROTO_MSG_MAX], again[PROTO_MSG_MAX];
        struct proto_obj *result = (struct proto_obj *)&result, *back = NULL, *v;
        char code[64], msg[512], code2[64], msg2[512];
        size_t len, len2, n;
        int64_t x;
        bool b;
        int r;

        r = proto_decode_reply(buf, size, &result, code, sizeof(code), msg, sizeof(msg));
        if (r == -EREMOTEIO) {
                if (result != (struct proto_obj *)&result)
                        abort();
                if (proto_encode_error(code, msg, out, sizeof(out), &len) != 0)
                        abort();
                if (proto_decode_reply(out, len, NULL, code2, sizeof(code2), msg2, sizeof(msg2)) != -EREMOTEIO)
                        abort();
                if (strcmp(code, code2) != 0 || strcmp(msg, msg2) != 0)
                        abort();
                return;
        }
        if (r < 0) {
                if ((r != -EBADMSG && r != -ENOMEM) || result != (struct proto_obj *)&result)
                        abort();
                return;
        }
        if (r != 0)
                abort();

        /* The getters on whatever came back, views freed before the result. */
        (void)proto_obj_get_str(result, "session");
        (void)proto_obj_get_int(result, "checked", &x);
        (void)proto_obj_get_bool(result, "live", &b);
        v = proto_obj_get(result, "events");
        n = proto_array_len(v);
        for (size_t i = 0; i <= n && i < 64; i++) {
                struct proto_obj *e = proto_array_get(v, i);
                struct mlsec_event ev;

                if (i == n && e)
                        abort();
                (void)proto_event_from_obj(e, &ev, NULL, 0);
                proto_obj_free(e);
        }
        proto_obj_free(v);

        /* Re-encoding what was decoded must decode again and encode to the same bytes. */
        r = proto_encode_reply(result, out, sizeof(out), &len);
        proto_obj_free(result);
        if (r == -ENOMEM)
                return;
        if (r != 0)
                abort();
        if (proto_decode_reply(out, len, &back, NULL, 0, NULL, 0) != 0)
                abort();
        r = proto_encode_reply(back, again, sizeof(again), &len2);
        proto_obj_free(back);
        if (r == 0 && (len != len2 || memcmp(out, again, len) != 0))
                abort();
}

static void fuzz_event(const char *buf, size_t size)
{
        static char out[PROTO_MSG_MAX];
        struct mlsec_event e, before, back;
        struct proto_obj *o;
        char err[ERR_MAX];
        size_t len;
        int r;

        memset(&e, 0x5a, sizeof(e));
        memcpy(&before, &e, sizeof(e));
        memset(err, 'x', sizeof(err));
        r = proto_event_decode(buf, size, &e, err, sizeof(err));
        if (r < 0) {
                if ((r != -EINVAL && r != -EMSGSIZE && r != -ENOMEM) || memcmp(&e, &before, sizeof(e)) != 0)
                        abort();
                if (r != -ENOMEM)
                        check_reason(err);
                return;
        }
        if (event_validate(&e, NULL, 0) != 0)
                abort();
        r = proto_event_encode(&e, out, sizeof(out), &len);
        if (r == -ENOMEM)
                return;
        if (r != 0 || proto_event_decode(out, len, &back, err, sizeof(err)) != 0 || memcmp(&e, &back, sizeof(e)) != 0)
                abort();
        o = proto_event_to_obj(&e);
        if (o) {
                if (proto_event_from_obj(o, &back, err, sizeof(err)) != 0 || memcmp(&e, &back, sizeof(e)) != 0)
                        abort();
                proto_obj_free(o);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *copy;

        /* An exact-size heap copy, so ASan sees any read past SIZE. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        if (size)
                memcpy(copy, data, size);
        fuzz_request(copy, size);
        fuzz_reply(copy, size);
        fuzz_event(copy, size);
        free(copy);
        return 0;
}
