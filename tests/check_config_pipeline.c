/* SPDX-License-Identifier: MIT */
/*
 * Pipelines and the pipeline compiler (pipeline.c) and generation builder
 * (generation.c), through their diagnostics: pipeline names, stage binding
 * with the instances it creates, every error of a broken configuration in
 * one pass, and plugin directories. The pure "this file gives these
 * diagnostics" cases are data in tests/configs/invalid/. Fixture:
 * config_test.h.
 */
#include "config_test.h"

#include "cron.h"
#include "log.h"
#include "params.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	ct_load_main(/* 1 */ "pipelines = (\n"
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
	ck_assert_str_eq(ct_cfg->pipelines[0].name, "#1");
	ck_assert_str_eq(ct_cfg->pipelines[2].name, "#3");
	ck_assert_str_eq(ct_cfg->pipelines[4].name, NAME64);
}
END_TEST

START_TEST(pipeline_duplicate_names)
{
	ct_put("pipelines.d/10-more.conf", /* 1 */ "# more pipelines\n"
	                                           /* 2 */ "pipelines = (\n"
	                                           /* 3 */ "  { name = \"x\"; " STEPS " },\n"
	                                           /* 4 */ "  { name = \"backup\"; " STEPS " }\n"
	                                           /* 5 */ ");\n");
	ct_load_main(/* 1 */ "pipelines = (\n"
	                     /* 2 */ "  { name = \"backup\"; " STEPS " },\n"
	                     /* 3 */ "  { name = \"other\"; " STEPS " },\n"
	                     /* 4 */ "  { name = \"other\"; " STEPS " }\n"
	                     /* 5 */ ");\n");
	expect({ "gini.conf", 4,
	         ct_fmt("pipeline 'other': duplicate name; first defined at %s:3",
	                ct_at("gini.conf")) },
	       { "pipelines.d/10-more.conf", 4,
	         ct_fmt("pipeline 'backup': duplicate name; first defined at %s:2",
	                ct_at("gini.conf")) });
}
END_TEST

/* ---- stage binding ---- */

/* A pipeline that fails to compile leaves nothing created behind. */
START_TEST(stage_instances_destroyed_on_failure)
{
	ct_load_main(/* 1 */ "pipelines = (\n"
	                     /* 2 */ "  { name = \"bad\";\n"
	                     /* 3 */ "    steps = (\n"
	                     /* 4 */ "      { id = \"a\"; stage = \"exec\"; params = { count = 1; "
	                     "}; },\n"
	                     /* 5 */ "      { id = \"b\"; stage = \"exec\"; after = [ \"a\" ]; },\n"
	                     /* 6 */ "      { id = \"c\"; stage = \"noup\"; after = [ \"b\" ]; }\n"
	                     /* 7 */ "    ); },\n"
	                     /* 8 */ "  { name = \"good\";\n"
	                     /* 9 */ "    steps = ( { id = \"a\"; stage = \"exec\"; } ); }\n"
	                     /* 10 */ ");\n");
	ck_assert_int_eq(ct_compile("bad"), -EINVAL);
	expect({ "gini.conf", 6,
	         "pipeline 'bad': step 'c': unknown stage type 'noup'; did you mean 'noop'?" });
	ck_assert_int_eq(ct_live, 0);
	ck_assert_int_eq(ct_compile("good"), 0);
	ck_assert_int_eq(ct_live, 0);
}
END_TEST

/* ---- every error of a broken configuration in one pass ---- */

