/* SPDX-License-Identifier: MIT */
/* The login notice (notice.h): one question to mlsecd under a deadline, and its answer
 * turned into the sentences of pam_mlsec(8). Every string of the answer is bounded and made
 * safe for a terminal before it is shown; an answer that does not make sense shows nothing
 * rather than half a notice. No state outside the PAM handle, no logging. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_ext.h>

#include "client.h"
#include "event.h"
#include "notice.h"
#include "proto.h"
#include "util.h"

/* The sentences, as pam_mlsec(8) quotes them (test_man.sh checks). */
#define MSG_LAST_LOGIN  "Last login: %s%s"
#define MSG_LAST_FAILED "Last failed attempt: %s%s"
#define MSG_FROM        " from %s"
#define MSG_ON          " on %s"
#define MSG_VIA         " via %s"
#define MSG_FIRST       "This is the first login recorded for this account."
#define MSG_FAILED_ONE  "There was 1 failed login attempt %s."
#define MSG_FAILED_MANY "There were %lld failed login attempts %s."
#define MSG_FAILED_MOST "There were at least %lld failed login attempts %s."
#define MSG_SINCE_LAST  "since the last successful login"
#define MSG_BEFORE      "before this login"
#define MSG_NEW_COUNTRY "Warning: this login is from a country not seen on this account in the last %lld days (%s)."
#define MSG_NEW_NETWORK "Warning: this login is from a network not seen on this account in the last %lld days (%s)."
#define MSG_BACKUP_NONE "Warning: no backup codes left; run \"mlsecctl backup-codes regenerate\" for new ones."
#define MSG_BACKUP_LOW  "Warning: only %lld backup code%s left; run \"mlsecctl backup-codes regenerate\" for new ones."
#define MSG_NO_MFA      "Warning: two-factor authentication is not enabled; run \"mlsecctl mfa enable\"."

#define DATA_LOGIN "pam_mlsec:login"
#define HOST_SHOWN 100 /* bytes of a remote host or address as shown, escaped */
#define TEXT_SHOWN 130 /* bytes of a place, service or country name as shown */

static void cleanup_login(pam_handle_t *pamh, void *data, int error_status)
{
        free(data);
}

void notice_remember_login(pam_handle_t *pamh, const char *id)
{
        char *copy;

        if (!id || strlen(id) != EVENT_ID_LEN)
                return;
        copy = strdup(id);
        if (copy && pam_set_data(pamh, DATA_LOGIN, copy, cleanup_login) != PAM_SUCCESS)
                free(copy);
}

/* Text for a terminal: valid UTF-8 without control characters as it is (a place may be
 * "Linköping"), anything else escaped; both bounded. */
static const char *shown(const char *s, char *buf, size_t len)
{
        if (!s)
                s = "";
        if (event_set_text(buf, len, s) == 0)
                return buf;
        return util_escape(s, buf, len);
}

/* "Tue Dec  1 10:02:03 2026", in the local time of the application. */
static int when(const struct proto_obj *l, char *buf, size_t len)
{
        int64_t us;
        time_t t;
        struct tm tm;

        if (proto_obj_get_int(l, "time_us", &us) < 0 || us <= 0)
                return -EBADMSG;
        t = (time_t)(us / 1000000);
        if (!localtime_r(&t, &tm) || strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm) == 0)
                return -EBADMSG;
        return 0;
}

