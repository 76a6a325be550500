/* SPDX-License-Identifier: MIT */
/* Unit tests of common/proto.c: what a consumer of `--json` output (and later of the wire
 * protocol) reads back. Objects are printed to a temp file and parsed again with json-c,
 * which only this test and proto.c include; misuse must fail cleanly without leaking. */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

#define UTF8    "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac"
#define CONTROL "tab\there\nnew\rline\x01\x1f\x7f end"
#define ODD_KEY "key \"with\" quotes\\\n"

/* Print O to a temp file and return the text (malloc'd). */
static char *print_text(const struct proto_obj *o)
{
        FILE *tmp = tmpfile();
        char *text;
        long len;

        assert_non_null(tmp);
        assert_int_equal(proto_obj_print(tmp, o), 0);
        len = ftell(tmp);
        assert_true(len > 0);
        rewind(tmp);
        text = calloc(1, (size_t)len + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, (size_t)len, tmp), (size_t)len);
        fclose(tmp);
        return text;
}

/* Print O and parse it back. */
static struct json_object *round_trip(const struct proto_obj *o)
{
        char *text = print_text(o);
        struct json_object *j;

        j = json_tokener_parse(text);
        free(text);
        assert_non_null(j);
        return j;
}

static struct json_object *member(struct json_object *j, const char *key, enum json_type type)
{
        struct json_object *v = NULL;

        assert_true(json_object_object_get_ex(j, key, &v));
        assert_int_equal(json_object_get_type(v), type);
        return v;
}

static void assert_str_member(struct json_object *j, const char *key, const char *want)
{
        struct json_object *v = member(j, key, json_type_string);

        assert_int_equal(json_object_get_string_len(v), (int)strlen(want));
        assert_memory_equal(json_object_get_string(v), want, strlen(want));
}

static void test_every_value_reads_back_unchanged(void **state)
{
        struct proto_obj *o = proto_obj_new(), *nested = proto_obj_new(), *deeper = proto_obj_new();
        struct proto_obj *list = proto_array_new(), *item = proto_obj_new(), *empty = proto_array_new();
        struct json_object *j, *v, *e;

        assert_non_null(o);
        assert_int_equal(proto_obj_set_str(o, "plain", "hello"), 0);
        assert_int_equal(proto_obj_set_str(o, "quote", "say \"hi\""), 0);
        assert_int_equal(proto_obj_set_str(o, "backslash", "C:\\path\\to"), 0);
        assert_int_equal(proto_obj_set_str(o, "control", CONTROL), 0);
        assert_int_equal(proto_obj_set_str(o, "utf8", UTF8), 0);
        assert_int_equal(proto_obj_set_str(o, "empty", ""), 0);
        assert_int_equal(proto_obj_set_str(o, ODD_KEY, "odd key"), 0);
        assert_int_equal(proto_obj_set_int(o, "min", INT64_MIN), 0);
        assert_int_equal(proto_obj_set_int(o, "max", INT64_MAX), 0);
        assert_int_equal(proto_obj_set_int(o, "zero", 0), 0);
        assert_int_equal(proto_obj_set_int(o, "minus_one", -1), 0);
        assert_int_equal(proto_obj_set_bool(o, "yes", true), 0);
        assert_int_equal(proto_obj_set_bool(o, "no", false), 0);
        assert_int_equal(proto_obj_set_str(o, "nothing", NULL), 0);

        assert_int_equal(proto_obj_set_int(deeper, "n", 42), 0);
        assert_int_equal(proto_obj_set_str(nested, "inner", "x"), 0);
        assert_int_equal(proto_obj_set_obj(nested, "deeper", deeper), 0);
        assert_int_equal(proto_obj_set_obj(o, "nested", nested), 0);

        assert_int_equal(proto_obj_set_bool(item, "k", true), 0);
        assert_int_equal(proto_array_add_str(list, "a\"b"), 0);
        assert_int_equal(proto_array_add_str(list, ""), 0);
        assert_int_equal(proto_array_add(list, item), 0);
        assert_int_equal(proto_array_add(list, empty), 0);
        assert_int_equal(proto_obj_set_obj(o, "list", list), 0);

        j = round_trip(o);
        assert_int_equal(json_object_get_type(j), json_type_object);
        assert_int_equal(json_object_object_length(j), 16);
        assert_str_member(j, "plain", "hello");
        assert_str_member(j, "quote", "say \"hi\"");
        assert_str_member(j, "backslash", "C:\\path\\to");
        assert_str_member(j, "control", CONTROL);
        assert_str_member(j, "utf8", UTF8);
        assert_str_member(j, "empty", "");
        assert_str_member(j, ODD_KEY, "odd key");
        assert_true(json_object_get_int64(member(j, "min", json_type_int)) == INT64_MIN);
        assert_true(json_object_get_int64(member(j, "max", json_type_int)) == INT64_MAX);
        assert_int_equal(json_object_get_int64(member(j, "zero", json_type_int)), 0);
        assert_int_equal(json_object_get_int64(member(j, "minus_one", json_type_int)), -1);
        assert_true(json_object_get_boolean(member(j, "yes", json_type_boolean)));
        assert_false(json_object_get_boolean(member(j, "no", json_type_boolean)));
        member(j, "nothing", json_type_null);

        v = member(j, "nested", json_type_object);
        assert_int_equal(json_object_object_length(v), 2);
        assert_str_member(v, "inner", "x");
        v = member(v, "deeper", json_type_object);
        assert_int_equal(json_object_get_int64(member(v, "n", json_type_int)), 42);

        v = member(j, "list", json_type_array);
        assert_int_equal(json_object_array_length(v), 4);
        e = json_object_array_get_idx(v, 0);
        assert_int_equal(json_object_get_type(e), json_type_string);
        assert_string_equal(json_object_get_string(e), "a\"b");
        e = json_object_array_get_idx(v, 1);
        assert_int_equal(json_object_get_type(e), json_type_string);
        assert_string_equal(json_object_get_string(e), "");
        e = json_object_array_get_idx(v, 2);
        assert_int_equal(json_object_get_type(e), json_type_object);
        assert_true(json_object_get_boolean(member(e, "k", json_type_boolean)));
        e = json_object_array_get_idx(v, 3);
        assert_int_equal(json_object_get_type(e), json_type_array);
        assert_int_equal(json_object_array_length(e), 0);

        json_object_put(j);
        o = proto_obj_free(o);
        assert_null(o);
}

