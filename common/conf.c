/* SPDX-License-Identifier: MIT */
/* mlsec.conf: the built-in defaults, the strict parser of `key = value` text and the loader
 * that checks the file's owner, mode and size before trusting it. Every mistake (bad line,
 * unknown or repeated key, value out of range, a repeatable key given too often) is an error naming file and line,
 * because a policy typo must never be silently replaced by a default. Never logs, never exits. */
#define _GNU_SOURCE
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"
#include "util.h"

#define CONF_LINE_MAX   4096        /* bytes per line, without the newline */
#define CONF_FILE_MAX   (64 * 1024) /* bytes per file */
#define CONF_NAME_SHOWN 256         /* file name as shown in messages, escaped */
#define CONF_TEXT_SHOWN 96          /* untrusted key/value text as shown, escaped */

enum conf_kind {
        KIND_PATH,
        KIND_UINT,
        KIND_UNENROLLED,
        KIND_GROUP,
        KIND_GROUP_LIST, /* repeatable: one group name per line */
        KIND_TTY_LIST,   /* repeatable: one terminal name per line */
        KIND_NET_LIST,   /* repeatable: networks (CIDR), several per line */
        KIND_SERVICE_LIST, /* repeatable: one PAM service name per line */
        KIND_RULES,
        KIND_CONNINFO,      /* a libpq connection string: printable, one line */
        KIND_HOST_NAME,     /* conf_host_name_valid */
        KIND_FLEET_OFFLINE, /* deny | host-codes */
};

struct conf_key {
        const char *name;
        enum conf_kind kind;
        size_t offset;
        size_t size; /* buffer size for strings */
        unsigned min, max;
};

#define PATH_KEY(k)                                                                                                    \
        {                                                                                                              \
#k, KIND_PATH, offsetof(struct mlsec_conf, k), sizeof(((struct mlsec_conf *)0)->k), 0, 0               \
        }
#define UINT_KEY(k, lo, hi)                                                                                            \
        {                                                                                                              \
#k, KIND_UINT, offsetof(struct mlsec_conf, k), 0, lo, hi                                               \
        }

/* A key that may be given up to CONF_LIST_MAX times; its default is the empty list. */
#define LIST_KEY(k, kind)                                                                                              \
        {                                                                                                              \
#k, kind, offsetof(struct mlsec_conf, k), 0, 0, 0                                                      \
        }

static const struct conf_key conf_keys[] = {
        PATH_KEY(state_dir),
        PATH_KEY(key_file),
        PATH_KEY(socket),
        PATH_KEY(spool_dir),
        UINT_KEY(window, 0, 10),
        UINT_KEY(max_failures, 1, 1000),
        UINT_KEY(failure_window, 1, 604800),
        UINT_KEY(lockout_seconds, 1, 604800),
        UINT_KEY(max_user_failures, 1, 100000),
        UINT_KEY(max_local_failures, 1, 100000),
        UINT_KEY(history_days, 1, 36500),
        UINT_KEY(enroll_timeout, 60, 3600),
        UINT_KEY(password_history, 0, 50),
        UINT_KEY(password_min_length, 0, 256),
        UINT_KEY(password_min_classes, 0, 4),
        UINT_KEY(enroll_grace_days, 0, 3650),
        PATH_KEY(pwquality_conf),
        PATH_KEY(geoip_db),
        UINT_KEY(max_travel_kmh, 1, 1000000000),
        UINT_KEY(burst_failures, 2, 10000),
        UINT_KEY(burst_window, 1, 86400),
        UINT_KEY(lockout_alert_window, 1, 604800),
        {"alert_rules", KIND_RULES, offsetof(struct mlsec_conf, alert_rules),
         sizeof(((struct mlsec_conf *)0)->alert_rules), 0, 0},
        UINT_KEY(backup_codes_low, 0, 9),
        UINT_KEY(remember_seconds, 0, 43200),
        UINT_KEY(remember_tty_seconds, 0, 43200),
        UINT_KEY(verify_timeout, 1, 10000),
        {"unenrolled", KIND_UNENROLLED, offsetof(struct mlsec_conf, unenrolled), 0, 0, 0},
        {"admin_group", KIND_GROUP, offsetof(struct mlsec_conf, admin_group),
         sizeof(((struct mlsec_conf *)0)->admin_group), 0, 0},
        LIST_KEY(require_mfa_group, KIND_GROUP_LIST),
        LIST_KEY(exempt_tty, KIND_TTY_LIST),
        LIST_KEY(trusted_networks, KIND_NET_LIST),
        LIST_KEY(remember_services, KIND_SERVICE_LIST),
        {"fleet_db", KIND_CONNINFO, offsetof(struct mlsec_conf, fleet_db), sizeof(((struct mlsec_conf *)0)->fleet_db),
         0, 0},
        {"host_name", KIND_HOST_NAME, offsetof(struct mlsec_conf, host_name),
         sizeof(((struct mlsec_conf *)0)->host_name), 0, 0},
        UINT_KEY(fleet_timeout, 1, 60),
        {"fleet_offline", KIND_FLEET_OFFLINE, offsetof(struct mlsec_conf, fleet_offline), 0, 0, 0},
};

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* The suspicious-activity rules of mlsecd/rules.c, as alert_rules spells them. */
static const char *const alert_rule_names[] = {
        "new-country", "impossible-travel", "failure-burst", "success-after-lockout", "backup-code-used",
};
#define ALERT_RULES_ALL "new-country,impossible-travel,failure-burst,success-after-lockout,backup-code-used"

