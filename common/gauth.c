/* SPDX-License-Identifier: MIT */
/* Migration from google-authenticator-libpam, written once: the safe read of a user's
 * ~/.google_authenticator, a strict parser of its format (what pam_google_authenticator
 * reads: the base32 secret on line one, `" KEY value` option lines, eight-digit scratch
 * codes), the notes on options mlsec does not carry over, and the store transaction of an
 * import. Every buffer that held the file or the secret is wiped; no error names anything
 * but a line number and an option name, so nothing of the file can leak through a message. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "enroll.h"
#include "gauth.h"
#include "util.h"

int gauth_read_file(const char *path, uid_t owner, bool allow_root, char *buf, size_t bufmax, size_t *ret_len,
                    const char **ret_why)
{
        const char *why = "it could not be read";
        struct stat st;
        size_t n = 0;
        int fd, r;

        if (!path || !buf || bufmax < GAUTH_FILE_MAX + 1 || !ret_len)
                return -EINVAL;
        /* O_NONBLOCK: a FIFO put there must not hang us before fstat says what it is */
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                why = r == -ELOOP    ? "it is a symbolic link"
                      : r == -ENOENT ? "it does not exist"
                                     : "it could not be opened";
                goto out;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = -EINVAL;
                why = "it is not a regular file";
        } else if (st.st_uid != owner && !(allow_root && st.st_uid == 0)) {
                r = -EPERM;
                why = allow_root ? "it is owned by neither the user nor root" : "it is not owned by the user";
        } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                r = -EACCES;
                why = "it is writable by group or others";
        } else if (st.st_nlink != 1) {
                r = -EMLINK;
                why = "it has more than one hard link";
        } else if (st.st_size < 1 || st.st_size > GAUTH_FILE_MAX) {
                r = -EFBIG;
                why = "it is empty or larger than 4096 bytes";
        } else
                r = 0;
        if (r < 0)
                goto out;
        while (n <= GAUTH_FILE_MAX) {
                ssize_t k = read(fd, buf + n, GAUTH_FILE_MAX + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto out;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        if (n == 0 || n > GAUTH_FILE_MAX) {
                r = -EFBIG; /* it grew or shrank under us */
                why = "it is empty or larger than 4096 bytes";
                goto out;
        }
        buf[n] = '\0';
        *ret_len = n;
        r = 0;
out:
        if (fd >= 0)
                (void)close(fd);
        if (r < 0) {
                seal_wipe(buf, bufmax);
                if (ret_why)
                        *ret_why = why;
        }
        return r;
}

static int perr(int r, char *err, size_t errlen, size_t line, const char *what)
{
        if (err && errlen) {
                if (line)
                        (void)snprintf(err, errlen, "line %zu: %s", line, what);
                else
                        (void)snprintf(err, errlen, "%s", what);
        }
        return r;
}

/* An unsigned decimal of 1..18 digits: 0 and *ret, -EINVAL otherwise. */
static int parse_num(const char *s, size_t n, int64_t *ret)
{
        int64_t x = 0;

        if (n == 0 || n > 18)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                x = x * 10 + (s[i] - '0');
        }
        *ret = x;
        return 0;
}

/* Split VAL (length N) at blanks into at most MAX words: their offsets and lengths. */
static size_t words(const char *val, size_t n, size_t *off, size_t *len, size_t max, bool *ret_more)
{
        size_t k = 0, i = 0;

        *ret_more = false;
        while (i < n) {
                size_t start;

                while (i < n && (val[i] == ' ' || val[i] == '\t'))
                        i++;
                if (i == n)
                        break;
                start = i;
                while (i < n && val[i] != ' ' && val[i] != '\t')
                        i++;
                if (k == max) {
                        *ret_more = true;
                        break;
                }
                off[k] = start;
                len[k++] = i - start;
        }
        return k;
}

/* The base32 secret of line one: google-authenticator's alphabet (A-Z, 2-7; lower case and
 * blanks accepted as its module does), no padding, 16..GAUTH_SECRET_MAX characters. */
