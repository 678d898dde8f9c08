/* SPDX-License-Identifier: MIT */
/*
 * Invalid configurations as data: each tests/configs/invalid/NAME.conf is
 * loaded in place and every pipeline it defines is compiled against the
 * builtin stage types of config_test.h ("noop", "exec", "strict", ...), as
 * `ginid -t` would; the diagnostics must be exactly the file's
 *
 *	# expect: FILE:LINE: message
 *
 * comment lines, in order (FILE relative to tests/configs/invalid/). One
 * test per file, so a failure names its file; adding a case is adding a
 * file. The expected lines count the header itself, as an editor does.
 */
#include "config_test.h"

#include "pipeline.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPECT_PREFIX "# expect: "
#define EXPECT_MAX    64

/* The case files, sorted, found when the suite is built. */
static char **cases;
static int n_cases;

static const char *
invalid_dir(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/tests/configs/invalid", test_source_dir());
	return buf;
}

static int
is_case(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && streq(e->d_name + n - 5, ".conf");
}

static void
find_cases(void)
{
	struct dirent **v = NULL;
	int n = scandir(invalid_dir(), &v, is_case, alphasort);

	if (n < 0) {
		fprintf(stderr, "check_config_invalid: cannot list %s: %m\n", invalid_dir());
		n = 0;
	}
	cases = calloc((size_t)n + 1, sizeof(*cases));
	for (int i = 0; i < n; i++) {
		cases[i] = strdup(v[i]->d_name);
		free(v[i]);
	}
	free(v);
	n_cases = n;
}

/*
 * Reads the expectations of path into w (at most EXPECT_MAX), their texts
 * into buf and their files (made absolute) into files; each line of the
 * form "# expect: FILE:LINE: message".
 */
static size_t
read_expectations(const char *path, struct want *w, char (*buf)[1024], char (*files)[8192])
{
	FILE *f = fopen(path, "re");
	char line[1024];
	size_t n = 0, lineno = 0;

	ck_assert_msg(f, "%s: cannot open: %m", path);
	while (fgets(line, sizeof(line), f)) {
		char *file, *colon, *end, *msg;
		long l;

		lineno++;
		if (strncmp(line, EXPECT_PREFIX, strlen(EXPECT_PREFIX)) != 0)
			continue;
		ck_assert_msg(n < EXPECT_MAX, "%s:%zu: more than %d expectations", path, lineno,
		              EXPECT_MAX);
		line[strcspn(line, "\n")] = 0;
		snprintf(buf[n], sizeof(buf[n]), "%s", line + strlen(EXPECT_PREFIX));
		file = buf[n];
		colon = strchr(file, ':');
		ck_assert_msg(colon, "%s:%zu: expected \"# expect: FILE:LINE: message\"", path,
		              lineno);
		*colon = 0;
		l = strtol(colon + 1, &end, 10);
		ck_assert_msg(end != colon + 1 && l >= 0 && end[0] == ':' && end[1] == ' ',
		              "%s:%zu: expected \"# expect: FILE:LINE: message\"", path, lineno);
		msg = end + 2;
		snprintf(files[n], sizeof(files[n]), "%s/%s", invalid_dir(), file);
		w[n].file = *file ? files[n] : NULL;
		w[n].line = (int)l;
		w[n].msg = msg;
		n++;
	}
	fclose(f);
	ck_assert_msg(n > 0, "%s: no \"# expect: FILE:LINE: message\" line", path);
	return n;
}

START_TEST(invalid_config)
{
	static char texts[EXPECT_MAX][1024], files[EXPECT_MAX][8192];
	struct want w[EXPECT_MAX];
	static char path[4096 + 256 + 2];
	size_t n;

	ck_assert_int_lt(_i, n_cases);
	/* Not a ct_fmt() buffer: the expectations take many of those. */
	snprintf(path, sizeof(path), "%s/%s", invalid_dir(), cases[_i]);
	ct_context = path;
	n = read_expectations(path, w, texts, files);
	ct_load(path);
	for (size_t i = 0; i < ct_cfg->n_pipelines; i++) {
		struct pipeline_def *def = &ct_cfg->pipelines[i];
		struct pipeline *p = NULL;
		bool seen = false;

		/* As generation.c: the first of duplicates only. */
		for (size_t j = 0; def->name && j < i; j++)
			seen = seen || streq_ptr(ct_cfg->pipelines[j].name, def->name);
		if (!def->name || seen)
			continue;
		(void)pipeline_compile(def, ct_reg, &p, &ct_diags);
		pipeline_free(p);
	}
	ct_expect_diags(w, n, __LINE__);
	/* Whatever failed, every instance that create() made was destroyed. */
	ck_assert_int_eq(ct_live, 0);
}
END_TEST

/* There are cases to run (a missing directory would pass silently). */
START_TEST(invalid_cases_found)
{
	ck_assert_int_gt(n_cases, 0);
}
END_TEST

Suite *
config_invalid_suite(void)
{
	Suite *s = suite_create("config_invalid");
	TCase *tc;

	find_cases();
	tc = ct_tcase(s, "files");
	tcase_add_test(tc, invalid_cases_found);
	tcase_add_loop_test(tc, invalid_config, 0, n_cases);
	return s;
}
