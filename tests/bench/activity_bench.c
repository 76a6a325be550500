/* SPDX-License-Identifier: MIT */
/* activity_bench STATE_DIR N_EVENTS...: what activity.db costs at scale. For each N it fills
 * a fresh activity.db with N login attempts of 10,000 users through activity_store_event
 * (batches of 10,000 per transaction), times one user's newest 50 logins (all, and failed
 * only) for 200 random users, warm and with the file out of the page cache, then fills a
 * second file of the same schema with plain batched INSERTs as the raw SQLite baseline, and
 * times one transaction per event with synchronous FULL and NORMAL. STATE_DIR must not
 * exist; it is left in place (about 650 MiB per million events).
 * MLSEC_BENCH_TIME_IDS=1 makes event ids start with the time, as a what-if for event_init.
 *
 * Build: make build/tests/activity_bench, or by hand:
 *   cc -std=gnu11 -O2 -g -Icommon -Imlsecd -o build/tests/activity_bench tests/bench/activity_bench.c \
 *      build/obj/mlsecd/activity.o build/libmlsec.a -lsodium -lsqlite3
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "activity.h"

#define USERS          10000
#define BATCH          10000 /* events per transaction through activity_store_event */
#define RAW_BATCH      1000  /* events per transaction of the raw baseline */
#define QUERIES        200
#define SINGLE_COMMITS 2000
#define SPAN_US        (365LL * 24 * 3600 * 1000000) /* the events cover a year */
#define T_START        1700000000000000LL

static bool time_ids; /* MLSEC_BENCH_TIME_IDS=1 */

static double now_s(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* splitmix64: fast, and the same sequence for the store and the baseline */
static uint64_t next(uint64_t *s)
{
        uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* Login attempt I of N: a random id and user, 90% "ok", 8% "fail", 2% "skipped". */
static void make_login(uint64_t *rng, uint64_t i, uint64_t n, struct mlsec_event *e)
{
        uint64_t r = next(rng), u = next(rng) % USERS, p = next(rng) % 100;

        memset(e, 0, sizeof(*e));
        e->kind = EVENT_AUTH;
        e->time_us = T_START + (int64_t)(i * (uint64_t)(SPAN_US / (n ? n : 1)));
        if (time_ids) /* 48 bits of milliseconds, then 80 random bits */
                snprintf(e->id, sizeof(e->id), "%012" PRIx64 "%04" PRIx64 "%016" PRIx64,
                         ((uint64_t)e->time_us / 1000) & UINT64_C(0xffffffffffff), r & 0xffff, next(rng));
        else
                snprintf(e->id, sizeof(e->id), "%016" PRIx64 "%016" PRIx64, r, next(rng));
        snprintf(e->user, sizeof(e->user), "user%05" PRIu64, u);
        e->uid = 10000 + (int64_t)u;
        strcpy(e->service, "sshd");
        snprintf(e->rhost, sizeof(e->rhost), "198.51.100.%u", (unsigned)(r % 250));
        strcpy(e->ip, e->rhost);
        strcpy(e->tty, "ssh");
        strcpy(e->method, "totp");
        strcpy(e->result, p < 90 ? "ok" : p < 98 ? "fail" : "skipped");
        strcpy(e->reason, p < 90 ? "ok" : p < 98 ? "wrong code" : "unenrolled");
        e->pid = 1000 + (int64_t)(r % 30000);
        e->actor_uid = -1;
}

static int fill_store(struct activity *a, uint64_t n, uint64_t *rng)
{
        struct mlsec_event e;
        bool added;
        int r;

        for (uint64_t i = 0; i < n; i += BATCH) {
                r = activity_begin(a);
                for (uint64_t j = i; r >= 0 && j < i + BATCH && j < n; j++) {
                        make_login(rng, j, n, &e);
                        r = activity_store_event(a, &e, &added);
                }
                if (r >= 0)
                        r = activity_commit(a);
                if (r < 0) {
                        (void)activity_rollback(a);
                        return r;
                }
                if (isatty(STDERR_FILENO) && (i / BATCH) % 100 == 99)
                        fprintf(stderr, "  %" PRIu64 " events\r", i + BATCH);
        }
        return 0;
}

/* p50, p99 and max of the time of activity_history(user, 50, failed_only) over QUERIES users. */
static int time_history(struct activity *a, bool failed_only, bool all_users, const char *label, uint64_t *rng)
{
        double t[QUERIES];
        size_t total = 0;

        for (int q = 0; q < QUERIES; q++) {
                struct mlsec_event *h = NULL;
                char user[EVENT_USER_MAX];
                size_t n = 0;
                double t0;
                int r;

                snprintf(user, sizeof(user), "user%05" PRIu64, next(rng) % USERS);
                t0 = now_s();
                r = activity_history(a, all_users ? NULL : user, 50, failed_only, &h, &n);
                t[q] = (now_s() - t0) * 1e6;
                free(h);
                if (r < 0)
                        return r;
                total += n;
        }
        qsort(t, QUERIES, sizeof(t[0]), cmp_double);
        printf("history(%s, 50, failed_only=%s)%s: p50 %.0f us, p99 %.0f us, max %.0f us (%.1f rows/query)\n",
               all_users ? "NULL" : "user", failed_only ? "true" : "false", label, t[QUERIES / 2],
               t[QUERIES * 99 / 100], t[QUERIES - 1], (double)total / QUERIES);
        return 0;
}

/* Drop activity.db from the page cache (this file only), to time queries that read the disk. */
static int evict(const char *dir)
{
        char path[PATH_MAX + 32];
        int fd, r = 0;

        snprintf(path, sizeof(path), "%s/%s", dir, ACTIVITY_DB_NAME);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fdatasync(fd) < 0 || (errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) != 0)
                r = -errno;
        (void)close(fd);
        return r;
}

/* ---- the raw SQLite baseline ------------------------------------------------------- */

static int raw_exec(sqlite3 *db, const char *sql)
{
        char *err = NULL;

        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
                fprintf(stderr, "raw: %s: %s\n", sql, err ? err : "?");
                sqlite3_free(err);
                return -EIO;
        }
        return 0;
}

