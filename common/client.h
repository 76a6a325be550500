/* SPDX-License-Identifier: MIT */
/* Talking to mlsecd: one request, one reply, over a SOCK_SEQPACKET Unix socket, with a
 * deadline. Used by mlsecctl and by the PAM module. Never logs. */
#pragma once

#include "proto.h"

/* Send REQ to the daemon at SOCKET_PATH and wait up to TIMEOUT_MS in all (connect, send,
 * receive). On a reply {"ok":true} returns 0 and, when ret_result is not NULL, the result
 * object (NULL when the reply had none). On {"ok":false} returns -EREMOTEIO and copies the
 * error code and message into err_code/err_msg (either may be NULL). -ECONNREFUSED/-ENOENT
 * when nobody listens, -ETIMEDOUT past the deadline, -EBADMSG for a reply that is not valid,
 * -EPERM when the process serving the socket is neither root nor the caller (SO_PEERCRED):
 * nothing is sent to it. */
int client_call(const char *socket_path, const struct proto_request *req, int timeout_ms, struct proto_obj **ret_result,
                char *err_code, size_t codelen, char *err_msg, size_t msglen);

/* A kept connection, for several requests (the module's verify: what is decided before the
 * code, then the code). open: connect within TIMEOUT_MS and check who serves the socket (as
 * client_call). ask: one request and its reply within TIMEOUT_MS, returning as client_call.
 * close accepts NULL and returns NULL; it wipes what the connection carried. */
struct client;
int client_open(const char *socket_path, int timeout_ms, struct client **ret);
int client_ask(struct client *c, const struct proto_request *req, int timeout_ms, struct proto_obj **ret_result,
               char *err_code, size_t codelen, char *err_msg, size_t msglen);
struct client *client_close(struct client *c);
