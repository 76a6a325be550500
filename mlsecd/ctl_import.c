/* SPDX-License-Identifier: MIT */
/* mlsecctl admin import-google-authenticator: read a user's google-authenticator file as
 * the administrator (root, usually) with gauth_read_file's checks, parse it (gauth.c), tell
 * the administrator what is not carried over, and hand the secret and scratch codes to
 * mlsecd (admin-import) over its root-owned socket, which seals and stores them. The secret
 * never goes into argv, the environment, a file or a message; every buffer is wiped. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ctl.h"
#include "enroll.h"
#include "gauth.h"
#include "proto.h"
#include "seal.h"
#include "util.h"

#define PATH_SHOWN_MAX 512

static const char import_help[] =
        "Usage: mlsecctl admin import-google-authenticator USER [--file PATH] [--device NAME] [--replace]\n"
        "                                                [--remove-file] [--json]\n"
        "Move USER from google-authenticator-libpam to mlsec: read USER's ~/.google_authenticator (or PATH),\n"
        "create a device with the same secret and step (USER's authenticator app keeps working) and make the\n"
        "unused scratch codes USER's backup codes. Counter-based (HOTP) files are refused. Options mlsec has\n"
        "no equivalent for are listed as warnings. Refused when USER already has a device, unless --replace\n"
        "(which removes USER's devices and backup codes first). --device NAME: the device's name (default\n"
        "google-authenticator). --remove-file: delete the file after a successful import.\n";

struct import_opts {
        const char *file, *device;
        bool replace, remove_file;
};

static int parse_opts(struct ctl *c, int argc, char **argv, struct import_opts *o)
{
        static const struct option opts[] = {
                {"file", required_argument, NULL, 'f'}, {"device", required_argument, NULL, 'd'},
                {"replace", no_argument, NULL, 'r'},    {"remove-file", no_argument, NULL, 'x'},
                {"json", no_argument, NULL, 'j'},       {0}};
        int opt;

        *o = (struct import_opts){0};
        optind = 2;
        while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                switch (opt) {
                case 'f':
                        o->file = optarg;
                        break;
                case 'd':
                        o->device = optarg;
                        break;
                case 'r':
                        o->replace = true;
                        break;
                case 'x':
                        o->remove_file = true;
                        break;
                case 'j':
                        c->json = true;
                        break;
                default:
                        return ctl_usage_error("invalid option for 'admin import-google-authenticator'");
                }
        }
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (o->device && !enroll_device_name_valid(o->device))
                return ctl_usage_error("invalid --device name (1 to 63 of A-Z a-z 0-9 . _ - and spaces)");
        if (o->file && (!o->file[0] || strlen(o->file) >= PROTO_SOURCE_MAX))
                return ctl_usage_error("--file needs a path of 1 to %d bytes", PROTO_SOURCE_MAX - 1);
        return 0;
}

/* USER's uid and the default path, HOME/.google_authenticator. */
static int user_file(const char *user, uid_t *ret_uid, char *path, size_t len)
{
        struct passwd pw, *res = NULL;
        char buf[4096];

        if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return -ENOENT;
        *ret_uid = pw.pw_uid;
        if (!path)
                return 0;
        if (!pw.pw_dir || pw.pw_dir[0] != '/')
                return -EINVAL;
        if ((size_t)snprintf(path, len, "%s/%s", strcmp(pw.pw_dir, "/") ? pw.pw_dir : "", GAUTH_FILE_NAME) >= len)
                return -ENAMETOOLONG;
        return 0;
}

static void import_text(const struct proto_obj *res)
{
        int64_t codes = ctl_get_int(res, "backup_codes", 0), replaced = ctl_get_int(res, "devices_replaced", 0);

        printf("Imported google-authenticator for %s: device '%s' (TOTP, SHA-1, %lld digits, %lld s steps)",
               ctl_get_str(res, "user"), ctl_get_str(res, "device"), (long long)ctl_get_int(res, "digits", 6),
               (long long)ctl_get_int(res, "period", 30));
        printf(" and %lld scratch code%s as backup codes.\n", (long long)codes, codes == 1 ? "" : "s");
        if (replaced)
                printf("%lld previous device%s and the old backup codes were removed.\n", (long long)replaced,
                       replaced == 1 ? "" : "s");
}

/* The parsed file as an admin-import request (every secret in it is the caller's to wipe). */
static void fill_request(const struct gauth_file *f, const char *user, const struct import_opts *o, const char *path,
                         struct proto_request *req)
{
        *req = (struct proto_request){.method = PROTO_ADMIN_IMPORT,
                                      .digits = 6,
                                      .period = f->step,
                                      .last_step = f->last_step > 0 ? f->last_step : 0,
                                      .replace = o->replace};
        snprintf(req->user, sizeof(req->user), "%s", user);
        if (o->device)
                snprintf(req->device, sizeof(req->device), "%s", o->device);
        memcpy(req->secret, f->secret_b32, sizeof(req->secret));
        for (size_t i = 0; i < f->n_scratch; i++)
                memcpy(req->scratch[i], f->scratch[i], sizeof(req->scratch[i]));
        req->n_scratch = f->n_scratch;
        if (event_set_text(req->source, sizeof(req->source), path) < 0)
                req->source[0] = '\0'; /* a path that is not text: audited without it */
}

