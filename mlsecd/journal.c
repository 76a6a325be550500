/* SPDX-License-Identifier: MIT */
/* mlsecd's journal entries: one structured entry per event (MESSAGE_ID by kind and result,
 * MLSEC_* fields) and the daemon's own status lines, sent with sd-journal; the only file that
 * includes it. Every untrusted string is bounded and cleaned here (a cut never splits a UTF-8
 * sequence, a control character becomes '?'), so no field ever holds a newline. It never
 * logs a secret: an event carries none, and a journal failure is ignored, never reported. */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "journal.h"

#define LINE_MAX_BYTES 1024 /* one MESSAGE */
#define ENTRY_FIELDS   24
#define ENTRY_ARENA    4096
#define DAEMON_SHOWN   (LINE_MAX_BYTES - 64) /* bytes of a formatted status line kept */

/* Bytes of each untrusted string shown in MESSAGE; the MLSEC_* fields carry it whole. */
#define SHOWN_USER    63
#define SHOWN_SERVICE 63
#define SHOWN_HOST    128
#define SHOWN_IP      47
#define SHOWN_TTY     63
#define SHOWN_SESSION 63
#define SHOWN_WORD    31
#define SHOWN_DETAIL  256

#define ELLIPSIS "..."

/* A cleaned copy: room for MAX shown bytes, the ellipsis and the NUL. */
#define CLEAN_SIZE(max) ((max) + sizeof(ELLIPSIS))

struct line {
        char buf[LINE_MAX_BYTES];
        size_t len;
};

struct entry {
        struct iovec iov[ENTRY_FIELDS];
        size_t n;
        char arena[ENTRY_ARENA];
        size_t used;
};

/* Length of the well-formed UTF-8 sequence at S (at most N bytes), 0 when there is none;
 * *ret_cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                cp = s[0] & 0x07;
        } else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        *ret_cp = cp;
        return len;
}

/* Copy IN (at most INSIZE bytes, NUL-terminated or not) into OUT (OUTSIZE >= 4) as text fit
 * for one journal field and one terminal line: at most OUTSIZE - 4 bytes of it, never cut
 * inside a UTF-8 sequence, each control character (C0, DEL, C1) or invalid byte replaced by
 * '?', and "..." appended when it was cut. Returns OUT. */
static const char *clean(char *out, size_t outsize, const char *in, size_t insize)
{
        const unsigned char *s = (const unsigned char *)in;
        size_t n = strnlen(in, insize), max = outsize - sizeof(ELLIPSIS), i = 0, o = 0;
        bool cut = false;

        while (i < n) {
                uint32_t cp = 0;
                size_t len = utf8_seq(s + i, n - i, &cp);
                bool bad = len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
                size_t width = bad ? 1 : len;

                if (o + width > max) {
                        cut = true;
                        break;
                }
                if (bad)
                        out[o++] = '?';
                else {
                        memcpy(out + o, s + i, len);
                        o += len;
                }
                i += len == 0 ? 1 : len;
        }
        if (cut) {
                memcpy(out + o, ELLIPSIS, sizeof(ELLIPSIS) - 1);
                o += sizeof(ELLIPSIS) - 1;
        }
        out[o] = '\0';
        return out;
}

static void line_add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_add(struct line *l, const char *fmt, ...)
{
        va_list ap;
        int r;

        if (l->len >= sizeof(l->buf) - 1)
                return;
        va_start(ap, fmt);
        r = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
        va_end(ap);
        if (r < 0)
                l->buf[l->len] = '\0';
        else if ((size_t)r >= sizeof(l->buf) - l->len)
                l->len = sizeof(l->buf) - 1;
        else
                l->len += (size_t)r;
}

/* Append "NAME=VALUE" (VALUE already clean). A field that does not fit is left out: the
 * arena is sized so that this cannot happen with the bounds above. */
static void entry_add(struct entry *en, const char *name, const char *value)
{
        size_t room = sizeof(en->arena) - en->used;
        int r;

        if (en->n >= ENTRY_FIELDS)
                return;
        r = snprintf(en->arena + en->used, room, "%s=%s", name, value);
        if (r < 0 || (size_t)r >= room)
                return;
        en->iov[en->n].iov_base = en->arena + en->used;
        en->iov[en->n].iov_len = (size_t)r;
        en->n++;
        en->used += (size_t)r + 1;
}

static void entry_add_int(struct entry *en, const char *name, int64_t v)
{
        char buf[24];

        (void)snprintf(buf, sizeof(buf), "%" PRId64, v);
        entry_add(en, name, buf);
}

