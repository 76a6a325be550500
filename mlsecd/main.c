/* SPDX-License-Identifier: MIT */
/* mlsecd: the daemon that records every login attempt and session, knows which sessions are
 * live (systemd-logind), logs sessions out and keeps the audit log. This file parses the
 * command line, refuses to start on unsafe state, wires the event loop (socket, spool,
 * logind, signals, retention, watchdog) and shuts down without losing an event. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "daemon.h"
#include "store.h"
#include "totp.h"
#include "journal.h"
#include "spool.h"

#define PRUNE_INTERVAL_US (3600ull * 1000000ull)

static const char usage_text[] = "Usage: mlsecd [--conf PATH] [--init]\n"
                                 "\n"
                                 "The mlsec daemon: records login attempts and sessions, lists and logs out\n"
                                 "sessions through systemd-logind, keeps the audit log. Normally started by\n"
                                 "systemd (mlsecd.socket, mlsecd.service).\n"
                                 "\n"
                                 "  --conf PATH   configuration file (default " CONF_DEFAULT_PATH ")\n"
                                 "  --init        create the key file and state directories if missing,\n"
                                 "                then exit (mlsecd.service runs it before the sandbox)\n"
                                 "  -h, --help    this text\n";

/* Collects the ids of the events stored from the spool, to remove their files after commit. */
struct spool_round {
        struct daemon *d;
        char (*ids)[EVENT_ID_LEN + 1];
        size_t n, max;
        int error;
};

static int spool_one(const struct mlsec_event *e, void *userdata)
{
        struct spool_round *sr = userdata;
        bool is_new;
        int r;

        if (sr->n == sr->max)
                return -ENOBUFS;
        r = handle_store_event(sr->d, e, &is_new);
        if (r < 0) {
                sr->error = r;
                return r;
        }
        memcpy(sr->ids[sr->n++], e->id, sizeof(sr->ids[0]));
        return 0;
}

/* Each refused spool file gets its own journal line, so an administrator can tell which
 * file and why (a planted link, a wrong mode) before anyone looks in bad/. */
static void spool_bad(const char *name, enum spool_bad why, void *userdata)
{
        struct spool_round *sr = userdata;

        journal_spool_bad(sr->d->conf.spool_dir, name, spool_bad_to_string(why));
}

/* Ingest the spool: store in one transaction, commit, and only then delete the files. A
 * crash in between leaves files whose events are stored already: their ids are ignored
 * next time, so every event is stored exactly once. */
static void ingest_spool(struct daemon *d)
{
        struct spool_round sr = {.d = d, .max = DAEMON_BATCH_MAX * 4};
        size_t bad = 0, bad_all = 0;
        int r;

        sr.ids = calloc(sr.max, sizeof(*sr.ids));
        if (!sr.ids)
                return;
        do {
                sr.n = 0;
                r = spool_scan(d->conf.spool_dir, sr.max, spool_one, spool_bad, &sr, &bad);
                if (r == -ENOENT) {
                        r = 0;
                        break;
                }
                bad_all += bad;
                if (batch_commit(d) < 0 || sr.error < 0 || (r < 0 && r != -ENOBUFS)) {
                        journal_daemon(LOG_ERR, "spool ingestion failed (%s); will retry",
                                       strerror(sr.error < 0 ? -sr.error
                                                : r < 0      ? -r
                                                             : EIO));
                        break;
                }
                for (size_t i = 0; i < sr.n; i++)
                        (void)spool_remove(d->conf.spool_dir, sr.ids[i]);
        } while (sr.n == sr.max);
        if (bad_all)
                journal_daemon(LOG_WARNING, "%zu unreadable spool file(s) moved to %s/bad", bad_all, d->conf.spool_dir);
        free(sr.ids);
}

/* After each ingestion: tell the journal about events the spool could not keep since the
 * last report (the counter is the spool's, so losses while mlsecd was down are told at its
 * next start), and make the audit reserve whole again. A reserve that cannot be refilled is
 * told once, and once more when it is whole again, not every second. */
static void spool_upkeep(struct daemon *d)
{
        struct spool_status st;
        int r;

        r = spool_reserve_fill(d->conf.spool_dir);
        if (r < 0 && r != -ENOENT) {
                if (spool_status(d->conf.spool_dir, false, &st) < 0)
                        st.reserve_ready = 0;
                if (!d->reserve_short)
                        journal_spool_reserve(d->conf.spool_dir, st.reserve_ready, SPOOL_RESERVE_SLOTS, strerror(-r));
                d->reserve_short = true;
        } else if (r >= 0 && d->reserve_short) {
                journal_spool_reserve(d->conf.spool_dir, (unsigned)r, SPOOL_RESERVE_SLOTS, NULL);
                d->reserve_short = false;
        }
        if (spool_status(d->conf.spool_dir, false, &st) < 0 || !st.counter)
                return;
        if (st.lost_audit > st.reported_audit || st.lost_other > st.reported_other) {
                journal_spool_lost(d->conf.spool_dir, st.lost_audit - st.reported_audit,
                                   st.lost_other - st.reported_other, st.lost_audit, st.lost_other);
                (void)spool_lost_mark_reported(d->conf.spool_dir, st.lost_audit, st.lost_other);
        }
}

