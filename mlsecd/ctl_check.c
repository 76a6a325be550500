/* SPDX-License-Identifier: MIT */
/* mlsecctl check-config: what sshd -t and visudo -c are to their files, for everything a
 * login through pam_mlsec depends on: mlsec.conf, the key file, the credential store, the
 * enrolment of the administrators under unenrolled = deny, the PAM services
 * (ctl_check_pam.c) and sshd's effective settings. It only reads (the store is opened as a
 * login opens it) and prints no secret: one line per problem, then a summary. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "proto.h"
#include "seal.h"
#include "store.h"
#include "util.h"

#define PROBLEMS_MAX     10000     /* distinct lines kept to say each once */
#define SSHD_DEFAULT     "/usr/sbin/sshd"
#define SSHD_OUT_MAX     (256 * 1024)
#define SSHD_ERR_MAX     4096
#define SSHD_TIMEOUT_MS  10000
#define SSHD_VALUE_MAX   512
#define USERS_MAX        4096      /* administrators checked under unenrolled = deny */
#define SSHD_DROPIN      "/etc/ssh/sshd_config.d/mlsec.conf"

static const char *const severity_names[] = {
        [CTL_WARNING] = "warning",
        [CTL_INSECURE] = "insecure",
        [CTL_ERROR] = "error",
};

struct ctl_report {
        bool json;
        struct proto_obj *problems; /* --json */
        struct proto_obj *notes;
        char **seen;
        size_t n_seen;
        unsigned count[3];
};

static const char check_help[] =
        "Usage: mlsecctl check-config [--conf PATH] [--pamdir DIR] [--sshd PATH] [--sshd-config FILE] [--json]\n"
        "Check, as root, everything a login through pam_mlsec depends on: the configuration, the key\n"
        "file, the credential store, the enrolment of root and admin_group under unenrolled = deny,\n"
        "the PAM services that use pam_mlsec.so, and sshd's settings (sshd -T). One line per problem\n"
        "with its fix, then a summary. Exit status 1 when a login that works today would be refused\n"
        "(an error), 0 otherwise (warnings, insecure settings, or nothing found), 2 for usage errors.\n"
        "  --pamdir DIR        the PAM service files (default /etc/pam.d)\n"
        "  --sshd PATH         the sshd to ask (default " SSHD_DEFAULT ")\n"
        "  --sshd-config FILE  sshd's configuration file (sshd -T -f FILE)\n";

/* ---- the report ------------------------------------------------------------------- */

void ctl_report_problem(struct ctl_report *rp, enum ctl_severity sev, const char *file, unsigned line,
                        const char *fmt, ...)
{
        char msg[2048], where[PATH_MAX * 4 + 32] = "", full[sizeof(msg) + sizeof(where) + 16], esc[PATH_MAX * 4];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (file && line)
                snprintf(where, sizeof(where), "%s:%u", util_escape(file, esc, sizeof(esc)), line);
        else if (file)
                snprintf(where, sizeof(where), "%s", util_escape(file, esc, sizeof(esc)));
        snprintf(full, sizeof(full), "%s: %s%s%s", severity_names[sev], where, where[0] ? ": " : "", msg);
        for (size_t i = 0; i < rp->n_seen; i++)
                if (strcmp(rp->seen[i], full) == 0)
                        return; /* one file shared by many services: said once */
        if (rp->n_seen < PROBLEMS_MAX) {
                char **n = realloc(rp->seen, (rp->n_seen + 1) * sizeof(*n));
                if (n) {
                        rp->seen = n;
                        n[rp->n_seen] = strdup(full);
                        if (n[rp->n_seen])
                                rp->n_seen++;
                }
        }
        rp->count[sev]++;
        if (!rp->json) {
                printf("%s\n", full);
                return;
        }
        struct proto_obj *o = proto_obj_new();
        (void)proto_obj_set_str(o, "severity", severity_names[sev]);
        (void)proto_obj_set_str(o, "where", where);
        (void)proto_obj_set_str(o, "message", msg);
        (void)proto_array_add(rp->problems, o);
}

