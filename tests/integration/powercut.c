/* SPDX-License-Identifier: MIT */
/* powercut.so: an LD_PRELOAD library for test_durability.sh that models what survives a
 * power loss. For every fsync or fdatasync of a regular file under $POWERCUT_DIR it keeps a
 * copy of the file as it is then, as NAME.durable: what the disk is known to hold. The test
 * kills the process and puts every file back to its .durable copy (a file never synced is
 * removed), so whatever was written but not synced is lost, the worst a power loss may do.
 * Test code only: it copies whole files, on every sync. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DURABLE_SUFFIX ".durable"

static int keep_copy(int fd)
{
        const char *dir = getenv("POWERCUT_DIR");
        char link[64], path[PATH_MAX] = "", copy[PATH_MAX + 16], tmp[PATH_MAX + 32], buf[65536];
        size_t dirlen;
        struct stat st;
        ssize_t n;
        off_t off = 0;
        int out, saved = errno, r = 0;

        if (!dir || !*dir || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                goto out;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof(path) - 1);
        if (n <= 0)
                goto out;
        path[n] = '\0';
        dirlen = strlen(dir);
        if (strncmp(path, dir, dirlen) != 0 || path[dirlen] != '/')
                goto out;
        snprintf(copy, sizeof(copy), "%s" DURABLE_SUFFIX, path);
        snprintf(tmp, sizeof(tmp), "%s.tmp%ld", copy, (long)getpid());
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0) {
                r = -1;
                goto out;
        }
        while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
                if (write(out, buf, (size_t)n) != n) {
                        r = -1;
                        break;
                }
                off += n;
        }
        if (n < 0)
                r = -1;
        if (close(out) < 0 || r < 0 || rename(tmp, copy) < 0) {
                (void)unlink(tmp);
                r = -1;
        }
out:
        if (r < 0)
                fprintf(stderr, "powercut: cannot keep the durable copy of %s\n", path);
        errno = saved;
        return r;
}

int fsync(int fd)
{
        static int (*real)(int);
        int r;

        if (!real)
                real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
        r = real(fd);
        if (r == 0 && keep_copy(fd) < 0)
                abort(); /* a model that lost track proves nothing */
        return r;
}

int fdatasync(int fd)
{
        static int (*real)(int);
        int r;

        if (!real)
                real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
        r = real(fd);
        if (r == 0 && keep_copy(fd) < 0)
                abort();
        return r;
}
