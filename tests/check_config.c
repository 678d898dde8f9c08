/* SPDX-License-Identifier: MIT */
/*
 * The configuration reader (config.c) and the pipeline compiler
 * (pipeline.c), through what an operator sees: every problem of a config as
 * "FILE:LINE: message", asserted to the letter, file and line. Fixtures are
 * written into a fresh directory per test from the texts below, each line
 * numbered in a comment, so the expected line numbers can be checked by eye.
 * Stage binding runs against a registry of stage types built into this test;
 * the one-pass and generation tests load the real test plugins. Tests whose
 * comment says "regression" pin a bug this corpus once found.
 *
 * clang-format is off for this file: it would re-indent the numbered
 * fixture lines so that the numbers no longer line up with the text.
 */
/* clang-format off */
#include "tests.h"

#include "config.h"
#include "cron.h"
#include "generation.h"
#include "log.h"
#include "params.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A step that is valid on its own, for pipelines whose steps are not the point. */
#define STEPS "steps = ( { id = \"a\"; stage = \"noop\"; } );"

static char *dir;               /* this test's directory, removed by teardown */
static struct diags d;          /* what the last load or compile reported */
static struct gini_config *cfg; /* the last load */
static struct registry *reg;    /* builtin stage types */
static struct generation *gen;  /* the last build() */
static int live;                /* instances made by create() and not destroyed */

/* ---- builtin stage types ---- */

/*
 * "exec" asks for a typed param of every kind and fails, without a message of
 * its own, on the first one the host says has the wrong type (the accessors
 * return -ENOENT for an absent param and -EINVAL for a mismatch).
 */
static int
exec_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
            void **ret)
{
	const char *const *argv;
	const char *path;
	int64_t count;
	int32_t verbose;
	uint64_t timeout;
	size_t n;
	int r;

	(void)h;
	if ((r = host->param_strv(p, "argv", &argv, &n)) == -EINVAL ||
	    (r = host->param_string(p, "path", &path)) == -EINVAL ||
	    (r = host->param_int(p, "count", &count)) == -EINVAL ||
	    (r = host->param_bool(p, "verbose", &verbose)) == -EINVAL ||
	    (r = host->param_duration(p, "timeout", &timeout)) == -EINVAL)
		return r;
	*ret = malloc(1);
	if (!*ret)
		return -ENOMEM;
	live++;
	return 0;
}

static void
exec_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
	live--;
}

/* "strict" rejects its params with a message of its own. */
static int
strict_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
              void **ret)
{
	const char *mode = NULL;

	host->param_string(p, "mode", &mode);
	if (!mode || (!streq(mode, "fast") && !streq(mode, "safe"))) {
		host->set_message(h, "'mode' must be 'fast' or 'safe', not '%s'",
		                  mode ? mode : "(unset)");
		return -EINVAL;
	}
	*ret = NULL;
	return 0;
}

/* "silent" rejects everything and says nothing. */
static int
silent_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
              void **ret)
{
	(void)host;
	(void)h;
	(void)p;
	(void)ret;
	return -EINVAL;
}

static int
nop_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_SUCCESS;
}

#define DESC(var, name, ...)                                                                       \
	static const struct gini_stage_descriptor var = {                                          \
		GINI_DESCRIPTOR_HEADER, .id = name, .version = "1.0.0", .summary = "test",         \
		.category = "test", .run = nop_run, __VA_ARGS__                                    \
	}
DESC(exec_desc, "exec", .create = exec_create, .destroy = exec_destroy);
DESC(strict_desc, "strict", .create = strict_create);
DESC(silent_desc, "silent", .create = silent_create);
DESC(noop_desc, "noop", .flags = GINI_STAGE_CONCURRENT);
DESC(check_path_desc, "check-path", .flags = GINI_STAGE_CONCURRENT);
DESC(check_command_desc, "check-command", .flags = GINI_STAGE_CONCURRENT);

/* ---- helpers ---- */

/* DIR/rel, in one of a ring of static buffers. */
static const char *
at(const char *rel)
{
	static char buf[32][4096];
	static unsigned next;
	char *b = buf[next++ % 32];

	if (rel[0] == '/')
		snprintf(b, sizeof(buf[0]), "%s", rel);
	else
		snprintf(b, sizeof(buf[0]), "%s/%s", dir, rel);
	return b;
}

/* printf into one of a ring of static buffers (expected messages with paths). */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static const char *
fmt(const char *f, ...)
{
	static char buf[32][1024];
	static unsigned next;
	char *b = buf[next++ % 32];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof(buf[0]), f, ap);
	va_end(ap);
	return b;
}

static void
make_dir(const char *rel)
{
	const char *p = at(rel);

	ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
	ck_assert_int_eq(chmod(p, 0755), 0);
}

/* Writes DIR/rel, making its parent directories. */
static void
put(const char *rel, const char *text)
{
	char parent[4096];

	for (const char *s = strchr(rel, '/'); s; s = strchr(s + 1, '/')) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(s - rel), rel);
		make_dir(parent);
	}
	test_write_file(at(rel), text, 0644);
}

static void
load_ov(const char *rel, const struct config_overrides *ov)
{
	cfg = config_free(cfg);
	diags_done(&d);
	ck_assert_int_eq(config_load(at(rel), ov, &cfg, &d), 0);
	ck_assert_ptr_nonnull(cfg);
}

static void
load(const char *rel)
{
	load_ov(rel, NULL);
}

/* Writes DIR/gini.conf and loads it. */
static void
load_main(const char *text)
{
	put("gini.conf", text);
	load("gini.conf");
}

struct want {
	const char *file; /* relative to DIR (or absolute); NULL: none */
	int line;
	const char *msg;
};

/* Asserts that d holds exactly w, in order, then empties d. at: the caller's line. */
static void
expect_diags(const struct want *w, size_t n, int at_line)
{
	char all[32768], buf[2048];
	size_t off = 0;

	all[0] = 0;
	for (size_t i = 0; i < d.n && off < sizeof(all); i++)
		off += (size_t)snprintf(all + off, sizeof(all) - off, "  %s\n",
		                        diag_format(&d.v[i], buf, sizeof(buf)));
	ck_assert_msg(d.n == n, "(line %d) want %zu diagnostics, got %zu:\n%s", at_line, n, d.n,
	              all);
	for (size_t i = 0; i < n; i++) {
		const char *file = w[i].file ? at(w[i].file) : NULL;

		ck_assert_msg(streq_ptr(d.v[i].file, file) && d.v[i].line == w[i].line &&
		                      streq(d.v[i].msg, w[i].msg),
		              "(line %d) diagnostic %zu: want\n  %s:%d: %s\ngot:\n%s", at_line,
		              i + 1, file ? file : "(no file)", w[i].line, w[i].msg, all);
	}
	diags_done(&d);
}

#define expect(...)                                                                                \
	do {                                                                                       \
		const struct want w_[] = { __VA_ARGS__ };                                          \
		expect_diags(w_, ARRAY_SIZE(w_), __LINE__);                                        \
	} while (0)
#define expect_none() expect_diags(NULL, 0, __LINE__)

/* The pipeline_def called name. */
static struct pipeline_def *
def(const char *name)
{
	for (size_t i = 0; i < cfg->n_pipelines; i++)
		if (streq(cfg->pipelines[i].name, name))
			return &cfg->pipelines[i];
	ck_abort_msg("no pipeline '%s'", name);
	return NULL;
}

/* Compiles the pipeline called name against the builtin registry. */
static int
compile(const char *name)
{
	struct pipeline *p = NULL;
	int r = pipeline_compile(def(name), reg, &p, &d);

	ck_assert(r == 0 ? p != NULL : p == NULL);
	pipeline_free(p);
	return r;
}

/* The real test plugins good-a and good-b in DIR/plug, for generation_build. */
static void
plugins(void)
{
	make_dir("plug");
	test_copy_file(test_build_path("tests/plugins/good_a.so"), at("plug/good_a.so"), 0755);
	test_copy_file(test_build_path("tests/plugins/good_b.so"), at("plug/good_b.so"), 0755);
}

/* Builds a generation from DIR/gini.conf into gen (freed by teardown). */
static struct generation *
build(void)
{
	gen = generation_unref(gen);
	diags_done(&d);
	ck_assert_int_eq(generation_build(at("gini.conf"), NULL, NULL, 1, &gen, &d), 0);
	ck_assert_ptr_nonnull(gen);
	return gen;
}

static void
setup(void)
{
	const struct gini_stage_descriptor *all[] = {
		&exec_desc, &strict_desc,     &silent_desc,
		&noop_desc, &check_path_desc, &check_command_desc,
	};

	dir = test_tmpdir("config");
	reg = registry_new();
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		struct stage_type *t = stage_type_new(all[i], NULL, NULL);

		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(registry_add(reg, t), 0);
		stage_type_unref(t);
	}
	memset(&d, 0, sizeof(d));
	cfg = NULL;
	gen = NULL;
	live = 0;
	/* The loader logs what it loads; keep the test output to the results. */
	test_log_capture_start();
}

static void
teardown(void)
{
	test_log_capture_stop();
	gen = generation_unref(gen);
	cfg = config_free(cfg);
	diags_done(&d);
	reg = registry_free(reg);
	test_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* ---- libconfig syntax errors ---- */

START_TEST(syntax_error_main)
{
	load_main(/* 1 */ "workers = 4;\n"
	          /* 2 */ "log_level = ;\n"
	          /* 3 */ "state_dir = \"/srv\";\n");
	expect({ "gini.conf", 2, "syntax error" });
	/* Nothing of a file that does not parse is taken. */
	ck_assert_uint_eq(cfg->workers, (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1));
	ck_assert_str_eq(cfg->state_dir, "/var/lib/gini");
}
END_TEST

START_TEST(syntax_error_unclosed_list)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"a\";\n"
	          /* 3 */ "    steps = ( { id = \"x\"; stage = \"noop\"; } );\n"
	          /* 4 */ "  }\n"
	          /* 5 */ ";\n");
	expect({ "gini.conf", 5, "syntax error" });
	ck_assert_uint_eq(cfg->n_pipelines, 0);
}
END_TEST

START_TEST(syntax_error_duplicate_setting)
{
	load_main(/* 1 */ "workers = 1;\n"
	          /* 2 */ "workers = 2;\n");
	expect({ "gini.conf", 2, "syntax error: duplicate setting name" });
}
END_TEST

START_TEST(syntax_error_mixed_array)
{
	load_main(/* 1 */ "# arrays hold one scalar type\n"
	          /* 2 */ "\n"
	          /* 3 */ "plugin_dirs = [ \"a\", 3 ];\n");
	expect({ "gini.conf", 3, "syntax error: mismatched element type in array" });
}
END_TEST

/* A broken include file is reported with its own name; the others are read. */
START_TEST(syntax_error_include)
{
	put("pipelines.d/a.conf", /* 1 */ "pipelines = (\n"
	                          /* 2 */ "  { name = \"x\" }\n"
	                          /* 3 */ "  { name = \"y\" }\n"
	                          /* 4 */ ");\n");
	put("pipelines.d/b.conf", "pipelines = ( { name = \"b\"; " STEPS " } );\n");
	load_main("pipelines = ( { name = \"m\"; " STEPS " } );\n");
	expect({ "pipelines.d/a.conf", 3, "syntax error" });
	ck_assert_uint_eq(cfg->n_pipelines, 2);
	ck_assert_str_eq(cfg->pipelines[0].name, "m");
	ck_assert_str_eq(cfg->pipelines[1].name, "b");
}
END_TEST

/*
 * Settings that libconfig's own @include pulls in are reported against the
 * included file (regression: they once carried the including file's name
 * with the included file's line).
 */
START_TEST(syntax_at_include_names_the_included_file)
{
	put("extra.cfg", /* 1 */ "# pulled in by @include\n"
	                 /* 2 */ "bogus = 1;\n");
	load_main(/* 1 */ "workers = 2;\n"
	          /* 2 */ "@include \"extra.cfg\"\n");
	expect({ "extra.cfg", 2, "unknown key 'bogus'" });
}
END_TEST

/* ---- files and directories ---- */

START_TEST(missing_main_file)
{
	load("absent.conf");
	expect({ "absent.conf", 0, "cannot read: No such file or directory" });
	ck_assert_uint_eq(cfg->n_pipelines, 0);
	ck_assert_uint_eq(cfg->n_files, 1);
	ck_assert_str_eq(cfg->files[0], at("absent.conf"));
}
END_TEST

START_TEST(main_file_is_a_directory)
{
	make_dir("gini.conf");
	load("gini.conf");
	expect({ "gini.conf", 0, "cannot read: Is a directory" });
}
END_TEST

/*
 * A configured include directory that cannot be read is reported at the
 * line of 'include_dirs' (regression: once without a line).
 */
START_TEST(include_dir_configured_unreadable)
{
	put("file.txt", "not a directory\n");
	load_main(/* 1 */ "# pipelines live elsewhere\n"
	          /* 2 */ "include_dirs = [ \"missing\", \"file.txt\" ];\n");
	expect({ "gini.conf", 2,
	         fmt("include directory %s: No such file or directory", at("missing")) },
	       { "gini.conf", 2, fmt("include directory %s: Not a directory", at("file.txt")) });
}
END_TEST

START_TEST(include_dir_default_missing_is_fine)
{
	load_main("workers = 2;\n");
	expect_none();
	ck_assert_uint_eq(cfg->n_include_dirs, 1);
	ck_assert_str_eq(cfg->include_dirs[0], at("pipelines.d"));
}
END_TEST

START_TEST(include_entry_unreadable)
{
	make_dir("pipelines.d");
	make_dir("pipelines.d/sub.conf");
	put("pipelines.d/z.conf", "pipelines = ( { name = \"z\"; " STEPS " } );\n");
	load_main("workers = 2;\n");
	expect({ "pipelines.d/sub.conf", 0, "cannot read: Is a directory" });
	ck_assert_uint_eq(cfg->n_pipelines, 1);
	ck_assert_str_eq(cfg->pipelines[0].name, "z");
}
END_TEST

/*
 * A FIFO, a device or a socket named *.conf, in an include directory or by
 * an @include, is an error naming the path; it never blocks the reader
 * (regression: a FIFO froze `ginid -t` and a reload for ever, in open()).
 * A regression hangs here until Check's timeout fails the test.
 */