/* Not a problem: a check that was not made, and why. */
static void report_note(struct ctl_report *rp, const char *file, const char *msg)
{
        char esc[PATH_MAX * 4];

        util_escape(file, esc, sizeof(esc));
        if (!rp->json) {
                printf("note: %s: %s\n", esc, msg);
                return;
        }
        struct proto_obj *o = proto_obj_new();
        (void)proto_obj_set_str(o, "where", esc);
        (void)proto_obj_set_str(o, "message", msg);
        (void)proto_array_add(rp->notes, o);
}

static int report_finish(struct ctl_report *rp, unsigned services)
{
        unsigned e = rp->count[CTL_ERROR], i = rp->count[CTL_INSECURE], w = rp->count[CTL_WARNING];
        int ret = e ? EXIT_FAILURE : EXIT_SUCCESS;

        if (rp->json) {
                struct proto_obj *o = proto_obj_new();
                (void)proto_obj_set_obj(o, "problems", rp->problems);
                (void)proto_obj_set_obj(o, "notes", rp->notes);
                rp->problems = rp->notes = NULL;
                (void)proto_obj_set_int(o, "errors", e);
                (void)proto_obj_set_int(o, "insecure", i);
                (void)proto_obj_set_int(o, "warnings", w);
                (void)proto_obj_set_int(o, "services", services);
                if (proto_obj_print(stdout, o) < 0)
                        ret = ctl_fail("writing JSON", -EIO);
                proto_obj_free(o);
        } else if (e + i + w == 0) {
                printf("check-config: no problems found (%u PAM service%s use%s pam_mlsec.so)\n", services,
                       services == 1 ? "" : "s", services == 1 ? "s" : "");
        } else {
                printf("check-config: %u error%s, %u insecure, %u warning%s: %s\n", e, e == 1 ? "" : "s", i, w,
                       w == 1 ? "" : "s",
                       e ? "a login that works today would be refused (exit status 1)"
                         : "no login would be refused (exit status 0)");
        }
        for (size_t k = 0; k < rp->n_seen; k++)
                free(rp->seen[k]);
        free(rp->seen);
        proto_obj_free(rp->problems);
        proto_obj_free(rp->notes);
        return ret;
}

/* ---- mode and owner of a file that must be root's ---------------------------------- */

/* Why PATH is refused (owned by root, none of FORBIDDEN in its mode, of type DIR or a
 * regular file) and the fix, into BUF; false when it looks fine (the refusal was another). */
static bool why_unsafe(const char *path, bool dir, mode_t forbidden, mode_t want, char *buf, size_t len)
{
        char esc[PATH_MAX * 4], fix[PATH_MAX * 8 + 64] = "";
        struct stat st;
        bool owner, mode;

        if (lstat(path, &st) < 0)
                return false;
        util_escape(path, esc, sizeof(esc));
        if (S_ISLNK(st.st_mode)) {
                snprintf(buf, len, "is a symbolic link, which mlsec never follows; put the %s itself there",
                         dir ? "directory" : "file");
                return true;
        }
        if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
                snprintf(buf, len, "is not a %s; put the %s there", dir ? "directory" : "regular file",
                         dir ? "directory" : "file");
                return true;
        }
        owner = st.st_uid != geteuid();
        mode = (st.st_mode & forbidden) != 0;
        if (!owner && !mode)
                return false;
        if (owner)
                snprintf(fix, sizeof(fix), "chown root:root %s", esc);
        if (mode)
                snprintf(fix + strlen(fix), sizeof(fix) - strlen(fix), "%schmod %04o %s", owner ? " && " : "",
                         (unsigned)want, esc);
        if (owner && mode)
                snprintf(buf, len, "is owned by uid %u, not root, and has mode %04o; %s", (unsigned)st.st_uid,
                         (unsigned)(st.st_mode & 07777), fix);
        else if (owner)
                snprintf(buf, len, "is owned by uid %u, not root; %s", (unsigned)st.st_uid, fix);
        else
                snprintf(buf, len, "has mode %04o, %s by group or others; %s", (unsigned)(st.st_mode & 07777),
                         dir ? "writable" : "open", fix);
        return true;
}

