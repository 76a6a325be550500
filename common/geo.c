/* SPDX-License-Identifier: MIT */
/* Locations of remote addresses through libmaxminddb, behind mlsec's own struct geo. The
 * database file is untrusted input to a root process: its owner and mode are checked, every
 * value read is type-checked and bounded, and strings pass the event text rule before they
 * are used. Address classes (private, loopback) are decided here, before any lookup. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <maxminddb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "geo.h"

struct geo {
        MMDB_s db;
};

int geo_open(const char *path, struct geo **ret)
{
        struct stat st;
        struct geo *g;
        int r;

        if (!path || !*path || !ret)
                return -EINVAL;
        if (lstat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
                return -EPERM;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        r = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
        if (r != MMDB_SUCCESS) {
                free(g);
                return r == MMDB_FILE_OPEN_ERROR ? -EIO : r == MMDB_OUT_OF_MEMORY_ERROR ? -ENOMEM : -EBADMSG;
        }
        *ret = g;
        return 0;
}

struct geo *geo_close(struct geo *g)
{
        if (g) {
                MMDB_close(&g->db);
                free(g);
        }
        return NULL;
}

/* Address classes that have no place on a map. */
static enum geo_kind classify(const char *ip, bool *ret_v4, uint8_t a[16])
{
        if (inet_pton(AF_INET, ip, a) == 1) {
                *ret_v4 = true;
        } else if (inet_pton(AF_INET6, ip, a) == 1) {
                static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
                static const uint8_t loop6[16] = {[15] = 1};

                if (memcmp(a, loop6, 16) == 0)
                        return GEO_LOOPBACK;
                if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
                        return GEO_PRIVATE; /* fc00::/7 unique local, fe80::/10 link-local */
                if (memcmp(a, mapped, 12) != 0) {
                        *ret_v4 = false;
                        return GEO_FOUND;
                }
                memmove(a, a + 12, 4); /* ::ffff:a.b.c.d is the IPv4 address */
                *ret_v4 = true;
        } else {
                return GEO_NOT_AN_IP;
        }
        if (a[0] == 127)
                return GEO_LOOPBACK;
        if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
            (a[0] == 100 && (a[1] & 0xc0) == 64) || (a[0] == 169 && a[1] == 254) || a[0] == 0)
                return GEO_PRIVATE;
        return GEO_FOUND;
}

/* Copy a UTF-8 string value at PATH... into DST when it is one and fits the text rule. */
static void get_text(MMDB_entry_s *e, char *dst, size_t n, const char *const *path)
{
        MMDB_entry_data_s v;
        char tmp[GEO_NAME_MAX];

        dst[0] = '\0';
        if (MMDB_aget_value(e, &v, path) != MMDB_SUCCESS || !v.has_data || v.type != MMDB_DATA_TYPE_UTF8_STRING ||
            v.data_size >= n || v.data_size >= sizeof(tmp))
                return;
        memcpy(tmp, v.utf8_string, v.data_size);
        tmp[v.data_size] = '\0';
        (void)event_set_text(dst, n, tmp);
}

static bool get_double(MMDB_entry_s *e, const char *const *path, double *ret)
{
        MMDB_entry_data_s v;

        if (MMDB_aget_value(e, &v, path) != MMDB_SUCCESS || !v.has_data || v.type != MMDB_DATA_TYPE_DOUBLE ||
            !isfinite(v.double_value))
                return false;
        *ret = v.double_value;
        return true;
}