START_TEST(include_entry_fifo)
{
	make_dir("pipelines.d");
	ck_assert_int_eq(mkfifo(at("pipelines.d/x.conf"), 0644), 0);
	put("pipelines.d/y.conf", "pipelines = ( { name = \"y\"; " STEPS " } );\n");
	load_main("workers = 2;\n");
	expect({ "pipelines.d/x.conf", 0, "cannot read: not a regular file (a FIFO)" });
	ck_assert_uint_eq(cfg->n_pipelines, 1);
	ck_assert_str_eq(cfg->pipelines[0].name, "y");
}
END_TEST

START_TEST(main_file_fifo)
{
	ck_assert_int_eq(mkfifo(at("gini.conf"), 0644), 0);
	load("gini.conf");
	expect({ "gini.conf", 0, "cannot read: not a regular file (a FIFO)" });
}
END_TEST

START_TEST(include_entry_device)
{
	make_dir("pipelines.d");
	ck_assert_int_eq(symlink("/dev/zero", at("pipelines.d/zero.conf")), 0);
	load_main("workers = 2;\n");
	expect({ "pipelines.d/zero.conf", 0,
	         "cannot read: not a regular file (a character device)" });
}
END_TEST

START_TEST(at_include_fifo_and_device)
{
	ck_assert_int_eq(mkfifo(at("fifo.conf"), 0644), 0);
	load_main(/* 1 */ "workers = 2;\n"
	                  /* 2 */ "@include \"fifo.conf\"\n");
	expect({ "gini.conf", 2,
	         fmt("@include \"fifo.conf\": cannot read %s: not a regular file (a FIFO)",
	             at("fifo.conf")) });
	load_main(/* 1 */ "workers = 2;\n"
	                  /* 2 */ "  @include \"/dev/zero\"\n");
	expect({ "gini.conf", 2,
	         "@include \"/dev/zero\": cannot read /dev/zero: not a regular file (a character "
	         "device)" });
}
END_TEST

/*
 * Regression: a NUL byte ended the text libconfig saw, so whatever followed
 * it was silently ignored and a damaged file passed as valid.
 */
START_TEST(nul_byte)
{
	static const char text[] = "pipelines = ();\n\n# ok so far\0 garbage (((\n";
	FILE *f;

	f = fopen(at("gini.conf"), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	ck_assert_int_eq(fclose(f), 0);
	load("gini.conf");
	expect({ "gini.conf", 3,
	         "NUL byte: a configuration file is text (the rest of the file would be "
	         "ignored)" });
	/* In an @include'd file too, at its own line. */
	ck_assert_int_eq(rename(at("gini.conf"), at("inc.cfg")), 0);
	load_main("@include \"inc.cfg\"\n");
	expect({ "inc.cfg", 3,
	         "NUL byte: a configuration file is text (the rest of the file would be "
	         "ignored)" });
}
END_TEST

/*
 * @include is expanded by the reader: lines after it, and in it, keep their
 * own file and line; a relative path resolves against the directory of the
 * file that holds the directive; directives in comments and strings are
 * text; nesting is bounded.
 */
START_TEST(at_include_lines_and_paths)
{
	put("sub/a.cfg", /* 1 */ "# a, in sub/\n"
	                         /* 2 */ "@include \"b.cfg\"\n"
	                         /* 3 */ "colour = 1;\n");
	put("sub/b.cfg", /* 1 */ "shade = 2;"); /* no final newline */
	load_main(/* 1 */ "workers = 2;\n"
	                  /* 2 */ "@include \"sub/a.cfg\" hue = 3;\n"
	                  /* 3 */ "/*\n"
	                  /* 4 */ "@include \"missing.cfg\"\n"
	                  /* 5 */ "*/ tint = \"\n"
	                  /* 6 */ "@include \\\"missing.cfg\\\"\";\n"
	                  /* 7 */ "# @include \"missing.cfg\"\n"
	                  /* 8 */ "pipelines = ( { name = \"p\"; bogus = 1; " STEPS " } );\n");
	expect({ "sub/b.cfg", 1, "unknown key 'shade'" },
	       { "sub/a.cfg", 3, "unknown key 'colour'" }, { "gini.conf", 2, "unknown key 'hue'" },
	       { "gini.conf", 5, "unknown key 'tint'" },
	       { "gini.conf", 8, "pipeline 'p': unknown key 'bogus'" });
	ck_assert_str_eq(cfg->pipelines[0].file, at("gini.conf"));
	ck_assert_int_eq(cfg->pipelines[0].line, 8);
	put("loop.cfg", "@include \"loop.cfg\"\n");
	load_main("@include \"loop.cfg\"\n");
	expect({ "loop.cfg", 1,
	         "@include: nested more than 10 deep (does a file include itself?)" });
	load_main("@include \"\"\n");
	expect({ "gini.conf", 1,
	         "@include: expected a non-empty path in double quotes, without backslashes or "
	         "line breaks" });
}
END_TEST

/* ---- unknown keys ---- */

START_TEST(unknown_key_top_level)
{
	load_main(/* 1 */ "workerz = 2;\n"
	          /* 2 */ "Workers = 2;\n"
	          /* 3 */ "colour = \"blue\";\n"
	          /* 4 */ "pipeline = ();\n");
	expect({ "gini.conf", 1, "unknown key 'workerz'; did you mean 'workers'?" },
	       { "gini.conf", 2, "unknown key 'Workers'; did you mean 'workers'?" },
	       { "gini.conf", 3, "unknown key 'colour'" },
	       { "gini.conf", 4, "unknown key 'pipeline'; did you mean 'pipelines'?" });
}
END_TEST

START_TEST(unknown_key_pipeline)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    overlapp = \"skip\";\n"
	          /* 4 */ "    descripton = \"typo\";\n"
	          /* 5 */ "    colour = \"blue\";\n"
	          /* 6 */ "    " STEPS " }\n"
	          /* 7 */ ");\n");
	expect({ "gini.conf", 3, "pipeline 'p': unknown key 'overlapp'; did you mean 'overlap'?" },
	       { "gini.conf", 4,
	         "pipeline 'p': unknown key 'descripton'; did you mean 'description'?" },
	       { "gini.conf", 5, "pipeline 'p': unknown key 'colour'" });
}
END_TEST

START_TEST(unknown_key_triggers)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    triggers = {\n"
	          /* 4 */ "      sigal = \"SIGUSR1\";\n"
	          /* 5 */ "      on_strat = true;\n"
	          /* 6 */ "      when = \"daily\";\n"
	          /* 7 */ "    };\n"
	          /* 8 */ "    " STEPS " }\n"
	          /* 9 */ ");\n");
	expect({ "gini.conf", 4, "pipeline 'p': triggers: unknown key 'sigal'; did you mean 'signal'?" },
	       { "gini.conf", 5, "pipeline 'p': triggers: unknown key 'on_strat'; did you mean 'on_start'?" },
	       { "gini.conf", 6, "pipeline 'p': triggers: unknown key 'when'" });
}
END_TEST

START_TEST(unknown_key_step)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"noop\";\n"
	          /* 5 */ "        timout = \"1s\";\n"
	          /* 6 */ "        param = { };\n"
	          /* 7 */ "        colour = \"red\"; }\n"
	          /* 8 */ "    ); }\n"
	          /* 9 */ ");\n");
	expect({ "gini.conf", 5,
	         "pipeline 'p': step 'a': unknown key 'timout'; did you mean 'timeout'?" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'a': unknown key 'param'; did you mean 'params'?" },
	       { "gini.conf", 7, "pipeline 'p': step 'a': unknown key 'colour'" });
}
END_TEST

START_TEST(main_only_keys_in_include)
{
	put("pipelines.d/a.conf",
	    /* 1 */ "workers = 2;\n"
	    /* 2 */ "log_level = \"debug\";\n"
	    /* 3 */ "pipeline = ();\n"
	    /* 4 */ "colour = 1;\n"
	    /* 5 */ "pipelines = ( { name = \"inc\"; " STEPS " } );\n");
	load_main("# nothing here\n");
	expect({ "pipelines.d/a.conf", 1,
	         "key 'workers' is only allowed in the main configuration file" },
	       { "pipelines.d/a.conf", 2,
	         "key 'log_level' is only allowed in the main configuration file" },
	       { "pipelines.d/a.conf", 3, "unknown key 'pipeline'; did you mean 'pipelines'?" },
	       { "pipelines.d/a.conf", 4, "unknown key 'colour'" });
	/* ... and they are not applied. */
	ck_assert_uint_eq(cfg->workers, (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1));
	ck_assert_int_eq(cfg->log_level, LOG_INFO);
	ck_assert_uint_eq(cfg->n_pipelines, 1);
	ck_assert_str_eq(cfg->pipelines[0].name, "inc");
}
END_TEST

/* ---- value types ---- */

START_TEST(type_string)
{
	load_main(/* 1 */ "control_group = 5;\n"
	          /* 2 */ "control_readonly_group = true;\n"
	          /* 3 */ "state_dir = [ \"x\" ];\n"
	          /* 4 */ "pipelines = (\n"
	          /* 5 */ "  { name = \"p\"; description = 3;\n"
	          /* 6 */ "    steps = ( { id = \"a\"; stage = 5; } ); }\n"
	          /* 7 */ ");\n");
	expect({ "gini.conf", 3, "'state_dir': expected a string, got an array [ ... ]" },
	       { "gini.conf", 1, "'control_group': expected a string, got an integer" },
	       { "gini.conf", 2, "'control_readonly_group': expected a string, got a boolean" },
	       { "gini.conf", 5, "pipeline 'p': 'description': expected a string, got an integer" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'a': 'stage': expected a string, got an integer" });
}
END_TEST

START_TEST(type_int)
{
	load_main(/* 1 */ "workers = \"4\";\n"
	          /* 2 */ "pipelines = (\n"
	          /* 3 */ "  { name = \"p\"; max_parallel = true;\n"
	          /* 4 */ "    steps = ( { id = \"a\"; stage = \"noop\"; retries = 1.5; } ); }\n"
	          /* 5 */ ");\n");
	expect({ "gini.conf", 1, "'workers': expected an integer, got a string" },
	       { "gini.conf", 3,
	         "pipeline 'p': 'max_parallel': expected an integer, got a boolean" },
	       { "gini.conf", 4,
	         "pipeline 'p': step 'a': 'retries': expected an integer, got a number with a "
	         "fraction" });
}
END_TEST

START_TEST(type_bool)
{
	load_main(
		/* 1 */ "pipelines = (\n"
		/* 2 */ "  { name = \"p\";\n"
		/* 3 */ "    triggers = { on_start = \"yes\"; persistent = 1; schedule = \"@daily\"; };\n"
		/* 4 */ "    steps = ( { id = \"a\"; stage = \"noop\"; enabled = \"false\"; } ); }\n"
		/* 5 */ ");\n");
	expect({ "gini.conf", 3,
	         "pipeline 'p': triggers: 'on_start': expected a boolean (true or false), got a string" },
	       { "gini.conf", 3,
	         "pipeline 'p': triggers: 'persistent': expected a boolean (true or false), got an integer" },
	       { "gini.conf", 4,
	         "pipeline 'p': step 'a': 'enabled': expected a boolean (true or false), got a "
	         "string" });
}
END_TEST

START_TEST(type_duration)
{
	load_main(/* 1 */ "shutdown_timeout = 1.5;\n"
	          /* 2 */ "pipelines = (\n"
	          /* 3 */ "  { name = \"p\";\n"
	          /* 4 */ "    triggers = { every = [ \"1s\" ]; };\n"
	          /* 5 */ "    steps = ( { id = \"a\"; stage = \"noop\"; timeout = true;\n"
	          /* 6 */ "                retry_backoff = { s = 1; }; } ); }\n"
	          /* 7 */ ");\n");
	expect({ "gini.conf", 1,
	         "'shutdown_timeout': expected a duration such as \"30s\", got a number with a "
	         "fraction" },
	       { "gini.conf", 4,
	         "pipeline 'p': triggers: 'every': expected a duration such as \"30s\", got an array "
	         "[ ... ]" },
	       { "gini.conf", 5,
	         "pipeline 'p': step 'a': 'timeout': expected a duration such as \"30s\", got a "
	         "boolean" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'a': 'retry_backoff': expected a duration such as \"30s\", "
	         "got a group { ... }" });
}
END_TEST

START_TEST(type_list)
{
	load_main(/* 1 */ "plugin_dirs = 5;\n"
	          /* 2 */ "include_dirs = { a = \"x\"; };\n"
	          /* 3 */ "pipelines = (\n"
	          /* 4 */ "  { name = \"p\";\n"
	          /* 5 */ "    triggers = { signal = ( \"SIGUSR1\",\n"
	          /* 6 */ "                            5 ); };\n"
	          /* 7 */ "    steps = ( { id = \"a\"; stage = \"noop\"; },\n"
	          /* 8 */ "              { id = \"b\"; stage = \"noop\"; after = ( \"a\", true ); },\n"
	          /* 9 */ "              { id = \"c\"; stage = \"noop\"; after = { a = 1; }; } ); }\n"
	          /* 10 */ ");\n");
	expect({ "gini.conf", 1,
	         "'plugin_dirs': expected a string or a list of strings, got an integer" },
	       { "gini.conf", 2,
	         "'include_dirs': expected a string or a list of strings, got a group { ... }" },
	       { "gini.conf", 6,
	         "pipeline 'p': triggers: 'signal': element 2: expected a string, got an integer" },
	       { "gini.conf", 8,
	         "pipeline 'p': step 'b': 'after': element 2: expected a string, got a boolean" },
	       { "gini.conf", 9,
	         "pipeline 'p': step 'c': 'after': expected a string or a list of strings, got a "
	         "group { ... }" });
}
END_TEST

START_TEST(type_group)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\"; triggers = \"SIGUSR1\";\n"
	          /* 3 */ "    steps = ( { id = \"a\"; stage = \"noop\"; params = \"x\"; } ); }\n"
	          /* 4 */ ");\n");
	expect({ "gini.conf", 2,
	         "pipeline 'p': 'triggers': expected a group { ... }, got a string" },
	       { "gini.conf", 3,
	         "pipeline 'p': step 'a': 'params': expected a group { ... }, got a string" });
	load_main(/* 1 */ "workers = 2;\n"
	          /* 2 */ "pipelines = { name = \"p\"; };\n");
	expect({ "gini.conf", 2,
	         "'pipelines': expected a list ( { ... }, ... ), got a group { ... }" });
}
END_TEST

