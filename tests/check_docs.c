/* SPDX-License-Identifier: MIT */
/*
 * The doc-drift test: fails when something users rely on is not documented.
 * Every name is taken from the sources or the built programs at test time,
 * never from a list kept here, so a new ABI field, config key, ginictl
 * command, ginid option or stage param fails this suite until the manual
 * (and, where users look for it, the README) mentions it:
 *
 *  - every member of struct gini_stage_descriptor and struct gini_host, and
 *    every GINI_* macro, parsed from include/gini/stage.h: docs/gini-stage.3;
 *  - every key of the *_keys[] tables of daemon/config.c: docs/gini.conf.5
 *    and README.md;
 *  - every command of `ginictl --help`, and every option of `ginictl --help`
 *    and `ginictl COMMAND --help`: docs/ginictl.1 (commands also README.md);
 *  - every option of `ginid --help`: docs/ginid.8;
 *  - every plugins/NAME: a section ".SS NAME" in docs/gini.conf.5 and a row
 *    or heading in README.md, each naming every param that
 *    plugins/NAME/NAME.c asks for (param_*() or params_*() with a literal).
 *
 * "Documented" is deliberately more than "the word occurs somewhere": in a
 * man page the name must be set in bold (.B, .BR, .BI, .RB, .IB, .SS or
 * \fB...\fR), as names are in man pages, and in the README it must be in
 * backquotes (`name`, or `name ...` for a command), as the README writes
 * names. So "id", "run" or "after" in running prose does not count.
 *
 * Each failure names what is missing, where it was expected, and where the
 * name came from; all of them are printed, not just the first.
 */
#include "tests.h"

#include "daemon.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>

/* ---- small helpers ---- */

struct strv {
	char **v;
	size_t n;
};

static void
strv_add(struct strv *s, const char *p, size_t len)
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