const char *conf_host_name(const struct mlsec_conf *c, char *out, size_t outlen)
{
        char h[256] = "";

        out[0] = '\0';
        if (c->host_name[0]) {
                snprintf(out, outlen, "%s", c->host_name);
                return out;
        }
        if (gethostname(h, sizeof(h) - 1) < 0)
                return out;
        h[strcspn(h, ".")] = '\0';
        for (char *p = h; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        if (conf_host_name_valid(h) && strlen(h) < outlen)
                memcpy(out, h, strlen(h) + 1);
        return out;
}

void conf_defaults(struct mlsec_conf *ret)
{
        memset(ret, 0, sizeof(*ret));
        (void)snprintf(ret->state_dir, sizeof(ret->state_dir), "%s", "/var/lib/mlsec");
        (void)snprintf(ret->key_file, sizeof(ret->key_file), "%s", "/etc/mlsec/secret.key");
        (void)snprintf(ret->socket, sizeof(ret->socket), "%s", "/run/mlsecd/mlsecd.sock");
        (void)snprintf(ret->spool_dir, sizeof(ret->spool_dir), "%s", "/var/lib/mlsec/spool");
        ret->window = 1;
        ret->max_failures = 5;
        ret->failure_window = 900;
        ret->lockout_seconds = 300;
        ret->max_user_failures = 20;
        ret->max_local_failures = 10;
        ret->unenrolled = CONF_UNENROLLED_ALLOW;
        ret->history_days = 365;
        ret->enroll_timeout = 600;
        ret->password_history = 5;
        ret->password_min_length = 0; /* pwquality.conf decides */
        ret->password_min_classes = 0;
        (void)snprintf(ret->pwquality_conf, sizeof(ret->pwquality_conf), "%s", "/etc/security/pwquality.conf");
        (void)snprintf(ret->geoip_db, sizeof(ret->geoip_db), "%s", ""); /* no database */
        ret->backup_codes_low = 3;
        (void)snprintf(ret->admin_group, sizeof(ret->admin_group), "%s", "mlsec-admin");
        ret->enroll_grace_days = 0;   /* no grace: members without MFA are refused */
        ret->require_mfa_group.n = 0; /* list: empty, no policy */
        ret->exempt_tty.n = 0;        /* list: empty, no exemption */
        ret->trusted_networks.n = 0;  /* list: empty, every address is asked for a code */
        ret->remember_seconds = 0;     /* off: every login from an address asks for a code */
        ret->remember_tty_seconds = 0; /* off: every local re-authentication asks for a code */
        ret->remember_services.n = 0;  /* list: empty, every service */
        ret->verify_timeout = 150;     /* ms: then the module checks on its own */
        /* every rule (ALERT_RULES_ALL, spelled out on one line for test_man's reading of the defaults) */
        // clang-format off
        (void)snprintf(ret->alert_rules, sizeof(ret->alert_rules), "%s", "new-country,impossible-travel,failure-burst,success-after-lockout,backup-code-used");
        // clang-format on
        ret->max_travel_kmh = 1000;
        ret->burst_failures = 5;
        ret->burst_window = 300;
        ret->lockout_alert_window = 3600;
        (void)snprintf(ret->fleet_db, sizeof(ret->fleet_db), "%s", "");   /* no fleet: credentials.db */
        (void)snprintf(ret->host_name, sizeof(ret->host_name), "%s", ""); /* "": the host name */
        ret->fleet_timeout = 2;
        ret->fleet_offline = CONF_FLEET_OFFLINE_DENY;
}

bool conf_host_name_valid(const char *name)
{
        size_t n = strnlen(name, CONF_HOST_NAME_MAX);

        if (n == 0 || n >= CONF_HOST_NAME_MAX || name[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
                      name[i] == '-'))
                        return false;
        return true;
}

const char *conf_fleet_offline_to_string(enum conf_fleet_offline o)
{
        return o == CONF_FLEET_OFFLINE_HOST_CODES ? "host-codes" : "deny";
}

bool conf_list_has(const struct conf_list *list, const char *value)
{
        for (unsigned i = 0; i < list->n && i < CONF_LIST_MAX; i++)
                if (strcmp(list->item[i], value) == 0)
                        return true;
        return false;
}

const char *conf_unenrolled_to_string(enum conf_unenrolled u)
{
        switch (u) {
        case CONF_UNENROLLED_ALLOW:
                return "allow";
        case CONF_UNENROLLED_DENY:
                return "deny";
        }
        return NULL;
}

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (!err || errlen == 0)
                return;
        va_start(ap, fmt);
        (void)vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

/* "name:line: " prefix, with the (escaped) file name. */
__attribute__((format(printf, 5, 6))) static int line_err(char *err, size_t errlen, const char *name, unsigned line,
                                                          const char *fmt, ...)
{
        char shown[CONF_NAME_SHOWN], msg[CONF_ERR_MAX];
        va_list ap;

        if (!err || errlen == 0)
                return -EINVAL;
        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        set_err(err, errlen, "%s:%u: %s", util_escape(name, shown, sizeof(shown)), line, msg);
        return -EINVAL;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char *trim(char *s)
{
        size_t n;

        while (is_blank(*s))
                s++;
        n = strlen(s);
        while (n > 0 && is_blank(s[n - 1]))
                s[--n] = '\0';
        return s;
}

/* Whether the comma-separated LIST (no blanks) holds RULE. */
static bool list_has(const char *list, const char *rule)
{
        size_t n = strlen(rule);

        for (const char *p = list; *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);

                if (len == n && strncmp(p, rule, n) == 0)
                        return true;
                p += len + (comma ? 1 : 0);
        }
        return false;
}

bool conf_alert_rule_on(const struct mlsec_conf *c, const char *rule)
{
        return c && rule && rule[0] && list_has(c->alert_rules, rule);
}

/* alert_rules: "none", or known rule names separated by commas (blanks around them
 * allowed), each at most once; stored without the blanks. */
static int parse_rules(const char *value, char *out, size_t outlen, char *bad, size_t badlen)
{
        char buf[CONF_ALERT_RULES_MAX * 2], *save = NULL, *tok;
        size_t used = 0;

        out[0] = '\0';
        if (strcmp(value, "none") == 0)
                return 0;
        if (strlen(value) >= sizeof(buf))
                return -E2BIG;
        memcpy(buf, value, strlen(value) + 1);
        if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
                return -EINVAL;
        for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                bool known = false;

                tok = trim(tok);
                for (size_t i = 0; i < sizeof(alert_rule_names) / sizeof(alert_rule_names[0]); i++)
                        known = known || strcmp(tok, alert_rule_names[i]) == 0;
                if (!known || !tok[0]) {
                        (void)snprintf(bad, badlen, "%s", tok);
                        return -ENOENT;
                }
                if (list_has(out, tok))
                        return -EINVAL; /* named twice */
                if (used + strlen(tok) + 2 > outlen)
                        return -E2BIG;
                (void)snprintf(out + used, outlen - used, "%s%s", used ? "," : "", tok);
                used = strlen(out);
        }
        return 0;
}