START_TEST(type_param_values)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"exec\";\n"
	          /* 5 */ "        params = { argv = ( \"x\", 1 ); }; },\n"
	          /* 6 */ "      { id = \"b\"; stage = \"exec\";\n"
	          /* 7 */ "        params = {\n"
	          /* 8 */ "          nested = { x = 1; };\n"
	          /* 9 */ "        }; }\n"
	          /* 10 */ "    ); }\n"
	          /* 11 */ ");\n");
	expect({ "gini.conf", 5,
	         "pipeline 'p': step 'a': param 'argv': element 2 is not a string; lists hold "
	         "strings only" },
	       { "gini.conf", 8,
	         "pipeline 'p': step 'b': param 'nested': groups are not supported as param "
	         "values" });
}
END_TEST

/* ---- integer ranges ---- */

START_TEST(range_out)
{
	load_main(/* 1 */ "workers = 0;\n"
	          /* 2 */ "pipelines = (\n"
	          /* 3 */ "  { name = \"p\"; max_parallel = 1025;\n"
	          /* 4 */ "    steps = ( { id = \"a\"; stage = \"noop\"; retries = 101; },\n"
	          /* 5 */ "              { id = \"b\"; stage = \"noop\"; retries = -1; } ); },\n"
	          /* 6 */ "  { name = \"q\"; max_parallel = 0; " STEPS " }\n"
	          /* 7 */ ");\n");
	expect({ "gini.conf", 1, "'workers': 0 is out of range 1-256" },
	       { "gini.conf", 3, "pipeline 'p': 'max_parallel': 1025 is out of range 1-1024" },
	       { "gini.conf", 4, "pipeline 'p': step 'a': 'retries': 101 is out of range 0-100" },
	       { "gini.conf", 5, "pipeline 'p': step 'b': 'retries': -1 is out of range 0-100" },
	       { "gini.conf", 6, "pipeline 'q': 'max_parallel': 0 is out of range 1-1024" });
	/* Rejected values leave the defaults in place. */
	ck_assert_uint_eq(def("p")->max_parallel, 4);
	ck_assert_uint_eq(def("p")->steps[0].retries, 0);

	load_main("workers = 257;\n");
	expect({ "gini.conf", 1, "'workers': 257 is out of range 1-256" });
	load_main("workers = 99999999999L;\n");
	expect({ "gini.conf", 1, "'workers': 99999999999 is out of range 1-256" });
}
END_TEST

START_TEST(range_limits_accepted)
{
	load_main(/* 1 */ "workers = 256;\n"
	          /* 2 */ "pipelines = (\n"
	          /* 3 */ "  { name = \"p\"; max_parallel = 1024;\n"
	          /* 4 */ "    steps = ( { id = \"a\"; stage = \"noop\"; retries = 100; },\n"
	          /* 5 */ "              { id = \"b\"; stage = \"noop\"; retries = 0; } ); },\n"
	          /* 6 */ "  { name = \"q\"; max_parallel = 1; " STEPS " }\n"
	          /* 7 */ ");\n");
	expect_none();
	ck_assert_uint_eq(cfg->workers, 256);
	ck_assert_uint_eq(def("p")->max_parallel, 1024);
	ck_assert_uint_eq(def("q")->max_parallel, 1);
	ck_assert_uint_eq(def("p")->steps[0].retries, 100);
	ck_assert_uint_eq(def("p")->steps[1].retries, 0);
	load_main("workers = 1;\n");
	expect_none();
	ck_assert_uint_eq(cfg->workers, 1);
}
END_TEST

/* ---- durations ---- */

START_TEST(duration_invalid)
{
	load_main(/* 1 */ "shutdown_timeout = \"5x\";\n"
	          /* 2 */ "pipelines = (\n"
	          /* 3 */ "  { name = \"p\";\n"
	          /* 4 */ "    steps = (\n"
	          /* 5 */ "      { id = \"a\"; stage = \"noop\"; timeout = \"1.5.s\"; },\n"
	          /* 6 */ "      { id = \"b\"; stage = \"noop\"; timeout = \"\"; },\n"
	          /* 7 */ "      { id = \"c\"; stage = \"noop\"; timeout = -1; },\n"
	          /* 8 */ "      { id = \"d\"; stage = \"noop\"; retry_backoff = \"1 fortnight\"; },\n"
	          /* 9 */ "      { id = \"e\"; stage = \"noop\"; timeout = 3162240001L; },\n"
	          /* 10 */ "      { id = \"f\"; stage = \"noop\"; timeout = \"-5m\"; },\n"
	          /* 11 */ "      { id = \"g\"; stage = \"noop\"; timeout = \"101 years\"; }\n"
	          /* 12 */ "    ); }\n"
	          /* 13 */ ");\n");
	expect({ "gini.conf", 1,
	         "'shutdown_timeout': invalid duration '5x' (use e.g. 500ms, 30s, 5min, 1h 30m, 2 "
	         "days)" },
	       { "gini.conf", 5,
	         "pipeline 'p': step 'a': 'timeout': invalid duration '1.5.s' (use e.g. 500ms, 30s, "
	         "5min, 1h 30m, 2 days)" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'b': 'timeout': invalid duration '' (use e.g. 500ms, 30s, 5min, "
	         "1h 30m, 2 days)" },
	       { "gini.conf", 7, "pipeline 'p': step 'c': 'timeout': invalid duration -1: must not be negative" },
	       { "gini.conf", 8,
	         "pipeline 'p': step 'd': 'retry_backoff': invalid duration '1 fortnight' (use e.g. "
	         "500ms, 30s, 5min, 1h 30m, 2 days)" },
	       { "gini.conf", 9, "pipeline 'p': step 'e': 'timeout': invalid duration 3162240001: too long (at most 100 years)" },
	       { "gini.conf", 10,
	         "pipeline 'p': step 'f': 'timeout': invalid duration '-5m' (use e.g. 500ms, 30s, "
	         "5min, 1h 30m, 2 days)" },
	       { "gini.conf", 11,
	         "pipeline 'p': step 'g': 'timeout': duration '101 years' is too long (at most 100 "
	         "years)" });
	ck_assert_uint_eq(cfg->shutdown_timeout_usec, 30 * USEC_PER_SEC);
}
END_TEST

START_TEST(duration_valid)
{
	load_main(/* 1 */ "shutdown_timeout = \"1m30s\";\n"
	          /* 2 */ "pipelines = (\n"
	          /* 3 */ "  { name = \"p\";\n"
	          /* 4 */ "    steps = (\n"
	          /* 5 */ "      { id = \"a\"; stage = \"noop\"; timeout = 45; },\n"
	          /* 6 */ "      { id = \"b\"; stage = \"noop\"; timeout = \"250ms\"; },\n"
	          /* 7 */ "      { id = \"c\"; stage = \"noop\"; timeout = \"1d\"; retry_backoff = \"0\"; },\n"
	          /* 8 */ "      { id = \"d\"; stage = \"noop\"; timeout = \"30\"; retry_backoff = 0; },\n"
	          /* 9 */ "      { id = \"e\"; stage = \"noop\"; timeout = 3162240000L; },\n"
	          /* 10 */ "      { id = \"f\"; stage = \"noop\"; timeout = \"1h 30min\"; },\n"
	          /* 11 */ "      { id = \"g\"; stage = \"noop\"; timeout = \"1.5s\"; "
	          "retry_backoff = \"2 weeks\"; }\n"
	          /* 12 */ "    ); }\n"
	          /* 13 */ ");\n");
	expect_none();
	ck_assert_uint_eq(cfg->shutdown_timeout_usec, 90 * USEC_PER_SEC);
	ck_assert_uint_eq(def("p")->steps[0].timeout_usec, 45 * USEC_PER_SEC);
	ck_assert_uint_eq(def("p")->steps[1].timeout_usec, 250 * USEC_PER_MSEC);
	ck_assert_uint_eq(def("p")->steps[2].timeout_usec, USEC_PER_DAY);
	ck_assert_uint_eq(def("p")->steps[2].retry_backoff_usec, 0);
	ck_assert_uint_eq(def("p")->steps[3].timeout_usec, 30 * USEC_PER_SEC);
	ck_assert_uint_eq(def("p")->steps[3].retry_backoff_usec, 0);
	ck_assert_uint_eq(def("p")->steps[4].timeout_usec, UINT64_C(3162240000) * USEC_PER_SEC);
	/* systemd's time span syntax. */
	ck_assert_uint_eq(def("p")->steps[5].timeout_usec, 90 * USEC_PER_MINUTE);
	ck_assert_uint_eq(def("p")->steps[6].timeout_usec, 1500 * USEC_PER_MSEC);
	ck_assert_uint_eq(def("p")->steps[6].retry_backoff_usec, 14 * USEC_PER_DAY);
}
END_TEST

/* ---- pipeline params ---- */

START_TEST(params_invalid)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\"; triggers = { signal = \"SIGUSR1\"; };\n"
	          /* 3 */ "    params = {\n"
	          /* 4 */ "      a = { default = \"x\"; pattern = \"[a-\"; };\n"
	          /* 5 */ "      b = { default = \"/etc/passwd\";\n"
	          /* 6 */ "            pattern = \"^/srv(/[a-z]+)*$\"; };\n"
	          /* 7 */ "      c = { pattern = \"[0-9]+\"; };\n"
	          /* 8 */ "      d = \"/srv\";\n"
	          /* 9 */ "      e = { default = 5; patern = \"x\"; };\n"
	          /* 10 */ "      f = { default = \"12a\"; pattern = \"[0-9]+\"; };\n"
	          /* 11 */ "    };\n"
	          /* 12 */ "    steps = ( { id = \"s\"; stage = \"noop\"; } ); }\n"
	          /* 13 */ ");\n");
	expect({ "gini.conf", 4,
	         "pipeline 'p': param 'a': invalid pattern '[a-': Unmatched [, [^, [:, [., or [=" },
	       { "gini.conf", 5,
	         "pipeline 'p': param 'b': default '/etc/passwd': the value does not match the "
	         "pattern '^/srv(/[a-z]+)*$'" },
	       { "gini.conf", 7,
	         "pipeline 'p': param 'c': no 'default', but the pipeline has triggers, which run "
	         "it with the defaults" },
	       { "gini.conf", 8,
	         "pipeline 'p': param 'd': expected a group { default = \"...\"; pattern = "
	         "\"...\"; }, got a string" },
	       { "gini.conf", 9, "pipeline 'p': param 'e': unknown key 'patern'; did you mean 'pattern'?" },
	       { "gini.conf", 9, "pipeline 'p': param 'e': 'default': expected a string, got an integer" },
	       { "gini.conf", 10,
	         "pipeline 'p': param 'f': default '12a': the value does not match the pattern "
	         "'[0-9]+'" });
}
END_TEST

START_TEST(params_valid)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    params = { target = { default = \"/srv\"; pattern = \"^/[a-z/]+$\"; };\n"
	          /* 4 */ "               count = { pattern = \"[0-9]+\"; };\n"
	          /* 5 */ "               free = { }; };\n"
	          /* 6 */ "    steps = ( { id = \"s\"; stage = \"noop\"; } ); }\n"
	          /* 7 */ ");\n");
	expect_none();
	ck_assert_uint_eq(def("p")->n_params, 3);
	ck_assert_str_eq(def("p")->params[0].name, "target");
	ck_assert_str_eq(def("p")->params[0].def, "/srv");
	ck_assert_str_eq(def("p")->params[0].pattern, "^/[a-z/]+$");
	ck_assert_int_eq(def("p")->params[0].line, 3);
	ck_assert_ptr_null(def("p")->params[1].def);
	ck_assert_ptr_null(def("p")->params[2].pattern);
}
END_TEST

