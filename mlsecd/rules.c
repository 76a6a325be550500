/* SPDX-License-Identifier: MIT */
/* The suspicious-activity rules (new country, impossible travel, a burst of failures, a
 * success right after a lockout, a backup code used): what each one asks activity.db, the
 * arithmetic it applies, and the alert it stores, worded from the facts. Every time is the
 * event's own, so the spool is judged as the events happened. It never logs; the alerts'
 * details hold no secret (an event carries none) and only escaped remote text. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#include "rules.h"

#define US_PER_S   1000000LL
#define HOST_SHOWN 80 /* bytes of an escaped remote host in a detail */

double rules_speed_kmh(double km, int64_t elapsed_us)
{
        int64_t s = (elapsed_us < 0 ? -elapsed_us : elapsed_us) / US_PER_S;

        return km * 3600.0 / (double)(s < 1 ? 1 : s);
}

bool rules_travel_impossible(double km, int64_t elapsed_us, unsigned max_kmh, double *ret_kmh)
{
        double kmh;

        if (!(km >= RULES_TRAVEL_MIN_KM)) /* also NaN */
                return false;
        kmh = rules_speed_kmh(km, elapsed_us);
        if (ret_kmh)
                *ret_kmh = kmh;
        return kmh > (double)max_kmh;
}

bool rules_burst(uint64_t failures, unsigned threshold, bool alerted_in_window)
{
        return threshold > 0 && failures >= threshold && !alerted_in_window;
}

bool rules_after_lockout(int64_t lockout_us, int64_t success_us, int64_t prev_success_us, unsigned window_s)
{
        if (lockout_us <= 0 || success_us < lockout_us)
                return false;
        if (prev_success_us >= lockout_us)
                return false; /* not the first success since: that one was judged */
        return success_us - lockout_us <= (int64_t)window_s * US_PER_S;
}

void rules_utf8_tail(char *s)
{
        size_t n = strlen(s), i = n, need;
        unsigned char c;

        while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
                i--;
        if (i == 0)
                return;
        c = (unsigned char)s[i - 1];
        if (c < 0x80)
                return;
        need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (n - (i - 1) < need)
                s[i - 1] = '\0';
}

