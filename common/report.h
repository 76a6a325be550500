/* SPDX-License-Identifier: MIT */
/* Reporting an event from the PAM module or from mlsecctl's admin path: hand it to mlsecd
 * within a short deadline, and if that fails for any reason, write it to the spool. Never
 * blocks a login for longer than the deadline plus one fsync. Never logs. */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "event.h"

#define REPORT_TIMEOUT_MS 100

/* 0 when the event is stored (by mlsecd, or in the spool: *ret_spooled says which);
 * < 0 only when both failed. */
int report_event(const struct mlsec_conf *c, const struct mlsec_event *e, bool *ret_spooled);