static int parse_secret(const char *line, size_t n, struct gauth_file *f)
{
        uint8_t bytes[TOTP_SECRET_MAX];
        size_t k = 0, blen = 0;
        int r = -EINVAL;

        for (size_t i = 0; i < n; i++) {
                char c = line[i];

                if (c == ' ' || c == '\t')
                        continue;
                if (c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) || k >= GAUTH_SECRET_MAX)
                        goto out;
                f->secret_b32[k++] = c;
        }
        f->secret_b32[k] = '\0';
        /* 1, 3 or 6 characters past a multiple of 8 are not a whole number of bytes */
        if (k < GAUTH_SECRET_MIN || k % 8 == 1 || k % 8 == 3 || k % 8 == 6)
                goto out;
        r = totp_base32_decode(f->secret_b32, bytes, sizeof(bytes), &blen);
        if (r < 0 || blen < 10 || blen > TOTP_SECRET_MAX) {
                r = -EINVAL;
                goto out;
        }
        f->secret_len = blen;
        r = 0;
out:
        seal_wipe(bytes, sizeof(bytes));
        return r;
}

enum opt_id {
        OPT_RATE_LIMIT,
        OPT_WINDOW_SIZE,
        OPT_DISALLOW_REUSE,
        OPT_TOTP_AUTH,
        OPT_HOTP_COUNTER,
        OPT_STEP_SIZE,
        OPT_TIME_SKEW,
        OPT_RESETTING_TIME_SKEW,
        OPT_LAST, /* LAST0 .. LAST9 */
        OPT_UNKNOWN,
};

static const char *const opt_names[] = {
        [OPT_RATE_LIMIT] = "RATE_LIMIT",         [OPT_WINDOW_SIZE] = "WINDOW_SIZE",
        [OPT_DISALLOW_REUSE] = "DISALLOW_REUSE", [OPT_TOTP_AUTH] = "TOTP_AUTH",
        [OPT_HOTP_COUNTER] = "HOTP_COUNTER",     [OPT_STEP_SIZE] = "STEP_SIZE",
        [OPT_TIME_SKEW] = "TIME_SKEW",           [OPT_RESETTING_TIME_SKEW] = "RESETTING_TIME_SKEW",
};

#define DISALLOW_MAX 128 /* steps listed in DISALLOW_REUSE */

/* One `" KEY value` line (the two leading characters already checked). SEEN holds the bits
 * of options met so far, of LAST0..9 too (bits OPT_UNKNOWN + 0..9). */
