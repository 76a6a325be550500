/* SPDX-License-Identifier: MIT */
/* The JSON side of mlsec: building the objects that leave a program (`--json` output now,
 * wire messages to and from mlsecd later). The only json-c user; callers see only
 * struct proto_obj. Every string is copied; nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct proto_obj; /* a JSON object or array */

struct proto_obj *proto_obj_new(void);
struct proto_obj *proto_array_new(void);
struct proto_obj *proto_obj_free(struct proto_obj *o);

/* Setters return 0 or -ENOMEM/-EINVAL. A NULL string value is written as null. */
int proto_obj_set_str(struct proto_obj *o, const char *key, const char *val);
int proto_obj_set_int(struct proto_obj *o, const char *key, int64_t val);
int proto_obj_set_bool(struct proto_obj *o, const char *key, bool val);
/* Takes ownership of CHILD, also on failure. */
int proto_obj_set_obj(struct proto_obj *o, const char *key, struct proto_obj *child);
int proto_array_add(struct proto_obj *arr, struct proto_obj *child);
int proto_array_add_str(struct proto_obj *arr, const char *val);

/* Pretty-printed, followed by a newline. */
int proto_obj_print(FILE *out, const struct proto_obj *o);