/* What a run's params come to: defaults, overrides, refusals. */
START_TEST(params_of_a_run)
{
	struct pipeline *p = NULL;
	char **v = NULL, err[256];
	const char *ok[] = { "count", "42", "target", "/srv/www" };
	const char *unknown[] = { "taget", "/x" };
	const char *twice[] = { "count", "1", "count", "2" };
	const char *partial[] = { "count", "4x2" };
	const char *newline[] = { "count", "42\n" };

	load_main("pipelines = (\n"
	          "  { name = \"p\";\n"
	          "    params = { target = { default = \"/srv\"; pattern = \"/[a-z/]+\"; };\n"
	          "               count = { pattern = \"[0-9]+\"; }; };\n"
	          "    steps = ( { id = \"s\"; stage = \"noop\"; } ); }\n"
	          ");\n");
	expect_none();
	ck_assert_int_eq(pipeline_compile(def("p"), reg, &p, &d), 0);
	ck_assert_int_eq(pipeline_run_params(p, NULL, 0, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "param 'count' is required (it has no default)");
	ck_assert_int_eq(pipeline_run_params(p, ok, 2, &v, err, sizeof(err)), 0);
	ck_assert_str_eq(v[0], "target");
	ck_assert_str_eq(v[1], "/srv/www");
	ck_assert_str_eq(v[2], "count");
	ck_assert_str_eq(v[3], "42");
	ck_assert_ptr_null(v[4]);
	strv_free(v);
	ck_assert_int_eq(pipeline_run_params(p, ok, 1, &v, err, sizeof(err)), 0);
	ck_assert_str_eq(v[1], "/srv");
	strv_free(v);
	ck_assert_int_eq(pipeline_run_params(p, unknown, 1, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "pipeline 'p' has no param 'taget'; did you mean 'target'?");
	ck_assert_int_eq(pipeline_run_params(p, twice, 2, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "param 'count' given twice");
	ck_assert_int_eq(pipeline_run_params(p, partial, 1, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "param 'count': the value does not match the pattern '[0-9]+'");
	ck_assert_int_eq(pipeline_run_params(p, newline, 1, &v, err, sizeof(err)), -EINVAL);
	pipeline_free(p);
}
END_TEST

/* ---- log_level ---- */

START_TEST(log_level_invalid)
{
	load_main("log_level = \"infoo\";\n");
	expect({ "gini.conf", 1,
	         "'log_level': invalid value 'infoo'; did you mean 'info'? (expected error, "
	         "warning, notice, info or debug)" });
	ck_assert_int_eq(cfg->log_level, LOG_INFO);
	load_main("\nlog_level = \"DEBUG\";\n");
	expect({ "gini.conf", 2,
	         "'log_level': invalid value 'DEBUG'; did you mean 'debug'? (expected error, "
	         "warning, notice, info or debug)" });
	load_main("log_level = \"verbose\";\n");
	expect({ "gini.conf", 1,
	         "'log_level': invalid value 'verbose' (expected error, warning, notice, info or "
	         "debug)" });
}
END_TEST

START_TEST(log_level_values)
{
	static const struct {
		const char *text;
		int level;
	} cases[] = {
		{ "error", LOG_ERR },   { "err", LOG_ERR },       { "warning", LOG_WARNING },
		{ "warn", LOG_WARNING }, { "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		load_main(fmt("log_level = \"%s\";\n", cases[i].text));
		expect_none();
		ck_assert_int_eq(cfg->log_level, cases[i].level);
	}
}
END_TEST

/* ---- enumerations ---- */

START_TEST(enum_invalid)
{
	load_main(
		/* 1 */ "pipelines = (\n"
		/* 2 */ "  { name = \"p\"; overlap = \"skipp\"; on_failure = \"contineu\"; " STEPS " },\n"
		/* 3 */ "  { name = \"q\"; overlap = \"paralel\"; on_failure = \"abort\"; " STEPS " },\n"
		/* 4 */ "  { name = \"r\"; overlap = \"never\"; on_failure = 1; " STEPS " }\n"
		/* 5 */ ");\n");
	/* The two-value list reads "(expected stop or continue)"; see the report. */
	expect({ "gini.conf", 2,
	         "pipeline 'p': 'overlap': invalid value 'skipp'; did you mean 'skip'? (expected "
	         "skip, queue or parallel)" },
	       { "gini.conf", 2,
	         "pipeline 'p': 'on_failure': invalid value 'contineu'; did you mean 'continue'? "
	         "(expected stop or continue)" },
	       { "gini.conf", 3,
	         "pipeline 'q': 'overlap': invalid value 'paralel'; did you mean 'parallel'? "
	         "(expected skip, queue or parallel)" },
	       { "gini.conf", 3,
	         "pipeline 'q': 'on_failure': invalid value 'abort' (expected stop or continue)" },
	       { "gini.conf", 4,
	         "pipeline 'r': 'overlap': invalid value 'never' (expected skip, queue or "
	         "parallel)" },
	       { "gini.conf", 4, "pipeline 'r': 'on_failure': expected a string, got an integer" });
}
END_TEST

START_TEST(enum_values)
{
	load_main(
		/* 1 */ "pipelines = (\n"
		/* 2 */ "  { name = \"a\"; overlap = \"queue\"; on_failure = \"continue\"; " STEPS " },\n"
		/* 3 */ "  { name = \"b\"; overlap = \"parallel\"; on_failure = \"stop\"; " STEPS " },\n"
		/* 4 */ "  { name = \"c\"; overlap = \"skip\"; " STEPS " }\n"
		/* 5 */ ");\n");
	expect_none();
	ck_assert_int_eq(def("a")->overlap, OVERLAP_QUEUE);
	ck_assert_int_eq(def("a")->on_failure, ON_FAILURE_CONTINUE);
	ck_assert_int_eq(def("b")->overlap, OVERLAP_PARALLEL);
	ck_assert_int_eq(def("b")->on_failure, ON_FAILURE_STOP);
	ck_assert_int_eq(def("c")->overlap, OVERLAP_SKIP);
}
END_TEST

/* ---- signals ---- */

START_TEST(signal_reserved_and_invalid)
{
	const char *use = fmt("(use SIGUSR1, SIGUSR2 or SIGRTMIN+N, N from 0 to %d)",
	                      SIGRTMAX - SIGRTMIN);
	const char *reserved =
		"is reserved (SIGHUP reloads, SIGTERM and SIGINT stop); use SIGUSR1, SIGUSR2 or "
		"SIGRTMIN+N";

	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    triggers = {\n"
	          /* 4 */ "      signal = [ \"SIGHUP\", \"TERM\", \"SIGINT\", \"SIGKILL\",\n"
	          /* 5 */ "                 \"SIGRTMIN+99\", \"SIGFOO\", \"SIGUSR1\" ];\n"
	          /* 6 */ "    };\n"
	          /* 7 */ "    " STEPS " }\n"
	          /* 8 */ ");\n");
	expect({ "gini.conf", 4, fmt("pipeline 'p': triggers: 'signal': SIGHUP %s", reserved) },
	       { "gini.conf", 4, fmt("pipeline 'p': triggers: 'signal': TERM %s", reserved) },
	       { "gini.conf", 4, fmt("pipeline 'p': triggers: 'signal': SIGINT %s", reserved) },
	       { "gini.conf", 4, fmt("pipeline 'p': triggers: 'signal': SIGKILL cannot trigger a pipeline %s", use) },
	       { "gini.conf", 4,
	         fmt("pipeline 'p': triggers: 'signal': unknown signal 'SIGRTMIN+99' %s", use) },
	       { "gini.conf", 4, fmt("pipeline 'p': triggers: 'signal': unknown signal 'SIGFOO' %s", use) });
	/* The good one is still bound. */
	ck_assert_uint_eq(def("p")->triggers.n_signals, 1);
	ck_assert_int_eq(def("p")->triggers.signals[0], SIGUSR1);
}
END_TEST

START_TEST(signal_too_many)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    triggers = { signal = [ \"SIGRTMIN+1\", \"SIGRTMIN+2\", \"SIGRTMIN+3\",\n"
	          /* 4 */ "      \"SIGRTMIN+4\", \"SIGRTMIN+5\", \"SIGRTMIN+6\", \"SIGRTMIN+7\",\n"
	          /* 5 */ "      \"SIGRTMIN+8\", \"SIGRTMIN+9\" ]; };\n"
	          /* 6 */ "    " STEPS " }\n"
	          /* 7 */ ");\n");
	expect({ "gini.conf", 3, "pipeline 'p': triggers: 'signal': more than 8 signals" });
	ck_assert_uint_eq(def("p")->triggers.n_signals, TRIGGER_SIGNALS_MAX);
}
END_TEST

START_TEST(signal_valid)
{
	load_main(fmt(/* 1 */ "pipelines = (\n"
	              /* 2 */ "  { name = \"one\"; triggers = { signal = \"USR2\"; }; " STEPS " },\n"
	              /* 3 */ "  { name = \"many\"; triggers = { signal = [ \"SIGUSR1\", \"SIGRTMIN\",\n"
	              /* 4 */ "      \"SIGRTMIN+3\", \"SIGRTMIN+%d\" ]; }; " STEPS " }\n"
	              /* 5 */ ");\n",
	              SIGRTMAX - SIGRTMIN));
	expect_none();
	ck_assert_uint_eq(def("one")->triggers.n_signals, 1);
	ck_assert_int_eq(def("one")->triggers.signals[0], SIGUSR2);
	ck_assert_uint_eq(def("many")->triggers.n_signals, 4);
	ck_assert_int_eq(def("many")->triggers.signals[0], SIGUSR1);
	ck_assert_int_eq(def("many")->triggers.signals[1], SIGRTMIN);
	ck_assert_int_eq(def("many")->triggers.signals[2], SIGRTMIN + 3);
	ck_assert_int_eq(def("many")->triggers.signals[3], SIGRTMAX);
}
END_TEST

/* ---- schedule ---- */

/* cron_parse()'s own message for expr, which the config message must carry. */
static const char *
cron_error(const char *expr)
{
	static char buf[8][256];
	static unsigned next;
	char *b = buf[next++ % 8];
	struct cron c;

	ck_assert_int_eq(cron_parse(expr, &c, b, sizeof(buf[0])), -EINVAL);
	ck_assert_msg(b[0], "cron_parse gave no message for '%s'", expr);
	return b;
}

START_TEST(schedule_invalid)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"a\"; triggers = { schedule = \"61 * * * *\"; }; " STEPS " },\n"
	          /* 3 */ "  { name = \"b\"; triggers = { schedule = \"@sometimes\"; }; " STEPS " },\n"
	          /* 4 */ "  { name = \"c\";\n"
	          /* 5 */ "    triggers = {\n"
	          /* 6 */ "      schedule = \"* * *\";\n"
	          /* 7 */ "    };\n"
	          /* 8 */ "    " STEPS " },\n"
	          /* 9 */ "  { name = \"d\"; triggers = { schedule = \"0 0 31 2 *\"; }; " STEPS " }\n"
	          /* 10 */ ");\n");
	expect({ "gini.conf", 2,
	         fmt("pipeline 'a': triggers: 'schedule': invalid cron expression '61 * * * *': %s",
	             cron_error("61 * * * *")) },
	       { "gini.conf", 3,
	         fmt("pipeline 'b': triggers: 'schedule': invalid cron expression '@sometimes': %s",
	             cron_error("@sometimes")) },
	       { "gini.conf", 6,
	         fmt("pipeline 'c': triggers: 'schedule': invalid cron expression '* * *': %s",
	             cron_error("* * *")) },
	       { "gini.conf", 9,
	         fmt("pipeline 'd': triggers: 'schedule': invalid cron expression '0 0 31 2 *': %s",
	             cron_error("0 0 31 2 *")) });
	ck_assert_ptr_null(def("a")->triggers.schedule);
}
END_TEST

START_TEST(schedule_valid)
{
	struct cron hourly;

	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"a\"; triggers = { schedule = \"0 2 * * 1-5\"; }; " STEPS " },\n"
	          /* 3 */ "  { name = \"b\"; triggers = { schedule = \"@hourly\"; }; " STEPS " }\n"
	          /* 4 */ ");\n");
	expect_none();
	ck_assert_str_eq(def("a")->triggers.schedule, "0 2 * * 1-5");
	ck_assert_uint_eq(def("a")->triggers.cron.minute, UINT64_C(1) << 0);
	ck_assert_uint_eq(def("a")->triggers.cron.hour, 1u << 2);
	ck_assert_uint_eq(def("a")->triggers.cron.dow, 0x3e); /* Monday to Friday */
	ck_assert(def("a")->triggers.cron.dom_star);
	ck_assert(!def("a")->triggers.cron.dow_star);
	ck_assert_str_eq(def("b")->triggers.schedule, "@hourly");
	ck_assert_int_eq(cron_parse("@hourly", &hourly, NULL, 0), 0);
	ck_assert_uint_eq(def("b")->triggers.cron.minute, hourly.minute);
	ck_assert_uint_eq(def("b")->triggers.cron.hour, hourly.hour);
	ck_assert_uint_eq(def("b")->triggers.cron.dom, hourly.dom);
	ck_assert_uint_eq(def("b")->triggers.cron.month, hourly.month);
	ck_assert_uint_eq(def("b")->triggers.cron.dow, hourly.dow);
}
END_TEST

/* ---- every ---- */

START_TEST(every_minimum)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"a\"; triggers = { every = \"5ms\"; }; " STEPS " },\n"
	          /* 3 */ "  { name = \"b\";\n"
	          /* 4 */ "    triggers = {\n"
	          /* 5 */ "      every = 0;\n"
	          /* 6 */ "    };\n"
	          /* 7 */ "    " STEPS " },\n"
	          /* 8 */ "  { name = \"c\"; triggers = { every = \"10ms\"; }; " STEPS " },\n"
	          /* 9 */ "  { name = \"d\"; triggers = { every = \"1h30m\"; }; " STEPS " }\n"
	          /* 10 */ ");\n");
	expect({ "gini.conf", 2, "pipeline 'a': triggers: 'every': interval must be at least 10ms" },
	       { "gini.conf", 5, "pipeline 'b': triggers: 'every': interval must be at least 10ms" });
	ck_assert_uint_eq(def("a")->triggers.every_usec, 0);
	ck_assert_uint_eq(def("c")->triggers.every_usec, 10 * USEC_PER_MSEC);
	ck_assert_uint_eq(def("d")->triggers.every_usec, 90 * USEC_PER_MINUTE);
}
END_TEST

/* ---- history ---- */

START_TEST(history_keys)
{
	load_main(/* 1 */ "history_max_runs = 0;\n"
	                  /* 2 */ "history_max_age = \"30s\";\n"
	                  /* 3 */ "history_output_max = \"1G\";\n"
	                  /* 4 */ "pipelines = ();\n");
	expect({ "gini.conf", 1, "'history_max_runs': 0 is out of range 1-10000000" },
	       { "gini.conf", 2, "'history_max_age': must be at least 1m" },
	       { "gini.conf", 3, "'history_output_max': at most 64M" });
	ck_assert_uint_eq(cfg->history_max_runs, 10000);
	ck_assert_uint_eq(cfg->history_max_age_usec, 30 * 24 * USEC_PER_HOUR);
	ck_assert_uint_eq(cfg->history_output_max, 64 * 1024);
	load_main("history_max_runs = 50;\nhistory_max_age = \"2d\";\n"
	          "history_output_max = \"1K\";\npipelines = ();\n");
	expect_none();
	ck_assert_uint_eq(cfg->history_max_runs, 50);
	ck_assert_uint_eq(cfg->history_max_age_usec, 48 * USEC_PER_HOUR);
	ck_assert_uint_eq(cfg->history_output_max, 1024);
}
END_TEST

/* ---- persistent ---- */

START_TEST(persistent_needs_schedule)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    triggers = {\n"
	          /* 4 */ "      every = \"1h\";\n"
	          /* 5 */ "      persistent = true;\n"
	          /* 6 */ "    };\n"
	          /* 7 */ "    " STEPS " },\n"
	          /* 8 */ "  { name = \"q\"; triggers = { persistent = false; }; " STEPS " },\n"
	          /* 9 */ "  { name = \"r\"; triggers = { schedule = \"@daily\"; persistent = true; };\n"
	          /* 10 */ "    " STEPS " }\n"
	          /* 11 */ ");\n");
	expect({ "gini.conf", 5, "pipeline 'p': triggers: 'persistent' needs a 'schedule'" });
	ck_assert(!def("q")->triggers.persistent);
	ck_assert(def("r")->triggers.persistent);
}
END_TEST

/* ---- pipelines ---- */

#define NAME64 "n123456789a123456789b123456789c123456789d123456789e123456789f123"

/*
 * A string element of a list takes, in libconfig, the line of the token after
 * it (the parser looks ahead for adjacent strings to concatenate), so the
 * fixtures keep such an element and its closing parenthesis on one line.
 */
START_TEST(pipeline_names)
{
	ck_assert_uint_eq(strlen(NAME64), 64);
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { description = \"nameless\";\n"
	          /* 3 */ "    " STEPS " },\n"
	          /* 4 */ "  { name = \"bad name!\"; " STEPS " },\n"
	          /* 5 */ "  { name = 7; " STEPS " },\n"
	          /* 6 */ "  { name = \"" NAME64 "x\"; " STEPS " },\n"
	          /* 7 */ "  { name = \"" NAME64 "\"; " STEPS " },\n"
	          /* 8 */ "  \"not a pipeline\" );\n");
	expect({ "gini.conf", 2, "pipeline 1 has no 'name'" },
	       { "gini.conf", 4,
	         "invalid pipeline name 'bad name!': use letters, digits, '_', '.' and '-', at "
	         "most 64 characters" },
	       { "gini.conf", 5, "pipeline 3: 'name': expected a string, got an integer" },
	       { "gini.conf", 6,
	         "invalid pipeline name '" NAME64 "x': use letters, digits, '_', '.' and '-', at "
	         "most 64 characters" },
	       { "gini.conf", 8, "pipeline 6: expected a group { ... }, got a string" });
	ck_assert_str_eq(cfg->pipelines[0].name, "#1");
	ck_assert_str_eq(cfg->pipelines[2].name, "#3");
	ck_assert_str_eq(cfg->pipelines[4].name, NAME64);
}
END_TEST

