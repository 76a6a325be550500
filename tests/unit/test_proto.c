/* SPDX-License-Identifier: MIT */
/* Unit tests of common/proto.c: what a consumer of `--json` output and a peer on the wire
 * read back. Objects are printed to a temp file and parsed again with json-c, which only this
 * test and proto.c include; every request, reply and event survives a round trip, every class
 * of malformed datagram is refused with a safe reason, and misuse fails without leaking. */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- the wire codec ---- */

#define BIG (PROTO_MSG_MAX + 1024)

/* A reason sent back to a client: short, NUL-terminated, printable ASCII only. */
static void assert_safe_reason(const char *err, size_t errlen)
{
        size_t n;

        assert_non_null(memchr(err, '\0', errlen));
        n = strlen(err);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++)
                assert_true(err[i] >= 0x20 && err[i] < 0x7f);
}

static int decode_req_len(const char *text, size_t len, struct proto_request *ret)
{
        struct proto_request before;
        char err[128];
        int r;

        memset(ret, 0xa5, sizeof(*ret));
        memcpy(&before, ret, sizeof(before));
        memset(err, 'x', sizeof(err));
        r = proto_decode_request(text, len, ret, err, sizeof(err));
        if (r < 0) {
                assert_safe_reason(err, sizeof(err));
                /* *ret is written only on success */
                assert_memory_equal(ret, &before, sizeof(before));
        } else
                assert_string_equal(err, "");
        return r;
}

static int decode_req(const char *text)
{
        struct proto_request req;

        return decode_req_len(text, strlen(text), &req);
}

static int64_t now_us(void)
{
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An event with every field set, in multi-byte UTF-8 where a field allows it. */
static void full_event(struct mlsec_event *e)
{
        event_init(e, EVENT_AUTH);
        assert_int_equal(event_set_text(e->user, sizeof(e->user), "alice"), 0);
        e->uid = 1000;
        assert_int_equal(event_set_text(e->service, sizeof(e->service), "sshd"), 0);
        assert_int_equal(event_set_text(e->rhost, sizeof(e->rhost), "h\xc3\xb4te.example.org"), 0);
        assert_int_equal(event_set_text(e->ip, sizeof(e->ip), "2001:db8::1"), 0);
        assert_int_equal(event_set_text(e->tty, sizeof(e->tty), "ssh"), 0);
        assert_int_equal(event_set_text(e->method, sizeof(e->method), "totp"), 0);
        assert_int_equal(event_set_text(e->result, sizeof(e->result), "fail"), 0);
        assert_int_equal(event_set_text(e->reason, sizeof(e->reason), "replayed"), 0);
        assert_int_equal(event_set_text(e->session, sizeof(e->session), "c12"), 0);
        e->pid = 4242;
        e->actor_uid = 0;
        assert_int_equal(event_set_text(e->action, sizeof(e->action), "enrol"), 0);
        assert_int_equal(event_set_text(e->detail, sizeof(e->detail), "\"quoted\" \\ \xe2\x9c\x93 \xf0\x9f\x98\x80"),
                         0);
}

static void assert_request_round_trip(const struct proto_request *req)
{
        struct proto_request back;
        char buf[PROTO_MSG_MAX];
        size_t len = 0;

        assert_int_equal(proto_encode_request(req, buf, sizeof(buf), &len), 0);
        assert_true(len > 0 && len <= PROTO_MSG_MAX);
        assert_null(memchr(buf, '\0', len));
        assert_int_equal(decode_req_len(buf, len, &back), 0);
        assert_int_equal(back.method, req->method);
        assert_memory_equal(&back, req, sizeof(back));
}

/* A request of METHOD with every parameter it takes set (others zero). */
static void full_request(struct proto_request *req, enum proto_method m)
{
        memset(req, 0, sizeof(*req));
        req->method = m;
        switch (m) {
        case PROTO_REPORT:
                full_event(&req->event);
                break;
        case PROTO_HISTORY:
                strcpy(req->user, "bob");
                req->all = true;
                req->limit = 20;
                req->failed_only = true;
                break;
        case PROTO_SESSIONS:
                strcpy(req->user, "bob.smith_2$");
                req->all = true;
                req->include_closed = true;
                req->limit = PROTO_LIMIT_MAX;
                break;
        case PROTO_LOGOUT:
                strcpy(req->session, "c1-Ab_9.x");
                break;
        case PROTO_AUDIT:
                strcpy(req->user, "carol");
                req->all = true;
                req->limit = 1;
                break;
        case PROTO_STATUS:
        case PROTO_MFA_DEVICES:
        case PROTO_BACKUP_CODES:
                strcpy(req->user, "dave");
                break;
        case PROTO_MFA_BEGIN:
                strcpy(req->device, "work phone");
                strcpy(req->code, "123456");
                break;
        case PROTO_MFA_CONFIRM:
                strcpy(req->token, "0123456789abcdef0123456789abcdef");
                strcpy(req->code, "654321");
                break;
        case PROTO_MFA_REMOVE:
                strcpy(req->device, "old-tablet_2.0");
                strcpy(req->code, "abcd-efgh-ijkl");
                break;
        case PROTO_MFA_DISABLE:
        case PROTO_BACKUP_REGENERATE:
                strcpy(req->code, "12345678");
                break;
        case PROTO_VERIFY:
                strcpy(req->code, "s3cret pass\"word\\123456");
                req->combined = true;
                strcpy(req->service, "xscreensaver");
                strcpy(req->tty, ":0");
                /* the module's fields as root */
                strcpy(req->user, "alice");
                full_event(&req->event);
                strcpy(req->source, "203.0.113.7");
                strcpy(req->cls, "console");
                req->known = true;
                strcpy(req->grant_session, "4242@98765");
                break;
        case PROTO_ADMIN_RESET_MFA:
                strcpy(req->user, "erin");
                strcpy(req->reason, "lost her phone; identity checked in person (ticket #42) — ok");
                break;
        case PROTO_ADMIN_UNLOCK:
                strcpy(req->user, "frank");
                strcpy(req->source, "tty:pts/3");
                break;
        case PROTO_ADMIN_FORGET:
                strcpy(req->user, "hugo");
                break;
        case PROTO_ADMIN_IMPORT:
                strcpy(req->user, "gina");
                strcpy(req->secret, "7JTF23IADGYYYQPQVMZ5O2ZC24");
                req->digits = 6;
                req->period = 60;
                req->last_step = 29654321;
                strcpy(req->device, "google-authenticator");
                for (int i = 0; i < PROTO_SCRATCH_MAX; i++)
                        snprintf(req->scratch[i], sizeof(req->scratch[i]), "%08d", 10000000 + 1111111 * i);
                req->n_scratch = PROTO_SCRATCH_MAX;
                req->replace = true;
                strcpy(req->source, "/home/gina/.google_authenticator");
                break;
        case PROTO_REPORT_EVENT:
                strcpy(req->event_id, "fedcba9876543210fedcba9876543210");
                strcpy(req->note, "not me — I was asleep \"then\"");
                break;
        case PROTO_ADMIN_USERS:
                req->unknown = true;
                req->limit = 100;
                break;
        case PROTO_ADMIN_ALERTS:
                strcpy(req->user, "gina");
                req->limit = 7;
                req->open_only = true;
                break;
        case PROTO_ADMIN_ALERT_ACK:
                req->alert = INT64_MAX;
                break;
        case PROTO_NOTICE:
                strcpy(req->user, "grace");
                strcpy(req->service, "sshd");
                strcpy(req->rhost, "host-7.example.org");
                strcpy(req->ip, "2001:db8:1::5");
                strcpy(req->login, "00112233445566778899aabbccddeeff");
                break;
        default:
                break;
        }
}

static bool has_required(enum proto_method m)
{
        switch (m) {
        case PROTO_REPORT:
        case PROTO_LOGOUT:
        case PROTO_MFA_CONFIRM:
        case PROTO_MFA_REMOVE:
        case PROTO_MFA_DISABLE:
        case PROTO_BACKUP_REGENERATE:
        case PROTO_ADMIN_RESET_MFA:
        case PROTO_ADMIN_UNLOCK:
        case PROTO_ADMIN_IMPORT:
        case PROTO_REPORT_EVENT:
        case PROTO_ADMIN_ALERT_ACK:
        case PROTO_ADMIN_FORGET:
                return true;
        default:
                return false;
        }
}

static void test_method_names(void **state)
{
        static const char *names[] = {
                "ping",         "report",       "history",         "sessions",     "logout",
                "audit",        "audit-verify", "status",          "mfa-begin",    "mfa-confirm",
                "mfa-devices",  "mfa-remove",   "mfa-disable",     "backup-codes", "backup-regenerate",
                "verify",       "admin-users",  "admin-reset-mfa", "admin-unlock", "admin-import",
                "report-event", "admin-alerts", "admin-alert-ack", "notice",       "admin-status",
                "forget",       "admin-forget"};

        assert_int_equal(sizeof(names) / sizeof(names[0]), _PROTO_METHOD_MAX);
        enum proto_method m = PROTO_PING;

        for (int i = 0; i < _PROTO_METHOD_MAX; i++) {
                assert_string_equal(proto_method_to_string((enum proto_method)i), names[i]);
                assert_int_equal(proto_method_from_string(names[i], &m), 0);
                assert_int_equal(m, i);
        }
        assert_null(proto_method_to_string(_PROTO_METHOD_MAX));
        m = PROTO_AUDIT;
        assert_int_equal(proto_method_from_string("PING", &m), -EOPNOTSUPP);
        assert_int_equal(proto_method_from_string("", &m), -EOPNOTSUPP);
        assert_int_equal(proto_method_from_string(NULL, &m), -EINVAL);
        assert_int_equal(m, PROTO_AUDIT);
}

static void test_request_round_trip_every_method_every_param(void **state)
{
        struct proto_request req;

        for (int m = 0; m < _PROTO_METHOD_MAX; m++) {
                full_request(&req, (enum proto_method)m);
                assert_request_round_trip(&req);
        }
        /* and with every optional parameter absent */
        for (int m = 0; m < _PROTO_METHOD_MAX; m++) {
                if (has_required((enum proto_method)m))
                        continue;
                memset(&req, 0, sizeof(req));
                req.method = (enum proto_method)m;
                assert_request_round_trip(&req);
        }
        /* the longest strings that fit */
        full_request(&req, PROTO_LOGOUT);
        memset(req.session, 's', sizeof(req.session) - 1);
        assert_request_round_trip(&req);
        full_request(&req, PROTO_HISTORY);
        memset(req.user, 'u', sizeof(req.user) - 1);
        assert_request_round_trip(&req);
        full_request(&req, PROTO_REPORT);
        memset(req.event.detail, 'd', sizeof(req.event.detail) - 1);
        assert_request_round_trip(&req);
        full_request(&req, PROTO_VERIFY);
        memset(req.code, 'c', sizeof(req.code) - 1);
        assert_request_round_trip(&req);
        full_request(&req, PROTO_ADMIN_RESET_MFA);
        memset(req.reason, 'r', sizeof(req.reason) - 1);
        assert_request_round_trip(&req);
        full_request(&req, PROTO_REPORT_EVENT);
        memset(req.note, 'n', sizeof(req.note) - 1);
        assert_request_round_trip(&req);
}

/* The parameters of the alert methods: required ones, and each one's rule. */
static void test_request_alert_params(void **state)
{
        struct proto_request req;
        char buf[PROTO_MSG_MAX];
        size_t len;

        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":{\"note\":\"x\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":"
                                    "{\"event_id\":\"0123456789abcdef0123456789abcdef\"}}"),
                         0);
        /* an event id or its start: 8 to 32 lower-case hex digits (mlsecd resolves a prefix) */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":"
                                    "{\"event_id\":\"0123456789ABCDEF0123456789abcdef\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":{\"event_id\":\"0123\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":{\"event_id\":\"0123abc\"}}"),
                         -EINVAL); /* 7 */
