/* SPDX-License-Identifier: MIT */
/* Administration through mlsecd: every user's MFA state, account recovery, unlock.
 * (Being written: see issue #4.) */
#include <errno.h>

#include "daemon.h"

int handle_admin(struct daemon *d, const struct peer *p, const struct proto_request *req, char *out, size_t max,
                 size_t *ret_len)
{
        return handle_reply_error(PROTO_E_METHOD, "not implemented yet", out, max, ret_len);
}
