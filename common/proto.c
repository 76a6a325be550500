/* SPDX-License-Identifier: MIT */
/* JSON through json-c, behind mlsec's own struct proto_obj so that no other file depends
 * on json-c: building and printing JSON, and the wire codec of requests, replies and events.
 * The decoders are the trust boundary for bytes from any local user: bounded, strict (exact
 * keys, types and ranges, no duplicate keys, no NUL), and every string passes the event text
 * rule. Error strings are fixed English plus at most an escaped key. Nothing here logs. */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enroll.h"
#include "proto.h"
#include "util.h"

/* Every wrapper, including a view from proto_obj_get/proto_array_get, holds one json-c
 * reference of its own. So proto_obj_free is the same for both, a view stays valid even if
 * its parent is freed first, and a view handed to proto_obj_set_obj/proto_array_add simply
 * passes its reference on. */
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

int proto_obj_set_real(struct proto_obj *o, const char *key, double val)
{
        char text[64];
        size_t n;

        if (!isfinite(val))
                return -EINVAL;
        (void)snprintf(text, sizeof(text), "%.6f", val);
        /* 51.514200 -> 51.5142, 13.000000 -> 13.0: still a JSON number with a fraction */
        n = strlen(text);
        while (n > 2 && text[n - 1] == '0' && text[n - 2] != '.')
                text[--n] = '\0';
        return set(o, key, json_object_new_double_s(val, text), false);
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

/* ---- reading ---- */

static struct json_object *member(const struct proto_obj *o, const char *key, enum json_type type)
{
        struct json_object *v = NULL;

        if (!o || !key || !json_object_is_type(o->j, json_type_object))
                return NULL;
        if (!json_object_object_get_ex(o->j, key, &v) || !json_object_is_type(v, type))
                return NULL;
        return v;
}

/* json-c keeps integers above INT64_MAX as uint64 and would clamp them silently. */
static bool json_int64(struct json_object *v, int64_t *ret)
{
        int64_t x;

        if (!json_object_is_type(v, json_type_int))
                return false;
        x = json_object_get_int64(v);
        if (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
                return false;
        *ret = x;
        return true;
}

const char *proto_obj_get_str(const struct proto_obj *o, const char *key)
{
        struct json_object *v = member(o, key, json_type_string);
        const char *s;

        if (!v)
                return NULL;
        s = json_object_get_string(v);
        /* a string with an embedded NUL is not a C string */
        if (!s || strlen(s) != (size_t)json_object_get_string_len(v))
                return NULL;
        return s;
}

int proto_obj_get_int(const struct proto_obj *o, const char *key, int64_t *ret)
{
        struct json_object *v = member(o, key, json_type_int);
        int64_t x;

        if (!ret)
                return -EINVAL;
        if (!v)
                return -ENOENT;
        if (!json_int64(v, &x))
                return -ERANGE;
        *ret = x;
        return 0;
}

int proto_obj_get_bool(const struct proto_obj *o, const char *key, bool *ret)
{
        struct json_object *v = member(o, key, json_type_boolean);

        if (!ret)
                return -EINVAL;
        if (!v)
                return -ENOENT;
        *ret = json_object_get_boolean(v);
        return 0;
}

static struct proto_obj *view(struct json_object *v)
{
        if (!json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array))
                return NULL;
        return wrap(json_object_get(v));
}

struct proto_obj *proto_obj_get(const struct proto_obj *o, const char *key)
{
        struct json_object *v = NULL;

        if (!o || !key || !json_object_is_type(o->j, json_type_object))
                return NULL;
        if (!json_object_object_get_ex(o->j, key, &v))
                return NULL;
        return view(v);
}

size_t proto_array_len(const struct proto_obj *arr)
{
        if (!arr || !json_object_is_type(arr->j, json_type_array))
                return 0;
        return json_object_array_length(arr->j);
}

struct proto_obj *proto_array_get(const struct proto_obj *arr, size_t i)
{
        if (i >= proto_array_len(arr))
                return NULL;
        return view(json_object_array_get_idx(arr->j, i));
}

const char *proto_array_get_str(const struct proto_obj *arr, size_t i)
{
        struct json_object *v;
        const char *s;

        if (i >= proto_array_len(arr))
                return NULL;
        v = json_object_array_get_idx(arr->j, i);
        if (!v || !json_object_is_type(v, json_type_string))
                return NULL;
        s = json_object_get_string(v);
        if (!s || strlen(s) != (size_t)json_object_get_string_len(v))
                return NULL;
        return s;
}

/* ---- shared by the codecs ---- */

#define REQUEST_DEPTH     8  /* {"params":{"event":{}}} needs 3 */
#define REPLY_DEPTH       16 /* results hold arrays of objects */
#define ERROR_CODE_MAX    32 /* bytes incl. NUL: "unsupported-version" */
#define ERROR_MESSAGE_MAX 256
#define KEY_SHOWN_MAX     40 /* an unknown key echoed back, escaped and cut short */

static const char *const method_names[_PROTO_METHOD_MAX] = {
        [PROTO_PING] = "ping",
        [PROTO_REPORT] = "report",
        [PROTO_HISTORY] = "history",
        [PROTO_SESSIONS] = "sessions",
        [PROTO_LOGOUT] = "logout",
        [PROTO_AUDIT] = "audit",
        [PROTO_AUDIT_VERIFY] = "audit-verify",
        [PROTO_STATUS] = "status",
        [PROTO_MFA_BEGIN] = "mfa-begin",
        [PROTO_MFA_CONFIRM] = "mfa-confirm",
        [PROTO_MFA_DEVICES] = "mfa-devices",
        [PROTO_MFA_REMOVE] = "mfa-remove",
        [PROTO_MFA_DISABLE] = "mfa-disable",
        [PROTO_BACKUP_CODES] = "backup-codes",
        [PROTO_BACKUP_REGENERATE] = "backup-regenerate",
        [PROTO_VERIFY] = "verify",
        [PROTO_ADMIN_USERS] = "admin-users",
        [PROTO_ADMIN_RESET_MFA] = "admin-reset-mfa",
        [PROTO_ADMIN_UNLOCK] = "admin-unlock",
        [PROTO_ADMIN_IMPORT] = "admin-import",
        [PROTO_REPORT_EVENT] = "report-event",
        [PROTO_ADMIN_ALERTS] = "admin-alerts",
        [PROTO_ADMIN_ALERT_ACK] = "admin-alert-ack",
        [PROTO_NOTICE] = "notice",
        [PROTO_ADMIN_STATUS] = "admin-status",
        [PROTO_FORGET] = "forget",
        [PROTO_ADMIN_FORGET] = "admin-forget",
};

const char *proto_method_to_string(enum proto_method m)
{
        if ((unsigned)m >= _PROTO_METHOD_MAX)
                return NULL;
        return method_names[m];
}

int proto_method_from_string(const char *s, enum proto_method *ret)
{
        unsigned m;

        if (!s || !ret)
                return -EINVAL;
        for (m = 0; m < _PROTO_METHOD_MAX; m++)
                if (strcmp(s, method_names[m]) == 0) {
                        *ret = (enum proto_method)m;
                        return 0;
                }
        return -EOPNOTSUPP;
}

static void clear_err(char *err, size_t errlen)
{
        if (err && errlen > 0)
                err[0] = '\0';
}

/* Returns R, with WHAT (fixed text) and the escaped KEY in ERR. */
static int fail(int r, char *err, size_t errlen, const char *what, const char *key)
{
        char shown[KEY_SHOWN_MAX];

        if (!err || errlen == 0)
                return r;
        if (key)
                (void)snprintf(err, errlen, "%s: %s", what, util_escape(key, shown, sizeof(shown)));
        else
                (void)snprintf(err, errlen, "%s", what);
        return r;
}

/* A pass over the raw bytes for what json-c lets through even in strict mode: a NUL byte,
 * a \u0000 escape (json-c would cut a key short at it, so "user\u0000x" became "user"),
 * single-quoted strings and unescaped control characters inside strings. It also counts the
 * members of all objects, so that duplicate keys (json-c silently keeps the last one) show
 * up as a shortfall after parsing. */
static int scan_raw(const char *s, size_t len, size_t *ret_members)
{
        size_t i, members = 0;
        bool in_string = false;

        for (i = 0; i < len; i++) {
                char c = s[i];

                if (c == '\0')
                        return -EINVAL;
                if (in_string) {
                        if ((unsigned char)c < 0x20)
                                return -EINVAL; /* RFC 8259: control characters are escaped */
                        if (c == '\\') {
                                if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                                        return -EINVAL;
                                i++; /* the escaped character cannot end the string */
                        } else if (c == '"')
                                in_string = false;
                } else if (c == '"')
                        in_string = true;
                else if (c == ':')
                        members++;
                else if (c == '\'')
                        return -EINVAL;
        }
        *ret_members = members;
        return 0;
}

/* Counts object members and refuses NaN/Infinity. Recursion is bounded by the tokener's
 * depth limit. */
static bool walk(struct json_object *j, size_t *members)
{
        size_t i, n;

        switch (json_object_get_type(j)) {
        case json_type_object: {
                struct json_object_iterator it = json_object_iter_begin(j), end = json_object_iter_end(j);

                *members += (size_t)json_object_object_length(j);
                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
                        if (!walk(json_object_iter_peek_value(&it), members))
                                return false;
                return true;
        }
        case json_type_array:
                n = json_object_array_length(j);
                for (i = 0; i < n; i++)
                        if (!walk(json_object_array_get_idx(j, i), members))
                                return false;
                return true;
        case json_type_double:
                return isfinite(json_object_get_double(j));
        default:
                return true;
        }
}

/* Zero every string value below J in place (json-c frees without wiping). */
static void wipe_json(struct json_object *j)
{
        switch (json_object_get_type(j)) {
        case json_type_string: {
                char *p = (char *)json_object_get_string(j);
                int n = json_object_get_string_len(j);
                if (p && n > 0)
                        memset(p, 0, (size_t)n);
                break;
        }
        case json_type_object: {
                struct json_object_iterator it = json_object_iter_begin(j), end = json_object_iter_end(j);
                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
                        wipe_json(json_object_iter_peek_value(&it));
                break;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(j); i++)
                        wipe_json(json_object_array_get_idx(j, i));
                break;
        default:
                break;
        }
}

void proto_obj_wipe(struct proto_obj *o)
{
        if (o)
                wipe_json(o->j);
}

/* Parse exactly one JSON object filling all of BUF. */
static int parse(const void *buf, size_t len, int depth, bool utf8, struct json_object **ret, char *err, size_t errlen)
{
        struct json_tokener *tok;
        struct json_object *j;
        enum json_tokener_error jerr;
        size_t members = 0, seen = 0, end;

        if (len > PROTO_MSG_MAX)
                return fail(-EMSGSIZE, err, errlen, "message too large", NULL);
        if (!buf || len == 0)
                return fail(-EINVAL, err, errlen, "empty message", NULL);
        if (scan_raw(buf, len, &members) < 0)
                return fail(-EINVAL, err, errlen, "NUL byte or not strict JSON", NULL);

        tok = json_tokener_new_ex(depth);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | (utf8 ? JSON_TOKENER_VALIDATE_UTF8 : 0));
        j = json_tokener_parse_ex(tok, buf, (int)len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        /* the tokener's buffer may hold a code or a key: json-c frees it without wiping */
        if (tok->pb && tok->pb->buf && tok->pb->size > 0)
                memset(tok->pb->buf, 0, (size_t)tok->pb->size);
        json_tokener_free(tok);
        if (!j || jerr != json_tokener_success || end != len) {
                json_object_put(j);
                if (jerr == json_tokener_error_depth)
                        return fail(-EINVAL, err, errlen, "nested too deep", NULL);
                if (jerr == json_tokener_success || jerr == json_tokener_error_parse_unexpected)
                        return fail(-EINVAL, err, errlen, "not one JSON value", NULL);
                return fail(-EINVAL, err, errlen, "not valid JSON", NULL);
        }
        if (!json_object_is_type(j, json_type_object)) {
                json_object_put(j);
                return fail(-EINVAL, err, errlen, "not a JSON object", NULL);
        }
        if (!walk(j, &seen) || seen != members) {
                json_object_put(j);
                return fail(-EINVAL, err, errlen, "duplicate key or non-finite number", NULL);
        }
        *ret = j;
        return 0;
}

/* Copy the string V into DST through the event text rule. */
static int get_text(struct json_object *v, char *dst, size_t n, const char *key, char *err, size_t errlen)
{
        const char *s;
        size_t len;

        if (!json_object_is_type(v, json_type_string))
                return fail(-EINVAL, err, errlen, "wrong type", key);
        s = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
        if (!s || strlen(s) != len)
                return fail(-EINVAL, err, errlen, "NUL in string", key);
        if (len >= n)
                return fail(-EINVAL, err, errlen, "string too long", key);
        if (event_set_text(dst, n, s) < 0)
                return fail(-EINVAL, err, errlen, "not UTF-8 or has control characters", key);
        return 0;
}

static int add(struct json_object *o, const char *key, struct json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_text(struct json_object *o, const char *key, const char *s, size_t n)
{
        return add(o, key, json_object_new_string_len(s, (int)strnlen(s, n)));
}

/* Serialise J into BUF; never longer than a decoder accepts. */
static int emit(struct json_object *j, char *buf, size_t max, size_t *ret_len)
{
        const char *s;
        size_t n;

        s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        n = strlen(s);
        if (n > max || n > PROTO_MSG_MAX)
                return -EMSGSIZE;
        memcpy(buf, s, n);
        memset((char *)s, 0, n); /* json-c's copy of what may be a secret reply */
        *ret_len = n;
        return 0;
}

/* ---- events ---- */

enum field_type { FIELD_TEXT, FIELD_INT, FIELD_ID_INT, FIELD_KIND };

#define FIELD(f, t)                                                                                                    \
        {                                                                                                              \
#f, t, offsetof(struct mlsec_event, f), sizeof(((struct mlsec_event *)0)->f)                           \
        }

/* FIELD_ID_INT: -1 means unknown and is left out. */
static const struct event_field {
        const char *name;
        enum field_type type;
        size_t offset;
        size_t size;
} event_fields[] = {
        FIELD(id, FIELD_TEXT),      FIELD(kind, FIELD_KIND),   FIELD(time_us, FIELD_INT),
        FIELD(user, FIELD_TEXT),    FIELD(uid, FIELD_ID_INT),  FIELD(service, FIELD_TEXT),
        FIELD(rhost, FIELD_TEXT),   FIELD(ip, FIELD_TEXT),     FIELD(tty, FIELD_TEXT),
        FIELD(method, FIELD_TEXT),  FIELD(result, FIELD_TEXT), FIELD(reason, FIELD_TEXT),
        FIELD(session, FIELD_TEXT), FIELD(pid, FIELD_ID_INT),  FIELD(actor_uid, FIELD_ID_INT),
        FIELD(action, FIELD_TEXT),  FIELD(detail, FIELD_TEXT),
};

#define N_EVENT_FIELDS (sizeof(event_fields) / sizeof(event_fields[0]))
#define EVENT_REQUIRED ((1u << 0) | (1u << 1) | (1u << 2)) /* id, kind, time_us */

static struct json_object *event_to_json(const struct mlsec_event *e)
{
        struct json_object *j;
        const char *kind;
        size_t i;
        int r = 0;

        if (!e)
                return NULL;
        kind = event_kind_to_string(e->kind);
        if (!kind)
                return NULL;
        j = json_object_new_object();
        if (!j)
                return NULL;
        for (i = 0; i < N_EVENT_FIELDS && r >= 0; i++) {
                const struct event_field *f = &event_fields[i];
                const char *p = (const char *)e + f->offset;
                int64_t x;

                switch (f->type) {
                case FIELD_TEXT:
                        if (p[0])
                                r = add_text(j, f->name, p, f->size);
                        break;
                case FIELD_KIND:
                        r = add(j, f->name, json_object_new_string(kind));
                        break;
                case FIELD_INT:
                case FIELD_ID_INT:
                        memcpy(&x, p, sizeof(x));
                        if (f->type == FIELD_INT || x != -1)
                                r = add(j, f->name, json_object_new_int64(x));
                        break;
                }
        }
        if (r < 0) {
                json_object_put(j);
                return NULL;
        }
        return j;
}

static int event_from_json(struct json_object *j, struct mlsec_event *ret, char *err, size_t errlen)
{
        struct mlsec_event e;
        struct json_object_iterator it, end;
        unsigned seen = 0;
        int r;

        if (!json_object_is_type(j, json_type_object))
                return fail(-EINVAL, err, errlen, "event is not an object", NULL);
        memset(&e, 0, sizeof(e));
        e.uid = e.pid = e.actor_uid = -1;

        it = json_object_iter_begin(j);
        end = json_object_iter_end(j);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                const char *key = json_object_iter_peek_name(&it);
                struct json_object *v = json_object_iter_peek_value(&it);
                const struct event_field *f = NULL;
                char *p;
                int64_t x;
                size_t i;

                for (i = 0; i < N_EVENT_FIELDS; i++)
                        if (strcmp(key, event_fields[i].name) == 0) {
                                f = &event_fields[i];
                                break;
                        }
                if (!f)
                        return fail(-EINVAL, err, errlen, "unknown key in event", key);
                p = (char *)&e + f->offset;
                switch (f->type) {
                case FIELD_TEXT:
                        r = get_text(v, p, f->size, f->name, err, errlen);
                        if (r < 0)
                                return r;
                        break;
                case FIELD_KIND:
                        if (!json_object_is_type(v, json_type_string))
                                return fail(-EINVAL, err, errlen, "wrong type", f->name);
                        if (event_kind_from_string(json_object_get_string(v), &e.kind) < 0)
                                return fail(-EINVAL, err, errlen, "unknown event kind", NULL);
                        break;
                case FIELD_INT:
                case FIELD_ID_INT:
                        if (!json_object_is_type(v, json_type_int))
                                return fail(-EINVAL, err, errlen, "wrong type", f->name);
                        if (!json_int64(v, &x))
                                return fail(-EINVAL, err, errlen, "number out of range", f->name);
                        memcpy(p, &x, sizeof(x));
                        break;
                }
                seen |= 1u << i;
        }
        if ((seen & EVENT_REQUIRED) != EVENT_REQUIRED)
                return fail(-EINVAL, err, errlen, "event lacks id, kind or time_us", NULL);
        if (event_validate(&e, err, errlen) < 0)
                return -EINVAL;
        memcpy(ret, &e, sizeof(e));
        return 0;
}

struct proto_obj *proto_event_to_obj(const struct mlsec_event *e)
{
        return wrap(event_to_json(e));
}

int proto_event_from_obj(const struct proto_obj *o, struct mlsec_event *ret, char *err, size_t errlen)
{
        clear_err(err, errlen);
        if (!o || !ret)
                return fail(-EINVAL, err, errlen, "no event", NULL);
        return event_from_json(o->j, ret, err, errlen);
}

int proto_event_encode(const struct mlsec_event *e, char *buf, size_t max, size_t *ret_len)
{
        struct json_object *j;
        int r;

        if (!e || !buf || !ret_len)
                return -EINVAL;
        if (event_validate(e, NULL, 0) < 0)
                return -EINVAL;
        j = event_to_json(e);
        if (!j)
                return -ENOMEM;
        r = emit(j, buf, max, ret_len);
        json_object_put(j);
        return r;
}

int proto_event_decode(const void *buf, size_t len, struct mlsec_event *ret, char *err, size_t errlen)
{
        struct json_object *j = NULL;
        int r;

        clear_err(err, errlen);
        if (!ret)
                return -EINVAL;
        r = parse(buf, len, REQUEST_DEPTH, true, &j, err, errlen);
        if (r < 0)
                return r;
        r = event_from_json(j, ret, err, errlen);
        json_object_put(j);
        return r;
}

/* ---- requests ---- */

enum {
        P_USER = 1u << 0,
        P_ALL = 1u << 1,
        P_LIMIT = 1u << 2,
        P_FAILED = 1u << 3,
        P_CLOSED = 1u << 4,
        P_SESSION = 1u << 5,
        P_EVENT = 1u << 6,
        P_CODE = 1u << 7,
        P_COMBINED = 1u << 8,
        P_DEVICE = 1u << 9,
        P_TOKEN = 1u << 10,
        P_REASON = 1u << 11,
        P_SOURCE = 1u << 12,
        P_SERVICE = 1u << 13,
        P_TTY = 1u << 14,
        P_SECRET = 1u << 15,
        P_SCRATCH = 1u << 16,
        P_DIGITS = 1u << 17,
        P_PERIOD = 1u << 18,
        P_LAST_STEP = 1u << 19,
        P_REPLACE = 1u << 20,
        P_EVENT_ID = 1u << 21,
        P_NOTE = 1u << 22,
        P_ALERT = 1u << 23,
        P_OPEN = 1u << 24,
        P_RHOST = 1u << 25,
        P_IP = 1u << 26,
        P_LOGIN = 1u << 27,
        P_UNKNOWN = 1u << 28,
        P_CLASS = 1u << 29,
        P_KNOWN = 1u << 30,
        P_GRANT_SESSION = 1u << 31,
};

static const struct {
        const char *name;
        unsigned bit;
} param_names[] = {
        {"user", P_USER},
        {"all", P_ALL},
        {"limit", P_LIMIT},
        {"failed", P_FAILED},
        {"closed", P_CLOSED},
        {"session", P_SESSION},
        {"event", P_EVENT},
        {"code", P_CODE},
        {"combined", P_COMBINED},
        {"device", P_DEVICE},
        {"token", P_TOKEN},
        {"reason", P_REASON},
        {"source", P_SOURCE},
        {"service", P_SERVICE},
        {"tty", P_TTY},
        {"secret", P_SECRET},
        {"scratch_codes", P_SCRATCH},
        {"digits", P_DIGITS},
        {"period", P_PERIOD},
        {"last_step", P_LAST_STEP},
        {"replace", P_REPLACE},
        {"event_id", P_EVENT_ID},
        {"note", P_NOTE},
        {"alert", P_ALERT},
        {"open", P_OPEN},
        {"rhost", P_RHOST},
        {"ip", P_IP},
        {"login", P_LOGIN},
        {"unknown", P_UNKNOWN},
        {"class", P_CLASS},
        {"known", P_KNOWN},
        {"grant_session", P_GRANT_SESSION},
};

static const unsigned method_params[_PROTO_METHOD_MAX] = {
        [PROTO_PING] = 0,
        [PROTO_REPORT] = P_EVENT,
        [PROTO_HISTORY] = P_USER | P_ALL | P_LIMIT | P_FAILED,
        [PROTO_SESSIONS] = P_USER | P_ALL | P_CLOSED | P_LIMIT,
        [PROTO_LOGOUT] = P_SESSION,
        [PROTO_AUDIT] = P_USER | P_ALL | P_LIMIT,
        [PROTO_AUDIT_VERIFY] = 0,
        [PROTO_STATUS] = P_USER,
        [PROTO_MFA_BEGIN] = P_DEVICE | P_CODE,
        [PROTO_MFA_CONFIRM] = P_TOKEN | P_CODE,
        [PROTO_MFA_DEVICES] = P_USER,
        [PROTO_MFA_REMOVE] = P_DEVICE | P_CODE,
        [PROTO_MFA_DISABLE] = P_CODE,
        [PROTO_BACKUP_CODES] = P_USER,
        [PROTO_BACKUP_REGENERATE] = P_CODE,
        [PROTO_VERIFY] = P_CODE | P_COMBINED | P_SERVICE | P_TTY | P_USER | P_EVENT | P_SOURCE | P_CLASS | P_KNOWN |
                         P_GRANT_SESSION,
        [PROTO_ADMIN_USERS] = P_UNKNOWN | P_LIMIT,
        [PROTO_ADMIN_RESET_MFA] = P_USER | P_REASON,
        [PROTO_ADMIN_UNLOCK] = P_USER | P_SOURCE,
        [PROTO_ADMIN_IMPORT] =
                P_USER | P_SECRET | P_DIGITS | P_PERIOD | P_DEVICE | P_LAST_STEP | P_SCRATCH | P_REPLACE | P_SOURCE,
        [PROTO_REPORT_EVENT] = P_EVENT_ID | P_NOTE,
        [PROTO_ADMIN_ALERTS] = P_USER | P_LIMIT | P_OPEN,
        [PROTO_ADMIN_ALERT_ACK] = P_ALERT,
        [PROTO_NOTICE] = P_USER | P_SERVICE | P_RHOST | P_IP | P_LOGIN,
        [PROTO_ADMIN_STATUS] = 0,
        [PROTO_FORGET] = 0,
        [PROTO_ADMIN_FORGET] = P_USER,
};

static const unsigned method_required[_PROTO_METHOD_MAX] = {
        [PROTO_REPORT] = P_EVENT,
        [PROTO_LOGOUT] = P_SESSION,
        [PROTO_MFA_CONFIRM] = P_TOKEN | P_CODE,
        [PROTO_MFA_REMOVE] = P_DEVICE | P_CODE,
        [PROTO_MFA_DISABLE] = P_CODE,
        [PROTO_BACKUP_REGENERATE] = P_CODE,
        [PROTO_ADMIN_RESET_MFA] = P_USER | P_REASON,
        [PROTO_ADMIN_UNLOCK] = P_USER,
        [PROTO_ADMIN_IMPORT] = P_USER | P_SECRET | P_DIGITS | P_PERIOD,
        [PROTO_REPORT_EVENT] = P_EVENT_ID,
        [PROTO_ADMIN_ALERT_ACK] = P_ALERT,
        [PROTO_ADMIN_FORGET] = P_USER,
};

/* A logind session id: 1..63 of [A-Za-z0-9_.-], terminated inside its buffer. */
static bool session_valid(const char *s, size_t n)
{
        size_t i, len = strnlen(s, n);

        if (len == 0 || len >= n)
                return false;
        for (i = 0; i < len; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '-'))
                        return false;
        }
        return true;
}