/* A field of the event, whole but cleaned, only when known (non-empty). */
#define ENTRY_ADD_TEXT(en, name, field)                                                                                \
        do {                                                                                                           \
                char _c[CLEAN_SIZE(sizeof(field))];                                                                    \
                if ((field)[0] != '\0')                                                                                \
                        entry_add((en), (name), clean(_c, sizeof(_c), (field), sizeof(field)));                        \
        } while (0)

/* A field of the event cut to SHOWN bytes for MESSAGE. */
#define SHOW(buf, field) clean((buf), sizeof(buf), (field), sizeof(field))

static bool mirror_to_stderr(void)
{
        const char *v = getenv("MLSECD_LOG_STDERR");

        if (v && strcmp(v, "1") == 0)
                return true;
        return isatty(STDERR_FILENO) == 1;
}

/* The same MESSAGE as one line on stderr, in one write so lines from two threads or
 * processes do not interleave. */
static void write_stderr(const char *msg)
{
        char buf[LINE_MAX_BYTES + 1];
        size_t n = strnlen(msg, LINE_MAX_BYTES - 1), off = 0;

        memcpy(buf, msg, n);
        buf[n++] = '\n';
        while (off < n) {
                ssize_t k = write(STDERR_FILENO, buf + off, n - off);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;
                off += (size_t)k;
        }
}

/* Send: a missing journald (no socket) makes sd_journal_sendv fail, which is not our
 * business to report; nothing else could be done with it. */
static void entry_send(struct entry *en, const char *message_id, int priority, const char *message)
{
        entry_add(en, "MESSAGE", message);
        entry_add(en, "MESSAGE_ID", message_id);
        entry_add_int(en, "PRIORITY", priority);
        entry_add(en, "SYSLOG_IDENTIFIER", "mlsecd");
        (void)sd_journal_sendv(en->iov, (int)en->n);
        if (mirror_to_stderr())
                write_stderr(message);
}

/* " via SERVICE from HOST [IP]", " via SERVICE on TTY" (the tty only for a local login),
 * or as a list "SERVICE, from HOST" when LIST. */
static void line_add_where(struct line *l, const struct mlsec_event *e, bool list)
{
        char service[CLEAN_SIZE(SHOWN_SERVICE)], host[CLEAN_SIZE(SHOWN_HOST)], ip[CLEAN_SIZE(SHOWN_IP)],
                tty[CLEAN_SIZE(SHOWN_TTY)];
        const char *sep = list ? "" : " ";

        if (e->service[0] != '\0') {
                line_add(l, "%s%s", list ? "" : " via ", SHOW(service, e->service));
                sep = list ? ", " : " ";
        }
        if (e->rhost[0] != '\0') {
                line_add(l, "%sfrom %s", sep, SHOW(host, e->rhost));
                if (e->ip[0] != '\0' && strncmp(e->ip, e->rhost, sizeof(e->ip)) != 0)
                        line_add(l, " [%s]", SHOW(ip, e->ip));
        } else if (e->ip[0] != '\0')
                line_add(l, "%sfrom %s", sep, SHOW(ip, e->ip));
        else if (e->tty[0] != '\0')
                line_add(l, "%son %s", sep, SHOW(tty, e->tty));
}

static bool word_is(const char *field, const char *word)
{
        return strncmp(field, word, EVENT_WORD_MAX) == 0;
}

/* "alice: login failed (wrong code) via sshd from 203.0.113.7" */
static void auth_message(const struct mlsec_event *e, struct line *l, const char **ret_mid, int *ret_priority)
{
        char user[CLEAN_SIZE(SHOWN_USER)], word[CLEAN_SIZE(SHOWN_WORD)], result[CLEAN_SIZE(SHOWN_WORD)];

        line_add(l, "%s: ", e->user[0] != '\0' ? SHOW(user, e->user) : "(unknown)");
        if (word_is(e->result, "ok")) {
                /* the MFA step passed */
                line_add(l, "login succeeded");
                if (e->method[0] != '\0' && !word_is(e->method, "none"))
                        line_add(l, " (%s)", SHOW(word, e->method));
                *ret_mid = JOURNAL_MID_AUTH_OK;
                *ret_priority = LOG_INFO;
        } else if (word_is(e->result, "skipped")) {
                /* not refused: mlsec let the rest of the PAM stack decide (unenrolled, allow) */
                line_add(l, "second factor skipped");
                if (e->reason[0] != '\0')
                        line_add(l, " (%s)", SHOW(word, e->reason));
                *ret_mid = JOURNAL_MID_AUTH_OK;
                *ret_priority = LOG_INFO;
        } else {
                /* "fail", and anything unknown is counted as a failure too */
                if (word_is(e->result, "fail"))
                        line_add(l, "login failed");
                else
                        line_add(l, "login %s", SHOW(result, e->result));
                if (e->reason[0] != '\0')
                        line_add(l, " (%s)", SHOW(word, e->reason));
                *ret_mid = JOURNAL_MID_AUTH_FAIL;
                *ret_priority = word_is(e->reason, "locked") ? LOG_WARNING : LOG_NOTICE;
        }
        line_add_where(l, e, false);
}

