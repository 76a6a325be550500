/* SPDX-License-Identifier: MIT */
/* pam_sm_chauthtok (being written: issue #4). */
#define PAM_SM_PASSWORD
#include <security/pam_modules.h>

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        return PAM_IGNORE;
}