static int raw_insert(sqlite3_stmt *st, const struct mlsec_event *e)
{
        int rc;

        sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, "auth", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, e->time_us);
        sqlite3_bind_text(st, 4, e->user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, e->uid);
        sqlite3_bind_text(st, 6, e->service, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, e->rhost, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, e->ip, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, e->tty, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, e->method, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 11, e->result, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 12, e->reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 13, e->session, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 14, e->pid);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? 0 : -EIO;
}

/* N events in transactions of BATCH_N; 0 on success. */
static int raw_fill(sqlite3 *db, sqlite3_stmt *st, uint64_t first, uint64_t n, uint64_t span_n, uint64_t batch_n,
                    uint64_t *rng)
{
        struct mlsec_event e;

        for (uint64_t i = first; i < first + n; i += batch_n) {
                if (batch_n > 1 && raw_exec(db, "BEGIN IMMEDIATE") < 0)
                        return -EIO;
                for (uint64_t j = i; j < i + batch_n && j < first + n; j++) {
                        make_login(rng, j, span_n, &e);
                        if (raw_insert(st, &e) < 0) {
                                fprintf(stderr, "raw insert: %s\n", sqlite3_errmsg(db));
                                return -EIO;
                        }
                }
                if (batch_n > 1 && raw_exec(db, "COMMIT") < 0)
                        return -EIO;
        }
        return 0;
}

