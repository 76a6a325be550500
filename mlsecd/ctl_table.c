/* SPDX-License-Identifier: MIT */
/* mlsecctl's tables for people: columns as wide as their widest cell (counted in
 * characters, not bytes, so names in UTF-8 stay aligned), two spaces apart, the last
 * column not padded. Cells are copied; what they hold was made terminal-safe by the
 * caller (ctl_get_str). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct ctl_table {
        size_t ncols, nrows;
        char **cells; /* nrows * ncols, row 0 the headers */
};

struct ctl_table *ctl_table_new(size_t ncols, ...)
{
        struct ctl_table *t = calloc(1, sizeof(*t));
        va_list ap;

        if (!t || ncols == 0 || !(t->cells = calloc(ncols, sizeof(char *)))) {
                free(t);
                return NULL;
        }
        t->ncols = ncols;
        t->nrows = 1;
        va_start(ap, ncols);
        for (size_t i = 0; i < ncols; i++) {
                const char *h = va_arg(ap, const char *);
                t->cells[i] = strdup(h ? h : "");
        }
        va_end(ap);
        return t;
}

void ctl_table_add(struct ctl_table *t, ...)
{
        char **c;
        va_list ap;

        if (!t)
                return;
        c = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
        if (!c)
                return; /* the row is left out rather than the table */
        t->cells = c;
        c += t->nrows * t->ncols;
        va_start(ap, t);
        for (size_t i = 0; i < t->ncols; i++) {
                const char *s = va_arg(ap, const char *);
                c[i] = strdup(s ? s : "");
        }
        va_end(ap);
        t->nrows++;
}

/* Characters in S: every byte that does not continue a UTF-8 sequence. */
static size_t width(const char *s)
{
        size_t n = 0;

        for (; s && *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

void ctl_table_print(FILE *f, const struct ctl_table *t, const char *indent)
{
        size_t *w;

        if (!t || !(w = calloc(t->ncols, sizeof(*w))))
                return;
        for (size_t r = 0; r < t->nrows; r++)
                for (size_t i = 0; i < t->ncols; i++) {
                        size_t n = width(t->cells[r * t->ncols + i]);
                        if (n > w[i])
                                w[i] = n;
                }
        for (size_t r = 0; r < t->nrows; r++) {
                char **row = t->cells + r * t->ncols;
                size_t last = 0; /* no padding after the last cell that has text */

                for (size_t i = 0; i < t->ncols; i++)
                        if (row[i] && row[i][0])
                                last = i;
                fputs(indent ? indent : "", f);
                for (size_t i = 0; i <= last; i++) {
                        fputs(row[i] ? row[i] : "", f);
                        if (i < last)
                                fprintf(f, "%*s", (int)(w[i] - width(row[i]) + 2), "");
                }
                fputc('\n', f);
        }
        free(w);
}

struct ctl_table *ctl_table_free(struct ctl_table *t)
{
        if (t) {
                for (size_t i = 0; i < t->nrows * t->ncols; i++)
                        free(t->cells[i]);
                free(t->cells);
                free(t);
        }
        return NULL;
}