int ctl_import_gauth(struct ctl *c, int argc, char **argv)
{
        char path[PATH_MAX], shown[PATH_SHOWN_MAX], esc[128], err[GAUTH_ERR_MAX];
        char notes[GAUTH_NOTES_MAX][GAUTH_NOTE_MAX];
        struct proto_request req = {0};
        struct proto_obj *res = NULL, *warn = NULL;
        struct import_opts o;
        struct gauth_file f = {0};
        const char *user, *why = NULL;
        size_t len = 0, n_notes;
        char *buf = NULL;
        uid_t uid;
        int r, ret = EXIT_FAILURE;

        for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        fputs(import_help, stdout);
                        return EXIT_SUCCESS;
                }
        if (argc < 2 || argv[1][0] == '-')
                return ctl_usage_error("admin import-google-authenticator needs a USER");
        user = argv[1];
        if (!util_user_valid(user))
                return ctl_usage_error("invalid user name '%s'", util_escape(user, esc, sizeof(esc)));
        r = parse_opts(c, argc, argv, &o);
        if (r)
                return r;
        r = user_file(user, &uid, o.file ? NULL : path, sizeof(path));
        if (r == -ENOENT) {
                fprintf(stderr, "mlsecctl: no such user '%s' on this system\n", user);
                return EXIT_FAILURE;
        }
        if (r < 0) {
                fprintf(stderr, "mlsecctl: %s has no usable home directory; give the file with --file PATH\n", user);
                return EXIT_FAILURE;
        }
        if (o.file)
                snprintf(path, sizeof(path), "%s", o.file);
        util_escape(path, shown, sizeof(shown));

        /* no core dump and no ptrace by the caller's other processes while the secret is in
         * memory (an admin_group member runs this under their own uid) */
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        /* locked, guarded memory: the file is the secret in plain text */
        buf = seal_secure_alloc(GAUTH_FILE_MAX + 1);
        if (!buf)
                return ctl_fail("allocating memory", -ENOMEM);
        r = gauth_read_file(path, uid, o.file != NULL, buf, GAUTH_FILE_MAX + 1, &len, &why);
        if (r < 0) {
                if (r == -EACCES && why && strcmp(why, "it could not be opened") == 0)
                        why = "permission denied (run as root)";
                fprintf(stderr, "mlsecctl: %s: refused: %s; nothing imported\n", shown, why ? why : "unreadable");
                goto out;
        }
        r = gauth_parse(buf, len, &f, err, sizeof(err));
        seal_wipe(buf, GAUTH_FILE_MAX + 1);
        if (r == -EOPNOTSUPP) {
                fprintf(stderr,
                        "mlsecctl: %s is a counter-based (HOTP) google-authenticator file; mlsec has time-based codes "
                        "(TOTP) only: nothing imported. Set %s up anew: mlsecctl admin enroll %s (or, as %s, "
                        "mlsecctl mfa enable)\n",
                        shown, user, user, user);
                goto out;
        }
        if (r < 0) {
                fprintf(stderr,
                        "mlsecctl: %s is not a google-authenticator file mlsec can import: %s; nothing imported\n",
                        shown, err);
                goto out;
        }
        n_notes = gauth_notes(&f, &c->conf, notes, GAUTH_NOTES_MAX);
        fill_request(&f, user, &o, path, &req);
        gauth_clear(&f);
        r = ctl_call(c, &req, &res);
        proto_request_wipe(&req);
        if (r < 0)
                goto out;
        if (c->json) {
                warn = proto_array_new();
                for (size_t i = 0; warn && i < n_notes; i++)
                        (void)proto_array_add_str(warn, notes[i]);
                (void)proto_obj_set_obj(res, "warnings", warn);
                (void)proto_obj_set_str(res, "file", path);
        } else
                for (size_t i = 0; i < n_notes; i++)
                        fprintf(stderr, "mlsecctl: warning: %s\n", notes[i]);
        if (o.remove_file && unlink(path) < 0) {
                fprintf(stderr, "mlsecctl: the import succeeded, but %s could not be removed: %s\n", shown,
                        strerror(errno));
                (void)ctl_print_or_json(c, res, import_text);
                goto out;
        }
        ret = ctl_print_or_json(c, res, import_text);
        if (!c->json && o.remove_file)
                printf("Removed %s.\n", shown);
        else if (!c->json)
                printf("%s still holds the secret and scratch codes in plain text: remove it once %s has logged in "
                       "with mlsec (or import with --remove-file).\n",
                       shown, user);
out:
        gauth_clear(&f);
        proto_request_wipe(&req);
        seal_secure_free(buf);
        return ret;
}