START_TEST(pipeline_steps_missing_empty_or_not_a_list)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"none\"; },\n"
	          /* 3 */ "  { name = \"empty\"; steps = (); },\n"
	          /* 4 */ "  { name = \"group\"; steps = { id = \"a\"; }; },\n"
	          /* 5 */ "  { name = \"array\"; steps = [ \"a\" ]; },\n"
	          /* 6 */ "  { name = \"string\";\n"
	          /* 7 */ "    steps = \"a\"; }\n"
	          /* 8 */ ");\n");
	expect({ "gini.conf", 2, "pipeline 'none': no 'steps'" },
	       { "gini.conf", 3, "pipeline 'empty': 'steps' is empty" },
	       { "gini.conf", 4,
	         "pipeline 'group': 'steps': expected a list ( ... ), got a group { ... }" },
	       { "gini.conf", 5,
	         "pipeline 'array': 'steps': expected a list ( ... ), got an array [ ... ]" },
	       { "gini.conf", 7,
	         "pipeline 'string': 'steps': expected a list ( ... ), got a string" });
}
END_TEST

START_TEST(pipeline_duplicate_names)
{
	put("pipelines.d/10-more.conf", /* 1 */ "# more pipelines\n"
	                                /* 2 */ "pipelines = (\n"
	                                /* 3 */ "  { name = \"x\"; " STEPS " },\n"
	                                /* 4 */ "  { name = \"backup\"; " STEPS " }\n"
	                                /* 5 */ ");\n");
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"backup\"; " STEPS " },\n"
	          /* 3 */ "  { name = \"other\"; " STEPS " },\n"
	          /* 4 */ "  { name = \"other\"; " STEPS " }\n"
	          /* 5 */ ");\n");
	expect({ "gini.conf", 4,
	         fmt("pipeline 'other': duplicate name; first defined at %s:3", at("gini.conf")) },
	       { "pipelines.d/10-more.conf", 4,
	         fmt("pipeline 'backup': duplicate name; first defined at %s:2",
	             at("gini.conf")) });
}
END_TEST

/*
 * Entries of 'pipelines' that are not groups are not duplicates of each
 * other (regression: they were all named "" and reported as duplicates).
 */
START_TEST(pipeline_not_groups_are_not_duplicates)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  \"a\",\n"
	          /* 3 */ "  5\n"
	          /* 4 */ ");\n");
	expect({ "gini.conf", 2, "pipeline 1: expected a group { ... }, got a string" },
	       { "gini.conf", 3, "pipeline 2: expected a group { ... }, got an integer" });
}
END_TEST

/* ---- steps ---- */

START_TEST(step_id_and_stage)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { stage = \"noop\"; },\n"
	          /* 5 */ "      { id = \"b\"; },\n"
	          /* 6 */ "      { id = \"c d\"; stage = \"noop\"; },\n"
	          /* 7 */ "      { id = 5; stage = \"noop\"; },\n"
	          /* 8 */ "      { id = \"e\"; stage = 5; },\n"
	          /* 9 */ "      { id = \"" NAME64 "x\"; stage = \"noop\"; }\n"
	          /* 10 */ "    ); }\n"
	          /* 11 */ ");\n");
	expect({ "gini.conf", 4, "pipeline 'p': step 1 has no 'id'" },
	       { "gini.conf", 5, "pipeline 'p': step 'b': no 'stage'" },
	       { "gini.conf", 6,
	         "pipeline 'p': invalid step id 'c d': use letters, digits, '_', '.' and '-', at "
	         "most 64 characters" },
	       { "gini.conf", 7, "pipeline 'p': step 4: 'id': expected a string, got an integer" },
	       { "gini.conf", 8,
	         "pipeline 'p': step 'e': 'stage': expected a string, got an integer" },
	       { "gini.conf", 9,
	         "pipeline 'p': invalid step id '" NAME64 "x': use letters, digits, '_', '.' and "
	         "'-', at most 64 characters" });
	/* The compiler does not repeat what the reader said, nor compile the pipeline. */
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect_none();
}
END_TEST

/*
 * A step that is not a group is reported once and the pipeline is not
 * compiled (regression: its NULL id crashed pipeline_compile(), and with it
 * `ginid -t` and a reload).
 */
START_TEST(step_not_a_group)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"noop\"; },\n"
	          /* 5 */ "      \"b\" ); }\n"
	          /* 6 */ ");\n");
	expect({ "gini.conf", 5, "pipeline 'p': step 2: expected a group { ... }, got a string" });
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect_none();
}
END_TEST

START_TEST(step_duplicate_id)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"fetch\"; stage = \"noop\"; },\n"
	          /* 5 */ "      { id = \"build\"; stage = \"noop\"; after = [ \"fetch\" ]; },\n"
	          /* 6 */ "      { id = \"fetch\"; stage = \"noop\"; },\n"
	          /* 7 */ "      { id = \"fetch\"; stage = \"noop\"; }\n"
	          /* 8 */ "    ); }\n"
	          /* 9 */ ");\n");
	expect_none();
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 6,
	         "pipeline 'p': step 'fetch': duplicate step id; first defined at line 4" },
	       { "gini.conf", 7,
	         "pipeline 'p': step 'fetch': duplicate step id; first defined at line 4" });
}
END_TEST

/* ---- after ---- */

START_TEST(after_unknown_step)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"build\"; stage = \"noop\"; },\n"
	          /* 5 */ "      { id = \"test\"; stage = \"noop\"; after = [ \"buld\" ]; },\n"
	          /* 6 */ "      { id = \"ship\"; stage = \"noop\";\n"
	          /* 7 */ "        after = [ \"test\", \"deploy\" ]; }\n"
	          /* 8 */ "    ); }\n"
	          /* 9 */ ");\n");
	expect_none();
	ck_assert_int_eq(compile("p"), -EINVAL);
	/* Reported at the step's line, not at the line of its 'after'. */
	expect({ "gini.conf", 5,
	         "pipeline 'p': step 'test': 'after' names unknown step 'buld'; did you mean "
	         "'build'?" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'ship': 'after' names unknown step 'deploy'" });
}
END_TEST

/* ---- dependency cycles ---- */

START_TEST(cycle_three)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"noop\"; after = [ \"c\" ]; },\n"
	          /* 5 */ "      { id = \"b\"; stage = \"noop\"; after = [ \"a\" ]; },\n"
	          /* 6 */ "      { id = \"c\"; stage = \"noop\"; after = [ \"b\" ]; }\n"
	          /* 7 */ "    ); }\n"
	          /* 8 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	/* Whole and in execution order (b runs after a, c after b, a after c),
	 * at the line of the cycle's first step; the rotation is the walk's. */
	expect({ "gini.conf", 4, "pipeline 'p': dependency cycle: a -> b -> c -> a" });
}
END_TEST

START_TEST(cycle_two_independent)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"root\"; stage = \"noop\"; },\n"
	          /* 5 */ "      { id = \"x\"; stage = \"noop\"; after = [ \"root\", \"y\" ]; },\n"
	          /* 6 */ "      { id = \"y\"; stage = \"noop\"; after = [ \"x\" ]; },\n"
	          /* 7 */ "      { id = \"tail\"; stage = \"noop\"; after = [ \"y\" ]; },\n"
	          /* 8 */ "      { id = \"p\"; stage = \"noop\"; after = [ \"r\" ]; },\n"
	          /* 9 */ "      { id = \"q\"; stage = \"noop\"; after = [ \"p\" ]; },\n"
	          /* 10 */ "      { id = \"r\"; stage = \"noop\"; after = [ \"q\" ]; }\n"
	          /* 11 */ "    ); }\n"
	          /* 12 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	/* 'tail' waits behind a cycle but is not on one: not reported. */
	expect({ "gini.conf", 5, "pipeline 'p': dependency cycle: x -> y -> x" },
	       { "gini.conf", 8, "pipeline 'p': dependency cycle: p -> q -> r -> p" });
}
END_TEST

START_TEST(cycle_self)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"ok\"; stage = \"noop\"; },\n"
	          /* 5 */ "      { id = \"s\"; stage = \"noop\"; after = [ \"ok\", \"s\" ]; }\n"
	          /* 6 */ "    ); }\n"
	          /* 7 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 5, "pipeline 'p': dependency cycle: s -> s" });
}
END_TEST

/* ---- stage binding ---- */

START_TEST(stage_unknown)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"exex\"; },\n"
	          /* 5 */ "      { id = \"b\"; stage = \"noopp\"; },\n"
	          /* 6 */ "      { id = \"c\"; stage = \"check\"; },\n"
	          /* 7 */ "      { id = \"d\"; stage = \"frobnicate\"; }\n"
	          /* 8 */ "    ); }\n"
	          /* 9 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 4,
	         "pipeline 'p': step 'a': unknown stage type 'exex'; did you mean 'exec'?" },
	       { "gini.conf", 5,
	         "pipeline 'p': step 'b': unknown stage type 'noopp'; did you mean 'noop'?" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'c': unknown stage type 'check'; did you mean 'check-command' "
	         "or 'check-path'?" },
	       { "gini.conf", 7,
	         "pipeline 'p': step 'd': unknown stage type 'frobnicate' (6 stage types are "
	         "registered; `ginid -t` lists them)" });
}
END_TEST

/*
 * A registered id that contains the unknown one is suggested once
 * (regression: "did you mean 'exec' or 'exec'?").
 */
START_TEST(stage_unknown_substring_suggested_once)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"exe\"; },\n"
	          /* 5 */ "      { id = \"b\"; stage = \"nop\"; }\n"
	          /* 6 */ "    ); }\n"
	          /* 7 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 4,
	         "pipeline 'p': step 'a': unknown stage type 'exe'; did you mean 'exec'?" },
	       { "gini.conf", 5,
	         "pipeline 'p': step 'b': unknown stage type 'nop'; did you mean 'noop'?" });
}
END_TEST

START_TEST(stage_rejects_params)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"strict\";\n"
	          /* 5 */ "        params = { mode = \"reckless\"; }; },\n"
	          /* 6 */ "      { id = \"b\"; stage = \"strict\";\n"
	          /* 7 */ "        params = { mode = 3; }; },\n"
	          /* 8 */ "      { id = \"c\"; stage = \"strict\"; params = { mode = \"safe\"; }; }\n"
	          /* 9 */ "    ); }\n"
	          /* 10 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	/* At the step's line; the stage's own message wins over the host's. */
	expect({ "gini.conf", 4,
	         "pipeline 'p': step 'a': stage 'strict' rejected its params: 'mode' must be "
	         "'fast' or 'safe', not 'reckless'" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'b': stage 'strict' rejected its params: 'mode' must be "
	         "'fast' or 'safe', not '(unset)'" });
}
END_TEST

/* A rejection caused by a typo also names the typo. */
START_TEST(stage_rejects_params_typo_suggested)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"strict\";\n"
	          /* 5 */ "        params = { mdoe = \"fast\"; }; }\n"
	          /* 6 */ "    ); }\n"
	          /* 7 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 4,
	         "pipeline 'p': step 'a': stage 'strict' rejected its params: 'mode' must be "
	         "'fast' or 'safe', not '(unset)'" },
	       { "gini.conf", 5,
	         "pipeline 'p': step 'a': unknown param 'mdoe' for stage 'strict'; did you mean "
	         "'mode'?" });
}
END_TEST

START_TEST(stage_param_wrong_type)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"exec\";\n"
	          /* 5 */ "        params = { count = \"three\"; }; },\n"
	          /* 6 */ "      { id = \"b\"; stage = \"exec\"; params = { timeout = \"soon\"; }; },\n"
	          /* 7 */ "      { id = \"c\"; stage = \"exec\"; params = { verbose = \"yes\"; }; },\n"
	          /* 8 */ "      { id = \"d\"; stage = \"exec\"; params = { argv = \"/bin/true\"; }; },\n"
	          /* 9 */ "      { id = \"e\"; stage = \"exec\"; params = { timeout = -3; }; },\n"
	          /* 10 */ "      { id = \"f\"; stage = \"silent\"; }\n"
	          /* 11 */ "    ); }\n"
	          /* 12 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 4,
	         "pipeline 'p': step 'a': stage 'exec' rejected its params: param 'count': "
	         "expected an integer, got a string" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'b': stage 'exec' rejected its params: param 'timeout': "
	         "invalid duration 'soon' (use e.g. 500ms, 30s, 5min, 1h 30m, 2 days)" },
	       { "gini.conf", 7,
	         "pipeline 'p': step 'c': stage 'exec' rejected its params: param 'verbose': "
	         "expected a boolean (true or false), got a string" },
	       /* Line 8 passes: a single string is a list of one, as in the config. */
	       { "gini.conf", 9,
	         "pipeline 'p': step 'e': stage 'exec' rejected its params: param 'timeout': -3 "
	         "is not a valid duration" },
	       /* Neither the stage nor the host said why. */
	       { "gini.conf", 10,
	         "pipeline 'p': step 'f': stage 'silent' rejected its params without saying why "
	         "(Invalid argument)" });
	ck_assert_int_eq(live, 0);
}
END_TEST

START_TEST(stage_unknown_param)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"exec\";\n"
	          /* 5 */ "        params = {\n"
	          /* 6 */ "          argv = [ \"/bin/true\" ];\n"
	          /* 7 */ "          pth = \"/tmp\";\n"
	          /* 8 */ "        }; },\n"
	          /* 9 */ "      { id = \"b\"; stage = \"exec\"; params = { colour = \"red\"; }; }\n"
	          /* 10 */ "    ); }\n"
	          /* 11 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 7,
	         "pipeline 'p': step 'a': unknown param 'pth' for stage 'exec'; did you mean "
	         "'path'?" },
	       { "gini.conf", 9,
	         "pipeline 'p': step 'b': unknown param 'colour' for stage 'exec'" });
	/* Both instances were created, and destroyed with the failed pipeline. */
	ck_assert_int_eq(live, 0);
}
END_TEST