/* " from 203.0.113.7 (Sydney, Australia) via sshd", " on tty1 via login", " via su". */
static int where(const struct proto_obj *l, char *buf, size_t len)
{
        const char *from = proto_obj_get_str(l, "from"), *tty = proto_obj_get_str(l, "tty"),
                   *service = proto_obj_get_str(l, "service"), *kind = NULL, *desc = NULL;
        struct proto_obj *place = proto_obj_get(l, "place");
        char h[HOST_SHOWN], p[TEXT_SHOWN], s[TEXT_SHOWN];
        size_t n = 0;

        if (!service)
                return -EBADMSG;
        if (place) {
                kind = proto_obj_get_str(place, "kind");
                desc = proto_obj_get_str(place, "description");
        }
        buf[0] = '\0';
        if (from && from[0]) {
                n = (size_t)snprintf(buf, len, MSG_FROM, util_escape(from, h, sizeof(h)));
                /* a place nobody knows adds nothing */
                if (desc && desc[0] && kind && strcmp(kind, "unknown") != 0 && strcmp(kind, "not-an-address") != 0 &&
                    n < len)
                        n += (size_t)snprintf(buf + n, len - n, " (%s)", shown(desc, p, sizeof(p)));
        } else if (tty && tty[0]) {
                n = (size_t)snprintf(buf, len, MSG_ON, util_escape(tty, h, sizeof(h)));
        }
        if (service[0] && n < len)
                (void)snprintf(buf + n, len - n, MSG_VIA, shown(service, s, sizeof(s)));
        proto_obj_free(place);
        return 0;
}

struct lines {
        char text[NOTICE_LINES_MAX][NOTICE_LINE_MAX];
        size_t n;
};

static void add(struct lines *ls, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct lines *ls, const char *fmt, ...)
{
        va_list ap;

        if (ls->n == NOTICE_LINES_MAX)
                return;
        va_start(ap, fmt);
        (void)vsnprintf(ls->text[ls->n++], NOTICE_LINE_MAX, fmt, ap);
        va_end(ap);
}

/* "Last login: ..." or, for a FAILURE, "Last failed attempt: ...": the time and where from. */
static int add_login(struct lines *ls, bool failure, const struct proto_obj *l)
{
        char t[64], w[NOTICE_LINE_MAX - 96];
        int r;

        if ((r = when(l, t, sizeof(t))) < 0 || (r = where(l, w, sizeof(w))) < 0)
                return r;
        if (failure)
                add(ls, MSG_LAST_FAILED, t, w);
        else
                add(ls, MSG_LAST_LOGIN, t, w);
        return 0;
}

/* Is KEY of O an object (true), null or missing (false), or anything else (-EBADMSG)? */
static int present(const struct proto_obj *o, const char *key, struct proto_obj **ret)
{
        *ret = proto_obj_get(o, key);
        if (*ret)
                return 1;
        return proto_obj_get_int(o, key, &(int64_t){0}) == -ENOENT && !proto_obj_get_str(o, key) ? 0 : -EBADMSG;
}

static int add_warning(struct lines *ls, const struct proto_obj *w, int64_t days)
{
        const char *kind = proto_obj_get_str(w, "kind"), *v;
        char b[TEXT_SHOWN];
        int64_t left;

        if (!kind)
                return -EBADMSG;
        if (strcmp(kind, "new-country") == 0) {
                v = proto_obj_get_str(w, "country_name");
                if (!v)
                        v = proto_obj_get_str(w, "country");
                if (!v)
                        return -EBADMSG;
                add(ls, MSG_NEW_COUNTRY, (long long)days, shown(v, b, sizeof(b)));
        } else if (strcmp(kind, "new-network") == 0) {
                v = proto_obj_get_str(w, "network");
                if (!v)
                        return -EBADMSG;
                add(ls, MSG_NEW_NETWORK, (long long)days, util_escape(v, b, sizeof(b)));
        } else if (strcmp(kind, "backup-codes-low") == 0) {
                if (proto_obj_get_int(w, "left", &left) < 0 || left < 0)
                        return -EBADMSG;
                if (left == 0)
                        add(ls, MSG_BACKUP_NONE);
                else
                        add(ls, MSG_BACKUP_LOW, (long long)left, left == 1 ? "" : "s");
        } else if (strcmp(kind, "mfa-not-enabled") == 0) {
                add(ls, MSG_NO_MFA);
        }
        /* a kind this module does not know yet is left out */
        return 0;
}

