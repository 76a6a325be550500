/* SPDX-License-Identifier: MIT */
/* check-config's reading of the PAM service files: each service's stacks as libpam builds
 * them (@include, include, substack, comments, continued lines), the options of every
 * pam_mlsec.so line, and the auth stack around pam_unix.so walked the way libpam walks it
 * (pam_dispatch.c) for a right and for a wrong password. It only reads, and trusts nothing it
 * reads: lines, include depth and the work per service are bounded, and every name and word
 * taken from a file is escaped before it is printed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "util.h"

#define LINE_BYTES    4096   /* a line, physical or continued, longer than this is not read */
#define DEPTH_MAX     16     /* libpam's PAM_SUBSTACK_MAX_LEVEL: includes nested deeper fail */
#define STACK_MAX     512    /* modules of one type in one service */
#define WORK_MAX      100000 /* physical lines read for one service, includes counted */
#define BYTES_MAX     (64L << 20) /* and bytes */
#define SERVICES_MAX  4096   /* files of the directory */
#define NOTES_MAX     64     /* problems found while reading one service */
#define ESC           (LINE_BYTES * 4 + 4)
#define PASSWORD_RETRY_MAX 10 /* pam_mlsec/password.c RETRY_MAX: retry=1..10 */

enum ptype { PT_AUTH, PT_ACCOUNT, PT_SESSION, PT_PASSWORD, PT_N };
#define PT_ANY PT_N
static const char *const type_names[PT_N] = {"auth", "account", "session", "password"};

/* libpam's actions (pam_private.h); a positive number is a jump over that many modules */
enum {
        A_IGNORE = 0,
        A_OK = -1,
        A_DONE = -2,
        A_BAD = -3,
        A_DIE = -4,
        A_RESET = -5,
        A_UNDEF = -6,
};

enum role { R_OTHER, R_UNIX, R_DENY, R_MLSEC };
enum mkind { K_CODE, K_PREAUTH, K_AUTHFAIL };

struct entry {
        const char *file; /* interned; the path as check-config opened it */
        unsigned line;
        unsigned level;   /* substack depth */
        bool substack;    /* the line of a substack: libpam skips it, its modules follow one level down */
        bool must_fail;   /* a line libpam could not use: it fails when run */
        enum role role;
        enum mkind kind;
        int on_success, on_fail; /* the actions for PAM_SUCCESS and PAM_AUTH_ERR */
        char control[64];        /* as written, cut */
        char *args;              /* NUL-separated */
        size_t n_args;
};

struct stack {
        struct entry *e;
        size_t n;
};

struct note {
        enum ctl_severity sev;
        const char *file;
        unsigned line;
        char *msg;
};

struct service {
        char *name;
        struct stack st[PT_N];
        struct note notes[NOTES_MAX];
        size_t n_notes;
        bool included;    /* another file of the directory includes it: no service of its own */
        bool reached;     /* read while reading a service that nothing includes */
        size_t *edges;    /* the services its own lines include */
        size_t n_edges;
        bool names_mlsec; /* a line read for it names pam_mlsec.so */
        bool full;        /* STACK_MAX reached, said once */
};

struct pamck {
        struct ctl_report *rp;
        const char *dir;
        const char *conf_path;
        char **files; /* interned paths */
        size_t n_files;
        struct service *svc;
        size_t n_svc;
};

struct reader {
        struct pamck *pc;
        struct service *svc;
        unsigned long work;
        long bytes;
        bool over; /* WORK_MAX or BYTES_MAX reached, said once: nothing more is read */
        unsigned depth;
        dev_t dev[DEPTH_MAX];
        ino_t ino[DEPTH_MAX];
};

/* ---- reading ---------------------------------------------------------------------- */

static const char *intern(struct pamck *pc, const char *path)
{
        char **n;

        for (size_t i = 0; i < pc->n_files; i++)
                if (strcmp(pc->files[i], path) == 0)
                        return pc->files[i];
        n = realloc(pc->files, (pc->n_files + 1) * sizeof(*n));
        if (!n)
                return "?";
        pc->files = n;
        n[pc->n_files] = strdup(path);
        if (!n[pc->n_files])
                return "?";
        return n[pc->n_files++];
}

__attribute__((format(printf, 5, 6))) static void note(struct reader *rd, enum ctl_severity sev, const char *file,
                                                       unsigned line, const char *fmt, ...)
{
        struct service *svc = rd->svc;
        va_list ap;
        char *msg;

        if (svc->n_notes == NOTES_MAX)
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return;
        svc->notes[svc->n_notes++] = (struct note){.sev = sev, .file = file, .line = line, .msg = msg};
}

static const char *esc(const char *s, char *buf, size_t len)
{
        return util_escape(s, buf, len);
}

/* The next word of *P, NUL-terminated in place: white space separates words, and a word
 * that starts with '[' runs to the next ']' (libpam's _pam_tokenize and _pam_mkargv). */