_Static_assert(PROTO_TOKEN_LEN == EVENT_ID_LEN, "\"login\" (an event id) is checked as a token");

/* An enrolment token: exactly PROTO_TOKEN_LEN lower-case hex digits. */
static bool token_valid(const char *s, size_t n)
{
        size_t i;

        if (strnlen(s, n) != PROTO_TOKEN_LEN)
                return false;
        for (i = 0; i < PROTO_TOKEN_LEN; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* A terminal session's key: PID@START, both decimal, as pam_mlsec's session_key makes it. */
static bool grant_session_valid(const char *s)
{
        const char *at = strchr(s, '@');

        if (!at || at == s || !at[1])
                return false;
        for (const char *c = s; *c; c++)
                if (c != at && (*c < '0' || *c > '9'))
                        return false;
        return true;
}

/* A base32 secret: 16..PROTO_SECRET_MAX-1 of A-Z and 2-7. */
static bool secret_valid(const char *s, size_t n)
{
        size_t i, len = strnlen(s, n);

        if (len < 16 || len >= n)
                return false;
        for (i = 0; i < len; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '2' && s[i] <= '7')))
                        return false;
        return true;
}

/* A scratch code: exactly PROTO_SCRATCH_LEN digits, the first not 0. */
static bool scratch_valid(const char *s, size_t n)
{
        if (strnlen(s, n) != PROTO_SCRATCH_LEN || s[0] < '1' || s[0] > '9')
                return false;
        for (size_t i = 1; i < PROTO_SCRATCH_LEN; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

void proto_request_wipe(struct proto_request *req)
{
        if (!req)
                return;
        explicit_bzero(req->code, sizeof(req->code));
        explicit_bzero(req->secret, sizeof(req->secret));
        explicit_bzero(req->scratch, sizeof(req->scratch));
}

/* A text parameter: where it goes and its extra rule. */
static char *text_param(struct proto_request *req, unsigned bit, size_t *ret_n)
{
        switch (bit) {
        case P_CODE:
                *ret_n = sizeof(req->code);
                return req->code;
        case P_DEVICE:
                *ret_n = sizeof(req->device);
                return req->device;
        case P_TOKEN:
                *ret_n = sizeof(req->token);
                return req->token;
        case P_REASON:
                *ret_n = sizeof(req->reason);
                return req->reason;
        case P_SOURCE:
                *ret_n = sizeof(req->source);
                return req->source;
        case P_SERVICE:
                *ret_n = sizeof(req->service);
                return req->service;
        case P_TTY:
                *ret_n = sizeof(req->tty);
                return req->tty;
        case P_SECRET:
                *ret_n = sizeof(req->secret);
                return req->secret;
        case P_EVENT_ID:
                *ret_n = sizeof(req->event_id);
                return req->event_id;
        case P_NOTE:
                *ret_n = sizeof(req->note);
                return req->note;
        case P_RHOST:
                *ret_n = sizeof(req->rhost);
                return req->rhost;
        case P_IP:
                *ret_n = sizeof(req->ip);
                return req->ip;
        case P_LOGIN:
                *ret_n = sizeof(req->login);
                return req->login;
        case P_CLASS:
                *ret_n = sizeof(req->cls);
                return req->cls;
        case P_GRANT_SESSION:
                *ret_n = sizeof(req->grant_session);
                return req->grant_session;
        default:
                return NULL;
        }
}

static bool text_param_valid(unsigned bit, const char *s, size_t n)
{
        switch (bit) {
        case P_DEVICE:
                return enroll_device_name_valid(s);
        case P_TOKEN:
        case P_LOGIN: /* an event id has the shape of a token */
                return token_valid(s, n);
        case P_EVENT_ID:
                return event_id_prefix_valid(s, n);
        case P_CLASS:
                return strcmp(s, "remote") == 0 || strcmp(s, "local") == 0 || strcmp(s, "console") == 0;
        case P_GRANT_SESSION:
                return grant_session_valid(s);
        case P_SECRET:
                return secret_valid(s, n);
        case P_IP: {
                unsigned char a[sizeof(struct in6_addr)];
                return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
        }
        default: /* code, reason, source, service, tty, note, rhost: not empty */
                return s[0] != '\0';
        }
}

static bool limit_valid(int64_t x)
{
        return x >= 1 && x <= PROTO_LIMIT_MAX;
}

static int decode_param(struct proto_request *req, unsigned bit, const char *key, struct json_object *v, char *err,
                        size_t errlen)
{
        int64_t x;
        int r;

        switch (bit) {
        case P_USER:
                r = get_text(v, req->user, sizeof(req->user), key, err, errlen);
                if (r < 0)
                        return r;
                if (!util_user_valid(req->user))
                        return fail(-EINVAL, err, errlen, "invalid user name", NULL);
                return 0;
        case P_SESSION:
                r = get_text(v, req->session, sizeof(req->session), key, err, errlen);
                if (r < 0)
                        return r;
                if (!session_valid(req->session, sizeof(req->session)))
                        return fail(-EINVAL, err, errlen, "invalid session id", NULL);
                return 0;
        case P_LIMIT:
                if (!json_object_is_type(v, json_type_int))
                        return fail(-EINVAL, err, errlen, "wrong type", key);
                if (!json_int64(v, &x) || !limit_valid(x))
                        return fail(-EINVAL, err, errlen, "limit out of range", NULL);
                req->limit = (unsigned)x;
                return 0;
        case P_ALERT:
                if (!json_object_is_type(v, json_type_int))
                        return fail(-EINVAL, err, errlen, "wrong type", key);
                if (!json_int64(v, &x) || x < 1)
                        return fail(-EINVAL, err, errlen, "alert id out of range", NULL);
                req->alert = x;
                return 0;
        case P_EVENT:
                return event_from_json(v, &req->event, err, errlen);
        case P_DIGITS:
        case P_PERIOD:
        case P_LAST_STEP:
                if (!json_object_is_type(v, json_type_int))
                        return fail(-EINVAL, err, errlen, "wrong type", key);
                if (!json_int64(v, &x) || (bit == P_DIGITS && x != 6 && x != 8) ||
                    (bit == P_PERIOD && (x < 1 || x > 60)) || (bit == P_LAST_STEP && (x < 1 || x > INT32_MAX)))
                        return fail(-EINVAL, err, errlen, "number out of range", key);
                if (bit == P_DIGITS)
                        req->digits = (unsigned)x;
                else if (bit == P_PERIOD)
                        req->period = (unsigned)x;
                else
                        req->last_step = x;
                return 0;
        case P_SCRATCH: {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return fail(-EINVAL, err, errlen, "wrong type", key);
                n = json_object_array_length(v);
                if (n > PROTO_SCRATCH_MAX)
                        return fail(-EINVAL, err, errlen, "too many scratch codes", NULL);
                for (size_t i = 0; i < n; i++) {
                        r = get_text(json_object_array_get_idx(v, i), req->scratch[i], sizeof(req->scratch[i]), key,
                                     err, errlen);
                        if (r < 0)
                                return r;
                        if (!scratch_valid(req->scratch[i], sizeof(req->scratch[i])))
                                return fail(-EINVAL, err, errlen, "invalid value", key);
                }
                req->n_scratch = n;
                return 0;
        }
        case P_CODE:
        case P_DEVICE:
        case P_TOKEN:
        case P_REASON:
        case P_SOURCE:
        case P_SERVICE:
        case P_TTY:
        case P_SECRET:
        case P_EVENT_ID:
        case P_NOTE:
        case P_RHOST:
        case P_IP:
        case P_LOGIN:
        case P_CLASS:
        case P_GRANT_SESSION: {
                size_t n = 0;
                char *dst = text_param(req, bit, &n);

                r = get_text(v, dst, n, key, err, errlen);
                if (r < 0)
                        return r;
                if (!text_param_valid(bit, dst, n))
                        return fail(-EINVAL, err, errlen, "invalid value", key);
                return 0;
        }
        default: /* the booleans */
                if (!json_object_is_type(v, json_type_boolean))
                        return fail(-EINVAL, err, errlen, "wrong type", key);
                if (bit == P_ALL)
                        req->all = json_object_get_boolean(v);
                else if (bit == P_FAILED)
                        req->failed_only = json_object_get_boolean(v);
                else if (bit == P_COMBINED)
                        req->combined = json_object_get_boolean(v);
                else if (bit == P_REPLACE)
                        req->replace = json_object_get_boolean(v);
                else if (bit == P_OPEN)
                        req->open_only = json_object_get_boolean(v);
                else if (bit == P_UNKNOWN)
                        req->unknown = json_object_get_boolean(v);
                else if (bit == P_KNOWN)
                        req->known = json_object_get_boolean(v);
                else
                        req->include_closed = json_object_get_boolean(v);
                return 0;
        }
}

static int decode_params(struct json_object *params, struct proto_request *req, char *err, size_t errlen)
{
        struct json_object_iterator it, end;
        unsigned allowed = method_params[req->method], seen = 0;
        int r;

        if (params) {
                if (!json_object_is_type(params, json_type_object))
                        return fail(-EINVAL, err, errlen, "wrong type", "params");
                it = json_object_iter_begin(params);
                end = json_object_iter_end(params);
                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                        const char *key = json_object_iter_peek_name(&it);
                        unsigned bit = 0;
                        size_t i;

                        for (i = 0; i < sizeof(param_names) / sizeof(param_names[0]); i++)
                                if (strcmp(key, param_names[i].name) == 0)
                                        bit = param_names[i].bit;
                        if (!(bit & allowed))
                                return fail(-EINVAL, err, errlen, "unknown key in params", key);
                        r = decode_param(req, bit, key, json_object_iter_peek_value(&it), err, errlen);
                        if (r < 0)
                                return r;
                        seen |= bit;
                }
        }
        if ((seen & method_required[req->method]) != method_required[req->method]) {
                unsigned missing = method_required[req->method] & ~seen;

                for (size_t i = 0; i < sizeof(param_names) / sizeof(param_names[0]); i++)
                        if (missing & param_names[i].bit)
                                return fail(-EINVAL, err, errlen, "missing key", param_names[i].name);
        }
        return 0;
}

int proto_decode_request(const void *buf, size_t len, struct proto_request *ret, char *err, size_t errlen)
{
        struct json_object *root = NULL, *v = NULL, *params = NULL;
        struct json_object_iterator it, end;
        struct proto_request req;
        const char *method = NULL;
        int64_t version;
        int r;

        clear_err(err, errlen);
        if (!ret)
                return -EINVAL;
        r = parse(buf, len, REQUEST_DEPTH, true, &root, err, errlen);
        if (r < 0)
                return r;
        memset(&req, 0, sizeof(req));

        /* The version first: a newer client may use keys this version does not know. */
        if (!json_object_object_get_ex(root, "v", &v)) {
                r = fail(-EINVAL, err, errlen, "missing key", "v");
                goto out;
        }
        if (!json_object_is_type(v, json_type_int)) {
                r = fail(-EINVAL, err, errlen, "wrong type", "v");
                goto out;
        }
        if (!json_int64(v, &version) || version != PROTO_VERSION) {
                r = fail(-EPROTONOSUPPORT, err, errlen, "unsupported protocol version", NULL);
                goto out;
        }

        it = json_object_iter_begin(root);
        end = json_object_iter_end(root);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                const char *key = json_object_iter_peek_name(&it);

                v = json_object_iter_peek_value(&it);
                if (strcmp(key, "v") == 0)
                        continue;
                if (strcmp(key, "method") == 0) {
                        if (!json_object_is_type(v, json_type_string)) {
                                r = fail(-EINVAL, err, errlen, "wrong type", key);
                                goto out;
                        }
                        method = json_object_get_string(v);
                } else if (strcmp(key, "params") == 0) {
                        if (!json_object_is_type(v, json_type_object)) {
                                r = fail(-EINVAL, err, errlen, "wrong type", key);
                                goto out;
                        }
                        params = v;
                } else {
                        r = fail(-EINVAL, err, errlen, "unknown key", key);
                        goto out;
                }
        }
        if (!method) {
                r = fail(-EINVAL, err, errlen, "missing key", "method");
                goto out;
        }
        if (proto_method_from_string(method, &req.method) < 0) {
                r = fail(-EOPNOTSUPP, err, errlen, "unknown method", NULL);
                goto out;
        }
        r = decode_params(params, &req, err, errlen);
        if (r < 0)
                goto out;
        memcpy(ret, &req, sizeof(req));
        r = 0;
out:
        wipe_json(root); /* "code", "secret", "scratch_codes" may be secrets */
        json_object_put(root);
        explicit_bzero(&req, sizeof(req));
        return r;
}

