/* SPDX-License-Identifier: MIT */
/* The spool directory: one file per event, written to a temporary name, fsynced, renamed and
 * the directory fsynced, so a reader sees a whole event or none. Owns the safety rules of the
 * directory (ours, 0700, never through a symlink) and the quarantine of unreadable files in
 * bad/. It must never follow a link, trust a file it does not own, read without a bound, or log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "spool.h"

#define SPOOL_TMP_PREFIX  ".tmp-"
#define SPOOL_BAD_DIR     "bad"
#define SPOOL_TMP_STALE_S 60
/* Files looked at in one scan; more wait for the next scan, once these are removed. */
#define SPOOL_SCAN_FILES_MAX 100000
#define SPOOL_NAME_LEN       (EVENT_ID_LEN + sizeof(SPOOL_SUFFIX) - 1)

struct spool_entry {
        int64_t time_us;
        char id[EVENT_ID_LEN + 1];
};

static bool id_valid(const char *id)
{
        for (size_t i = 0; i < EVENT_ID_LEN; i++)
                if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
                        return false;
        return id[EVENT_ID_LEN] == '\0';
}

/* "<32 lower-case hex>.event": the only names scan delivers, and the only ones write makes. */
static bool name_is_event(const char *name)
{
        if (strlen(name) != SPOOL_NAME_LEN || strcmp(name + EVENT_ID_LEN, SPOOL_SUFFIX) != 0)
                return false;
        for (size_t i = 0; i < EVENT_ID_LEN; i++)
                if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
                        return false;
        return true;
}

static int check_dir_fd(int fd)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
                return -EPERM;
        return 0;
}

/* Open DIR (relative to AT) as a directory without following a final symlink, and check it
 * is ours and private. With CREATE a missing directory is made 0700 (its parent must exist). */
