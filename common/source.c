/* SPDX-License-Identifier: MIT */
/* Where a login comes from, spelled one way: canonical remote addresses and host names,
 * and the machine's consoles told apart from other terminals. Pure functions over
 * untrusted strings, bounded; only source_console_active reads a file. Never logs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "source.h"
#include "store.h"

_Static_assert(SOURCE_MAX == STORE_SOURCE_MAX, "a source is stored as it is");

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool all_digits(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* The address part of IN (trimmed, brackets and a port taken off) into BUF. */
static int strip_decoration(const char *in, char *buf, size_t buflen)
{
        const char *b = in, *e, *colon;
        size_t n;

        while (*b && is_space(*b))
                b++;
        e = b + strlen(b);
        while (e > b && is_space(e[-1]))
                e--;
        if (e > b && *b == '[') {
                const char *close = memchr(b, ']', (size_t)(e - b));
                /* "[addr]" or "[addr]:port" */
                if (!close || (close + 1 != e && !(close[1] == ':' && all_digits(close + 2, (size_t)(e - close - 2)))))
                        return -EINVAL;
                b++;
                e = close;
        } else if ((colon = memchr(b, ':', (size_t)(e - b))) && !memchr(colon + 1, ':', (size_t)(e - colon - 1)) &&
                   all_digits(colon + 1, (size_t)(e - colon - 1))) {
                e = colon; /* one colon and digits after it: "host:port", never IPv6 */
        }
        n = (size_t)(e - b);
        if (n == 0)
                return -EINVAL;
        if (n >= buflen)
                return -ENAMETOOLONG;
        memcpy(buf, b, n);
        buf[n] = '\0';
        return 0;
}

static int canonical_address(char *buf, char *out, size_t outlen)
{
        unsigned char a[sizeof(struct in6_addr)];
        char text[INET6_ADDRSTRLEN], full[SOURCE_MAX];
        char *zone = strchr(buf, '%');
        size_t n;
        int family = AF_INET6;

        if (zone)
                *zone++ = '\0';
        if (inet_pton(AF_INET6, buf, a) == 1) {
                if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
                        memmove(a, a + 12, 4);
                        family = AF_INET;
                        zone = NULL;
                }
        } else if (!zone && inet_pton(AF_INET, buf, a) == 1) {
                family = AF_INET;
        } else {
                if (zone)
                        zone[-1] = '%';
                return 0;
        }
        if (!inet_ntop(family, a, text, sizeof(text)))
                return -EINVAL;
        if (zone && *zone && zone[strlen(zone) - 1] == '.')
                return -EINVAL; /* would read as the root's dot */
        for (char *z = zone; z && *z; z++) {
                if (!isalnum((unsigned char)*z) && *z != '-' && *z != '_' && *z != '.')
                        return -EINVAL;
                *z = (char)tolower((unsigned char)*z);
        }
        n = (size_t)snprintf(full, sizeof(full), "%s%s%s", text, zone && *zone ? "%" : "", zone && *zone ? zone : "");
        if (n >= sizeof(full) || n >= outlen)
                return -ENAMETOOLONG;
        memcpy(out, full, n + 1);
        return 1;
}

int source_canonical(const char *in, char *out, size_t outlen)
{
        char buf[SOURCE_MAX];
        size_t n;
        int r;

        if (!in || !out || outlen == 0)
                return -EINVAL;
        r = strip_decoration(in, buf, sizeof(buf));
        if (r < 0)
                return r;
        /* the root's dot goes first: "192.0.2.1." is the address, "host." the name "host" */
        n = strlen(buf);
        if (n > 1 && buf[n - 1] == '.')
                buf[--n] = '\0';
        r = canonical_address(buf, out, outlen);
        if (r != 0)
                return r;
        /* a host name: lower case, only what DNS names are made of, no empty label */
        if (buf[0] == '.' || buf[n - 1] == '.' || strstr(buf, ".."))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = (char)tolower((unsigned char)buf[i]);
                if (!isalnum((unsigned char)c) && c != '-' && c != '.' && c != '_')
                        return -EINVAL;
                buf[i] = c;
        }
        if (n >= outlen)
                return -ENAMETOOLONG;
        memcpy(out, buf, n + 1);
        return 0;
}

/* A network as family, address bytes and prefix length. */
struct network {
        int family;
        unsigned char addr[16];
        unsigned prefix;
};

static int network_parse(const char *in, struct network *ret)
{
        char buf[INET6_ADDRSTRLEN + 8];
        const char *slash;
        size_t len;
        unsigned max, p = 0;

        len = strnlen(in, sizeof(buf));
        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, in, len + 1);
        slash = strchr(buf, '/');
        if (slash)
                buf[slash - buf] = '\0';
        *ret = (struct network){.family = AF_INET6};
        if (inet_pton(AF_INET6, buf, ret->addr) != 1) {
                ret->family = AF_INET;
                if (inet_pton(AF_INET, buf, ret->addr) != 1)
                        return -EINVAL;
        }
        max = ret->family == AF_INET ? 32 : 128;
        if (!slash) {
                ret->prefix = max;
                return 0;
        }
        slash++;
        if (!*slash || strlen(slash) > 3)
                return -EINVAL;
        for (const char *c = slash; *c; c++) {
                if (*c < '0' || *c > '9' || (c == slash && *c == '0' && c[1]))
                        return -EINVAL;
                p = p * 10 + (unsigned)(*c - '0');
        }
        if (p > max)
                return -EINVAL;
        ret->prefix = p;
        return 0;
}

