/* SPDX-License-Identifier: MIT */
/* A QR code drawn in the terminal with UTF-8 half blocks (two rows of modules per line),
 * through libqrencode. The only libqrencode user. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Draw TEXT as a QR code (error correction level M, quiet zone of 2 modules) on OUT:
 * light modules are drawn as block glyphs, dark ones as spaces. Without colours that reads
 * right on a dark terminal only; with COLOURS each line also sets white on black (ANSI),
 * so it scans on any theme. Returns 0 or -errno. */
int qr_print(FILE *out, const char *text, bool colours);
