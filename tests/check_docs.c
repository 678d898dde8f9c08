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
 * name came from; all of them are printed, not just the first. How the
 * documents are read (roff bold runs, README names, --help options) is
 * docs_text.c.
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
#include <dirent.h>

/* ---- the ABI ---- */

/* Adds a member name and, when asked, where its declaration starts. */
static void
member_add(struct docs_strv *ret, const char *name, size_t len, const char *decl,
           const char **ret_decl, size_t max_decl)
{
	size_t n = ret->n;

	docs_strv_add(ret, name, len);
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
struct_members(const char *c, const char *name, struct docs_strv *ret, const char **ret_decl,
               size_t max_decl)
{
	char head[128];
	const char *p = c, *body = NULL, *end;
	int depth;

	snprintf(head, sizeof(head), "struct %s", name);
	while ((p = strstr(p, head))) {
		const char *q = p + strlen(head);

		if ((p == c || !docs_is_ident(p[-1])) && !docs_is_ident(*q)) {
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
				for (e = s; docs_is_ident(*e); e++)
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
						if (docs_is_ident(*k) &&
						    !isdigit((unsigned char)*k)) {
							const char *s = k;

							while (k < stop && docs_is_ident(*k))
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
	char *h = docs_source_file("include/gini/stage.h");
	char *page = docs_source_file("docs/gini-stage.3");
	char *bold = docs_roff_bold(page, NULL, NULL);
	static const char *const structs[] = { "gini_stage_descriptor", "gini_host" };
	struct docs_missing m = { 0 };
	struct docs_strv macros = { 0 };

	docs_strip_c_comments(h);
	for (size_t i = 0; i < sizeof(structs) / sizeof(structs[0]); i++) {
		struct docs_strv fields = { 0 };

		struct_members(h, structs[i], &fields, NULL, 0);
		ck_assert_msg(fields.n >= 8,
		              "include/gini/stage.h: found only %zu members in struct %s; is the "
		              "parser in tests/check_docs.c still right?",
		              fields.n, structs[i]);
		if (!docs_has_name(bold, structs[i]))
			docs_missing_add(&m, "docs/gini-stage.3: struct %s is not named " BOLD_HINT,
			                 structs[i]);
		for (size_t k = 0; k < fields.n; k++)
			if (!docs_has_name(bold, fields.v[k]))
				docs_missing_add(
				        &m,
				        "docs/gini-stage.3: field '%s' of struct %s "
				        "(include/gini/stage.h) is not documented " BOLD_HINT,
				        fields.v[k], structs[i]);
		docs_strv_done(&fields);
	}
	/* The public macros, but not the include guard. */
	for (const char *p = h; (p = strstr(p, "#define")); p++) {
		const char *s = p + strlen("#define"), *e;

		while (*s == ' ' || *s == '\t')
			s++;
		for (e = s; docs_is_ident(*e); e++)
			;
		if (e - s > 5 && strncmp(s, "GINI_", 5) == 0 &&
		    strncmp(s, "GINI_STAGE_H", (size_t)(e - s)) != 0)
			docs_strv_add(&macros, s, (size_t)(e - s));
	}
	ck_assert_msg(macros.n >= 10, "include/gini/stage.h: found only %zu GINI_* macros",
	              macros.n);
	for (size_t k = 0; k < macros.n; k++)
		if (!docs_has_name(bold, macros.v[k]))
			docs_missing_add(
			        &m,
			        "docs/gini-stage.3: macro %s (include/gini/stage.h) is not "
			        "documented " BOLD_HINT,
			        macros.v[k]);
	if (!docs_has_name(bold, "stage_descriptor"))
		docs_missing_add(&m, "docs/gini-stage.3: the entry point stage_descriptor is not "
		                     "documented " BOLD_HINT);
	docs_strv_done(&macros);
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
	char *raw = docs_source_file("include/gini/stage.h");
	char *h = strdup(raw);
	static const char *const structs[] = { "gini_stage_descriptor", "gini_host" };
	struct docs_missing m = { 0 };
	const char *p;
	unsigned major, minor;

	ck_assert_ptr_nonnull(h);
	docs_strip_c_comments(h); /* in place, keeping every offset */
	p = strstr(h, "#define GINI_ABI_MAJOR ");
	ck_assert(p && number_at(p + strlen("#define GINI_ABI_MAJOR "), &major, NULL));
	p = strstr(h, "#define GINI_ABI_MINOR ");
	ck_assert(p && number_at(p + strlen("#define GINI_ABI_MINOR "), &minor, NULL));
	for (size_t i = 0; i < sizeof(structs) / sizeof(structs[0]); i++) {
		struct docs_strv fields = { 0 };
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
				docs_missing_add(
				        &m,
				        "include/gini/stage.h: field '%s' of struct %s: the "
				        "comment above it does not say \"@since MAJOR.MINOR\"",
				        fields.v[k], structs[i]);
				continue;
			}
			if (a != major || b > minor)
				docs_missing_add(
				        &m,
				        "include/gini/stage.h: field '%s' of struct %s: @since "
				        "%u.%u is not a version of this header (ABI %u.%u)",
				        fields.v[k], structs[i], a, b, major, minor);
			else if (b < prev)
				docs_missing_add(
				        &m,
				        "include/gini/stage.h: field '%s' of struct %s: @since "
				        "%u.%u after a field of ABI %u.%u: fields are only "
				        "appended",
				        fields.v[k], structs[i], a, b, major, prev);
			else
				prev = b;
		}
		docs_strv_done(&fields);
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
config_keys(const char *c, struct docs_strv *keys, struct docs_strv *tables)
{
	for (const char *p = c; (p = strstr(p, "_keys[]")); p++) {
		const char *start = p, *open, *close;

		while (start > c && docs_is_ident(start[-1]))
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
			docs_strv_add(keys, q + 1, (size_t)(e - q - 1));
			{
				char tag[256];

				snprintf(tag, sizeof(tag), "%.*s", (int)(p + 5 - start), start);
				docs_strv_add(tables, tag, strlen(tag));
			}
			q = e;
		}
		p = close;
	}
}

START_TEST(test_config_keys_documented)
{
	char *c = docs_source_file("daemon/config.c");
	/* The pipeline, step and trigger keys are read by config_pipeline.c. */
	char *cp = docs_source_file("daemon/config_pipeline.c");
	/* The trigger keys, with watch and after_pipeline, by config_triggers.c. */
	char *ct = docs_source_file("daemon/config_triggers.c");
	char *page = docs_source_file("docs/gini.conf.5");
	char *md = docs_source_file("README.md");
	char *bold = docs_roff_bold(page, NULL, NULL);
	static const char *const expected[] = { "main_keys", "pipeline_keys", "trigger_keys",
		                                "step_keys" };
	struct docs_strv keys = { 0 }, tables = { 0 };
	struct docs_missing m = { 0 };

	docs_strip_c_comments(c);
	config_keys(c, &keys, &tables);
	docs_strip_c_comments(cp);
	config_keys(cp, &keys, &tables);
	docs_strip_c_comments(ct);
	config_keys(ct, &keys, &tables);
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
		if (!docs_has_name(bold, keys.v[k]))
			docs_missing_add(
			        &m,
			        "docs/gini.conf.5: config key '%s' (daemon/config.c) is not "
			        "documented " BOLD_HINT,
			        keys.v[k]);
		if (!docs_md_has_code(md, keys.v[k]))
			docs_missing_add(
			        &m,
			        "README.md: config key '%s' (daemon/config.c) is not documented "
			        "(expected `%s`)",
			        keys.v[k], keys.v[k]);
	}
	docs_strv_done(&keys);
	docs_strv_done(&tables);
	free(bold);
	free(md);
	free(page);
	free(c);
	free(cp);
	free(ct);
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
plugin_params(const char *c, struct docs_strv *ret)
{
	for (const char *p = c; *p; p++) {
		const char *q;
		int paren = 0;

		if (!(p == c || !docs_is_ident(p[-1])) ||
		    (strncmp(p, "param_", 6) != 0 && strncmp(p, "params_", 7) != 0))
			continue;
		for (q = p; docs_is_ident(*q); q++)
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
				docs_strv_add(ret, q + 1, (size_t)(e - q - 1));
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
	char *page = docs_source_file("docs/gini.conf.5");
	char *md = docs_source_file("README.md");
	struct docs_strv names = { 0 };
	struct docs_missing m = { 0 };
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
			docs_strv_add(&names, de->d_name, strlen(de->d_name));
	}
	closedir(d);
	ck_assert_msg(names.n >= 1, "plugins/: no plugins/NAME/NAME.c found");
	qsort(names.v, names.n, sizeof(*names.v), cmp_str);

	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		char rel[512];
		char *src, *section, *row;
		struct docs_strv params = { 0 };
		bool found;

		snprintf(rel, sizeof(rel), "plugins/%s/%s.c", name, name);
		src = docs_source_file(rel);
		docs_strip_c_comments(src);
		plugin_params(src, &params);
		section = docs_roff_bold(page, name, &found);
		if (!found)
			docs_missing_add(&m,
			                 "docs/gini.conf.5: bundled stage '%s' (%s) has no section "
			                 "\".SS %s\"",
			                 name, rel, name);
		row = docs_md_stage_text(md, name);
		if (!row)
			docs_missing_add(
			        &m,
			        "README.md: bundled stage '%s' (%s) has no row \"| `%s` |\" or "
			        "heading",
			        name, rel, name);
		for (size_t k = 0; k < params.n; k++) {
			if (found && !docs_has_name(section, params.v[k]))
				docs_missing_add(
				        &m,
				        "docs/gini.conf.5: param '%s' of stage '%s' (%s) is not "
				        "documented in section \".SS %s\" " BOLD_HINT,
				        params.v[k], name, rel, name);
			if (row && !docs_md_has_code(row, params.v[k]))
				docs_missing_add(&m,
				                 "README.md: param '%s' of stage '%s' (%s) is not "
				                 "documented in its row (expected `%s`)",
				                 params.v[k], name, rel, params.v[k]);
		}
		docs_strv_done(&params);
		free(section);
		free(row);
		free(src);
	}
	docs_strv_done(&names);
	free(md);
	free(page);
	missing_check(&m, "bundled stages or params");
}
END_TEST

/* The parser above, on a known text: a literal second argument only. */
START_TEST(test_plugin_params_parser)
{
	struct docs_strv p = { 0 };

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
	docs_strv_done(&p);
}
END_TEST

/* ---- ginictl ---- */

/* The command names of the "Commands:" section of `ginictl --help`. */
static void
ginictl_commands(const char *help, struct docs_strv *ret)
{
	const char *p = strstr(help, "\nCommands:\n");

	ck_assert_msg(p != NULL, "ginictl --help: no \"Commands:\" section:\n%s", help);
	for (p = strchr(p + 1, '\n') + 1; *p == ' '; p = strchr(p, '\n') + 1) {
		const char *s = p, *e;

		while (*s == ' ')
			s++;
		for (e = s; docs_is_name_char(*e); e++)
			;
		if (e > s)
			docs_strv_add(ret, s, (size_t)(e - s));
		if (!strchr(p, '\n'))
			break;
	}
}

START_TEST(test_ginictl_documented)
{
	char *help = docs_run_help("ginictl", "--help", NULL);
	char *page = docs_source_file("docs/ginictl.1");
	char *md = docs_source_file("README.md");
	char *bold = docs_roff_bold(page, NULL, NULL);
	struct docs_strv verbs = { 0 }, options = { 0 };
	struct docs_missing m = { 0 };

	ginictl_commands(help, &verbs);
	ck_assert_msg(verbs.n >= 5, "ginictl --help: found only %zu commands:\n%s", verbs.n, help);
	docs_help_options(help, &options);
	for (size_t i = 0; i < options.n; i++)
		if (!docs_has_name(bold, options.v[i]))
			docs_missing_add(&m,
			                 "docs/ginictl.1: option %s (ginictl --help) is not "
			                 "documented " BOLD_HINT,
			                 options.v[i]);
	docs_strv_done(&options);
	for (size_t i = 0; i < verbs.n; i++) {
		char *vhelp = docs_run_help("ginictl", verbs.v[i], "--help");
		char cmd[256];

		if (!docs_has_name(bold, verbs.v[i]))
			docs_missing_add(&m,
			                 "docs/ginictl.1: command '%s' (ginictl --help) is not "
			                 "documented " BOLD_HINT,
			                 verbs.v[i]);
		snprintf(cmd, sizeof(cmd), "ginictl %s", verbs.v[i]);
		if (!docs_md_has_code(md, verbs.v[i]) && !docs_has_name(md, cmd))
			docs_missing_add(
			        &m,
			        "README.md: command '%s' (ginictl --help) is not documented "
			        "(expected `%s` or \"ginictl %s\")",
			        verbs.v[i], verbs.v[i], verbs.v[i]);
		docs_help_options(vhelp, &options);
		for (size_t k = 0; k < options.n; k++)
			if (!docs_has_name(bold, options.v[k]))
				docs_missing_add(
				        &m,
				        "docs/ginictl.1: option %s of command '%s' (ginictl %s "
				        "--help) is not documented " BOLD_HINT,
				        options.v[k], verbs.v[i], verbs.v[i]);
		docs_strv_done(&options);
		free(vhelp);
	}
	docs_strv_done(&verbs);
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
	char *help = docs_run_help("ginid", "--help", NULL);
	char *page = docs_source_file("docs/ginid.8");
	char *bold = docs_roff_bold(page, NULL, NULL);
	struct docs_strv options = { 0 };
	struct docs_missing m = { 0 };
	size_t n_long = 0;

	docs_help_options(help, &options);
	for (size_t i = 0; i < options.n; i++) {
		n_long += !strncmp(options.v[i], "--", 2);
		if (!docs_has_name(bold, options.v[i]))
			docs_missing_add(&m,
			                 "docs/ginid.8: option %s (ginid --help) is not "
			                 "documented " BOLD_HINT,
			                 options.v[i]);
	}
	ck_assert_msg(n_long >= 5, "ginid --help: found only %zu long options:\n%s", n_long, help);
	docs_strv_done(&options);
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
		char *page = docs_source_file(pages[i].file);

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
	char *b = docs_roff_bold(".\\\" comment with \\fBhidden\\fR\n"
	                         ".TP\n"
	                         ".BR \\-\\-plugin\\-dir \" DIR\" x\n"
	                         ".RB [ \\-\\-json ]\n"
	                         "plain \\fBinline_name\\fR and \\fIitalic\\fP\n"
	                         ".SS check\\-path\n"
	                         ".BI \"int run(const struct gini_host *\" host )\n",
	                         NULL, NULL);

	ck_assert(docs_has_name(b, "--plugin-dir"));
	ck_assert(docs_has_name(b, "--json"));
	ck_assert(docs_has_name(b, "inline_name"));
	ck_assert(docs_has_name(b, "check-path"));
	ck_assert(docs_has_name(b, "run"));
	ck_assert(docs_has_name(b, "gini_host"));
	ck_assert(!docs_has_name(b, "hidden"));
	ck_assert(!docs_has_name(b, "DIR"));
	ck_assert(!docs_has_name(b, "plain"));
	ck_assert(!docs_has_name(b, "italic"));
	ck_assert(!docs_has_name(b, "host"));
	ck_assert(!docs_has_name(b, "--plugin"));
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