/* Do A and B agree on the first PREFIX bits? */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
        unsigned full = prefix / 8, rest = prefix % 8;

        if (memcmp(a, b, full) != 0)
                return false;
        return rest == 0 || ((a[full] ^ b[full]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

int source_network_parse(const char *in, char *canon, size_t canonlen)
{
        struct network n, z;
        char text[INET6_ADDRSTRLEN];
        unsigned bytes;
        int r;

        r = network_parse(in, &n);
        if (r < 0)
                return r;
        /* the network itself: every bit after the prefix cleared */
        z = n;
        bytes = n.family == AF_INET ? 4 : 16;
        for (unsigned i = 0; i < bytes; i++) {
                unsigned lo = i * 8;
                if (lo >= n.prefix)
                        z.addr[i] = 0;
                else if (n.prefix - lo < 8)
                        z.addr[i] &= (unsigned char)(0xff << (8 - (n.prefix - lo)));
        }
        if (!inet_ntop(z.family, z.addr, text, sizeof(text)))
                return -EINVAL;
        if (canon && canonlen && snprintf(canon, canonlen, "%s/%u", text, z.prefix) >= (int)canonlen)
                return -ENAMETOOLONG;
        return memcmp(z.addr, n.addr, bytes) == 0 ? 0 : -EDOM;
}

bool source_in_networks(const char *source, const struct conf_list *nets)
{
        struct network a, n;

        if (!source || !nets || nets->n == 0 || network_parse(source, &a) < 0 || strchr(source, '/'))
                return false;
        for (unsigned i = 0; i < nets->n; i++)
                if (network_parse(nets->item[i], &n) == 0 && n.family == a.family && prefix_equal(a.addr, n.addr, n.prefix))
                        return true;
        return false;
}

void source_stored_canonical(const char *in, char *out, size_t outlen)
{
        if (outlen == 0)
                return;
        if (strncmp(in, "tty:", 4) == 0 || strncmp(in, "mlsecd:", 7) == 0 || strcmp(in, "local") == 0 ||
            strchr(in, '*') || source_canonical(in, out, outlen) < 0)
                snprintf(out, outlen, "%s", in);
}

static const char *tty_name(const char *tty)
{
        return strncmp(tty, "/dev/", 5) == 0 ? tty + 5 : tty;
}

/* tty1 .. tty63, without a leading zero */
static bool virtual_console(const char *t)
{
        size_t n;

        if (strncmp(t, "tty", 3) != 0)
                return false;
        t += 3;
        n = strlen(t);
        if (!all_digits(t, n) || n > 2 || t[0] == '0')
                return false;
        return n == 1 || (t[0] - '0') * 10 + (t[1] - '0') <= 63;
}

static bool named_in(const char *t, const char *list)
{
        size_t len = strlen(t);

        while (list && *list) {
                size_t w;

                while (*list && is_space(*list))
                        list++;
                w = strcspn(list, " \t\n");
                if (w && w == len && strncmp(list, t, len) == 0)
                        return true;
                list += w;
        }
        return false;
}

bool source_tty_console(const char *tty, const char *console_active, const struct conf_list *exempt)
{
        const char *t;

        if (!tty || !*tty)
                return false;
        t = tty_name(tty);
        if (!*t || strcmp(t, "tty0") == 0)
                return false; /* tty0 is "the current VT", no terminal of its own */
        if (virtual_console(t) || strcmp(t, "console") == 0 || named_in(t, console_active))
                return true;
        for (unsigned i = 0; exempt && i < exempt->n && i < CONF_LIST_MAX; i++)
                if (strcmp(tty_name(exempt->item[i]), t) == 0)
                        return true;
        return false;
}

void source_console_active(char *out, size_t outlen)
{
        ssize_t n;
        int fd;

        if (outlen == 0)
                return;
        out[0] = '\0';
        fd = open(SOURCE_CONSOLE_ACTIVE, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return;
        n = read(fd, out, outlen - 1);
        (void)close(fd);
        out[n > 0 ? n : 0] = '\0';
}

static bool remote_by_nature(const char *tty, const char *service)
{
        if (tty && strcmp(tty, "ssh") == 0)
                return true;
        return service && (strcmp(service, "sshd") == 0 || strncmp(service, "sshd-", 5) == 0);
}

void source_of_login(const char *rhost, const char *tty, const char *service, const char *console_active,
                     const struct conf_list *exempt, struct login_source *ret)
{
        struct login_source s = {.cls = SOURCE_LOCAL};

        if (rhost && *rhost) {
                s.cls = SOURCE_REMOTE;
                if (source_canonical(rhost, s.name, sizeof(s.name)) < 0)
                        snprintf(s.name, sizeof(s.name), "%s", SOURCE_INVALID_REMOTE);
        } else if (remote_by_nature(tty, service)) {
                s.cls = SOURCE_REMOTE;
                snprintf(s.name, sizeof(s.name), "%s", SOURCE_UNKNOWN_REMOTE);
        } else if (tty && *tty && *tty_name(tty)) {
                snprintf(s.name, sizeof(s.name), "tty:%s", tty_name(tty));
                if (source_tty_console(tty, console_active, exempt))
                        s.cls = SOURCE_CONSOLE;
        } else {
                snprintf(s.name, sizeof(s.name), "local");
        }
        *ret = s;
}

const char *source_lock_scope(const char *lock_source)
{
        if (!lock_source)
                return NULL;
        if (strcmp(lock_source, STORE_REMOTE_ALL) == 0)
                return "every remote source";
        if (strcmp(lock_source, STORE_LOCAL_ALL) == 0)
                return "every local terminal but the consoles";
        return NULL;
}