/* Decimal digits only: no sign, no blanks, no base prefix, no trailing junk. */
static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
        unsigned long v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long)(*s - '0');
                if (v > max)
                        return -ERANGE;
        }
        if (v < min)
                return -ERANGE;
        *ret = (unsigned)v;
        return 0;
}

static bool path_ok(const char *s)
{
        if (s[0] != '/')
                return false;
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* A terminal as PAM_TTY names it: "tty1", "/dev/tty1", "pts/3", ":0". */
static bool tty_ok(const char *s)
{
        if (!*s || *s == '-')
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr("/._:-", *s)))
                        return false;
        return true;
}

/* A PAM service name as a file in /etc/pam.d: "sshd", "sudo", "sshd-test". */
static bool service_ok(const char *s)
{
        if (!*s || *s == '.' || *s == '-')
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr("._-+", *s)))
                        return false;
        return true;
}

/* One more value of a repeatable key: bounded in count and length, each value once. */
static int list_add(const struct conf_key *k, const char *value, bool valid, struct mlsec_conf *c, const char *name,
                    unsigned line, char *err, size_t errlen)
{
        struct conf_list *list = (struct conf_list *)((char *)c + k->offset);
        char shown[CONF_TEXT_SHOWN];

        if (!valid || strlen(value) >= CONF_ITEM_MAX)
                return line_err(err, errlen, name, line, "%s is not a valid %s: \"%s\"", k->name,
                                k->kind == KIND_GROUP_LIST    ? "group name"
                                : k->kind == KIND_SERVICE_LIST ? "PAM service name"
                                                               : "terminal name",
                                util_escape(value, shown, sizeof(shown)));
        if (conf_list_has(list, value))
                return line_err(err, errlen, name, line, "%s \"%s\" is given twice", k->name,
                                util_escape(value, shown, sizeof(shown)));
        if (list->n >= CONF_LIST_MAX)
                return line_err(err, errlen, name, line, "%s may be given at most %d times", k->name, CONF_LIST_MAX);
        memcpy(list->item[list->n++], value, strlen(value) + 1);
        return 0;
}