/* ---- the credential store, the key, the administrators ------------------------------- */

static int has_device(struct store *s, const char *user, bool *ret)
{
        struct store_device *d = NULL;
        size_t n = 0;
        int r;

        r = store_list_devices(s, user, &d, &n);
        if (r < 0)
                return r;
        store_devices_free(d, n);
        *ret = n > 0;
        return 0;
}

/* *ret_s: the store, NULL when there is none or it cannot be opened (*ret_ok false then). */
static void check_store(struct ctl_report *rp, const struct mlsec_conf *conf, struct store **ret_s, bool *ret_ok,
                        unsigned *ret_enrolled)
{
        char path[PATH_MAX + sizeof(STORE_DB_NAME) + 1], why[PATH_MAX * 10];
        char(*users)[STORE_USER_MAX] = NULL;
        struct store *s = NULL;
        size_t n = 0;
        int r;

        *ret_s = NULL;
        *ret_ok = false;
        *ret_enrolled = 0;
        snprintf(path, sizeof(path), "%s/%s", conf->state_dir, STORE_DB_NAME);
        r = store_open(conf->state_dir, false, &s);
        if (r == -ENOENT) {
                *ret_ok = true; /* nobody is enrolled yet */
                return;
        }
        if (r == -EPERM &&
            why_unsafe(conf->state_dir, true, STORE_DIR_FORBIDDEN_MODE, 0700, why, sizeof(why))) {
                ctl_report_problem(rp, CTL_ERROR, conf->state_dir, 0,
                                   "the state directory %s: pam_mlsec refuses the credential store, so every "
                                   "login through it is refused",
                                   why);
                return;
        }
        if (r == -EPERM && why_unsafe(path, false, STORE_FILE_FORBIDDEN_MODE, 0600, why, sizeof(why))) {
                ctl_report_problem(rp, CTL_ERROR, path, 0,
                                   "the credential store %s: pam_mlsec refuses it, so every login through it is "
                                   "refused",
                                   why);
                return;
        }
        if (r < 0) {
                ctl_report_problem(rp, CTL_ERROR, path, 0,
                                   "cannot open the credential store: %s; every login through pam_mlsec is refused",
                                   ctl_store_why(r));
                return;
        }
        r = store_list_users(s, &users, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                bool yes = false;
                r = has_device(s, users[i], &yes);
                *ret_enrolled += yes;
        }
        free(users);
        if (r < 0) {
                ctl_report_problem(rp, CTL_ERROR, path, 0, "cannot read the credential store: %s",
                                   ctl_store_why(r));
                store_close(s);
                return;
        }
        *ret_s = s;
        *ret_ok = true;
}

static void check_key(struct ctl_report *rp, const struct mlsec_conf *conf, bool store_ok, unsigned enrolled)
{
        char why[PATH_MAX * 10];
        struct seal_key *k = NULL;
        struct stat st;
        int r;

        r = seal_key_load(conf->key_file, false, &k);
        k = seal_key_free(k); /* only its checks are wanted */
        if (r >= 0)
                return;
        if (r == -ENOENT) {
                if (enrolled)
                        ctl_report_problem(rp, CTL_ERROR, conf->key_file, 0,
                                           "the key file is missing, but %u user%s %s an MFA device: their logins "
                                           "are refused (the key opens their secrets); restore it from a backup",
                                           enrolled, enrolled == 1 ? "" : "s", enrolled == 1 ? "has" : "have");
                else if (!store_ok)
                        ctl_report_problem(rp, CTL_WARNING, conf->key_file, 0,
                                           "the key file is missing, and the store could not be read to tell "
                                           "whether anyone needs it");
                return; /* created by the first enrolment */
        }
        if ((r == -EPERM || r == -ELOOP) &&
            why_unsafe(conf->key_file, false, SEAL_KEY_FORBIDDEN_MODE, 0600, why, sizeof(why))) {
                ctl_report_problem(rp, CTL_ERROR, conf->key_file, 0,
                                   "the key file %s: pam_mlsec refuses it, so the logins of enrolled users are "
                                   "refused",
                                   why);
                return;
        }
        if (r == -EINVAL && lstat(conf->key_file, &st) == 0) {
                ctl_report_problem(rp, CTL_ERROR, conf->key_file, 0,
                                   "the key file has %lld bytes, not %d: pam_mlsec refuses it, so the logins of "
                                   "enrolled users are refused; restore it from a backup",
                                   (long long)st.st_size, SEAL_KEY_BYTES);
                return;
        }
        ctl_report_problem(rp, CTL_ERROR, conf->key_file, 0,
                           "cannot load the key file: %s; the logins of enrolled users are refused", ctl_key_why(r));
}