#define REPORT_EVENT(id) "{\"v\":1,\"method\":\"report-event\",\"params\":{\"event_id\":\"" id "\"}}"
        assert_int_equal(decode_req_len(REPORT_EVENT("0123abcd"), strlen(REPORT_EVENT("0123abcd")), &req), 0); /* 8 */
        assert_string_equal(req.event_id, "0123abcd");
        assert_int_equal(decode_req_len(REPORT_EVENT("0123456789ab"), strlen(REPORT_EVENT("0123456789ab")), &req),
                         0); /* 12, the ID column of history */
        assert_string_equal(req.event_id, "0123456789ab");
#undef REPORT_EVENT
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":"
                                    "{\"event_id\":\"0123456789abcdef0123456789abcdef0\"}}"),
                         -EINVAL); /* 33 */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":{\"event_id\":\"0123abcD\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":{\"event_id\":\"0123abcg\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":"
                                    "{\"event_id\":\"0123abcd \"}}"),
                         -EINVAL);
        /* a note: text, not empty, without control characters, at most 255 bytes */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":"
                                    "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"note\":\"a\\u0007b\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":"
                                    "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"note\":\"\"}}"),
                         -EINVAL);
        /* the user is never a parameter of a report: who reports comes from the socket */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report-event\",\"params\":"
                                    "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"user\":\"bob\"}}"),
                         -EINVAL);
        /* an alert id: an integer from 1 */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-alert-ack\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-alert-ack\",\"params\":{\"alert\":0}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-alert-ack\",\"params\":{\"alert\":\"1\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-alert-ack\",\"params\":{\"alert\":1}}"), 0);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-alerts\",\"params\":{\"open\":1}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-alerts\",\"params\":{\"alert\":1}}"), -EINVAL);
        /* the encoder refuses the same */
        full_request(&req, PROTO_REPORT_EVENT);
        req.event_id[0] = 'G';
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_REPORT_EVENT);
        req.event_id[7] = '\0'; /* 7 digits */
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_REPORT_EVENT);
        memset(req.event_id + 8, 0, sizeof(req.event_id) - 8); /* a prefix of 8 goes out and comes back */
        assert_request_round_trip(&req);
        full_request(&req, PROTO_REPORT_EVENT);
        strcpy(req.note, "two\nlines");
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_ADMIN_ALERT_ACK);
        req.alert = 0;
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
}