static int parse_option(const char *line, size_t n, size_t lineno, struct gauth_file *f, uint32_t *seen, char *err,
                        size_t errlen)
{
        char key[40];
        size_t klen = 0, i = 2, off[DISALLOW_MAX], len[DISALLOW_MAX], nw;
        const char *val;
        size_t vlen;
        enum opt_id id = OPT_UNKNOWN;
        unsigned bit;
        bool more;
        int64_t x;

        while (i < n && line[i] != ' ' && line[i] != '\t') {
                char c = line[i];

                if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') || klen + 1 >= sizeof(key))
                        return perr(-EINVAL, err, errlen, lineno, "an option line with an invalid option name");
                key[klen++] = c;
                i++;
        }
        key[klen] = '\0';
        if (klen == 0)
                return perr(-EINVAL, err, errlen, lineno, "an option line without an option name");
        val = line + i;
        vlen = n - i;
        for (size_t o = 0; o < sizeof(opt_names) / sizeof(opt_names[0]); o++)
                if (opt_names[o] && strcmp(key, opt_names[o]) == 0)
                        id = (enum opt_id)o;
        if (id == OPT_UNKNOWN && klen == 5 && memcmp(key, "LAST", 4) == 0 && key[4] >= '0' && key[4] <= '9')
                id = OPT_LAST;
        bit = id == OPT_LAST ? OPT_UNKNOWN + (unsigned)(key[4] - '0') : (unsigned)id;
        if (id != OPT_UNKNOWN) {
                if (*seen & (1u << bit)) {
                        char what[96];
                        (void)snprintf(what, sizeof(what), "option %s appears twice", key);
                        return perr(-EINVAL, err, errlen, lineno, what);
                }
                *seen |= 1u << bit;
        }
        nw = words(val, vlen, off, len, DISALLOW_MAX, &more);
        switch (id) {
        case OPT_TOTP_AUTH:
                if (nw != 0)
                        return perr(-EINVAL, err, errlen, lineno, "TOTP_AUTH takes no value");
                f->totp_auth = true;
                return 0;
        case OPT_STEP_SIZE:
        case OPT_WINDOW_SIZE:
                if (nw != 1 || parse_num(val + off[0], len[0], &x) < 0 || x < 1 ||
                    x > (id == OPT_STEP_SIZE ? TOTP_PERIOD_MAX : 100))
                        return perr(-EINVAL, err, errlen, lineno,
                                    id == OPT_STEP_SIZE ? "STEP_SIZE must be 1 to 60 (seconds)"
                                                        : "WINDOW_SIZE must be 1 to 100");
                if (id == OPT_STEP_SIZE)
                        f->step = (unsigned)x;
                else {
                        f->window = (unsigned)x;
                        f->window_set = true;
                }
                return 0;
        case OPT_HOTP_COUNTER:
                if (nw != 1 || parse_num(val + off[0], len[0], &x) < 0)
                        return perr(-EINVAL, err, errlen, lineno, "HOTP_COUNTER must be a number");
                f->hotp = true;
                return 0;
        case OPT_RATE_LIMIT:
                /* n m, then the times of recent attempts */
                if (nw < 2 || more || parse_num(val + off[0], len[0], &x) < 0 || x < 1 || x > 100)
                        return perr(-EINVAL, err, errlen, lineno,
                                    "RATE_LIMIT must be 'attempts seconds' (1-100, 1-3600)");
                f->rate_attempts = (unsigned)x;
                if (parse_num(val + off[1], len[1], &x) < 0 || x < 1 || x > 3600)
                        return perr(-EINVAL, err, errlen, lineno,
                                    "RATE_LIMIT must be 'attempts seconds' (1-100, 1-3600)");
                f->rate_seconds = (unsigned)x;
                for (size_t w = 2; w < nw; w++)
                        if (parse_num(val + off[w], len[w], &x) < 0)
                                return perr(-EINVAL, err, errlen, lineno,
                                            "RATE_LIMIT lists a time that is not a number");
                f->rate_limit = true;
                return 0;
        case OPT_DISALLOW_REUSE:
                if (more)
                        return perr(-EINVAL, err, errlen, lineno, "DISALLOW_REUSE lists too many steps");
                for (size_t w = 0; w < nw; w++) {
                        if (parse_num(val + off[w], len[w], &x) < 0 || x > INT32_MAX)
                                return perr(-EINVAL, err, errlen, lineno,
                                            "DISALLOW_REUSE lists a step that is not a number");
                        if (x > f->last_step)
                                f->last_step = x;
                }
                f->disallow_reuse = true;
                return 0;
        case OPT_TIME_SKEW: {
                bool neg = nw == 1 && len[0] > 1 && (val[off[0]] == '-' || val[off[0]] == '+');

                if (nw != 1 || parse_num(val + off[0] + neg, len[0] - neg, &x) < 0 || x > 1000000)
                        return perr(-EINVAL, err, errlen, lineno, "TIME_SKEW must be a number of steps");
                f->time_skew = true;
                f->time_skew_steps = neg && val[off[0]] == '-' ? -(long)x : (long)x;
                return 0;
        }
        case OPT_RESETTING_TIME_SKEW:
        case OPT_LAST:
                f->state_ignored = true;
                return 0;
        default:
                for (size_t u = 0; u < f->n_unknown; u++)
                        if (strcmp(f->unknown[u], key) == 0)
                                return perr(-EINVAL, err, errlen, lineno, "an unknown option appears twice");
                if (f->n_unknown == sizeof(f->unknown) / sizeof(f->unknown[0]))
                        return perr(-EINVAL, err, errlen, lineno, "too many unknown options");
                memcpy(f->unknown[f->n_unknown++], key, klen + 1);
                return 0;
        }
}

/* An eight-digit scratch code, 10000000..99999999 as the module accepts them. */
static bool scratch_shape(const char *line, size_t n)
{
        if (n != GAUTH_SCRATCH_DIGITS || line[0] < '1' || line[0] > '9')
                return false;
        for (size_t i = 1; i < n; i++)
                if (line[i] < '0' || line[i] > '9')
                        return false;
        return true;
}

static int add_scratch(struct gauth_file *f, const char *line, size_t lineno, char *err, size_t errlen)
{
        char code[GAUTH_SCRATCH_DIGITS + 1];
        bool dup = false;

        memcpy(code, line, GAUTH_SCRATCH_DIGITS);
        code[GAUTH_SCRATCH_DIGITS] = '\0';
        for (size_t i = 0; i < f->n_scratch; i++)
                dup |= seal_equal(f->scratch[i], code, GAUTH_SCRATCH_DIGITS);
        if (dup)
                f->n_scratch_dup++;
        else if (f->n_scratch == GAUTH_SCRATCH_MAX) {
                seal_wipe(code, sizeof(code));
                return perr(-E2BIG, err, errlen, lineno, "more than 10 scratch codes");
        } else
                memcpy(f->scratch[f->n_scratch++], code, sizeof(code));
        seal_wipe(code, sizeof(code));
        return 0;
}

