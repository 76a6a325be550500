/* SPDX-License-Identifier: MIT */
/* mlsecd's client of systemd-logind: lists sessions, follows SessionNew/SessionRemoved, logs a
 * session out and kills it when it will not go. The only file that includes sd-bus; every
 * method call carries a timeout, signals count only when they come from logind's own
 * connection, and every string from the bus is checked and bounded before it reaches
 * mlsec's structs. It never logs, never blocks without a bound and never exits. */
#include "logind.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define LOGIND_SERVICE   "org.freedesktop.login1"
#define LOGIND_PATH      "/org/freedesktop/login1"
#define LOGIND_MANAGER   "org.freedesktop.login1.Manager"
#define LOGIND_SESSION   "org.freedesktop.login1.Session"
#define LOGIND_NO_SUCH   "org.freedesktop.login1.NoSuchSession"
#define LOGIND_CALL_USEC (2ULL * 1000 * 1000) /* no method call may wait longer */
#define LOGIND_LIST_MAX  65536                /* logind's own SessionsMax defaults to 8192 */

/* sd-bus checks a well-known sender name against the unique name only on the bus side, and
 * anybody may send a unicast signal to us: the owner is tracked here and compared. */
#define LOGIND_OWNER_MATCH                                                                                             \
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"                                    \
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" LOGIND_SERVICE "'"
#define LOGIND_OWNER_MAX 256 /* a unique name ":1.42" is short; the D-Bus limit is 255 */

struct logind_timer {
        struct logind *l;
        sd_event_source *source;
        struct logind_timer *next;
        char id[EVENT_SESSION_MAX];
};

struct logind {
        sd_bus *bus;
        sd_event *loop;
        sd_bus_slot *new_slot;
        sd_bus_slot *removed_slot;
        sd_bus_slot *owner_slot;
        logind_change_fn fn;
        void *userdata;
        char owner[LOGIND_OWNER_MAX]; /* logind's unique name, "" while it has none */
        struct logind_timer *timers;
};

/* logind's session ids are letters and digits (session_id_valid() in systemd). */
static bool id_valid(const char *id)
{
        size_t i;

        if (!id || !id[0])
                return false;
        for (i = 0; id[i]; i++) {
                char c = id[i];

                if (i >= EVENT_SESSION_MAX - 1)
                        return false;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
                        return false;
        }
        return true;
}

/* Length of the UTF-8 character at S (1-4), or 0 when S does not start a valid one or starts
 * a control character (C0, DEL, C1): those must never reach a terminal or a log line. */
static size_t utf8_char(const unsigned char *s)
{
        uint32_t c;
        size_t len, i;

        if (s[0] < 0x80)
                return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
        if ((s[0] & 0xe0) == 0xc0) {
                len = 2;
                c = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                len = 3;
                c = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                len = 4;
                c = s[0] & 0x07;
        } else
                return 0;
        for (i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
            (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c <= 0x9f))
                return 0;
        return len;
}

/* Copy S into DST (size N) when it is printable UTF-8. A string that does not fit is cut at a
 * character boundary when TRUNCATE, refused otherwise. DST is untouched on error. */
static int text_copy(char *dst, size_t n, const char *s, bool truncate)
{
        size_t i = 0, len;

        while (s[i]) {
                len = utf8_char((const unsigned char *)s + i);
                if (len == 0)
                        return -EINVAL;
                if (i + len >= n) {
                        if (!truncate)
                                return -ENAMETOOLONG;
                        break;
                }
                i += len;
        }
        memcpy(dst, s, i);
        dst[i] = '\0';
        return 0;
}

static int call_logind(struct logind *l, const char *path, const char *iface, const char *member, sd_bus_error *error,
                       sd_bus_message **ret_reply, const char *types, ...)
{
        sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(l->bus, &m, LOGIND_SERVICE, path, iface, member);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r >= 0)
                r = sd_bus_call(l->bus, m, LOGIND_CALL_USEC, error, ret_reply);
        (void)sd_bus_message_unref(m);
        return r;
}