struct names {
        char (*name)[UTIL_USER_MAX];
        size_t n;
};

static void names_add(struct names *ns, const char *name)
{
        void *n;

        if (!util_user_valid(name) || ns->n == USERS_MAX)
                return;
        for (size_t i = 0; i < ns->n; i++)
                if (strcmp(ns->name[i], name) == 0)
                        return;
        n = realloc(ns->name, (ns->n + 1) * sizeof(*ns->name));
        if (!n)
                return;
        ns->name = n;
        snprintf(ns->name[ns->n++], UTIL_USER_MAX, "%s", name);
}

/* Under unenrolled = deny a user without a device cannot log in: root and admin_group
 * (members of its list, and users whose primary group it is) must have one. */
static void check_admins(struct ctl_report *rp, const struct mlsec_conf *conf, const char *conf_path,
                         struct store *s)
{
        struct names ns = {0};
        char esc[UTIL_USER_MAX * 4], gesc[sizeof(conf->admin_group) * 4];
        const struct group *gr;
        const struct passwd *pw;
        gid_t gid;

        if (conf->unenrolled != CONF_UNENROLLED_DENY)
                return;
        names_add(&ns, "root");
        gr = getgrnam(conf->admin_group);
        if (gr) {
                gid = gr->gr_gid;
                for (char **m = gr->gr_mem; m && *m; m++)
                        names_add(&ns, *m);
                setpwent();
                while ((pw = getpwent()))
                        if (pw->pw_gid == gid)
                                names_add(&ns, pw->pw_name);
                endpwent();
        }
        util_escape(conf->admin_group, gesc, sizeof(gesc));
        for (size_t i = 0; i < ns.n; i++) {
                bool yes = false;
                int r = s ? has_device(s, ns.name[i], &yes) : 0;

                if (r < 0) {
                        ctl_report_problem(rp, CTL_ERROR, conf_path, 0, "cannot read the credential store: %s",
                                           ctl_store_why(r));
                        break;
                }
                if (yes)
                        continue;
                util_escape(ns.name[i], esc, sizeof(esc));
                ctl_report_problem(rp, CTL_ERROR, conf_path, 0,
                                   "unenrolled = deny, but %s%s%s has no MFA device, so %s cannot log in; enrol "
                                   "first: mlsecctl admin enroll %s (or 'mlsecctl mfa enable' as %s)",
                                   esc, strcmp(ns.name[i], "root") == 0 ? "" : ", a member of admin_group ",
                                   strcmp(ns.name[i], "root") == 0 ? "" : gesc, esc, esc, esc);
        }
        free(ns.name);
}

/* ---- sshd ------------------------------------------------------------------------- */

struct sshd_out {
        char *out;
        size_t out_len;
        char err[SSHD_ERR_MAX];
        size_t err_len;
        int status; /* waitpid status, -1 when it could not be run or timed out */
};

