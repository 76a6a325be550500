/* SPDX-License-Identifier: MIT */
/* JSON through json-c, behind mlsec's own struct proto_obj so that no other file depends
 * on json-c. Owns building and printing JSON; it never interprets what it carries. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "proto.h"

struct proto_obj {
        struct json_object *j;
};

static struct proto_obj *wrap(struct json_object *j)
{
        struct proto_obj *o;

        if (!j)
                return NULL;
        o = calloc(1, sizeof(*o));
        if (!o) {
                json_object_put(j);
                return NULL;
        }
        o->j = j;
        return o;
}

struct proto_obj *proto_obj_new(void)
{
        return wrap(json_object_new_object());
}

struct proto_obj *proto_array_new(void)
{
        return wrap(json_object_new_array());
}

struct proto_obj *proto_obj_free(struct proto_obj *o)
{
        if (o) {
                json_object_put(o->j);
                free(o);
        }
        return NULL;
}

static int set(struct proto_obj *o, const char *key, struct json_object *v, bool may_be_null)
{
        if (!o || !key || !json_object_is_type(o->j, json_type_object)) {
                json_object_put(v);
                return -EINVAL;
        }
        if (!v && !may_be_null)
                return -ENOMEM;
        if (json_object_object_add(o->j, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int proto_obj_set_str(struct proto_obj *o, const char *key, const char *val)
{
        return set(o, key, val ? json_object_new_string(val) : NULL, !val);
}

int proto_obj_set_int(struct proto_obj *o, const char *key, int64_t val)
{
        return set(o, key, json_object_new_int64(val), false);
}

int proto_obj_set_bool(struct proto_obj *o, const char *key, bool val)
{
        return set(o, key, json_object_new_boolean(val), false);
}

/* Move CHILD's json out of its wrapper. */
static struct json_object *unwrap(struct proto_obj *child)
{
        struct json_object *j;

        if (!child)
                return NULL;
        j = child->j;
        free(child);
        return j;
}

int proto_obj_set_obj(struct proto_obj *o, const char *key, struct proto_obj *child)
{
        if (!child)
                return -ENOMEM;
        return set(o, key, unwrap(child), false);
}

int proto_array_add(struct proto_obj *arr, struct proto_obj *child)
{
        struct json_object *j = unwrap(child);

        if (!j)
                return -ENOMEM;
        if (!arr || !json_object_is_type(arr->j, json_type_array)) {
                json_object_put(j);
                return -EINVAL;
        }
        if (json_object_array_add(arr->j, j) < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        return 0;
}

int proto_array_add_str(struct proto_obj *arr, const char *val)
{
        struct json_object *j = val ? json_object_new_string(val) : NULL;

        if (val && !j)
                return -ENOMEM;
        if (!arr || !json_object_is_type(arr->j, json_type_array) || json_object_array_add(arr->j, j) < 0) {
                json_object_put(j);
                return -EINVAL;
        }
        return 0;
}

int proto_obj_print(FILE *out, const struct proto_obj *o)
{
        const char *s;

        if (!o)
                return -EINVAL;
        s = json_object_to_json_string_ext(o->j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        if (fprintf(out, "%s\n", s) < 0)
                return -EIO;
        return 0;
}