/* Manager.GetSession(ID): the session's object path (copied, it outlives the reply). */
static int session_path(struct logind *l, const char *id, char **ret_path)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        char *p;
        int r;

        r = call_logind(l, LOGIND_PATH, LOGIND_MANAGER, "GetSession", &error, &reply, "s", id);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, LOGIND_NO_SUCH))
                        r = -ENOENT;
                goto out;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                goto out;
        p = strdup(path);
        if (!p) {
                r = -ENOMEM;
                goto out;
        }
        *ret_path = p;
        r = 0;
out:
        (void)sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return r;
}

/* One property of a session's GetAll dictionary; the variant is consumed either way. Unknown
 * names, unexpected types and strings that fail the checks leave the field as it was. */
static int read_property(sd_bus_message *m, const char *name, const char *contents, struct logind_session *s)
{
        const char *str, *path;
        uint32_t u;
        char *dst = NULL;
        size_t n = 0;
        bool cut = false;
        int r;

        if (strcmp(contents, "s") == 0) {
                if (strcmp(name, "Service") == 0) {
                        dst = s->service;
                        n = sizeof(s->service);
                } else if (strcmp(name, "TTY") == 0) {
                        dst = s->tty;
                        n = sizeof(s->tty);
                        cut = true;
                } else if (strcmp(name, "RemoteHost") == 0) {
                        dst = s->remote_host;
                        n = sizeof(s->remote_host);
                        cut = true;
                } else if (strcmp(name, "State") == 0) {
                        dst = s->state;
                        n = sizeof(s->state);
                } else if (strcmp(name, "Name") == 0) {
                        dst = s->user;
                        n = sizeof(s->user);
                }
                if (dst) {
                        r = sd_bus_message_read(m, "v", "s", &str);
                        if (r < 0)
                                return r;
                        (void)text_copy(dst, n, str, cut);
                        return 0;
                }
        } else if (strcmp(contents, "u") == 0 && strcmp(name, "Leader") == 0) {
                r = sd_bus_message_read(m, "v", "u", &u);
                if (r < 0)
                        return r;
                s->leader = u;
                return 0;
        } else if (strcmp(contents, "(uo)") == 0 && strcmp(name, "User") == 0) {
                r = sd_bus_message_read(m, "v", "(uo)", &u, &path);
                if (r < 0)
                        return r;
                s->uid = u;
                return 0;
        }
        return sd_bus_message_skip(m, "v");
}

/* Properties.GetAll(Session) on PATH into S. Missing properties keep what S holds. */
static int read_properties(struct logind *l, const char *path, struct logind_session *s, sd_bus_error *error)
{
        sd_bus_message *reply = NULL;
        const char *name, *contents;
        int r;

        r = call_logind(l, path, "org.freedesktop.DBus.Properties", "GetAll", error, &reply, "s", LOGIND_SESSION);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                goto out;
        for (;;) {
                r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        goto out;
                r = sd_bus_message_peek_type(reply, NULL, &contents);
                if (r < 0)
                        goto out;
                r = read_property(reply, name, contents, s);
                if (r < 0)
                        goto out;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto out;
        }
        if (r < 0)
                goto out;
        r = sd_bus_message_exit_container(reply);
out:
        (void)sd_bus_message_unref(reply);
        return r < 0 ? r : 0;
}

/* The user name only when it is one mlsec accepts: an odd one is "not known", the uid stays. */
static void session_fixup(struct logind_session *s)
{
        if (s->user[0] && !util_user_valid(s->user))
                s->user[0] = '\0';
}

static void session_init(struct logind_session *s, const char *id)
{
        memset(s, 0, sizeof(*s));
        s->uid = -1;
        s->leader = -1;
        (void)text_copy(s->id, sizeof(s->id), id, false);
}

/* The session went away between two calls: not an error for a list. */
static bool vanished(const sd_bus_error *error)
{
        return sd_bus_error_has_names(error, LOGIND_NO_SUCH, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD,
                                      SD_BUS_ERROR_UNKNOWN_INTERFACE);
}