static void drain(int fd, char *buf, size_t max, size_t *len, bool *open_)
{
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof(tmp));

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) {
                *open_ = false;
                return;
        }
        if (*len < max) {
                size_t k = (size_t)n < max - *len ? (size_t)n : max - *len;
                memcpy(buf + *len, tmp, k);
                *len += k;
        }
}

/* Run SSHD -T [-f CONFIG] [-C spec], stdin /dev/null, bounded output and time. */
static int run_sshd(const char *sshd, const char *config, bool with_c, struct sshd_out *o)
{
        char *argv[8], t[] = "-T", f[] = "-f", cflag[] = "-C", spec[] = "user=root,host=localhost,addr=127.0.0.1";
        char *envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        int out[2] = {-1, -1}, err[2] = {-1, -1}, argc = 0, st;
        bool oo = true, eo = true;
        struct timespec start, now;
        pid_t pid;

        o->out_len = o->err_len = 0;
        o->status = -1;
        argv[argc++] = (char *)sshd;
        argv[argc++] = t;
        if (config) {
                argv[argc++] = f;
                argv[argc++] = (char *)config;
        }
        if (with_c) {
                argv[argc++] = cflag;
                argv[argc++] = spec;
        }
        argv[argc] = NULL;
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                int r = -errno;
                for (int i = 0; i < 2; i++) {
                        if (out[i] >= 0)
                                (void)close(out[i]);
                        if (err[i] >= 0)
                                (void)close(err[i]);
                }
                return r;
        }
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                (void)close(out[0]), (void)close(out[1]), (void)close(err[0]), (void)close(err[1]);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
                    dup2(err[1], STDERR_FILENO) < 0)
                        _exit(127);
                execve(sshd, argv, envp);
                dprintf(STDERR_FILENO, "cannot run %s: %s\n", sshd, strerror(errno));
                _exit(127);
        }
        (void)close(out[1]);
        (void)close(err[1]);
        clock_gettime(CLOCK_MONOTONIC, &start);
        while (oo || eo) {
                struct pollfd p[2] = {{.fd = oo ? out[0] : -1, .events = POLLIN},
                                      {.fd = eo ? err[0] : -1, .events = POLLIN}};
                long left;

                clock_gettime(CLOCK_MONOTONIC, &now);
                left = SSHD_TIMEOUT_MS - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0)
                        break;
                if (poll(p, 2, (int)left) < 0 && errno != EINTR)
                        break;
                if (oo && p[0].revents)
                        drain(out[0], o->out, SSHD_OUT_MAX, &o->out_len, &oo);
                if (eo && p[1].revents)
                        drain(err[0], o->err, sizeof(o->err) - 1, &o->err_len, &eo);
        }
        (void)close(out[0]);
        (void)close(err[0]);
        if (oo || eo) { /* timed out */
                (void)kill(pid, SIGKILL);
                (void)waitpid(pid, &st, 0);
                return -ETIMEDOUT;
        }
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        o->out[o->out_len] = '\0';
        o->err[o->err_len] = '\0';
        o->status = st;
        return 0;
}

/* The value of KEY (sshd -T prints "key value" lines, keys in lower case) into VAL. */
static bool sshd_value(const char *out, const char *key, char *val, size_t len)
{
        size_t k = strlen(key);

        for (const char *l = out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
                size_t n = strcspn(l, "\n");
                if (n > k && strncmp(l, key, k) == 0 && l[k] == ' ') {
                        n -= k + 1;
                        if (n >= len)
                                n = len - 1;
                        memcpy(val, l + k + 1, n);
                        val[n] = '\0';
                        return true;
                }
        }
        return false;
}

/* Does any comma-separated list of AUTHENTICATIONMETHODS lack keyboard-interactive? */
static bool methods_skip_kbdint(const char *methods, char *ret_list, size_t len)
{
        char buf[SSHD_VALUE_MAX], *save = NULL;

        snprintf(buf, sizeof(buf), "%s", methods);
        for (char *list = strtok_r(buf, " \t", &save); list; list = strtok_r(NULL, " \t", &save))
                if (!strstr(list, "keyboard-interactive")) {
                        snprintf(ret_list, len, "%s", list);
                        return true;
                }
        return false;
}

