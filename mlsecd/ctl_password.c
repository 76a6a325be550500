/* SPDX-License-Identifier: MIT */
/* mlsecctl password: change a password through PAM service `passwd`, so that pam_unix and
 * pam_mlsec's policy (its `record` line writes the history and the audit entry) apply.
 * It runs passwd(1), setuid root, on the caller's terminal and reports its outcome; it never
 * sees, asks for or passes on a password itself. Another user's password: root only. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "util.h"

#define PASSWD_PATH "/usr/bin/passwd"

static const char password_help[] = "Usage: mlsecctl password [--user NAME]\n"
                                    "\n"
                                    "Change your password (root: NAME's) through PAM service passwd: the rules of\n"
                                    "pam_unix and of pam_mlsec's password policy apply, and the change is audited.\n"
                                    "\n"
                                    "  --user NAME   whose password (root only, unless NAME is you)\n"
                                    "  -h, --help    this text\n";

/* Run passwd [USER] in the foreground; *ret_ok when it exited 0. */
static int run_passwd(const char *user, bool *ret_ok)
{
        struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
        char *args[] = {"passwd", (char *)user, NULL};
        int st = 0, r = 0;
        pid_t pid;

        fflush(NULL);
        /* like system(3): the terminal's ^C is for passwd, which decides what it means */
        sigemptyset(&ign.sa_mask);
        (void)sigaction(SIGINT, &ign, &old_int);
        (void)sigaction(SIGQUIT, &ign, &old_quit);
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto out;
        }
        if (pid == 0) {
                (void)sigaction(SIGINT, &old_int, NULL);
                (void)sigaction(SIGQUIT, &old_quit, NULL);
                execv(PASSWD_PATH, args);
                fprintf(stderr, "mlsecctl: cannot run %s: %s\n", PASSWD_PATH, strerror(errno));
                _exit(127);
        }
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        goto out;
                }
        *ret_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
out:
        (void)sigaction(SIGINT, &old_int, NULL);
        (void)sigaction(SIGQUIT, &old_quit, NULL);
        return r;
}

int ctl_password(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {
                {"user", required_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'}, {0}};
        const struct passwd *pw;
        const char *user = NULL;
        char esc[128];
        bool ok = false;
        uid_t uid = getuid();
        int o, r;

        optind = 1;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (o) {
                case 'u':
                        user = optarg;
                        break;
                case 'h':
                        fputs(password_help, stdout);
                        return EXIT_SUCCESS;
                default:
                        return ctl_usage_error("password: bad option");
                }
        }
        if (optind < argc)
                return ctl_usage_error("password takes no argument (another user's: --user NAME)");
        if (user) {
                if (!util_user_valid(user))
                        return ctl_usage_error("password: invalid user name '%s'", util_escape(user, esc, sizeof(esc)));
                pw = getpwnam(user);
                if (!pw) {
                        fprintf(stderr, "mlsecctl: no such user '%s'\n", user);
                        return EXIT_FAILURE;
                }
                if (pw->pw_uid != uid && uid != 0) {
                        fprintf(stderr, "mlsecctl: only root may change another user's password\n");
                        return EXIT_FAILURE;
                }
        }
        /* passwd takes a name from root only; anyone else changes their own */
        r = run_passwd(uid == 0 ? user : NULL, &ok);
        if (r < 0)
                return ctl_fail("password: cannot run " PASSWD_PATH, r);
        if (!ok) {
                fprintf(stderr, "Password not changed.\n");
                return EXIT_FAILURE;
        }
        printf("Password changed.\n");
        return EXIT_SUCCESS;
}