/* The parameters of the settings-page methods: required ones, and each one's rule. */
/* admin-import: its required keys, each value's rule, and the wipe of its secrets. */
#define IMPORT_OK     "\"user\":\"gina\",\"secret\":\"7JTF23IADGYYYQPQVMZ5O2ZC24\",\"digits\":6,\"period\":30"
#define IMPORT(extra) "{\"v\":1,\"method\":\"admin-import\",\"params\":{" IMPORT_OK extra "}}"
static void test_request_import_params(void **state)
{
        struct proto_request req;
        const char *good = IMPORT(",\"scratch_codes\":[\"12345678\",\"99999999\"],\"last_step\":59,\"replace\":true");

        assert_int_equal(decode_req_len(good, strlen(good), &req), 0);
        assert_string_equal(req.secret, "7JTF23IADGYYYQPQVMZ5O2ZC24");
        assert_int_equal(req.n_scratch, 2);
        assert_string_equal(req.scratch[1], "99999999");
        assert_int_equal(req.last_step, 59);
        assert_true(req.replace);
        assert_int_equal(req.period, 30);
        proto_request_wipe(&req);
        assert_int_equal(req.secret[0] + req.scratch[0][0] + req.scratch[1][7], 0);
        assert_string_equal(req.user, "gina"); /* only the secrets go */

        assert_int_equal(decode_req(IMPORT("")), 0);
        /* required: user, secret, digits, period */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-import\",\"params\":{\"user\":\"gina\","
                                    "\"digits\":6,\"period\":30}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-import\",\"params\":{\"user\":\"gina\","
                                    "\"secret\":\"7JTF23IADGYYYQPQVMZ5O2ZC24\",\"digits\":6}}"),
                         -EINVAL);
        /* the secret: upper-case base32, 16 characters at least */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-import\",\"params\":{\"user\":\"gina\","
                                    "\"secret\":\"7jtf23iadgyyyqpqvmz5o2zc24\",\"digits\":6,\"period\":30}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-import\",\"params\":{\"user\":\"gina\","
                                    "\"secret\":\"ABCDEFGHIJKLMNO\",\"digits\":6,\"period\":30}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-import\",\"params\":{\"user\":\"gina\","
                                    "\"secret\":\"ABCDEFGHIJKLMNO1\",\"digits\":6,\"period\":30}}"),
                         -EINVAL);
        /* numbers in range */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-import\",\"params\":{\"user\":\"gina\","
                                    "\"secret\":\"7JTF23IADGYYYQPQVMZ5O2ZC24\",\"digits\":7,\"period\":30}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-import\",\"params\":{\"user\":\"gina\","
                                    "\"secret\":\"7JTF23IADGYYYQPQVMZ5O2ZC24\",\"digits\":6,\"period\":61}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-import\",\"params\":{\"user\":\"gina\","
                                    "\"secret\":\"7JTF23IADGYYYQPQVMZ5O2ZC24\",\"digits\":6,\"period\":0}}"),
                         -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"last_step\":0")), -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"last_step\":2147483648")), -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"period\":\"30\"")), -EINVAL); /* twice, and a string */
        /* scratch codes: eight digits, not starting with 0, at most ten, an array of strings */
        assert_int_equal(decode_req(IMPORT(",\"scratch_codes\":[\"1234567\"]")), -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"scratch_codes\":[\"123456789\"]")), -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"scratch_codes\":[\"01234567\"]")), -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"scratch_codes\":[\"1234567a\"]")), -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"scratch_codes\":[12345678]")), -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"scratch_codes\":\"12345678\"")), -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"scratch_codes\":[\"11111111\",\"11111112\",\"11111113\",\"11111114\","
                                           "\"11111115\",\"11111116\",\"11111117\",\"11111118\",\"11111119\","
                                           "\"11111120\",\"11111121\"]")),
                         -EINVAL);
        assert_int_equal(decode_req(IMPORT(",\"scratch_codes\":[]")), 0);
        /* its parameters belong to it alone */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-unlock\",\"params\":{\"user\":\"gina\","
                                    "\"secret\":\"7JTF23IADGYYYQPQVMZ5O2ZC24\"}}"),
                         -EINVAL);
        /* the encoder refuses what the decoder would */
        memset(&req, 0, sizeof(req));
        req.method = PROTO_ADMIN_IMPORT;
        strcpy(req.user, "gina");
        strcpy(req.secret, "7JTF23IADGYYYQPQVMZ5O2ZC24");
        req.digits = 6;
        req.period = 30;
        {
                char buf[4096];
                size_t len;

                assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), 0);
                req.period = 0;
                assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
                req.period = 30;
                req.n_scratch = 1;
                strcpy(req.scratch[0], "0000000");
                assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
                strcpy(req.scratch[0], "12345678");
                strcpy(req.secret, "lower-case");
                assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        }
}

static void test_request_settings_params(void **state)
{
        struct proto_request req;

        /* required: token and code for confirm, device and code for remove, code for the rest */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-confirm\",\"params\":{\"code\":\"123456\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-remove\",\"params\":{\"code\":\"123456\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-disable\"}"), -EINVAL);
        /* verify without a code: what is decided before the code is asked */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"verify\",\"params\":{}}"), 0);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"verify\",\"params\":{\"class\":\"nearby\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"verify\",\"params\":{\"grant_session\":\"1@\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"verify\",\"params\":{\"grant_session\":\"12@3x\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-reset-mfa\",\"params\":{\"user\":\"bob\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"admin-unlock\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-begin\"}"), 0);
        /* each value's rule */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-begin\",\"params\":{\"device\":\" lead\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-begin\",\"params\":{\"device\":\"a/b\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-confirm\",\"params\":{\"token\":"
                                    "\"0123456789ABCDEF0123456789abcdef\",\"code\":\"1\"}}"),
                         -EINVAL);
        assert_int_equal(
                decode_req("{\"v\":1,\"method\":\"mfa-confirm\",\"params\":{\"token\":\"0123\",\"code\":\"1\"}}"),
                -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-disable\",\"params\":{\"code\":\"\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-disable\",\"params\":{\"code\":\"12\\n34\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"mfa-disable\",\"params\":{\"code\":123456}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"verify\",\"params\":{\"code\":\"1\",\"combined\":1}}"),
                         -EINVAL);
        /* a parameter of another method is unknown here */
        assert_int_equal(
                decode_req("{\"v\":1,\"method\":\"mfa-disable\",\"params\":{\"code\":\"1\",\"device\":\"x\"}}"),
                -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"code\":\"1\"}}"), -EINVAL);
        /* the encoder refuses the same */
        char buf[PROTO_MSG_MAX];
        size_t len;
        full_request(&req, PROTO_MFA_CONFIRM);
        req.token[3] = 'X';
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_MFA_DISABLE);
        req.code[0] = '\0';
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_ADMIN_UNLOCK);
        req.user[0] = '\0';
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_MFA_REMOVE);
        strcpy(req.device, "bad\001name");
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
}

/* The login notice's parameters: all optional, each with its rule. */
static void test_request_notice_params(void **state)
{
        struct proto_request req;
        char buf[PROTO_MSG_MAX];
        size_t len;

        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\"}"), 0);
        const char *ok = "{\"v\":1,\"method\":\"notice\",\"params\":{\"ip\":\"198.51.100.9\","
                         "\"rhost\":\"198.51.100.9\",\"service\":\"login\"}}";
        assert_int_equal(decode_req_len(ok, strlen(ok), &req), 0);
        assert_string_equal(req.ip, "198.51.100.9");
        assert_string_equal(req.rhost, "198.51.100.9");
        assert_string_equal(req.service, "login");
        assert_string_equal(req.login, "");
        /* ip: an address, nothing else */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\",\"params\":{\"ip\":\"host.example\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\",\"params\":{\"ip\":\"10.0.0.1/8\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\",\"params\":{\"ip\":\"\"}}"), -EINVAL);
        /* login: an event id, 32 lower-case hex digits */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\",\"params\":{\"login\":"
                                    "\"00112233445566778899AABBCCDDEEFF\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\",\"params\":{\"login\":\"0011\"}}"), -EINVAL);
        /* rhost: text without control characters, not empty */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\",\"params\":{\"rhost\":\"a\\u001bb\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\",\"params\":{\"rhost\":\"\"}}"), -EINVAL);
        /* not another method's parameter, and not the notice's elsewhere */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"notice\",\"params\":{\"code\":\"1\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"login\":"
                                    "\"00112233445566778899aabbccddeeff\"}}"),
                         -EINVAL);
        /* the encoder refuses the same */
        full_request(&req, PROTO_NOTICE);
        strcpy(req.ip, "not-an-ip");
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_NOTICE);
        req.login[0] = 'G';
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_NOTICE);
        memset(req.rhost, 'h', sizeof(req.rhost) - 1);
        assert_request_round_trip(&req);
}

/* A secret reply's strings can be zeroed before the object is freed. */
static void test_obj_wipe(void **state)
{
        struct proto_obj *o = proto_obj_new(), *a = proto_array_new(), *v;
        const char *s;

        assert_int_equal(proto_obj_set_str(o, "secret", "JBSWY3DPEHPK3PXP"), 0);
        assert_int_equal(proto_array_add_str(a, "abcd-efgh"), 0);
        assert_int_equal(proto_obj_set_obj(o, "codes", a), 0);
        s = proto_obj_get_str(o, "secret"); /* json-c's own buffer */
        assert_non_null(s);
        proto_obj_wipe(o);
        for (size_t i = 0; i < 16; i++)
                assert_int_equal(s[i], 0);
        /* a string holding NULs is no longer a string to the getters */
        assert_null(proto_obj_get_str(o, "secret"));
        v = proto_obj_get(o, "codes");
        assert_non_null(v);
        proto_obj_free(v);
        proto_obj_free(o);
}

