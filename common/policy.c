/* SPDX-License-Identifier: MIT */
/* The MFA policy by group: membership through getgrnam_r(3) and getgrouplist(3), both
 * bounded and thread-safe (a guest in sshd: no getgrnam, no static buffers), the grace
 * period arithmetic and the exemption of root's console. Errors are returned, never
 * guessed: a failed lookup must refuse, not let a member through. Never logs. */
#define _GNU_SOURCE
#include "policy.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

#define GR_BUF_START 4096
#define GR_BUF_MAX   (1024 * 1024) /* a group entry larger than this is an error */
#define GROUPS_START 64
#define GROUPS_MAX   65536 /* NGROUPS_MAX on Linux */

bool policy_active(const struct mlsec_conf *c)
{
        return c && c->require_mfa_group.n > 0;
}

/* getgrnam_r with a buffer grown on ERANGE up to GR_BUF_MAX. 1 and *ret_gid, and
 * *ret_listed when USER is in the member list; 0 when there is no such group; -errno. */
static int group_lookup(const char *name, const char *user, gid_t *ret_gid, bool *ret_listed)
{
        size_t len = GR_BUF_START;
        char *buf = NULL;
        int r;

        for (;;) {
                struct group gr, *res = NULL;
                char *nbuf = realloc(buf, len);

                if (!nbuf) {
                        r = -ENOMEM;
                        break;
                }
                buf = nbuf;
                r = getgrnam_r(name, &gr, buf, len, &res);
                if (r == ERANGE && len < GR_BUF_MAX) {
                        len *= 2;
                        continue;
                }
                if (r == ERANGE) {
                        r = -E2BIG;
                        break;
                }
                if (r == 0 && !res) /* no such group */
                        break;
                if (r == ENOENT) {
                        r = 0;
                        break;
                }
                if (r != 0) {
                        r = -r;
                        break;
                }
                *ret_gid = res->gr_gid;
                *ret_listed = false;
                for (char **m = res->gr_mem; m && *m; m++)
                        if (strcmp(*m, user) == 0)
                                *ret_listed = true;
                r = 1;
                break;
        }
        free(buf);
        return r;
}

/* Every group of USER, getgrouplist's way (GID included), in a buffer grown up to
 * GROUPS_MAX. *ret is malloc'd. */
static int user_groups(const char *user, gid_t gid, gid_t **ret, int *ret_n)
{
        int n = GROUPS_START;
        gid_t *g = NULL;

        for (;;) {
                int want = n;
                gid_t *ng = realloc(g, (size_t)n * sizeof(*g));

                if (!ng) {
                        free(g);
                        return -ENOMEM;
                }
                g = ng;
                if (getgrouplist(user, gid, g, &want) >= 0) {
                        *ret = g;
                        *ret_n = want;
                        return 0;
                }
                /* too small: WANT says how many there are */
                if (n >= GROUPS_MAX) {
                        free(g);
                        return -E2BIG;
                }
                n = want > n && want <= GROUPS_MAX ? want : (n * 2 > GROUPS_MAX ? GROUPS_MAX : n * 2);
        }
}

int policy_member(const struct mlsec_conf *c, const char *user, gid_t gid, struct policy_membership *ret)
{
        struct policy_membership m = {.member = false};
        gid_t *groups = NULL;
        int n_groups = 0, r = 0;

        if (!c || !user || !*user || !ret)
                return -EINVAL;
        for (unsigned i = 0; i < c->require_mfa_group.n && i < CONF_LIST_MAX && !m.member; i++) {
                const char *name = c->require_mfa_group.item[i];
                bool listed = false;
                gid_t g = 0;

                r = group_lookup(name, user, &g, &listed);
                if (r < 0)
                        break;
                if (r == 0) {
                        if (m.n_missing++ == 0)
                                memcpy(m.missing, name, strlen(name) + 1);
                        continue;
                }
                r = 0;
                if (!listed && g != gid && !groups) {
                        r = user_groups(user, gid, &groups, &n_groups);
                        if (r < 0)
                                break;
                }
                for (int j = 0; !listed && j < n_groups; j++)
                        listed = groups[j] == g;
                if (listed || g == gid) {
                        m.member = true;
                        memcpy(m.group, name, strlen(name) + 1);
                }
        }
        free(groups);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

static const char *tty_name(const char *tty)
{
        return strncmp(tty, "/dev/", 5) == 0 ? tty + 5 : tty;
}

bool policy_tty_exempt(const struct mlsec_conf *c, uid_t uid, const char *tty)
{
        if (!c || uid != 0 || !tty || !*tty)
                return false;
        tty = tty_name(tty);
        if (!*tty)
                return false;
        for (unsigned i = 0; i < c->exempt_tty.n && i < CONF_LIST_MAX; i++)
                if (strcmp(tty_name(c->exempt_tty.item[i]), tty) == 0)
                        return true;
        return false;
}

unsigned policy_days_left(int64_t started, unsigned grace_days, int64_t now)
{
        int64_t end, left;

        if (started > now)
                started = now;
        end = started + (int64_t)grace_days * POLICY_DAY_SECONDS;
        left = end - now;
        if (left <= 0)
                return 0;
        return (unsigned)((left + POLICY_DAY_SECONDS - 1) / POLICY_DAY_SECONDS);
}

int policy_decide(struct store *s, const struct mlsec_conf *c, const char *user, bool enrolled, int64_t now,
                  struct policy_result *ret)
{
        struct policy_result res = {.verdict = POLICY_REFUSED};
        int64_t started = 0;
        int r;

        if (!c || !user || !ret)
                return -EINVAL;
        if (enrolled) {
                *ret = (struct policy_result){.verdict = POLICY_ENROLLED};
                return 0;
        }
        if (c->enroll_grace_days == 0) {
                *ret = res;
                return 0;
        }
        if (!s)
                return -ENOENT;
        r = store_grace_start(s, user, now, &started);
        if (r < 0)
                return r;
        res.grace_start = started;
        res.grace_end = (started > now ? now : started) + (int64_t)c->enroll_grace_days * POLICY_DAY_SECONDS;
        res.days_left = policy_days_left(started, c->enroll_grace_days, now);
        res.verdict = res.days_left > 0 ? POLICY_GRACE : POLICY_EXPIRED;
        *ret = res;
        return 0;
}

const char *policy_verdict_to_string(enum policy_verdict v)
{
        switch (v) {
        case POLICY_ENROLLED:
                return "enrolled";
        case POLICY_GRACE:
                return "grace";
        case POLICY_REFUSED:
                return "refused";
        case POLICY_EXPIRED:
                return "expired";
        }
        return "unknown";
}
