/* SPDX-License-Identifier: MIT */
/* Benchmark enrolment: N users bench00000.. with one random TOTP secret each, enrolled three
 * equivalent ways: in the mlsec credentials store through common/, as per-user
 * google-authenticator files and as one pam_oath users file. It also writes the secrets for
 * pam_bench; it is a test tool that only ever runs on a throw-away state directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "seal.h"
#include "store.h"
#include "totp.h"
#include "util.h"

#define BENCH_USERS_MAX     100000
#define BENCH_SECRET_BYTES  TOTP_SECRET_DEFAULT
#define BENCH_SCRATCH_CODES 5

struct outputs {
        FILE *secrets; /* "user base32 hex" */
        FILE *oath;    /* pam_oath users file */
        int ga_dir;    /* directory of google-authenticator secret files */
};

static FILE *create_file(const char *path, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return NULL;
        FILE *f = fdopen(fd, "w");
        if (!f)
                (void)close(fd);
        return f;
}

static int close_file(FILE **f)
{
        int r = 0;

        if (!*f)
                return 0;
        if (fflush(*f) != 0 || ferror(*f))
                r = -EIO;
        if (fclose(*f) != 0 && r == 0)
                r = errno > 0 ? -errno : -EIO;
        *f = NULL;
        return r;
}

static void to_hex(const uint8_t *in, size_t len, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 0xf];
        }
        out[2 * len] = '\0';
}

/* The file `google-authenticator -t -d -W` writes, without RATE_LIMIT: a rate limit of a few
 * logins per 30 seconds would refuse the benchmark's logins rather than time them. Written the
 * way pam_google_authenticator rewrites it after every login (temp file, fsync, rename), so
 * the first timed login replaces what a real login replaces: on an ext4 mounted with
 * `discard`, renaming over a file created in place measured ten times cheaper. */
static int write_ga_file(int dir, const char *user, const char *b32)
{
        char tmp[UTIL_USER_MAX + 2];
        FILE *f = NULL;
        int fd, r;

        snprintf(tmp, sizeof(tmp), "%s~", user);
        fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                (void)close(fd);
                goto fail;
        }
        fprintf(f, "%s\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n", b32);
        for (unsigned i = 0; i < BENCH_SCRATCH_CODES; i++)
                fprintf(f, "%08u\n", 10000000u + seal_random_uniform(90000000u));
        if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
                r = errno > 0 ? -errno : -EIO;
                (void)fclose(f);
                goto fail;
        }
        r = close_file(&f);
        if (r < 0)
                goto fail;
        if (renameat(dir, tmp, dir, user) < 0) {
                r = -errno;
                goto fail;
        }
        return 0;
fail:
        (void)unlinkat(dir, tmp, 0);
        return r;
}

static int enrol_one(struct store *s, const struct seal_key *k, struct outputs *o, const char *user, int64_t now)
{
        uint8_t secret[BENCH_SECRET_BYTES];
        char b32[TOTP_BASE32_MAX], hex[2 * BENCH_SECRET_BYTES + 1];
        uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        int r;

        seal_random(secret, sizeof(secret));
        r = totp_base32_encode(secret, sizeof(secret), b32, sizeof(b32));
        if (r < 0)
                goto out;
        to_hex(secret, sizeof(secret), hex);

        r = seal_encrypt(k, user, secret, sizeof(secret), &sealed, &sealed_len);
        if (r < 0)
                goto out;
        r = store_add_device(s, user, "phone", TOTP_SHA1, 6, sealed, sealed_len, now);
        if (r < 0)
                goto out;

        r = write_ga_file(o->ga_dir, user, b32);
        if (r < 0)
                goto out;
        if (fprintf(o->oath, "HOTP/T30/6 %s - %s\n", user, hex) < 0 ||
            fprintf(o->secrets, "%s %s %s\n", user, b32, hex) < 0)
                r = -EIO;
out:
        free(sealed);
        seal_wipe(secret, sizeof(secret));
        seal_wipe(b32, sizeof(b32));
        seal_wipe(hex, sizeof(hex));
        return r;
}

static int parse_count(const char *s, unsigned *ret)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v == 0 || v > BENCH_USERS_MAX)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

int main(int argc, char **argv)
{
        struct outputs o = {.ga_dir = -1};
        struct seal_key *k = NULL;
        struct store *s = NULL;
        bool in_tx = false;
        unsigned n;
        int r;

        if (argc != 7 || parse_count(argv[3], &n) < 0) {
                fprintf(stderr,
                        "usage: %s STATE_DIR KEY_FILE N SECRETS_FILE GA_DIR OATH_USERS_FILE\n"
                        "Enrols bench00000..bench<N-1> (N <= %u) into a new mlsec store, and the "
                        "same secrets\nas google-authenticator files in GA_DIR and as a pam_oath "
                        "users file.\n",
                        argv[0], BENCH_USERS_MAX);
                return 2;
        }
        const char *state_dir = argv[1], *key_file = argv[2], *secrets_path = argv[4], *ga_path = argv[5],
                   *oath_path = argv[6];
        const char *what = "init";

        umask(077);
        r = seal_init();
        if (r >= 0)
                r = totp_init();
        if (r < 0)
                goto out;

        what = key_file;
        r = seal_key_load(key_file, true, &k);
        if (r < 0)
                goto out;
        what = state_dir;
        r = store_open(state_dir, true, &s);
        if (r < 0)
                goto out;

        what = ga_path;
        if (mkdir(ga_path, 0700) < 0 && errno != EEXIST) {
                r = -errno;
                goto out;
        }
        o.ga_dir = open(ga_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (o.ga_dir < 0) {
                r = -errno;
                goto out;
        }
        what = secrets_path;
        o.secrets = create_file(secrets_path, 0600);
        if (!o.secrets) {
                r = -errno;
                goto out;
        }
        what = oath_path;
        o.oath = create_file(oath_path, 0600);
        if (!o.oath) {
                r = -errno;
                goto out;
        }

        /* One transaction for all users: one fsync instead of N. */
        what = "store_begin";
        r = store_begin(s);
        if (r < 0)
                goto out;
        in_tx = true;
        int64_t now = (int64_t)time(NULL);
        for (unsigned i = 0; i < n; i++) {
                char user[16];
                snprintf(user, sizeof(user), "bench%05u", i);
                what = user;
                r = enrol_one(s, k, &o, user, now);
                if (r < 0)
                        goto out;
        }
        what = "store_commit";
        r = store_commit(s);
        if (r < 0)
                goto out;
        in_tx = false;

        what = secrets_path;
        r = close_file(&o.secrets);
        if (r < 0)
                goto out;
        what = oath_path;
        r = close_file(&o.oath);
out:
        if (in_tx)
                (void)store_rollback(s);
        if (r < 0)
                fprintf(stderr, "bench_setup: %s: %s\n", what, strerror(-r));
        (void)close_file(&o.secrets);
        (void)close_file(&o.oath);
        if (o.ga_dir >= 0)
                (void)close(o.ga_dir);
        s = store_close(s);
        k = seal_key_free(k);
        return r < 0 ? 1 : 0;
}
