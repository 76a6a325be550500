/* SPDX-License-Identifier: MIT */
/* What an event is and what a valid one looks like: fresh ids, the one text rule (UTF-8
 * without overlongs, surrogates or control characters, bounded by its buffer) and the
 * per-kind required fields. Every path that carries an event (wire, spool, store) relies
 * on event_validate, so it must never accept what a terminal or a log would misread.
 * Pure functions over caller memory: no allocation, no logging. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "seal.h"
#include "source.h"
#include "util.h"

#define USEC_PER_SEC        1000000LL
#define EVENT_TIME_MIN_US   (946684800LL * USEC_PER_SEC) /* 2000-01-01T00:00:00Z */
#define EVENT_TIME_AHEAD_US (86400LL * USEC_PER_SEC)     /* clocks disagree, but not by a day */
#define EVENT_UID_MAX       4294967294LL                 /* (uid_t)-1 is "no uid" */
#define EVENT_PID_MAX       2147483647LL

static const char *const kind_names[_EVENT_KIND_MAX] = {
        [EVENT_AUTH] = "auth",
        [EVENT_SESSION_OPEN] = "session-open",
        [EVENT_SESSION_CLOSE] = "session-close",
        [EVENT_AUDIT] = "audit",
};

#define TEXT_FIELD(f)                                                                                                  \
        {                                                                                                              \
#f, offsetof(struct mlsec_event, f), sizeof(((struct mlsec_event *)0)->f)                              \
        }

static const struct {
        const char *name;
        size_t offset;
        size_t size;
} text_fields[] = {
        TEXT_FIELD(user),    TEXT_FIELD(service), TEXT_FIELD(rhost),  TEXT_FIELD(ip),
        TEXT_FIELD(tty),     TEXT_FIELD(method),  TEXT_FIELD(result), TEXT_FIELD(reason),
        TEXT_FIELD(session), TEXT_FIELD(action),  TEXT_FIELD(detail),
};

void event_init(struct mlsec_event *e, enum event_kind kind)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char raw[EVENT_ID_LEN / 2];
        struct timespec ts;
        size_t i;

        if (!e)
                return;
        memset(e, 0, sizeof(*e));
        seal_random(raw, sizeof(raw));
        for (i = 0; i < sizeof(raw); i++) {
                e->id[2 * i] = hex[raw[i] >> 4];
                e->id[2 * i + 1] = hex[raw[i] & 0x0f];
        }
        e->kind = kind;
        if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
                e->time_us = (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
        e->uid = -1;
        e->pid = -1;
        e->actor_uid = -1;
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) of
 * printable characters only: C0 controls, DEL and C1 controls (U+0080..U+009F) are what
 * rewrite a terminal line or split a log record, so they never enter an event. */
static bool text_valid(const char *str, size_t len)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0, k, n;

        while (i < len) {
                unsigned char c = s[i], lo = 0x80, hi = 0xbf;

                if (c < 0x80) {
                        if (c < 0x20 || c == 0x7f)
                                return false;
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1;
                else if (c == 0xe0) {
                        n = 2;
                        lo = 0xa0; /* overlong below U+0800 */
                } else if (c == 0xed) {
                        n = 2;
                        hi = 0x9f; /* surrogates U+D800..U+DFFF */
                } else if (c >= 0xe1 && c <= 0xef)
                        n = 2;
                else if (c == 0xf0) {
                        n = 3;
                        lo = 0x90; /* overlong below U+10000 */
                } else if (c >= 0xf1 && c <= 0xf3)
                        n = 3;
                else if (c == 0xf4) {
                        n = 3;
                        hi = 0x8f; /* above U+10FFFF */
                } else
                        return false; /* continuation byte, C0/C1 overlong lead, F5..FF */
                if (len - i - 1 < n)
                        return false;
                if (s[i + 1] < lo || s[i + 1] > hi)
                        return false;
                for (k = 2; k <= n; k++)
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                if (c == 0xc2 && s[i + 1] <= 0x9f)
                        return false; /* C1 control */
                i += n + 1;
        }
        return true;
}

int event_set_text(char *dst, size_t n, const char *s)
{
        size_t len;

        if (!dst || !s || n == 0)
                return -EINVAL;
        len = strnlen(s, n);
        if (len >= n || !text_valid(s, len))
                return -EINVAL;
        memmove(dst, s, len);
        /* the whole buffer is defined, so two equal events compare equal byte for byte */
        memset(dst + len, 0, n - len);
        return 0;
}

