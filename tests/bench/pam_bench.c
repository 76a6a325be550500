/* SPDX-License-Identifier: MIT */
/* The login benchmark driver: in one process, times pam_start + pam_authenticate + pam_end
 * through a private PAM service directory, answering each prompt with a fresh TOTP code of
 * the next user, and prints p50/p99/mean in microseconds. A refused login makes it fail
 * loudly: the timing of failures means nothing. It only ever reads a bench secrets file. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "seal.h"
#include "totp.h"
#include "util.h"

#define BENCH_DIGITS         6
#define BENCH_WARMUP_DEFAULT 10
#define BENCH_FAILURES_SHOWN 5
#define BENCH_MSG_MAX        256
/* A code for the previous step is only used this long before the step ends, so that it is
 * still inside the window when the module checks it. */
#define BENCH_GUARD_MS 500

struct bench_user {
        char name[UTIL_USER_MAX];
        uint8_t secret[TOTP_SECRET_MAX];
        size_t secret_len;
        int64_t last_step; /* newest step whose code this run has used; -1 when none */
};

struct conv_state {
        const char *code;
        unsigned prompts;
        char message[BENCH_MSG_MAX]; /* the module's last info/error text */
};

struct bench {
        const char *service;
        const char *confdir;
        struct bench_user *users;
        size_t n_users;
        size_t cursor;
        bool mfa;                 /* the service must prompt for the code and refuse a wrong one */
        const char *refused_user; /* -R: every login is this user with a wrong code, refused */
        unsigned procs;           /* -P: this many processes log in at once */
        bool verbose;
};

struct login {
        int pam_start;
        int pam_auth;
        int pam_end;
        unsigned prompts;
        uint64_t ns;
        char message[BENCH_MSG_MAX];
};

static int conv(int num_msg, const struct pam_message **msg, struct pam_response **resp, void *data)
{
        struct conv_state *st = data;
        struct pam_response *replies;

        if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG)
                return PAM_CONV_ERR;
        replies = calloc((size_t)num_msg, sizeof(*replies));
        if (!replies)
                return PAM_BUF_ERR;
        for (int i = 0; i < num_msg; i++) {
                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                case PAM_PROMPT_ECHO_ON:
                        st->prompts++;
                        replies[i].resp = strdup(st->code);
                        if (!replies[i].resp)
                                goto fail;
                        break;
                case PAM_ERROR_MSG:
                case PAM_TEXT_INFO:
                        snprintf(st->message, sizeof(st->message), "%s", msg[i]->msg ? msg[i]->msg : "");
                        break;
                default:
                        goto fail;
                }
        }
        *resp = replies;
        return PAM_SUCCESS;
fail:
        for (int i = 0; i < num_msg; i++)
                replies[i].resp = seal_wipe_free_str(replies[i].resp);
        free(replies);
        return PAM_CONV_ERR;
}

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