static int on_spool_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        ingest_spool(d);
        spool_upkeep(d);
        (void)sd_event_source_set_time(s, usec + (uint64_t)DAEMON_SPOOL_MS * 1000);
        (void)sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static void prune(struct daemon *d)
{
        uint64_t deleted = 0;
        int64_t cutoff = (int64_t)time(NULL) - (int64_t)d->conf.history_days * 86400;
        int r;

        (void)batch_commit(d);
        r = activity_prune(d->act, cutoff * 1000000, &deleted);
        if (r < 0)
                journal_daemon(LOG_WARNING, "pruning history older than %u days failed: %s", d->conf.history_days,
                               strerror(-r));
        else if (deleted)
                journal_daemon(LOG_INFO, "pruned %llu entries older than %u days", (unsigned long long)deleted,
                               d->conf.history_days);
}

static int on_prune_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        prune(userdata);
        (void)sd_event_source_set_time(s, usec + PRUNE_INTERVAL_US);
        (void)sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;

        (void)sd_notify(0, "STOPPING=1\nSTATUS=Stopping: storing what was received");
        journal_daemon(LOG_INFO, "stopping on signal %u", si->ssi_signo);
        return sd_event_exit(d->loop, 0);
}

/* State that root's daemon must not trust: anything another user could have written. */
static int check_state_dir(const char *dir)
{
        struct stat st;

        if (lstat(dir, &st) < 0)
                return errno == ENOENT ? (mkdir(dir, 0700) < 0 ? -errno : 0) : -errno;
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
                return -EPERM;
        return 0;
}

