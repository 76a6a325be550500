/* SPDX-License-Identifier: MIT */
/* mlsecctl's administration through mlsecd (being written: issue #4). */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

int ctl_admin_remote(struct ctl *c, const char *sub, int argc, char **argv)
{
        return -1;
}