static void test_request_decodes_what_the_header_shows(void **state)
{
        const char *text = "{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"alice\",\"limit\":20}}";
        struct proto_request req;

        assert_int_equal(decode_req_len(text, strlen(text), &req), 0);
        assert_int_equal(req.method, PROTO_HISTORY);
        assert_string_equal(req.user, "alice");
        assert_int_equal(req.limit, 20);
        assert_false(req.all);
        assert_false(req.failed_only);
        /* whitespace between tokens and key order do not matter; explicit false is false */
        text = " { \"params\" : { \"failed\" : false, \"all\": true } , \"method\":\"history\", \"v\":1 }\n";
        assert_int_equal(decode_req_len(text, strlen(text), &req), 0);
        assert_true(req.all);
        assert_false(req.failed_only);
        assert_int_equal(req.limit, 0);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\",\"params\":{}}"), 0);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"audit-verify\"}"), 0);
}

static void test_request_encoder_refuses_what_the_decoder_would(void **state)
{
        struct proto_request req;
        char buf[PROTO_MSG_MAX];
        size_t len = 12345;

        full_request(&req, PROTO_HISTORY);
        req.limit = PROTO_LIMIT_MAX + 1;
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_HISTORY);
        strcpy(req.user, "-rf");
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_LOGOUT);
        req.session[0] = '\0';
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        strcpy(req.session, "a/b");
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_REPORT);
        req.event.kind = _EVENT_KIND_MAX;
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        full_request(&req, PROTO_REPORT);
        strcpy(req.event.detail, "line\nbreak");
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        req.method = _PROTO_METHOD_MAX;
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), -EINVAL);
        /* too small a buffer */
        full_request(&req, PROTO_HISTORY);
        assert_int_equal(proto_encode_request(&req, buf, 10, &len), -EMSGSIZE);
        assert_int_equal(proto_encode_request(NULL, buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(len, 12345);
        /* parameters the method does not take are not sent */
        full_request(&req, PROTO_PING);
        strcpy(req.user, "bob");
        req.limit = 5000;
        assert_int_equal(proto_encode_request(&req, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, strlen("{\"v\":1,\"method\":\"ping\"}"));
        assert_memory_equal(buf, "{\"v\":1,\"method\":\"ping\"}", len);
}

static void test_request_rejects_oversize_and_empty(void **state)
{
        struct proto_request req;
        char *big = malloc(BIG);
        size_t n;

        assert_non_null(big);
        /* valid JSON, just too long: a string of spaces after the object */
        n = (size_t)snprintf(big, BIG, "{\"v\":1,\"method\":\"ping\"}");
        memset(big + n, ' ', BIG - n);
        assert_int_equal(decode_req_len(big, PROTO_MSG_MAX + 1, &req), -EMSGSIZE);
        assert_int_equal(decode_req_len(big, SIZE_MAX, &req), -EMSGSIZE);
        /* exactly the maximum is fine */
        assert_int_equal(decode_req_len(big, PROTO_MSG_MAX, &req), 0);
        free(big);
        assert_int_equal(decode_req_len("", 0, &req), -EINVAL);
        assert_int_equal(decode_req_len(NULL, 0, &req), -EINVAL);
        assert_int_equal(proto_decode_request("{}", 2, NULL, NULL, 0), -EINVAL);
}

static void test_request_rejects_trailing_bytes_and_nul(void **state)
{
        static const char with_nul[] = "{\"v\":1,\"method\":\"ping\"}\0";
        static const char nul_inside[] = "{\"v\":1,\"method\":\"ping\"\0}";
        struct proto_request req;

        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\"}x"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\"}{}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\"} 1"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\""), -EINVAL); /* truncated */
        assert_int_equal(decode_req_len(with_nul, sizeof(with_nul) - 1, &req), -EINVAL);
        assert_int_equal(decode_req_len(nul_inside, sizeof(nul_inside) - 1, &req), -EINVAL);
        /* an escaped NUL would cut a key or value short */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"bob\\u0000x\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\\u0000x\":\"ping\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\\u0000\"}"), -EINVAL);
        /* but an escaped backslash followed by "u0000" is just text */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"\\\\u0000\"}}"),
                         -EINVAL); /* a backslash is not a session id character */
}

static void test_request_rejects_non_strict_json(void **state)
{
        assert_int_equal(decode_req("{'v':1,'method':'ping'}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\",}"), -EINVAL);
        assert_int_equal(decode_req("{v:1,\"method\":\"ping\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,/*c*/\"method\":\"ping\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":01,\"method\":\"ping\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"limit\":NaN}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"limit\":-Infinity}}"), -EINVAL);
        /* duplicate keys: json-c would keep the last one silently */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\",\"method\":\"logout\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"a\",\"user\":\"b\"}}"),
                         -EINVAL);
        /* not an object */
        assert_int_equal(decode_req("[1]"), -EINVAL);
        assert_int_equal(decode_req("\"ping\""), -EINVAL);
        assert_int_equal(decode_req("1"), -EINVAL);
        assert_int_equal(decode_req("null"), -EINVAL);
}

static void test_request_rejects_depth_bombs(void **state)
{
        struct proto_request req;
        char *bomb = malloc(40000);
        size_t n = 0;

        assert_non_null(bomb);
        memset(bomb, '[', 10000);
        assert_int_equal(decode_req_len(bomb, 10000, &req), -EINVAL);
        memset(bomb + 10000, ']', 10000);
        assert_int_equal(decode_req_len(bomb, 20000, &req), -EINVAL);
        /* objects nested inside params */
        n = (size_t)sprintf(bomb, "{\"v\":1,\"method\":\"history\",\"params\":");
        for (int i = 0; i < 5000; i++)
                n += (size_t)sprintf(bomb + n, "{\"a\":");
        assert_int_equal(decode_req_len(bomb, n, &req), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":[[[[[[[[[]]]]]]]]]}}"),
                         -EINVAL);
        free(bomb);
}

static void test_request_rejects_wrong_types(void **state)
{
        static const char *bad[] = {
                "{\"v\":\"1\",\"method\":\"ping\"}",
                "{\"v\":1.0,\"method\":\"ping\"}",
                "{\"v\":true,\"method\":\"ping\"}",
                "{\"v\":1,\"method\":1}",
                "{\"v\":1,\"method\":null}",
                "{\"v\":1,\"method\":[\"ping\"]}",
                "{\"v\":1,\"method\":\"ping\",\"params\":[]}",
                "{\"v\":1,\"method\":\"ping\",\"params\":null}",
                "{\"v\":1,\"method\":\"history\",\"params\":{\"user\":1}}",
                "{\"v\":1,\"method\":\"history\",\"params\":{\"user\":null}}",
                "{\"v\":1,\"method\":\"history\",\"params\":{\"all\":1}}",
                "{\"v\":1,\"method\":\"history\",\"params\":{\"all\":\"true\"}}",
                "{\"v\":1,\"method\":\"history\",\"params\":{\"failed\":null}}",
                "{\"v\":1,\"method\":\"sessions\",\"params\":{\"closed\":0}}",
                "{\"v\":1,\"method\":\"history\",\"params\":{\"limit\":\"20\"}}",
                "{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":12}}",
                "{\"v\":1,\"method\":\"report\",\"params\":{\"event\":[]}}",
                "{\"v\":1,\"method\":\"report\",\"params\":{\"event\":\"{}\"}}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (decode_req(bad[i]) != -EINVAL)
                        fail_msg("accepted or misjudged: %s", bad[i]);
}

