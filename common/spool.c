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
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
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
        return made ? 1 : 0;
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

/* ---- the audit reserve and the loss counter ------------------------------------------------
 *
 * A full spool filesystem must not silently eat the audit trail (issue #12 item 3). So that
 * an audit event can still be kept when a normal write fails with ENOSPC or EDQUOT, DIR/reserve/
 * holds SPOOL_RESERVE_SLOTS files already written full of zeros (real blocks, not holes nor
 * fallocate's unwritten extents, so overwriting them allocates nothing). Such an event is
 * written over the start of a slot, the slot truncated to the event's length (which frees
 * blocks, never takes any), fsynced and renamed into DIR as <id>.event: no new inode and no
 * new data block. mlsecd refills the reserve after each ingestion.
 *
 * What is not kept is counted in DIR/reserve/lost, a fixed-size record made at the same time
 * and rewritten in place (same bytes, same block) under flock, then fsynced: the count of
 * every event refused after the spool directory itself checked out survives a full disk and
 * a crash. It is not guaranteed where overwriting needs new blocks (copy-on-write
 * filesystems: btrfs, ZFS) or when the disk itself fails; the module's syslog line is then
 * the only trace, as before. Slots are claimed with flock(LOCK_NB) and re-checked to still be
 * the slot after locking, so two logins never write one slot. */
#define SPOOL_RESERVE_DIR "reserve"
#define SPOOL_LOST_NAME   "lost"
#define SPOOL_LOST_SIZE   256
#define SPOOL_LOST_FORMAT                                                                                              \
        "mlsec-spool-lost audit=%020" PRIu64 " other=%020" PRIu64 " reported-audit=%020" PRIu64                        \
        " reported-other=%020" PRIu64 "\n"
#define SPOOL_LOST_SCAN                                                                                                \
        "mlsec-spool-lost audit=%" SCNu64 " other=%" SCNu64 " reported-audit=%" SCNu64 " reported-other=%" SCNu64
#define SPOOL_RESERVE_PREFIX "slot-"

static void slot_name(unsigned i, char *buf, size_t n)
{
        (void)snprintf(buf, n, SPOOL_RESERVE_PREFIX "%02u", i);
}

static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
        while (len > 0) {
                ssize_t n = pwrite(fd, buf, len, off);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                buf += n;
                len -= (size_t)n;
                off += n;
        }
        return 0;
}

/* NAME in RFD, opened read-write without following a link, a regular file of ours, 0600, one
 * link, of at least MIN_SIZE bytes; *ret_st gets its stat. -EBADMSG: it is there but not safe. */
