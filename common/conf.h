/* SPDX-License-Identifier: MIT */
/* mlsec.conf: the one parser of the configuration file and the defaults of every key.
 * A bad line is an error that names file and line; an unknown key is an error, so a
 * typo can never silently weaken a policy. Never logs: the caller reports the message. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define CONF_DEFAULT_PATH    "/etc/mlsec/mlsec.conf"
#define CONF_ERR_MAX         512
#define CONF_LIST_MAX        16 /* values of one repeatable key */
#define CONF_ITEM_MAX        64 /* bytes of one value of a repeatable key, incl. NUL */
#define CONF_ALERT_RULES_MAX 128

/* What a host does for an enrolled user when the fleet database cannot be reached. */
enum conf_fleet_offline {
        CONF_FLEET_OFFLINE_DENY,       /* refuse (fail closed) */
        CONF_FLEET_OFFLINE_HOST_CODES, /* accept the host-bound offline codes issued earlier */
};
#define CONF_CONNINFO_MAX 1024
#define CONF_HOST_NAME_MAX 64

enum conf_unenrolled {
        CONF_UNENROLLED_ALLOW, /* PAM_IGNORE: the rest of the stack decides */
        CONF_UNENROLLED_DENY,
};

/* The values of a key that may be given on several lines, in file order, each once. */
struct conf_list {
        unsigned n;
        char item[CONF_LIST_MAX][CONF_ITEM_MAX];
};

struct mlsec_conf {
        char state_dir[PATH_MAX];    /* credentials.db lives here */
        char key_file[PATH_MAX];     /* 32-byte sealing key, root 0600 */
        char socket[108];            /* mlsecd's socket (sun_path bound) */
        char spool_dir[PATH_MAX];    /* events waiting for mlsecd */
        unsigned window;             /* TOTP steps accepted on each side of now */
        unsigned max_failures;       /* per (user, source) before the source is locked */
        unsigned failure_window;     /* seconds over which failures are counted */
        unsigned lockout_seconds;    /* how long a lockout lasts */
        unsigned max_user_failures;  /* per user over all remote sources */
        unsigned max_local_failures; /* per user over all local terminals but the consoles */
        enum conf_unenrolled unenrolled;
        char admin_group[64];
        unsigned history_days;              /* activity kept this long (audit entries are kept) */
        unsigned enroll_timeout;            /* seconds a self-service enrolment waits for its code */
        unsigned password_history;          /* new password may not be one of the last N (0: no check) */
        unsigned password_min_length;       /* 0: pwquality.conf's minlen */
        unsigned password_min_classes;      /* 0: pwquality.conf's minclass */
        char pwquality_conf[PATH_MAX];      /* libpwquality settings read first */
        char geoip_db[PATH_MAX];            /* MaxMind-format database for locations; "": none */
        struct conf_list require_mfa_group; /* repeatable: members must have MFA (account stack) */
        unsigned enroll_grace_days;         /* days a member without MFA may still log in; 0: none */
        struct conf_list exempt_tty;        /* repeatable: root on these PAM_TTYs passes the policy */
        struct conf_list trusted_networks;  /* repeatable: remote addresses inside skip the code */
        unsigned verify_timeout;            /* ms the module waits for mlsecd's verdict before checking itself */
        unsigned remember_seconds;          /* a right code from an address spares it there this long; 0: off */
        unsigned remember_tty_seconds;      /* ... on one terminal in one session (sudo-style); 0: off */
        struct conf_list remember_services; /* repeatable: services that remember; empty: every one */
        /* suspicious-activity rules (mlsecd/rules.c) */
        char alert_rules[CONF_ALERT_RULES_MAX]; /* rule names, comma-separated; "none": no rule */
        unsigned max_travel_kmh;                /* impossible-travel: faster than this between two logins */
        unsigned burst_failures;                /* failure-burst: this many failed logins ... */
        unsigned burst_window;                  /* ... within this many seconds */
        unsigned lockout_alert_window;          /* success-after-lockout: seconds after a lockout */
        unsigned backup_codes_low;              /* the login notice warns at this many unused backup codes or fewer */
        /* fleet mode (common/fleet.c): "" means none, the host's own credentials.db */
        char fleet_db[CONF_CONNINFO_MAX];       /* a libpq connection string */
        char host_name[CONF_HOST_NAME_MAX];     /* this host's role in the fleet; "": the host name (conf_host_name) */
        unsigned fleet_timeout;                 /* seconds: bounds connecting and each statement */
        enum conf_fleet_offline fleet_offline;  /* enrolled users while the fleet is unreachable */
};

/* Fill *ret with the built-in defaults. */
void conf_defaults(struct mlsec_conf *ret);

/* Load PATH (NULL means CONF_DEFAULT_PATH) over the defaults.
 * A missing file is not an error only when it is the default path: then *ret holds the
 * defaults. On error returns -errno (-EINVAL for a bad line or unknown key) and writes a
 * human message naming the file and line into err (err may be NULL). */
int conf_load(const char *path, struct mlsec_conf *ret, char *err, size_t errlen);

/* Parse configuration text held in memory; NAME is used in messages. Same rules as
 * conf_load. Exposed for the unit tests and the fuzzer. */
int conf_parse(const char *name, const char *text, size_t len, struct mlsec_conf *ret, char *err, size_t errlen);

/* Is VALUE one of LIST's values? */
bool conf_list_has(const struct conf_list *list, const char *value);
/* Whether alert_rules names RULE ("new-country", "impossible-travel", "failure-burst",
 * "success-after-lockout", "backup-code-used"). */
bool conf_alert_rule_on(const struct mlsec_conf *c, const char *rule);

/* "deny" / "host-codes" */
const char *conf_fleet_offline_to_string(enum conf_fleet_offline o);
/* This host's name in the fleet: host_name, or ("") the host name up to its first dot,
 * lower-case ("" when that is no valid fleet host name). Returns OUT. */
const char *conf_host_name(const struct mlsec_conf *c, char *out, size_t outlen);
/* Is NAME a host name as fleet roles spell it: 1..63 of [a-z0-9_-], not starting with '-'? */
bool conf_host_name_valid(const char *name);
/* "allow" / "deny" */
const char *conf_unenrolled_to_string(enum conf_unenrolled u);
