/* SPDX-License-Identifier: MIT */
/* mlsecctl's self-service commands (being written: issue #4). */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

int ctl_status(struct ctl *c, int argc, char **argv)
{
        fprintf(stderr, "mlsecctl: status: not implemented yet\n");
        return EXIT_FAILURE;
}

int ctl_mfa(struct ctl *c, int argc, char **argv)
{
        fprintf(stderr, "mlsecctl: mfa: not implemented yet\n");
        return EXIT_FAILURE;
}

int ctl_backup_codes(struct ctl *c, int argc, char **argv)
{
        fprintf(stderr, "mlsecctl: backup-codes: not implemented yet\n");
        return EXIT_FAILURE;
}
