/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

struct diags;

/*
 * @include, done here rather than by libconfig: libconfig 1.5 (Debian 12)
 * opens included files itself with a blocking fopen() and has no hook to
 * replace it, so a FIFO named by an @include would freeze `ginid -t` and a
 * reload on the event loop. Instead every file is read by read_file() (a
 * regular file, non-blocking open, size cap) and its @include directives
 * are replaced by the included text; libconfig parses the result and is
 * given an include directory under which nothing can ever be opened.
 * INCLUDE_DEPTH_MAX is libconfig's own nesting limit.
 */
#define INCLUDE_GUARD_DIR "/dev/null" /* "/dev/null/x" is always ENOTDIR */

/* A run of lines of the expanded text that came from one file. */
struct origin {
	int first;        /* its first line in the expanded text */
	const char *file; /* borrowed from struct source.files, or the file read */
	int line;         /* the line of that file it starts at */
};

/* One file with its @include directives expanded: what libconfig parses. */
struct source {
	char *text; /* owned, NUL-terminated */
	size_t len, cap;
	int line; /* line of the expanded text being written, from 1 */
	struct origin *v;
	size_t n;
	char **files; /* the included files' paths, owned */
	size_t n_files;
};

/* The origin of line (of the expanded text); NULL if unknown. */
const struct origin *source_origin(const struct source *src, int line);
/*
 * Checks a file's text and appends it to src with its @include directives
 * replaced by the files they name. depth: 0 for a file read on its own.
 * -1: a problem, reported; the file is not parsed.
 */
int source_expand(struct source *src, struct diags *diags, const char *file, const char *text,
                  size_t len, int depth);
void source_done(struct source *src);
/* Why read_file() failed; -EBADFD wants path_type_name() and ")" after it. */
const char *source_read_error(int r);