/* What the decoder would refuse, refused before encoding. Fields the method does not take
 * are ignored. */
static int request_check(const struct proto_request *req)
{
        unsigned allowed;

        if ((unsigned)req->method >= _PROTO_METHOD_MAX)
                return -EINVAL;
        allowed = method_params[req->method];
        if ((allowed & P_USER) && req->user[0] && !util_user_valid(req->user))
                return -EINVAL;
        if ((allowed & P_LIMIT) && req->limit > PROTO_LIMIT_MAX)
                return -EINVAL;
        if ((allowed & P_SESSION) && !session_valid(req->session, sizeof(req->session)))
                return -EINVAL;
        if ((allowed & P_EVENT) && (req->event.id[0] || (method_required[req->method] & P_EVENT)) &&
            event_validate(&req->event, NULL, 0) < 0)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(param_names) / sizeof(param_names[0]); i++) {
                unsigned bit = param_names[i].bit;
                size_t n = 0;
                const char *t = text_param((struct proto_request *)req, bit, &n);
                char tmp[PROTO_CODE_MAX];
                bool bad;

                if (!t)
                        continue;
                if ((method_required[req->method] & bit) && !t[0])
                        return -EINVAL;
                if (!(allowed & bit) || !t[0])
                        continue;
                bad = strnlen(t, n) >= n || event_set_text(tmp, n, t) < 0 || !text_param_valid(bit, t, n);
                memset(tmp, 0, sizeof(tmp)); /* may have held a code */
                if (bad)
                        return -EINVAL;
        }
        if ((method_required[req->method] & P_USER) && !req->user[0])
                return -EINVAL;
        if ((allowed & P_DIGITS) && req->digits != 6 && req->digits != 8)
                return -EINVAL;
        if ((allowed & P_PERIOD) && (req->period < 1 || req->period > 60))
                return -EINVAL;
        if ((allowed & P_LAST_STEP) && (req->last_step < 0 || req->last_step > INT32_MAX))
                return -EINVAL;
        if ((allowed & P_SCRATCH) && req->n_scratch > PROTO_SCRATCH_MAX)
                return -EINVAL;
        for (size_t i = 0; (allowed & P_SCRATCH) && i < req->n_scratch; i++)
                if (!scratch_valid(req->scratch[i], sizeof(req->scratch[i])))
                        return -EINVAL;
        if ((allowed & P_ALERT) && ((method_required[req->method] & P_ALERT) ? req->alert < 1 : req->alert < 0))
                return -EINVAL;
        return 0;
}