int gauth_parse(const char *buf, size_t len, struct gauth_file *ret, char *err, size_t errlen)
{
        struct gauth_file f = {.step = GAUTH_STEP_DEFAULT, .window = GAUTH_WINDOW_DEFAULT, .last_step = -1};
        uint32_t seen = 0;
        size_t pos = 0, lineno = 0;
        int r = 0;

        if (err && errlen)
                err[0] = '\0';
        if (!buf || !ret)
                return -EINVAL;
        if (len > GAUTH_FILE_MAX)
                return perr(-EMSGSIZE, err, errlen, 0, "the file is larger than 4096 bytes");
        if (len == 0)
                return perr(-EINVAL, err, errlen, 0, "the file is empty: no secret");
        if (memchr(buf, '\0', len))
                return perr(-EINVAL, err, errlen, 0, "the file holds a NUL byte");
        while (pos < len && r >= 0) {
                const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - line) : len - pos;

                pos += n + (nl ? 1 : 0);
                lineno++;
                if (n > 0 && line[n - 1] == '\r') /* a file edited on another system */
                        n--;
                if (n > GAUTH_LINE_MAX) {
                        r = perr(-EINVAL, err, errlen, lineno, "the line is too long");
                        break;
                }
                if (lineno == 1) {
                        r = parse_secret(line, n, &f);
                        if (r < 0)
                                r = perr(-EINVAL, err, errlen, 1,
                                         n == 0 ? "no secret on the first line"
                                                : "the first line is not a base32 secret of 16 to 127 characters "
                                                  "(A-Z, 2-7, no padding)");
                        continue;
                }
                if (n == 0)
                        continue; /* the module skips blank lines */
                if (line[0] == '"') {
                        if (n < 2 || line[1] != ' ')
                                r = perr(-EINVAL, err, errlen, lineno, "an option line must start with '\" '");
                        else
                                r = parse_option(line, n, lineno, &f, &seen, err, errlen);
                        continue;
                }
                if (scratch_shape(line, n))
                        r = add_scratch(&f, line, lineno, err, errlen);
                else
                        r = perr(-EINVAL, err, errlen, lineno, "neither an option nor an eight-digit scratch code");
        }
        if (r >= 0 && f.hotp && f.totp_auth)
                r = perr(-EINVAL, err, errlen, 0, "the file has both TOTP_AUTH and HOTP_COUNTER");
        if (r >= 0 && f.hotp) {
                /* the caller says what this means; nothing else of the file is used */
                memcpy(ret, &f, sizeof(f));
                seal_wipe(&f, sizeof(f));
                return perr(-EOPNOTSUPP, err, errlen, 0, "a counter-based (HOTP) file");
        }
        if (r >= 0)
                memcpy(ret, &f, sizeof(f));
        seal_wipe(&f, sizeof(f));
        return r;
}

void gauth_clear(struct gauth_file *f)
{
        if (f)
                seal_wipe(f, sizeof(*f));
}

