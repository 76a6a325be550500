/* SPDX-License-Identifier: MIT */
/* pamdrive: a PAM application for the integration tests. It runs one real libpam
 * transaction against a private service directory (pam_start_confdir), answers prompts
 * from its arguments, prints every message it is shown and the result, and can race N
 * forked copies of itself released at the same instant. With --chauthtok it runs
 * pam_chauthtok instead of pam_authenticate; with --acct, pam_acct_mgmt after a successful
 * pam_authenticate (or alone with --no-auth), and RESULT is its result. Test code only. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ANSWERS 16

struct drive {
        const char *confdir, *service, *user, *rhost, *tty;
        const char *answers[MAX_ANSWERS];
        int n_answers, next;
        int flags;
        bool show_authtok;
        bool quiet;
        bool no_auth;      /* skip pam_authenticate */
        bool open_session; /* pam_open_session after a successful authentication */
        bool close_session;
        bool chauthtok; /* pam_chauthtok instead of pam_authenticate */
        bool acct;      /* pam_acct_mgmt after pam_authenticate */
        const char *env[MAX_ANSWERS];
        int n_env;
        const char *on_prompt; /* a shell command run at each prompt, before it is answered */
};

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
        struct drive *d = data;
        struct pam_response *r = calloc((size_t)n, sizeof(*r));

        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                case PAM_PROMPT_ECHO_ON:
                        if (!d->quiet)
                                printf("PROMPT: %s\n", msg[i]->msg);
                        if (d->on_prompt) {
                                fflush(stdout);
                                if (system(d->on_prompt) != 0)
                                        fprintf(stderr, "pamdrive: --on-prompt command failed\n");
                        }
                        if (d->next >= d->n_answers) {
                                if (!d->quiet)
                                        printf("NOANSWER\n");
                                for (int j = 0; j < i; j++)
                                        free(r[j].resp);
                                free(r);
                                return PAM_CONV_ERR;
                        }
                        r[i].resp = strdup(d->answers[d->next++]);
                        break;
                case PAM_ERROR_MSG:
                        if (!d->quiet)
                                printf("ERROR: %s\n", msg[i]->msg);
                        break;
                case PAM_TEXT_INFO:
                        if (!d->quiet)
                                printf("INFO: %s\n", msg[i]->msg);
                        break;
                default:
                        break;
                }
        }
        fflush(stdout);
        *resp = r;
        return PAM_SUCCESS;
}

static int run_once(struct drive *d)
{
        struct pam_conv c = {conv, d};
        pam_handle_t *pamh = NULL;
        int r;

        r = pam_start_confdir(d->service, d->user, &c, d->confdir, &pamh);
        if (r != PAM_SUCCESS) {
                printf("RESULT: pam_start failed: %d\n", r);
                return 3;
        }
        if (d->rhost)
                pam_set_item(pamh, PAM_RHOST, d->rhost);
        if (d->tty)
                pam_set_item(pamh, PAM_TTY, d->tty);
        for (int i = 0; i < d->n_env; i++)
                pam_putenv(pamh, d->env[i]);
        if (d->chauthtok)
                r = pam_chauthtok(pamh, d->flags);
        else
                r = d->no_auth ? PAM_SUCCESS : pam_authenticate(pamh, d->flags);
        if (r == PAM_SUCCESS && d->acct) {
                r = pam_acct_mgmt(pamh, d->flags & PAM_SILENT);
                if (!d->quiet)
                        printf("ACCOUNT: %s\n", r == PAM_SUCCESS ? "PAM_SUCCESS" : pam_strerror(pamh, r));
        }
        if (r == PAM_SUCCESS && d->open_session) {
                int s = pam_open_session(pamh, d->flags & PAM_SILENT);
                if (!d->quiet)
                        printf("SESSION: %s\n", s == PAM_SUCCESS ? "opened" : pam_strerror(pamh, s));
                if (s == PAM_SUCCESS && d->close_session) {
                        s = pam_close_session(pamh, d->flags & PAM_SILENT);
                        if (!d->quiet)
                                printf("SESSION: %s\n", s == PAM_SUCCESS ? "closed" : pam_strerror(pamh, s));
                }
        }
        if (!d->quiet) {
                printf("RESULT: %s\n", r == PAM_SUCCESS ? "PAM_SUCCESS" : pam_strerror(pamh, r));
                if (d->show_authtok) {
                        const void *tok = NULL;
                        pam_get_item(pamh, PAM_AUTHTOK, &tok);
                        printf("AUTHTOK: %s\n", tok ? (const char *)tok : "(none)");
                }
        }
        pam_end(pamh, r);
        return r == PAM_SUCCESS ? 0 : r == PAM_AUTH_ERR ? 1 : 2;
}

