/* SPDX-License-Identifier: MIT */
/* mlsecctl admin fleet init|add-host|status: the fleet's schema, its host roles and this
 * host's view of it, through common/fleet.c. init and add-host speak as the database's
 * administrator (--db CONNINFO); status as this host (mlsec.conf fleet_db). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "fleet.h"
#include "seal.h"
#include "store.h"

#ifndef MLSEC_PGEXT_PATH
#define MLSEC_PGEXT_PATH "/usr/lib/postgresql/15/lib/mlsec_fleet.so"
#endif

extern const char fleet_schema_v1_sql[]; /* pgext/schema_v1.sql, built in */

static const char fleet_usage[] =
        "Usage: mlsecctl admin fleet init --db CONNINFO [--module PATH]\n"
        "       mlsecctl admin fleet add-host NAME --db CONNINFO [--admin]\n"
        "       mlsecctl admin fleet status [--json]\n"
        "       mlsecctl admin fleet import [--dry-run]\n"
        "\n"
        "init      create the fleet's schema and API functions in the database CONNINFO names (as a\n"
        "          superuser), or check an existing one; makes the fleet key in the server's data\n"
        "          directory. --module: where mlsec_fleet.so is on the database server\n"
        "          (default " MLSEC_PGEXT_PATH ").\n"
        "add-host  a role NAME for one host: it may only call the API; prints the pg_hba.conf line\n"
        "          and the client-certificate steps. --admin: the host may also reset users and import.\n"
        "status    this host's view: reachable or not, schema version, this host's role, the\n"
        "          database's synchronous standbys and clock.\n";

static int fleet_fail(const char *what, struct fleet *f, int r)
{
        const char *e = fleet_error(f);

        fprintf(stderr, "mlsecctl: %s: %s\n", what, e && e[0] ? e : strerror(-r));
        return EXIT_FAILURE;
}

static bool dry_run;

static int parse(int argc, char **argv, const char **db, const char **module, bool *admin, bool *json)
{
        static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                             {"dry-run", no_argument, NULL, 'n'},
                                             {"module", required_argument, NULL, 'm'},
                                             {"admin", no_argument, NULL, 'a'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        int o;

        optind = 0; /* a full restart of getopt: main() used it on other arguments */
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (o) {
                case 'd':
                        if (!db)
                                return ctl_usage_error("--db is not an option of this command");
                        *db = optarg;
                        break;
                case 'm':
                        if (!module)
                                return ctl_usage_error("--module is an option of init only");
                        *module = optarg;
                        break;
                case 'a':
                        if (!admin)
                                return ctl_usage_error("--admin is an option of add-host only");
                        *admin = true;
                        break;
                case 'j':
                        *json = true;
                        break;
                case 'n':
                        dry_run = true;
                        break;
                case 'h':
                        fputs(fleet_usage, stdout);
                        return -1;
                default:
                        return EXIT_USAGE;
                }
        }
        return 0;
}

static int cmd_init(int argc, char **argv)
{
        const char *db = NULL, *module = MLSEC_PGEXT_PATH;
        char err[FLEET_ERR_MAX] = "", key[512] = "";
        struct fleet *f = NULL;
        bool json = false;
        int from = 0, to = 0, r;

        r = parse(argc, argv, &db, &module, NULL, &json);
        if (r)
                return r < 0 ? EXIT_SUCCESS : r;
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (!db)
                return ctl_usage_error("admin fleet init needs --db CONNINFO (a superuser's connection)");
        if (module[0] != '/')
                return ctl_usage_error("--module must be an absolute path on the database server");
        r = fleet_admin_open(db, 10, &f, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "mlsecctl: cannot connect to the fleet database: %s\n", err);
                return EXIT_FAILURE;
        }
        r = fleet_admin_init(f, fleet_schema_v1_sql, module, &from, &to, key, sizeof(key));
        if (r < 0) {
                r = fleet_fail("the fleet's schema cannot be made", f, r);
                fleet_close(f);
                return r;
        }
        fleet_close(f);
        if (from == 0)
                printf("Created the fleet's schema, version %d, with its functions from %s.\n", to, module);
        else
                printf("The fleet's schema is at version %d: nothing to migrate.\n", from);
        printf("Fleet key: %s on the database server (its owner only; back it up with the data directory:\n"
               "without it no device can be checked).\n"
               "Next: mlsecctl admin fleet add-host NAME --db ... for each host.\n",
               key);
        return EXIT_SUCCESS;
}

