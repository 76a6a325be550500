/* SPDX-License-Identifier: MIT */
/* Draws a QR code in the terminal with UTF-8 half blocks, two module rows per text line;
 * the only file that includes <qrencode.h>. Light modules are drawn as block glyphs in the
 * text colour and dark modules as blanks in the background colour, so the code reads the
 * right way round on a dark terminal. The text (an otpauth:// URI holding a secret) is
 * never logged; the module matrix libqrencode returns is wiped before it is freed. */
#include "qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdbool.h>
#include <string.h>

#define QR_QUIET 2 /* modules of light border on each side */

static const char GLYPH_BOTH[] = "\xe2\x96\x88";  /* █ top and bottom light */
static const char GLYPH_UPPER[] = "\xe2\x96\x80"; /* ▀ top light */
static const char GLYPH_LOWER[] = "\xe2\x96\x84"; /* ▄ bottom light */
static const char GLYPH_NONE[] = " ";             /* both dark */

/* Is module (x, y) of the bordered image light? Rows below the image are the terminal's
 * own background, i.e. drawn dark, so an odd height adds no extra light row. */
static bool light_at(const QRcode *qr, int x, int y, int size)
{
        int mx = x - QR_QUIET, my = y - QR_QUIET;

        if (y >= size)
                return false;
        if (mx < 0 || my < 0 || mx >= qr->width || my >= qr->width)
                return true;
        return !(qr->data[my * qr->width + mx] & 1);
}

/* Explicit colours: light modules bright white, dark ones black, whatever the theme. */
#define ANSI_ON  "\033[97;40m"
#define ANSI_OFF "\033[0m"

static int draw(FILE *out, const QRcode *qr, bool colours)
{
        int size = qr->width + 2 * QR_QUIET;

        for (int y = 0; y < size; y += 2) {
                if (colours && fputs(ANSI_ON, out) == EOF)
                        return -EIO;
                for (int x = 0; x < size; x++) {
                        bool top = light_at(qr, x, y, size), bottom = light_at(qr, x, y + 1, size);
                        const char *g = top ? (bottom ? GLYPH_BOTH : GLYPH_UPPER) : (bottom ? GLYPH_LOWER : GLYPH_NONE);

                        if (fputs(g, out) == EOF)
                                return -EIO;
                }
                if (colours && fputs(ANSI_OFF, out) == EOF)
                        return -EIO;
                if (fputc('\n', out) == EOF)
                        return -EIO;
        }
        if (fflush(out) == EOF || ferror(out))
                return -EIO;
        return 0;
}

int qr_print(FILE *out, const char *text, bool colours)
{
        QRcode *qr;
        int r;

        if (!out || !text || !*text)
                return -EINVAL;

        errno = 0;
        qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        if (!qr)
                /* ERANGE: too long for any QR version; EINVAL, ENOMEM. */
                return errno > 0 ? -errno : -EINVAL;

        r = draw(out, qr, colours);

        /* The modules encode the secret: wipe them (volatile so the stores stay). */
        for (volatile unsigned char *p = qr->data; p < qr->data + (size_t)qr->width * qr->width; p++)
                *p = 0;
        QRcode_free(qr);
        return r;
}