/* Networks separated by blanks or commas, each canonical ("192.0.2.0/24") in the list. */
static int net_list_add(const struct conf_key *k, const char *value, struct mlsec_conf *c, const char *name,
                        unsigned line, char *err, size_t errlen)
{
        char shown[CONF_TEXT_SHOWN], tok[CONF_ITEM_MAX], canon[CONF_ITEM_MAX];
        const char *p = value;
        bool any = false;
        int r;

        while (*p) {
                size_t n = strcspn(p, " \t,");

                if (n == 0) {
                        p++;
                        continue;
                }
                any = true;
                if (n >= sizeof(tok))
                        return line_err(err, errlen, name, line, "%s: \"%.40s...\" is too long for a network", k->name,
                                        util_escape(p, shown, sizeof(shown)));
                memcpy(tok, p, n);
                tok[n] = '\0';
                p += n;
                r = source_network_parse(tok, canon, sizeof(canon));
                if (r == -EDOM)
                        return line_err(err, errlen, name, line,
                                        "%s: \"%s\" has bits set after the prefix; did you mean %s?", k->name,
                                        util_escape(tok, shown, sizeof(shown)), canon);
                if (r < 0)
                        return line_err(err, errlen, name, line,
                                        "%s: \"%s\" is not a network (an IPv4 or IPv6 address with an optional "
                                        "/prefix, e.g. 192.0.2.0/24 or 2001:db8::/32)",
                                        k->name, util_escape(tok, shown, sizeof(shown)));
                if (strcmp(strchr(canon, '/'), "/0") == 0)
                        return line_err(err, errlen, name, line,
                                        "%s: \"%s\" is every address: it would skip the code for the whole network",
                                        k->name, util_escape(tok, shown, sizeof(shown)));
                r = list_add(k, canon, true, c, name, line, err, errlen);
                if (r < 0)
                        return r;
        }
        if (!any)
                return line_err(err, errlen, name, line, "%s needs at least one network", k->name);
        return 0;
}