static int cmd_add_host(int argc, char **argv)
{
        const char *db = NULL, *name;
        char err[FLEET_ERR_MAX] = "";
        struct fleet *f = NULL;
        bool admin = false, json = false;
        int r;

        r = parse(argc, argv, &db, NULL, &admin, &json);
        if (r)
                return r < 0 ? EXIT_SUCCESS : r;
        if (optind + 1 != argc)
                return ctl_usage_error("admin fleet add-host needs one NAME");
        name = argv[optind];
        if (!conf_host_name_valid(name))
                return ctl_usage_error("a host name is 1 to 63 of a-z, 0-9, '_' and '-' (as in mlsec.conf host_name)");
        if (!db)
                return ctl_usage_error("admin fleet add-host needs --db CONNINFO (a superuser's connection)");
        r = fleet_admin_open(db, 10, &f, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "mlsecctl: cannot connect to the fleet database: %s\n", err);
                return EXIT_FAILURE;
        }
        r = fleet_admin_add_host(f, name, admin);
        if (r < 0) {
                r = fleet_fail(r == -EEXIST ? "the host cannot be added" : "the host role cannot be made", f, r);
                fleet_close(f);
                return r;
        }
        fleet_close(f);
        printf("Host role \"%s\" created%s: it may only call the fleet's functions.\n\n", name,
               admin ? " (an admin host: reset and import too)" : "");
        printf("1. On the database server, in pg_hba.conf (before any broader line), then reload:\n"
               "     hostssl  DBNAME  %s  HOST_ADDRESS/32  cert\n"
               "2. Give the host a client certificate whose CN is %s, signed by the CA in the\n"
               "   server's ssl_ca_file, e.g.:\n"
               "     openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\\n"
               "         -subj /CN=%s -keyout %s.key -out %s.csr\n"
               "     openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -days 825 -out %s.crt\n"
               "3. On the host (key 0600, root's), in /etc/mlsec/mlsec.conf:\n"
               "     host_name = %s\n"
               "     fleet_db = host=DBHOST dbname=DBNAME user=%s sslmode=verify-full "
               "sslrootcert=/etc/mlsec/fleet-ca.crt sslcert=/etc/mlsec/%s.crt sslkey=/etc/mlsec/%s.key\n"
               "4. Let mlsecd reach the database (its unit allows Unix sockets only by default):\n"
               "     install -D -m 0644 /usr/share/mlsec/mlsecd-fleet.conf /etc/systemd/system/mlsecd.service.d/fleet.conf\n"
               "     systemctl daemon-reload && systemctl restart mlsecd\n"
               "   and check it with: mlsecctl admin fleet status\n",
               name, name, name, name, name, name, name, name, name, name, name);
        return EXIT_SUCCESS;
}

