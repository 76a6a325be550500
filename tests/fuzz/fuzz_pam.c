/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for check-config's reader of PAM service files (mlsecd/ctl_check_pam.c):
 * the input is written as two files of a private PAM directory, "sshd" and, after a line
 * "---", "common-auth", so that includes, substacks, continued lines, controls and the walk
 * of the auth stack all see arbitrary bytes. It must never crash, leak or run unbounded. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../mlsecd/ctl_check_pam.c"

/* ctl_check.c's report sink, here only formatting each problem (so that every message and
 * every escaped word in it is built). */
void ctl_report_problem(struct ctl_report *rp, enum ctl_severity sev, const char *file, unsigned line,
                        const char *fmt, ...)
{
        char buf[2 * ESC];
        va_list ap;

        (void)rp;
        (void)sev;
        (void)line;
        va_start(ap, fmt);
        (void)vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (file && strlen(file) > PATH_MAX)
                abort();
}

static char dir[] = "/tmp/mlsec-fuzz-pam.XXXXXX";

static void put(const char *name, const uint8_t *data, size_t size)
{
        char path[sizeof(dir) + 32];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f)
                abort();
        if (size && fwrite(data, 1, size, f) != size)
                abort();
        fclose(f);
}

static void remove_dir(void)
{
        char path[sizeof(dir) + 32];

        snprintf(path, sizeof(path), "%s/sshd", dir);
        (void)unlink(path);
        snprintf(path, sizeof(path), "%s/common-auth", dir);
        (void)unlink(path);
        (void)rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int made;
        const uint8_t *sep = size >= 5 ? memmem(data, size, "\n---\n", 5) : NULL;
        size_t first = sep ? (size_t)(sep - data) + 1 : size;
        unsigned services = 0;
        bool sshd = false;

        if (!made) {
                if (!mkdtemp(dir))
                        abort();
                atexit(remove_dir);
                made = 1;
        }
        put("sshd", data, first);
        if (sep)
                put("common-auth", sep + 5, size - first - 4);
        else {
                char path[sizeof(dir) + 32];
                snprintf(path, sizeof(path), "%s/common-auth", dir);
                (void)unlink(path);
        }
        (void)ctl_check_pam(NULL, dir, "/nonexistent/mlsec.conf", &services, &sshd);
        return 0;
}
