/* SPDX-License-Identifier: MIT */
/*
 * ginictl's tables: rows of cells collected first, then printed with each
 * column as wide as its widest cell and the last one cut to the terminal.
 */
#include "table.h"

#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
table_add(struct table *t, ...)
{
	va_list ap;

	{
		char **nc = realloc(t->cells, (t->rows + 1) * t->ncols * sizeof(char *));

		if (!nc)
			return; /* out of memory: the row is left out */
		t->cells = nc;
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->rows * t->ncols + i] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->rows++;
}

/* Prints with column widths from the content; the last column is cut to the
 * terminal's width. */
void
table_print(struct table *t, int width)
{
	size_t w[TABLE_COLS] = { 0 }, used = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		w[i] = strlen(t->head[i]);
		for (size_t r = 0; r < t->rows; r++)
			w[i] = MAX(w[i], strlen(t->cells[r * t->ncols + i]));
	}
	for (size_t i = 0; i + 1 < t->ncols; i++)
		used += w[i] + 2;
	for (size_t r = 0; r <= t->rows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = r == 0 ? t->head[i] : t->cells[(r - 1) * t->ncols + i];

			if (i + 1 < t->ncols) {
				printf(t->right[i] ? "%*s  " : "%-*s  ", (int)w[i], s);
			} else if (width > 0 && used + strlen(s) > (size_t)width &&
			           (size_t)width > used + 4) {
				printf("%.*s...", (int)((size_t)width - used - 3), s);
			} else {
				printf("%s", s);
			}
		}
		printf("\n");
	}
	for (size_t k = 0; k < t->rows * t->ncols; k++)
		free(t->cells[k]);
	free(t->cells);
}
