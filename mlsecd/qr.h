/* SPDX-License-Identifier: MIT */
/* A QR code drawn in the terminal with UTF-8 half blocks (two rows of modules per line),
 * through libqrencode. The only libqrencode user. */
#pragma once

#include <stdio.h>

/* Draw TEXT as a QR code (error correction level M, quiet zone of 2 modules) on OUT,
 * dark modules as the terminal's background colour so that it scans on dark and light
 * themes alike (inverted half blocks). Returns 0 or -errno. */
int qr_print(FILE *out, const char *text);
