/* SPDX-License-Identifier: MIT */
/* Where a remote address is: country and city from a MaxMind-format database (GeoLite2,
 * DB-IP, ...) through libmaxminddb, and which addresses are private or loopback and so
 * have no place. The only libmaxminddb user. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define GEO_COUNTRY_MAX 4   /* ISO 3166-1 alpha-2 code and NUL */
#define GEO_NAME_MAX    128 /* a country or city name in English, bytes incl. NUL */

struct geo;

enum geo_kind {
        GEO_FOUND,     /* the database knows it: country (and maybe city, coordinates) */
        GEO_UNKNOWN,   /* a public address the database does not know, or no database */
        GEO_PRIVATE,   /* RFC 1918, CGNAT, link-local, unique-local: a local network */
        GEO_LOOPBACK,  /* 127.0.0.0/8, ::1 */
        GEO_NOT_AN_IP, /* empty, a host name, or not an address at all */
};

struct geo_place {
        enum geo_kind kind;
        char country[GEO_COUNTRY_MAX]; /* "GB"; "" when not found */
        char country_name[GEO_NAME_MAX];
        char city[GEO_NAME_MAX]; /* "" when the database has none */
        bool has_location;
        double latitude, longitude;
};

/* Open the database at PATH. It is read as root: -EPERM unless owned by root or the
 * effective uid and not writable by group or others; -ENOENT when missing; -EBADMSG when
 * it is not a MaxMind-format database. */
int geo_open(const char *path, struct geo **ret);
struct geo *geo_close(struct geo *g);

/* Classify IP (text) and, for a public address, look it up in G (G may be NULL: then every
 * public address is GEO_UNKNOWN). r < 0 only for a database read error (-EIO). */
int geo_lookup(struct geo *g, const char *ip, struct geo_place *ret);

/* For people: "London, United Kingdom", "Sweden", "private network", "this machine",
 * "unknown". */
const char *geo_describe(const struct geo_place *p, char *buf, size_t len);
/* "found", "private", "loopback", "unknown", "not-an-address": the wire spelling (mlsecctl.1) */
const char *geo_kind_to_string(enum geo_kind k);

/* The network IP belongs to, as text: its /24 for IPv4 (an IPv4-mapped IPv6 address counts
 * as IPv4), its /48 for IPv6 ("198.51.100.0/24", "2001:db8:1::/48"). -EINVAL when IP is not
 * an address, -ENOBUFS when LEN is too small (GEO_NETWORK_MAX always fits). */
#define GEO_NETWORK_MAX 48
int geo_network(const char *ip, char *ret, size_t len);

/* Great-circle distance in kilometres (haversine, mean Earth radius 6371 km). */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);
