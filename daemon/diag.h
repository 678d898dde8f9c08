/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdio.h>

/*
 * Accumulated configuration errors, each "FILE:LINE: message", so that every
 * problem is reported in one pass rather than the first alone.
 */
struct diag {
	char *file; /* NULL: not tied to a file */
	int line;   /* 0: no line */
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n;
};

void diags_add(struct diags *d, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void diags_done(struct diags *d);
/* Moves every entry of from to the end of to. */
void diags_move(struct diags *to, struct diags *from);
/* "FILE:LINE: message" of entry i into buf. */
const char *diag_format(const struct diag *e, char *buf, size_t size);
void diags_print(const struct diags *d, FILE *f);