static int add_timers(struct daemon *d)
{
        uint64_t now;
        int r;

        r = sd_event_now(d->loop, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_add_time(d->loop, NULL, CLOCK_MONOTONIC, now + (uint64_t)DAEMON_SPOOL_MS * 1000, 0, on_spool_timer,
                              d);
        if (r < 0)
                return r;
        return sd_event_add_time(d->loop, NULL, CLOCK_MONOTONIC, now + PRUNE_INTERVAL_US, 0, on_prune_timer, d);
}

/* --init: everything the sandboxed daemon may not create itself (/etc is read-only there). */
static int init_state(const struct mlsec_conf *c)
{
        struct seal_key *k = NULL;
        int r;

        r = check_state_dir(c->state_dir);
        if (r < 0) {
                fprintf(stderr, "mlsecd: state directory %s: %s\n", c->state_dir,
                        r == -EPERM ? "not root's or writable by others" : strerror(-r));
                return r;
        }
        r = check_state_dir(c->spool_dir);
        if (r < 0) {
                fprintf(stderr, "mlsecd: spool directory %s: %s\n", c->spool_dir,
                        r == -EPERM ? "not root's or writable by others" : strerror(-r));
                return r;
        }
        /* The audit reserve: a warning only, mlsecd tries again at every ingestion. */
        r = spool_reserve_fill(c->spool_dir);
        if (r < 0)
                fprintf(stderr, "mlsecd: warning: spool %s: audit reserve not made: %s\n", c->spool_dir,
                        r == -EPERM ? "not root's or accessible by others" : strerror(-r));
        r = seal_init() < 0 ? -EIO : seal_key_load(c->key_file, true, &k);
        seal_key_free(k);
        if (r < 0)
                fprintf(stderr, "mlsecd: key file %s: %s\n", c->key_file,
                        r == -EPERM ? "unsafe owner or mode" : strerror(-r));
        return r;
}

/* geoip_db is a convenience: a missing, unsafe or invalid database is a warning, and mlsecd
 * records logins without countries and cities (private and loopback are still told). */
static void open_geo(struct daemon *d)
{
        int r;

        if (!d->conf.geoip_db[0])
                return;
        r = geo_open(d->conf.geoip_db, &d->geo);
        if (r >= 0) {
                journal_daemon(LOG_INFO, "locations from %s", d->conf.geoip_db);
                return;
        }
        d->geo = NULL;
        journal_daemon(LOG_WARNING, "geoip_db %s: %s; logins are recorded without locations", d->conf.geoip_db,
                       r == -EPERM     ? "unsafe owner or mode (must be root's, not writable by group or others)"
                       : r == -ENOENT  ? "missing"
                       : r == -EBADMSG ? "not a MaxMind-format database"
                                       : strerror(-r));
}

static int setup(struct daemon *d)
{
        sigset_t ss;
        int r;

        r = check_state_dir(d->conf.state_dir);
        if (r < 0) {
                fprintf(stderr, "mlsecd: refusing to start: state directory %s %s\n", d->conf.state_dir,
                        r == -EPERM ? "is not root's or is writable by others" : strerror(-r));
                return r;
        }
        if (seal_init() < 0 || totp_init() < 0)
                return -EIO;
        r = seal_key_load(d->conf.key_file, false, &d->key);
        if (r < 0) {
                fprintf(stderr, "mlsecd: refusing to start: key file %s: %s\n", d->conf.key_file,
                        r == -EPERM    ? "unsafe owner or mode (must be root, 0600)"
                        : r == -EINVAL ? "wrong size (must be 32 bytes)"
                        : r == -ENOENT ? "missing (create it with: mlsecd --init)"
                                       : strerror(-r));
                return r;
        }
        r = activity_open(d->conf.state_dir, d->key, &d->act);
        if (r < 0) {
                fprintf(stderr, "mlsecd: refusing to start: %s/%s: %s\n", d->conf.state_dir, ACTIVITY_DB_NAME,
                        r == -EPERM     ? "unsafe owner or mode"
                        : r == -EBADMSG ? "corrupt or newer schema"
                                        : strerror(-r));
                return r;
        }
        r = store_open(d->conf.state_dir, true, &d->store);
        if (r < 0) {
                fprintf(stderr, "mlsecd: refusing to start: %s/%s: %s\n", d->conf.state_dir, STORE_DB_NAME,
                        r == -EPERM     ? "unsafe owner or mode"
                        : r == -EBADMSG ? "corrupt or newer schema"
                                        : strerror(-r));
                return r;
        }
        open_geo(d);
        r = sd_event_default(&d->loop);
        if (r < 0)
                return r;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);
        if ((r = sd_event_add_signal(d->loop, NULL, SIGTERM, on_signal, d)) < 0 ||
            (r = sd_event_add_signal(d->loop, NULL, SIGINT, on_signal, d)) < 0)
                return r;
        r = server_listen(d);
        if (r < 0) {
                fprintf(stderr, "mlsecd: cannot listen on %s: %s\n", d->conf.socket, strerror(-r));
                return r;
        }
        r = logind_open(d->loop, handle_logind_change, d, &d->logind);
        if (r < 0) {
                d->logind = NULL;
                journal_daemon(LOG_WARNING,
                               "no systemd-logind on the system bus (%s): sessions are recorded but "
                               "not live-checked, and cannot be logged out",
                               strerror(-r));
        }
        r = add_timers(d);
        if (r < 0)
                return r;
        (void)sd_event_set_watchdog(d->loop, true);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"conf", required_argument, NULL, 'c'},
                                             {"init", no_argument, NULL, 'i'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        struct daemon d = {.listen_fd = -1};
        const char *conf_path = NULL;
        bool init = false;
        char err[CONF_ERR_MAX];
        int o, r;

        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (o) {
                case 'c':
                        conf_path = optarg;
                        break;
                case 'i':
                        init = true;
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        return EXIT_SUCCESS;
                default:
                        fputs(usage_text, stderr);
                        return 2;
                }
        }
        if (optind != argc) {
                fputs(usage_text, stderr);
                return 2;
        }
        r = conf_load(conf_path, &d.conf, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "mlsecd: %s\n", err);
                return EXIT_FAILURE;
        }
        if (init)
                return init_state(&d.conf) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        r = setup(&d);
        if (r < 0)
                goto out;
        ingest_spool(&d); /* what arrived while we were down */
        spool_upkeep(&d);
        handle_reconcile(&d);
        prune(&d);
        journal_daemon(LOG_INFO, "started: socket %s, state %s, logind %s", d.conf.socket, d.conf.state_dir,
                       d.logind ? "connected" : "not available");
        (void)sd_notifyf(0, "READY=1\nSTATUS=Recording logins%s", d.logind ? "" : " (no logind: sessions not live)");
        r = sd_event_loop(d.loop);
        ingest_spool(&d); /* anything spooled during the last second */
        journal_daemon(LOG_INFO, "stopped after storing %llu new event(s)", (unsigned long long)d.ingested);
out:
        server_stop(&d);
        d.logind = logind_close(d.logind);
        handle_mfa_expire(&d, 0);
        d.store = store_close(d.store);
        d.fleet = fleet_close(d.fleet);
        d.act = activity_close(d.act);
        d.geo = geo_close(d.geo);
        d.key = seal_key_free(d.key);
        d.loop = sd_event_unref(d.loop);
        if (d.socket_bound) {
                close(d.listen_fd);
                (void)unlink(d.conf.socket);
        }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