int logind_list(struct logind *l, struct logind_session **ret, size_t *ret_n)
{
        sd_bus_message *reply = NULL;
        struct logind_session *v = NULL, *nv;
        size_t n = 0, cap = 0;
        const char *id, *user, *seat, *path;
        uint32_t uid;
        int r;

        if (!l || !ret || !ret_n)
                return -EINVAL;
        r = call_logind(l, LOGIND_PATH, LOGIND_MANAGER, "ListSessions", NULL, &reply, "");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(susso)");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_read(reply, "(susso)", &id, &uid, &user, &seat, &path)) > 0) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                struct logind_session *s;

                if (!id_valid(id))
                        continue; /* an id we could not keep whole is no id at all */
                if (n == cap) {
                        if (cap >= LOGIND_LIST_MAX) {
                                r = -E2BIG;
                                goto fail;
                        }
                        cap = cap ? cap * 2 : 16;
                        nv = reallocarray(v, cap, sizeof(*v));
                        if (!nv) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        v = nv;
                }
                s = &v[n];
                session_init(s, id);
                s->uid = uid;
                (void)text_copy(s->user, sizeof(s->user), user, false);
                r = read_properties(l, path, s, &error);
                if (r < 0) {
                        bool gone = vanished(&error);

                        sd_bus_error_free(&error);
                        if (gone)
                                continue;
                        goto fail;
                }
                session_fixup(s);
                n++;
        }
        if (r < 0)
                goto fail;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                goto fail;
        (void)sd_bus_message_unref(reply);
        *ret = v;
        *ret_n = n;
        return 0;
fail:
        (void)sd_bus_message_unref(reply);
        free(v);
        return r;
}

int logind_get(struct logind *l, const char *id, struct logind_session *ret)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct logind_session s;
        char *path = NULL;
        int r;

        if (!l || !ret || !id_valid(id))
                return -EINVAL;
        r = session_path(l, id, &path);
        if (r < 0)
                return r;
        session_init(&s, id);
        r = read_properties(l, path, &s, &error);
        if (r < 0 && vanished(&error))
                r = -ENOENT;
        sd_bus_error_free(&error);
        free(path);
        if (r < 0)
                return r;
        session_fixup(&s);
        *ret = s;
        return 0;
}

static struct logind_timer *timer_free(struct logind *l, struct logind_timer *t)
{
        struct logind_timer **p;

        for (p = &l->timers; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        (void)sd_event_source_disable_unref(t->source);
        free(t);
        return NULL;
}

/* ESCALATE_MS after TerminateSession: a session still there gets SIGKILL for all its processes. */
static int on_escalate(sd_event_source *source, uint64_t usec, void *userdata)
{
        struct logind_timer *t = userdata;
        struct logind *l = t->l;
        char id[EVENT_SESSION_MAX];
        char *path = NULL;

        memcpy(id, t->id, sizeof(id));
        t = timer_free(l, t);
        if (session_path(l, id, &path) < 0)
                return 0; /* gone (or logind unreachable: nothing to kill through it) */
        free(path);
        (void)call_logind(l, LOGIND_PATH, LOGIND_MANAGER, "KillSession", NULL, NULL, "ssi", id, "all",
                          (int32_t)SIGKILL);
        return 0;
}

int logind_terminate(struct logind *l, const char *id, unsigned escalate_ms)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct logind_timer *t;
        int r;

        if (!l || !id_valid(id))
                return -EINVAL;
        r = call_logind(l, LOGIND_PATH, LOGIND_MANAGER, "TerminateSession", &error, NULL, "s", id);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, LOGIND_NO_SUCH))
                        r = -ENOENT;
                sd_bus_error_free(&error);
                return r;
        }
        for (t = l->timers; t; t = t->next)
                if (strcmp(t->id, id) == 0)
                        return 0; /* already on its way out: the first deadline stands */
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->l = l;
        memcpy(t->id, id, strlen(id) + 1);
        r = sd_event_add_time_relative(l->loop, &t->source, CLOCK_MONOTONIC, (uint64_t)escalate_ms * 1000, 1000,
                                       on_escalate, t);
        if (r < 0) {
                free(t);
                return r;
        }
        t->next = l->timers;
        l->timers = t;
        return 0;
}

/* Who owns logind's name now; "" when nobody does. */
static int refresh_owner(struct logind *l)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *owner;
        int r;

        r = sd_bus_call_method(l->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetNameOwner", &error, &reply, "s", LOGIND_SERVICE);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                        l->owner[0] = '\0';
                        r = 0;
                }
                goto out;
        }
        r = sd_bus_message_read(reply, "s", &owner);
        if (r >= 0)
                r = text_copy(l->owner, sizeof(l->owner), owner, false);
