/* SPDX-License-Identifier: MIT */
/* The suspicious-activity rules: each login event mlsecd stores is judged against the
 * user's history in activity.db, with the event's own time (a spooled event is judged as of
 * when it happened), and each rule that fires is stored as an alert. The caller records the
 * audit entry and the journal event of each alert. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activity.h"
#include "conf.h"
#include "event.h"
#include "geo.h"

#define RULES_N             5     /* rules, so alerts one event can raise */
#define RULES_TRAVEL_MIN_KM 100.0 /* closer than this is the same place, as far as geolocation can tell */

#define RULE_NEW_COUNTRY           "new-country"
#define RULE_IMPOSSIBLE_TRAVEL     "impossible-travel"
#define RULE_FAILURE_BURST         "failure-burst"
#define RULE_SUCCESS_AFTER_LOCKOUT "success-after-lockout"
#define RULE_BACKUP_CODE_USED      "backup-code-used"

struct rules_alert {
        int64_t id;                    /* the alert's row in activity.db */
        char kind[EVENT_WORD_MAX];     /* one of RULE_* */
        char detail[EVENT_DETAIL_MAX]; /* the facts, for people: valid UTF-8, no control characters */
};

/* The arithmetic of the rules, exposed for their unit tests. */
/* Speed in km/h of KM covered in ELAPSED_US (a negative elapsed counts as its size; less
 * than a second counts as one second, so two logins at the same instant are not a division
 * by zero but the fastest travel there is). */
double rules_speed_kmh(double km, int64_t elapsed_us);
/* Impossible travel: KM at least RULES_TRAVEL_MIN_KM and faster than MAX_KMH. */
bool rules_travel_impossible(double km, int64_t elapsed_us, unsigned max_kmh, double *ret_kmh);
/* A burst: FAILURES (in the window, this one included) reached THRESHOLD and no burst
 * alert was raised in the window already. */
bool rules_burst(uint64_t failures, unsigned threshold, bool alerted_in_window);
/* Right after a lockout: the success at SUCCESS_US is the first since the lockout at
 * LOCKOUT_US (PREV_SUCCESS_US: the user's previous success, 0 if none) and within
 * WINDOW_S seconds of it. */
bool rules_after_lockout(int64_t lockout_us, int64_t success_us, int64_t prev_success_us, unsigned window_s);

/* A cut by snprintf may leave half a UTF-8 sequence at the end of S: drop it. */
void rules_utf8_tail(char *s);

/* Judge E (an auth event just stored, with PLACE, NULL when it has none) with the rules
 * that C's alert_rules enables. Logins whose service is EXCLUDE_SERVICE (NULL: none) do not
 * count as earlier logins (mlsecctl's own code checks). Each alert raised is stored and
 * written to RET; *ret_n counts them (0 when none fired or E was judged before). */
int rules_judge(struct activity *a, const struct mlsec_conf *c, const struct mlsec_event *e,
                const struct geo_place *place, const char *exclude_service, struct rules_alert ret[RULES_N],
                size_t *ret_n);