static int encode_params(const struct proto_request *req, struct json_object *p)
{
        unsigned allowed = method_params[req->method];
        int r = 0;

        if ((allowed & P_USER) && req->user[0])
                r = add_text(p, "user", req->user, sizeof(req->user));
        if (r >= 0 && (allowed & P_ALL) && req->all)
                r = add(p, "all", json_object_new_boolean(1));
        if (r >= 0 && (allowed & P_LIMIT) && req->limit)
                r = add(p, "limit", json_object_new_int64(req->limit));
        if (r >= 0 && (allowed & P_FAILED) && req->failed_only)
                r = add(p, "failed", json_object_new_boolean(1));
        if (r >= 0 && (allowed & P_CLOSED) && req->include_closed)
                r = add(p, "closed", json_object_new_boolean(1));
        if (r >= 0 && (allowed & P_SESSION))
                r = add_text(p, "session", req->session, sizeof(req->session));
        if (r >= 0 && (allowed & P_EVENT) && (req->event.id[0] || (method_required[req->method] & P_EVENT)))
                r = add(p, "event", event_to_json(&req->event));
        if (r >= 0 && (allowed & P_COMBINED) && req->combined)
                r = add(p, "combined", json_object_new_boolean(1));
        if (r >= 0 && (allowed & P_DIGITS))
                r = add(p, "digits", json_object_new_int64(req->digits));
        if (r >= 0 && (allowed & P_PERIOD))
                r = add(p, "period", json_object_new_int64(req->period));
        if (r >= 0 && (allowed & P_LAST_STEP) && req->last_step > 0)
                r = add(p, "last_step", json_object_new_int64(req->last_step));
        if (r >= 0 && (allowed & P_REPLACE) && req->replace)
                r = add(p, "replace", json_object_new_boolean(1));
        if (r >= 0 && (allowed & P_SCRATCH) && req->n_scratch > 0) {
                struct json_object *a = json_object_new_array();

                for (size_t i = 0; a && i < req->n_scratch; i++)
                        if (json_object_array_add(a, json_object_new_string_len(req->scratch[i], PROTO_SCRATCH_LEN)) <
                            0) {
                                json_object_put(a);
                                a = NULL;
                        }
                r = add(p, "scratch_codes", a);
        }
        if (r >= 0 && (allowed & P_OPEN) && req->open_only)
                r = add(p, "open", json_object_new_boolean(1));
        if (r >= 0 && (allowed & P_UNKNOWN) && req->unknown)
                r = add(p, "unknown", json_object_new_boolean(1));
        if (r >= 0 && (allowed & P_KNOWN) && req->known)
                r = add(p, "known", json_object_new_boolean(1));
        if (r >= 0 && (allowed & P_ALERT) && req->alert > 0)
                r = add(p, "alert", json_object_new_int64(req->alert));
        for (size_t i = 0; r >= 0 && i < sizeof(param_names) / sizeof(param_names[0]); i++) {
                unsigned bit = param_names[i].bit;
                size_t n = 0;
                const char *t = text_param((struct proto_request *)req, bit, &n);

                if (t && (allowed & bit) && t[0])
                        r = add_text(p, param_names[i].name, t, n);
        }
        return r;
}