static uint64_t now_ns(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One login of USER answering CODE; what a real sshd login does in PAM's auth phase. */
static void run_login(const struct bench *b, const char *user, const char *code, bool no_fail_delay, struct login *ret)
{
        struct conv_state st = {.code = code};
        const struct pam_conv pc = {.conv = conv, .appdata_ptr = &st};
        pam_handle_t *pamh = NULL;
        uint64_t t0, t1;

        *ret = (struct login){.pam_auth = PAM_AUTH_ERR, .pam_end = PAM_SUCCESS};
        t0 = now_ns();
        ret->pam_start = pam_start_confdir(b->service, user, &pc, b->confdir, &pamh);
        if (ret->pam_start == PAM_SUCCESS) {
                (void)pam_set_item(pamh, PAM_RHOST, "192.0.2.1");
                (void)pam_set_item(pamh, PAM_TTY, "ssh");
                if (no_fail_delay)
                        (void)pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
                ret->pam_auth = pam_authenticate(pamh, 0);
                ret->pam_end = pam_end(pamh, ret->pam_auth);
        }
        t1 = now_ns();
        ret->ns = t1 - t0;
        ret->prompts = st.prompts;
        memcpy(ret->message, st.message, sizeof(ret->message));
}

static bool login_ok(const struct bench *b, const struct login *l)
{
        return l->pam_start == PAM_SUCCESS && l->pam_auth == PAM_SUCCESS && l->pam_end == PAM_SUCCESS &&
               (!b->mfa || l->prompts > 0);
}

static void describe_failure(const char *user, const struct login *l)
{
        char esc[BENCH_MSG_MAX];

        fprintf(stderr,
                "pam_bench: login of %s FAILED: pam_start %s, pam_authenticate %s, pam_end %s, "
                "%u prompt(s), module said \"%s\"\n",
                user, pam_strerror(NULL, l->pam_start), pam_strerror(NULL, l->pam_auth), pam_strerror(NULL, l->pam_end),
                l->prompts, util_escape(l->message, esc, sizeof(esc)));
}

/* The next user with a code not yet used in this run, and that code's step: the previous,
 * current or next step (the window of every module measured), each step at most once per
 * user and in increasing order, since every MFA module refuses a replayed step. */
static void pick(struct bench *b, struct bench_user **ret_user, uint64_t *ret_step)
{
        for (;;) {
                struct timespec ts;

                (void)clock_gettime(CLOCK_REALTIME, &ts);
                int64_t step = (int64_t)totp_step(ts.tv_sec);
                int64_t ms_left = ((step + 1) * TOTP_PERIOD - ts.tv_sec) * 1000 - ts.tv_nsec / 1000000;
                int64_t first = ms_left < BENCH_GUARD_MS ? step : step - 1;

                for (size_t i = 0; i < b->n_users; i++) {
                        size_t idx = (b->cursor + i) % b->n_users;
                        struct bench_user *u = &b->users[idx];
                        int64_t want = u->last_step + 1 > first ? u->last_step + 1 : first;

                        if (want > step + 1)
                                continue;
                        u->last_step = want;
                        b->cursor = (idx + 1) % b->n_users;
                        *ret_user = u;
                        *ret_step = (uint64_t)want;
                        return;
                }
                /* Every user has used every code the window allows: wait for the next step. */
                int64_t wait_ms = ms_left + 50;
                struct timespec d = {.tv_sec = (time_t)(wait_ms / 1000), .tv_nsec = (long)(wait_ms % 1000) * 1000000};
                fprintf(stderr, "pam_bench: %s: every user used this step's codes, waiting %.1f s\n", b->service,
                        (double)wait_ms / 1000.0);
                (void)nanosleep(&d, NULL);
        }
}

static int hex_decode(const char *in, uint8_t *out, size_t outmax, size_t *ret_len)
{
        size_t len = strlen(in), i;

        if (len == 0 || len % 2 != 0 || len / 2 > outmax)
                return -EINVAL;
        for (i = 0; i < len / 2; i++) {
                unsigned v;
                if (sscanf(in + 2 * i, "%2x", &v) != 1)
                        return -EINVAL;
                out[i] = (uint8_t)v;
        }
        *ret_len = i;
        return 0;
}

static int load_secrets(const char *path, struct bench_user **ret, size_t *ret_n)
{
        struct bench_user *users = NULL;
        size_t n = 0, cap = 0;
        char *line = NULL;
        size_t linecap = 0;
        unsigned lineno = 0;
        int r = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        while (getline(&line, &linecap, f) > 0) {
                char user[UTIL_USER_MAX], b32[TOTP_BASE32_MAX], hex[2 * TOTP_SECRET_MAX + 1];

                lineno++;
                if (n == cap) {
                        size_t ncap = cap ? 2 * cap : 1024;
                        struct bench_user *nu = realloc(users, ncap * sizeof(*nu));
                        if (!nu) {
                                r = -ENOMEM;
                                break;
                        }
                        users = nu;
                        cap = ncap;
                }
                struct bench_user *u = &users[n];
                if (sscanf(line, "%63s %127s %128s", user, b32, hex) != 3 || !util_user_valid(user) ||
                    hex_decode(hex, u->secret, sizeof(u->secret), &u->secret_len) < 0) {
                        fprintf(stderr, "pam_bench: %s:%u: not \"user base32 hex\"\n", path, lineno);
                        r = -EINVAL;
                        break;
                }
                snprintf(u->name, sizeof(u->name), "%s", user);
                u->last_step = -1;
                n++;
                seal_wipe(b32, sizeof(b32));
                seal_wipe(hex, sizeof(hex));
        }
        if (line) {
                seal_wipe(line, linecap);
                free(line);
        }
        (void)fclose(f);
        if (r == 0 && n == 0)
                r = -ENODATA;
        if (r < 0) {
                if (users)
                        seal_wipe(users, cap * sizeof(*users));
                free(users);
                return r;
        }
        *ret = users;
        *ret_n = n;
        return 0;
}

/* A module under test must refuse a wrong code, or the timings would be of a no-op. */
static int check_refuses_wrong_code(struct bench *b)
{
        struct bench_user *u = &b->users[b->n_users - 1];
        char code[TOTP_CODE_MAX];
        struct login l;
        int r;

        r = totp_generate(u->secret, u->secret_len, TOTP_SHA1, BENCH_DIGITS, totp_step(time(NULL)), code);
        if (r < 0)
                return r;
        code[BENCH_DIGITS - 1] = (char)('0' + (code[BENCH_DIGITS - 1] - '0' + 1) % 10);
        run_login(b, u->name, code, true, &l);
        seal_wipe(code, sizeof(code));
        if (l.pam_start == PAM_SUCCESS && l.pam_auth != PAM_SUCCESS && l.prompts > 0)
                return 0;
        fprintf(stderr,
                "pam_bench: %s: a wrong code for %s was not refused after a prompt "
                "(pam_authenticate %s, %u prompt(s)): the service does not check codes\n",
                b->service, u->name, pam_strerror(NULL, l.pam_auth), l.prompts);
        return -EPROTO;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted V. */
static double percentile_us(const uint64_t *v, size_t n, unsigned pct)
{
        size_t rank = (n * pct + 99) / 100;
        return (double)v[rank > 0 ? rank - 1 : 0] / 1000.0;
}

static int print_timings(const char *label, size_t n_users, uint64_t *ns, unsigned long count)
{
        double sum = 0;

        qsort(ns, count, sizeof(*ns), cmp_u64);
        for (unsigned long i = 0; i < count; i++)
                sum += (double)ns[i];
        printf("%s %zu %lu %.1f %.1f %.1f\n", label, n_users, count, percentile_us(ns, count, 50),
               percentile_us(ns, count, 99), sum / (double)count / 1000.0);
        return fflush(stdout) == 0 ? 0 : -EIO;
}

/* -R: COUNT refused logins of one user. Each must prompt, be refused and not be a lockout
 * (a locked source is refused before any work, which would time something else). */
static int time_refusals(const struct bench *b, const char *label, unsigned long warmup, unsigned long count)
{
        uint64_t *ns = calloc(count, sizeof(*ns));
        int r = 0;

        if (!ns)
                return -ENOMEM;
        for (unsigned long i = 0; i < warmup + count; i++) {
                char code[BENCH_DIGITS + 1];
                struct login l;

                snprintf(code, sizeof(code), "%06lu", (i * 7919UL) % 1000000UL);
                run_login(b, b->refused_user, code, true, &l);
                if (l.pam_start != PAM_SUCCESS || l.pam_auth == PAM_SUCCESS || l.prompts == 0 ||
                    strstr(l.message, "Too many")) {
                        describe_failure(b->refused_user, &l);
                        fprintf(stderr, "pam_bench: %s: a wrong code must be refused after a prompt, unlocked\n",
                                label);
                        r = -EPROTO;
                        break;
                }
                if (i >= warmup)
                        ns[i - warmup] = l.ns;
        }
        if (r >= 0)
                r = print_timings(label, 1, ns, count);
        free(ns);
        return r;
}

/* WARMUP untimed logins, then COUNT timed ones into NS, each a fresh code of the next user.
 * With SYNC (-P), between the two: say "ready" on SYNC[1] and close it, wait for the start
 * (end of file) on SYNC[0]. */
static int time_logins(struct bench *b, const char *label, unsigned long warmup, unsigned long count, uint64_t *ns,
                       const int *sync)
{
        unsigned failures = 0;

        for (unsigned long i = 0; i < warmup + count; i++) {
                struct bench_user *u;
                uint64_t step;
                char code[TOTP_CODE_MAX];
                struct login l;
                int r;

                if (sync && i == warmup) {
                        char c;
                        bool ok = write(sync[1], "r", 1) == 1;

                        /* closed once written: a child that died in its warm-up ends the wait */
                        (void)close(sync[1]);
                        if (!ok || read(sync[0], &c, 1) < 0)
                                return -EIO;
                }
                pick(b, &u, &step);
                r = totp_generate(u->secret, u->secret_len, TOTP_SHA1, BENCH_DIGITS, step, code);
                if (r < 0) {
                        fprintf(stderr, "pam_bench: totp_generate: %s\n", strerror(-r));
                        return r;
                }
                run_login(b, u->name, code, false, &l);
                seal_wipe(code, sizeof(code));
                if (b->verbose)
                        fprintf(stderr, "%s %s %" PRIu64 " %.1f%s\n", label, u->name, step, (double)l.ns / 1000.0,
                                i < warmup ? " warm-up" : "");
                if (!login_ok(b, &l)) {
                        if (++failures <= BENCH_FAILURES_SHOWN)
                                describe_failure(u->name, &l);
                        if (failures >= 2 * BENCH_FAILURES_SHOWN)
                                break;
                        continue;
                }
                if (i >= warmup)
                        ns[i - warmup] = l.ns;
        }
        if (failures > 0) {
                fprintf(stderr, "pam_bench: %s: %u login(s) FAILED; no timings reported\n", label, failures);
                return -EPROTO;
        }
        return 0;
}

/* -P: PROCS processes at once, each COUNT logins of its own share of the users (every
 * PROCS-th), started together after their warm-up. Prints the timings of all of them and,
 * as a seventh field, the logins per second of the whole run. */
static int time_parallel(struct bench *b, const char *label, unsigned long warmup, unsigned long count)
{
        size_t total = (size_t)b->procs * count;
        uint64_t *ns = mmap(NULL, total * sizeof(*ns), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        int ready[2] = {-1, -1}, go[2] = {-1, -1};
        unsigned started = 0, failed = 0;
        uint64_t t0 = 0, t1;
        int r = 0;

        if (ns == MAP_FAILED)
                return -ENOMEM;
        if (b->n_users < b->procs || pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
                r = b->n_users < b->procs ? -EINVAL : -errno;
                goto out;
        }
        for (unsigned p = 0; p < b->procs; p++) {
                pid_t pid = fork();

                if (pid < 0) {
                        r = -errno;
                        break;
                }
                if (pid == 0) {
                        size_t n = 0;
                        int sync[2] = {go[0], ready[1]};

                        /* the start is the end of file on go: no child may hold its write end */
                        (void)close(go[1]);
                        (void)close(ready[0]);

                        for (size_t i = p; i < b->n_users; i += b->procs)
                                b->users[n++] = b->users[i];
                        b->n_users = n;
                        b->cursor = 0;
                        _exit(time_logins(b, label, warmup, count, ns + (size_t)p * count, sync) < 0 ? 1 : 0);
                }
                started++;
        }
        (void)close(ready[1]);
        ready[1] = -1;
        for (unsigned p = 0; p < started; p++) {
                char c;
                if (read(ready[0], &c, 1) != 1) {
                        r = -EPROTO; /* a child failed in its warm-up */
                        break;
                }
        }
        t0 = now_ns();
        (void)close(go[1]); /* every child's read returns: go */
        go[1] = -1;
        for (unsigned p = 0; p < started; p++) {
                int st;
                if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        failed++;
        }
        t1 = now_ns();
        if (r == 0 && (failed || started < b->procs))
                r = -EPROTO;
        if (r == 0) {
                double rate = (double)total / ((double)(t1 - t0) / 1e9);
                double sum = 0;

                qsort(ns, total, sizeof(*ns), cmp_u64);
                for (size_t i = 0; i < total; i++)
                        sum += (double)ns[i];
                printf("%s %zu %zu %.1f %.1f %.1f %.0f\n", label, b->n_users, total, percentile_us(ns, total, 50),
                       percentile_us(ns, total, 99), sum / (double)total / 1000.0, rate);
                r = fflush(stdout) == 0 ? 0 : -EIO;
        } else
                fprintf(stderr, "pam_bench: %s: %u of %u processes FAILED; no timings reported\n", label,
                        failed + b->procs - started, b->procs);
out:
        for (int i = 0; i < 2; i++) {
                if (ready[i] >= 0)
                        (void)close(ready[i]);
                if (go[i] >= 0)
                        (void)close(go[i]);
        }
        (void)munmap(ns, total * sizeof(*ns));
        return r;
}

static void usage(const char *prog)
{
        fprintf(stderr,
                "usage: %s [-mv] [-w WARMUP] [-l LABEL] SERVICE CONFDIR SECRETS_FILE COUNT\n"
                "Times COUNT logins (pam_start+pam_authenticate+pam_end) of SERVICE from the PAM\n"
                "service directory CONFDIR, users and secrets from SECRETS_FILE (bench_setup).\n"
                "  -m         MFA service: every login must prompt, and a wrong code must be refused\n"
                "  -w WARMUP  untimed logins first (default %d)\n"
                "  -l LABEL   name printed in the result line (default SERVICE)\n"
                "  -v         print every login (user, step, microseconds) on stderr\n"
                "  -R USER    every login is USER answering a wrong code, and must be refused after a\n"
                "             prompt without a lockout (the time a refusal takes; SECRETS_FILE unused)\n"
                "  -P PROCS   PROCS processes at once, each COUNT logins of every PROCS-th user,\n"
                "             started together after their warm-up; adds LOGINS_PER_S to the line\n"
                "  -s SKIP    leave out the first SKIP users of SECRETS_FILE (used by an earlier run)\n"
                "Prints \"LABEL USERS LOGINS P50_US P99_US MEAN_US\" on stdout; exits 1 when any\n"
                "login failed.\n",
                prog, BENCH_WARMUP_DEFAULT);
}

int main(int argc, char **argv)
{
        struct bench b = {0};
        const char *label = NULL;
        unsigned long warmup = BENCH_WARMUP_DEFAULT, count, skip = 0;
        uint64_t *ns = NULL;
        int c, r;

        while ((c = getopt(argc, argv, "mvw:l:R:P:s:h")) != -1) {
                switch (c) {
                case 's':
                        skip = strtoul(optarg, NULL, 10);
                        break;
                case 'P':
                        b.procs = (unsigned)strtoul(optarg, NULL, 10);
                        if (b.procs < 1 || b.procs > 64) {
                                usage(argv[0]);
                                return 2;
                        }
                        break;
                case 'R':
                        b.refused_user = optarg;
                        break;
                case 'm':
                        b.mfa = true;
                        break;
                case 'v':
                        b.verbose = true;
                        break;
                case 'w':
                        warmup = strtoul(optarg, NULL, 10);
                        break;
                case 'l':
                        label = optarg;
                        break;
                default:
                        usage(argv[0]);
                        return c == 'h' ? 0 : 2;
                }
        }
        if (argc - optind != 4) {
                usage(argv[0]);
                return 2;
        }
        b.service = argv[optind];
        b.confdir = argv[optind + 1];
        count = strtoul(argv[optind + 3], NULL, 10);
        if (count == 0 || count > 10000000) {
                usage(argv[0]);
                return 2;
        }
        if (!label)
                label = b.service;

        r = totp_init();
        if (r < 0) {
                fprintf(stderr, "pam_bench: totp_init: %s\n", strerror(-r));
                return 1;
        }
        if (b.refused_user) {
                r = time_refusals(&b, label, warmup, count);
                goto out;
        }
        r = load_secrets(argv[optind + 2], &b.users, &b.n_users);
        if (r < 0) {
                fprintf(stderr, "pam_bench: %s: %s\n", argv[optind + 2], strerror(-r));
                return 1;
        }
        if (skip >= b.n_users) {
                fprintf(stderr, "pam_bench: -s %lu: %s has %zu users\n", skip, argv[optind + 2], b.n_users);
                r = -EINVAL;
                goto out;
        }
        if (skip > 0) {
                seal_wipe(b.users, skip * sizeof(*b.users));
                memmove(b.users, b.users + skip, (b.n_users - skip) * sizeof(*b.users));
                b.n_users -= skip;
        }
        ns = calloc(count, sizeof(*ns));
        if (!ns) {
                fprintf(stderr, "pam_bench: out of memory\n");
                r = -ENOMEM;
                goto out;
        }
        if (b.mfa) {
                r = check_refuses_wrong_code(&b);
                if (r < 0)
                        goto out;
        }

        r = b.procs > 1 ? time_parallel(&b, label, warmup, count) : time_logins(&b, label, warmup, count, ns, NULL);
        if (r < 0)
                goto out;
        if (b.procs <= 1)
                r = print_timings(label, b.n_users, ns, count);
out:
        free(ns);
        seal_wipe(b.users, b.n_users * sizeof(*b.users));
        free(b.users);
        return r < 0 ? 1 : 0;
}