int geo_lookup(struct geo *g, const char *ip, struct geo_place *ret)
{
        static const char *const p_country[] = {"country", "iso_code", NULL};
        static const char *const p_country_name[] = {"country", "names", "en", NULL};
        static const char *const p_city[] = {"city", "names", "en", NULL};
        static const char *const p_lat[] = {"location", "latitude", NULL};
        static const char *const p_lon[] = {"location", "longitude", NULL};
        struct geo_place p = {.kind = GEO_NOT_AN_IP};
        MMDB_lookup_result_s res;
        char text[INET6_ADDRSTRLEN];
        uint8_t a[16];
        bool v4 = false;
        int gai = 0, err = MMDB_SUCCESS;

        if (!ret)
                return -EINVAL;
        if (ip && strnlen(ip, 64) < 64)
                p.kind = classify(ip, &v4, a);
        if (p.kind != GEO_FOUND || !g) {
                if (p.kind == GEO_FOUND)
                        p.kind = GEO_UNKNOWN;
                *ret = p;
                return 0;
        }
        /* look up the canonical form (a mapped IPv4 address as IPv4) */
        if (!inet_ntop(v4 ? AF_INET : AF_INET6, a, text, sizeof(text)))
                return -EINVAL;
        res = MMDB_lookup_string(&g->db, text, &gai, &err);
        if (gai != 0 || err != MMDB_SUCCESS)
                return err == MMDB_SUCCESS ? -EINVAL : -EIO;
        p.kind = GEO_UNKNOWN;
        if (res.found_entry) {
                get_text(&res.entry, p.country, sizeof(p.country), p_country);
                get_text(&res.entry, p.country_name, sizeof(p.country_name), p_country_name);
                get_text(&res.entry, p.city, sizeof(p.city), p_city);
                p.has_location = get_double(&res.entry, p_lat, &p.latitude) &&
                                 get_double(&res.entry, p_lon, &p.longitude) && fabs(p.latitude) <= 90 &&
                                 fabs(p.longitude) <= 180;
                if (p.country[0])
                        p.kind = GEO_FOUND;
                else
                        p.has_location = false;
        }
        *ret = p;
        return 0;
}

const char *geo_kind_to_string(enum geo_kind k)
{
        switch (k) {
        case GEO_FOUND:
                return "found";
        case GEO_PRIVATE:
                return "private";
        case GEO_LOOPBACK:
                return "loopback";
        case GEO_NOT_AN_IP:
                return "not-an-address";
        default:
                return "unknown";
        }
}

const char *geo_describe(const struct geo_place *p, char *buf, size_t len)
{
        switch (p->kind) {
        case GEO_FOUND: {
                const char *country = p->country_name[0] ? p->country_name : p->country;
                if (p->city[0])
                        snprintf(buf, len, "%s, %s", p->city, country);
                else
                        snprintf(buf, len, "%s", country);
                return buf;
        }
        case GEO_PRIVATE:
                return "private network";
        case GEO_LOOPBACK:
                return "this machine";
        default:
                return "unknown";
        }
}

int geo_network(const char *ip, char *ret, size_t len)
{
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        uint8_t a[16] = {0};
        char text[INET6_ADDRSTRLEN], net[GEO_NETWORK_MAX];
        int af, bits, n;

        if (!ip || !ret || len == 0)
                return -EINVAL;
        if (inet_pton(AF_INET, ip, a) == 1) {
                af = AF_INET;
        } else if (inet_pton(AF_INET6, ip, a) == 1) {
                af = AF_INET6;
                if (memcmp(a, mapped, 12) == 0) {
                        memmove(a, a + 12, 4);
                        af = AF_INET;
                }
        } else {
                return -EINVAL;
        }
        if (af == AF_INET) {
                a[3] = 0;
                bits = 24;
        } else {
                memset(a + 6, 0, 10);
                bits = 48;
        }
        if (!inet_ntop(af, a, text, sizeof(text)))
                return -EINVAL;
        n = snprintf(net, sizeof(net), "%s/%d", text, bits);
        if (n < 0 || (size_t)n >= sizeof(net) || (size_t)n >= len)
                return -ENOBUFS;
        memcpy(ret, net, (size_t)n + 1);
        return 0;
}

double geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
        const double rad = M_PI / 180.0;
        double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
        double h = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

        if (h > 1)
                h = 1;
        return 2 * 6371.0 * asin(sqrt(h));
}