static char *next_word(char **p)
{
        char *s = *p, *w;

        s += strspn(s, " \t\n\r");
        if (!*s) {
                *p = s;
                return NULL;
        }
        w = s;
        if (*s == '[') {
                char *close = strchr(s, ']');
                s = close ? close + 1 : s + strlen(s);
        } else {
                s += strcspn(s, " \t\n\r");
        }
        if (*s)
                *s++ = '\0';
        *p = s;
        return w;
}

static int action_of(const char *v)
{
        static const struct {
                const char *name;
                int action;
        } names[] = {{"ignore", A_IGNORE}, {"ok", A_OK},   {"done", A_DONE},
                     {"bad", A_BAD},       {"die", A_DIE}, {"reset", A_RESET}};
        char *end;
        long n;

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcasecmp(v, names[i].name) == 0)
                        return names[i].action;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n <= 0 || n > STACK_MAX)
                return A_BAD; /* libpam refuses it: the line counts as a failure */
        return (int)n;
}

/* The actions of a control for PAM_SUCCESS and PAM_AUTH_ERR (pam_handlers.c): a keyword, or
 * [value=action ...] where what is not named takes default=, and without it "bad". */
static void parse_control(const char *word, int *ret_success, int *ret_fail)
{
        char buf[LINE_BYTES], *p = buf, *kv;
        int s = A_UNDEF, f = A_UNDEF, d = A_UNDEF;

        if (strcasecmp(word, "required") == 0) {
                *ret_success = A_OK, *ret_fail = A_BAD;
                return;
        }
        if (strcasecmp(word, "requisite") == 0) {
                *ret_success = A_OK, *ret_fail = A_DIE;
                return;
        }
        if (strcasecmp(word, "optional") == 0) {
                *ret_success = A_OK, *ret_fail = A_IGNORE;
                return;
        }
        if (strcasecmp(word, "sufficient") == 0) {
                *ret_success = A_DONE, *ret_fail = A_IGNORE;
                return;
        }
        snprintf(buf, sizeof(buf), "%s", word[0] == '[' ? word + 1 : word);
        buf[strcspn(buf, "]")] = '\0';
        while ((kv = next_word(&p))) {
                char *eq = strchr(kv, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                if (strcasecmp(kv, "success") == 0)
                        s = action_of(eq + 1);
                else if (strcasecmp(kv, "auth_err") == 0)
                        f = action_of(eq + 1);
                else if (strcasecmp(kv, "default") == 0)
                        d = action_of(eq + 1);
        }
        *ret_success = s != A_UNDEF ? s : d != A_UNDEF ? d : A_BAD;
        *ret_fail = f != A_UNDEF ? f : d != A_UNDEF ? d : A_BAD;
}

static struct entry *add_entry(struct reader *rd, enum ptype t, const char *file, unsigned line, unsigned level)
{
        struct stack *st = &rd->svc->st[t];
        struct entry *n;

        if (st->n == STACK_MAX) {
                if (!rd->svc->full)
                        note(rd, CTL_WARNING, file, line,
                             "more than %d %s modules in one service: not checked further; shorten the stack",
                             STACK_MAX, type_names[t]);
                rd->svc->full = true;
                return NULL;
        }
        n = realloc(st->e, (st->n + 1) * sizeof(*n));
        if (!n)
                return NULL;
        st->e = n;
        n = &st->e[st->n++];
        *n = (struct entry){.file = file, .line = line, .level = level, .on_success = A_BAD, .on_fail = A_BAD};
        return n;
}

/* A line libpam cannot use fails when it runs (PAM_HT_MUST_FAIL): in stack T, or in every
 * stack for an @include of all types. */
static void add_must_fail(struct reader *rd, enum ptype only, const char *file, unsigned line, unsigned level)
{
        for (int t = 0; t < PT_N; t++)
                if (only == PT_ANY || (enum ptype)t == only) {
                        struct entry *e = add_entry(rd, (enum ptype)t, file, line, level);
                        if (e)
                                e->must_fail = true;
                }
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

static bool has_arg(const struct entry *e, const char *arg)
{
        const char *a = e->args;

        for (size_t i = 0; i < e->n_args; i++, a += strlen(a) + 1)
                if (strcmp(a, arg) == 0)
                        return true;
        return false;
}

/* NAME, included by a line of the service file itself (depth 1), is no service of its own */
static void mark_included(struct reader *rd, const char *name)
{
        struct pamck *pc = rd->pc;
        size_t *n;

        if (strchr(name, '/') || rd->depth != 1)
                return;
        for (size_t i = 0; i < pc->n_svc; i++)
                if (strcmp(pc->svc[i].name, name) == 0 && &pc->svc[i] != rd->svc) {
                        pc->svc[i].included = true;
                        n = realloc(rd->svc->edges, (rd->svc->n_edges + 1) * sizeof(*n));
                        if (!n)
                                return;
                        rd->svc->edges = n;
                        n[rd->svc->n_edges++] = i;
                }
}

/* Everything a service that nothing includes reaches through includes is checked through
 * it; files that only include one another in a loop are checked each on its own. */
static void mark_reached(struct pamck *pc, size_t i, unsigned depth)
{
        struct service *svc = &pc->svc[i];

        if (svc->reached || depth > DEPTH_MAX)
                return;
        svc->reached = true;
        for (size_t k = 0; k < svc->n_edges; k++)
                mark_reached(pc, svc->edges[k], depth + 1);
}

static int read_file(struct reader *rd, const char *name, enum ptype only, unsigned level, const char *from,
                     unsigned from_line);

/* `TYPE include FILE`, `TYPE substack FILE` and `@include FILE` */
static void include_file(struct reader *rd, const char *name, enum ptype only, bool substack, unsigned level,
                         const char *file, unsigned line)
{
        int r;

        if (!name) {
                note(rd, CTL_ERROR, file, line, "an include without a file name: libpam fails the stack here; name the file");
                add_must_fail(rd, only, file, line, level);
                return;
        }
        mark_included(rd, name);
        if (substack) {
                struct entry *e = add_entry(rd, only, file, line, level);
                if (!e)
                        return;
                e->substack = true;
        }
        r = read_file(rd, name, only, level + substack, file, line);
        if (r < 0)
                add_must_fail(rd, only, file, line, level);
}

static void parse_line(struct reader *rd, char *s, const char *file, unsigned line, enum ptype only, unsigned level)
{
        char e1[256], e2[256];
        char *word = next_word(&s), *control, *module;
        enum ptype t = PT_ANY;
        struct entry *e;
        size_t len = 0;

        if (!word)
                return;
        if (strcmp(word, "@include") == 0) {
                include_file(rd, next_word(&s), only, false, level, file, line);
                return;
        }
        if (word[0] == '-')
                word++;
        for (int i = 0; i < PT_N; i++)
                if (strcasecmp(word, type_names[i]) == 0)
                        t = (enum ptype)i;
        if (t == PT_ANY) {
                /* libpam installs a failing line in the most sensitive stack (or the included one) */
                enum ptype in = only == PT_ANY ? PT_AUTH : only;
                note(rd, CTL_ERROR, file, line,
                     "unknown module type '%s' (auth, account, session or password): libpam fails the %s stack "
                     "here, refusing every login; fix or remove the line",
                     esc(word, e1, sizeof(e1)), type_names[in]);
                add_must_fail(rd, in, file, line, level);
                return;
        }
        if (only != PT_ANY && t != only)
                return;
        control = next_word(&s);
        if (!control) {
                note(rd, CTL_ERROR, file, line, "no control after '%s': libpam fails the stack here; add one",
                     type_names[t]);
                add_must_fail(rd, t, file, line, level);
                return;
        }
        if (strcasecmp(control, "include") == 0 || strcasecmp(control, "substack") == 0) {
                include_file(rd, next_word(&s), t, strcasecmp(control, "substack") == 0, level, file, line);
                return;
        }
        module = next_word(&s);
        e = add_entry(rd, t, file, line, level);
        if (!e)
                return;
        snprintf(e->control, sizeof(e->control), "%s", control);
        if (!module) {
                note(rd, CTL_ERROR, file, line, "no module after '%s %s': libpam fails the stack here; add one",
                     type_names[t], esc(control, e2, sizeof(e2)));
                e->must_fail = true;
                return;
        }
        parse_control(control, &e->on_success, &e->on_fail);
        module = (char *)base_name(module);
        e->role = strcmp(module, "pam_unix.so") == 0    ? R_UNIX
                  : strcmp(module, "pam_deny.so") == 0  ? R_DENY
                  : strcmp(module, "pam_mlsec.so") == 0 ? R_MLSEC
                                                        : R_OTHER;
        /* the arguments, NUL-separated, in a copy of the rest of the line */
        e->args = malloc(strlen(s) + 1);
        if (!e->args)
                return;
        for (char *a; (a = next_word(&s));) {
                memcpy(e->args + len, a, strlen(a) + 1);
                len += strlen(a) + 1;
                e->n_args++;
        }
        if (e->role == R_MLSEC)
                e->kind = has_arg(e, "preauth") ? K_PREAUTH : has_arg(e, "authfail") ? K_AUTHFAIL : K_CODE;
}

/* One physical line into BUF (LINE_BYTES + 1): 1, or 0 at the end of the file or of the
 * byte budget. A longer line is read to its end and cut: *ret_long. */
static int read_physical(struct reader *rd, FILE *f, char *buf, bool *ret_long)
{
        size_t n = 0;
        int ch;

        *ret_long = false;
        while ((ch = getc(f)) != EOF && ch != '\n') {
                if (++rd->bytes > BYTES_MAX)
                        break;
                if (n < LINE_BYTES)
                        buf[n++] = (char)ch;
                else
                        *ret_long = true;
        }
        buf[n] = '\0';
        return ch == EOF && n == 0 && !*ret_long ? 0 : 1;
}

/* The logical lines of F as libpam 1.5 assembles them (_pam_assemble_line): a '#' starts a
 * comment and ends the line, a '\' at its end continues it on the next line, blank and
 * comment-only lines in between are skipped. Each goes to parse_line with the number of
 * its first physical line. */
static void read_lines(struct reader *rd, FILE *f, const char *file, enum ptype only, unsigned level)
{
        char *phys = malloc(LINE_BYTES + 1), *logical = malloc(LINE_BYTES + 1);
        unsigned n = 0, first = 0;
        size_t used = 0;
        bool too_long = false, cut;

        if (!phys || !logical)
                goto out;
        while (read_physical(rd, f, phys, &cut)) {
                char *s = phys, *hash, *end;
                size_t len;
                bool more;

                n++;
                if (++rd->work > WORK_MAX || rd->bytes > BYTES_MAX) {
                        if (!rd->over)
                                note(rd, CTL_WARNING, file, n,
                                     "more than %d lines or %ld MiB read for one service (includes counted): not "
                                     "checked further; simplify the includes",
                                     WORK_MAX, BYTES_MAX >> 20);
                        rd->over = true;
                        break;
                }
                if (used == 0)
                        first = n;
                if (cut)
                        too_long = true;
                s += strspn(s, " \t\r");
                if (!*s || *s == '#')
                        continue; /* nothing here; a continued line goes on */
                hash = strchr(s, '#');
                if (hash)
                        *hash = '\0';
                if (strstr(s, "pam_mlsec.so"))
                        rd->svc->names_mlsec = true;
                end = s + strlen(s);
                while (end > s && strchr(" \t\r", end[-1]))
                        end--;
                *end = '\0';
                len = (size_t)(end - s);
                more = !hash && len > 0 && s[len - 1] == '\\';
                if (more)
                        s[len - 1] = ' ';
                if (used + len > LINE_BYTES)
                        too_long = true;
                else {
                        memcpy(logical + used, s, len);
                        used += len;
                }
                if (more)
                        continue;
                logical[used] = '\0';
                if (too_long)
                        note(rd, CTL_WARNING, file, first,
                             "line longer than %d bytes: not checked; shorten it",
                             LINE_BYTES);
                else
                        parse_line(rd, logical, file, first, only, level);
                used = 0;
                too_long = false;
        }
        if (used && !rd->over) {
                logical[used] = '\0';
                parse_line(rd, logical, file, first, only, level); /* continued into the end of the file */
        }
out:
        free(phys);
        free(logical);
}

/* Read NAME (relative to the directory unless absolute) for the stacks of type ONLY (PT_ANY:
 * all) at substack LEVEL. FROM:FROM_LINE includes it (NULL: the service file itself). < 0
 * when it cannot be read; a problem of an include has been noted. */
static int read_file(struct reader *rd, const char *name, enum ptype only, unsigned level, const char *from,
                     unsigned from_line)
{
        char path[PATH_MAX], e1[PATH_MAX * 4];
        const char *file;
        struct stat st;
        FILE *f;
        int fd, r;

        if (rd->over)
                return 0;
        if (rd->depth == DEPTH_MAX) {
                note(rd, CTL_ERROR, from, from_line,
                     "includes nested more than %d deep: libpam fails the stack here, refusing every login; "
                     "include fewer levels",
                     DEPTH_MAX);
                return -ELOOP;
        }
        if (snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : rd->pc->dir, name[0] == '/' ? "" : "/",
                     name) >= (int)sizeof(path)) {
                if (from)
                        note(rd, CTL_ERROR, from, from_line, "the included file name is too long");
                return -ENAMETOOLONG;
        }
        /* O_NONBLOCK: a FIFO must not hang the check */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        r = fd < 0 ? -errno : fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
        if (r < 0) {
                if (fd >= 0)
                        (void)close(fd);
                if (from)
                        note(rd, CTL_ERROR, from, from_line,
                             "cannot read the included file %s (%s): libpam fails the stack here, refusing every "
                             "login; create it or remove the include",
                             esc(path, e1, sizeof(e1)), r == -EINVAL ? "not a regular file" : strerror(-r));
                return r;
        }
        for (unsigned i = 0; i < rd->depth; i++)
                if (rd->dev[i] == st.st_dev && rd->ino[i] == st.st_ino) {
                        (void)close(fd);
                        note(rd, CTL_ERROR, from, from_line,
                             "include loop: %s is included here again, inside itself; libpam includes it over and "
                             "over until %d levels deep, then fails the stack, refusing every login; remove the "
                             "include",
                             esc(path, e1, sizeof(e1)), DEPTH_MAX);
                        return -ELOOP;
                }
        f = fdopen(fd, "r");
        if (!f) {
                (void)close(fd);
                return -ENOMEM;
        }
        file = intern(rd->pc, path);
        rd->dev[rd->depth] = st.st_dev;
        rd->ino[rd->depth] = st.st_ino;
        rd->depth++;
        read_lines(rd, f, file, only, level);
        rd->depth--;
        (void)fclose(f);
        return 0;
}

/* ---- libpam's walk of a stack (pam_dispatch.c, _pam_dispatch_aux) ----------------- */

struct walk {
        bool ok;         /* the stack succeeded */
        ssize_t culprit; /* the module that made it fail first, -1: none */
        ssize_t next;    /* the first module run after pam_unix, -1: none */
        bool code_ran;   /* a pam_mlsec code line after pam_unix ran */
};

/* Walk auth stack S with every module succeeding but pam_deny, pam_mlsec authfail and the
 * lines libpam could not use, and pam_unix as UNIX_OK says. U is pam_unix's index;
 * UNIX_SUCCESS, when not A_UNDEF, replaces the action of its success. */
static void walk(const struct stack *s, size_t u, bool unix_ok, int unix_success, struct walk *w)
{
        int impression = 0, imp_saved[DEPTH_MAX + 2] = {0};
        bool status = false, status_saved[DEPTH_MAX + 2] = {false}, after_unix = false;
        unsigned prev = 0, level = 0;

        *w = (struct walk){.culprit = -1, .next = -1};
        for (size_t i = 0; i < s->n; prev = level, i++) {
                const struct entry *e = &s->e[i];
                bool fail;
                int action;

                level = e->level > DEPTH_MAX ? DEPTH_MAX : e->level;
                if (prev < level) {
                        imp_saved[level] = impression;
                        status_saved[level] = status;
                }
                if (e->substack)
                        continue;
                if (after_unix) {
                        w->next = (ssize_t)i;
                        after_unix = false;
                }
                if (i > u && e->role == R_MLSEC && e->kind == K_CODE)
                        w->code_ran = true;
                fail = e->must_fail || e->role == R_DENY || (e->role == R_MLSEC && e->kind == K_AUTHFAIL) ||
                       (e->role == R_UNIX && !unix_ok);
                /* a wrong password is typed on the path where nothing before pam_unix ended the
                 * stack with success (su's pam_rootok for root, say) */
                if (!unix_ok && i < u && !fail && e->on_success == A_DONE)
                        fail = true;
                action = fail ? e->on_fail : e->on_success;
                if (i == u) {
                        after_unix = true;
                        if (!fail && unix_success != A_UNDEF)
                                action = unix_success;
                }
                switch (action) {
                case A_RESET:
                        impression = imp_saved[level];
                        status = status_saved[level];
                        continue;
                case A_OK:
                case A_DONE:
                        if (impression == 0 || (impression > 0 && status)) {
                                impression = 1;
                                status = !fail;
                        }
                        if (impression > 0 && action == A_DONE)
                                break;
                        continue;
                case A_BAD:
                case A_DIE:
                        if (impression >= 0) {
                                impression = -1;
                                status = false;
                                w->culprit = (ssize_t)i;
                        }
                        if (action == A_DIE)
                                break;
                        continue;
                case A_IGNORE:
                        continue;
                default: {
                        int n = action;
                        size_t from = i;
                        while (i + 1 < s->n && s->e[i + 1].level >= e->level && n > 0) {
                                do
                                        i++;
                                while (i + 1 < s->n && s->e[i + 1].level > e->level);
                                n--;
                        }
                        if (n) { /* a jump past the end: "bad jump in stack" */
                                impression = -1;
                                status = false;
                                if (w->culprit < 0)
                                        w->culprit = (ssize_t)from;
                        }
                        continue;
                }
                }
                /* a decision: the rest of this level is skipped */
                while (i + 1 < s->n && s->e[i + 1].level >= e->level)
                        i++;
        }
        w->ok = impression > 0 && status;
}

/* ---- the checks of one service ---------------------------------------------------- */

/* "line N" when E is in REF's file, else "FILE:N" (escaped) */
static const char *at(const struct entry *ref, const struct entry *e, char *buf, size_t len)
{
        char e1[PATH_MAX * 4];

        if (ref && ref->file == e->file)
                snprintf(buf, len, "line %u", e->line);
        else
                snprintf(buf, len, "%s:%u", esc(e->file, e1, sizeof(e1)), e->line);
        return buf;
}

static bool option_known(enum ptype t, const char *arg)
{
        char *end;
        unsigned long n;

        if ((strncmp(arg, "conf=", 5) == 0 && arg[5] == '/') || strcmp(arg, "debug") == 0 ||
            strcmp(arg, "silent") == 0)
                return true; /* module_option (pam_mlsec/module.c) */
        switch (t) {
        case PT_AUTH:
                if (strcmp(arg, "preauth") == 0 || strcmp(arg, "authfail") == 0)
                        return true;
                /* auth and session share parse_options (pam_mlsec.c) */
                __attribute__((fallthrough));
        case PT_SESSION:
                return strcmp(arg, "forward_pass") == 0 || strcmp(arg, "notice=yes") == 0 ||
                       strcmp(arg, "notice=no") == 0;
        case PT_PASSWORD: /* password.c */
                if (strcmp(arg, "record") == 0 || strcmp(arg, "use_authtok") == 0)
                        return true;
                if (strncmp(arg, "retry=", 6) != 0 || arg[6] < '1' || arg[6] > '9')
                        return false;
                n = strtoul(arg + 6, &end, 10);
                return *end == '\0' && n <= PASSWORD_RETRY_MAX;
        default: /* account.c: the common ones only */
                return false;
        }
}

static bool same_path(const char *a, const char *b)
{
        char ra[PATH_MAX], rb[PATH_MAX];

        if (strcmp(a, b) == 0)
                return true;
        return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

static void check_options(struct pamck *pc, const struct service *svc)
{
        char e1[ESC], e2[PATH_MAX * 4], e3[ESC];

        for (int t = 0; t < PT_N; t++)
                for (size_t i = 0; i < svc->st[t].n; i++) {
                        const struct entry *e = &svc->st[t].e[i];
                        const char *a = e->args;

                        if (e->role != R_MLSEC)
                                continue;
                        for (size_t k = 0; k < e->n_args; k++, a += strlen(a) + 1) {
                                if (!option_known((enum ptype)t, a))
                                        ctl_report_problem(
                                                pc->rp, CTL_WARNING, e->file, e->line,
                                                "pam_mlsec.so does not know the option '%s' in the %s stack: it is "
                                                "ignored (and logged at every login); remove it or fix its spelling "
                                                "(see pam_mlsec(8))",
                                                esc(a, e1, sizeof(e1)), type_names[t]);
                                else if (strncmp(a, "conf=", 5) == 0 && !same_path(a + 5, pc->conf_path))
                                        ctl_report_problem(pc->rp, CTL_WARNING, e->file, e->line,
                                                           "pam_mlsec.so reads %s here, not the checked %s; check "
                                                           "that one too: mlsecctl check-config --conf %s",
                                                           esc(a, e1, sizeof(e1)), esc(pc->conf_path, e2, sizeof(e2)),
                                                           esc(a + 5, e3, sizeof(e3)));
                        }
                }
}

/* The smallest success=N for pam_unix with which a right password gets through, past a
 * code line when there is one after it; 0 when none does. */
static int find_jump(const struct stack *a, size_t u, bool has_code_after)
{
        struct walk w;

        for (int n = 1; (size_t)n < a->n - u; n++) {
                walk(a, u, true, n, &w);
                if (w.ok && (w.code_ran || !has_code_after))
                        return n;
        }
        return 0;
}

static void check_right_password(struct pamck *pc, const struct stack *a, size_t u, bool has_code_after)
{
        const struct entry *ue = &a->e[u], *x;
        char b1[PATH_MAX * 4 + 32], ctl_esc[sizeof(ue->control) * 4], fix[96] = "";
        struct walk w;
        int n;

        walk(a, u, true, A_UNDEF, &w);
        if (w.ok)
                return;
        if (w.culprit < 0) {
                ctl_report_problem(pc->rp, CTL_ERROR, ue->file, ue->line,
                                   "no module of this auth stack grants a login: every login is refused; make the "
                                   "modules after pam_unix.so succeed (see the EXAMPLES of pam_mlsec(8))");
                return;
        }
        x = &a->e[w.culprit];
        if (x->must_fail || (x->role == R_MLSEC && x->kind == K_AUTHFAIL && (size_t)w.culprit < u))
                return; /* said where it was read, or below */
        esc(ue->control, ctl_esc, sizeof(ctl_esc));
        n = find_jump(a, u, has_code_after);
        if (n)
                snprintf(fix, sizeof(fix), "; make it success=%d", n);
        if ((size_t)w.culprit == u && ue->on_success > 0)
                ctl_report_problem(pc->rp, CTL_ERROR, ue->file, ue->line,
                                   "pam_unix.so's %s jumps past the end of the stack: libpam then refuses every "
                                   "login%s",
                                   ctl_esc, fix);
        else if ((size_t)w.culprit < u)
                ctl_report_problem(pc->rp, CTL_ERROR, x->file, x->line,
                                   "this line comes before pam_unix.so (%s) and fails, so every login is refused; "
                                   "remove it or move it after pam_unix.so",
                                   at(x, ue, b1, sizeof(b1)));
        else if (x->role == R_MLSEC && x->kind == K_AUTHFAIL)
                ctl_report_problem(pc->rp, CTL_ERROR, ue->file, ue->line,
                                   "pam_unix.so's %s does not skip pam_mlsec.so authfail (%s): a right password "
                                   "goes on to it, and it always fails, so every login is refused%s",
                                   ctl_esc, at(ue, x, b1, sizeof(b1)), fix);
        else if (x->role == R_DENY)
                ctl_report_problem(pc->rp, CTL_ERROR, ue->file, ue->line,
                                   "pam_unix.so's %s lands a right password on pam_deny.so (%s), so every login is "
                                   "refused; count the authfail line in the jump%s",
                                   ctl_esc, at(ue, x, b1, sizeof(b1)), fix);
        else
                ctl_report_problem(pc->rp, CTL_ERROR, x->file, x->line,
                                   "a right password ends at this line, which fails, so every login is refused%s",
                                   n ? " (pam_unix.so's jump may be off)" : "");
}

static void check_wrong_password(struct pamck *pc, const struct stack *a, size_t u, size_t af)
{
        const struct entry *ue = &a->e[u], *fe = &a->e[af];
        char b1[PATH_MAX * 4 + 32], b2[PATH_MAX * 4 + 32], c1[sizeof(ue->control) * 4];
        struct walk w;

        walk(a, u, false, A_UNDEF, &w);
        if (w.next != (ssize_t)af) {
                if (af != u + 1 || fe->level != ue->level) {
                        struct entry next = *ue;
                        next.line++;
                        ctl_report_problem(pc->rp, CTL_WARNING, fe->file, fe->line,
                                           "pam_mlsec.so authfail must come right after pam_unix.so (%s): a wrong "
                                           "password does not reach it, so it is not recorded there; move it to %s",
                                           at(fe, ue, b1, sizeof(b1)), at(fe, &next, b2, sizeof(b2)));
                } else
                        ctl_report_problem(pc->rp, CTL_WARNING, ue->file, ue->line,
                                           "pam_unix.so's %s skips pam_mlsec.so authfail after a wrong password, so "
                                           "it is not recorded there; give pam_unix.so default=ignore",
                                           esc(ue->control, c1, sizeof(c1)));
                return;
        }
        if (fe->on_fail != A_DIE)
                ctl_report_problem(pc->rp, CTL_WARNING, fe->file, fe->line,
                                   "pam_mlsec.so authfail must be [default=die], not %s: the stack should end "
                                   "there after a wrong password; change its control to [default=die]",
                                   esc(fe->control, c1, sizeof(c1)));
}

static void check_auth(struct pamck *pc, const struct service *svc)
{
        const struct stack *a = &svc->st[PT_AUTH];
        char b1[PATH_MAX * 4 + 32], e1[ESC];
        ssize_t u = -1, af = -1, first_code = -1;
        bool code_after = false;

        for (size_t i = 0; i < a->n; i++)
                if (a->e[i].role == R_UNIX && !a->e[i].must_fail) {
                        u = (ssize_t)i;
                        break;
                }
        for (size_t i = 0; i < a->n; i++) {
                const struct entry *e = &a->e[i];

                if (e->role != R_MLSEC || e->must_fail || e->substack)
                        continue;
                if (e->kind == K_CODE) {
                        if (first_code >= 0)
                                ctl_report_problem(
                                        pc->rp, CTL_ERROR, e->file, e->line,
                                        "a second pam_mlsec.so code line in the auth stack of %s (the first is %s): "
                                        "the code is asked twice and the second is refused as a replay, so every "
                                        "login fails; remove one of them",
                                        esc(svc->name, e1, sizeof(e1)), at(e, &a->e[first_code], b1, sizeof(b1)));
                        else
                                first_code = (ssize_t)i;
                }
                if (u < 0)
                        continue;
                if (e->kind == K_CODE && (ssize_t)i > u)
                        code_after = true;
                if (e->kind == K_PREAUTH && (ssize_t)i > u)
                        ctl_report_problem(pc->rp, CTL_WARNING, e->file, e->line,
                                           "pam_mlsec.so preauth must come before pam_unix.so (%s): it turns a "
                                           "locked-out source away before the password is asked; move it above it",
                                           at(e, &a->e[u], b1, sizeof(b1)));
                if (e->kind == K_AUTHFAIL && (ssize_t)i < u)
                        ctl_report_problem(pc->rp, CTL_ERROR, e->file, e->line,
                                           "pam_mlsec.so authfail comes before pam_unix.so (%s): it always fails, so "
                                           "every login is refused; move it to the line right after pam_unix.so",
                                           at(e, &a->e[u], b1, sizeof(b1)));
                if (e->kind == K_AUTHFAIL && (ssize_t)i > u && af < 0)
                        af = (ssize_t)i;
                if (e->kind == K_CODE && (ssize_t)i < u) {
                        bool fp = has_arg(e, "forward_pass"),
                             up = has_arg(&a->e[u], "use_first_pass") || has_arg(&a->e[u], "try_first_pass");
                        if (!fp)
                                ctl_report_problem(pc->rp, CTL_WARNING, e->file, e->line,
                                                   "the pam_mlsec.so code line comes before pam_unix.so (%s): the "
                                                   "code is asked before the password; move it after pam_unix.so, or "
                                                   "give it forward_pass and pam_unix.so try_first_pass",
                                                   at(e, &a->e[u], b1, sizeof(b1)));
                        else if (!up)
                                ctl_report_problem(pc->rp, CTL_WARNING, a->e[u].file, a->e[u].line,
                                                   "pam_mlsec.so forward_pass (%s) hands the password on, but "
                                                   "pam_unix.so asks again without try_first_pass; add "
                                                   "try_first_pass to it",
                                                   at(&a->e[u], e, b1, sizeof(b1)));
                }
        }
        if (u < 0)
                return; /* another password module: its order is not ours to judge */
        check_right_password(pc, a, (size_t)u, code_after);
        if (af >= 0)
                check_wrong_password(pc, a, (size_t)u, (size_t)af);
}

static bool stack_has_mlsec(const struct stack *s)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->e[i].role == R_MLSEC && !s->e[i].must_fail)
                        return true;
        return false;
}