/* The sentences of the notice in RES, in order; -EBADMSG for anything that does not fit. */
static int lines_of(const struct proto_obj *res, const char *user, struct lines *ls)
{
        struct proto_obj *cur = NULL, *prev = NULL, *last = NULL, *warns = NULL;
        const char *who = proto_obj_get_str(res, "user");
        int64_t failed, days;
        bool at_least;
        int r, have_cur, have_prev, have_last;

        if (!who || strcmp(who, user) != 0 || proto_obj_get_int(res, "failed", &failed) < 0 || failed < 0 ||
            proto_obj_get_int(res, "history_days", &days) < 0)
                return -EBADMSG;
        have_cur = present(res, "current", &cur);
        have_prev = present(res, "previous", &prev);
        have_last = present(res, "last_failure", &last);
        warns = proto_obj_get(res, "warnings");
        r = have_cur < 0 || have_prev < 0 || have_last < 0 || !warns || (failed > 0) != (have_last > 0) ? -EBADMSG : 0;
        if (r >= 0 && have_prev)
                r = add_login(ls, false, prev);
        else if (r >= 0 && have_cur)
                add(ls, MSG_FIRST);
        /* with neither, this login was not recorded as one (e.g. no pam_mlsec in the auth
         * stack): nothing is known about logins, so nothing is said */
        if (r >= 0 && failed > 0) {
                if (proto_obj_get_bool(res, "failed_at_least", &at_least) < 0)
                        at_least = false;
                if (failed == 1)
                        add(ls, MSG_FAILED_ONE, have_prev ? MSG_SINCE_LAST : MSG_BEFORE);
                else
                        add(ls, at_least ? MSG_FAILED_MOST : MSG_FAILED_MANY, (long long)failed,
                            have_prev ? MSG_SINCE_LAST : MSG_BEFORE);
                r = add_login(ls, true, last);
        }
        for (size_t i = 0; r >= 0 && i < proto_array_len(warns); i++) {
                struct proto_obj *w = proto_array_get(warns, i);

                r = w ? add_warning(ls, w, days) : -EBADMSG;
                proto_obj_free(w);
        }
        proto_obj_free(cur);
        proto_obj_free(prev);
        proto_obj_free(last);
        proto_obj_free(warns);
        return r;
}

int notice_show(pam_handle_t *pamh, const struct mlsec_conf *conf, const char *user, const char *service,
                const char *rhost, const char *ip, char *err, size_t errlen)
{
        struct proto_request req = {.method = PROTO_NOTICE};
        struct proto_obj *res = NULL;
        const void *login = NULL;
        struct lines *ls;
        char code[64] = "", msg[256] = "";
        int r;

        if (err && errlen)
                err[0] = '\0';
        if (!util_user_valid(user))
                return -EINVAL;
        (void)event_set_text(req.user, sizeof(req.user), user);
        if (service)
                (void)event_set_text(req.service, sizeof(req.service), service);
        if (rhost)
                (void)event_set_text(req.rhost, sizeof(req.rhost), rhost);
        if (ip)
                (void)event_set_text(req.ip, sizeof(req.ip), ip);
        if (pam_get_data(pamh, DATA_LOGIN, &login) == PAM_SUCCESS && login)
                (void)event_set_text(req.login, sizeof(req.login), login);
        r = client_call(conf->socket, &req, NOTICE_TIMEOUT_MS, &res, code, sizeof(code), msg, sizeof(msg));
        if (r == -EREMOTEIO && err && errlen)
                (void)snprintf(err, errlen, "%s: %s", code, msg);
        if (r < 0)
                return r;
        ls = calloc(1, sizeof(*ls));
        if (!ls) {
                proto_obj_free(res);
                return -ENOMEM;
        }
        r = res ? lines_of(res, user, ls) : -EBADMSG;
        proto_obj_free(res);
        for (size_t i = 0; r >= 0 && i < ls->n; i++)
                (void)pam_info(pamh, "%s", ls->text[i]);
        free(ls);
        return r;
}