static void check_sshd(struct ctl_report *rp, const char *sshd, const char *config, bool uses_mlsec)
{
        char kbd[SSHD_VALUE_MAX] = "yes", pam[SSHD_VALUE_MAX] = "yes", methods[SSHD_VALUE_MAX] = "any",
             pw[SSHD_VALUE_MAX] = "yes", pk[SSHD_VALUE_MAX] = "yes", list[SSHD_VALUE_MAX], e1[SSHD_VALUE_MAX * 4];
        struct sshd_out o = {.out = malloc(SSHD_OUT_MAX + 1)};
        int r;

        if (!o.out) {
                ctl_report_problem(rp, CTL_WARNING, sshd, 0, "out of memory: sshd not checked");
                return;
        }
        if (access(sshd, F_OK) < 0 && errno == ENOENT) {
                report_note(rp, sshd, "sshd not installed, not checked");
                goto out;
        }
        r = run_sshd(sshd, config, false, &o);
        if (r == 0 && !(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0) && strstr(o.err, "-C"))
                r = run_sshd(sshd, config, true, &o); /* Match blocks that need a connection to test */
        if (r < 0) {
                ctl_report_problem(rp, CTL_WARNING, sshd, 0, "cannot run sshd -T (%s): sshd not checked",
                                   r == -ETIMEDOUT ? "no answer in 10 seconds" : strerror(-r));
                goto out;
        }
        if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0) {
                o.err[strcspn(o.err, "\n")] = '\0';
                ctl_report_problem(rp, CTL_ERROR, sshd, 0,
                                   "sshd -T%s%s fails: %s; sshd would not start with this configuration, so fix it "
                                   "before sshd restarts",
                                   config ? " -f " : "", config ? util_escape(config, list, sizeof(list)) : "",
                                   o.err[0] ? util_escape(o.err, e1, sizeof(e1)) : "(no message)");
                goto out;
        }
        if (!uses_mlsec)
                goto out; /* the sshd service does not ask for a code: nothing of ours to check */
        (void)sshd_value(o.out, "kbdinteractiveauthentication", kbd, sizeof(kbd));
        (void)sshd_value(o.out, "usepam", pam, sizeof(pam));
        (void)sshd_value(o.out, "authenticationmethods", methods, sizeof(methods));
        (void)sshd_value(o.out, "passwordauthentication", pw, sizeof(pw));
        (void)sshd_value(o.out, "pubkeyauthentication", pk, sizeof(pk));
        if (strcmp(pam, "no") == 0) {
                /* MFA bypassed, nobody locked out: insecure, not an error (exit status 0) */
                ctl_report_problem(rp, CTL_INSECURE, sshd, 0,
                                   "UsePAM no: sshd never runs its PAM service, so ssh logins ask no code (MFA is "
                                   "bypassed; nobody is locked out, so the exit status stays 0); put 'UsePAM yes' in "
                                   "a drop-in " SSHD_DROPIN);
                goto out;
        }
        if (strcmp(kbd, "no") == 0) {
                if (strcmp(pw, "no") != 0)
                        ctl_report_problem(rp, CTL_ERROR, sshd, 0,
                                           "KbdInteractiveAuthentication no: sshd cannot ask for the code, so "
                                           "password logins over ssh fail; put 'KbdInteractiveAuthentication yes' "
                                           "in a drop-in " SSHD_DROPIN " (Debian's sshd_config already says 'no', and "
                                           "sshd keeps the first value it reads: the drop-ins come first)");
                else
                        ctl_report_problem(rp, CTL_INSECURE, sshd, 0,
                                           "KbdInteractiveAuthentication no and PasswordAuthentication no: only "
                                           "public keys log in over ssh, and they ask no code; put "
                                           "'KbdInteractiveAuthentication yes' and 'AuthenticationMethods "
                                           "publickey,keyboard-interactive' in a drop-in " SSHD_DROPIN);
                goto out;
        }
        if (strcmp(methods, "any") == 0) {
                if (strcmp(pk, "no") != 0)
                        ctl_report_problem(rp, CTL_WARNING, sshd, 0,
                                           "AuthenticationMethods any: a public key alone logs in over ssh, without "
                                           "a code; put 'AuthenticationMethods publickey,keyboard-interactive' (or "
                                           "keyboard-interactive) in a drop-in " SSHD_DROPIN);
        } else if (methods_skip_kbdint(methods, list, sizeof(list))) {
                ctl_report_problem(rp, CTL_WARNING, sshd, 0,
                                   "AuthenticationMethods: the list '%s' has no keyboard-interactive, the only way "
                                   "sshd asks for the code (a public key then logs in without one, and a 'password' "
                                   "login is refused); add keyboard-interactive to it in " SSHD_DROPIN,
                                   util_escape(list, e1, sizeof(e1)));
        }