/* "alice: session 42 opened (sshd, from 203.0.113.7)" */
static void session_message(const struct mlsec_event *e, struct line *l)
{
        char user[CLEAN_SIZE(SHOWN_USER)], session[CLEAN_SIZE(SHOWN_SESSION)], word[CLEAN_SIZE(SHOWN_WORD)];
        bool open = e->kind == EVENT_SESSION_OPEN;
        /* how it ended, when it is not the ordinary PAM close */
        bool reason = !open && e->reason[0] != '\0' && !word_is(e->reason, "closed");
        size_t before;

        line_add(l, "%s: session", e->user[0] != '\0' ? SHOW(user, e->user) : "(unknown)");
        if (e->session[0] != '\0')
                line_add(l, " %s", SHOW(session, e->session));
        line_add(l, " %s", open ? "opened" : "closed");
        if (e->service[0] == '\0' && e->rhost[0] == '\0' && e->ip[0] == '\0' && e->tty[0] == '\0' && !reason)
                return;
        line_add(l, " (");
        before = l->len;
        line_add_where(l, e, true);
        if (reason)
                line_add(l, "%s%s", l->len > before ? ", " : "", SHOW(word, e->reason));
        line_add(l, ")");
}

/* Who made an audited change, for people: the account name when NSS knows the uid. */
static const char *actor_name(int64_t uid, char *out, size_t outlen)
{
        char buf[4096];
        struct passwd pw, *res = NULL;

        if (uid < 0) {
                (void)snprintf(out, outlen, "system");
                return out;
        }
        if ((uint64_t)uid <= UINT32_MAX && getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res) {
                char name[CLEAN_SIZE(SHOWN_USER)];

                (void)snprintf(out, outlen, "%s", clean(name, sizeof(name), res->pw_name, SHOWN_USER + 1));
        } else
                (void)snprintf(out, outlen, "uid %" PRId64, uid);
        return out;
}

/* Audit actions worded for people; any other action is shown as it is. */
static const struct {
        const char *action;
        const char *phrase; /* followed by the user */
} audit_phrases[] = {
        {"device-added", "added a device for"},
        {"device-removed", "removed a device of"},
        {"mfa-disabled", "disabled MFA of"},
        {"mfa-reset", "reset MFA of"},
        {"backup-codes-regenerated", "renewed the backup codes of"},
        {"backup-code-used", "used a backup code of"},
        {"unlock", "lifted lockouts of"},
        {"lockout", "locked out"},
        {"session-terminated", "logged out a session of"},
        {"ack-alert", "acknowledged an alert of"},
};

#define ALERT_PREFIX "alert-"

static bool is_alert(const struct mlsec_event *e)
{
        return strncmp(e->action, ALERT_PREFIX, sizeof(ALERT_PREFIX) - 1) == 0;
}

static const struct {
        const char *action;
        const char *mid;
} alert_mids[] = {
        {"alert-new-country", JOURNAL_MID_ALERT_NEW_COUNTRY},
        {"alert-impossible-travel", JOURNAL_MID_ALERT_TRAVEL},
        {"alert-failure-burst", JOURNAL_MID_ALERT_FAILURE_BURST},
        {"alert-success-after-lockout", JOURNAL_MID_ALERT_AFTER_LOCKOUT},
        {"alert-backup-code-used", JOURNAL_MID_ALERT_BACKUP_CODE},
        {"alert-user-report", JOURNAL_MID_ALERT_USER_REPORT},
};

static const char *alert_mid(const struct mlsec_event *e)
{
        for (size_t i = 0; i < sizeof(alert_mids) / sizeof(alert_mids[0]); i++)
                if (word_is(e->action, alert_mids[i].action))
                        return alert_mids[i].mid;
        return JOURNAL_MID_ALERT;
}