static void note(char (*ret)[GAUTH_NOTE_MAX], size_t max, size_t *n, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void note(char (*ret)[GAUTH_NOTE_MAX], size_t max, size_t *n, const char *fmt, ...)
{
        va_list ap;

        if (*n >= max)
                return;
        va_start(ap, fmt);
        (void)vsnprintf(ret[*n], GAUTH_NOTE_MAX, fmt, ap);
        va_end(ap);
        (*n)++;
}

size_t gauth_notes(const struct gauth_file *f, const struct mlsec_conf *c, char (*ret)[GAUTH_NOTE_MAX], size_t max)
{
        size_t n = 0;

        if (!f || !c || !ret)
                return 0;
        /* WINDOW_SIZE W accepts the codes of -(W-1)/2 .. W/2 steps around now */
        if ((f->window - 1) / 2 != c->window || f->window / 2 != c->window)
                note(ret, max, &n,
                     "WINDOW_SIZE %u (codes from %u step%s before to %u after now) is not carried over: mlsec accepts "
                     "codes up to window = %u step%s either side (mlsec.conf), of %u s each for this device",
                     f->window, (f->window - 1) / 2, (f->window - 1) / 2 == 1 ? "" : "s", f->window / 2, c->window,
                     c->window == 1 ? "" : "s", f->step);
        if (f->rate_limit)
                note(ret, max, &n,
                     "RATE_LIMIT %u %u is not carried over: mlsec locks a source for %u s after max_failures = %u "
                     "failures within %u s, and every remote source after max_user_failures = %u (mlsec.conf)",
                     f->rate_attempts, f->rate_seconds, c->lockout_seconds, c->max_failures, c->failure_window,
                     c->max_user_failures);
        if (!f->disallow_reuse)
                note(ret, max, &n,
                     "the file allowed a code to be used again (no DISALLOW_REUSE): mlsec always refuses a code "
                     "already used");
        if (f->time_skew)
                note(ret, max, &n,
                     "TIME_SKEW %ld (a clock offset google-authenticator learnt) is not carried over: mlsec refuses "
                     "a drifting code and tells the user to fix the authenticator's clock",
                     f->time_skew_steps);
        if (f->state_ignored)
                note(ret, max, &n,
                     "RESETTING_TIME_SKEW and LAST0..LAST9 are google-authenticator's own state: ignored");
        if (!f->totp_auth)
                note(ret, max, &n, "no TOTP_AUTH line: read as time-based, as pam_google_authenticator does");
        for (size_t i = 0; i < f->n_unknown; i++)
                note(ret, max, &n, "unknown option %s ignored", f->unknown[i]);
        if (f->n_scratch_dup)
                note(ret, max, &n, "%zu repeated scratch code%s kept once", f->n_scratch_dup,
                     f->n_scratch_dup == 1 ? "" : "s");
        if (f->n_scratch == 0)
                note(ret, max, &n,
                     "the file has no scratch codes: the user has no backup codes until 'mlsecctl backup-codes "
                     "regenerate'");
        return n;
}

static bool scratch_valid(const char *s)
{
        return strnlen(s, GAUTH_SCRATCH_DIGITS + 1) == GAUTH_SCRATCH_DIGITS && scratch_shape(s, GAUTH_SCRATCH_DIGITS);
}

int gauth_import(struct store *s, const struct seal_key *k, const struct gauth_import *req, unsigned *ret_replaced)
{
        const char *name = req && req->device ? req->device : GAUTH_DEVICE_DEFAULT;
        uint8_t secret[TOTP_SECRET_MAX], hashes[GAUTH_SCRATCH_MAX][SEAL_HASH_BYTES];
        struct store_device *devs = NULL;
        uint8_t *sealed = NULL;
        size_t slen = 0, sealed_len = 0, ndev = 0;
        unsigned removed = 0;
        int r;

        if (!s || !k || !req || !req->secret_b32 || !util_user_valid(req->user) || !enroll_device_name_valid(name) ||
            (req->digits != 6 && req->digits != 8) || req->period < TOTP_PERIOD_MIN || req->period > TOTP_PERIOD_MAX ||
            req->last_step < -1 || req->n_scratch > GAUTH_SCRATCH_MAX || (req->n_scratch && !req->scratch))
                return -EINVAL;
        for (size_t i = 0; i < req->n_scratch; i++)
                if (!scratch_valid(req->scratch[i]))
                        return -EINVAL;
        r = totp_base32_decode(req->secret_b32, secret, sizeof(secret), &slen);
        if (r < 0 || slen < 10) {
                r = -EINVAL;
                goto out;
        }
        r = seal_encrypt(k, req->user, secret, slen, &sealed, &sealed_len);
        for (size_t i = 0; r >= 0 && i < req->n_scratch; i++)
                r = seal_hash_code(k, req->user, req->scratch[i], hashes[i]);
        if (r < 0)
                goto out;
        r = store_begin(s);
        if (r < 0)
                goto out;
        r = store_list_devices(s, req->user, &devs, &ndev);
        store_devices_free(devs, ndev);
        if (r >= 0 && ndev > 0 && !req->replace)
                r = -EEXIST;
        if (r >= 0 && ndev > 0)
                r = store_remove_user_mfa(s, req->user, &removed);
        if (r >= 0)
                r = store_add_device_period(s, req->user, name, TOTP_SHA1, req->digits, req->period, req->last_step,
                                            sealed, sealed_len, req->now);
        if (r >= 0)
                r = store_replace_backup_codes(s, req->user, (const uint8_t(*)[SEAL_HASH_BYTES])hashes, req->n_scratch,
                                               req->now);
        if (r >= 0)
                r = store_commit(s);
        else
                (void)store_rollback(s);
        if (r >= 0 && removed)
                (void)store_checkpoint(s); /* the replaced secrets' pages overwritten now */
        if (r >= 0 && ret_replaced)
                *ret_replaced = removed;
out:
        seal_wipe(secret, sizeof(secret));
        seal_wipe(hashes, sizeof(hashes));
        if (sealed)
                seal_wipe(sealed, sealed_len);
        free(sealed);
        return r;
}