static void check_service(struct pamck *pc, const struct service *svc, const char *path)
{
        char e1[ESC];

        for (size_t i = 0; i < svc->n_notes; i++)
                ctl_report_problem(pc->rp, svc->notes[i].sev, svc->notes[i].file, svc->notes[i].line, "%s",
                                   svc->notes[i].msg);
        check_options(pc, svc);
        if (!stack_has_mlsec(&svc->st[PT_AUTH]))
                return;
        check_auth(pc, svc);
        if (!stack_has_mlsec(&svc->st[PT_SESSION]))
                ctl_report_problem(pc->rp, CTL_WARNING, path, 0,
                                   "no 'session optional pam_mlsec.so' line: the sessions of %s are not recorded "
                                   "(mlsecctl sessions, the login notice); add one after its other session lines",
                                   esc(svc->name, e1, sizeof(e1)));
}

/* ---- the directory ------------------------------------------------------------------ */

/* Names PAM never uses as services, left by package managers and editors. */
static int service_name_filter(const struct dirent *d)
{
        size_t n = strlen(d->d_name);

        return d->d_name[0] != '.' && d->d_name[n - 1] != '~' && !strstr(d->d_name, ".dpkg-") &&
               !strstr(d->d_name, ".ucf-");
}

static void service_free(struct service *svc)
{
        for (int t = 0; t < PT_N; t++) {
                for (size_t i = 0; i < svc->st[t].n; i++)
                        free(svc->st[t].e[i].args);
                free(svc->st[t].e);
        }
        for (size_t i = 0; i < svc->n_notes; i++)
                free(svc->notes[i].msg);
        free(svc->edges);
        free(svc->name);
}