/* "alert: new-country for alice: successful login via sshd from ..." */
static void alert_message(const struct mlsec_event *e, struct line *l)
{
        char user[CLEAN_SIZE(SHOWN_USER)], action[CLEAN_SIZE(SHOWN_WORD)], detail[CLEAN_SIZE(SHOWN_DETAIL)];

        line_add(l, "alert: %s for %s", SHOW(action, e->action) + sizeof(ALERT_PREFIX) - 1,
                 e->user[0] != '\0' ? SHOW(user, e->user) : "(unknown)");
        if (e->detail[0] != '\0')
                line_add(l, ": %s", SHOW(detail, e->detail));
}

/* "audit: root reset MFA of alice: lost phone" */
static void audit_message(const struct mlsec_event *e, struct line *l)
{
        char actor[CLEAN_SIZE(SHOWN_USER) + 16], user[CLEAN_SIZE(SHOWN_USER)], action[CLEAN_SIZE(SHOWN_WORD)],
                detail[CLEAN_SIZE(SHOWN_DETAIL)];
        const char *phrase = NULL;

        for (size_t i = 0; i < sizeof(audit_phrases) / sizeof(audit_phrases[0]); i++)
                if (word_is(e->action, audit_phrases[i].action))
                        phrase = audit_phrases[i].phrase;

        line_add(l, "audit: %s ", actor_name(e->actor_uid, actor, sizeof(actor)));
        if (e->user[0] == '\0')
                line_add(l, "%s", SHOW(action, e->action));
        else if (phrase)
                line_add(l, "%s %s", phrase, SHOW(user, e->user));
        else
                line_add(l, "%s for %s", SHOW(action, e->action), SHOW(user, e->user));
        if (e->detail[0] != '\0')
                line_add(l, ": %s", SHOW(detail, e->detail));
}

static const char *kind_name(enum event_kind k)
{
        const char *s = event_kind_to_string(k);

        return s ? s : "unknown";
}

void journal_event(const struct mlsec_event *e)
{
        int saved_errno = errno;
        struct entry en = {.n = 0};
        struct line l = {.len = 0};
        const char *mid = JOURNAL_MID_AUDIT;
        int priority = LOG_INFO;
        char id[CLEAN_SIZE(sizeof(e->id))];

        l.buf[0] = '\0';
        switch (e->kind) {
        case EVENT_AUTH:
                auth_message(e, &l, &mid, &priority);
                break;
        case EVENT_SESSION_OPEN:
        case EVENT_SESSION_CLOSE:
                session_message(e, &l);
                mid = e->kind == EVENT_SESSION_OPEN ? JOURNAL_MID_SESSION_OPEN : JOURNAL_MID_SESSION_CLOSE;
                break;
        case EVENT_AUDIT:
        default:
                if (e->kind == EVENT_AUDIT && is_alert(e)) {
                        alert_message(e, &l);
                        mid = alert_mid(e);
                        priority = LOG_WARNING;
                } else
                        audit_message(e, &l);
                break;
        }

        if (e->id[0] != '\0')
                entry_add(&en, "MLSEC_EVENT_ID", clean(id, sizeof(id), e->id, sizeof(e->id)));
        entry_add(&en, "MLSEC_KIND", kind_name(e->kind));
        ENTRY_ADD_TEXT(&en, "MLSEC_USER", e->user);
        if (e->uid >= 0)
                entry_add_int(&en, "MLSEC_UID", e->uid);
        ENTRY_ADD_TEXT(&en, "MLSEC_SERVICE", e->service);
        ENTRY_ADD_TEXT(&en, "MLSEC_RHOST", e->rhost);
        ENTRY_ADD_TEXT(&en, "MLSEC_IP", e->ip);
        ENTRY_ADD_TEXT(&en, "MLSEC_TTY", e->tty);
        ENTRY_ADD_TEXT(&en, "MLSEC_METHOD", e->method);
        ENTRY_ADD_TEXT(&en, "MLSEC_RESULT", e->result);
        ENTRY_ADD_TEXT(&en, "MLSEC_REASON", e->reason);
        ENTRY_ADD_TEXT(&en, "MLSEC_SESSION", e->session);
        ENTRY_ADD_TEXT(&en, "MLSEC_ACTION", e->action);
        if (e->kind == EVENT_AUDIT && e->actor_uid >= 0)
                entry_add_int(&en, "MLSEC_ACTOR_UID", e->actor_uid);
        entry_send(&en, mid, priority, l.buf);
        errno = saved_errno;
}