/*
 * Every unknown param of a step is reported in one pass (regression: only
 * the first was, so an operator fixed one typo, reloaded, and met the next).
 */
START_TEST(stage_unknown_params_all_reported)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"exec\";\n"
	          /* 5 */ "        params = {\n"
	          /* 6 */ "          pth = \"/tmp\";\n"
	          /* 7 */ "          countt = 3;\n"
	          /* 8 */ "        }; }\n"
	          /* 9 */ "    ); }\n"
	          /* 10 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 6,
	         "pipeline 'p': step 'a': unknown param 'pth' for stage 'exec'; did you mean "
	         "'path'?" },
	       { "gini.conf", 7,
	         "pipeline 'p': step 'a': unknown param 'countt' for stage 'exec'; did you mean "
	         "'count'?" });
}
END_TEST

START_TEST(stage_without_create_takes_no_params)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"noop\";\n"
	          /* 5 */ "        params = {\n"
	          /* 6 */ "          verbose = true;\n"
	          /* 7 */ "        }; },\n"
	          /* 8 */ "      { id = \"b\"; stage = \"noop\"; params = { }; }\n"
	          /* 9 */ "    ); }\n"
	          /* 10 */ ");\n");
	ck_assert_int_eq(compile("p"), -EINVAL);
	expect({ "gini.conf", 6,
	         "pipeline 'p': step 'a': stage 'noop' takes no params, but 'params' sets "
	         "'verbose'" });
}
END_TEST

/* A pipeline that fails to compile leaves nothing created behind. */
START_TEST(stage_instances_destroyed_on_failure)
{
	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"bad\";\n"
	          /* 3 */ "    steps = (\n"
	          /* 4 */ "      { id = \"a\"; stage = \"exec\"; params = { count = 1; }; },\n"
	          /* 5 */ "      { id = \"b\"; stage = \"exec\"; after = [ \"a\" ]; },\n"
	          /* 6 */ "      { id = \"c\"; stage = \"noup\"; after = [ \"b\" ]; }\n"
	          /* 7 */ "    ); },\n"
	          /* 8 */ "  { name = \"good\";\n"
	          /* 9 */ "    steps = ( { id = \"a\"; stage = \"exec\"; } ); }\n"
	          /* 10 */ ");\n");
	ck_assert_int_eq(compile("bad"), -EINVAL);
	expect({ "gini.conf", 6,
	         "pipeline 'bad': step 'c': unknown stage type 'noup'; did you mean 'noop'?" });
	ck_assert_int_eq(live, 0);
	ck_assert_int_eq(compile("good"), 0);
	ck_assert_int_eq(live, 0);
}
END_TEST

/* ---- every error of a broken configuration in one pass ---- */

START_TEST(one_pass_all_errors)
{
	struct generation *g;

	plugins();
	put("pipelines.d/20-more.conf",
	    /* 1 */ "workers = 4;\n"
	    /* 2 */ "pipelines = (\n"
	    /* 3 */ "  { name = \"good\"; steps = ( { id = \"a\"; stage = \"good-a\"; } ); },\n"
	    /* 4 */ "  { name = \"params\";\n"
	    /* 5 */ "    steps = ( { id = \"a\"; stage = \"good-b\"; params = { x = 1; }; },\n"
	    /* 6 */ "              { id = \"a\"; stage = \"good-a\"; } ); },\n"
	    /* 7 */ "  { name = \"also-good\"; on_failure = \"continue\";\n"
	    /* 8 */ "    steps = ( { id = \"a\"; stage = \"good-b\"; } ); }\n"
	    /* 9 */ ");\n");
	put("pipelines.d/30-broken.conf",
	    /* 1 */ "pipelines = ( { name = \"half\"; steps = ( ; } );\n");
	put("gini.conf",
	    /* 1 */ "# A deliberately broken configuration: every problem must be reported.\n"
	    /* 2 */ "plugin_dirs = [ \"plug\" ];\n"
	    /* 3 */ "workers = 0;\n"
	    /* 4 */ "log_level = \"verbose\";\n"
	    /* 5 */ "colour = \"blue\";\n"
	    /* 6 */ "pipelines = (\n"
	    /* 7 */ "  { name = \"good\";\n"
	    /* 8 */ "    steps = ( { id = \"a\"; stage = \"good-a\"; } ); },\n"
	    /* 9 */ "  { name = \"typo\";\n"
	    /* 10 */ "    triggers = { signal = \"SIGHUP\"; schedule = \"61 * * * *\"; };\n"
	    /* 11 */ "    steps = (\n"
	    /* 12 */ "      { id = \"a\"; stage = \"good-aa\"; },\n"
	    /* 13 */ "      { id = \"b\"; stage = \"good-b\"; after = [ \"aa\" ]; }\n"
	    /* 14 */ "    ); },\n"
	    /* 15 */ "  { name = \"loop\";\n"
	    /* 16 */ "    steps = (\n"
	    /* 17 */ "      { id = \"x\"; stage = \"good-a\"; after = [ \"y\" ]; },\n"
	    /* 18 */ "      { id = \"y\"; stage = \"good-a\"; after = [ \"x\" ]; }\n"
	    /* 19 */ "    ); }\n"
	    /* 20 */ ");\n");
	g = build();
	expect({ "gini.conf", 5, "unknown key 'colour'" },
	       { "gini.conf", 3, "'workers': 0 is out of range 1-256" },
	       { "gini.conf", 4,
	         "'log_level': invalid value 'verbose' (expected error, warning, notice, info or "
	         "debug)" },
	       { "gini.conf", 10,
	         "pipeline 'typo': triggers: 'signal': SIGHUP is reserved (SIGHUP reloads, SIGTERM and "
	         "SIGINT stop); use SIGUSR1, SIGUSR2 or SIGRTMIN+N" },
	       { "gini.conf", 10,
	         fmt("pipeline 'typo': triggers: 'schedule': invalid cron expression '61 * * * *': %s",
	             cron_error("61 * * * *")) },
	       { "pipelines.d/20-more.conf", 1,
	         "key 'workers' is only allowed in the main configuration file" },
	       { "pipelines.d/30-broken.conf", 1, "syntax error" },
	       { "pipelines.d/20-more.conf", 3,
	         fmt("pipeline 'good': duplicate name; first defined at %s:7", at("gini.conf")) },
	       { "gini.conf", 13,
	         "pipeline 'typo': step 'b': 'after' names unknown step 'aa'; did you mean 'a'?" },
	       { "gini.conf", 12,
	         "pipeline 'typo': step 'a': unknown stage type 'good-aa'; did you mean 'good-a' "
	         "or 'good-b'?" },
	       { "gini.conf", 17, "pipeline 'loop': dependency cycle: x -> y -> x" },
	       { "pipelines.d/20-more.conf", 6,
	         "pipeline 'params': step 'a': duplicate step id; first defined at line 5" },
	       { "pipelines.d/20-more.conf", 5,
	         "pipeline 'params': step 'a': stage 'good-b' takes no params, but 'params' sets "
	         "'x'" });
	/* Only the pipelines without problems were compiled, the first 'good' once. */
	ck_assert_uint_eq(g->n_pipelines, 2);
	ck_assert_str_eq(g->pipelines[0]->name, "good");
	ck_assert_str_eq(g->pipelines[0]->file, at("gini.conf"));
	ck_assert_str_eq(g->pipelines[1]->name, "also-good");
	ck_assert_ptr_null(generation_find(g, "typo"));
	ck_assert_ptr_null(generation_find(g, "loop"));
	ck_assert_ptr_null(generation_find(g, "params"));
}
END_TEST

/*
 * A pipeline whose only problems are found by config.c (a bad 'overlap',
 * whose default would apply, and a bad 'retries') is not loaded: never
 * half-loaded (regression: it sat in the generation with the defaults).
 */
START_TEST(one_pass_config_errors_keep_pipeline_out)
{
	struct generation *g;

	plugins();
	put("gini.conf",
	    /* 1 */ "plugin_dirs = [ \"plug\" ];\n"
	    /* 2 */ "pipelines = (\n"
	    /* 3 */ "  { name = \"ok\"; steps = ( { id = \"a\"; stage = \"good-a\"; } ); },\n"
	    /* 4 */ "  { name = \"bad-overlap\"; overlap = \"skipp\";\n"
	    /* 5 */ "    steps = ( { id = \"a\"; stage = \"good-a\"; } ); },\n"
	    /* 6 */ "  { name = \"bad-retries\";\n"
	    /* 7 */ "    steps = ( { id = \"a\"; stage = \"good-a\"; retries = 101; } ); }\n"
	    /* 8 */ ");\n");
	g = build();
	expect({ "gini.conf", 4,
	         "pipeline 'bad-overlap': 'overlap': invalid value 'skipp'; did you mean 'skip'? "
	         "(expected skip, queue or parallel)" },
	       { "gini.conf", 7,
	         "pipeline 'bad-retries': step 'a': 'retries': 101 is out of range 0-100" });
	ck_assert_uint_eq(g->n_pipelines, 1);
	ck_assert_str_eq(g->pipelines[0]->name, "ok");
}
END_TEST

/* ---- plugin directories: an error where they are named ---- */

/* Builds a generation with --plugin-dir rel (relative to DIR). */
static struct generation *
build_with_plugin_dir(const char *rel)
{
	char *dirs[] = { (char *)at(rel), NULL };
	const struct config_overrides ov = { .plugin_dirs = dirs, .n_plugin_dirs = 1 };

	gen = generation_unref(gen);
	diags_done(&d);
	ck_assert_int_eq(generation_build(at("gini.conf"), &ov, NULL, 1, &gen, &d), 0);
	ck_assert_ptr_nonnull(gen);
	return gen;
}

#define NO_GOOD_A                                                                                  \
	"pipeline 'p': step 'a': unknown stage type 'good-a' (0 stage types are registered; "      \
	"`ginid -t` lists them)"
#define GOOD_A_PIPELINE                                                                            \
	"pipelines = ( { name = \"p\"; steps = ( { id = \"a\"; stage = \"good-a\"; } ); } );\n"

START_TEST(plugin_dir_missing_or_not_a_directory)
{
	struct generation *g;

	plugins();
	put("file.txt", "not a directory\n");
	put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	                 /* 2 */ "plugin_dirs = [ \"plug\", \"nowhere\", \"file.txt\" ];\n"
	                 /* 3 */ GOOD_A_PIPELINE);
	g = build();
	expect({ "gini.conf", 2,
	         fmt("plugin directory %s: No such file or directory", at("nowhere")) },
	       { "gini.conf", 2, fmt("plugin directory %s: Not a directory", at("file.txt")) });
	/* The directory that exists was still scanned, and nothing warned twice. */
	ck_assert_uint_eq(registry_count(g->registry), 2);
	ck_assert_uint_eq(g->n_pipelines, 1);
	ck_assert_ptr_null(test_log_find("cannot scan"));
}
END_TEST

/* A directory the daemon's user cannot list (as root: checked as nobody). */
START_TEST(plugin_dir_unreadable)
{
	uid_t euid = geteuid();

	plugins();
	make_dir("locked");
	ck_assert_int_eq(chmod(at("locked"), 0700), 0);
	if (euid != 0)
		ck_assert_int_eq(chmod(at("locked"), 0), 0);
	put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	                 /* 2 */ "plugin_dirs = [ \"plug\",\n"
	                 /* 3 */ "                \"locked\" ];\n"
	                 /* 4 */ GOOD_A_PIPELINE);
	if (euid == 0)
		ck_assert_int_eq(seteuid(65534), 0);
	build();
	if (euid == 0)
		ck_assert_int_eq(seteuid(0), 0);
	expect({ "gini.conf", 2, fmt("plugin directory %s: Permission denied", at("locked")) });
}
END_TEST

START_TEST(plugin_dir_from_command_line)
{
	put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	                 /* 2 */ GOOD_A_PIPELINE);
	build_with_plugin_dir("nowhere");
	/* Not tied to a line of the file: said to come from the command line. */
	expect({ NULL, 0,
	         fmt("plugin directory %s: No such file or directory (--plugin-dir)",
	             at("nowhere")) },
	       { "gini.conf", 2, NO_GOOD_A });
}
END_TEST

START_TEST(plugin_dir_default_missing)
{
	if (access(GINI_STAGE_DIR, F_OK) == 0) {
		fprintf(stderr, "plugin_dir_default_missing: %s exists here, not checked\n",
		        GINI_STAGE_DIR);
		return;
	}
	put("gini.conf", "probe_plugins = false;\n");
	build();
	expect({ "gini.conf", 0,
	         fmt("plugin directory %s: No such file or directory (the default plugin_dirs)",
	             GINI_STAGE_DIR) });
}
END_TEST

/* Pipelines and not one stage type: an error, not a quiet daemon. */
START_TEST(no_stage_types_with_pipelines)
{
	make_dir("empty");
	put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	                 /* 2 */ "plugin_dirs = [ \"empty\" ];\n"
	                 /* 3 */ GOOD_A_PIPELINE);
	build();
	expect({ "gini.conf", 2,
	         "no stage types loaded from the plugin directories (they hold no plugin file); "
	         "no pipeline can run" },
	       { "gini.conf", 3, NO_GOOD_A });
	/* Without pipelines, an empty directory is a fresh installation: fine. */
	put("gini.conf", "plugin_dirs = [ \"empty\" ];\n");
	build();
	expect_none();
}
END_TEST

/* Refused files stay warnings, unless nothing at all was loaded. */
START_TEST(refused_plugins_stay_warnings)
{
	plugins();
	test_copy_file(test_build_path("tests/plugins/good_b.so"), at("plug/loose.so"), 0775);
	put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	                 /* 2 */ "plugin_dirs = [ \"plug\" ];\n"
	                 /* 3 */ GOOD_A_PIPELINE);
	build();
	expect_none();
	ck_assert_uint_eq(gen->report.n_refusals, 1);
	ck_assert_ptr_nonnull(test_log_find("loose.so: refused: "));
	/* Every file refused: the reason is above, the error says so. */
	ck_assert_int_eq(chmod(at("plug/good_a.so"), 0775), 0);
	ck_assert_int_eq(chmod(at("plug/good_b.so"), 0775), 0);
	build();
	expect({ "gini.conf", 2,
	         "no stage types loaded from the plugin directories (every plugin file was "
	         "refused, see above); no pipeline can run" },
	       { "gini.conf", 3, NO_GOOD_A });
	ck_assert_uint_eq(gen->report.n_refusals, 3);
}
END_TEST

/* ---- relative paths ---- */