static void test_request_rejects_unknown_keys_at_each_level(void **state)
{
        struct proto_request req;
        char text[2048], err[128];
        char ev[1024];
        size_t len;

        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\",\"x\":1}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\",\"V\":1}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\",\"params\":{\"x\":1}}"), -EINVAL);
        /* a key another method takes */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"ping\",\"params\":{\"user\":\"bob\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"closed\":true}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"sessions\",\"params\":{\"failed\":true}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"audit\",\"params\":{\"session\":\"c1\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"c1\",\"all\":true}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"audit-verify\",\"params\":{\"limit\":1}}"), -EINVAL);

        /* inside the event of a report */
        full_request(&req, PROTO_REPORT);
        assert_int_equal(proto_event_encode(&req.event, ev, sizeof(ev) - 1, &len), 0);
        ev[len - 1] = '\0'; /* drop the closing brace */
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"report\",\"params\":{\"event\":%s,\"extra\":1}}}", ev);
        assert_int_equal(decode_req(text), -EINVAL);
        /* the same event, closed properly, is accepted */
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"report\",\"params\":{\"event\":%s}}}", ev);
        assert_int_equal(decode_req(text), 0);
        /* and an extra key beside the event is not */
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"report\",\"params\":{\"event\":%s},\"x\":1}}", ev);
        assert_int_equal(decode_req(text), -EINVAL);

        /* the reason names the key, escaped: no raw byte of the client's reaches a log */
        len = (size_t)snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"ping\",\"\\u001b[31m\\\"evil\":1}");
        assert_int_equal(proto_decode_request(text, len, &req, err, sizeof(err)), -EINVAL);
        assert_safe_reason(err, sizeof(err));
        assert_non_null(strstr(err, "\\x1b[31m\\x22evil"));
        /* a long key is cut short */
        len = (size_t)snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"ping\",\"%0500d\":1}", 7);
        assert_int_equal(proto_decode_request(text, len, &req, err, sizeof(err)), -EINVAL);
        assert_safe_reason(err, sizeof(err));
        assert_true(strlen(err) < 64);
}

static void test_request_rejects_bad_versions_and_methods(void **state)
{
        assert_int_equal(decode_req("{\"v\":2,\"method\":\"ping\"}"), -EPROTONOSUPPORT);
        assert_int_equal(decode_req("{\"v\":0,\"method\":\"ping\"}"), -EPROTONOSUPPORT);
        assert_int_equal(decode_req("{\"v\":-1,\"method\":\"ping\"}"), -EPROTONOSUPPORT);
        assert_int_equal(decode_req("{\"v\":18446744073709551617,\"method\":\"ping\"}"), -EPROTONOSUPPORT);
        /* a newer version is recognised as such even with keys this one does not know */
        assert_int_equal(decode_req("{\"v\":2,\"method\":\"ping\",\"trace\":\"x\"}"), -EPROTONOSUPPORT);
        assert_int_equal(decode_req("{\"method\":\"ping\"}"), -EINVAL);
        assert_int_equal(decode_req("{}"), -EINVAL);

        assert_int_equal(decode_req("{\"v\":1,\"method\":\"shutdown\"}"), -EOPNOTSUPP);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"Ping\"}"), -EOPNOTSUPP);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"\"}"), -EOPNOTSUPP);
        assert_int_equal(decode_req("{\"v\":1}"), -EINVAL);
        /* required parameters */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\"}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\",\"params\":{}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"report\"}"), -EINVAL);
}

static void test_request_rejects_bad_strings(void **state)
{
        char text[1024];
        char user[80];

        /* over-long: 64 bytes do not fit user[64] */
        memset(user, 'u', 64);
        user[64] = '\0';
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"%s\"}}", user);
        assert_int_equal(decode_req(text), -EINVAL);
        user[63] = '\0';
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"%s\"}}", user);
        assert_int_equal(decode_req(text), 0);

        /* invalid user names */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"-x\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"a b\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"..\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"\\u00e9\"}}"), -EINVAL);

        /* bad UTF-8 (raw) and control characters (escaped and raw) */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"\xc0\xaf\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"\xed\xa0\x80\"}}"),
                         -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"\xff\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"a\\tb\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"a\tb\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"a\\u0085\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"a\\u007f\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"history\",\"params\":{\"user\":\"\\u001b[2J\"}}"), -EINVAL);

        /* session ids */
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"a b\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"../x\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"c1;id\"}}"), -EINVAL);
        assert_int_equal(decode_req("{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"\\u00e9\"}}"), -EINVAL);
        memset(user, 's', 64);
        user[64] = '\0';
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"%s\"}}", user);
        assert_int_equal(decode_req(text), -EINVAL);
        user[63] = '\0';
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"logout\",\"params\":{\"session\":\"%s\"}}", user);
        assert_int_equal(decode_req(text), 0);
}

static void test_request_rejects_bad_limits(void **state)
{
        static const char *bad[] = {
                "0", "1001", "-1", "20.0", "2e1", "-0.5", "4294967297", "18446744073709551616", "-9223372036854775809"};
        char text[256];
        struct proto_request req;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"audit\",\"params\":{\"limit\":%s}}", bad[i]);
                if (decode_req(text) != -EINVAL)
                        fail_msg("limit %s accepted", bad[i]);
        }
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"audit\",\"params\":{\"limit\":1000}}");
        assert_int_equal(decode_req_len(text, strlen(text), &req), 0);
        assert_int_equal(req.limit, 1000);
        snprintf(text, sizeof(text), "{\"v\":1,\"method\":\"audit\",\"params\":{\"limit\":1}}");
        assert_int_equal(decode_req_len(text, strlen(text), &req), 0);
        assert_int_equal(req.limit, 1);
}

static void test_report_checks_its_event(void **state)
{
        struct proto_request req;
        char text[2048];

        snprintf(text, sizeof(text),
                 "{\"v\":1,\"method\":\"report\",\"params\":{\"event\":{\"id\":\"0123456789abcdef0123456789abcdef\","
                 "\"kind\":\"session-open\",\"time_us\":%lld,\"user\":\"alice\",\"uid\":1000,\"session\":\"5\"}}}",
                 (long long)now_us());
        assert_int_equal(decode_req_len(text, strlen(text), &req), 0);
        assert_int_equal(req.method, PROTO_REPORT);
        assert_int_equal(req.event.kind, EVENT_SESSION_OPEN);
        assert_string_equal(req.event.user, "alice");
        assert_int_equal(req.event.uid, 1000);
        assert_int_equal(req.event.pid, -1);
        assert_int_equal(req.event.actor_uid, -1);
        assert_string_equal(req.event.session, "5");

        /* event_validate applies: a session event without a user */
        snprintf(text, sizeof(text),
                 "{\"v\":1,\"method\":\"report\",\"params\":{\"event\":{\"id\":\"0123456789abcdef0123456789abcdef\","
                 "\"kind\":\"session-open\",\"time_us\":%lld}}}",
                 (long long)now_us());
        assert_int_equal(decode_req(text), -EINVAL);
        /* a time in 1999 */
        snprintf(text, sizeof(text),
                 "{\"v\":1,\"method\":\"report\",\"params\":{\"event\":{\"id\":\"0123456789abcdef0123456789abcdef\","
                 "\"kind\":\"audit\",\"time_us\":946684799000000,\"action\":\"enrol\"}}}");
        assert_int_equal(decode_req(text), -EINVAL);
}

/* ---- replies ---- */

static int decode_reply_text(const char *text, struct proto_obj **ret, char *code, size_t codelen, char *msg,
                             size_t msglen)
{
        return proto_decode_reply(text, strlen(text), ret, code, codelen, msg, msglen);
}