static int set_value(const struct conf_key *k, const char *value, struct mlsec_conf *c, const char *name, unsigned line,
                     char *err, size_t errlen)
{
        char shown[CONF_TEXT_SHOWN];
        char *field = (char *)c + k->offset;
        unsigned u;
        int r;

        switch (k->kind) {
        case KIND_PATH:
                if (!path_ok(value))
                        return line_err(err, errlen, name, line, "%s must be an absolute path, got \"%s\"", k->name,
                                        util_escape(value, shown, sizeof(shown)));
                if (strlen(value) >= k->size)
                        return line_err(err, errlen, name, line, "%s is too long (at most %zu bytes)", k->name,
                                        k->size - 1);
                memcpy(field, value, strlen(value) + 1);
                return 0;

        case KIND_UINT:
                r = parse_uint(value, k->min, k->max, &u);
                if (r == -ERANGE)
                        return line_err(err, errlen, name, line, "%s must be between %u and %u, got \"%s\"", k->name,
                                        k->min, k->max, util_escape(value, shown, sizeof(shown)));
                if (r < 0)
                        return line_err(err, errlen, name, line, "%s must be a number, got \"%s\"", k->name,
                                        util_escape(value, shown, sizeof(shown)));
                memcpy(field, &u, sizeof(u));
                return 0;

        case KIND_UNENROLLED:
                if (strcmp(value, "allow") == 0)
                        c->unenrolled = CONF_UNENROLLED_ALLOW;
                else if (strcmp(value, "deny") == 0)
                        c->unenrolled = CONF_UNENROLLED_DENY;
                else
                        return line_err(err, errlen, name, line, "%s must be allow or deny, got \"%s\"", k->name,
                                        util_escape(value, shown, sizeof(shown)));
                return 0;

        case KIND_RULES: {
                char bad[CONF_TEXT_SHOWN] = "";

                r = parse_rules(value, field, k->size, bad, sizeof(bad));
                if (r == -ENOENT)
                        return line_err(err, errlen, name, line,
                                        "%s: unknown rule \"%s\" (known: " ALERT_RULES_ALL ", or none)", k->name,
                                        util_escape(bad, shown, sizeof(shown)));
                if (r < 0)
                        return line_err(err, errlen, name, line,
                                        "%s must be none or rule names separated by commas, each once, got \"%s\"",
                                        k->name, util_escape(value, shown, sizeof(shown)));
                return 0;
        }

        case KIND_GROUP:
                /* Same rules as a user name; UTIL_USER_MAX matches the buffer. */
                if (strlen(value) >= k->size || !util_user_valid(value))
                        return line_err(err, errlen, name, line, "%s is not a valid group name: \"%s\"", k->name,
                                        util_escape(value, shown, sizeof(shown)));
                memcpy(field, value, strlen(value) + 1);
                return 0;

        case KIND_GROUP_LIST:
                return list_add(k, value, util_user_valid(value), c, name, line, err, errlen);

        case KIND_TTY_LIST:
                return list_add(k, value, tty_ok(value), c, name, line, err, errlen);

        case KIND_NET_LIST:
                return net_list_add(k, value, c, name, line, err, errlen);

        case KIND_CONNINFO:
                for (const char *p = value; *p; p++)
                        if ((unsigned char)*p < 0x20 || *p == 0x7f)
                                return line_err(err, errlen, name, line, "%s has a control character", k->name);
                if (strlen(value) >= k->size)
                        return line_err(err, errlen, name, line, "%s is too long (at most %zu bytes)", k->name,
                                        k->size - 1);
                memcpy(field, value, strlen(value) + 1);
                return 0;

        case KIND_HOST_NAME:
                if (value[0] && !conf_host_name_valid(value))
                        return line_err(err, errlen, name, line,
                                        "%s must be 1 to 63 of a-z, 0-9, '_' and '-' (a fleet role), got \"%s\"",
                                        k->name, util_escape(value, shown, sizeof(shown)));
                memcpy(field, value, strlen(value) + 1);
                return 0;

        case KIND_FLEET_OFFLINE:
                if (strcmp(value, "deny") == 0)
                        c->fleet_offline = CONF_FLEET_OFFLINE_DENY;
                else if (strcmp(value, "host-codes") == 0)
                        return line_err(err, errlen, name, line,
                                        "%s = host-codes is not available yet (offline codes are not built): "
                                        "use deny",
                                        k->name);
                else
                        return line_err(err, errlen, name, line, "%s must be deny or host-codes, got \"%s\"",
                                        k->name, util_escape(value, shown, sizeof(shown)));
                return 0;

        case KIND_SERVICE_LIST:
                return list_add(k, value, service_ok(value), c, name, line, err, errlen);
        }
        return line_err(err, errlen, name, line, "internal error");
}