static void
strv_done(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* A growing string. */
struct text {
	char *s;
	size_t len;
};

static void
text_add(struct text *t, const char *p, size_t len)
{
	t->s = realloc(t->s, t->len + len + 1);
	ck_assert_ptr_nonnull(t->s);
	memcpy(t->s + t->len, p, len);
	t->len += len;
	t->s[t->len] = 0;
}

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	text_add(t, buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Reads a file of the source tree; fails the test if it cannot. */
static char *
source_file(const char *rel)
{
	char path[4096];
	struct text t = { 0 };
	char buf[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_source_dir(), rel);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "%s: cannot read: %s", rel, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		text_add(&t, buf, n);
	fclose(f);
	if (!t.s)
		text_add(&t, "", 0);
	return t.s;
}

/* Blanks out C comments (keeping line breaks), leaving string literals alone. */
static void
strip_c_comments(char *s)
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

static bool
is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Characters that continue a name: "check-path", "--dry-run", "GINI_STAGE_X". */
static bool
is_name_char(char c)
{
	return is_ident(c) || c == '-';
}

/* name occurs in hay as a whole name (not as a part of a longer one). */
static bool
has_name(const char *hay, const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return true;
	for (const char *p = hay; (p = strstr(p, name)); p++) {
		bool start_ok = p == hay || !is_name_char(p[-1]);
		bool end_ok = !is_name_char(p[len]);

		if (start_ok && end_ok)
			return true;
	}
	return false;
}

/* Runs a built program with one or two arguments; returns its stdout. */
static char *
run_help(const char *program, const char *arg1, const char *arg2)
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
static void
help_options(const char *help, struct strv *ret)
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
		while (is_name_char(*e))
			e++;
		/* A short option is one letter. */
		if (s[1] != '-' && e - s != 2)
			continue;
		if (*e && !strchr(" \t\n],|=", *e))
			continue;
		strv_add(ret, s, (size_t)(e - s));
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
roff_collect(const char *s, bool bold, bool bold_only, struct text *out)
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
					text_add(out, "\n", 1);
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
			text_add(out, &c, 1);
	}
	if (bold_only && bold)
		text_add(out, "\n", 1);
	else if (!bold_only)
		text_add(out, " ", 1);
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
static char *
roff_bold(const char *page, const char *section, bool *ret_found)
{
	struct text out = { 0 };
	bool inside = section == NULL, found = false;

	text_add(&out, "", 0);
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
				struct text title = { 0 };

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
					text_printf(&out, "%s\n", title.s);
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
static bool
md_has_code(const char *md, const char *name)
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
static char *
md_stage_text(const char *md, const char *name)
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

struct missing {
	struct text t;
	size_t n;
};

static void missing_add(struct missing *m, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
missing_add(struct missing *m, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Every line on stderr; the failure message holds the first ones. */
	fprintf(stderr, "docs: %s\n", buf);
	if (m->n < 12)
		text_printf(&m->t, "\n  %s", buf);
	else if (m->n == 12)
		text_printf(&m->t, "\n  ... (all of them on stderr)");
	m->n++;
}

/* A macro, so that a failure names the line of the test that found it. */
#define missing_check(m, what)                                                                     \
	do {                                                                                       \
		if ((m)->n)                                                                        \
			ck_abort_msg("%zu undocumented %s:%s", (m)->n, (what), (m)->t.s);          \
		free((m)->t.s);                                                                    \
	} while (0)

#define BOLD_HINT "(expected in bold: .B NAME or \\fBNAME\\fR)"

/* ---- the ABI ---- */

/* Adds a member name and, when asked, where its declaration starts. */
static void
member_add(struct strv *ret, const char *name, size_t len, const char *decl, const char **ret_decl,
           size_t max_decl)
{
	size_t n = ret->n;

	strv_add(ret, name, len);
	if (ret_decl && ret->n > n && n < max_decl) {
		while (isspace((unsigned char)*decl))
			decl++;
		ret_decl[n] = decl;
	}
}

/*
 * The members of "struct NAME { ... };" in C text without comments: for a
 * function pointer, the name in "(*name)"; otherwise the last identifier of
 * each declarator (before any [] or bit-field width). With ret_decl, also
 * where the declaration of each (at most max_decl) starts.
 */
static void
struct_members(const char *c, const char *name, struct strv *ret, const char **ret_decl,
               size_t max_decl)
{
	char head[128];
	const char *p = c, *body = NULL, *end;
	int depth;

	snprintf(head, sizeof(head), "struct %s", name);
	while ((p = strstr(p, head))) {
		const char *q = p + strlen(head);

		if ((p == c || !is_ident(p[-1])) && !is_ident(*q)) {
			while (isspace((unsigned char)*q))
				q++;
			if (*q == '{') {
				body = q + 1;
				break;
			}
		}
		p = q;
	}
	ck_assert_msg(body != NULL, "include/gini/stage.h: no definition of struct %s", name);
	if (!body)
		return;
	depth = 1;
	for (end = body; *end && depth > 0; end++)
		depth += *end == '{' ? 1 : *end == '}' ? -1 : 0;
	ck_assert_msg(depth == 0, "include/gini/stage.h: struct %s: unbalanced braces", name);
	end--; /* the closing brace */

	for (const char *d = body; d < end;) {
		const char *semi = d;
		int paren = 0;

		/* One declaration, up to a ';' outside parentheses. */
		while (semi < end && !(*semi == ';' && paren == 0)) {
			paren += *semi == '(' ? 1 : *semi == ')' ? -1 : 0;
			semi++;
		}
		{
			const char *fp = NULL;

			paren = 0;
			for (const char *k = d; k < semi && !fp; k++) {
				if (*k == '(' && paren == 0) {
					const char *s = k + 1;

					while (isspace((unsigned char)*s))
						s++;
					if (*s == '*')
						fp = s;
				}
				paren += *k == '(' ? 1 : *k == ')' ? -1 : 0;
			}
			if (fp) {
				const char *s = fp, *e;

				while (*s == '*' || isspace((unsigned char)*s))
					s++;
				for (e = s; is_ident(*e); e++)
					;
				if (e > s)
					member_add(ret, s, (size_t)(e - s), d, ret_decl, max_decl);
			} else {
				/* Plain declarators, split on commas. */
				const char *part = d;

				while (part < semi) {
					const char *comma =
					        memchr(part, ',', (size_t)(semi - part));
					const char *stop = comma ? comma : semi, *last = NULL;
					size_t last_len = 0;

					for (const char *k = part; k < stop;) {
						if (*k == '[' || *k == ':')
							break;
						if (is_ident(*k) && !isdigit((unsigned char)*k)) {
							const char *s = k;

							while (k < stop && is_ident(*k))
								k++;
							last = s;
							last_len = (size_t)(k - s);
						} else {
							k++;
						}
					}
					if (last)
						member_add(ret, last, last_len, d, ret_decl,
						           max_decl);
					part = comma ? comma + 1 : semi;
				}
			}
		}
		d = semi + 1;
	}
}

START_TEST(test_abi_documented)
{
	char *h = source_file("include/gini/stage.h");
	char *page = source_file("docs/gini-stage.3");
	char *bold = roff_bold(page, NULL, NULL);
	static const char *const structs[] = { "gini_stage_descriptor", "gini_host" };
	struct missing m = { 0 };
	struct strv macros = { 0 };

	strip_c_comments(h);
	for (size_t i = 0; i < sizeof(structs) / sizeof(structs[0]); i++) {
		struct strv fields = { 0 };

		struct_members(h, structs[i], &fields, NULL, 0);
		ck_assert_msg(fields.n >= 8,
		              "include/gini/stage.h: found only %zu members in struct %s; is the "
		              "parser in tests/check_docs.c still right?",
		              fields.n, structs[i]);
		if (!has_name(bold, structs[i]))
			missing_add(&m, "docs/gini-stage.3: struct %s is not named " BOLD_HINT,
			            structs[i]);
		for (size_t k = 0; k < fields.n; k++)
			if (!has_name(bold, fields.v[k]))
				missing_add(&m,
				            "docs/gini-stage.3: field '%s' of struct %s "
				            "(include/gini/stage.h) is not documented " BOLD_HINT,
				            fields.v[k], structs[i]);
		strv_done(&fields);
	}
	/* The public macros, but not the include guard. */
	for (const char *p = h; (p = strstr(p, "#define")); p++) {
		const char *s = p + strlen("#define"), *e;

		while (*s == ' ' || *s == '\t')
			s++;
		for (e = s; is_ident(*e); e++)
			;
		if (e - s > 5 && strncmp(s, "GINI_", 5) == 0 &&
		    strncmp(s, "GINI_STAGE_H", (size_t)(e - s)) != 0)
			strv_add(&macros, s, (size_t)(e - s));
	}
	ck_assert_msg(macros.n >= 10, "include/gini/stage.h: found only %zu GINI_* macros",
	              macros.n);
	for (size_t k = 0; k < macros.n; k++)
		if (!has_name(bold, macros.v[k]))
			missing_add(&m,
			            "docs/gini-stage.3: macro %s (include/gini/stage.h) is not "
			            "documented " BOLD_HINT,
			            macros.v[k]);
	if (!has_name(bold, "stage_descriptor"))
		missing_add(&m, "docs/gini-stage.3: the entry point stage_descriptor is not "
		                "documented " BOLD_HINT);
	strv_done(&macros);
	free(bold);
	free(page);
	free(h);
	missing_check(&m, "ABI names");
}
END_TEST

/*
 * Every member of the public structs says since which ABI version it
 * exists: the nearest comment above its declaration (its own, or the one
 * of the group it belongs to) carries "@since MAJOR.MINOR", a version no
 * newer than the header's own, and no older than that of a member above
 * it, since fields are only ever appended.
 */
/* A decimal number at s, and where it ends. */
static bool
number_at(const char *s, unsigned *ret, const char **ret_end)
{
	char *e;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || v > 1000)
		return false;
	*ret = (unsigned)v;
	if (ret_end)
		*ret_end = e;
	return true;
}

START_TEST(test_abi_since_tags)
{
	char *raw = source_file("include/gini/stage.h");
	char *h = strdup(raw);
	static const char *const structs[] = { "gini_stage_descriptor", "gini_host" };
	struct missing m = { 0 };
	const char *p;
	unsigned major, minor;

	ck_assert_ptr_nonnull(h);
	strip_c_comments(h); /* in place, keeping every offset */
	p = strstr(h, "#define GINI_ABI_MAJOR ");
	ck_assert(p && number_at(p + strlen("#define GINI_ABI_MAJOR "), &major, NULL));
	p = strstr(h, "#define GINI_ABI_MINOR ");
	ck_assert(p && number_at(p + strlen("#define GINI_ABI_MINOR "), &minor, NULL));
	for (size_t i = 0; i < sizeof(structs) / sizeof(structs[0]); i++) {
		struct strv fields = { 0 };
		const char *decl[128] = { 0 };
		const char *body;
		char head[64];
		unsigned prev = 0;

		snprintf(head, sizeof(head), "struct %s {", structs[i]);
		body = strstr(h, head);
		ck_assert_msg(body != NULL, "include/gini/stage.h: no definition of struct %s",
		              structs[i]);
		struct_members(h, structs[i], &fields, decl, 128);
		ck_assert_uint_ge(fields.n, 8);
		for (size_t k = 0; k < fields.n && k < 128; k++) {
			const char *end = NULL, *start = NULL, *tag, *dot;
			size_t at = (size_t)(decl[k] - h);
			unsigned a, b;

			/* The nearest comment above, inside the struct. */
			for (const char *q = raw + at; q > raw + (body - h) + 1; q--)
				if (q[-2] == '*' && q[-1] == '/') {
					end = q - 2;
					break;
				}
			for (const char *q = end; q && q > raw + (body - h); q--)
				if (q[-1] == '/' && q[0] == '*') {
					start = q - 1;
					break;
				}
			tag = start ? strstr(start, "@since ") : NULL;
			if (!tag || tag > end || !number_at(tag + 7, &a, &dot) || *dot != '.' ||
			    !number_at(dot + 1, &b, NULL)) {
				missing_add(&m,
				            "include/gini/stage.h: field '%s' of struct %s: the "
				            "comment above it does not say \"@since MAJOR.MINOR\"",
				            fields.v[k], structs[i]);
				continue;
			}
			if (a != major || b > minor)
				missing_add(&m,
				            "include/gini/stage.h: field '%s' of struct %s: @since "
				            "%u.%u is not a version of this header (ABI %u.%u)",
				            fields.v[k], structs[i], a, b, major, minor);
			else if (b < prev)
				missing_add(&m,
				            "include/gini/stage.h: field '%s' of struct %s: @since "
				            "%u.%u after a field of ABI %u.%u: fields are only "
				            "appended",
				            fields.v[k], structs[i], a, b, major, prev);
			else
				prev = b;
		}
		strv_done(&fields);
	}
	free(h);
	free(raw);
	missing_check(&m, "@since tags");
}
END_TEST

/* ---- configuration keys ---- */

/*
 * The string literals of every "static const char *const NAME_keys[] =
 * { ... };" of config.c, with the table each came from.
 */
static void
config_keys(const char *c, struct strv *keys, struct strv *tables)
{
	for (const char *p = c; (p = strstr(p, "_keys[]")); p++) {
		const char *start = p, *open, *close;

		while (start > c && is_ident(start[-1]))
			start--;
		open = strchr(p, '{');
		close = open ? strchr(open, '}') : NULL;
		if (!open || !close || memchr(p, ';', (size_t)(open - p)))
			continue;
		for (const char *q = open; q < close; q++) {
			const char *e;

			if (*q != '"')
				continue;
			e = strchr(q + 1, '"');
			ck_assert_ptr_nonnull(e);
			strv_add(keys, q + 1, (size_t)(e - q - 1));
			{
				char tag[256];

				snprintf(tag, sizeof(tag), "%.*s", (int)(p + 5 - start), start);
				strv_add(tables, tag, strlen(tag));
			}
			q = e;
		}
		p = close;
	}
}

START_TEST(test_config_keys_documented)
{
	char *c = source_file("daemon/config.c");
	/* The pipeline, step and trigger keys are read by config_pipeline.c. */
	char *cp = source_file("daemon/config_pipeline.c");
	char *page = source_file("docs/gini.conf.5");
	char *md = source_file("README.md");
	char *bold = roff_bold(page, NULL, NULL);
	static const char *const expected[] = { "main_keys", "pipeline_keys", "trigger_keys",
		                                "step_keys" };
	struct strv keys = { 0 }, tables = { 0 };
	struct missing m = { 0 };

	strip_c_comments(c);
	config_keys(c, &keys, &tables);
	strip_c_comments(cp);
	config_keys(cp, &keys, &tables);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		bool seen = false;

		for (size_t k = 0; k < tables.n; k++)
			seen = seen || !strcmp(tables.v[k], expected[i]);
		ck_assert_msg(seen,
		              "daemon/config.c: no table %s[] found; is the parser in "
		              "tests/check_docs.c still right?",
		              expected[i]);
	}
	ck_assert_msg(keys.n >= 20, "daemon/config.c: found only %zu config keys", keys.n);
	for (size_t k = 0; k < keys.n; k++) {
		if (!has_name(bold, keys.v[k]))
			missing_add(&m,
			            "docs/gini.conf.5: config key '%s' (daemon/config.c) is not "
			            "documented " BOLD_HINT,
			            keys.v[k]);
		if (!md_has_code(md, keys.v[k]))
			missing_add(
			        &m,
			        "README.md: config key '%s' (daemon/config.c) is not documented "
			        "(expected `%s`)",
			        keys.v[k], keys.v[k]);
	}
	strv_done(&keys);
	strv_done(&tables);
	free(bold);
	free(md);
	free(page);
	free(c);
	free(cp);
	missing_check(&m, "config keys");
}
END_TEST

/* ---- bundled stages and their params ---- */

/*
 * The params a plugin's source asks for: the string literal that is the
 * second argument of a call to param_*() (the host table's accessors) or
 * params_*() (plugins/lib/params.h), as in params_duration(&pr, "duration",
 * &d) or host->param_string(params, "name", &s).
 */
static void
plugin_params(const char *c, struct strv *ret)
{
	for (const char *p = c; *p; p++) {
		const char *q;
		int paren = 0;

		if (!(p == c || !is_ident(p[-1])) ||
		    (strncmp(p, "param_", 6) != 0 && strncmp(p, "params_", 7) != 0))
			continue;
		for (q = p; is_ident(*q); q++)
			;
		p = q - 1;
		while (isspace((unsigned char)*q))
			q++;
		if (*q != '(')
			continue;
		/* Skip the first argument. */
		for (q++; *q && !(paren == 0 && (*q == ',' || *q == ')')); q++)
			paren += *q == '(' ? 1 : *q == ')' ? -1 : 0;
		if (*q != ',')
			continue;
		for (q++; isspace((unsigned char)*q); q++)
			;
		if (*q == '"') {
			const char *e = strchr(q + 1, '"');
			const char *after = e ? e + 1 : NULL;

			while (after && isspace((unsigned char)*after))
				after++;
			if (after && (*after == ',' || *after == ')'))
				strv_add(ret, q + 1, (size_t)(e - q - 1));
		}
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_stage_params_documented)
{
	char dirpath[4096];
	char *page = source_file("docs/gini.conf.5");
	char *md = source_file("README.md");
	struct strv names = { 0 };
	struct missing m = { 0 };
	struct dirent *de;
	DIR *d;

	snprintf(dirpath, sizeof(dirpath), "%s/plugins", test_source_dir());
	d = opendir(dirpath);
	ck_assert_msg(d != NULL, "plugins/: %s", strerror(errno));
	while ((de = readdir(d))) {
		char path[8192];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		/* plugins/NAME/NAME.c is a plugin; plugins/lib is not. */
		snprintf(path, sizeof(path), "%s/%s/%s.c", dirpath, de->d_name, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			strv_add(&names, de->d_name, strlen(de->d_name));
	}
	closedir(d);
	ck_assert_msg(names.n >= 1, "plugins/: no plugins/NAME/NAME.c found");
	qsort(names.v, names.n, sizeof(*names.v), cmp_str);

	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		char rel[512];
		char *src, *section, *row;
		struct strv params = { 0 };
		bool found;

		snprintf(rel, sizeof(rel), "plugins/%s/%s.c", name, name);
		src = source_file(rel);
		strip_c_comments(src);
		plugin_params(src, &params);
		section = roff_bold(page, name, &found);
		if (!found)
			missing_add(&m,
			            "docs/gini.conf.5: bundled stage '%s' (%s) has no section "
			            "\".SS %s\"",
			            name, rel, name);
		row = md_stage_text(md, name);
		if (!row)
			missing_add(&m,
			            "README.md: bundled stage '%s' (%s) has no row \"| `%s` |\" or "
			            "heading",
			            name, rel, name);
		for (size_t k = 0; k < params.n; k++) {
			if (found && !has_name(section, params.v[k]))
				missing_add(
				        &m,
				        "docs/gini.conf.5: param '%s' of stage '%s' (%s) is not "
				        "documented in section \".SS %s\" " BOLD_HINT,
				        params.v[k], name, rel, name);
			if (row && !md_has_code(row, params.v[k]))
				missing_add(&m,
				            "README.md: param '%s' of stage '%s' (%s) is not "
				            "documented in its row (expected `%s`)",
				            params.v[k], name, rel, params.v[k]);
		}
		strv_done(&params);
		free(section);
		free(row);
		free(src);
	}
	strv_done(&names);
	free(md);
	free(page);
	missing_check(&m, "bundled stages or params");
}
END_TEST

/* The parser above, on a known text: a literal second argument only. */
START_TEST(test_plugin_params_parser)
{
	struct strv p = { 0 };

	plugin_params("params_require(&pr, \"message\", params_template(&pr, \"message\", &m));\n"
	              "params_fail(&pr, -EINVAL, \"param 'x': bad\");\n"
	              "host->param_strv(params, \"argv\", &v, &n);\n"
	              "params_result(pr, name, r);\n"
	              "has = params_duration (&pr, \"kill_grace\" , &g);\n",
	              &p);
	ck_assert_uint_eq(p.n, 3);
	ck_assert_str_eq(p.v[0], "message");
	ck_assert_str_eq(p.v[1], "argv");
	ck_assert_str_eq(p.v[2], "kill_grace");
	strv_done(&p);
}
END_TEST

/* ---- ginictl ---- */

/* The command names of the "Commands:" section of `ginictl --help`. */
static void
ginictl_commands(const char *help, struct strv *ret)
{
	const char *p = strstr(help, "\nCommands:\n");

	ck_assert_msg(p != NULL, "ginictl --help: no \"Commands:\" section:\n%s", help);
	for (p = strchr(p + 1, '\n') + 1; *p == ' '; p = strchr(p, '\n') + 1) {
		const char *s = p, *e;

		while (*s == ' ')
			s++;
		for (e = s; is_name_char(*e); e++)
			;
		if (e > s)
			strv_add(ret, s, (size_t)(e - s));
		if (!strchr(p, '\n'))
			break;
	}
}

START_TEST(test_ginictl_documented)
{
	char *help = run_help("ginictl", "--help", NULL);
	char *page = source_file("docs/ginictl.1");
	char *md = source_file("README.md");
	char *bold = roff_bold(page, NULL, NULL);
	struct strv verbs = { 0 }, options = { 0 };
	struct missing m = { 0 };

	ginictl_commands(help, &verbs);
	ck_assert_msg(verbs.n >= 5, "ginictl --help: found only %zu commands:\n%s", verbs.n, help);
	help_options(help, &options);
	for (size_t i = 0; i < options.n; i++)
		if (!has_name(bold, options.v[i]))
			missing_add(&m,
			            "docs/ginictl.1: option %s (ginictl --help) is not "
			            "documented " BOLD_HINT,
			            options.v[i]);
	strv_done(&options);
	for (size_t i = 0; i < verbs.n; i++) {
		char *vhelp = run_help("ginictl", verbs.v[i], "--help");
		char cmd[256];

		if (!has_name(bold, verbs.v[i]))
			missing_add(&m,
			            "docs/ginictl.1: command '%s' (ginictl --help) is not "
			            "documented " BOLD_HINT,
			            verbs.v[i]);
		snprintf(cmd, sizeof(cmd), "ginictl %s", verbs.v[i]);
		if (!md_has_code(md, verbs.v[i]) && !has_name(md, cmd))
			missing_add(&m,
			            "README.md: command '%s' (ginictl --help) is not documented "
			            "(expected `%s` or \"ginictl %s\")",
			            verbs.v[i], verbs.v[i], verbs.v[i]);
		help_options(vhelp, &options);
		for (size_t k = 0; k < options.n; k++)
			if (!has_name(bold, options.v[k]))
				missing_add(&m,
				            "docs/ginictl.1: option %s of command '%s' (ginictl %s "
				            "--help) is not documented " BOLD_HINT,
				            options.v[k], verbs.v[i], verbs.v[i]);
		strv_done(&options);
		free(vhelp);
	}
	strv_done(&verbs);
	free(bold);
	free(md);
	free(page);
	free(help);
	missing_check(&m, "ginictl commands or options");
}
END_TEST

/* ---- ginid ---- */

START_TEST(test_ginid_documented)
{
	char *help = run_help("ginid", "--help", NULL);
	char *page = source_file("docs/ginid.8");
	char *bold = roff_bold(page, NULL, NULL);
	struct strv options = { 0 };
	struct missing m = { 0 };
	size_t n_long = 0;

	help_options(help, &options);
	for (size_t i = 0; i < options.n; i++) {
		n_long += !strncmp(options.v[i], "--", 2);
		if (!has_name(bold, options.v[i]))
			missing_add(&m,
			            "docs/ginid.8: option %s (ginid --help) is not "
			            "documented " BOLD_HINT,
			            options.v[i]);
	}
	ck_assert_msg(n_long >= 5, "ginid --help: found only %zu long options:\n%s", n_long, help);
	strv_done(&options);
	free(bold);
	free(page);
	free(help);
	missing_check(&m, "ginid options");
}
END_TEST

/* ---- the pages themselves ---- */

START_TEST(test_pages_exist)
{
	static const struct {
		const char *file, *th;
	} pages[] = {
		{ "docs/ginid.8", ".TH GINID 8 " },
		{ "docs/ginictl.1", ".TH GINICTL 1 " },
		{ "docs/gini.conf.5", ".TH GINI.CONF 5 " },
		{ "docs/gini-stage.3", ".TH GINI-STAGE 3 " },
	};

	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		char *page = source_file(pages[i].file);

		ck_assert_msg(strstr(page, pages[i].th) != NULL, "%s: no \"%s...\" line",
		              pages[i].file, pages[i].th);
		ck_assert_msg(strstr(page, "\n.SH NAME\n") != NULL, "%s: no NAME section",
		              pages[i].file);
		ck_assert_msg(strstr(page, "\n.SH SEE ALSO\n") != NULL, "%s: no SEE ALSO section",
		              pages[i].file);
		free(page);
	}
}
END_TEST

/* The roff reader, on known text. */
START_TEST(test_roff_bold_reader)
{
	char *b = roff_bold(".\\\" comment with \\fBhidden\\fR\n"
	                    ".TP\n"
	                    ".BR \\-\\-plugin\\-dir \" DIR\" x\n"
	                    ".RB [ \\-\\-json ]\n"
	                    "plain \\fBinline_name\\fR and \\fIitalic\\fP\n"
	                    ".SS check\\-path\n"
	                    ".BI \"int run(const struct gini_host *\" host )\n",
	                    NULL, NULL);

	ck_assert(has_name(b, "--plugin-dir"));
	ck_assert(has_name(b, "--json"));
	ck_assert(has_name(b, "inline_name"));
	ck_assert(has_name(b, "check-path"));
	ck_assert(has_name(b, "run"));
	ck_assert(has_name(b, "gini_host"));
	ck_assert(!has_name(b, "hidden"));
	ck_assert(!has_name(b, "DIR"));
	ck_assert(!has_name(b, "plain"));
	ck_assert(!has_name(b, "italic"));
	ck_assert(!has_name(b, "host"));
	ck_assert(!has_name(b, "--plugin"));
	free(b);
}
END_TEST

Suite *
docs_suite(void)
{
	Suite *s = suite_create("docs");
	TCase *tc;

	tc = tcase_create("readers");
	tcase_add_test(tc, test_roff_bold_reader);
	tcase_add_test(tc, test_plugin_params_parser);
	suite_add_tcase(s, tc);

	tc = tcase_create("pages");
	tcase_add_test(tc, test_pages_exist);
	suite_add_tcase(s, tc);

	tc = tcase_create("abi");
	tcase_add_test(tc, test_abi_documented);
	tcase_add_test(tc, test_abi_since_tags);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, test_config_keys_documented);
	suite_add_tcase(s, tc);

	tc = tcase_create("stages");
	tcase_add_test(tc, test_stage_params_documented);
	suite_add_tcase(s, tc);

	tc = tcase_create("ginictl");
	tcase_add_test(tc, test_ginictl_documented);
	suite_add_tcase(s, tc);

	tc = tcase_create("ginid");
	tcase_add_test(tc, test_ginid_documented);
	suite_add_tcase(s, tc);
	return s;
}