static int invalid(char *err, size_t errlen, const char *what, const char *why)
{
        if (err && errlen > 0)
                (void)snprintf(err, errlen, "%s%s%s", what, why ? ": " : "", why ? why : "");
        return -EINVAL;
}

bool event_id_valid(const char *id)
{
        size_t i;

        if (!id)
                return false;
        for (i = 0; i < EVENT_ID_LEN; i++)
                if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
                        return false;
        return id[EVENT_ID_LEN] == '\0';
}

bool event_id_prefix_valid(const char *s, size_t n)
{
        size_t len;

        if (!s)
                return false;
        len = strnlen(s, n);
        if (len < EVENT_ID_PREFIX_MIN || len > EVENT_ID_LEN || len >= n)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static bool time_valid(int64_t t)
{
        struct timespec ts;
        int64_t now;

        if (t < EVENT_TIME_MIN_US)
                return false;
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return false;
        now = (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
        return t <= now + EVENT_TIME_AHEAD_US;
}

void event_canonical_hosts(struct mlsec_event *e)
{
        char buf[EVENT_HOST_MAX] = "";

        if (source_canonical(e->rhost, buf, sizeof(buf)) >= 0)
                memcpy(e->rhost, buf, sizeof(e->rhost));
        if (source_canonical(e->ip, buf, sizeof(e->ip)) == 1)
                memcpy(e->ip, buf, sizeof(e->ip));
}

int event_validate(const struct mlsec_event *e, char *err, size_t errlen)
{
        size_t i;

        if (!e)
                return invalid(err, errlen, "no event", NULL);
        if (!event_id_valid(e->id))
                return invalid(err, errlen, "id", "not 32 lower-case hex digits");
        if ((unsigned)e->kind >= _EVENT_KIND_MAX)
                return invalid(err, errlen, "kind", "unknown");
        if (!time_valid(e->time_us))
                return invalid(err, errlen, "time_us", "before 2000 or more than a day ahead");
        for (i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
                const char *s = (const char *)e + text_fields[i].offset;
                const char *end = memchr(s, '\0', text_fields[i].size);

                if (!end)
                        return invalid(err, errlen, text_fields[i].name, "not terminated");
                if (!text_valid(s, (size_t)(end - s)))
                        return invalid(err, errlen, text_fields[i].name, "not UTF-8 or has control characters");
        }
        if (e->user[0] && !util_user_valid(e->user))
                return invalid(err, errlen, "user", "not a valid user name");
        if (e->uid < -1 || e->uid > EVENT_UID_MAX)
                return invalid(err, errlen, "uid", "out of range");
        if (e->actor_uid < -1 || e->actor_uid > EVENT_UID_MAX)
                return invalid(err, errlen, "actor_uid", "out of range");
        if (e->pid < -1 || e->pid > EVENT_PID_MAX)
                return invalid(err, errlen, "pid", "out of range");

        switch (e->kind) {
        case EVENT_AUTH:
                /* no user: a name that is not a valid user name was tried (the attempt is
                 * still recorded; detail holds the escaped name) */
                if (!e->result[0])
                        return invalid(err, errlen, "result", "required for auth");
                break;
        case EVENT_SESSION_OPEN:
        case EVENT_SESSION_CLOSE:
                if (!e->user[0])
                        return invalid(err, errlen, "user", "required for a session");
                break;
        case EVENT_AUDIT:
                if (!e->action[0])
                        return invalid(err, errlen, "action", "required for audit");
                break;
        default:
                break;
        }
        if (err && errlen > 0)
                err[0] = '\0';
        return 0;
}

const char *event_kind_to_string(enum event_kind k)
{
        if ((unsigned)k >= _EVENT_KIND_MAX)
                return NULL;
        return kind_names[k];
}

int event_kind_from_string(const char *s, enum event_kind *ret)
{
        unsigned k;

        if (!s || !ret)
                return -EINVAL;
        for (k = 0; k < _EVENT_KIND_MAX; k++)
                if (strcmp(s, kind_names[k]) == 0) {
                        *ret = (enum event_kind)k;
                        return 0;
                }
        return -EINVAL;
}
