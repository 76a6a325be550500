/* SPDX-License-Identifier: MIT */
/* The MFA policy by group (mlsec.conf require_mfa_group, enroll_grace_days, exempt_tty):
 * who it applies to, what a member without a device gets, and when root's console passes.
 * The rules only: pam_mlsec's account stack turns them into PAM codes and messages. Uses
 * only thread-safe group lookups (it runs inside sshd) and never logs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "store.h"

#define POLICY_DAY_SECONDS 86400

enum policy_verdict {
        POLICY_ENROLLED, /* a member with a device: the policy is met */
        POLICY_GRACE,    /* a member without a device, inside the grace period */
        POLICY_REFUSED,  /* a member without a device and no grace period configured */
        POLICY_EXPIRED,  /* a member without a device whose grace period has ended */
};

struct policy_membership {
        bool member;
        char group[CONF_ITEM_MAX];   /* the first require_mfa_group (in file order) USER is in */
        unsigned n_missing;          /* require_mfa_group names that are no group */
        char missing[CONF_ITEM_MAX]; /* the first of them */
};

struct policy_result {
        enum policy_verdict verdict;
        unsigned days_left;  /* POLICY_GRACE: 1..enroll_grace_days (1: the last day) */
        int64_t grace_start; /* POLICY_GRACE, POLICY_EXPIRED: when it began */
        int64_t grace_end;   /* and when it ends or ended */
};

/* Is any require_mfa_group configured? Without one the policy asks nothing of anybody. */
bool policy_active(const struct mlsec_conf *c);

/* Is USER (primary group GID) in one of the require_mfa_group groups: by primary group,
 * by name in the group's member list, or among the groups getgrouplist(3) gives (the
 * supplementary groups from every NSS source)? Lookups are bounded (at most 1 MiB per
 * group entry, 65536 groups); a lookup that fails is an error (-errno: the caller cannot
 * tell), a group that does not exist has no members and is counted in n_missing. */
int policy_member(const struct mlsec_conf *c, const char *user, gid_t gid, struct policy_membership *ret);

/* Root (UID 0, nobody else) on a terminal listed in exempt_tty. "tty1" and "/dev/tty1"
 * name the same terminal, in the list and in TTY; TTY NULL or empty is no terminal. */
bool policy_tty_exempt(const struct mlsec_conf *c, uid_t uid, const char *tty);

/* Whole or started days left of a grace period of GRACE_DAYS that began at STARTED, at NOW:
 * 0 once it has ended. A start in the future (a clock set back) counts from now. */
unsigned policy_days_left(int64_t started, unsigned grace_days, int64_t now);

/* The verdict for a member of a required group; ENROLLED says whether they have a device
 * (from the store, or from mlsecd). For one without a device and with enroll_grace_days,
 * the start of their grace period is read from S, or recorded there at NOW the first time
 * (S NULL: -ENOENT, nowhere to record it). -errno when the store fails: the caller refuses. */
int policy_decide(struct store *s, const struct mlsec_conf *c, const char *user, bool enrolled, int64_t now,
                  struct policy_result *ret);

/* "enrolled", "grace", "refused", "expired" */
const char *policy_verdict_to_string(enum policy_verdict v);