static const char *const paths_conf = /* 1 */ "plugin_dirs = [ \"stages\", \"/opt/gini/stages\" ];\n"
                                      /* 2 */ "include_dirs = [ \"conf.d\", \"../shared\" ];\n"
                                      /* 3 */ "state_dir = \"state\";\n"
                                      /* 4 */ "control_socket = \"run/ginid.sock\";\n";

START_TEST(paths_relative_to_their_file)
{
	put("etc/gini.conf", paths_conf);
	make_dir("etc/conf.d");
	make_dir("shared");
	put("shared/x.conf", "pipelines = ( { name = \"shared\"; " STEPS " } );\n");
	load("etc/gini.conf");
	expect_none();
	ck_assert_uint_eq(cfg->n_plugin_dirs, 2);
	ck_assert_str_eq(cfg->plugin_dirs[0], at("etc/stages"));
	ck_assert_str_eq(cfg->plugin_dirs[1], "/opt/gini/stages");
	ck_assert_ptr_null(cfg->plugin_dirs[2]);
	ck_assert_uint_eq(cfg->n_include_dirs, 2);
	ck_assert_str_eq(cfg->include_dirs[0], at("etc/conf.d"));
	ck_assert_str_eq(cfg->include_dirs[1], at("etc/../shared"));
	ck_assert_str_eq(cfg->state_dir, at("etc/state"));
	ck_assert_str_eq(cfg->control_socket, at("etc/run/ginid.sock"));
	ck_assert_uint_eq(cfg->n_pipelines, 1);
	ck_assert_str_eq(cfg->pipelines[0].file, at("etc/../shared/x.conf"));

	/* A single string is a list of one. */
	load_main("plugin_dirs = \"mine\";\n");
	expect_none();
	ck_assert_uint_eq(cfg->n_plugin_dirs, 1);
	ck_assert_str_eq(cfg->plugin_dirs[0], at("mine"));
}
END_TEST

/* A main file named relative to the working directory keeps its paths so. */
START_TEST(paths_relative_main_file)
{
	char cwd[PATH_MAX];

	put("etc/gini.conf", paths_conf);
	make_dir("etc/conf.d");
	make_dir("shared");
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	cfg = config_free(cfg);
	ck_assert_int_eq(config_load("etc/gini.conf", NULL, &cfg, &d), 0);
	expect_none();
	ck_assert_str_eq(cfg->plugin_dirs[0], "etc/stages");
	ck_assert_str_eq(cfg->include_dirs[0], "etc/conf.d");
	ck_assert_str_eq(cfg->include_dirs[1], "etc/../shared");
	ck_assert_str_eq(cfg->state_dir, "etc/state");
	ck_assert_str_eq(cfg->control_socket, "etc/run/ginid.sock");
	cfg = config_free(cfg);
	test_write_file("bare.conf", "workers = 1;\n", 0644);
	ck_assert_int_eq(config_load("bare.conf", NULL, &cfg, &d), 0);
	expect_none();
	ck_assert_str_eq(cfg->include_dirs[0], "./pipelines.d");
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/*
 * An empty string in plugin_dirs or include_dirs is reported (regression:
 * it was resolved to the file's own directory first, so gini.conf was read
 * again as an include).
 */
START_TEST(paths_empty)
{
	load_main(/* 1 */ "plugin_dirs = [ \"\" ];\n"
	          /* 2 */ "include_dirs = [ \"\" ];\n"
	          /* 3 */ "state_dir = \"\";\n"
	          /* 4 */ "control_socket = \"\";\n");
	expect({ "gini.conf", 1, "'plugin_dirs': empty path" },
	       { "gini.conf", 2, "'include_dirs': empty path" },
	       { "gini.conf", 4, "'control_socket': empty path" },
	       { "gini.conf", 3, "'state_dir': empty path" });
}
END_TEST

/* ---- include directories ---- */

START_TEST(include_sorted_order)
{
	put("b.d/2-second.conf", "pipelines = ( { name = \"b2\"; " STEPS " } );\n");
	put("b.d/10-first.conf", "pipelines = ( { name = \"b10\"; " STEPS " } );\n");
	put("b.d/Z.conf", "pipelines = ( { name = \"bZ\"; " STEPS " } );\n");
	/* Not *.conf, or hidden: never read (they would not parse). */
	put("b.d/x.conf.bak", "garbage {\n");
	put("b.d/.hidden.conf", "garbage {\n");
	put("b.d/notes.txt", "garbage {\n");
	put("a.d/a.conf", "pipelines = ( { name = \"a1\"; " STEPS " } );\n");
	load_main(/* 1 */ "include_dirs = [ \"b.d\", \"a.d\" ];\n"
	          /* 2 */ "pipelines = ( { name = \"main\"; " STEPS " } );\n");
	expect_none();
	ck_assert_uint_eq(cfg->n_pipelines, 5);
	ck_assert_str_eq(cfg->pipelines[0].name, "main");
	ck_assert_str_eq(cfg->pipelines[1].name, "b10");
	ck_assert_str_eq(cfg->pipelines[2].name, "b2");
	ck_assert_str_eq(cfg->pipelines[3].name, "bZ");
	ck_assert_str_eq(cfg->pipelines[4].name, "a1");
	ck_assert_str_eq(cfg->pipelines[3].file, at("b.d/Z.conf"));
	ck_assert_uint_eq(cfg->n_files, 5);
	ck_assert_str_eq(cfg->files[0], at("gini.conf"));
	ck_assert_str_eq(cfg->files[1], at("b.d/10-first.conf"));
	ck_assert_str_eq(cfg->files[2], at("b.d/2-second.conf"));
	ck_assert_str_eq(cfg->files[3], at("b.d/Z.conf"));
	ck_assert_str_eq(cfg->files[4], at("a.d/a.conf"));
}
END_TEST

START_TEST(include_default_beside_main)
{
	put("etc/pipelines.d/x.conf", "pipelines = ( { name = \"x\"; " STEPS " } );\n");
	put("pipelines.d/y.conf", "pipelines = ( { name = \"wrong\"; " STEPS " } );\n");
	put("etc/gini.conf", "workers = 1;\n");
	load("etc/gini.conf");
	expect_none();
	ck_assert_uint_eq(cfg->n_include_dirs, 1);
	ck_assert_str_eq(cfg->include_dirs[0], at("etc/pipelines.d"));
	ck_assert_uint_eq(cfg->n_pipelines, 1);
	ck_assert_str_eq(cfg->pipelines[0].name, "x");
	ck_assert_str_eq(cfg->pipelines[0].file, at("etc/pipelines.d/x.conf"));
}
END_TEST

START_TEST(include_dirs_empty_list)
{
	put("pipelines.d/x.conf", "pipelines = ( { name = \"x\"; " STEPS " } );\n");
	load_main("include_dirs = [];\n");
	expect_none();
	ck_assert_uint_eq(cfg->n_include_dirs, 0);
	ck_assert_uint_eq(cfg->n_pipelines, 0);
	ck_assert_uint_eq(cfg->n_files, 1);
}
END_TEST

/* ---- overrides ---- */

START_TEST(overrides_win)
{
	char *const dirs[] = { "/o/one", "o/two" };
	struct config_overrides ov = {
		.plugin_dirs = dirs,
		.n_plugin_dirs = 2,
		.control_socket = "/o/ginid.sock",
		.state_dir = "/o/state",
	};

	put("etc/gini.conf", paths_conf);
	make_dir("etc/conf.d");
	make_dir("shared");
	load_ov("etc/gini.conf", &ov);
	expect_none();
	/* As given on the command line: relative to the working directory. */
	ck_assert_uint_eq(cfg->n_plugin_dirs, 2);
	ck_assert_str_eq(cfg->plugin_dirs[0], "/o/one");
	ck_assert_str_eq(cfg->plugin_dirs[1], "o/two");
	ck_assert_ptr_null(cfg->plugin_dirs[2]);
	ck_assert_str_eq(cfg->control_socket, "/o/ginid.sock");
	ck_assert_str_eq(cfg->state_dir, "/o/state");
	/* What has no override stays as the file said. */
	ck_assert_str_eq(cfg->include_dirs[0], at("etc/conf.d"));
}
END_TEST

START_TEST(overrides_partial)
{
	struct config_overrides ov = { .state_dir = "/o/state" };

	put("etc/gini.conf", paths_conf);
	make_dir("etc/conf.d");
	make_dir("shared");
	load_ov("etc/gini.conf", &ov);
	expect_none();
	ck_assert_str_eq(cfg->state_dir, "/o/state");
	ck_assert_str_eq(cfg->plugin_dirs[0], at("etc/stages"));
	ck_assert_str_eq(cfg->control_socket, at("etc/run/ginid.sock"));
}
END_TEST

/* ---- defaults ---- */

START_TEST(defaults)
{
	load_main("# everything defaulted\n");
	expect_none();
	ck_assert_str_eq(cfg->file, at("gini.conf"));
	ck_assert_uint_eq(cfg->workers, (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1));
	ck_assert_int_eq(cfg->log_level, LOG_INFO);
	ck_assert_uint_eq(cfg->shutdown_timeout_usec, 30 * USEC_PER_SEC);
	ck_assert_str_eq(cfg->control_socket, "/run/gini/ginid.sock");
	ck_assert_str_eq(cfg->state_dir, "/var/lib/gini");
	ck_assert_ptr_null(cfg->control_group);
	ck_assert_ptr_null(cfg->control_readonly_group);
	ck_assert_uint_eq(cfg->n_plugin_dirs, 1);
#ifdef GINI_STAGE_DIR
	ck_assert_str_eq(cfg->plugin_dirs[0], GINI_STAGE_DIR);
#endif
	ck_assert_uint_eq(cfg->n_include_dirs, 1);
	ck_assert_str_eq(cfg->include_dirs[0], at("pipelines.d"));
	ck_assert_uint_eq(cfg->n_files, 1);
	ck_assert_uint_eq(cfg->n_pipelines, 0);
}
END_TEST

/* From text, the default include directory is beside dir, not the name. */
START_TEST(defaults_from_string)
{
	put("pipelines.d/x.conf", "pipelines = ( { name = \"x\"; " STEPS " } );\n");
	ck_assert_int_eq(config_load_string("pipelines = ( { name = \"p\"; " STEPS " } );\n",
	                                    "text.conf", dir, NULL, &cfg, &d),
	                 0);
	expect_none();
	ck_assert_str_eq(cfg->file, "text.conf");
	ck_assert_str_eq(cfg->include_dirs[0], at("pipelines.d"));
	ck_assert_uint_eq(cfg->n_pipelines, 2);
	ck_assert_str_eq(cfg->pipelines[0].file, "text.conf");
	ck_assert_str_eq(cfg->pipelines[1].name, "x");
	cfg = config_free(cfg);
	ck_assert_int_eq(config_load_string("log_level = ;\n", "text.conf", dir, NULL, &cfg, &d),
	                 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.v[0].file, "text.conf");
	ck_assert_int_eq(d.v[0].line, 1);
	ck_assert_str_eq(d.v[0].msg, "syntax error");
	diags_done(&d);
}
END_TEST

START_TEST(defaults_pipeline_and_step)
{
	const struct pipeline_def *p;
	const struct step_def *s;

	load_main(/* 1 */ "pipelines = (\n"
	          /* 2 */ "  { name = \"p\";\n"
	          /* 3 */ "    steps = ( { id = \"a\"; stage = \"noop\"; } ); }\n"
	          /* 4 */ ");\n");
	expect_none();
	p = def("p");
	ck_assert_str_eq(p->description, "");
	ck_assert_int_eq(p->overlap, OVERLAP_SKIP);
	ck_assert_int_eq(p->on_failure, ON_FAILURE_STOP);
	ck_assert_uint_eq(p->max_parallel, 4);
	ck_assert_uint_eq(p->triggers.n_signals, 0);
	ck_assert_uint_eq(p->triggers.every_usec, 0);
	ck_assert_ptr_null(p->triggers.schedule);
	ck_assert(!p->triggers.on_start);
	ck_assert(!p->triggers.persistent);
	ck_assert_uint_eq(p->n_steps, 1);
	s = &p->steps[0];
	ck_assert(s->enabled);
	ck_assert_uint_eq(s->retries, 0);
	ck_assert_uint_eq(s->retry_backoff_usec, USEC_PER_SEC);
	ck_assert_uint_eq(s->timeout_usec, 0);
	ck_assert_uint_eq(s->n_after, 0);
	ck_assert_ptr_nonnull(s->after);
	ck_assert_ptr_null(s->after[0]);
	ck_assert_int_eq(s->line, 3);
	ck_assert_int_eq(s->params_line, 3);
}
END_TEST

/* ---- a valid configuration, value by value ---- */

START_TEST(valid_config)
{
	struct pipeline *cp = NULL;
	const struct pipeline_def *p;
	const struct step_def *s;

	load_main(/* 1 */ "plugin_dirs = [ \"/usr/lib/gini/stages\" ];\n"
	          /* 2 */ "control_socket = \"/run/gini/test.sock\";\n"
	          /* 3 */ "control_group = \"root\";\n"
	          /* 4 */ "control_readonly_group = \"adm\";\n"
	          /* 5 */ "state_dir = \"/var/lib/gini-test\";\n"
	          /* 6 */ "workers = 3;\n"
	          /* 7 */ "log_level = \"debug\";\n"
	          /* 8 */ "shutdown_timeout = \"1m30s\";\n"
	          /* 9 */ "pipelines = (\n"
	          /* 10 */ "  {\n"
	          /* 11 */ "    name = \"nightly-backup\";\n"
	          /* 12 */ "    description = \"Snapshot, then upload\";\n"
	          /* 13 */ "    triggers = {\n"
	          /* 14 */ "      schedule = \"0 2 * * 1-5\";\n"
	          /* 15 */ "      signal = [ \"SIGUSR1\", \"SIGRTMIN+3\" ];\n"
	          /* 16 */ "      every = \"1h30m\";\n"
	          /* 17 */ "      on_start = true;\n"
	          /* 18 */ "      persistent = true;\n"
	          /* 19 */ "    };\n"
	          /* 20 */ "    overlap = \"queue\";\n"
	          /* 21 */ "    max_parallel = 8;\n"
	          /* 22 */ "    on_failure = \"continue\";\n"
	          /* 23 */ "    steps = (\n"
	          /* 24 */ "      { id = \"snap\"; stage = \"exec\";\n"
	          /* 25 */ "        params = { argv = [ \"/usr/local/bin/snap\" ]; count = 2; };\n"
	          /* 26 */ "        timeout = \"10m\"; },\n"
	          /* 27 */ "      { id = \"upload\"; stage = \"exec\"; after = [ \"snap\" ];\n"
	          /* 28 */ "        retries = 3; retry_backoff = \"250ms\";\n"
	          /* 29 */ "        params = { argv = [ \"/usr/local/bin/upload\" ]; verbose = true; }; },\n"
	          /* 30 */ "      { id = \"notify\"; stage = \"noop\"; after = \"upload\"; enabled = false;\n"
	          /* 31 */ "        timeout = 45; },\n"
	          /* 32 */ "      { id = \"cleanup\"; stage = \"noop\"; after = [ \"snap\", \"upload\" ]; }\n"
	          /* 33 */ "    );\n"
	          /* 34 */ "  },\n"
	          /* 35 */ "  { name = \"plain\"; steps = ( { id = \"only\"; stage = \"noop\"; } ); }\n"
	          /* 36 */ ");\n");
	expect_none();

	ck_assert_uint_eq(cfg->n_plugin_dirs, 1);
	ck_assert_str_eq(cfg->plugin_dirs[0], "/usr/lib/gini/stages");
	ck_assert_str_eq(cfg->control_socket, "/run/gini/test.sock");
	ck_assert_str_eq(cfg->control_group, "root");
	ck_assert_str_eq(cfg->control_readonly_group, "adm");
	ck_assert_str_eq(cfg->state_dir, "/var/lib/gini-test");
	ck_assert_uint_eq(cfg->workers, 3);
	ck_assert_int_eq(cfg->log_level, LOG_DEBUG);
	ck_assert_uint_eq(cfg->shutdown_timeout_usec, 90 * USEC_PER_SEC);
	ck_assert_uint_eq(cfg->n_pipelines, 2);

	p = &cfg->pipelines[0];
	ck_assert_str_eq(p->name, "nightly-backup");
	ck_assert_str_eq(p->description, "Snapshot, then upload");
	ck_assert_str_eq(p->file, at("gini.conf"));
	ck_assert_int_eq(p->line, 10);
	ck_assert_int_eq(p->triggers.line, 13);
	ck_assert_str_eq(p->triggers.schedule, "0 2 * * 1-5");
	ck_assert_uint_eq(p->triggers.cron.minute, 1);
	ck_assert_uint_eq(p->triggers.cron.hour, 1u << 2);
	ck_assert_uint_eq(p->triggers.cron.dow, 0x3e);
	ck_assert_uint_eq(p->triggers.n_signals, 2);
	ck_assert_int_eq(p->triggers.signals[0], SIGUSR1);
	ck_assert_int_eq(p->triggers.signals[1], SIGRTMIN + 3);
	ck_assert_uint_eq(p->triggers.every_usec, 90 * USEC_PER_MINUTE);
	ck_assert(p->triggers.on_start);
	ck_assert(p->triggers.persistent);
	ck_assert_int_eq(p->overlap, OVERLAP_QUEUE);
	ck_assert_uint_eq(p->max_parallel, 8);
	ck_assert_int_eq(p->on_failure, ON_FAILURE_CONTINUE);
	ck_assert_uint_eq(p->n_steps, 4);

	s = &p->steps[0];
	ck_assert_str_eq(s->id, "snap");
	ck_assert_str_eq(s->stage, "exec");
	ck_assert_int_eq(s->line, 24);
	ck_assert_int_eq(s->params_line, 25);
	ck_assert_str_eq(s->file, at("gini.conf"));
	ck_assert_uint_eq(s->timeout_usec, 10 * USEC_PER_MINUTE);
	ck_assert_uint_eq(s->n_after, 0);
	ck_assert_uint_eq(s->params->n, 2);
	ck_assert_str_eq(s->params->v[0].name, "argv");
	ck_assert_int_eq(s->params->v[0].type, PARAM_STRV);
	ck_assert_str_eq(s->params->v[0].strv[0], "/usr/local/bin/snap");
	ck_assert_str_eq(s->params->v[1].name, "count");
	ck_assert_int_eq(s->params->v[1].type, PARAM_INT);
	ck_assert_int_eq(s->params->v[1].i, 2);
	ck_assert_int_eq(s->params->v[1].line, 25);

	s = &p->steps[1];
	ck_assert_str_eq(s->id, "upload");
	ck_assert_uint_eq(s->n_after, 1);
	ck_assert_str_eq(s->after[0], "snap");
	ck_assert_ptr_null(s->after[1]);
	ck_assert_uint_eq(s->retries, 3);
	ck_assert_uint_eq(s->retry_backoff_usec, 250 * USEC_PER_MSEC);
	ck_assert(s->enabled);
	ck_assert_int_eq(s->params_line, 29);

	s = &p->steps[2];
	ck_assert_str_eq(s->id, "notify");
	ck_assert_uint_eq(s->n_after, 1);
	ck_assert_str_eq(s->after[0], "upload");
	ck_assert(!s->enabled);
	ck_assert_uint_eq(s->timeout_usec, 45 * USEC_PER_SEC);

	s = &p->steps[3];
	ck_assert_uint_eq(s->n_after, 2);
	ck_assert_str_eq(s->after[0], "snap");
	ck_assert_str_eq(s->after[1], "upload");

	ck_assert_str_eq(cfg->pipelines[1].name, "plain");
	ck_assert_int_eq(cfg->pipelines[1].line, 35);

	/* And it compiles: the DAG as written, the disabled step left unbound. */
	ck_assert_int_eq(pipeline_compile(&cfg->pipelines[0], reg, &cp, &d), 0);
	expect_none();
	ck_assert_int_eq(live, 2);
	ck_assert_uint_eq(cp->n_steps, 4);
	ck_assert_uint_eq(cp->steps[1].n_pred, 1);
	ck_assert_uint_eq(cp->steps[1].pred[0], 0);
	ck_assert_uint_eq(cp->steps[3].n_pred, 2);
	ck_assert_uint_eq(cp->steps[0].n_succ, 2);
	ck_assert_ptr_null(cp->steps[2].type);
	ck_assert_ptr_nonnull(cp->steps[3].type);
	ck_assert_uint_eq(cp->steps[1].retries, 3);
	ck_assert_uint_eq(cp->steps[0].timeout_usec, 10 * USEC_PER_MINUTE);
	ck_assert_uint_eq(cp->n_levels, 3);
	ck_assert_uint_eq(cp->order[0], 0);
	pipeline_free(cp);
	ck_assert_int_eq(live, 0);
	ck_assert_int_eq(compile("plain"), 0);
	expect_none();
}
END_TEST

/* ---- the suite ---- */

static TCase *
tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}