static int cmd_status(struct ctl *c, int argc, char **argv)
{
        char err[FLEET_ERR_MAX] = "", t[64], hn[CONF_HOST_NAME_MAX];
        struct fleet_status st;
        struct fleet *f = NULL;
        bool json = false;
        int r;

        r = parse(argc, argv, NULL, NULL, NULL, &json);
        if (r)
                return r < 0 ? EXIT_SUCCESS : r;
        json = json || c->json;
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (!fleet_configured(&c->conf)) {
                if (json)
                        printf("{\"fleet\": false}\n");
                else
                        printf("Fleet mode is off (no fleet_db in %s): this host checks its own credentials.db.\n",
                               c->conf_path ? c->conf_path : CONF_DEFAULT_PATH);
                return EXIT_SUCCESS;
        }
        r = fleet_open(&c->conf, &f, err, sizeof(err));
        if (r >= 0)
                r = fleet_status(f, &st);
        if (r < 0) {
                const char *why = f ? fleet_error(f) : err;

                if (json)
                        printf("{\"fleet\": true, \"reachable\": false, \"host_name\": \"%s\"}\n", conf_host_name(&c->conf, hn, sizeof(hn)));
                else
                        printf("Fleet:      unreachable: %s\nHost name:  %s\nOffline:    %s\n", why,
                               conf_host_name(&c->conf, hn, sizeof(hn)), conf_fleet_offline_to_string(c->conf.fleet_offline));
                fleet_close(f);
                return EXIT_FAILURE;
        }
        fleet_close(f);
        if (json) {
                printf("{\"fleet\": true, \"reachable\": true, \"role\": \"%s\", \"host_name\": \"%s\", \"admin\": %s, "
                       "\"schema_version\": %d, \"db_time\": %lld, \"clock_offset\": %lld, \"in_recovery\": %s, "
                       "\"synchronous_standby_names\": \"%s\"}\n",
                       st.host, conf_host_name(&c->conf, hn, sizeof(hn)), st.admin ? "true" : "false", st.schema_version,
                       (long long)st.db_time, (long long)(st.db_time - (int64_t)time(NULL)),
                       st.in_recovery ? "true" : "false", st.sync_standbys);
                return EXIT_SUCCESS;
        }
        printf("Fleet:      reachable\n");
        printf("Role:       %s%s%s\n", st.host, st.admin ? " (admin host)" : "",
               strcmp(st.host, conf_host_name(&c->conf, hn, sizeof(hn))) ? "  (differs from host_name!)" : "");
        printf("Schema:     version %d%s\n", st.schema_version,
               st.schema_version == FLEET_SCHEMA_VERSION ? "" : " (this mlsec expects another: run admin fleet init)");
        printf("Standbys:   %s\n", st.sync_standbys[0] ? st.sync_standbys : "none synchronous (a primary crash may lose the last codes spent)");
        printf("Clock:      %s (the TOTP clock; this host is %+lld s off)\n", ctl_fmt_time(st.db_time, t, sizeof(t)),
               (long long)((int64_t)time(NULL) - st.db_time));
        printf("Offline:    %s\n", conf_fleet_offline_to_string(c->conf.fleet_offline));
        return st.schema_version == FLEET_SCHEMA_VERSION ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* One device of USER into the fleet, under its name or NAME-HOST. 1 moved, 0 already there. */
static int import_device(struct fleet *f, const struct seal_key *k, const char *user, const struct store_device *dv,
                         const char *host, char *ret_name, size_t namelen)
{
        uint8_t secret[SEAL_SECRET_MAX];
        char alt[STORE_NAME_MAX];
        size_t slen = 0;
        int r;

        r = seal_decrypt(k, user, dv->sealed, dv->sealed_len, secret, sizeof(secret), &slen);
        if (r < 0)
                return r;
        snprintf(ret_name, namelen, "%s", dv->name);
        r = dry_run ? 1
                    : fleet_import_device(f, user, dv->name, totp_alg_to_string(dv->alg), dv->digits,
                                          dv->period ? dv->period : TOTP_PERIOD, dv->last_step, secret, slen);
        if (r == -EEXIST && (size_t)snprintf(alt, sizeof(alt), "%s-%s", dv->name, host) < sizeof(alt)) {
                /* the user has another device of that name in the fleet (from another host):
                 * this one keeps its own, marked with the host */
                snprintf(ret_name, namelen, "%s", alt);
                r = fleet_import_device(f, user, alt, totp_alg_to_string(dv->alg), dv->digits,
                                        dv->period ? dv->period : TOTP_PERIOD, dv->last_step, secret, slen);
        }
        seal_wipe(secret, sizeof(secret));
        return r;
}

static int cmd_import(struct ctl *c, int argc, char **argv)
{
        char err[FLEET_ERR_MAX] = "", host[CONF_HOST_NAME_MAX], name[STORE_NAME_MAX];
        char (*users)[STORE_USER_MAX] = NULL;
        struct seal_key *k = NULL;
        struct store *s = NULL;
        struct fleet *f = NULL;
        unsigned moved = 0, present = 0, codes_left = 0, failed = 0;
        size_t n_users = 0;
        bool json = false;
        int r, ret = EXIT_FAILURE;

        dry_run = false;
        r = parse(argc, argv, NULL, NULL, NULL, &json);
        if (r)
                return r < 0 ? EXIT_SUCCESS : r;
        if (optind != argc)
                return ctl_usage_error("unexpected argument '%s'", argv[optind]);
        if (geteuid() != 0) {
                fprintf(stderr, "mlsecctl: 'admin fleet import' must be run as root: it reads credentials.db.\n");
                return EXIT_FAILURE;
        }
        if (!fleet_configured(&c->conf)) {
                fprintf(stderr, "mlsecctl: fleet_db is not set: there is no fleet to import into.\n");
                return EXIT_FAILURE;
        }
        conf_host_name(&c->conf, host, sizeof(host));
        r = store_open(c->conf.state_dir, false, &s);
        if (r == -ENOENT) {
                printf("No credentials.db in %s: nothing to import.\n", c->conf.state_dir);
                return EXIT_SUCCESS;
        }
        if (r < 0)
                return ctl_fail(ctl_store_why(r), r);
        r = seal_key_load(c->conf.key_file, false, &k);
        if (r < 0) {
                ctl_fail(ctl_key_why(r), r);
                goto out;
        }
        r = fleet_open(&c->conf, &f, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "mlsecctl: cannot connect to the fleet: %s\n", err);
                goto out;
        }
        {
                struct fleet_status st;

                r = fleet_status(f, &st);
                if (r < 0) {
                        fprintf(stderr, "mlsecctl: the fleet does not answer: %s\n", fleet_error(f));
                        goto out;
                }
                if (!st.admin) {
                        fprintf(stderr,
                                "mlsecctl: the fleet refuses the import: %s is not an admin host "
                                "(mlsecctl admin fleet add-host %s --admin)\n",
                                st.host, st.host);
                        goto out;
                }
        }
        r = store_list_users(s, &users, &n_users);
        if (r < 0) {
                ctl_fail("cannot list the users of credentials.db", r);
                goto out;
        }
        for (size_t i = 0; i < n_users; i++) {
                struct store_device *dev = NULL;
                struct store_backup *codes = NULL;
                size_t nd = 0, nc = 0;

                if (store_list_devices(s, users[i], &dev, &nd) < 0 ||
                    store_list_backup_codes(s, users[i], &codes, &nc) < 0) {
                        fprintf(stderr, "mlsecctl: %s: cannot read the devices\n", users[i]);
                        failed++;
                        store_devices_free(dev, nd);
                        continue;
                }
                free(codes);
                if (nd > 0)
                        codes_left += (unsigned)nc;
                for (size_t j = 0; j < nd; j++) {
                        r = import_device(f, k, users[i], &dev[j], host, name, sizeof(name));
                        if (r == -EPERM) {
                                fprintf(stderr,
                                        "mlsecctl: the fleet refuses the import: %s is not an admin host "
                                        "(mlsecctl admin fleet add-host %s --admin)\n",
                                        host, host);
                                store_devices_free(dev, nd);
                                goto out;
                        }
                        if (r < 0) {
                                fprintf(stderr, "mlsecctl: %s: device '%s' not imported: %s\n", users[i],
                                        dev[j].name,
                                        r == -EBADMSG ? "it does not open with the key"
                                        : r == -EEXIST ? "its name is taken in the fleet"
                                                       : fleet_error(f));
                                failed++;
                        } else if (r == 0) {
                                printf("%s: device '%s' is in the fleet already\n", users[i], dev[j].name);
                                present++;
                        } else {
                                printf("%s: device '%s'%s%s%s\n", users[i], dev[j].name,
                                       dry_run ? " would be imported" : " imported",
                                       strcmp(name, dev[j].name) ? " as " : "", strcmp(name, dev[j].name) ? name : "");
                                moved++;
                        }
                }
                store_devices_free(dev, nd);
        }
        printf("%u device(s) %s, %u already there, %u failed.\n", moved, dry_run ? "to import" : "imported", present,
               failed);
        if (codes_left)
                printf("%u unused backup code(s) stay on this host only (they are hashed under its key): their "
                       "users should run 'mlsecctl backup-codes regenerate'.\n",
                       codes_left);
        ret = failed ? EXIT_FAILURE : EXIT_SUCCESS;
out:
        free(users);
        fleet_close(f);
        seal_key_free(k);
        store_close(s);
        return ret;
}

int ctl_fleet(struct ctl *c, int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                fputs(fleet_usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? EXIT_USAGE : EXIT_SUCCESS;
        }
        if (strcmp(argv[1], "init") == 0)
                return cmd_init(argc - 1, argv + 1);
        if (strcmp(argv[1], "add-host") == 0)
                return cmd_add_host(argc - 1, argv + 1);
        if (strcmp(argv[1], "status") == 0)
                return cmd_status(c, argc - 1, argv + 1);
        if (strcmp(argv[1], "import") == 0)
                return cmd_import(c, argc - 1, argv + 1);
        return ctl_usage_error("unknown admin fleet command '%s' (init, add-host, status, import)", argv[1]);
}