out:
        free(o.out);
}

/* ---- the command -------------------------------------------------------------------- */

int ctl_check_config(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {{"conf", required_argument, NULL, 'c'},
                                              {"pamdir", required_argument, NULL, 'p'},
                                              {"sshd", required_argument, NULL, 's'},
                                              {"sshd-config", required_argument, NULL, 'f'},
                                              {"json", no_argument, NULL, 'j'},
                                              {"help", no_argument, NULL, 'h'},
                                              {0}};
        const char *pamdir = "/etc/pam.d", *sshd = SSHD_DEFAULT, *sshd_config = NULL, *conf_path;
        struct ctl_report rp = {0};
        char err[CONF_ERR_MAX];
        struct store *s = NULL;
        unsigned services = 0, enrolled = 0;
        bool store_ok = false, sshd_mlsec = false;
        int o;

        optind = 1;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (o) {
                case 'c':
                        c->conf_path = optarg;
                        break;
                case 'p':
                        pamdir = optarg;
                        break;
                case 's':
                        sshd = optarg;
                        break;
                case 'f':
                        sshd_config = optarg;
                        break;
                case 'j':
                        c->json = true;
                        break;
                case 'h':
                        fputs(check_help, stdout);
                        return EXIT_SUCCESS;
                default:
                        return ctl_usage_error("invalid option for 'check-config'");
                }
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (!pamdir[0] || !sshd[0] || (sshd_config && !sshd_config[0]))
                return ctl_usage_error("check-config: an empty path");
        if (geteuid() != 0) {
                fprintf(stderr, "mlsecctl: 'check-config' must be run as root: it reads the key file and the "
                                "credential store as a login does.\n");
                return EXIT_FAILURE;
        }
        conf_path = c->conf_path ? c->conf_path : CONF_DEFAULT_PATH;
        rp.json = c->json;
        if (rp.json && (!(rp.problems = proto_array_new()) || !(rp.notes = proto_array_new()))) {
                proto_obj_free(rp.problems);
                return ctl_fail("checking", -ENOMEM);
        }
        if (seal_init() < 0) {
                fprintf(stderr, "mlsecctl: crypto libraries failed to initialise\n");
                proto_obj_free(rp.problems);
                proto_obj_free(rp.notes);
                return EXIT_FAILURE;
        }
        if (conf_load(c->conf_path, &c->conf, err, sizeof(err)) < 0) {
                /* pam_mlsec refuses every login it is asked about with such a file */
                ctl_report_problem(&rp, CTL_ERROR, NULL, 0, "%s", err);
        } else {
                check_store(&rp, &c->conf, &s, &store_ok, &enrolled);
                check_key(&rp, &c->conf, store_ok, enrolled);
                if (store_ok)
                        check_admins(&rp, &c->conf, conf_path, s);
                s = store_close(s);
        }
        (void)ctl_check_pam(&rp, pamdir, conf_path, &services, &sshd_mlsec);
        check_sshd(&rp, sshd, sshd_config, sshd_mlsec);
        return report_finish(&rp, services);
}
