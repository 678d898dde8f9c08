/* SPDX-License-Identifier: MIT */
/*
 * The text libconfig parses, part of the configuration reader (config.c):
 * a file's text with its @include directives replaced by the files they
 * name, and for each line of the result the file and line it came from, so
 * that every diagnostic names the file a user wrote. Reads files only with
 * read_file() (regular files, non-blocking open, size cap).
 */
#include "config_internal.h"

#include "config.h"
#include "diag.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define INCLUDE_DEPTH_MAX 10

/* The origin of line (of the expanded text); NULL if unknown. */
const struct origin *
source_origin(const struct source *src, int line)
{
	size_t lo = 0, hi = src ? src->n : 0;

	/* The last run that starts at or before line. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (src->v[mid].first <= line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &src->v[lo - 1] : NULL;
}

static int
source_grow(struct source *src, size_t more)
{
	char *t;
	size_t cap;

	if (src->len + more + 1 <= src->cap)
		return 0;
	cap = MAX(src->cap * 2, src->len + more + 1);
	t = realloc(src->text, cap);
	if (!t)
		return -ENOMEM;
	src->text = t;
	src->cap = cap;
	return 0;
}

static int
source_append(struct source *src, const char *p, size_t n)
{
	if (source_grow(src, n) < 0)
		return -ENOMEM;
	memcpy(src->text + src->len, p, n);
	src->len += n;
	src->text[src->len] = 0;
	for (size_t i = 0; i < n; i++)
		src->line += p[i] == '\n';
	return 0;
}

/* From the current line on, the lines come from file, starting at line. */
static int
source_mark(struct source *src, const char *file, int line)
{
	struct origin *v;

	if (src->n && src->v[src->n - 1].first == src->line)
		src->n--; /* the previous run is empty */
	v = realloc(src->v, (src->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	src->v = v;
	v[src->n++] = (struct origin){ .first = src->line, .file = file, .line = line };
	return 0;
}

void
source_done(struct source *src)
{
	free(src->text);
	free(src->v);
	strv_free(src->files);
}

/* Why read_file() failed; -EBADFD wants path_type_name() and ")" after it. */
const char *
source_read_error(int r)
{
	if (r == -EBADFD)
		return "not a regular file (";
	if (r == -EFBIG)
		return "file larger than 16 MiB";
	return strerror(-r);
}

static int
line_at(const char *text, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/*
 * Whether text (at the start of a line, after blanks) is an @include
 * directive as libconfig 1.5 sees one: "@include", blanks, a quoted path.
 * Sets *ret_name (start and length of the path) and *ret_end (past the
 * closing quote). 1: a directive, 0: not one, -1: one whose path this
 * reader does not take (reported by the caller with *ret_end at the fault).
 */
static int
include_directive(const char *text, size_t len, const char **ret_name, size_t *ret_n,
                  size_t *ret_end)
{
	static const char kw[] = "@include";
	size_t i = sizeof(kw) - 1, start;

	if (len < i || memcmp(text, kw, i) != 0)
		return 0;
	if (i >= len || (text[i] != ' ' && text[i] != '\t'))
		return 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (i >= len || text[i] != '"')
		return 0;
	start = ++i;
	while (i < len && text[i] != '"' && text[i] != '\\' && text[i] != '\n')
		i++;
	if (i >= len || text[i] != '"' || i == start) {
		*ret_end = i;
		return -1;
	}
	*ret_name = text + start;
	*ret_n = i - start;
	*ret_end = i + 1;
	return 1;
}

/*
 * Appends the file that file's line `line` @includes (name, n: the path as
 * written) to src, expanded, then marks the rest of that line as file's
 * again. -1: a problem, reported.
 */
static int
expand_include(struct source *src, struct diags *diags, const char *file, int line,
               const char *name, size_t n, int depth)
{
	char *rel = NULL, *dir = NULL, *path = NULL, *inc = NULL;
	size_t inc_len = 0;
	int r = -1;

	if (depth + 1 >= INCLUDE_DEPTH_MAX) {
		diags_add(diags, file, line,
		          "@include: nested more than %d deep (does a file include itself?)",
		          INCLUDE_DEPTH_MAX);
		goto out;
	}
	rel = strndup(name, n);
	dir = path_dirname(file);
	path = rel && dir ? path_join(dir, rel) : NULL;
	if (!path || strv_push(&src->files, &src->n_files, path) < 0)
		goto out;
	r = read_file(path, CONFIG_FILE_MAX, &inc, &inc_len);
	if (r < 0) {
		diags_add(diags, file, line, "@include \"%s\": cannot read %s: %s%s%s", rel, path,
		          source_read_error(r), r == -EBADFD ? path_type_name(path) : "",
		          r == -EBADFD ? ")" : "");
		r = -1;
		goto out;
	}
	r = -1;
	if (src->len + inc_len > CONFIG_FILE_MAX) {
		diags_add(diags, file, line,
		          "@include \"%s\": the configuration with its included files is larger "
		          "than 16 MiB",
		          rel);
		goto out;
	}
	/* The name in src->files lives as long as src: the origins borrow it. */
	if (source_expand(src, diags, src->files[src->n_files - 1], inc, inc_len, depth + 1) < 0)
		goto out;
	if (src->len && src->text[src->len - 1] != '\n' && source_append(src, "\n", 1) < 0)
		goto out;
	r = source_mark(src, file, line) < 0 ? -1 : 0;
out:
	free(rel);
	free(dir);
	free(path);
	free(inc);
	return r;
}

/*
 * Checks a file's text and appends it to src with its @include directives
 * replaced by the files they name (relative paths against file's directory).
 * Scans as libconfig's lexer does, so a directive inside a string or a
 * comment is left alone. -1: a problem, reported; the file is not parsed.
 */
int
source_expand(struct source *src, struct diags *diags, const char *file, const char *text,
              size_t len, int depth)
{
	enum { NORMAL, STRING, COMMENT } state = NORMAL;
	const char *nul = memchr(text, 0, len);
	bool bol = true; /* only blanks since the start of the line */
	size_t copied = 0;
	int line = 1;

	if (nul) {
		diags_add(diags, file, line_at(text, (size_t)(nul - text)),
		          "NUL byte: a configuration file is text (the rest of the file would be "
		          "ignored)");
		return -1;
	}
	if (source_mark(src, file, 1) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = text[i], next = i + 1 < len ? text[i + 1] : 0;

		if (c == '\n') {
			line++;
			bol = state == NORMAL;
			continue;
		}
		if (state == STRING) {
			if (c == '\\' && next) {
				line += next == '\n';
				i++;
			} else if (c == '"') {
				state = NORMAL;
			}
			continue;
		}
		if (state == COMMENT) {
			if (c == '*' && next == '/') {
				state = NORMAL;
				i++;
			}
			continue;
		}
		if (bol && (c == ' ' || c == '\t'))
			continue;
		if (bol && c == '@') {
			const char *name = NULL;
			size_t n = 0, end = 0;
			int r = include_directive(text + i, len - i, &name, &n, &end);

			if (r < 0) {
				diags_add(diags, file, line,
				          "@include: expected a non-empty path in double quotes, "
				          "without backslashes or line breaks");
				return -1;
			}
			if (r > 0) {
				/* Blanks before the directive stay on the line the
				 * included text starts on; the rest of the directive's
				 * line follows that text on a line of its own. */
				if (source_append(src, text + copied, i - copied) < 0 ||
				    expand_include(src, diags, file, line, name, n, depth) < 0)
					return -1;
				copied = i + end;
				i = copied - 1;
				bol = false;
				continue;
			}
		}
		bol = false;
		if (c == '"') {
			state = STRING;
		} else if (c == '#' || (c == '/' && next == '/')) {
			while (i + 1 < len && text[i + 1] != '\n')
				i++;
		} else if (c == '/' && next == '*') {
			state = COMMENT;
			i++;
		}
	}
	if (depth > 0 && state != NORMAL) {
		/* libconfig would carry the open string or comment on into the
		 * including file; say so here instead. */
		diags_add(diags, file, line, "%s not closed at the end of the file",
		          state == STRING ? "string" : "comment");
		return -1;
	}
	return source_append(src, text + copied, len - copied) < 0 ? -1 : 0;
}