static void test_output_is_pretty_escaped_and_newline_terminated(void **state)
{
        struct proto_obj *o = proto_obj_new();
        char *text;
        size_t len;

        assert_int_equal(proto_obj_set_str(o, "path", "/var/lib/mlsec"), 0);
        assert_int_equal(proto_obj_set_str(o, "control", CONTROL), 0);
        text = print_text(o);
        len = strlen(text);
        assert_true(len >= 2);
        assert_string_equal(text + len - 2, "}\n");
        /* one member per line */
        assert_non_null(strstr(text, "{\n"));
        /* slashes are not escaped: paths stay readable */
        assert_non_null(strstr(text, "\"/var/lib/mlsec\""));
        /* no raw control character reaches a terminal: only the layout's newlines */
        for (size_t i = 0; i < len; i++)
                assert_true((unsigned char)text[i] >= 0x20 || text[i] == '\n');
        assert_non_null(strstr(text, "tab\\there\\nnew\\rline\\u0001\\u001f"));
        free(text);
        proto_obj_free(o);
}

static void test_same_key_twice_keeps_the_last_value(void **state)
{
        struct proto_obj *o = proto_obj_new();
        struct json_object *j;

        assert_int_equal(proto_obj_set_str(o, "k", "first"), 0);
        assert_int_equal(proto_obj_set_int(o, "k", 2), 0);
        j = round_trip(o);
        assert_int_equal(json_object_object_length(j), 1);
        assert_int_equal(json_object_get_int64(member(j, "k", json_type_int)), 2);
        json_object_put(j);
        proto_obj_free(o);
}

static void test_object_setters_on_an_array_fail(void **state)
{
        struct proto_obj *arr = proto_array_new();
        struct json_object *j;

        assert_int_equal(proto_obj_set_str(arr, "k", "v"), -EINVAL);
        assert_int_equal(proto_obj_set_str(arr, "k", NULL), -EINVAL);
        assert_int_equal(proto_obj_set_int(arr, "k", 1), -EINVAL);
        assert_int_equal(proto_obj_set_bool(arr, "k", true), -EINVAL);
        /* the child is consumed (freed) on failure: valgrind/ASan see no leak */
        assert_int_equal(proto_obj_set_obj(arr, "k", proto_obj_new()), -EINVAL);
        j = round_trip(arr);
        assert_int_equal(json_object_get_type(j), json_type_array);
        assert_int_equal(json_object_array_length(j), 0);
        json_object_put(j);
        proto_obj_free(arr);
}