/* N children wait on a pipe; closing it releases them all at once. */
static int race(struct drive *d, int n)
{
        int p[2], ok = 0, bad = 0;

        if (pipe(p) < 0)
                return 3;
        fflush(stdout);
        for (int i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0)
                        return 3;
                if (pid == 0) {
                        char b;
                        close(p[1]);
                        while (read(p[0], &b, 1) < 0 && errno == EINTR)
                                ;
                        d->quiet = true;
                        _exit(run_once(d));
                }
        }
        close(p[0]);
        usleep(200000);
        close(p[1]);
        for (int i = 0; i < n; i++) {
                int st;
                if (wait(&st) < 0)
                        return 3;
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                        ok++;
                else
                        bad++;
        }
        printf("RACE: %d succeeded, %d failed\n", ok, bad);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"confdir", required_argument, NULL, 'c'},
                                             {"service", required_argument, NULL, 's'},
                                             {"user", required_argument, NULL, 'u'},
                                             {"answer", required_argument, NULL, 'a'},
                                             {"rhost", required_argument, NULL, 'r'},
                                             {"tty", required_argument, NULL, 't'},
                                             {"silent", no_argument, NULL, 'S'},
                                             {"authtok", no_argument, NULL, 'T'},
                                             {"race", required_argument, NULL, 'R'},
                                             {"no-auth", no_argument, NULL, 'N'},
                                             {"open-session", no_argument, NULL, 'O'},
                                             {"close-session", no_argument, NULL, 'C'},
                                             {"env", required_argument, NULL, 'E'},
                                             {"chauthtok", no_argument, NULL, 'P'},
                                             {"acct", no_argument, NULL, 'A'},
                                             {"on-prompt", required_argument, NULL, 'X'},
                                             {0}};
        struct drive d = {.service = "mlsec-test"};
        int o, n_race = 0;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (o) {
                case 'c':
                        d.confdir = optarg;
                        break;
                case 's':
                        d.service = optarg;
                        break;
                case 'u':
                        d.user = optarg;
                        break;
                case 'a':
                        if (d.n_answers == MAX_ANSWERS)
                                return 3;
                        d.answers[d.n_answers++] = optarg;
                        break;
                case 'r':
                        d.rhost = optarg;
                        break;
                case 't':
                        d.tty = optarg;
                        break;
                case 'S':
                        d.flags |= PAM_SILENT;
                        break;
                case 'N':
                        d.no_auth = true;
                        break;
                case 'O':
                        d.open_session = true;
                        break;
                case 'C':
                        d.open_session = d.close_session = true;
                        break;
                case 'E':
                        if (d.n_env == MAX_ANSWERS)
                                return 3;
                        d.env[d.n_env++] = optarg;
                        break;
                case 'P':
                        d.chauthtok = true;
                        break;
                case 'A':
                        d.acct = true;
                        break;
                case 'X':
                        d.on_prompt = optarg;
                        break;
                case 'T':
                        d.show_authtok = true;
                        break;
                case 'R':
                        n_race = atoi(optarg);
                        break;
                default:
                        fprintf(stderr, "usage: pamdrive --confdir DIR --user U [--service S] [--answer A]... "
                                        "[--rhost H] [--tty T] [--silent (auth and session)] [--authtok] [--race N] "
                                        "[--chauthtok] [--acct] [--on-prompt SHELL_COMMAND]\n");
                        return 3;
                }
        }
        if (!d.confdir || !d.user)
                return 3;
        setvbuf(stdout, NULL, _IOLBF, 0);
        return n_race > 0 ? race(&d, n_race) : run_once(&d);
}