static int open_reserve_file(int rfd, const char *name, off_t min_size, int *ret_fd, struct stat *ret_st)
{
        struct stat st;
        int fd;

        fd = openat(rfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP || errno == ENXIO || errno == EISDIR ? -EBADMSG : -errno;
        if (fstat(fd, &st) < 0 || file_check(&st, NULL) < 0 || st.st_size < min_size) {
                (void)close(fd);
                return -EBADMSG;
        }
        *ret_fd = fd;
        *ret_st = st;
        return 0;
}

/* Make NAME in RFD: SIZE bytes of DATA (zeros when NULL), written and fsynced under a
 * temporary name, then linked into place only if NAME is still missing (never over a file
 * someone else is using). 0 also when another process made it first. */
static int make_reserve_file(int rfd, const char *name, size_t size, const char *data)
{
        char tmp[64];
        char *zeros = NULL;
        int fd, r;

        (void)snprintf(tmp, sizeof(tmp), SPOOL_TMP_PREFIX "%s-%ld", name, (long)getpid());
        (void)unlinkat(rfd, tmp, 0);
        if (!data) {
                zeros = calloc(1, size);
                if (!zeros)
                        return -ENOMEM;
                data = zeros;
        }
        fd = openat(rfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        r = write_all(fd, data, size);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && linkat(rfd, tmp, rfd, name, 0) < 0 && errno != EEXIST)
                r = -errno;
        (void)unlinkat(rfd, tmp, 0);
out:
        free(zeros);
        return r;
}

static int open_reserve_dir(int dfd, bool create, int *ret_fd)
{
        return open_dir(dfd, SPOOL_RESERVE_DIR, create, ret_fd);
}

/* Fill the reserve of the spool open at DFD; the number of slots ready, or the first error
 * that kept one from being made (what is ready stays). */
static int reserve_fill_at(int dfd)
{
        char name[32], rec[SPOOL_LOST_SIZE];
        unsigned ready = 0;
        int rfd, r, err = 0;

        r = open_reserve_dir(dfd, true, &rfd);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < SPOOL_RESERVE_SLOTS; i++) {
                struct stat st;
                int fd;

                slot_name(i, name, sizeof(name));
                r = open_reserve_file(rfd, name, SPOOL_RESERVE_SLOT_SIZE, &fd, &st);
                if (r == 0) {
                        (void)close(fd);
                        ready++;
                        continue;
                }
                /* Shrunk by a use that did not finish, or not a file of ours: made again. */
                if (r == -EBADMSG && unlinkat(rfd, name, 0) < 0 && errno == EISDIR)
                        (void)unlinkat(rfd, name, AT_REMOVEDIR);
                r = make_reserve_file(rfd, name, SPOOL_RESERVE_SLOT_SIZE, NULL);
                if (r < 0) {
                        if (!err)
                                err = r;
                        continue;
                }
                ready++;
        }
        if (faccessat(rfd, SPOOL_LOST_NAME, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                memset(rec, ' ', sizeof(rec));
                (void)snprintf(rec, sizeof(rec), SPOOL_LOST_FORMAT, (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0);
                rec[strlen(rec)] = ' '; /* the NUL: padding like the rest */
                rec[sizeof(rec) - 1] = '\n';
                r = make_reserve_file(rfd, SPOOL_LOST_NAME, sizeof(rec), rec);
                if (r < 0 && !err)
                        err = r;
        }
        if (fsync(rfd) < 0 && !err)
                err = -errno;
        (void)close(rfd);
        return err < 0 ? err : (int)ready;
}

int spool_reserve_fill(const char *dir)
{
        int dfd, r;

        if (!dir || !*dir)
                return -EINVAL;
        r = open_dir(AT_FDCWD, dir, true, &dfd);
        if (r < 0)
                return r;
        r = reserve_fill_at(dfd);
        (void)close(dfd);
        return r;
}

/* Keep the encoded event BUF as DIR/NAME (DFD) in a reserve slot. -ENOSPC: no slot free. */
static int reserve_write(int dfd, const char *name, const char *buf, size_t len)
{
        char slot[32];
        int rfd, r;

        if (len > SPOOL_RESERVE_SLOT_SIZE)
                return -EMSGSIZE;
        r = open_reserve_dir(dfd, false, &rfd);
        if (r < 0)
                return r == -ENOENT ? -ENOSPC : r;
        r = -ENOSPC;
        for (unsigned i = 0; i < SPOOL_RESERVE_SLOTS; i++) {
                struct stat st, now;
                int fd;

                slot_name(i, slot, sizeof(slot));
                if (open_reserve_file(rfd, slot, SPOOL_RESERVE_SLOT_SIZE, &fd, &st) < 0)
                        continue;
                /* Another login holds it; or it was taken (renamed away) between our open and
                 * our lock: then the name is gone or is a new slot. */
                if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstatat(rfd, slot, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
                    now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
                        (void)close(fd);
                        continue;
                }
                r = pwrite_all(fd, buf, len, 0);
                if (r == 0 && ftruncate(fd, (off_t)len) < 0)
                        r = -errno;
                if (r == 0 && fsync(fd) < 0)
                        r = -errno;
                if (r == 0 && renameat(rfd, slot, dfd, name) < 0)
                        r = -errno;
                if (r == 0) {
                        /* The event is in place: a failing directory fsync does not make it lost. */
                        (void)fsync(dfd);
                        (void)fsync(rfd);
                }
                (void)close(fd);
                break; /* a slot that failed to take the event will not take the next one either */
        }
        (void)close(rfd);
        return r;
}

/* The counter, as kept in DIR/reserve/lost. */
struct lost {
        uint64_t audit, other, reported_audit, reported_other;
};

/* The counter record at FD (locked). -EBADMSG: not one. */
static int lost_read(int fd, struct lost *ret)
{
        char rec[SPOOL_LOST_SIZE + 1];
        struct lost l;
        ssize_t n;

        n = pread(fd, rec, SPOOL_LOST_SIZE, 0);
        if (n < 0)
                return -errno;
        rec[n] = '\0';
        if (sscanf(rec, SPOOL_LOST_SCAN, &l.audit, &l.other, &l.reported_audit, &l.reported_other) != 4)
                return -EBADMSG;
        *ret = l;
        return 0;
}

/* Rewrite the record in place: the same SPOOL_LOST_SIZE bytes at offset 0, then fsync. */
static int lost_write(int fd, const struct lost *l)
{
        char rec[SPOOL_LOST_SIZE + 1];
        int n, r;

        memset(rec, ' ', sizeof(rec));
        n = snprintf(rec, sizeof(rec), SPOOL_LOST_FORMAT, l->audit, l->other, l->reported_audit, l->reported_other);
        if (n < 0 || n >= SPOOL_LOST_SIZE)
                return -EOVERFLOW;
        rec[n] = ' ';
        rec[SPOOL_LOST_SIZE - 1] = '\n';
        r = pwrite_all(fd, rec, SPOOL_LOST_SIZE, 0);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        return r;
}

/* Open DIR/reserve/lost of the spool at DFD and lock it (LOCK_EX). */
static int lost_open(int dfd, int *ret_fd)
{
        struct stat st;
        int rfd, fd, r;

        r = open_reserve_dir(dfd, false, &rfd);
        if (r < 0)
                return r;
        r = open_reserve_file(rfd, SPOOL_LOST_NAME, SPOOL_LOST_SIZE, &fd, &st);
        (void)close(rfd);
        if (r < 0)
                return r;
        while (flock(fd, LOCK_EX) < 0) {
                if (errno != EINTR) {
                        r = -errno;
                        (void)close(fd);
                        return r;
                }
        }
        *ret_fd = fd;
        return 0;
}

static int lost_count(int dfd, bool audit)
{
        struct lost l;
        int fd, r;

        r = lost_open(dfd, &fd);
        if (r < 0)
                return r;
        r = lost_read(fd, &l);
        if (r == 0) {
                if (audit)
                        l.audit++;
                else
                        l.other++;
                r = lost_write(fd, &l);
        }
        (void)close(fd);
        return r;
}

int spool_lost_mark_reported(const char *dir, uint64_t audit, uint64_t other)
{
        struct lost l;
        int dfd, fd, r;

        if (!dir || !*dir)
                return -EINVAL;
        r = open_dir(AT_FDCWD, dir, false, &dfd);
        if (r < 0)
                return r;
        r = lost_open(dfd, &fd);
        (void)close(dfd);
        if (r < 0)
                return r;
        r = lost_read(fd, &l);
        /* Only forward, and never past what was lost. */
        if (r == 0 && (audit > l.reported_audit || other > l.reported_other)) {
                if (audit > l.reported_audit)
                        l.reported_audit = audit < l.audit ? audit : l.audit;
                if (other > l.reported_other)
                        l.reported_other = other < l.other ? other : l.other;
                r = lost_write(fd, &l);
        }
        (void)close(fd);
        return r;
}

static size_t count_names(int dfd, const char *sub, bool events_only)
{
        struct dirent *de;
        size_t n = 0;
        DIR *d;
        int fd;

        fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d) {
                (void)close(fd);
                return 0;
        }
        while ((de = readdir(d)) && n < SPOOL_SCAN_FILES_MAX)
                if (events_only ? name_is_event(de->d_name) : de->d_name[0] != '.')
                        n++;
        (void)closedir(d);
        return n;
}

int spool_status(const char *dir, bool count_files, struct spool_status *ret)
{
        struct spool_status st = {.reserve_slots = SPOOL_RESERVE_SLOTS};
        char name[32];
        int dfd, rfd, fd, r;

        if (!dir || !*dir || !ret)
                return -EINVAL;
        r = open_dir(AT_FDCWD, dir, false, &dfd);
        if (r == -ENOENT) {
                *ret = st;
                return 0;
        }
        if (r < 0)
                return r;
        if (count_files) {
                st.pending = count_names(dfd, ".", true);
                st.bad = count_names(dfd, SPOOL_BAD_DIR, false);
        }
        if (open_reserve_dir(dfd, false, &rfd) == 0) {
                for (unsigned i = 0; i < SPOOL_RESERVE_SLOTS; i++) {
                        struct stat sst;

                        slot_name(i, name, sizeof(name));
                        if (open_reserve_file(rfd, name, SPOOL_RESERVE_SLOT_SIZE, &fd, &sst) == 0) {
                                (void)close(fd);
                                st.reserve_ready++;
                        }
                }
                (void)close(rfd);
        }
        if (lost_open(dfd, &fd) == 0) {
                struct lost l;

                if (lost_read(fd, &l) == 0) {
                        st.counter = true;
                        st.lost_audit = l.audit;
                        st.lost_other = l.other;
                        st.reported_audit = l.reported_audit;
                        st.reported_other = l.reported_other;
                }
                (void)close(fd);
        }
        (void)close(dfd);
        *ret = st;
        return 0;
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
        /* A spool made here, before mlsecd ever ran, gets its reserve now: it costs one
         * login SPOOL_RESERVE_SLOTS small writes, once. */
        if (r == 1)
                (void)reserve_fill_at(dfd);

        (void)snprintf(tmp, sizeof(tmp), SPOOL_TMP_PREFIX "%s-%ld", e->id, (long)getpid());
        (void)snprintf(name, sizeof(name), "%s" SPOOL_SUFFIX, e->id);

        r = write_tmp(dfd, tmp, buf, len);
        if (r < 0) {
                (void)unlinkat(dfd, tmp, 0);
                goto full;
        }
        if (renameat(dfd, tmp, dfd, name) < 0) {
                r = -errno;
                (void)unlinkat(dfd, tmp, 0);
                goto full;
        }
        /* The rename is durable only once the directory is. */
        if (fsync(dfd) < 0)
                r = -errno;
        goto out;
full:
        /* Out of space (or of inodes, or over quota): an audit event may take a reserve slot.
         * Whatever is not kept is counted, whatever the error. */
        if ((r == -ENOSPC || r == -EDQUOT) && e->kind == EVENT_AUDIT && reserve_write(dfd, name, buf, len) == 0) {
                r = SPOOL_WRITE_RESERVE;
                goto out;
        }
        (void)lost_count(dfd, e->kind == EVENT_AUDIT);
out:
        if (dfd >= 0)
                (void)close(dfd);
        free(buf);
        return r;
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