/*
 * Regression (fuzz_config): "pipelines = ();" in two files made the second
 * read call realloc(v, 0), which freed the list and left it dangling: a
 * double free in config_free(). In memory, through config_load_texts().
 */
START_TEST(empty_pipeline_lists_in_two_files)
{
	const struct config_text main_file = { "/m/gini.conf", "pipelines = ();\n" };
	const struct config_text inc[] = {
		{ "/m/pipelines.d/a.conf", "pipelines = ();\n" },
		{ "/m/pipelines.d/b.conf", "pipelines = ( { name = \"p\"; " STEPS " } );\n" },
	};

	ck_assert_int_eq(config_load_texts(&main_file, inc, 2, NULL, &cfg, &d), 0);
	expect_none();
	ck_assert_uint_eq(cfg->n_files, 3);
	ck_assert_uint_eq(cfg->n_pipelines, 1);
	ck_assert_str_eq(cfg->pipelines[0].file, "/m/pipelines.d/b.conf");
	cfg = config_free(cfg);
	/* Also with nothing at all. */
	ck_assert_int_eq(config_load_texts(&main_file, inc, 1, NULL, &cfg, &d), 0);
	expect_none();
	ck_assert_uint_eq(cfg->n_pipelines, 0);
}
END_TEST

/*
 * Regression (fuzz_config): a string with a newline went into a message as
 * it was, splitting one diagnostic over two lines (the second one could
 * pass for a diagnostic of another file). Control characters are escaped.
 */
START_TEST(control_characters_escaped)
{
	load_main("log_level = \"a\\nfake.conf:1: forged\";\n"
	          "pipelines = ( { name = \"p\"; overlap = \"x\\ty\\x01\"; " STEPS " } );\n");
	expect({ "gini.conf", 1,
	         "'log_level': invalid value 'a\\nfake.conf:1: forged' (expected error, warning, "
	         "notice, info or debug)" },
	       { "gini.conf", 2,
	         "pipeline 'p': 'overlap': invalid value 'x\\ty\\x01' (expected skip, queue or "
	         "parallel)" });
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase(s, "syntax");
	tcase_add_test(tc, syntax_error_main);
	tcase_add_test(tc, syntax_error_unclosed_list);
	tcase_add_test(tc, syntax_error_duplicate_setting);
	tcase_add_test(tc, syntax_error_mixed_array);
	tcase_add_test(tc, syntax_error_include);
	tcase_add_test(tc, syntax_at_include_names_the_included_file);

	tc = tcase(s, "files");
	tcase_add_test(tc, missing_main_file);
	tcase_add_test(tc, main_file_is_a_directory);
	tcase_add_test(tc, include_dir_configured_unreadable);
	tcase_add_test(tc, include_dir_default_missing_is_fine);
	tcase_add_test(tc, include_entry_unreadable);
	tcase_add_test(tc, include_entry_fifo);
	tcase_add_test(tc, main_file_fifo);
	tcase_add_test(tc, include_entry_device);
	tcase_add_test(tc, at_include_fifo_and_device);
	tcase_add_test(tc, nul_byte);
	tcase_add_test(tc, at_include_lines_and_paths);

	tc = tcase(s, "plugin_dirs");
	tcase_add_test(tc, plugin_dir_missing_or_not_a_directory);
	tcase_add_test(tc, plugin_dir_unreadable);
	tcase_add_test(tc, plugin_dir_from_command_line);
	tcase_add_test(tc, plugin_dir_default_missing);
	tcase_add_test(tc, no_stage_types_with_pipelines);
	tcase_add_test(tc, refused_plugins_stay_warnings);

	tc = tcase(s, "unknown_keys");
	tcase_add_test(tc, unknown_key_top_level);
	tcase_add_test(tc, unknown_key_pipeline);
	tcase_add_test(tc, unknown_key_triggers);
	tcase_add_test(tc, unknown_key_step);
	tcase_add_test(tc, main_only_keys_in_include);

	tc = tcase(s, "types");
	tcase_add_test(tc, type_string);
	tcase_add_test(tc, type_int);
	tcase_add_test(tc, type_bool);
	tcase_add_test(tc, type_duration);
	tcase_add_test(tc, type_list);
	tcase_add_test(tc, type_group);
	tcase_add_test(tc, type_param_values);

	tc = tcase(s, "ranges");
	tcase_add_test(tc, range_out);
	tcase_add_test(tc, range_limits_accepted);

	tc = tcase(s, "durations");
	tcase_add_test(tc, duration_invalid);
	tcase_add_test(tc, duration_valid);

	tc = tcase(s, "params");
	tcase_add_test(tc, params_invalid);
	tcase_add_test(tc, params_valid);
	tcase_add_test(tc, params_of_a_run);

	tc = tcase(s, "log_level");
	tcase_add_test(tc, log_level_invalid);
	tcase_add_test(tc, log_level_values);

	tc = tcase(s, "enums");
	tcase_add_test(tc, enum_invalid);
	tcase_add_test(tc, enum_values);

	tc = tcase(s, "signals");
	tcase_add_test(tc, signal_reserved_and_invalid);
	tcase_add_test(tc, signal_too_many);
	tcase_add_test(tc, signal_valid);

	tc = tcase(s, "schedule");
	tcase_add_test(tc, schedule_invalid);
	tcase_add_test(tc, schedule_valid);

	tc = tcase(s, "every");
	tcase_add_test(tc, every_minimum);

	tc = tcase(s, "history");
	tcase_add_test(tc, history_keys);

	tc = tcase(s, "persistent");
	tcase_add_test(tc, persistent_needs_schedule);

	tc = tcase(s, "pipelines");
	tcase_add_test(tc, pipeline_names);
	tcase_add_test(tc, pipeline_steps_missing_empty_or_not_a_list);
	tcase_add_test(tc, pipeline_duplicate_names);
	tcase_add_test(tc, pipeline_not_groups_are_not_duplicates);

	tc = tcase(s, "steps");
	tcase_add_test(tc, step_id_and_stage);
	tcase_add_test(tc, step_not_a_group);
	tcase_add_test(tc, step_duplicate_id);

	tc = tcase(s, "after");
	tcase_add_test(tc, after_unknown_step);

	tc = tcase(s, "cycles");
	tcase_add_test(tc, cycle_three);
	tcase_add_test(tc, cycle_two_independent);
	tcase_add_test(tc, cycle_self);

	tc = tcase(s, "stages");
	tcase_add_test(tc, stage_unknown);
	tcase_add_test(tc, stage_unknown_substring_suggested_once);
	tcase_add_test(tc, stage_rejects_params);
	tcase_add_test(tc, stage_rejects_params_typo_suggested);
	tcase_add_test(tc, stage_param_wrong_type);
	tcase_add_test(tc, stage_unknown_param);
	tcase_add_test(tc, stage_unknown_params_all_reported);
	tcase_add_test(tc, stage_without_create_takes_no_params);
	tcase_add_test(tc, stage_instances_destroyed_on_failure);

	tc = tcase(s, "one_pass");
	tcase_add_test(tc, one_pass_all_errors);
	tcase_add_test(tc, one_pass_config_errors_keep_pipeline_out);

	tc = tcase(s, "paths");
	tcase_add_test(tc, paths_relative_to_their_file);
	tcase_add_test(tc, paths_relative_main_file);
	tcase_add_test(tc, paths_empty);

	tc = tcase(s, "includes");
	tcase_add_test(tc, include_sorted_order);
	tcase_add_test(tc, include_default_beside_main);
	tcase_add_test(tc, include_dirs_empty_list);

	tc = tcase(s, "overrides");
	tcase_add_test(tc, overrides_win);
	tcase_add_test(tc, overrides_partial);

	tc = tcase(s, "defaults");
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, defaults_from_string);
	tcase_add_test(tc, defaults_pipeline_and_step);

	tc = tcase(s, "valid");
	tcase_add_test(tc, valid_config);

	tc = tcase(s, "fuzz regressions");
	tcase_add_test(tc, empty_pipeline_lists_in_two_files);
	tcase_add_test(tc, control_characters_escaped);

	return s;
}
/* clang-format on */