out:
        (void)sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return r;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct logind *l = userdata;
        const char *name, *old_owner, *new_owner;

        /* the bus driver's sender name cannot be forged: it is written by dbus-daemon */
        if (strcmp(sd_bus_message_get_sender(m) ?: "", "org.freedesktop.DBus") != 0)
                return 0;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || strcmp(name, LOGIND_SERVICE) != 0)
                return 0;
        if (text_copy(l->owner, sizeof(l->owner), new_owner, false) < 0)
                l->owner[0] = '\0';
        return 0;
}

static void session_signal(struct logind *l, sd_bus_message *m, bool new_session)
{
        const char *sender = sd_bus_message_get_sender(m);
        const char *id, *path;

        if (!l->fn || !sender || !l->owner[0] || strcmp(sender, l->owner) != 0)
                return;
        if (sd_bus_message_read(m, "so", &id, &path) < 0 || !id_valid(id))
                return;
        l->fn(new_session, id, l->userdata);
}

static int on_session_new(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        session_signal(userdata, m, true);
        return 0;
}

static int on_session_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        session_signal(userdata, m, false);
        return 0;
}

static uint64_t now_usec(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* sd_bus_call() bounds a call, not the authentication before it (sd-bus waits 90 s for a
 * peer that accepted the connection and says nothing): drive the handshake to a deadline. */
static int wait_ready(sd_bus *bus, uint64_t usec)
{
        uint64_t deadline = now_usec() + usec, now;
        int r;

        for (;;) {
                r = sd_bus_is_ready(bus);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0)
                        return r;
        }
}

int logind_open(sd_event *loop, logind_change_fn fn, void *userdata, struct logind **ret)
{
        sd_bus_message *reply = NULL;
        struct logind *l;
        int r;

        if (!loop || !ret)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->loop = sd_event_ref(loop);
        l->fn = fn;
        l->userdata = userdata;

        r = sd_bus_open_system(&l->bus);
        if (r < 0)
                goto fail;
        /* the default for calls without their own timeout (AddMatch, GetNameOwner) */
        r = sd_bus_set_method_call_timeout(l->bus, LOGIND_CALL_USEC);
        if (r < 0)
                goto fail;
        r = wait_ready(l->bus, LOGIND_CALL_USEC);
        if (r < 0)
                goto fail;
        /* Is logind there at all? Without it mlsecd runs without live sessions. */
        r = call_logind(l, LOGIND_PATH, LOGIND_MANAGER, "ListSessions", NULL, &reply, "");
        reply = sd_bus_message_unref(reply);
        if (r < 0)
                goto fail;
        r = sd_bus_add_match(l->bus, &l->owner_slot, LOGIND_OWNER_MATCH, on_owner_changed, l);
        if (r < 0)
                goto fail;
        r = refresh_owner(l);
        if (r < 0)
                goto fail;
        r = sd_bus_match_signal(l->bus, &l->new_slot, LOGIND_SERVICE, LOGIND_PATH, LOGIND_MANAGER, "SessionNew",
                                on_session_new, l);
        if (r < 0)
                goto fail;
        r = sd_bus_match_signal(l->bus, &l->removed_slot, LOGIND_SERVICE, LOGIND_PATH, LOGIND_MANAGER, "SessionRemoved",
                                on_session_removed, l);
        if (r < 0)
                goto fail;
        r = sd_bus_attach_event(l->bus, loop, 0);
        if (r < 0)
                goto fail;
        *ret = l;
        return 0;
fail:
        (void)logind_close(l);
        return r;
}

struct logind *logind_close(struct logind *l)
{
        if (!l)
                return NULL;
        while (l->timers)
                (void)timer_free(l, l->timers);
        l->new_slot = sd_bus_slot_unref(l->new_slot);
        l->removed_slot = sd_bus_slot_unref(l->removed_slot);
        l->owner_slot = sd_bus_slot_unref(l->owner_slot);
        if (l->bus) {
                (void)sd_bus_detach_event(l->bus);
                /* no flush: a peer that stopped reading must not hold mlsecd up */
                l->bus = sd_bus_close_unref(l->bus);
        }
        l->loop = sd_event_unref(l->loop);
        free(l);
        return NULL;
}