static void test_reply_round_trips(void **state)
{
        struct proto_obj *result = proto_obj_new(), *events = proto_array_new(), *got = NULL, *arr;
        struct mlsec_event e;
        char buf[PROTO_MSG_MAX], code[32], msg[256];
        size_t len;
        bool b = false;
        int64_t n = 0;

        full_event(&e);
        assert_int_equal(proto_array_add(events, proto_event_to_obj(&e)), 0);
        assert_int_equal(proto_obj_set_obj(result, "events", events), 0);
        assert_int_equal(proto_obj_set_bool(result, "live", true), 0);
        assert_int_equal(proto_obj_set_int(result, "checked", 7), 0);
        assert_int_equal(proto_obj_set_str(result, "first_bad", NULL), 0);
        assert_int_equal(proto_encode_reply(result, buf, sizeof(buf), &len), 0);
        proto_obj_free(result);

        got = (struct proto_obj *)1;
        assert_int_equal(proto_decode_reply(buf, len, &got, code, sizeof(code), msg, sizeof(msg)), 0);
        assert_non_null(got);
        assert_int_equal(proto_obj_get_bool(got, "live", &b), 0);
        assert_true(b);
        assert_int_equal(proto_obj_get_int(got, "checked", &n), 0);
        assert_int_equal(n, 7);
        arr = proto_obj_get(got, "events");
        assert_int_equal(proto_array_len(arr), 1);
        {
                struct proto_obj *eo = proto_array_get(arr, 0);
                struct mlsec_event back;

                assert_int_equal(proto_event_from_obj(eo, &back, NULL, 0), 0);
                assert_memory_equal(&back, &e, sizeof(e));
                proto_obj_free(eo);
        }
        proto_obj_free(arr);
        proto_obj_free(got);

        /* ok without a result */
        assert_int_equal(proto_encode_reply(NULL, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, strlen("{\"v\":1,\"ok\":true}"));
        assert_memory_equal(buf, "{\"v\":1,\"ok\":true}", len);
        got = (struct proto_obj *)1;
        assert_int_equal(proto_decode_reply(buf, len, &got, NULL, 0, NULL, 0), 0);
        assert_null(got);
        /* ret_result may be NULL when the caller does not want it */
        assert_int_equal(proto_decode_reply(buf, len, NULL, NULL, 0, NULL, 0), 0);

        /* an error */
        assert_int_equal(
                proto_encode_error(PROTO_E_FORBIDDEN, "only root may report \xe2\x9c\x93", buf, sizeof(buf), &len), 0);
        got = (struct proto_obj *)1;
        assert_int_equal(proto_decode_reply(buf, len, &got, code, sizeof(code), msg, sizeof(msg)), -EREMOTEIO);
        assert_ptr_equal(got, (struct proto_obj *)1); /* untouched */
        assert_string_equal(code, "forbidden");
        assert_string_equal(msg, "only root may report \xe2\x9c\x93");
        /* cut to the caller's buffers at a character boundary */
        assert_int_equal(proto_decode_reply(buf, len, NULL, code, 4, msg, 23), -EREMOTEIO);
        assert_string_equal(code, "for");
        assert_string_equal(msg, "only root may report ");
        assert_int_equal(proto_decode_reply(buf, len, NULL, NULL, 0, NULL, 0), -EREMOTEIO);
        /* every code proto.h names encodes */
        {
                const char *codes[] = {PROTO_E_BAD_REQUEST, PROTO_E_VERSION, PROTO_E_METHOD,      PROTO_E_FORBIDDEN,
                                       PROTO_E_NOT_FOUND,   PROTO_E_RATE,    PROTO_E_UNAVAILABLE, PROTO_E_INTERNAL};

                for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                        assert_int_equal(proto_encode_error(codes[i], "", buf, sizeof(buf), &len), 0);
                        assert_int_equal(proto_decode_reply(buf, len, NULL, code, sizeof(code), msg, sizeof(msg)),
                                         -EREMOTEIO);
                        assert_string_equal(code, codes[i]);
                        assert_string_equal(msg, "");
                }
        }
}

