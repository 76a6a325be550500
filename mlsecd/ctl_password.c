/* SPDX-License-Identifier: MIT */
/* mlsecctl password (being written: issue #4). */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

int ctl_password(struct ctl *c, int argc, char **argv)
{
        fprintf(stderr, "mlsecctl: password: not implemented yet\n");
        return EXIT_FAILURE;
}
