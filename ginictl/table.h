/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TABLE_COLS 10

/* A table being filled, then printed once; owns its cells. */
struct table {
	const char *head[TABLE_COLS];
	size_t ncols;
	char **cells; /* rows * ncols */
	size_t rows;
	bool right[TABLE_COLS];
};

/* Appends a row of ncols strings (NULL shows as "-"), copied. */
void table_add(struct table *t, ...);
/*
 * Prints with column widths from the content, the last column cut to width
 * (0: never cut), and frees the cells.
 */
void table_print(struct table *t, int width);