int proto_encode_request(const struct proto_request *req, char *buf, size_t max, size_t *ret_len)
{
        struct json_object *root, *params;
        int r;

        if (!req || !buf || !ret_len)
                return -EINVAL;
        r = request_check(req);
        if (r < 0)
                return r;
        root = json_object_new_object();
        if (!root)
                return -ENOMEM;
        r = add(root, "v", json_object_new_int(PROTO_VERSION));
        if (r >= 0)
                r = add(root, "method", json_object_new_string(method_names[req->method]));
        if (r >= 0) {
                params = json_object_new_object();
                r = params ? encode_params(req, params) : -ENOMEM;
                if (r >= 0 && json_object_object_length(params) > 0)
                        r = add(root, "params", params);
                else
                        json_object_put(params);
        }
        if (r >= 0)
                r = emit(root, buf, max, ret_len);
        wipe_json(root); /* "code" may be a secret */
        json_object_put(root);
        return r;
}

/* ---- replies ---- */

/* Objects and arrays nested at most LEFT deep, so the reply decoder's limit holds. */
static bool depth_ok(struct json_object *j, int left)
{
        size_t i, n;

        switch (json_object_get_type(j)) {
        case json_type_object: {
                struct json_object_iterator it = json_object_iter_begin(j), end = json_object_iter_end(j);

                if (left <= 0)
                        return false;
                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
                        if (!depth_ok(json_object_iter_peek_value(&it), left - 1))
                                return false;
                return true;
        }
        case json_type_array:
                if (left <= 0)
                        return false;
                n = json_object_array_length(j);
                for (i = 0; i < n; i++)
                        if (!depth_ok(json_object_array_get_idx(j, i), left - 1))
                                return false;
                return true;
        case json_type_double:
                return isfinite(json_object_get_double(j));
        default:
                return true;
        }
}

