/* SPDX-License-Identifier: MIT */
/* Where a login comes from, spelled one way. A remote address is canonical (one address,
 * one failure budget, one place in the history), a local terminal is either one of the
 * machine's consoles, which no account-wide cap ever locks, or any other terminal, which
 * the local cap counts together. Used for lockouts, events, places, the notice and the
 * rules alike. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

#define SOURCE_MAX            256              /* a source name, bytes incl. NUL (STORE_SOURCE_MAX) */
#define SOURCE_UNKNOWN_REMOTE "remote:unknown" /* a remote service that gave no PAM_RHOST */
#define SOURCE_INVALID_REMOTE "remote:invalid" /* a PAM_RHOST that is neither address nor name */
#define SOURCE_CONSOLE_ACTIVE "/sys/class/tty/console/active"

/* How failures of a source count (stored as failures.remote in credentials.db). */
enum source_class {
        SOURCE_LOCAL = 0,   /* a terminal or none: counted by max_local_failures */
        SOURCE_REMOTE = 1,  /* PAM_RHOST, or a remote service: counted by max_user_failures */
        SOURCE_CONSOLE = 2, /* the machine's own consoles: only their own per-source budget */
};

struct login_source {
        char name[SOURCE_MAX];
        enum source_class cls;
};

/* The canonical spelling of a remote host IN into OUT: surrounding white space, brackets
 * and a port stripped; an IPv6 address printed by inet_ntop with an IPv4-mapped one
 * unmapped ("::ffff:192.0.2.1" is "192.0.2.1"); a host name lower-case without its trailing
 * dot. 1: an IP address; 0: a host name; -EINVAL: empty, or neither (characters a host
 * name cannot have); -ENAMETOOLONG: does not fit OUT. OUT is written only on success. */
int source_canonical(const char *in, char *out, size_t outlen);

/* A source name as stored (a failure's or lockout's source, an event's rhost or ip) in
 * today's spelling: remote hosts canonical, local names ("tty:...", "local", "mlsecd:...",
 * "*remote*", "*local*") and what cannot be canonical left as they are. For migrations. */
void source_stored_canonical(const char *in, char *out, size_t outlen);

/* Is TTY (a PAM_TTY, with or without /dev/) one of the machine's consoles: a virtual
 * console tty1 to tty63, "console", a terminal that CONSOLE_ACTIVE (the text of
 * /sys/class/tty/console/active, e.g. "tty0 ttyS0"; may be NULL) names, or one EXEMPT
 * lists (mlsec.conf exempt_tty)? */
bool source_tty_console(const char *tty, const char *console_active, const struct conf_list *exempt);

/* The kernel's console list (SOURCE_CONSOLE_ACTIVE) into OUT; empty when it cannot be read. */
void source_console_active(char *out, size_t outlen);

/* The source of a login: the canonical PAM_RHOST (remote); without one, a service that is
 * remote by nature (sshd: PAM_TTY "ssh" or a service named sshd or sshd-*) is the remote
 * SOURCE_UNKNOWN_REMOTE, so it is never a local terminal; else "tty:NAME" (a console or
 * local); else "local". */
void source_of_login(const char *rhost, const char *tty, const char *service, const char *console_active,
                     const struct conf_list *exempt, struct login_source *ret);

/* A network of trusted_networks: "192.0.2.0/24", "2001:db8::/32", or one address (a /32 or
 * /128). -EINVAL: not an address with an optional /PREFIX in range; -EDOM: bits set
 * after the prefix (CANON then holds the network meant). CANON (may be NULL) gets the
 * canonical spelling. */
int source_network_parse(const char *in, char *canon, size_t canonlen);
/* Is SOURCE (source_of_login's name: only a canonical IP address can match, never a
 * host name, a terminal or "remote:unknown") inside one of NETS (parsed by
 * source_network_parse)? */
bool source_in_networks(const char *source, const struct conf_list *nets);

/* What an account-wide lockout's source covers, for people ("every remote source"), or
 * NULL for the lockout of one source. */
const char *source_lock_scope(const char *lock_source);