static void test_array_add_str_to_an_object_fails(void **state)
{
        struct proto_obj *o = proto_obj_new();
        struct json_object *j;

        assert_int_equal(proto_array_add_str(o, "x"), -EINVAL);
        j = round_trip(o);
        assert_int_equal(json_object_object_length(j), 0);
        json_object_put(j);
        proto_obj_free(o);
}

/* Misuse, not a lack of memory: the caller must be told -EINVAL. */
static void test_array_add_to_an_object_fails_with_einval(void **state)
{
        struct proto_obj *o = proto_obj_new();
        struct json_object *j;
        int r;

        r = proto_array_add(o, proto_obj_new()); /* the child is freed either way */
        j = round_trip(o);
        assert_int_equal(json_object_object_length(j), 0);
        json_object_put(j);
        proto_obj_free(o);
        assert_int_equal(r, -EINVAL);
}

/* proto.h: "A NULL string value is written as null", for array elements too. */
static void test_null_string_in_array_is_json_null(void **state)
{
        struct proto_obj *arr = proto_array_new();
        struct json_object *j;
        enum json_type type;

        assert_int_equal(proto_array_add_str(arr, NULL), 0);
        j = round_trip(arr);
        assert_int_equal(json_object_array_length(j), 1);
        type = json_object_get_type(json_object_array_get_idx(j, 0));
        json_object_put(j);
        proto_obj_free(arr);
        assert_int_equal(type, json_type_null);
}

static void test_null_arguments_fail_and_free_the_child(void **state)
{
        struct proto_obj *o = proto_obj_new(), *arr = proto_array_new();
        FILE *tmp = tmpfile();

        assert_int_equal(proto_obj_set_str(NULL, "k", "v"), -EINVAL);
        assert_int_equal(proto_obj_set_int(NULL, "k", 1), -EINVAL);
        assert_int_equal(proto_obj_set_bool(NULL, "k", true), -EINVAL);
        assert_int_equal(proto_obj_set_str(o, NULL, "v"), -EINVAL);
        assert_int_equal(proto_obj_set_obj(NULL, "k", proto_obj_new()), -EINVAL);
        assert_int_equal(proto_obj_set_obj(o, NULL, proto_obj_new()), -EINVAL);
        /* a constructor that failed, passed straight in */
        assert_int_equal(proto_obj_set_obj(o, "k", NULL), -ENOMEM);
        assert_int_equal(proto_array_add(NULL, proto_obj_new()), -EINVAL);
        assert_int_equal(proto_array_add(arr, NULL), -ENOMEM);
        assert_int_equal(proto_array_add_str(NULL, "x"), -EINVAL);
        assert_non_null(tmp);
        assert_int_equal(proto_obj_print(tmp, NULL), -EINVAL);
        assert_int_equal(ftell(tmp), 0);
        fclose(tmp);
        proto_obj_free(arr);
        proto_obj_free(o);
}

static void test_print_to_unwritable_stream_is_eio(void **state)
{
        struct proto_obj *o = proto_obj_new();
        FILE *ro = fopen("/dev/null", "r");

        assert_non_null(ro);
        assert_int_equal(proto_obj_set_int(o, "k", 1), 0);
        assert_int_equal(proto_obj_print(ro, o), -EIO);
        fclose(ro);
        proto_obj_free(o);
}

static void test_free_accepts_null_and_returns_null(void **state)
{
        struct proto_obj *o = proto_obj_new(), *arr = proto_array_new();

        assert_null(proto_obj_free(NULL));
        assert_int_equal(proto_array_add_str(arr, "x"), 0);
        assert_int_equal(proto_obj_set_obj(o, "arr", arr), 0);
        o = proto_obj_free(o); /* frees the child it owns */
        assert_null(o);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_value_reads_back_unchanged),
                cmocka_unit_test(test_output_is_pretty_escaped_and_newline_terminated),
                cmocka_unit_test(test_same_key_twice_keeps_the_last_value),
                cmocka_unit_test(test_object_setters_on_an_array_fail),
                cmocka_unit_test(test_array_add_str_to_an_object_fails),
                cmocka_unit_test(test_array_add_to_an_object_fails_with_einval),
                cmocka_unit_test(test_null_string_in_array_is_json_null),
                cmocka_unit_test(test_null_arguments_fail_and_free_the_child),
                cmocka_unit_test(test_print_to_unwritable_stream_is_eio),
                cmocka_unit_test(test_free_accepts_null_and_returns_null),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
