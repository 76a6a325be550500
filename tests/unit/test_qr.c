/* SPDX-License-Identifier: MIT */
/* Unit tests of mlsecd/qr.c: the drawing is a square block of half-block glyphs whose
 * modules, read back, show a light quiet zone and the three finder patterns the right way
 * round (dark modules drawn as blanks); text too long for any QR code is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr.h"

#define MAX_SIDE 200

struct drawing {
        int lines; /* text lines */
        int width; /* glyphs per line, equal on every line */
        int rows;  /* module rows: 2 per line */
        bool light[MAX_SIDE][MAX_SIDE];
};

/* Read back what qr_print wrote: every glyph must be one of the four, every line as wide
 * as the first. */
static void read_drawing(FILE *f, struct drawing *d)
{
        char line[4096];

        memset(d, 0, sizeof(*d));
        rewind(f);
        while (fgets(line, sizeof(line), f)) {
                size_t n = strlen(line);
                int x = 0;

                if (n == 0 || line[n - 1] != '\n') {
                        fail_msg("line %d does not end in a newline", d->lines + 1);
                        return;
                }
                line[--n] = '\0';
                assert_true(d->lines * 2 + 1 < MAX_SIDE);
                for (size_t i = 0; i < n; x++) {
                        bool top = false, bottom = false;

                        assert_true(x < MAX_SIDE);
                        if (line[i] == ' ') {
                                top = bottom = false;
                                i += 1;
                        } else if (strncmp(line + i, "\xe2\x96\x88", 3) == 0) { /* █ */
                                top = bottom = true;
                                i += 3;
                        } else if (strncmp(line + i, "\xe2\x96\x80", 3) == 0) { /* ▀ */
                                top = true;
                                bottom = false;
                                i += 3;
                        } else if (strncmp(line + i, "\xe2\x96\x84", 3) == 0) { /* ▄ */
                                top = false;
                                bottom = true;
                                i += 3;
                        } else {
                                fail_msg("unexpected byte 0x%02x on line %d", (unsigned char)line[i], d->lines + 1);
                                return;
                        }
                        d->light[d->lines * 2][x] = top;
                        d->light[d->lines * 2 + 1][x] = bottom;
                }
                if (d->lines == 0)
                        d->width = x;
                assert_int_equal(x, d->width);
                d->lines++;
        }
        d->rows = d->lines * 2;
}

/* A finder pattern whose top-left module is (x0, y0) in image coordinates. */
static void assert_finder(const struct drawing *d, int x0, int y0)
{
        for (int y = 0; y < 7; y++)
                for (int x = 0; x < 7; x++) {
                        bool ring = x == 0 || y == 0 || x == 6 || y == 6;
                        bool core = x >= 2 && x <= 4 && y >= 2 && y <= 4;
                        bool want_dark = ring || core;

                        if (d->light[y0 + y][x0 + x] == want_dark)
                                fail_msg("finder at (%d,%d): module (%d,%d) should be %s", x0, y0, x, y,
                                         want_dark ? "dark" : "light");
                }
}

/* With colours each line is white-on-black between ANSI set and reset, and the glyphs
 * inside are the same as without colours. */
static void test_colours_wrap_every_line(void **state)
{
        FILE *plain = tmpfile(), *col = tmpfile();
        char a[4096], b[4096];
        int lines = 0;

        assert_non_null(plain);
        assert_non_null(col);
        assert_int_equal(qr_print(plain, "hello", false), 0);
        assert_int_equal(qr_print(col, "hello", true), 0);
        rewind(plain);
        rewind(col);
        while (fgets(a, sizeof(a), plain)) {
                assert_non_null(fgets(b, sizeof(b), col));
                assert_memory_equal(b, "\033[97;40m", 8);
                a[strcspn(a, "\n")] = '\0';
                b[strcspn(b, "\n")] = '\0';
                assert_true(strlen(b) == strlen(a) + 8 + 4);
                assert_string_equal(b + strlen(b) - 4, "\033[0m");
                assert_memory_equal(b + 8, a, strlen(a));
                lines++;
        }
        assert_null(fgets(b, sizeof(b), col));
        assert_int_equal(lines, 13);
        fclose(plain);
        fclose(col);
}