/* A trailing comment starts at a '#' preceded by a blank, so '#' inside a path stays. */
static void strip_comment(char *value)
{
        char *p;

        for (p = value; *p; p++)
                if (*p == '#' && (p == value || is_blank(p[-1]))) {
                        *p = '\0';
                        return;
                }
}

static int parse_line(char *buf, struct mlsec_conf *c, unsigned seen[], const char *name, unsigned line, char *err,
                      size_t errlen)
{
        char shown[CONF_TEXT_SHOWN];
        char *s, *eq, *key, *value;
        size_t i;

        s = trim(buf);
        if (*s == '\0' || *s == '#')
                return 0;

        eq = strchr(s, '=');
        if (!eq)
                return line_err(err, errlen, name, line, "expected \"key = value\", got \"%s\"",
                                util_escape(s, shown, sizeof(shown)));
        *eq = '\0';
        key = trim(s);
        value = eq + 1;
        strip_comment(value);
        value = trim(value);

        if (*key == '\0')
                return line_err(err, errlen, name, line, "missing key before \"=\"");

        for (i = 0; i < N_KEYS; i++)
                if (strcmp(key, conf_keys[i].name) == 0)
                        break;
        if (i == N_KEYS)
                return line_err(err, errlen, name, line, "unknown key \"%s\"", util_escape(key, shown, sizeof(shown)));
        if (seen[i] && conf_keys[i].kind != KIND_GROUP_LIST && conf_keys[i].kind != KIND_TTY_LIST &&
            conf_keys[i].kind != KIND_NET_LIST && conf_keys[i].kind != KIND_SERVICE_LIST)
                return line_err(err, errlen, name, line, "duplicate key \"%s\" (first set on line %u)",
                                conf_keys[i].name, seen[i]);
        if (*value == '\0')
                return line_err(err, errlen, name, line, "missing value for %s", conf_keys[i].name);

        seen[i] = line;
        return set_value(&conf_keys[i], value, c, name, line, err, errlen);
}

