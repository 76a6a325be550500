/* SPDX-License-Identifier: MIT */
/* store_floor: what the credential store alone costs per login, with no PAM, no crypto and
 * no conversation: open, read one user's devices, one write transaction that moves a
 * device's last step, close. It is the floor under pam_mlsec's figure in `make bench`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static double now_ns(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* One login's worth of store work for USER at STEP. */
static int one(const char *state_dir, const char *user, int64_t step)
{
        struct store_device *d = NULL;
        struct store *s = NULL;
        size_t n = 0;
        int r;

        r = store_open(state_dir, false, &s);
        if (r < 0)
                return r;
        r = store_list_devices(s, user, &d, &n);
        if (r >= 0 && n == 0)
                r = -ENOENT;
        if (r >= 0)
                r = store_begin(s);
        if (r >= 0) {
                r = store_device_accepted(s, d[0].id, step, step * 30);
                r = r >= 0 ? store_commit(s) : (store_rollback(s), r);
        }
        store_devices_free(d, n);
        store_close(s);
        return r;
}

int main(int argc, char **argv)
{
        char user[64], b32[256], hex[256];
        unsigned long count, i = 0, users = 0;
        double *t;
        FILE *f;

        if (argc != 4 || (count = strtoul(argv[3], NULL, 10)) == 0) {
                fprintf(stderr, "usage: %s STATE_DIR SECRETS_FILE COUNT\n", argv[0]);
                return 2;
        }
        f = fopen(argv[2], "re");
        t = calloc(count, sizeof(*t));
        if (!f || !t)
                return 1;
        while (i < count && fscanf(f, "%63s %255s %255s", user, b32, hex) == 3) {
                double a = now_ns();
                int r = one(argv[1], user, (int64_t)time(NULL) / 30 + 1000 + (int64_t)i);

                if (r < 0) {
                        fprintf(stderr, "store_floor: %s: %s\n", user, strerror(-r));
                        return 1;
                }
                t[i++] = now_ns() - a;
        }
        while (fscanf(f, "%63s %255s %255s", user, b32, hex) == 3)
                users++;
        fclose(f);
        explicit_bzero(b32, sizeof(b32));
        explicit_bzero(hex, sizeof(hex));
        count = i;
        qsort(t, count, sizeof(*t), cmp_double);
        double sum = 0;
        for (i = 0; i < count; i++)
                sum += t[i];
        printf("store %lu %lu %.1f %.1f %.1f\n", users + count, count, t[count / 2] / 1000.0,
               t[(count * 99) / 100] / 1000.0, sum / (double)count / 1000.0);
        free(t);
        return 0;
}
