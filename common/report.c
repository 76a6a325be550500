/* SPDX-License-Identifier: MIT */
/* Handing one event to mlsecd, with the spool as the fallback for every way that can fail:
 * no daemon, a slow one, an error reply, a reply we do not understand. Only a reply that
 * says mlsecd has the event counts as delivered. It must never wait past REPORT_TIMEOUT_MS
 * plus one spool write, and never logs: the caller decides what to say. */
#include <errno.h>
#include <string.h>

#include "client.h"
#include "report.h"
#include "spool.h"

/* True when mlsecd has the event: {"stored":true} (new) or {"stored":false} (a duplicate id). */
static bool deliver(const struct mlsec_conf *c, const struct mlsec_event *e)
{
        struct proto_request req;
        struct proto_obj *result = NULL;
        bool stored;
        int r;

        memset(&req, 0, sizeof(req));
        req.method = PROTO_REPORT;
        req.event = *e;
        r = client_call(c->socket, &req, REPORT_TIMEOUT_MS, &result, NULL, 0, NULL, 0);
        if (r >= 0 && result)
                r = proto_obj_get_bool(result, "stored", &stored);
        else if (r >= 0)
                r = -EBADMSG;
        (void)proto_obj_free(result);
        return r >= 0;
}

int report_event(const struct mlsec_conf *c, const struct mlsec_event *e, bool *ret_spooled)
{
        int r;

        if (!c || !e)
                return -EINVAL;
        if (deliver(c, e)) {
                if (ret_spooled)
                        *ret_spooled = false;
                return 0;
        }
        r = spool_write(c->spool_dir, e);
        if (r < 0)
                return r;
        if (ret_spooled)
                *ret_spooled = true;
        return 0;
}