int ctl_check_pam(struct ctl_report *rp, const char *pamdir, const char *conf_path, unsigned *ret_services,
                  bool *ret_sshd)
{
        struct pamck pc = {.rp = rp, .dir = pamdir, .conf_path = conf_path};
        struct dirent **names = NULL;
        unsigned used = 0;
        bool sshd = false;
        int n, r = 0;

        n = scandir(pamdir, &names, service_name_filter, alphasort);
        if (n < 0) {
                r = -errno;
                ctl_report_problem(rp, CTL_ERROR, pamdir, 0, "cannot read the PAM directory: %s", strerror(-r));
                return r;
        }
        pc.svc = calloc(n > 0 ? (size_t)n : 1, sizeof(*pc.svc));
        if (!pc.svc) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < n && pc.n_svc < SERVICES_MAX; i++) {
                pc.svc[pc.n_svc].name = strdup(names[i]->d_name);
                if (!pc.svc[pc.n_svc].name) {
                        r = -ENOMEM;
                        goto out;
                }
                pc.n_svc++;
        }
        for (size_t i = 0; i < pc.n_svc; i++) {
                struct reader rd = {.pc = &pc, .svc = &pc.svc[i]};
                (void)read_file(&rd, pc.svc[i].name, PT_ANY, 0, NULL, 0);
        }
        for (size_t i = 0; i < pc.n_svc; i++)
                if (!pc.svc[i].included)
                        mark_reached(&pc, i, 0);
        for (size_t i = 0; i < pc.n_svc; i++) {
                struct service *svc = &pc.svc[i];
                char path[PATH_MAX];

                if ((svc->included && svc->reached) || !(svc->names_mlsec || stack_has_mlsec(&svc->st[PT_AUTH])))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", pamdir, svc->name);
                check_service(&pc, svc, path);
                used++;
        }
        for (size_t i = 0; i < pc.n_svc; i++)
                if (strcmp(pc.svc[i].name, "sshd") == 0)
                        sshd = stack_has_mlsec(&pc.svc[i].st[PT_AUTH]);
        if (used == 0)
                ctl_report_problem(rp, CTL_WARNING, pamdir, 0,
                                   "no PAM service uses pam_mlsec.so: no login asks for a code; add its lines (see "
                                   "the EXAMPLES of pam_mlsec(8))");
        *ret_services = used;
        *ret_sshd = sshd;
out:
        for (size_t i = 0; i < pc.n_svc; i++)
                service_free(&pc.svc[i]);
        free(pc.svc);
        for (size_t i = 0; i < pc.n_files; i++)
                free(pc.files[i]);
        free(pc.files);
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}