START_TEST(one_pass_all_errors)
{
	struct generation *g;

	ct_plugins();
	ct_put("pipelines.d/20-more.conf",
	       /* 1 */
	       "workers = 4;\n"
	       /* 2 */ "pipelines = (\n"
	       /* 3 */ "  { name = \"good\"; steps = ( { id = \"a\"; stage = \"good-a\"; } ); },\n"
	       /* 4 */ "  { name = \"params\";\n"
	       /* 5 */ "    steps = ( { id = \"a\"; stage = \"good-b\"; params = { x = 1; }; },\n"
	       /* 6 */ "              { id = \"a\"; stage = \"good-a\"; } ); },\n"
	       /* 7 */ "  { name = \"also-good\"; on_failure = \"continue\";\n"
	       /* 8 */ "    steps = ( { id = \"a\"; stage = \"good-b\"; } ); }\n"
	       /* 9 */ ");\n");
	ct_put("pipelines.d/30-broken.conf",
	       /* 1 */ "pipelines = ( { name = \"half\"; steps = ( ; } );\n");
	ct_put("gini.conf",
	       /* 1 */ "# A deliberately broken configuration: every problem must be reported.\n"
	               /* 2 */ "plugin_dirs = [ \"plug\" ];\n"
	               /* 3 */ "workers = 0;\n"
	               /* 4 */ "log_level = \"verbose\";\n"
	               /* 5 */ "colour = \"blue\";\n"
	               /* 6 */ "pipelines = (\n"
	               /* 7 */ "  { name = \"good\";\n"
	               /* 8 */ "    steps = ( { id = \"a\"; stage = \"good-a\"; } ); },\n"
	               /* 9 */ "  { name = \"typo\";\n"
	               /* 10 */ "    triggers = { signal = \"SIGHUP\"; schedule = \"61 * * * *\"; "
	               "};\n"
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
	g = ct_build();
	expect({ "gini.conf", 5, "unknown key 'colour'" },
	       { "gini.conf", 3, "'workers': 0 is out of range 1-256" },
	       { "gini.conf", 4,
	         "'log_level': invalid value 'verbose' (expected error, warning, notice, info or "
	         "debug)" },
	       { "gini.conf", 10,
	         "pipeline 'typo': triggers: 'signal': SIGHUP is reserved (SIGHUP reloads, SIGTERM "
	         "and "
	         "SIGINT stop); use SIGUSR1, SIGUSR2 or SIGRTMIN+N" },
	       { "gini.conf", 10,
	         ct_fmt("pipeline 'typo': triggers: 'schedule': invalid cron expression '61 * * * "
	                "*': %s",
	                ct_cron_error("61 * * * *")) },
	       { "pipelines.d/20-more.conf", 1,
	         "key 'workers' is only allowed in the main configuration file" },
	       { "pipelines.d/30-broken.conf", 1, "syntax error" },
	       { "pipelines.d/20-more.conf", 3,
	         ct_fmt("pipeline 'good': duplicate name; first defined at %s:7",
	                ct_at("gini.conf")) },
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
	ck_assert_str_eq(g->pipelines[0]->file, ct_at("gini.conf"));
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

	ct_plugins();
	ct_put("gini.conf",
	       /* 1 */
	       "plugin_dirs = [ \"plug\" ];\n"
	       /* 2 */ "pipelines = (\n"
	       /* 3 */ "  { name = \"ok\"; steps = ( { id = \"a\"; stage = \"good-a\"; } ); },\n"
	       /* 4 */ "  { name = \"bad-overlap\"; overlap = \"skipp\";\n"
	       /* 5 */ "    steps = ( { id = \"a\"; stage = \"good-a\"; } ); },\n"
	       /* 6 */ "  { name = \"bad-retries\";\n"
	       /* 7 */ "    steps = ( { id = \"a\"; stage = \"good-a\"; retries = 101; } ); }\n"
	       /* 8 */ ");\n");
	g = ct_build();
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

/* Builds a generation with --plugin-ct_dir rel (relative to DIR). */
static struct generation *
build_with_plugin_dir(const char *rel)
{
	char *dirs[] = { (char *)ct_at(rel), NULL };
	const struct config_overrides ov = { .plugin_dirs = dirs, .n_plugin_dirs = 1 };

	ct_gen = generation_unref(ct_gen);
	diags_done(&ct_diags);
	ck_assert_int_eq(generation_build(ct_at("gini.conf"), &ov, NULL, 1, &ct_gen, &ct_diags), 0);
	ck_assert_ptr_nonnull(ct_gen);
	return ct_gen;
}

#define NO_GOOD_A                                                                                  \
	"pipeline 'p': step 'a': unknown stage type 'good-a' (0 stage types are registered; "      \
	"`ginid -t` lists them)"
#define GOOD_A_PIPELINE                                                                            \
	"pipelines = ( { name = \"p\"; steps = ( { id = \"a\"; stage = \"good-a\"; } ); } );\n"

START_TEST(plugin_dir_missing_or_not_a_directory)
{
	struct generation *g;

	ct_plugins();
	ct_put("file.txt", "not a directory\n");
	ct_put("gini.conf",
	       /* 1 */ "probe_plugins = false;\n"
	               /* 2 */ "plugin_dirs = [ \"plug\", \"nowhere\", \"file.txt\" ];\n"
	       /* 3 */ GOOD_A_PIPELINE);
	g = ct_build();
	expect({ "gini.conf", 2,
	         ct_fmt("plugin directory %s: No such file or directory", ct_at("nowhere")) },
	       { "gini.conf", 2,
	         ct_fmt("plugin directory %s: Not a directory", ct_at("file.txt")) });
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

	ct_plugins();
	ct_make_dir("locked");
	ck_assert_int_eq(chmod(ct_at("locked"), 0700), 0);
	if (euid != 0)
		ck_assert_int_eq(chmod(ct_at("locked"), 0), 0);
	ct_put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	                            /* 2 */ "plugin_dirs = [ \"plug\",\n"
	                            /* 3 */ "                \"locked\" ];\n"
	       /* 4 */ GOOD_A_PIPELINE);
	if (euid == 0)
		ck_assert_int_eq(seteuid(65534), 0);
	ct_build();
	if (euid == 0)
		ck_assert_int_eq(seteuid(0), 0);
	expect({ "gini.conf", 2,
	         ct_fmt("plugin directory %s: Permission denied", ct_at("locked")) });
}
END_TEST

START_TEST(plugin_dir_from_command_line)
{
	ct_put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	       /* 2 */ GOOD_A_PIPELINE);
	build_with_plugin_dir("nowhere");
	/* Not tied to a line of the file: said to come from the command line. */
	expect({ NULL, 0,
	         ct_fmt("plugin directory %s: No such file or directory (--plugin-dir)",
	                ct_at("nowhere")) },
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
	ct_put("gini.conf", "probe_plugins = false;\n");
	ct_build();
	expect({ "gini.conf", 0,
	         ct_fmt("plugin directory %s: No such file or directory (the default plugin_dirs)",
	                GINI_STAGE_DIR) });
}
END_TEST

/* Pipelines and not one stage type: an error, not a quiet daemon. */
START_TEST(no_stage_types_with_pipelines)
{
	ct_make_dir("empty");
	ct_put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	                            /* 2 */ "plugin_dirs = [ \"empty\" ];\n"
	       /* 3 */ GOOD_A_PIPELINE);
	ct_build();
	expect({ "gini.conf", 2,
	         "no stage types loaded from the plugin directories (they hold no plugin file); "
	         "no pipeline can run" },
	       { "gini.conf", 3, NO_GOOD_A });
	/* Without pipelines, an empty directory is a fresh installation: fine. */
	ct_put("gini.conf", "plugin_dirs = [ \"empty\" ];\n");
	ct_build();
	expect_none();
}
END_TEST

/* Refused files stay warnings, unless nothing at all was loaded. */
START_TEST(refused_plugins_stay_warnings)
{
	ct_plugins();
	test_copy_file(test_build_path("tests/plugins/good_b.so"), ct_at("plug/loose.so"), 0775);
	ct_put("gini.conf", /* 1 */ "probe_plugins = false;\n"
	                            /* 2 */ "plugin_dirs = [ \"plug\" ];\n"
	       /* 3 */ GOOD_A_PIPELINE);
	ct_build();
	expect_none();
	ck_assert_uint_eq(ct_gen->report.n_refusals, 1);
	ck_assert_ptr_nonnull(test_log_find("loose.so: refused: "));
	/* Every file refused: the reason is above, the error says so. */
	ck_assert_int_eq(chmod(ct_at("plug/good_a.so"), 0775), 0);
	ck_assert_int_eq(chmod(ct_at("plug/good_b.so"), 0775), 0);
	ct_build();
	expect({ "gini.conf", 2,
	         "no stage types loaded from the plugin directories (every plugin file was "
	         "refused, see above); no pipeline can run" },
	       { "gini.conf", 3, NO_GOOD_A });
	ck_assert_uint_eq(ct_gen->report.n_refusals, 3);
}
END_TEST

Suite *
config_pipeline_suite(void)
{
	Suite *s = suite_create("config_pipeline");
	TCase *tc;

	tc = ct_tcase(s, "plugin_dirs");
	tcase_add_test(tc, plugin_dir_missing_or_not_a_directory);
	tcase_add_test(tc, plugin_dir_unreadable);
	tcase_add_test(tc, plugin_dir_from_command_line);
	tcase_add_test(tc, plugin_dir_default_missing);
	tcase_add_test(tc, no_stage_types_with_pipelines);
	tcase_add_test(tc, refused_plugins_stay_warnings);

	tc = ct_tcase(s, "pipelines");
	tcase_add_test(tc, pipeline_names);
	tcase_add_test(tc, pipeline_duplicate_names);

	tc = ct_tcase(s, "stages");
	tcase_add_test(tc, stage_instances_destroyed_on_failure);

	tc = ct_tcase(s, "one_pass");
	tcase_add_test(tc, one_pass_all_errors);
	tcase_add_test(tc, one_pass_config_errors_keep_pipeline_out);

	return s;
}