static void add(struct rules_alert *out, size_t *n, const char *kind, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void add(struct rules_alert *out, size_t *n, const char *kind, const char *fmt, ...)
{
        struct rules_alert *x = &out[*n];
        va_list ap;

        *x = (struct rules_alert){.id = 0};
        (void)snprintf(x->kind, sizeof(x->kind), "%s", kind);
        va_start(ap, fmt);
        (void)vsnprintf(x->detail, sizeof(x->detail), fmt, ap);
        va_end(ap);
        rules_utf8_tail(x->detail);
        (*n)++;
}

/* "via sshd from 203.0.113.7", "via login on tty1": escaped, bounded. */
static const char *where(const struct mlsec_event *e, char *buf, size_t len)
{
        char svc[HOST_SHOWN], host[HOST_SHOWN];
        const char *from = e->ip[0] ? e->ip : e->rhost;

        (void)util_escape(e->service[0] ? e->service : "?", svc, sizeof(svc));
        if (from[0])
                (void)snprintf(buf, len, "via %s from %s", svc, util_escape(from, host, sizeof(host)));
        else if (e->tty[0])
                (void)snprintf(buf, len, "via %s on %s", svc, util_escape(e->tty, host, sizeof(host)));
        else
                (void)snprintf(buf, len, "via %s", svc);
        return buf;
}

static bool is(const char *field, const char *word)
{
        return strncmp(field, word, EVENT_WORD_MAX) == 0;
}

static int new_country(struct activity *a, const struct mlsec_conf *c, const struct mlsec_event *e,
                       const struct geo_place *p, const char *exclude_service, struct rules_alert *out, size_t *n)
{
        struct activity_login prev;
        char w[256], desc[2 * GEO_NAME_MAX + 4];
        int64_t since = e->time_us - (int64_t)c->history_days * 86400 * US_PER_S;
        struct activity_seen seen;
        int r;

        if (!p || p->kind != GEO_FOUND || !p->country[0])
                return 0;
        /* a user's first recorded login has nothing to be new against */
        r = activity_prev_success(a, e->user, e->time_us, e->id, exclude_service, false, &prev);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        /* the login notice's check (it asks the network too) */
        r = activity_place_seen(a, e->user, since, e->id, p->country, NULL, &seen);
        if (r < 0 || seen.country)
                return r;
        add(out, n, RULE_NEW_COUNTRY,
            "successful login %s in %s (%s), a country no successful login of %s came from in the last %u days",
            where(e, w, sizeof(w)), geo_describe(p, desc, sizeof(desc)), p->country, e->user, c->history_days);
        return 0;
}

static int impossible_travel(struct activity *a, const struct mlsec_conf *c, const struct mlsec_event *e,
                             const struct geo_place *p, const char *exclude_service, struct rules_alert *out, size_t *n)
{
        struct activity_login prev;
        char w[256], d1[2 * GEO_NAME_MAX + 4], d2[2 * GEO_NAME_MAX + 4], dur[64];
        double km, kmh = 0;
        int64_t elapsed;
        int r;

        if (!p || !p->has_location)
                return 0;
        r = activity_prev_success(a, e->user, e->time_us, e->id, exclude_service, true, &prev);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        km = geo_distance_km(prev.place.geo.latitude, prev.place.geo.longitude, p->latitude, p->longitude);
        elapsed = e->time_us - prev.event.time_us;
        if (!rules_travel_impossible(km, elapsed, c->max_travel_kmh, &kmh))
                return 0;
        add(out, n, RULE_IMPOSSIBLE_TRAVEL,
            "successful login %s in %s %s after one in %s: %.0f km, %.0f km/h (max_travel_kmh %u); earlier event %s",
            where(e, w, sizeof(w)), geo_describe(p, d1, sizeof(d1)),
            util_duration(elapsed / US_PER_S, dur, sizeof(dur)), geo_describe(&prev.place.geo, d2, sizeof(d2)), km, kmh,
            c->max_travel_kmh, prev.event.id);
        return 0;
}

static int failure_burst(struct activity *a, const struct mlsec_conf *c, const struct mlsec_event *e,
                         struct rules_alert *out, size_t *n)
{
        int64_t after = e->time_us - (int64_t)c->burst_window * US_PER_S;
        char w[256], dur[64];
        uint64_t failures = 0;
        bool alerted = false;
        int r;

        r = activity_failures(a, e->user, after, e->time_us + 1, NULL, &failures, NULL); /* (after, the event] */
        if (r < 0 || failures < c->burst_failures)
                return r;
        r = activity_alert_recent(a, e->user, RULE_FAILURE_BURST, after, e->time_us, &alerted);
        if (r < 0 || !rules_burst(failures, c->burst_failures, alerted))
                return r;
        add(out, n, RULE_FAILURE_BURST,
            "%" PRIu64 " failed login attempts of %s within %s (burst_failures %u), the latest %s (%s)", failures,
            e->user, util_duration(c->burst_window, dur, sizeof(dur)), c->burst_failures, where(e, w, sizeof(w)),
            e->reason[0] ? e->reason : "failed");
        return 0;
}

static int after_lockout(struct activity *a, const struct mlsec_conf *c, const struct mlsec_event *e,
                         struct rules_alert *out, size_t *n)
{
        struct activity_login prev;
        int64_t lockout = 0, prev_us = 0;
        char w[256], dur[64];
        int r;

        /* only a lockout inside the window can make this success "right after" one */
        r = activity_last_lockout(a, e->user, e->time_us - (int64_t)c->lockout_alert_window * US_PER_S - 1, e->time_us,
                                  &lockout);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = activity_prev_success(a, e->user, e->time_us, e->id, NULL, false, &prev);
        if (r >= 0)
                prev_us = prev.event.time_us;
        else if (r != -ENOENT)
                return r;
        if (!rules_after_lockout(lockout, e->time_us, prev_us, c->lockout_alert_window))
                return 0;
        add(out, n, RULE_SUCCESS_AFTER_LOCKOUT,
            "successful login %s %s after a lockout of %s (lockout_alert_window %u seconds)", where(e, w, sizeof(w)),
            util_duration((e->time_us - lockout) / US_PER_S, dur, sizeof(dur)), e->user, c->lockout_alert_window);
        return 0;
}

int rules_judge(struct activity *a, const struct mlsec_conf *c, const struct mlsec_event *e,
                const struct geo_place *place, const char *exclude_service, struct rules_alert ret[RULES_N],
                size_t *ret_n)
{
        struct rules_alert found[RULES_N];
        size_t n = 0, kept = 0;
        bool ok, fail;
        char w[256];
        int r = 0;

        if (!a || !c || !e || !ret || !ret_n)
                return -EINVAL;
        *ret_n = 0;
        if (e->kind != EVENT_AUTH || !e->user[0] || e->time_us <= 0)
                return 0;
        ok = is(e->result, "ok");
        fail = is(e->result, "fail");
        if (ok && conf_alert_rule_on(c, RULE_NEW_COUNTRY))
                r = new_country(a, c, e, place, exclude_service, found, &n);
        if (r >= 0 && ok && conf_alert_rule_on(c, RULE_IMPOSSIBLE_TRAVEL))
                r = impossible_travel(a, c, e, place, exclude_service, found, &n);
        if (r >= 0 && fail && conf_alert_rule_on(c, RULE_FAILURE_BURST))
                r = failure_burst(a, c, e, found, &n);
        if (r >= 0 && ok && conf_alert_rule_on(c, RULE_SUCCESS_AFTER_LOCKOUT))
                r = after_lockout(a, c, e, found, &n);
        if (r >= 0 && ok && is(e->method, "backup") && conf_alert_rule_on(c, RULE_BACKUP_CODE_USED))
                add(found, &n, RULE_BACKUP_CODE_USED, "successful login with a backup code %s", where(e, w, sizeof(w)));
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct activity_alert x = {.time_us = e->time_us, .reporter_uid = -1, .acked_by_uid = -1};

                memcpy(x.user, e->user, sizeof(e->user));
                memcpy(x.kind, found[i].kind, sizeof(found[i].kind));
                memcpy(x.event_id, e->id, sizeof(e->id));
                memcpy(x.detail, found[i].detail, sizeof(found[i].detail));
                r = activity_alert_add(a, &x, &found[i].id);
                if (r < 0)
                        return r;
                if (found[i].id > 0)
                        ret[kept++] = found[i];
        }
        *ret_n = kept;
        return 0;
}
