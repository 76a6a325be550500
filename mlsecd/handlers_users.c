/* SPDX-License-Identifier: MIT */
/* admin-users: who is a user, and which names were only tried. A name is listed when it has
 * an MFA device, when one of its recorded attempts carried a uid (the module found the
 * account then), when it logged in, when NSS knows it now, or when credentials.db alone
 * knows it; every other name of activity.db (an attacker's dictionary) is only counted, and
 * listed apart with "unknown", most attempts first. The names come from one GROUP BY in
 * activity.c; NSS is asked only about the names none of that vouches for, at most
 * USERS_LOOKUPS_MAX of them for at most USERS_LOOKUPS_MS per request (mlsecd answers nobody
 * meanwhile); past that a name goes by its recorded attempts, none of which found an
 * account, and the reply says how many did. Names are untrusted: they leave as JSON
 * strings, for mlsecctl to escape. For root and admin_group only: handlers_admin.c checks. */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "enroll.h"
#include "store.h"
#include "verify.h"

#define USERS_NAMES_MAX       20000 /* names of activity.db looked at for one listing */
#define USERS_LOOKUPS_MAX     10000 /* NSS lookups for one listing, */
#define USERS_LOOKUPS_MS      2000  /* and the time they may take: a slow directory blocks nobody long */
#define USERS_UNKNOWN_DEFAULT 100   /* names shown with "unknown" and no "limit" */
#define PW_BUF_MAX            (1 << 20)

/* One name: from credentials.db, activity.db or both. */
struct entry {
        char user[EVENT_USER_MAX];
        const struct activity_user *act; /* NULL: no attempt recorded */
        bool in_store;
};

struct users_view {
        struct entry *users; /* listed, by name */
        size_t n_users;
        const struct activity_user **unknown; /* only tried, most attempts first */
        size_t n_unknown;
        uint64_t unknown_attempts;
        uint64_t unverified;                        /* unknown by their recorded attempts alone: no lookup left */
        uint64_t names_not_read, attempts_not_read; /* activity.db's names past USERS_NAMES_MAX */
};

static void view_clear(struct users_view *v)
{
        free(v->users);
        free(v->unknown);
        *v = (struct users_view){0};
}

/* By name; of two entries for one name, the one with recorded attempts first. */
static int cmp_entry(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;
        int c = strcmp(x->user, y->user);

        return c ? c : (y->act != NULL) - (x->act != NULL);
}

/* Most attempts first, then the newest, then by name. */
static int cmp_unknown(const void *a, const void *b)
{
        const struct activity_user *x = *(const struct activity_user *const *)a,
                                   *y = *(const struct activity_user *const *)b;

        if (x->attempts != y->attempts)
                return x->attempts < y->attempts ? 1 : -1;
        if (x->last_attempt_us != y->last_attempt_us)
                return x->last_attempt_us < y->last_attempt_us ? 1 : -1;
        return strcmp(x->user, y->user);
}

/* The union of the store's names and the recorded ones, sorted, each once. */
static int merge(char (*su)[STORE_USER_MAX], size_t ns, const struct activity_user *au, size_t na, struct entry **ret,
                 size_t *ret_n)
{
        struct entry *m;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        if (ns + na == 0)
                return 0;
        m = calloc(ns + na, sizeof(*m));
        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < ns; i++) {
                snprintf(m[i].user, sizeof(m[i].user), "%s", su[i]);
                m[i].in_store = true;
        }
        for (size_t j = 0; j < na; j++) {
                snprintf(m[ns + j].user, sizeof(m[ns + j].user), "%s", au[j].user);
                m[ns + j].act = &au[j];
        }
        qsort(m, ns + na, sizeof(*m), cmp_entry);
        for (size_t i = 0; i < ns + na; i++) {
                if (n > 0 && strcmp(m[n - 1].user, m[i].user) == 0)
                        m[n - 1].in_store |= m[i].in_store;
                else
                        m[n++] = m[i];
        }
        *ret = m;
        *ret_n = n;
        return 0;
}

/* Does NSS know NAME now? 1 yes, 0 no, < 0 it could not say. */
static int nss_has(const char *name)
{
        struct passwd pw, *res = NULL;
        char small[4096], *buf = small;
        size_t len = sizeof(small);
        int e;

        for (;;) {
                e = getpwnam_r(name, &pw, buf, len, &res);
                if (e != ERANGE || len >= PW_BUF_MAX)
                        break;
                if (buf != small)
                        free(buf);
                len *= 4;
                buf = malloc(len);
                if (!buf)
                        return -ENOMEM;
        }
        if (buf != small)
                free(buf);
        if (res)
                return 1;
        /* "not found" has several spellings among NSS modules (getpwnam_r(3)) */
        if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
                return 0;
        return -e;
}

