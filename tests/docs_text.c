/* SPDX-License-Identifier: MIT */
/*
 * The readers of the doc-drift suite (docs_text.h): lists and texts, the
 * tree's sources and programs' --help, roff bold runs, README names, and
 * the collector of what is missing. No test here: check_docs.c holds them.
 */
#include "docs_text.h"

#include "daemon.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
/* ---- small helpers ---- */

void
docs_strv_add(struct docs_strv *s, const char *p, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && !strncmp(s->v[i], p, len))
			return;
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	ck_assert_ptr_nonnull(s->v);
	s->v[s->n] = strndup(p, len);
	ck_assert_ptr_nonnull(s->v[s->n]);
	s->n++;
}

void
docs_strv_done(struct docs_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void
docs_text_add(struct docs_text *t, const char *p, size_t len)
{
	t->s = realloc(t->s, t->len + len + 1);
	ck_assert_ptr_nonnull(t->s);
	memcpy(t->s + t->len, p, len);
	t->len += len;
	t->s[t->len] = 0;
}

static void docs_text_printf(struct docs_text *t, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
docs_text_printf(struct docs_text *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	docs_text_add(t, buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Reads a file of the source tree; fails the test if it cannot. */
char *
docs_source_file(const char *rel)
{
	char path[4096];
	struct docs_text t = { 0 };
	char buf[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_source_dir(), rel);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "%s: cannot read: %s", rel, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		docs_text_add(&t, buf, n);
	fclose(f);
	if (!t.s)
		docs_text_add(&t, "", 0);
	return t.s;
}

/* Blanks out C comments (keeping line breaks), leaving string literals alone. */
void
docs_strip_c_comments(char *s)
{
	char quote = 0;

	for (char *p = s; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (p[0] == '/' && p[1] == '*') {
			char *end = strstr(p + 2, "*/");
			char *stop = end ? end + 2 : p + strlen(p);

			for (; p < stop; p++)
				if (*p != '\n')
					*p = ' ';
			p--;
		} else if (p[0] == '/' && p[1] == '/') {
			for (; *p && *p != '\n'; p++)
				*p = ' ';
			p--;
		}
	}
}

bool
docs_is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Characters that continue a name: "check-path", "--dry-run", "GINI_STAGE_X". */
bool
docs_is_name_char(char c)
{
	return docs_is_ident(c) || c == '-';
}

/* name occurs in hay as a whole name (not as a part of a longer one). */
bool
docs_has_name(const char *hay, const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return true;
	for (const char *p = hay; (p = strstr(p, name)); p++) {
		bool start_ok = p == hay || !docs_is_name_char(p[-1]);
		bool end_ok = !docs_is_name_char(p[len]);

		if (start_ok && end_ok)
			return true;
	}
	return false;
}

/* Runs a built program with one or two arguments; returns its stdout. */
char *
docs_run_help(const char *program, const char *arg1, const char *arg2)
{
	char *argv[4] = { test_build_path(program), (char *)arg1, (char *)arg2, NULL };
	char *out = NULL;
	int status;

	status = run_command(argv, &out, NULL, 20000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "%s %s %s: did not exit 0 (wait status 0x%x)", argv[0], arg1,
	              arg2 ? arg2 : "", (unsigned)status);
	return out;
}

/*
 * Option tokens of a --help text: "-c", "--plugin-dir", each preceded by the
 * start of a line, a blank, '[', ',' or '|', and followed by a blank, ']',
 * ',', '|', '=' or the end of the line.
 */
void
docs_help_options(const char *help, struct docs_strv *ret)
{
	for (const char *p = help; *p; p++) {
		const char *s = p, *e;

		if (*p != '-' || (p > help && !strchr(" \t\n[,|", p[-1])))
			continue;
		e = s + 1;
		if (*e == '-')
			e++;
		if (!isalnum((unsigned char)*e))
			continue;
		while (docs_is_name_char(*e))
			e++;
		/* A short option is one letter. */
		if (s[1] != '-' && e - s != 2)
			continue;
		if (*e && !strchr(" \t\n],|=", *e))
			continue;
		docs_strv_add(ret, s, (size_t)(e - s));
		p = e - 1;
	}
}

/* ---- roff ---- */

/*
 * Appends the unescaped text of s to out, keeping only what is in bold when
 * bold_only is set; starts in bold if bold is set. Font changes \fB, \fI,
 * \fR, \fP; other escapes are reduced to the character they print (\- is a
 * '-'), or to a blank. Each bold run ends with a newline in out.
 */
static void
roff_collect(const char *s, bool bold, bool bold_only, struct docs_text *out)
{
	bool was = bold;

	for (const char *p = s; *p; p++) {
		char c = *p;

		if (c == '\\' && p[1]) {
			p++;
			switch (*p) {
			case 'f':
				if (p[1] == '(' && p[2] && p[3]) {
					bold = p[2] == 'B';
					p += 3;
				} else if (p[1] == '[') {
					const char *e = strchr(p, ']');

					bold = p[2] == 'B';
					p = e ? e : p + strlen(p) - 1;
				} else if (p[1]) {
					bold = p[1] == 'B';
					p++;
				}
				if (was && !bold && bold_only)
					docs_text_add(out, "\n", 1);
				was = bold;
				continue;
			case '-':
				c = '-';
				break;
			case 'e':
			case '\\':
				c = '\\';
				break;
			case '&':
			case '%':
			case ':':
				continue;
			case '(':
				if (p[1] && p[2]) {
					c = !strncmp(p + 1, "aq", 2)   ? '\''
					    : !strncmp(p + 1, "dq", 2) ? '"'
					                               : ' ';
					p += 2;
				}
				break;
			case '[': {
				const char *e = strchr(p, ']');

				c = ' ';
				p = e ? e : p + strlen(p) - 1;
				break;
			}
			case '*':
				/* Strings: \*x, \*(xx, \*[x]. */
				if (p[1] == '(' && p[2] && p[3])
					p += 3;
				else if (p[1] == '[') {
					const char *e = strchr(p, ']');

					p = e ? e : p + strlen(p) - 1;
				} else if (p[1])
					p++;
				continue;
			default:
				c = *p;
				break;
			}
		}
		if (!bold_only || bold)
			docs_text_add(out, &c, 1);
	}
	if (bold_only && bold)
		docs_text_add(out, "\n", 1);
	else if (!bold_only)
		docs_text_add(out, " ", 1);
}

/* Splits a macro line's arguments as roff does: blanks, "quoted args". */
static size_t
roff_args(const char *s, char args[][1024], size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		size_t len = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (*s == '"') {
			for (s++; *s; s++) {
				if (*s == '"' && s[1] == '"') {
					s++;
				} else if (*s == '"') {
					s++;
					break;
				}
				if (len < 1023)
					args[n][len++] = *s;
			}
		} else {
			for (; *s && *s != ' ' && *s != '\t'; s++)
				if (len < 1023)
					args[n][len++] = *s;
		}
		args[n][len] = 0;
		n++;
	}
	return n;
}

/*
 * The text a page sets in bold, one run per line, unescaped. If section is
 * not NULL, only that of the subsection ".SS section" (up to the next .SS or
 * .SH); *ret_found tells whether the subsection exists.
 */
char *
docs_roff_bold(const char *page, const char *section, bool *ret_found)
{
	struct docs_text out = { 0 };
	bool inside = section == NULL, found = false;

	docs_text_add(&out, "", 0);
	for (const char *line = page; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[4096];

		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		line += len + (nl ? 1 : 0);
		if ((buf[0] == '.' || buf[0] == '\'') && buf[1] == '\\' && buf[2] == '"')
			continue; /* comment */
		if (buf[0] == '.' || buf[0] == '\'') {
			char args[16][1024], macro[8];
			size_t k = 0, n;
			const char *a = buf + 1;

			while (*a == ' ' || *a == '\t')
				a++;
			while (*a && *a != ' ' && *a != '\t' && k < sizeof(macro) - 1)
				macro[k++] = *a++;
			macro[k] = 0;
			n = roff_args(a, args, 16);
			if (!strcmp(macro, "SS") || !strcmp(macro, "SH")) {
				struct docs_text title = { 0 };

				for (size_t i = 0; i < n; i++)
					roff_collect(args[i], false, false, &title);
				while (title.len && title.s[title.len - 1] == ' ')
					title.s[--title.len] = 0;
				if (section) {
					inside = !strcmp(macro, "SS") && title.s &&
					         !strcmp(title.s, section);
					found = found || inside;
				}
				if (inside && title.s)
					docs_text_printf(&out, "%s\n", title.s);
				free(title.s);
				continue;
			}
			if (!inside)
				continue;
			if (!strcmp(macro, "B")) {
				for (size_t i = 0; i < n; i++)
					roff_collect(args[i], true, true, &out);
			} else if (!strcmp(macro, "BR") || !strcmp(macro, "BI") ||
			           !strcmp(macro, "RB") || !strcmp(macro, "IB")) {
				size_t first = macro[0] == 'B' ? 0 : 1;

				for (size_t i = 0; i < n; i++)
					roff_collect(args[i], i % 2 == first, true, &out);
			} else {
				for (size_t i = 0; i < n; i++)
					roff_collect(args[i], false, true, &out);
			}
			continue;
		}
		if (inside)
			roff_collect(buf, false, true, &out);
	}
	if (ret_found)
		*ret_found = found;
	return out.s;
}

/* ---- the README ---- */

/* `name`, or `name ...` (a command with arguments), or `name = ...`. */
bool
docs_md_has_code(const char *md, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = md; (p = strchr(p, '`')); p++)
		if (!strncmp(p + 1, name, len) && strchr("` =", p[1 + len]) && p[1 + len])
			return true;
	return false;
}

/*
 * The README's text about one bundled stage: its table row ("| `NAME` |")
 * or its section (a heading naming `NAME` or NAME, up to the next heading).
 * NULL if there is neither.
 */
char *
docs_md_stage_text(const char *md, const char *name)
{
	char row[256];

	snprintf(row, sizeof(row), "| `%s` |", name);
	for (const char *line = md; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len >= strlen(row) && !strncmp(line, row, strlen(row)))
			return strndup(line, len);
		if (line[0] == '#') {
			char *heading = strndup(line, len);
			const char *h = heading;
			bool match;

			while (*h == '#' || *h == ' ')
				h++;
			match = !strcmp(h, name) ||
			        (h[0] == '`' && !strncmp(h + 1, name, strlen(name)) &&
			         h[1 + strlen(name)] == '`');
			free(heading);
			if (match) {
				const char *end = nl ? nl + 1 : line + len;

				while (*end && *end != '#') {
					const char *n2 = strchr(end, '\n');

					end = n2 ? n2 + 1 : end + strlen(end);
				}
				return strndup(line, (size_t)(end - line));
			}
		}
		line += len + (nl ? 1 : 0);
	}
	return NULL;
}

/* ---- what is missing ---- */

void
docs_missing_add(struct docs_missing *m, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Every line on stderr; the failure message holds the first ones. */
	fprintf(stderr, "docs: %s\n", buf);
	if (m->n < 12)
		docs_text_printf(&m->t, "\n  %s", buf);
	else if (m->n == 12)
		docs_text_printf(&m->t, "\n  ... (all of them on stderr)");
	m->n++;
}