static void test_reply_encoders_refuse_what_the_decoder_would(void **state)
{
        struct proto_obj *arr = proto_array_new(), *deep = proto_obj_new(), *o;
        char buf[PROTO_MSG_MAX], big[300];
        size_t len = 99;

        assert_int_equal(proto_encode_error("Forbidden", "x", buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(proto_encode_error("", "x", buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(proto_encode_error(NULL, "x", buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(proto_encode_error("forbidden", "line\nbreak", buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(proto_encode_error("forbidden", "\xc0\xaf", buf, sizeof(buf), &len), -EINVAL);
        memset(big, 'm', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(proto_encode_error("forbidden", big, buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(proto_encode_error("forbidden", "x", buf, 10, &len), -EMSGSIZE);
        /* a result must be an object and not nested past the decoder's limit */
        assert_int_equal(proto_encode_reply(arr, buf, sizeof(buf), &len), -EINVAL);
        for (int i = 0; i < 20; i++) {
                o = proto_obj_new();
                assert_int_equal(proto_obj_set_obj(o, "d", deep), 0);
                deep = o;
        }
        assert_int_equal(proto_encode_reply(deep, buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(len, 99);
        proto_obj_free(deep);
        proto_obj_free(arr);
}

static void test_reply_rejects_malformed(void **state)
{
        static const char *bad[] = {
                "",
                "{}",
                "[]",
                "{\"v\":1}",
                "{\"ok\":true}",
                "{\"v\":2,\"ok\":true}",
                "{\"v\":\"1\",\"ok\":true}",
                "{\"v\":1,\"ok\":1}",
                "{\"v\":1,\"ok\":true,\"result\":[]}",
                "{\"v\":1,\"ok\":true,\"result\":null}",
                "{\"v\":1,\"ok\":true,\"extra\":1}",
                "{\"v\":1,\"ok\":true,\"error\":{\"code\":\"x\",\"message\":\"y\"}}",
                "{\"v\":1,\"ok\":true,\"ok\":true}",
                "{\"v\":1,\"ok\":true} x",
                "{\"v\":1,\"ok\":false}",
                "{\"v\":1,\"ok\":false,\"error\":null}",
                "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"x\"}}",
                "{\"v\":1,\"ok\":false,\"error\":{\"message\":\"y\"}}",
                "{\"v\":1,\"ok\":false,\"error\":{\"code\":1,\"message\":\"y\"}}",
                "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"x\",\"message\":\"y\",\"z\":1}}",
                "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"X Y\",\"message\":\"y\"}}",
                "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"x\",\"message\":\"\\u001b[2J\"}}",
                "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"x\",\"message\":\"y\"},\"result\":{}}",
                "{\"v\":1,\"ok\":true,\"result\":{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}",
                "{\"v\":1,\"ok\":true,\"result\":{\"a\":\"raw\ttab\"}}",
                "{\"v\":1,\"ok\":true,\"result\":{\"a\":NaN}}",
                "{\"v\":1,\"ok\":true,\"result\":{\"a\":1,\"a\":2}}",
        };
        char code[32] = "keep", msg[64] = "keep";
        struct proto_obj *got = (struct proto_obj *)1;
        char *big;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (decode_reply_text(bad[i], &got, code, sizeof(code), msg, sizeof(msg)) != -EBADMSG)
                        fail_msg("reply accepted: %s", bad[i]);
        assert_ptr_equal(got, (struct proto_obj *)1);
        assert_string_equal(code, "keep");
        assert_string_equal(msg, "keep");

        big = malloc(BIG);
        assert_non_null(big);
        memset(big, ' ', BIG);
        memcpy(big, "{\"v\":1,\"ok\":true}", 17);
        assert_int_equal(proto_decode_reply(big, PROTO_MSG_MAX + 1, &got, NULL, 0, NULL, 0), -EBADMSG);
        assert_int_equal(proto_decode_reply(big, 17, NULL, NULL, 0, NULL, 0), 0);
        free(big);
}

/* ---- events ---- */

static void test_event_round_trips_with_every_field(void **state)
{
        struct mlsec_event e, back;
        struct proto_obj *o;
        char buf[PROTO_MSG_MAX], err[128];
        size_t len;
        int64_t n = 0;

        full_event(&e);
        o = proto_event_to_obj(&e);
        assert_non_null(o);
        assert_string_equal(proto_obj_get_str(o, "id"), e.id);
        assert_string_equal(proto_obj_get_str(o, "kind"), "auth");
        assert_string_equal(proto_obj_get_str(o, "rhost"), "h\xc3\xb4te.example.org");
        assert_int_equal(proto_obj_get_int(o, "time_us", &n), 0);
        assert_true(n == e.time_us);
        assert_int_equal(proto_obj_get_int(o, "actor_uid", &n), 0);
        assert_int_equal(n, 0);
        memset(&back, 0x5a, sizeof(back));
        assert_int_equal(proto_event_from_obj(o, &back, err, sizeof(err)), 0);
        assert_memory_equal(&back, &e, sizeof(e));
        proto_obj_free(o);

        assert_int_equal(proto_event_encode(&e, buf, sizeof(buf), &len), 0);
        memset(&back, 0x5a, sizeof(back));
        assert_int_equal(proto_event_decode(buf, len, &back, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_memory_equal(&back, &e, sizeof(e));

        /* empty strings and -1 numbers are left out */
        event_init(&e, EVENT_AUDIT);
        assert_int_equal(event_set_text(e.action, sizeof(e.action), "mfa-disabled"), 0);
        assert_int_equal(proto_event_encode(&e, buf, sizeof(buf), &len), 0);
        buf[len] = '\0';
        assert_null(strstr(buf, "uid"));
        assert_null(strstr(buf, "pid"));
        assert_null(strstr(buf, "user"));
        assert_null(strstr(buf, "detail"));
        assert_non_null(strstr(buf, "\"kind\":\"audit\""));
        assert_int_equal(proto_event_decode(buf, len, &back, err, sizeof(err)), 0);
        assert_memory_equal(&back, &e, sizeof(e));
        /* text that merely looks like an escaped NUL is kept as it is */
        full_event(&e);
        assert_int_equal(event_set_text(e.detail, sizeof(e.detail), "C:\\u0000\\"), 0);
        assert_int_equal(proto_event_encode(&e, buf, sizeof(buf), &len), 0);
        assert_int_equal(proto_event_decode(buf, len, &back, err, sizeof(err)), 0);
        assert_string_equal(back.detail, "C:\\u0000\\");
        /* every kind */
        for (int k = 0; k < _EVENT_KIND_MAX; k++) {
                full_event(&e);
                e.kind = (enum event_kind)k;
                assert_int_equal(proto_event_encode(&e, buf, sizeof(buf), &len), 0);
                assert_int_equal(proto_event_decode(buf, len, &back, NULL, 0), 0);
                assert_memory_equal(&back, &e, sizeof(e));
        }
}

static void test_event_decode_rejects(void **state)
{
        const char *id = "0123456789abcdef0123456789abcdef";
        struct mlsec_event e, before;
        char text[1024], err[128];
        long long t = (long long)now_us();
        static const char *extra[] = {
                ",\"x\":1",
                ",\"ID\":\"a\"",
                ",\"user\":1",
                ",\"uid\":\"1000\"",
                ",\"uid\":1.5",
                ",\"pid\":null",
                ",\"tty\":\"a\\nb\"",
                ",\"detail\":\"\xc0\xaf\"",
                ",\"uid\":-2",
                ",\"user\":\"a b\"",
                ",\"uid\":9223372036854775808",
                ",\"session\":\"\\u0085\"",
        };
        size_t n;

        memset(&e, 0x33, sizeof(e));
        memcpy(&before, &e, sizeof(e));
        /* a good one first, to show the base is right */
        n = (size_t)snprintf(text, sizeof(text), "{\"id\":\"%s\",\"kind\":\"audit\",\"time_us\":%lld,\"action\":\"x\"}",
                             id, t);
        assert_int_equal(proto_event_decode(text, n, &e, err, sizeof(err)), 0);
        memcpy(&e, &before, sizeof(e));
        for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
                n = (size_t)snprintf(text, sizeof(text),
                                     "{\"id\":\"%s\",\"kind\":\"audit\",\"time_us\":%lld,\"action\":\"x\"%s}", id, t,
                                     extra[i]);
                if (proto_event_decode(text, n, &e, err, sizeof(err)) != -EINVAL)
                        fail_msg("event accepted: %s", text);
                assert_safe_reason(err, sizeof(err));
                assert_memory_equal(&e, &before, sizeof(e));
        }
        /* required keys */
        n = (size_t)snprintf(text, sizeof(text), "{\"kind\":\"audit\",\"time_us\":%lld,\"action\":\"x\"}", t);
        assert_int_equal(proto_event_decode(text, n, &e, err, sizeof(err)), -EINVAL);
        n = (size_t)snprintf(text, sizeof(text), "{\"id\":\"%s\",\"time_us\":%lld,\"action\":\"x\"}", id, t);
        assert_int_equal(proto_event_decode(text, n, &e, err, sizeof(err)), -EINVAL);
        n = (size_t)snprintf(text, sizeof(text), "{\"id\":\"%s\",\"kind\":\"audit\",\"action\":\"x\"}", id);
        assert_int_equal(proto_event_decode(text, n, &e, err, sizeof(err)), -EINVAL);
        n = (size_t)snprintf(text, sizeof(text), "{\"id\":\"%s\",\"kind\":\"login\",\"time_us\":%lld,\"action\":\"x\"}",
                             id, t);
        assert_int_equal(proto_event_decode(text, n, &e, err, sizeof(err)), -EINVAL);
        assert_int_equal(proto_event_decode("[]", 2, &e, err, sizeof(err)), -EINVAL);
        assert_int_equal(proto_event_decode("{}x", 3, &e, err, sizeof(err)), -EINVAL);
        assert_int_equal(proto_event_decode(text, PROTO_MSG_MAX + 1, &e, err, sizeof(err)), -EMSGSIZE);
        assert_memory_equal(&e, &before, sizeof(e));
}

static void test_event_encoders_refuse_invalid_events(void **state)
{
        struct mlsec_event e;
        struct proto_obj *o;
        char buf[PROTO_MSG_MAX];
        size_t len = 5;

        full_event(&e);
        e.id[0] = 'X';
        assert_int_equal(proto_event_encode(&e, buf, sizeof(buf), &len), -EINVAL);
        full_event(&e);
        e.time_us = 0;
        assert_int_equal(proto_event_encode(&e, buf, sizeof(buf), &len), -EINVAL);
        full_event(&e);
        assert_int_equal(proto_event_encode(&e, buf, 100, &len), -EMSGSIZE);
        assert_int_equal(proto_event_encode(NULL, buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(len, 5);
        /* to_obj builds what it is given, but an unknown kind has no name */
        e.kind = _EVENT_KIND_MAX;
        assert_null(proto_event_to_obj(&e));
        assert_null(proto_event_to_obj(NULL));
        /* from_obj checks keys and types */
        o = proto_obj_new();
        assert_int_equal(proto_obj_set_str(o, "colour", "red"), 0);
        assert_int_equal(proto_event_from_obj(o, &e, NULL, 0), -EINVAL);
        proto_obj_free(o);
        o = proto_array_new();
        assert_int_equal(proto_event_from_obj(o, &e, NULL, 0), -EINVAL);
        proto_obj_free(o);
        assert_int_equal(proto_event_from_obj(NULL, &e, NULL, 0), -EINVAL);
}

/* ---- getters and views ---- */

static struct proto_obj *sample(void)
{
        struct proto_obj *o = proto_obj_new(), *inner = proto_obj_new(), *arr = proto_array_new();
        struct proto_obj *item = proto_obj_new();

        assert_int_equal(proto_obj_set_str(o, "s", "text"), 0);
        assert_int_equal(proto_obj_set_int(o, "i", -42), 0);
        assert_int_equal(proto_obj_set_int(o, "max", INT64_MAX), 0);
        assert_int_equal(proto_obj_set_bool(o, "b", true), 0);
        assert_int_equal(proto_obj_set_str(o, "n", NULL), 0);
        assert_int_equal(proto_obj_set_str(inner, "name", "inner"), 0);
        assert_int_equal(proto_obj_set_obj(o, "inner", inner), 0);
        assert_int_equal(proto_obj_set_int(item, "k", 1), 0);
        assert_int_equal(proto_array_add(arr, item), 0);
        assert_int_equal(proto_array_add_str(arr, "scalar"), 0);
        assert_int_equal(proto_array_add(arr, proto_array_new()), 0);
        assert_int_equal(proto_obj_set_obj(o, "arr", arr), 0);
        return o;
}

static void test_getters_read_values_and_refuse_wrong_types(void **state)
{
        struct proto_obj *o = sample();
        int64_t n = 7;
        bool b = false;

        assert_string_equal(proto_obj_get_str(o, "s"), "text");
        assert_int_equal(proto_obj_get_int(o, "i", &n), 0);
        assert_int_equal(n, -42);
        assert_int_equal(proto_obj_get_int(o, "max", &n), 0);
        assert_true(n == INT64_MAX);
        assert_int_equal(proto_obj_get_bool(o, "b", &b), 0);
        assert_true(b);

        /* missing or of another type; the out-parameter is left alone */
        n = 7;
        b = false;
        assert_null(proto_obj_get_str(o, "i"));
        assert_null(proto_obj_get_str(o, "n"));
        assert_null(proto_obj_get_str(o, "missing"));
        assert_null(proto_obj_get_str(o, "inner"));
        assert_int_equal(proto_obj_get_int(o, "s", &n), -ENOENT);
        assert_int_equal(proto_obj_get_int(o, "b", &n), -ENOENT);
        assert_int_equal(proto_obj_get_int(o, "n", &n), -ENOENT);
        assert_int_equal(proto_obj_get_int(o, "missing", &n), -ENOENT);
        assert_int_equal(proto_obj_get_bool(o, "i", &b), -ENOENT);
        assert_int_equal(proto_obj_get_bool(o, "n", &b), -ENOENT);
        assert_int_equal(n, 7);
        assert_false(b);
        assert_null(proto_obj_get(o, "s"));
        assert_null(proto_obj_get(o, "n"));
        assert_null(proto_obj_get(o, "missing"));
        /* NULL objects read as missing, so lookups chain */
        assert_null(proto_obj_get_str(NULL, "s"));
        assert_int_equal(proto_obj_get_int(NULL, "i", &n), -ENOENT);
        assert_int_equal(proto_obj_get_bool(NULL, "b", &b), -ENOENT);
        assert_null(proto_obj_get(NULL, "inner"));
        assert_null(proto_obj_get_str(o, NULL));
        assert_int_equal(proto_obj_get_int(o, "i", NULL), -EINVAL);
        /* getters on an array */
        {
                struct proto_obj *arr = proto_obj_get(o, "arr");

                assert_null(proto_obj_get_str(arr, "s"));
                assert_null(proto_obj_get(arr, "0"));
                proto_obj_free(arr);
        }
        proto_obj_free(o);
}

static void test_array_strings_are_read_by_index(void **state)
{
        struct proto_obj *arr = proto_array_new(), *o = proto_obj_new();

        assert_int_equal(proto_array_add_str(arr, "12345-67890"), 0);
        assert_int_equal(proto_array_add(arr, proto_obj_new()), 0);
        assert_int_equal(proto_array_add_str(arr, ""), 0);
        assert_string_equal(proto_array_get_str(arr, 0), "12345-67890");
        assert_null(proto_array_get_str(arr, 1)); /* an object, not a string */
        assert_string_equal(proto_array_get_str(arr, 2), "");
        assert_null(proto_array_get_str(arr, 3));
        assert_null(proto_array_get_str(NULL, 0));
        assert_int_equal(proto_obj_set_str(o, "k", "v"), 0);
        assert_null(proto_array_get_str(o, 0)); /* not an array */
        proto_obj_wipe(arr);
        {
                const char *w = proto_array_get_str(arr, 0); /* the code is gone */
                assert_true(!w || !*w);
        }
        proto_obj_free(arr);
        proto_obj_free(o);
}

static void test_integers_beyond_int64_are_out_of_range(void **state)
{
        const char *text = "{\"v\":1,\"ok\":true,\"result\":{\"big\":9223372036854775808,\"max\":9223372036854775807}}";
        struct proto_obj *r = NULL;
        int64_t n = 5;

        assert_int_equal(decode_reply_text(text, &r, NULL, 0, NULL, 0), 0);
        assert_int_equal(proto_obj_get_int(r, "big", &n), -ERANGE);
        assert_int_equal(n, 5);
        assert_int_equal(proto_obj_get_int(r, "max", &n), 0);
        assert_true(n == INT64_MAX);
        proto_obj_free(r);
}

static void test_views_index_and_free_in_any_order(void **state)
{
        struct proto_obj *o = sample(), *inner, *arr, *item, *empty, *again;
        int64_t n = 0;

        inner = proto_obj_get(o, "inner");
        assert_non_null(inner);
        assert_string_equal(proto_obj_get_str(inner, "name"), "inner");
        arr = proto_obj_get(o, "arr");
        assert_int_equal(proto_array_len(arr), 3);
        item = proto_array_get(arr, 0);
        assert_int_equal(proto_obj_get_int(item, "k", &n), 0);
        assert_int_equal(n, 1);
        assert_null(proto_array_get(arr, 1)); /* a string is not an object or array */
        empty = proto_array_get(arr, 2);
        assert_non_null(empty);
        assert_int_equal(proto_array_len(empty), 0);
        assert_null(proto_array_get(empty, 0));
        assert_null(proto_array_get(arr, 3));
        assert_null(proto_array_get(arr, SIZE_MAX));
        assert_null(proto_array_get(NULL, 0));
        assert_int_equal(proto_array_len(NULL), 0);
        assert_int_equal(proto_array_len(o), 0); /* an object is not an array */
        assert_null(proto_array_get(o, 0));

        /* views first, then the parent: the documented order */
        again = proto_obj_get(o, "inner");
        assert_null(proto_obj_free(again));
        assert_null(proto_obj_free(item));
        assert_null(proto_obj_free(empty));
        assert_null(proto_obj_free(arr));
        assert_null(proto_obj_free(inner));
        /* the parent is intact after its views are gone */
        inner = proto_obj_get(o, "inner");
        assert_string_equal(proto_obj_get_str(inner, "name"), "inner");
        proto_obj_free(inner);
        proto_obj_free(o);

        /* a view holds its own reference: it outlives a parent freed first */
        o = sample();
        inner = proto_obj_get(o, "inner");
        proto_obj_free(o);
        assert_string_equal(proto_obj_get_str(inner, "name"), "inner");
        proto_obj_free(inner);
}

/* A view handed to a setter passes its reference on: no double free, no leak. */
static void test_a_view_can_be_attached_elsewhere(void **state)
{
        struct proto_obj *o = sample(), *copy = proto_obj_new();
        struct json_object *j;

        assert_int_equal(proto_obj_set_obj(copy, "from_o", proto_obj_get(o, "inner")), 0);
        proto_obj_free(o);
        j = round_trip(copy);
        assert_str_member(member(j, "from_o", json_type_object), "name", "inner");
        json_object_put(j);
        proto_obj_free(copy);
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
                cmocka_unit_test(test_method_names),
                cmocka_unit_test(test_request_round_trip_every_method_every_param),
                cmocka_unit_test(test_request_settings_params),
                cmocka_unit_test(test_request_import_params),
                cmocka_unit_test(test_request_alert_params),
                cmocka_unit_test(test_request_notice_params),
                cmocka_unit_test(test_obj_wipe),
                cmocka_unit_test(test_request_decodes_what_the_header_shows),
                cmocka_unit_test(test_request_encoder_refuses_what_the_decoder_would),
                cmocka_unit_test(test_request_rejects_oversize_and_empty),
                cmocka_unit_test(test_request_rejects_trailing_bytes_and_nul),
                cmocka_unit_test(test_request_rejects_non_strict_json),
                cmocka_unit_test(test_request_rejects_depth_bombs),
                cmocka_unit_test(test_request_rejects_wrong_types),
                cmocka_unit_test(test_request_rejects_unknown_keys_at_each_level),
                cmocka_unit_test(test_request_rejects_bad_versions_and_methods),
                cmocka_unit_test(test_request_rejects_bad_strings),
                cmocka_unit_test(test_request_rejects_bad_limits),
                cmocka_unit_test(test_report_checks_its_event),
                cmocka_unit_test(test_reply_round_trips),
                cmocka_unit_test(test_reply_encoders_refuse_what_the_decoder_would),
                cmocka_unit_test(test_reply_rejects_malformed),
                cmocka_unit_test(test_event_round_trips_with_every_field),
                cmocka_unit_test(test_event_decode_rejects),
                cmocka_unit_test(test_event_encoders_refuse_invalid_events),
                cmocka_unit_test(test_getters_read_values_and_refuse_wrong_types),
                cmocka_unit_test(test_array_strings_are_read_by_index),
                cmocka_unit_test(test_integers_beyond_int64_are_out_of_range),
                cmocka_unit_test(test_views_index_and_free_in_any_order),
                cmocka_unit_test(test_a_view_can_be_attached_elsewhere),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