static void test_short_text(void **state)
{
        struct drawing *d = calloc(1, sizeof(*d));
        FILE *f = tmpfile();
        int side, qr;

        assert_non_null(d);
        assert_non_null(f);
        assert_int_equal(qr_print(f, "hello", false), 0);
        read_drawing(f, d);

        /* "hello" at level M is a version 1 code: 21 modules + 2 quiet on each side. */
        side = 25;
        qr = 21;
        assert_int_equal(d->width, side);
        assert_int_equal(d->lines, (side + 1) / 2);

        /* Quiet zone of two light modules on every side; below the image the terminal
         * background (dark) shows through the last half line. */
        for (int i = 0; i < side; i++)
                for (int q = 0; q < 2; q++) {
                        assert_true(d->light[q][i]);
                        assert_true(d->light[side - 1 - q][i]);
                        assert_true(d->light[i][q]);
                        assert_true(d->light[i][side - 1 - q]);
                }
        for (int x = 0; x < side; x++)
                assert_false(d->light[side][x]);

        /* Dark modules are blanks: the finder patterns read dark-ring, light, dark-core. */
        assert_finder(d, 2, 2);
        assert_finder(d, 2 + qr - 7, 2);
        assert_finder(d, 2, 2 + qr - 7);
        /* Timing pattern on module row 6 between the finders: dark, light, dark, ... */
        for (int x = 8; x < qr - 8; x++)
                assert_int_equal(d->light[2 + 6][2 + x], x % 2 == 1);

        (void)fclose(f);
        free(d);
}

static void test_otpauth_uri_is_square(void **state)
{
        static const char uri[] = "otpauth://totp/mlsec:alice?secret=JBSWY3DPEHPK3PXP&issuer=mlsec";
        struct drawing *d = calloc(1, sizeof(*d));
        FILE *f = tmpfile();
        int qr;

        assert_non_null(d);
        assert_non_null(f);
        assert_int_equal(qr_print(f, uri, false), 0);
        read_drawing(f, d);
        qr = d->width - 4;
        /* A QR code has 17 + 4 * version modules per side; bigger than version 1 here. */
        assert_int_equal((qr - 17) % 4, 0);
        assert_true(qr > 21);
        assert_int_equal(d->lines, (d->width + 1) / 2);
        assert_finder(d, 2, 2);
        assert_finder(d, 2 + qr - 7, 2);
        assert_finder(d, 2, 2 + qr - 7);
        (void)fclose(f);
        free(d);
}

static void test_too_long_is_error(void **state)
{
        char *text = malloc(8001);
        FILE *f = tmpfile();
        int r;

        assert_non_null(text);
        assert_non_null(f);
        memset(text, 'A', 8000);
        text[8000] = '\0';
        r = qr_print(f, text, false);
        assert_int_equal(r, -ERANGE);
        /* Nothing half-drawn. */
        assert_int_equal(ftell(f), 0);
        (void)fclose(f);
        free(text);
}

static void test_bad_arguments(void **state)
{
        FILE *f = tmpfile();

        assert_non_null(f);
        assert_int_equal(qr_print(f, NULL, false), -EINVAL);
        assert_int_equal(qr_print(f, "", false), -EINVAL);
        assert_int_equal(qr_print(NULL, "hello", false), -EINVAL);
        assert_int_equal(ftell(f), 0);
        (void)fclose(f);
}

static void test_write_error(void **state)
{
        FILE *f = fopen("/dev/null", "r"); /* a stream that refuses writes */

        assert_non_null(f);
        assert_int_equal(qr_print(f, "hello", false), -EIO);
        (void)fclose(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_short_text),
                cmocka_unit_test(test_colours_wrap_every_line),
                cmocka_unit_test(test_otpauth_uri_is_square),
                cmocka_unit_test(test_too_long_is_error),
                cmocka_unit_test(test_bad_arguments),
                cmocka_unit_test(test_write_error),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