static int raw_open(const char *path, sqlite3 **ret, sqlite3_stmt **ret_st)
{
        /* the pragmas of activity.c, so that the difference is the code, not tuning */
        if (sqlite3_open_v2(path, ret, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
            raw_exec(*ret, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768;") < 0)
                return -EIO;
        if (sqlite3_prepare_v2(*ret,
                               "INSERT INTO events(event_id, kind, time_us, user, uid, service, rhost, ip, tty,"
                               " method, result, reason, session, pid)"
                               " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                               -1, ret_st, NULL) != SQLITE_OK)
                return -EIO;
        return 0;
}

/* A fresh activity.db in STATE_DIR/raw-BATCH made by activity_open (so the schema is the
 * store's), then opened raw. */
static int raw_prepare(char *dir, size_t dirlen, const char *state_dir, uint64_t batch, const struct seal_key *k,
                       sqlite3 **ret, sqlite3_stmt **ret_st)
{
        char path[PATH_MAX + 32];
        struct activity *shape = NULL;
        int r;

        if (snprintf(dir, dirlen, "%s/raw-%" PRIu64, state_dir, batch) >= (int)dirlen)
                return -ENAMETOOLONG;
        r = activity_open(dir, k, &shape);
        if (r < 0) {
                fprintf(stderr, "raw setup: %s\n", strerror(-r));
                return r;
        }
        shape = activity_close(shape);
        snprintf(path, sizeof(path), "%s/%s", dir, ACTIVITY_DB_NAME);
        if (raw_open(path, ret, ret_st) < 0) {
                fprintf(stderr, "raw open: %s\n", *ret ? sqlite3_errmsg(*ret) : "?");
                return -EIO;
        }
        return 0;
}

static long long file_mib(const char *dir, const char *name)
{
        char path[PATH_MAX + 64];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return stat(path, &st) < 0 ? -1 : (long long)(st.st_size >> 20);
}

static void single_line(const char *what, double dt)
{
        printf("%s: %d commits, %.0f us/commit, %.0f events/s\n", what, SINGLE_COMMITS, dt * 1e6 / SINGLE_COMMITS,
               SINGLE_COMMITS / dt);
}

/* One size: the store, its queries, its single commits, then the raw baselines. */
static int bench_one(const char *top, uint64_t n, const struct seal_key *k)
{
        char dir[PATH_MAX], raw_dir[PATH_MAX];
        struct activity *a = NULL;
        sqlite3_stmt *st = NULL;
        sqlite3 *db = NULL;
        uint64_t rng = 42, qrng = 7;
        double t0, store_s, raw_s;
        struct mlsec_event e;
        bool added;
        int r;

        if (snprintf(dir, sizeof(dir), "%s/%" PRIu64, top, n) >= (int)sizeof(dir))
                return -ENAMETOOLONG;
        r = activity_open(dir, k, &a);
        if (r < 0)
                return r;
        printf("activity_bench: %" PRIu64 " auth events of %d users, %s ids, sqlite %s, in %s\n", n, USERS,
               time_ids ? "time-ordered" : "random", sqlite3_libversion(), dir);

        /* 1. ingest through activity_store_event */
        t0 = now_s();
        r = fill_store(a, n, &rng);
        store_s = now_s() - t0;
        if (r < 0)
                goto out;
        printf("activity_store_event, %d per transaction: %.1f s, %.0f events/s (activity.db %lld MiB)\n", BATCH,
               store_s, n / store_s, file_mib(dir, ACTIVITY_DB_NAME));

        /* 2. one user's newest 50 logins, warm (cold below) */
        if ((r = time_history(a, false, false, "", &qrng)) < 0 || (r = time_history(a, true, false, "", &qrng)) < 0 ||
            (r = time_history(a, false, true, "", &qrng)) < 0)
                goto out;

        /* 3. one transaction per event, as for a report that arrives alone */
        t0 = now_s();
        for (int i = 0; i < SINGLE_COMMITS; i++) {
                make_login(&rng, n - 1, n, &e);
                r = activity_store_event(a, &e, &added);
                if (r < 0)
                        goto out;
        }
        single_line("activity_store_event, 1 per transaction", now_s() - t0);

        /* 4. the same queries with activity.db out of the page cache: read from the disk */
        a = activity_close(a);
        if ((r = evict(dir)) < 0 || (r = activity_open(dir, k, &a)) < 0 ||
            (r = time_history(a, false, false, " cold", &qrng)) < 0 ||
            (r = time_history(a, true, false, " cold", &qrng)) < 0)
                goto out;
        a = activity_close(a);

        /* 5. the raw baseline: the same schema (made by activity_open), plain INSERTs, in
         * transactions of RAW_BATCH and of BATCH (the store's batch, for a like-for-like ratio) */
        for (int b = 0; b < 2; b++) {
                uint64_t batch = b == 0 ? RAW_BATCH : BATCH;

                r = raw_prepare(raw_dir, sizeof(raw_dir), dir, batch, k, &db, &st);
                if (r < 0)
                        goto out;
                rng = 42; /* the same events */
                t0 = now_s();
                r = raw_fill(db, st, 0, n, n, batch, &rng);
                if (r < 0)
                        goto out;
                raw_s = now_s() - t0;
                printf("raw SQLite INSERT, %" PRIu64 " per transaction: %.1f s, %.0f events/s (%lld MiB);"
                       " activity_store_event at %d per transaction = %.0f%% of it\n",
                       batch, raw_s, n / raw_s, file_mib(raw_dir, ACTIVITY_DB_NAME), BATCH, 100.0 * raw_s / store_s);
                if (b == 0) {
                        /* what synchronous costs when every event is its own transaction */
                        const char *const modes[] = {"FULL", "NORMAL"};

                        for (size_t m = 0; m < 2; m++) {
                                char sql[64], label[96];

                                snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s", modes[m]);
                                snprintf(label, sizeof(label), "raw SQLite INSERT, 1 per transaction (%s)", modes[m]);
                                if ((r = raw_exec(db, sql)) < 0)
                                        goto out;
                                t0 = now_s();
                                r = raw_fill(db, st, n, SINGLE_COMMITS, n, 1, &rng);
                                if (r < 0)
                                        goto out;
                                single_line(label, now_s() - t0);
                        }
                }
                sqlite3_finalize(st);
                st = NULL;
                (void)sqlite3_close(db);
                db = NULL;
        }
        r = 0;
out:
        sqlite3_finalize(st);
        (void)sqlite3_close(db);
        (void)activity_close(a);
        return r;
}

int main(int argc, char **argv)
{
        char key_path[PATH_MAX];
        struct seal_key *k = NULL;
        uint64_t n;
        char *end;
        int r;

        if (argc < 3) {
                fprintf(stderr, "usage: %s STATE_DIR N_EVENTS...\n", argv[0]);
                return 2;
        }
        for (int i = 2; i < argc; i++)
                if ((n = strtoull(argv[i], &end, 10), *end) || n == 0 || argv[i][0] == '-') {
                        fprintf(stderr, "%s: not a number of events\n", argv[i]);
                        return 2;
                }
        time_ids = getenv("MLSEC_BENCH_TIME_IDS") && strcmp(getenv("MLSEC_BENCH_TIME_IDS"), "1") == 0;
        if (mkdir(argv[1], 0700) < 0) {
                fprintf(stderr, "%s: %s (it must not exist)\n", argv[1], strerror(errno));
                return 1;
        }
        if (snprintf(key_path, sizeof(key_path), "%s/bench.key", argv[1]) >= (int)sizeof(key_path)) {
                fprintf(stderr, "%s: path too long\n", argv[1]);
                return 2;
        }
        if ((r = seal_init()) < 0 || (r = seal_key_load(key_path, true, &k)) < 0) {
                fprintf(stderr, "key: %s\n", strerror(-r));
                return 1;
        }
        for (int i = 2; i < argc; i++) {
                r = bench_one(argv[1], strtoull(argv[i], NULL, 10), k);
                if (r < 0) {
                        fprintf(stderr, "activity_bench %s: %s\n", argv[i], strerror(-r));
                        break;
                }
                fflush(stdout);
        }
        k = seal_key_free(k);
        return r < 0 ? 1 : 0;
}
