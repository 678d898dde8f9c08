/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the doc-drift suite (check_docs.c) reads documents with: growing
 * string lists and texts, the sources and programs of this tree, roff
 * (what a man page sets in bold), the README's backquoted names, and the
 * list of what is missing that a test fails with, naming all of it.
 */
#include "tests.h"

#include <stdbool.h>
#include <stddef.h>

struct docs_strv {
	char **v;
	size_t n;
};

/* A growing string. */
struct docs_text {
	char *s;
	size_t len;
};

struct docs_missing {
	struct docs_text t;
	size_t n;
};

/* A macro, so that a failure names the line of the test that found it. */
#define missing_check(m, what)                                                                     \
	do {                                                                                       \
		if ((m)->n)                                                                        \
			ck_abort_msg("%zu undocumented %s:%s", (m)->n, (what), (m)->t.s);          \
		free((m)->t.s);                                                                    \
	} while (0)

#define BOLD_HINT "(expected in bold: .B NAME or \\fBNAME\\fR)"

void docs_strv_add(struct docs_strv *s, const char *p, size_t len);
void docs_strv_done(struct docs_strv *s);
/* Reads a file of the source tree; fails the test if it cannot. */
char *docs_source_file(const char *rel);
/* Blanks out C comments (keeping line breaks), leaving string literals alone. */
void docs_strip_c_comments(char *s);
bool docs_is_ident(char c);
/* Characters that continue a name: "check-path", "--dry-run", "GINI_STAGE_X". */
bool docs_is_name_char(char c);
/* name occurs in hay as a whole name (not as a part of a longer one). */
bool docs_has_name(const char *hay, const char *name);
/* Runs a built program with one or two arguments; returns its stdout. */
char *docs_run_help(const char *program, const char *arg1, const char *arg2);
/*
 * Option tokens of a --help text: "-c", "--plugin-dir", each preceded by the
 * start of a line, a blank, '[', ',' or '|', and followed by a blank, ']',
 * ',', '|', '=' or the end of the line.
 */
void docs_help_options(const char *help, struct docs_strv *ret);
/*
 * The text a page sets in bold, one run per line, unescaped. If section is
 * not NULL, only that of the subsection ".SS section" (up to the next .SS or
 * .SH); *ret_found tells whether the subsection exists.
 */
char *docs_roff_bold(const char *page, const char *section, bool *ret_found);
/* `name`, or `name ...` (a command with arguments), or `name = ...`. */
bool docs_md_has_code(const char *md, const char *name);
/*
 * The README's text about one bundled stage: its table row ("| `NAME` |")
 * or its section (a heading naming `NAME` or NAME, up to the next heading).
 * NULL if there is neither.
 */
char *docs_md_stage_text(const char *md, const char *name);
void docs_missing_add(struct docs_missing *m, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
