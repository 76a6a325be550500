/* SPDX-License-Identifier: MIT */
/* Backup codes: their shape (ten digits, shown as 12345-67890), generation and the
 * normalisation of what a user typed. Hashing and storage are seal.c's and store.c's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define BACKUP_CODE_COUNT  10
#define BACKUP_CODE_DIGITS 10
#define BACKUP_CODE_SHOWN  12 /* "12345-67890" + NUL */

/* A fresh random code in display form. */
void backup_generate(char ret[BACKUP_CODE_SHOWN]);
/* Strip spaces and dashes; 0 and the ten digits in ret when it has the shape of a backup
 * code, -EINVAL otherwise. Never reads past 64 bytes of IN. */
int backup_normalize(const char *in, char ret[BACKUP_CODE_DIGITS + 1]);