int conf_parse(const char *name, const char *text, size_t len, struct mlsec_conf *ret, char *err, size_t errlen)
{
        struct mlsec_conf c;
        unsigned seen[N_KEYS] = {0};
        char buf[CONF_LINE_MAX + 1];
        size_t pos = 0;
        unsigned line = 0;
        int r;

        if (!ret || (!text && len > 0)) {
                set_err(err, errlen, "conf_parse: invalid arguments");
                return -EINVAL;
        }
        if (!name)
                name = "(config)";
        if (err && errlen > 0)
                err[0] = '\0';

        conf_defaults(&c);

        while (pos < len) {
                const char *start = text + pos, *nl;
                size_t n;

                line++;
                nl = memchr(start, '\n', len - pos);
                n = nl ? (size_t)(nl - start) : len - pos;
                pos += n + (nl ? 1 : 0);

                if (n > CONF_LINE_MAX)
                        return line_err(err, errlen, name, line, "line longer than %d bytes", CONF_LINE_MAX);
                if (memchr(start, '\0', n))
                        return line_err(err, errlen, name, line, "NUL byte in line");

                memcpy(buf, start, n);
                buf[n] = '\0';
                r = parse_line(buf, &c, seen, name, line, err, errlen);
                if (r < 0)
                        return r;
        }

        *ret = c;
        return 0;
}

static int read_all(int fd, char *buf, size_t max, size_t *ret_len)
{
        size_t len = 0;

        /* Read one byte past MAX so a file that grew after fstat() is still refused. */
        while (len <= max) {
                ssize_t n = read(fd, buf + len, max + 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max)
                return -EFBIG;
        *ret_len = len;
        return 0;
}

int conf_load(const char *path, struct mlsec_conf *ret, char *err, size_t errlen)
{
        char shown[CONF_NAME_SHOWN], ebuf[128];
        bool is_default = !path;
        struct stat st;
        char *text = NULL;
        size_t len = 0;
        int fd, r;

        if (!ret) {
                set_err(err, errlen, "conf_load: invalid arguments");
                return -EINVAL;
        }
        if (!path)
                path = CONF_DEFAULT_PATH;
        if (err && errlen > 0)
                err[0] = '\0';
        (void)util_escape(path, shown, sizeof(shown));

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT && is_default) {
                        conf_defaults(ret);
                        return 0;
                }
                if (r == -ELOOP)
                        set_err(err, errlen, "%s: refusing to follow a symbolic link", shown);
                else
                        set_err(err, errlen, "%s: cannot open: %s", shown, strerror_r(-r, ebuf, sizeof(ebuf)));
                return r;
        }

        if (fstat(fd, &st) < 0) {
                r = -errno;
                set_err(err, errlen, "%s: cannot stat: %s", shown, strerror_r(-r, ebuf, sizeof(ebuf)));
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = -EINVAL;
                set_err(err, errlen, "%s: not a regular file", shown);
                goto out;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                r = -EPERM;
                if (geteuid() == 0)
                        set_err(err, errlen, "%s: owned by uid %u, must be owned by root", shown, (unsigned)st.st_uid);
                else
                        set_err(err, errlen, "%s: owned by uid %u, must be owned by root or uid %u", shown,
                                (unsigned)st.st_uid, (unsigned)geteuid());
                goto out;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                r = -EPERM;
                set_err(err, errlen, "%s: mode %04o is writable by group or others", shown,
                        (unsigned)(st.st_mode & 07777));
                goto out;
        }
        if (st.st_size > CONF_FILE_MAX) {
                r = -EFBIG;
                set_err(err, errlen, "%s: larger than %d bytes", shown, CONF_FILE_MAX);
                goto out;
        }

        text = malloc(CONF_FILE_MAX + 1);
        if (!text) {
                r = -ENOMEM;
                set_err(err, errlen, "%s: out of memory", shown);
                goto out;
        }
        r = read_all(fd, text, CONF_FILE_MAX, &len);
        if (r == -EFBIG) {
                set_err(err, errlen, "%s: larger than %d bytes", shown, CONF_FILE_MAX);
                goto out;
        }
        if (r < 0) {
                set_err(err, errlen, "%s: cannot read: %s", shown, strerror_r(-r, ebuf, sizeof(ebuf)));
                goto out;
        }

        r = conf_parse(path, text, len, ret, err, errlen);
out:
        free(text);
        (void)close(fd);
        return r;
}