static int64_t monotonic_ms(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The NSS lookups of one listing: how many, and since when. */
struct lookups {
        unsigned n;
        int64_t start_ms;
};

/* Whether entry E is a user (true) or only a name somebody tried (false). Past the bounds
 * of L a name goes by its recorded attempts (*ret_unverified). */
static int is_user(struct daemon *d, const struct entry *e, struct lookups *l, bool *ret, bool *ret_unverified)
{
        bool enrolled = false, user, unverified = false;
        int r;

        if (!e->act || e->act->was_account || e->act->last_login_us > 0)
                user = true;
        else if (e->in_store && (r = verify_enrolled(d->store, e->user, &enrolled)) < 0)
                return r;
        else if (enrolled)
                user = true;
        else if (l->n >= USERS_LOOKUPS_MAX || monotonic_ms() - l->start_ms > USERS_LOOKUPS_MS) {
                user = false;
                unverified = true;
        } else {
                l->n++;
                user = nss_has(e->user) != 0; /* a failed lookup hides nobody */
        }
        *ret = user;
        *ret_unverified = unverified;
        return 0;
}

/* Read and sort every name into V. AU (activity.db's names) must outlive V. */
static int view_build(struct daemon *d, const struct activity_user *au, size_t na, struct users_view *v)
{
        char(*su)[STORE_USER_MAX] = NULL;
        struct entry *m = NULL;
        uint64_t names = 0, attempts = 0, read_attempts = 0;
        struct lookups lookups = {.start_ms = monotonic_ms()};
        size_t ns = 0, n = 0;
        int r;

        *v = (struct users_view){0};
        r = d->store ? store_list_users(d->store, &su, &ns) : 0;
        if (r >= 0)
                r = activity_users_total(d->act, &names, &attempts);
        if (r >= 0)
                r = merge(su, ns, au, na, &m, &n);
        free(su);
        if (r < 0)
                return r;
        if (n > 0) {
                v->users = calloc(n, sizeof(*v->users));
                v->unknown = calloc(n, sizeof(*v->unknown));
                if (!v->users || !v->unknown) {
                        free(m);
                        view_clear(v);
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < n; i++) {
                bool user = true, unverified = false;

                r = is_user(d, &m[i], &lookups, &user, &unverified);
                if (r < 0)
                        break;
                if (m[i].act)
                        read_attempts += m[i].act->attempts;
                if (user) {
                        v->users[v->n_users++] = m[i];
                        continue;
                }
                v->unknown[v->n_unknown++] = m[i].act;
                v->unknown_attempts += m[i].act->attempts;
                v->unverified += unverified;
        }
        free(m);
        if (r < 0) {
                view_clear(v);
                return r;
        }
        qsort(v->unknown, v->n_unknown, sizeof(*v->unknown), cmp_unknown);
        v->names_not_read = names > na ? names - na : 0;
        v->attempts_not_read = attempts > read_attempts ? attempts - read_attempts : 0;
        return 0;
}

/* Where a login came from, for people: the address, else the host name, else the tty. */
static const char *login_from(const struct activity_user *u)
{
        if (u->ip[0])
                return u->ip;
        if (u->rhost[0])
                return u->rhost;
        if (u->tty[0])
                return u->tty;
        return "local";
}

static struct proto_obj *user_obj(const struct entry *u, const struct enroll_status *st)
{
        struct proto_obj *o = proto_obj_new(), *locks = proto_array_new();
        int r = o && locks ? 0 : -ENOMEM;

        if (r >= 0)
                r = proto_obj_set_str(o, "user", u->user);
        if (r >= 0)
                r = proto_obj_set_bool(o, "mfa_enabled", st->n_devices > 0);
        if (r >= 0)
                r = proto_obj_set_int(o, "devices", (int64_t)st->n_devices);
        if (r >= 0)
                r = proto_obj_set_int(o, "backup_codes_left", st->backup_left);
        for (size_t i = 0; r >= 0 && i < st->n_lockouts; i++) {
                struct proto_obj *l = proto_obj_new();
                r = l ? proto_obj_set_str(l, "source", st->lockouts[i].source) : -ENOMEM;
                if (r >= 0)
                        r = proto_obj_set_int(l, "locked_at", st->lockouts[i].locked_at);
                if (r >= 0)
                        r = proto_obj_set_int(l, "until", st->lockouts[i].until);
                if (r >= 0)
                        r = proto_array_add(locks, l);
                else
                        proto_obj_free(l);
        }
        if (r >= 0) {
                r = proto_obj_set_obj(o, "lockouts", locks);
                locks = NULL;
        }
        if (r >= 0 && u->act && u->act->last_login_us > 0) {
                r = proto_obj_set_int(o, "last_login_us", u->act->last_login_us);
                if (r >= 0)
                        r = proto_obj_set_str(o, "last_login_from", login_from(u->act));
                if (r >= 0 && u->act->service[0])
                        r = proto_obj_set_str(o, "last_login_service", u->act->service);
        }
        proto_obj_free(locks);
        if (r < 0)
                return proto_obj_free(o);
        return o;
}

static int64_t clamp(uint64_t n)
{
        return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

/* The counts both replies carry. */
static int set_counts(struct proto_obj *o, const struct users_view *v)
{
        int r = proto_obj_set_int(o, "unknown_names", (int64_t)v->n_unknown);

        if (r >= 0)
                r = proto_obj_set_int(o, "unknown_attempts", clamp(v->unknown_attempts));
        if (r >= 0)
                r = proto_obj_set_int(o, "unknown_unverified", clamp(v->unverified));
        if (r >= 0)
                r = proto_obj_set_int(o, "names_not_read", clamp(v->names_not_read));
        if (r >= 0)
                r = proto_obj_set_int(o, "attempts_not_read", clamp(v->attempts_not_read));
        return r;
}

/* {"users":[...],...} with the first K users. */
static int encode_users(struct daemon *d, const struct users_view *v, size_t k, time_t now, char *out, size_t max,
                        size_t *ret_len)
{
        struct proto_obj *o = proto_obj_new(), *arr = proto_array_new();
        int r = o && arr ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < k; i++) {
                struct enroll_status st = {0};
                struct proto_obj *u;

                r = enroll_status(d->store, v->users[i].user, now, &st);
                if (r < 0)
                        break;
                u = user_obj(&v->users[i], &st);
                enroll_status_clear(&st);
                r = u ? proto_array_add(arr, u) : -ENOMEM;
        }
        if (r >= 0) {
                r = proto_obj_set_obj(o, "users", arr);
                arr = NULL;
        }
        if (r >= 0 && k < v->n_users)
                r = proto_obj_set_bool(o, "truncated", true);
        if (r >= 0)
                r = set_counts(o, v);
        if (r >= 0)
                r = proto_encode_reply(o, out, max, ret_len);
        proto_obj_free(arr);
        proto_obj_free(o);
        return r;
}

static struct proto_obj *unknown_obj(const struct activity_user *u)
{
        struct proto_obj *o = proto_obj_new();
        int r = o ? 0 : -ENOMEM;

        if (r >= 0)
                r = proto_obj_set_str(o, "user", u->user);
        if (r >= 0)
                r = proto_obj_set_int(o, "attempts", clamp(u->attempts));
        if (r >= 0)
                r = proto_obj_set_int(o, "last_attempt_us", u->last_attempt_us);
        if (r >= 0)
                r = proto_obj_set_str(o, "last_attempt_from", u->last_attempt_from[0] ? u->last_attempt_from : "local");
        if (r < 0)
                return proto_obj_free(o);
        return o;
}

/* {"unknown":[...],"more":N,...} with the first K names. */
static int encode_unknown(const struct users_view *v, size_t k, char *out, size_t max, size_t *ret_len)
{
        struct proto_obj *o = proto_obj_new(), *arr = proto_array_new();
        int r = o && arr ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < k; i++) {
                struct proto_obj *u = unknown_obj(v->unknown[i]);

                r = u ? proto_array_add(arr, u) : -ENOMEM;
        }
        if (r >= 0) {
                r = proto_obj_set_obj(o, "unknown", arr);
                arr = NULL;
        }
        if (r >= 0)
                r = proto_obj_set_int(o, "more", (int64_t)(v->n_unknown - k));
        if (r >= 0)
                r = set_counts(o, v);
        if (r >= 0)
                r = proto_encode_reply(o, out, max, ret_len);
        proto_obj_free(arr);
        proto_obj_free(o);
        return r;
}

int handle_admin_users(struct daemon *d, const struct proto_request *req, char *out, size_t max, size_t *ret_len)
{
        struct activity_user *au = NULL;
        struct users_view v = {0};
        time_t now = time(NULL);
        size_t na = 0, n;
        int r;

        r = activity_users(d->act, DAEMON_CHECK_SERVICE, USERS_NAMES_MAX, &au, &na);
        if (r >= 0)
                r = view_build(d, au, na, &v);
        if (req->unknown) {
                n = req->limit ? req->limit : USERS_UNKNOWN_DEFAULT;
                n = n < v.n_unknown ? n : v.n_unknown;
        } else {
                n = v.n_users;
        }
        /* when they do not fit in one datagram: the first ones that do, marked */
        for (size_t k = n; r >= 0; k /= 2) {
                r = req->unknown ? encode_unknown(&v, k, out, max, ret_len)
                                 : encode_users(d, &v, k, now, out, max, ret_len);
                if (r != -EMSGSIZE || k == 0)
                        break;
                r = 0;
        }
        view_clear(&v);
        free(au);
        if (r < 0)
                return handle_reply_error(PROTO_E_INTERNAL, "the user list could not be read", out, max, ret_len);
        return 0;
}