static int open_dir(int at, const char *dir, bool create, int *ret_fd)
{
        bool made = false;
        int fd, r;

        for (;;) {
                fd = openat(at, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        break;
                if (errno == ELOOP || errno == ENOTDIR)
                        return -EPERM; /* a symlink or not a directory */
                if (errno != ENOENT || !create || made)
                        return -errno;
                if (mkdirat(at, dir, 0700) < 0 && errno != EEXIST)
                        return -errno;
                made = true;
        }
        r = check_dir_fd(fd);
        if (r < 0) {
                (void)close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

static int write_tmp(int dfd, const char *tmp, const char *buf, size_t len)
{
        int fd, r;

        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
                /* Left by an earlier process that had our pid and crashed. */
                (void)unlinkat(dfd, tmp, 0);
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        }
        if (fd < 0)
                return -errno;
        r = write_all(fd, buf, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

int spool_write(const char *dir, const struct mlsec_event *e)
{
        char tmp[sizeof(SPOOL_TMP_PREFIX) + EVENT_ID_LEN + 24], name[SPOOL_NAME_LEN + 1];
        char *buf = NULL;
        size_t len;
        int dfd = -1, r;

        if (!dir || !*dir || !e || !id_valid(e->id))
                return -EINVAL;
        r = event_validate(e, NULL, 0);
        if (r < 0)
                return r;

        buf = malloc(PROTO_MSG_MAX);
        if (!buf)
                return -ENOMEM;
        r = proto_event_encode(e, buf, PROTO_MSG_MAX, &len);
        if (r < 0)
                goto out;

        r = open_dir(AT_FDCWD, dir, true, &dfd);
        if (r < 0)
                goto out;

        (void)snprintf(tmp, sizeof(tmp), SPOOL_TMP_PREFIX "%s-%ld", e->id, (long)getpid());
        (void)snprintf(name, sizeof(name), "%s" SPOOL_SUFFIX, e->id);

        r = write_tmp(dfd, tmp, buf, len);
        if (r < 0) {
                (void)unlinkat(dfd, tmp, 0);
                goto out;
        }
        if (renameat(dfd, tmp, dfd, name) < 0) {
                r = -errno;
                (void)unlinkat(dfd, tmp, 0);
                goto out;
        }
        /* The rename is durable only once the directory is. */
        if (fsync(dfd) < 0)
                r = -errno;
out:
        if (dfd >= 0)
                (void)close(dfd);
        free(buf);
        return r;
}

static const char *const bad_names[_SPOOL_BAD_MAX] = {
        [SPOOL_BAD_TYPE] = "not a regular file",   [SPOOL_BAD_OWNER] = "not owned by root",
        [SPOOL_BAD_MODE] = "mode is not 0600",     [SPOOL_BAD_LINKS] = "has more than one link",
        [SPOOL_BAD_SIZE] = "larger than an event", [SPOOL_BAD_CONTENT] = "not a valid event of its name",
};

const char *spool_bad_to_string(enum spool_bad why)
{
        return (unsigned)why < _SPOOL_BAD_MAX ? bad_names[why] : "unknown";
}

/* The rule for every file root reads or writes in the spool: a regular file of the effective
 * uid, mode 0600, one link (a second name would be a way to make root read or write
 * something that is also elsewhere). */
static int file_check(const struct stat *st, enum spool_bad *ret_why)
{
        enum spool_bad why;

        if (!S_ISREG(st->st_mode))
                why = SPOOL_BAD_TYPE;
        else if (st->st_uid != geteuid())
                why = SPOOL_BAD_OWNER;
        else if ((st->st_mode & 07777) != 0600)
                why = SPOOL_BAD_MODE;
        else if (st->st_nlink != 1)
                why = SPOOL_BAD_LINKS;
        else
                return 0;
        if (ret_why)
                *ret_why = why;
        return -EBADMSG;
}

/* Read and decode one spooled file. -EBADMSG: the file is bad and belongs in bad/ (*ret_why
 * says why). -ENOENT: it went away meanwhile. Anything else: a transient failure. */
static int read_event(int dfd, const char *name, char *buf, struct mlsec_event *ret, enum spool_bad *ret_why)
{
        struct mlsec_event e;
        struct stat st, lst;
        size_t len = 0;
        int fd, r;

        /* Looked at before it is opened: opening a device or a FIFO as root can have effects
         * of its own (a tape rewinds, a writer is woken). The fd decides below. */
        if (fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? -ENOENT : -errno;
        if (file_check(&lst, ret_why) < 0)
                return -EBADMSG;
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                if (errno == ELOOP || errno == ENXIO || errno == EISDIR) {
                        *ret_why = SPOOL_BAD_TYPE; /* replaced by a symlink, a socket, a directory */
                        return -EBADMSG;
                }
                return -errno;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (file_check(&st, ret_why) < 0) {
                r = -EBADMSG;
                goto out;
        }
        if (st.st_dev != lst.st_dev || st.st_ino != lst.st_ino) {
                r = -ENOENT; /* replaced meanwhile: looked at again next time */
                goto out;
        }
        if (st.st_size > PROTO_MSG_MAX) {
                *ret_why = SPOOL_BAD_SIZE;
                r = -EBADMSG;
                goto out;
        }
        /* Read one byte past the bound, so a file that grew since fstat is caught too. */
        while (len <= PROTO_MSG_MAX) {
                ssize_t n = read(fd, buf + len, PROTO_MSG_MAX + 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > PROTO_MSG_MAX) {
                *ret_why = SPOOL_BAD_SIZE;
                r = -EBADMSG;
                goto out;
        }
        if (proto_event_decode(buf, len, &e, NULL, 0) < 0 || strncmp(e.id, name, EVENT_ID_LEN) != 0 ||
            strlen(e.id) != EVENT_ID_LEN) {
                *ret_why = SPOOL_BAD_CONTENT;
                r = -EBADMSG;
                goto out;
        }
        *ret = e;
        r = 0;
out:
        (void)close(fd);
        return r;
}

static int move_to_bad(int dfd, const char *name)
{
        int bfd, r;

        if (mkdirat(dfd, SPOOL_BAD_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        r = open_dir(dfd, SPOOL_BAD_DIR, false, &bfd);
        if (r < 0)
                return r;
        if (renameat(dfd, name, bfd, name) < 0)
                r = errno == ENOENT ? 0 : -errno;
        else if (fsync(bfd) < 0 || fsync(dfd) < 0)
                r = -errno;
        (void)close(bfd);
        return r;
}

/* A temporary file outlives its writer only when the writer crashed: a write takes
 * milliseconds, so one not touched for a minute (either way, the clock may have stepped) is
 * left over. */
static void reap_tmp(int dfd, const char *name, time_t now)
{
        struct stat st;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
                return;
        if (st.st_mtime < now - SPOOL_TMP_STALE_S || st.st_mtime > now + SPOOL_TMP_STALE_S)
                (void)unlinkat(dfd, name, 0);
}

static int entry_cmp(const void *a, const void *b)
{
        const struct spool_entry *x = a, *y = b;

        if (x->time_us != y->time_us)
                return x->time_us < y->time_us ? -1 : 1;
        return strcmp(x->id, y->id);
}

static int add_entry(struct spool_entry **entries, size_t *n, size_t *cap, const struct mlsec_event *e)
{
        if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                struct spool_entry *p;

                if (c > SPOOL_SCAN_FILES_MAX)
                        c = SPOOL_SCAN_FILES_MAX;
                p = realloc(*entries, c * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                *entries = p;
                *cap = c;
        }
        (*entries)[*n].time_us = e->time_us;
        memcpy((*entries)[*n].id, e->id, sizeof(e->id));
        (*n)++;
        return 0;
}

/* First pass: every event file's time and id, bad ones moved aside, stale temporaries
 * removed. The events themselves are read again in order, so memory stays small. */
/* A file found bad: moved to bad/, counted, and told to the caller's BAD_FN (which may log). */
struct bad_report {
        size_t n;
        void (*fn)(const char *name, enum spool_bad why, void *userdata);
        void *userdata;
};

static int quarantine(int dfd, const char *name, enum spool_bad why, struct bad_report *bad)
{
        int r = move_to_bad(dfd, name);

        if (r < 0)
                return r;
        bad->n++;
        if (bad->fn)
                bad->fn(name, why, bad->userdata);
        return 0;
}

static int index_dir(int dfd, struct spool_entry **ret_entries, size_t *ret_n, struct bad_report *bad, char *buf)
{
        struct spool_entry *entries = NULL;
        size_t n = 0, cap = 0;
        time_t now = time(NULL);
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void)close(fd);
                return r;
        }
        while (n < SPOOL_SCAN_FILES_MAX) {
                struct mlsec_event e;
                enum spool_bad why = SPOOL_BAD_CONTENT;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = errno ? -errno : 0;
                        break;
                }
                if (strncmp(de->d_name, SPOOL_TMP_PREFIX, strlen(SPOOL_TMP_PREFIX)) == 0) {
                        reap_tmp(dfd, de->d_name, now);
                        continue;
                }
                if (!name_is_event(de->d_name))
                        continue;
                r = read_event(dfd, de->d_name, buf, &e, &why);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r == -EBADMSG) {
                        r = quarantine(dfd, de->d_name, why, bad);
                        if (r < 0)
                                break;
                        continue;
                }
                if (r < 0)
                        break;
                r = add_entry(&entries, &n, &cap, &e);
                if (r < 0)
                        break;
        }
        (void)closedir(d);
        if (r < 0) {
                free(entries);
                return r;
        }
        *ret_entries = entries;
        *ret_n = n;
        return 0;
}

int spool_scan(const char *dir, size_t max, int (*fn)(const struct mlsec_event *e, void *userdata),
               void (*bad_fn)(const char *name, enum spool_bad why, void *userdata), void *userdata, size_t *ret_bad)
{
        struct bad_report bad = {.fn = bad_fn, .userdata = userdata};
        struct spool_entry *entries = NULL;
        size_t n = 0, done = 0;
        char *buf = NULL;
        int dfd = -1, r;

        if (!dir || !*dir || !fn)
                return -EINVAL;
        r = open_dir(AT_FDCWD, dir, false, &dfd);
        if (r == -ENOENT) {
                /* Nothing was ever spooled. */
                if (ret_bad)
                        *ret_bad = 0;
                return 0;
        }
        if (r < 0)
                return r;
        buf = malloc(PROTO_MSG_MAX + 1);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        r = index_dir(dfd, &entries, &n, &bad, buf);
        if (r < 0)
                goto out;
        if (n > 1)
                qsort(entries, n, sizeof(*entries), entry_cmp);

        for (size_t i = 0; i < n && (max == 0 || done < max); i++) {
                char name[SPOOL_NAME_LEN + 1];
                struct mlsec_event e;
                enum spool_bad why = SPOOL_BAD_CONTENT;

                (void)snprintf(name, sizeof(name), "%s" SPOOL_SUFFIX, entries[i].id);
                r = read_event(dfd, name, buf, &e, &why);
                if (r == -ENOENT) {
                        continue; /* removed meanwhile: someone else took it */
                }
                if (r == -EBADMSG) {
                        r = quarantine(dfd, name, why, &bad);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (r < 0)
                        goto out;
                r = fn(&e, userdata);
                if (r < 0)
                        goto out;
                done++;
        }
        if (ret_bad)
                *ret_bad = bad.n;
        r = done > INT32_MAX ? INT32_MAX : (int)done;
out:
        free(entries);
        free(buf);
        (void)close(dfd);
        return r;
}

int spool_remove(const char *dir, const char *id)
{
        char name[SPOOL_NAME_LEN + 1];
        int dfd, r;

        if (!dir || !*dir || !id || strnlen(id, EVENT_ID_LEN + 1) != EVENT_ID_LEN || !id_valid(id))
                return -EINVAL;
        r = open_dir(AT_FDCWD, dir, false, &dfd);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        (void)snprintf(name, sizeof(name), "%s" SPOOL_SUFFIX, id);
        r = 0;
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                r = -errno;
        (void)close(dfd);
        return r;
}