static bool error_code_valid(const char *s)
{
        size_t i, len = strnlen(s, ERROR_CODE_MAX);

        if (len == 0 || len >= ERROR_CODE_MAX)
                return false;
        for (i = 0; i < len; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

static int reply_root(bool ok, struct json_object **ret)
{
        struct json_object *root = json_object_new_object();
        int r;

        if (!root)
                return -ENOMEM;
        r = add(root, "v", json_object_new_int(PROTO_VERSION));
        if (r >= 0)
                r = add(root, "ok", json_object_new_boolean(ok));
        if (r < 0) {
                json_object_put(root);
                return r;
        }
        *ret = root;
        return 0;
}

int proto_encode_reply(const struct proto_obj *result, char *buf, size_t max, size_t *ret_len)
{
        struct json_object *root;
        int r;

        if (!buf || !ret_len)
                return -EINVAL;
        if (result && (!json_object_is_type(result->j, json_type_object) || !depth_ok(result->j, REPLY_DEPTH - 1)))
                return -EINVAL;
        r = reply_root(true, &root);
        if (r < 0)
                return r;
        if (result)
                r = add(root, "result", json_object_get(result->j));
        if (r >= 0)
                r = emit(root, buf, max, ret_len);
        wipe_json(root); /* "code" may be a secret */
        json_object_put(root);
        return r;
}

int proto_encode_error(const char *code, const char *message, char *buf, size_t max, size_t *ret_len)
{
        char text[ERROR_MESSAGE_MAX];
        struct json_object *root, *e;
        int r;

        if (!code || !buf || !ret_len || !error_code_valid(code))
                return -EINVAL;
        if (event_set_text(text, sizeof(text), message ? message : "") < 0)
                return -EINVAL;
        r = reply_root(false, &root);
        if (r < 0)
                return r;
        e = json_object_new_object();
        r = e ? add(e, "code", json_object_new_string(code)) : -ENOMEM;
        if (r >= 0)
                r = add(e, "message", json_object_new_string(text));
        if (r >= 0) {
                r = add(root, "error", e);
                e = NULL;
        }
        json_object_put(e);
        if (r >= 0)
                r = emit(root, buf, max, ret_len);
        wipe_json(root); /* "code" may be a secret */
        json_object_put(root);
        return r;
}

/* Copy S into DST, cut at a character boundary when it does not fit. */
static void copy_cut(char *dst, size_t n, const char *s)
{
        size_t len;

        if (!dst || n == 0)
                return;
        len = strlen(s);
        if (len >= n) {
                len = n - 1;
                while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
                        len--;
        }
        memcpy(dst, s, len);
        dst[len] = '\0';
}

static int decode_error(struct json_object *e, char *code, size_t codelen, char *msg, size_t msglen)
{
        char c[ERROR_CODE_MAX], m[ERROR_MESSAGE_MAX];
        struct json_object_iterator it, end;
        unsigned seen = 0;

        if (!json_object_is_type(e, json_type_object))
                return -EBADMSG;
        it = json_object_iter_begin(e);
        end = json_object_iter_end(e);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                const char *key = json_object_iter_peek_name(&it);
                struct json_object *v = json_object_iter_peek_value(&it);

                if (strcmp(key, "code") == 0) {
                        if (get_text(v, c, sizeof(c), key, NULL, 0) < 0 || !error_code_valid(c))
                                return -EBADMSG;
                        seen |= 1;
                } else if (strcmp(key, "message") == 0) {
                        if (get_text(v, m, sizeof(m), key, NULL, 0) < 0)
                                return -EBADMSG;
                        seen |= 2;
                } else
                        return -EBADMSG;
        }
        if (seen != 3)
                return -EBADMSG;
        copy_cut(code, codelen, c);
        copy_cut(msg, msglen, m);
        return -EREMOTEIO;
}

int proto_decode_reply(const void *buf, size_t len, struct proto_obj **ret_result, char *code, size_t codelen,
                       char *msg, size_t msglen)
{
        struct json_object *root = NULL, *result = NULL, *error = NULL, *ok = NULL;
        struct json_object_iterator it, end;
        struct proto_obj *o;
        int64_t version = 0;
        int r;

        /* Result strings are the daemon's and opaque here: no UTF-8 pass over them, so
         * whatever proto_encode_reply wrote reads back. */
        if (parse(buf, len, REPLY_DEPTH, false, &root, NULL, 0) < 0)
                return -EBADMSG;
        r = -EBADMSG;
        it = json_object_iter_begin(root);
        end = json_object_iter_end(root);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                const char *key = json_object_iter_peek_name(&it);
                struct json_object *v = json_object_iter_peek_value(&it);

                if (strcmp(key, "v") == 0) {
                        if (!json_int64(v, &version))
                                goto out;
                } else if (strcmp(key, "ok") == 0) {
                        if (!json_object_is_type(v, json_type_boolean))
                                goto out;
                        ok = v;
                } else if (strcmp(key, "result") == 0) {
                        if (!json_object_is_type(v, json_type_object))
                                goto out;
                        result = v;
                } else if (strcmp(key, "error") == 0) {
                        if (!v)
                                goto out;
                        error = v;
                } else
                        goto out;
        }
        if (version != PROTO_VERSION || !ok)
                goto out;
        if (!json_object_get_boolean(ok)) {
                if (result || !error)
                        goto out;
                r = decode_error(error, code, codelen, msg, msglen);
                goto out;
        }
        if (error)
                goto out;
        if (ret_result) {
                o = NULL;
                if (result) {
                        o = wrap(json_object_get(result));
                        if (!o) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                *ret_result = o;
        }
        r = 0;
out:
        json_object_put(root);
        return r;
}
