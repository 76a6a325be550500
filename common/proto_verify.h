/* SPDX-License-Identifier: MIT */
/* The `verify` method's contract, written once for both sides: the reply as a struct, its
 * encoding (mlsecd) and its strict decoding (pam_mlsec, which fails closed on anything
 * missing, out of range or contradictory). The request is a struct proto_request with the
 * fields proto.h lists for PROTO_VERIFY. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"
#include "verify.h"

#define PROTO_VERIFY_MESSAGE_MAX 256

struct proto_verify_reply {
        enum verify_step step;                  /* ASK (no code given, one is needed), PASS, REFUSE, CHECKED */
        struct verify_result res;               /* REFUSE: the lock; CHECKED: the verdict; PASS: OK with METHOD */
        int64_t granted;                        /* PASS by a remembered grant: when its code was entered */
        bool recorded;                          /* mlsecd stored the attempt (and its audit entries) */
        char message[PROTO_VERIFY_MESSAGE_MAX]; /* the sentence for the user ("" for OK) */
};

/* The reply's result object (NULL: out of memory). COMBINED: the request was; then
 * "password_len" is part of it. */
struct proto_obj *proto_verify_reply_to_obj(const struct proto_verify_reply *r, bool combined);
/* Decode O. ANSWER_LEN: the length of what was sent as "code" (password_len may not pass
 * it). -EBADMSG with *ret_why (a static phrase) when anything is missing or wrong. */
int proto_verify_reply_from_obj(const struct proto_obj *o, bool combined, size_t answer_len,
                                struct proto_verify_reply *ret, const char **ret_why);