/* A path or file name from the spool directory: bounded and cleaned like any untrusted text. */
#define SHOWN_PATH 200

void journal_spool_lost(const char *dir, uint64_t new_audit, uint64_t new_other, uint64_t total_audit,
                        uint64_t total_other)
{
        int saved_errno = errno;
        struct entry en = {.n = 0};
        char d[CLEAN_SIZE(SHOWN_PATH)];
        struct line l = {.len = 0};

        (void)clean(d, sizeof(d), dir, strlen(dir) + 1);
        line_add(&l,
                 "spool %s: %" PRIu64 " audit event(s) and %" PRIu64 " other event(s) could not be kept while mlsecd "
                 "was down or slow (full or failing spool filesystem); %" PRIu64 " audit and %" PRIu64
                 " other lost in all",
                 d, new_audit, new_other, total_audit, total_other);
        entry_add(&en, "MLSEC_SPOOL_DIR", d);
        entry_add_int(&en, "MLSEC_LOST_AUDIT", (int64_t)new_audit);
        entry_add_int(&en, "MLSEC_LOST_OTHER", (int64_t)new_other);
        entry_add_int(&en, "MLSEC_LOST_AUDIT_TOTAL", (int64_t)total_audit);
        entry_add_int(&en, "MLSEC_LOST_OTHER_TOTAL", (int64_t)total_other);
        entry_send(&en, JOURNAL_MID_SPOOL_LOST, new_audit ? LOG_ERR : LOG_WARNING, l.buf);
        errno = saved_errno;
}

void journal_spool_bad(const char *dir, const char *name, const char *why)
{
        int saved_errno = errno;
        struct entry en = {.n = 0};
        char d[CLEAN_SIZE(SHOWN_PATH)], f[CLEAN_SIZE(SHOWN_PATH)], w[CLEAN_SIZE(SHOWN_WORD * 2)];
        struct line l = {.len = 0};

        (void)clean(d, sizeof(d), dir, strlen(dir) + 1);
        (void)clean(f, sizeof(f), name, strlen(name) + 1);
        (void)clean(w, sizeof(w), why, strlen(why) + 1);
        line_add(&l, "spool file %s/%s %s: moved to %s/bad/, not ingested", d, f, w, d);
        entry_add(&en, "MLSEC_SPOOL_DIR", d);
        entry_add(&en, "MLSEC_SPOOL_FILE", f);
        entry_add(&en, "MLSEC_SPOOL_REASON", w);
        entry_send(&en, JOURNAL_MID_SPOOL_BAD, LOG_WARNING, l.buf);
        errno = saved_errno;
}

void journal_spool_reserve(const char *dir, unsigned ready, unsigned slots, const char *reason)
{
        int saved_errno = errno;
        struct entry en = {.n = 0};
        char d[CLEAN_SIZE(SHOWN_PATH)], w[CLEAN_SIZE(SHOWN_WORD * 2)];
        struct line l = {.len = 0};

        (void)clean(d, sizeof(d), dir, strlen(dir) + 1);
        if (ready < slots) {
                (void)clean(w, sizeof(w), reason ? reason : "unknown", strlen(reason ? reason : "unknown") + 1);
                line_add(&l,
                         "spool %s: the audit reserve holds %u of %u files (%s); audit events beyond them are lost "
                         "if the spool fills up while mlsecd is down",
                         d, ready, slots, w);
        } else {
                line_add(&l, "spool %s: the audit reserve is whole again (%u files)", d, slots);
        }
        entry_add(&en, "MLSEC_SPOOL_DIR", d);
        entry_add_int(&en, "MLSEC_RESERVE_READY", ready);
        entry_add_int(&en, "MLSEC_RESERVE_SLOTS", slots);
        entry_send(&en, JOURNAL_MID_SPOOL_RESERVE, ready < slots ? LOG_WARNING : LOG_INFO, l.buf);
        errno = saved_errno;
}

void journal_daemon(int priority, const char *fmt, ...)
{
        int saved_errno = errno;
        struct entry en = {.n = 0};
        /* larger than what is kept, so a cut by vsnprintf always shows as a cut below */
        char text[DAEMON_SHOWN + 64], message[CLEAN_SIZE(DAEMON_SHOWN)];
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (r < 0)
                (void)snprintf(text, sizeof(text), "(unprintable status message)");
        entry_send(&en, JOURNAL_MID_DAEMON, LOG_PRI(priority), clean(message, sizeof(message), text, sizeof(text)));
        errno = saved_errno;
}
