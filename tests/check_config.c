/* SPDX-License-Identifier: MIT */
/*
 * The configuration reader (config.c), through what an operator sees: the
 * files it reads and how (syntax, files and directories, @include, relative
 * paths, include directories, command-line overrides, defaults), every
 * problem as "FILE:LINE: message", asserted to the letter, file and line.
 * Fixtures are written into a fresh directory per test from the texts below,
 * each line numbered in a comment, so the expected line numbers can be
 * checked by eye. Values and their checks are in check_config_values.c,
 * pipelines and stage binding in check_config_pipeline.c, and the invalid
 * configurations that need no C at all in tests/configs/invalid/
 * (check_config_invalid.c). Tests whose comment says "regression" pin a bug
 * this corpus once found.
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

/* ---- libconfig syntax errors ---- */

START_TEST(syntax_error_main)
{
	ct_load_main(/* 1 */ "workers = 4;\n"
	                     /* 2 */ "log_level = ;\n"
	                     /* 3 */ "state_dir = \"/srv\";\n");
	expect({ "gini.conf", 2, "syntax error" });
	/* Nothing of a file that does not parse is taken. */
	ck_assert_uint_eq(ct_cfg->workers, (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1));
	ck_assert_str_eq(ct_cfg->state_dir, "/var/lib/gini");
}
END_TEST

START_TEST(syntax_error_unclosed_list)
{
	ct_load_main(/* 1 */ "pipelines = (\n"
	                     /* 2 */ "  { name = \"a\";\n"
	                     /* 3 */ "    steps = ( { id = \"x\"; stage = \"noop\"; } );\n"
	                     /* 4 */ "  }\n"
	                     /* 5 */ ";\n");
	expect({ "gini.conf", 5, "syntax error" });
	ck_assert_uint_eq(ct_cfg->n_pipelines, 0);
}
END_TEST

/* A broken include file is reported with its own name; the others are read. */
START_TEST(syntax_error_include)
{
	ct_put("pipelines.d/a.conf", /* 1 */ "pipelines = (\n"
	                                     /* 2 */ "  { name = \"x\" }\n"
	                                     /* 3 */ "  { name = \"y\" }\n"
	                                     /* 4 */ ");\n");
	ct_put("pipelines.d/b.conf", "pipelines = ( { name = \"b\"; " STEPS " } );\n");
	ct_load_main("pipelines = ( { name = \"m\"; " STEPS " } );\n");
	expect({ "pipelines.d/a.conf", 3, "syntax error" });
	ck_assert_uint_eq(ct_cfg->n_pipelines, 2);
	ck_assert_str_eq(ct_cfg->pipelines[0].name, "m");
	ck_assert_str_eq(ct_cfg->pipelines[1].name, "b");
}
END_TEST

/*
 * Settings that libconfig's own @include pulls in are reported against the
 * included file (regression: they once carried the including file's name
 * with the included file's line).
 */
START_TEST(syntax_at_include_names_the_included_file)
{
	ct_put("extra.cfg", /* 1 */ "# pulled in by @include\n"
	                            /* 2 */ "bogus = 1;\n");
	ct_load_main(/* 1 */ "workers = 2;\n"
	                     /* 2 */ "@include \"extra.cfg\"\n");
	expect({ "extra.cfg", 2, "unknown key 'bogus'" });
}
END_TEST

/* ---- files and directories ---- */

START_TEST(missing_main_file)
{
	ct_load("absent.conf");
	expect({ "absent.conf", 0, "cannot read: No such file or directory" });
	ck_assert_uint_eq(ct_cfg->n_pipelines, 0);
	ck_assert_uint_eq(ct_cfg->n_files, 1);
	ck_assert_str_eq(ct_cfg->files[0], ct_at("absent.conf"));
}
END_TEST

START_TEST(main_file_is_a_directory)
{
	ct_make_dir("gini.conf");
	ct_load("gini.conf");
	expect({ "gini.conf", 0, "cannot read: Is a directory" });
}
END_TEST

/*
 * A configured include directory that cannot be read is reported at the
 * line of 'include_dirs' (regression: once without a line).
 */
START_TEST(include_dir_configured_unreadable)
{
	ct_put("file.txt", "not a directory\n");
	ct_load_main(/* 1 */ "# pipelines live elsewhere\n"
	                     /* 2 */ "include_dirs = [ \"missing\", \"file.txt\" ];\n");
	expect({ "gini.conf", 2,
	         ct_fmt("include directory %s: No such file or directory", ct_at("missing")) },
	       { "gini.conf", 2,
	         ct_fmt("include directory %s: Not a directory", ct_at("file.txt")) });
}
END_TEST

START_TEST(include_dir_default_missing_is_fine)
{
	ct_load_main("workers = 2;\n");
	expect_none();
	ck_assert_uint_eq(ct_cfg->n_include_dirs, 1);
	ck_assert_str_eq(ct_cfg->include_dirs[0], ct_at("pipelines.d"));
}
END_TEST

START_TEST(include_entry_unreadable)
{
	ct_make_dir("pipelines.d");
	ct_make_dir("pipelines.d/sub.conf");
	ct_put("pipelines.d/z.conf", "pipelines = ( { name = \"z\"; " STEPS " } );\n");
	ct_load_main("workers = 2;\n");
	expect({ "pipelines.d/sub.conf", 0, "cannot read: Is a directory" });
	ck_assert_uint_eq(ct_cfg->n_pipelines, 1);
	ck_assert_str_eq(ct_cfg->pipelines[0].name, "z");
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
	ct_make_dir("pipelines.d");
	ck_assert_int_eq(mkfifo(ct_at("pipelines.d/x.conf"), 0644), 0);
	ct_put("pipelines.d/y.conf", "pipelines = ( { name = \"y\"; " STEPS " } );\n");
	ct_load_main("workers = 2;\n");
	expect({ "pipelines.d/x.conf", 0, "cannot read: not a regular file (a FIFO)" });
	ck_assert_uint_eq(ct_cfg->n_pipelines, 1);
	ck_assert_str_eq(ct_cfg->pipelines[0].name, "y");
}
END_TEST

START_TEST(main_file_fifo)
{
	ck_assert_int_eq(mkfifo(ct_at("gini.conf"), 0644), 0);
	ct_load("gini.conf");
	expect({ "gini.conf", 0, "cannot read: not a regular file (a FIFO)" });
}
END_TEST

START_TEST(include_entry_device)
{
	ct_make_dir("pipelines.d");
	ck_assert_int_eq(symlink("/dev/zero", ct_at("pipelines.d/zero.conf")), 0);
	ct_load_main("workers = 2;\n");
	expect({ "pipelines.d/zero.conf", 0,
	         "cannot read: not a regular file (a character device)" });
}
END_TEST

START_TEST(at_include_fifo_and_device)
{
	ck_assert_int_eq(mkfifo(ct_at("fifo.conf"), 0644), 0);
	ct_load_main(/* 1 */ "workers = 2;\n"
	                     /* 2 */ "@include \"fifo.conf\"\n");
	expect({ "gini.conf", 2,
	         ct_fmt("@include \"fifo.conf\": cannot read %s: not a regular file (a FIFO)",
	                ct_at("fifo.conf")) });
	ct_load_main(/* 1 */ "workers = 2;\n"
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

	f = fopen(ct_at("gini.conf"), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	ck_assert_int_eq(fclose(f), 0);
	ct_load("gini.conf");
	expect({ "gini.conf", 3,
	         "NUL byte: a configuration file is text (the rest of the file would be "
	         "ignored)" });
	/* In an @include'd file too, at its own line. */
	ck_assert_int_eq(rename(ct_at("gini.conf"), ct_at("inc.cfg")), 0);
	ct_load_main("@include \"inc.cfg\"\n");
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
	ct_put("sub/a.cfg", /* 1 */ "# a, in sub/\n"
	                            /* 2 */ "@include \"b.cfg\"\n"
	                            /* 3 */ "colour = 1;\n");
	ct_put("sub/b.cfg", /* 1 */ "shade = 2;"); /* no final newline */
	ct_load_main(/* 1 */ "workers = 2;\n"
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
	ck_assert_str_eq(ct_cfg->pipelines[0].file, ct_at("gini.conf"));
	ck_assert_int_eq(ct_cfg->pipelines[0].line, 8);
	ct_put("loop.cfg", "@include \"loop.cfg\"\n");
	ct_load_main("@include \"loop.cfg\"\n");
	expect({ "loop.cfg", 1,
	         "@include: nested more than 10 deep (does a file include itself?)" });
	ct_load_main("@include \"\"\n");
	expect({ "gini.conf", 1,
	         "@include: expected a non-empty path in double quotes, without backslashes or "
	         "line breaks" });
}
END_TEST

/* ---- relative paths ---- */

static const char *const paths_conf =
        /* 1 */ "plugin_dirs = [ \"stages\", \"/opt/gini/stages\" ];\n"
                /* 2 */ "include_dirs = [ \"conf.d\", \"../shared\" ];\n"
                /* 3 */ "state_dir = \"state\";\n"
                /* 4 */ "control_socket = \"run/ginid.sock\";\n";

START_TEST(paths_relative_to_their_file)
{
	ct_put("etc/gini.conf", paths_conf);
	ct_make_dir("etc/conf.d");
	ct_make_dir("shared");
	ct_put("shared/x.conf", "pipelines = ( { name = \"shared\"; " STEPS " } );\n");
	ct_load("etc/gini.conf");
	expect_none();
	ck_assert_uint_eq(ct_cfg->n_plugin_dirs, 2);
	ck_assert_str_eq(ct_cfg->plugin_dirs[0], ct_at("etc/stages"));
	ck_assert_str_eq(ct_cfg->plugin_dirs[1], "/opt/gini/stages");
	ck_assert_ptr_null(ct_cfg->plugin_dirs[2]);
	ck_assert_uint_eq(ct_cfg->n_include_dirs, 2);
	ck_assert_str_eq(ct_cfg->include_dirs[0], ct_at("etc/conf.d"));
	ck_assert_str_eq(ct_cfg->include_dirs[1], ct_at("etc/../shared"));
	ck_assert_str_eq(ct_cfg->state_dir, ct_at("etc/state"));
	ck_assert_str_eq(ct_cfg->control_socket, ct_at("etc/run/ginid.sock"));
	ck_assert_uint_eq(ct_cfg->n_pipelines, 1);
	ck_assert_str_eq(ct_cfg->pipelines[0].file, ct_at("etc/../shared/x.conf"));

	/* A single string is a list of one. */
	ct_load_main("plugin_dirs = \"mine\";\n");
	expect_none();
	ck_assert_uint_eq(ct_cfg->n_plugin_dirs, 1);
	ck_assert_str_eq(ct_cfg->plugin_dirs[0], ct_at("mine"));
}
END_TEST

/* A main file named relative to the working directory keeps its paths so. */
START_TEST(paths_relative_main_file)
{
	char cwd[PATH_MAX];

	ct_put("etc/gini.conf", paths_conf);
	ct_make_dir("etc/conf.d");
	ct_make_dir("shared");
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(ct_dir), 0);
	ct_cfg = config_free(ct_cfg);
	ck_assert_int_eq(config_load("etc/gini.conf", NULL, &ct_cfg, &ct_diags), 0);
	expect_none();
	ck_assert_str_eq(ct_cfg->plugin_dirs[0], "etc/stages");
	ck_assert_str_eq(ct_cfg->include_dirs[0], "etc/conf.d");
	ck_assert_str_eq(ct_cfg->include_dirs[1], "etc/../shared");
	ck_assert_str_eq(ct_cfg->state_dir, "etc/state");
	ck_assert_str_eq(ct_cfg->control_socket, "etc/run/ginid.sock");
	ct_cfg = config_free(ct_cfg);
	test_write_file("bare.conf", "workers = 1;\n", 0644);
	ck_assert_int_eq(config_load("bare.conf", NULL, &ct_cfg, &ct_diags), 0);
	expect_none();
	ck_assert_str_eq(ct_cfg->include_dirs[0], "./pipelines.d");
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
	ct_load_main(/* 1 */ "plugin_dirs = [ \"\" ];\n"
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
	ct_put("b.d/2-second.conf", "pipelines = ( { name = \"b2\"; " STEPS " } );\n");
	ct_put("b.d/10-first.conf", "pipelines = ( { name = \"b10\"; " STEPS " } );\n");
	ct_put("b.d/Z.conf", "pipelines = ( { name = \"bZ\"; " STEPS " } );\n");
	/* Not *.conf, or hidden: never read (they would not parse). */
	ct_put("b.d/x.conf.bak", "garbage {\n");
	ct_put("b.d/.hidden.conf", "garbage {\n");
	ct_put("b.d/notes.txt", "garbage {\n");
	ct_put("a.d/a.conf", "pipelines = ( { name = \"a1\"; " STEPS " } );\n");
	ct_load_main(/* 1 */ "include_dirs = [ \"b.d\", \"a.d\" ];\n"
	                     /* 2 */ "pipelines = ( { name = \"main\"; " STEPS " } );\n");
	expect_none();
	ck_assert_uint_eq(ct_cfg->n_pipelines, 5);
	ck_assert_str_eq(ct_cfg->pipelines[0].name, "main");
	ck_assert_str_eq(ct_cfg->pipelines[1].name, "b10");
	ck_assert_str_eq(ct_cfg->pipelines[2].name, "b2");
	ck_assert_str_eq(ct_cfg->pipelines[3].name, "bZ");
	ck_assert_str_eq(ct_cfg->pipelines[4].name, "a1");
	ck_assert_str_eq(ct_cfg->pipelines[3].file, ct_at("b.d/Z.conf"));
	ck_assert_uint_eq(ct_cfg->n_files, 5);
	ck_assert_str_eq(ct_cfg->files[0], ct_at("gini.conf"));
	ck_assert_str_eq(ct_cfg->files[1], ct_at("b.d/10-first.conf"));
	ck_assert_str_eq(ct_cfg->files[2], ct_at("b.d/2-second.conf"));
	ck_assert_str_eq(ct_cfg->files[3], ct_at("b.d/Z.conf"));
	ck_assert_str_eq(ct_cfg->files[4], ct_at("a.d/a.conf"));
}
END_TEST

START_TEST(include_default_beside_main)
{
	ct_put("etc/pipelines.d/x.conf", "pipelines = ( { name = \"x\"; " STEPS " } );\n");
	ct_put("pipelines.d/y.conf", "pipelines = ( { name = \"wrong\"; " STEPS " } );\n");
	ct_put("etc/gini.conf", "workers = 1;\n");
	ct_load("etc/gini.conf");
	expect_none();
	ck_assert_uint_eq(ct_cfg->n_include_dirs, 1);
	ck_assert_str_eq(ct_cfg->include_dirs[0], ct_at("etc/pipelines.d"));
	ck_assert_uint_eq(ct_cfg->n_pipelines, 1);
	ck_assert_str_eq(ct_cfg->pipelines[0].name, "x");
	ck_assert_str_eq(ct_cfg->pipelines[0].file, ct_at("etc/pipelines.d/x.conf"));
}
END_TEST

START_TEST(include_dirs_empty_list)
{
	ct_put("pipelines.d/x.conf", "pipelines = ( { name = \"x\"; " STEPS " } );\n");
	ct_load_main("include_dirs = [];\n");
	expect_none();
	ck_assert_uint_eq(ct_cfg->n_include_dirs, 0);
	ck_assert_uint_eq(ct_cfg->n_pipelines, 0);
	ck_assert_uint_eq(ct_cfg->n_files, 1);
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

	ct_put("etc/gini.conf", paths_conf);
	ct_make_dir("etc/conf.d");
	ct_make_dir("shared");
	ct_load_ov("etc/gini.conf", &ov);
	expect_none();
	/* As given on the command line: relative to the working directory. */
	ck_assert_uint_eq(ct_cfg->n_plugin_dirs, 2);
	ck_assert_str_eq(ct_cfg->plugin_dirs[0], "/o/one");
	ck_assert_str_eq(ct_cfg->plugin_dirs[1], "o/two");
	ck_assert_ptr_null(ct_cfg->plugin_dirs[2]);
	ck_assert_str_eq(ct_cfg->control_socket, "/o/ginid.sock");
	ck_assert_str_eq(ct_cfg->state_dir, "/o/state");
	/* What has no override stays as the file said. */
	ck_assert_str_eq(ct_cfg->include_dirs[0], ct_at("etc/conf.d"));
}
END_TEST

START_TEST(overrides_partial)
{
	struct config_overrides ov = { .state_dir = "/o/state" };

	ct_put("etc/gini.conf", paths_conf);
	ct_make_dir("etc/conf.d");
	ct_make_dir("shared");
	ct_load_ov("etc/gini.conf", &ov);
	expect_none();
	ck_assert_str_eq(ct_cfg->state_dir, "/o/state");
	ck_assert_str_eq(ct_cfg->plugin_dirs[0], ct_at("etc/stages"));
	ck_assert_str_eq(ct_cfg->control_socket, ct_at("etc/run/ginid.sock"));
}
END_TEST

/* ---- defaults ---- */

START_TEST(defaults)
{
	ct_load_main("# everything defaulted\n");
	expect_none();
	ck_assert_str_eq(ct_cfg->file, ct_at("gini.conf"));
	ck_assert_uint_eq(ct_cfg->workers, (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1));
	ck_assert_int_eq(ct_cfg->log_level, LOG_INFO);
	ck_assert_uint_eq(ct_cfg->shutdown_timeout_usec, 30 * USEC_PER_SEC);
	ck_assert_str_eq(ct_cfg->control_socket, "/run/gini/ginid.sock");
	ck_assert_str_eq(ct_cfg->state_dir, "/var/lib/gini");
	ck_assert_ptr_null(ct_cfg->control_group);
	ck_assert_ptr_null(ct_cfg->control_readonly_group);
	ck_assert_uint_eq(ct_cfg->n_plugin_dirs, 1);
#ifdef GINI_STAGE_DIR
	ck_assert_str_eq(ct_cfg->plugin_dirs[0], GINI_STAGE_DIR);
#endif
	ck_assert_uint_eq(ct_cfg->n_include_dirs, 1);
	ck_assert_str_eq(ct_cfg->include_dirs[0], ct_at("pipelines.d"));
	ck_assert_uint_eq(ct_cfg->n_files, 1);
	ck_assert_uint_eq(ct_cfg->n_pipelines, 0);
}
END_TEST

/* From text, the default include directory is beside ct_dir, not the name. */
START_TEST(defaults_from_string)
{
	ct_put("pipelines.d/x.conf", "pipelines = ( { name = \"x\"; " STEPS " } );\n");
	ck_assert_int_eq(config_load_string("pipelines = ( { name = \"p\"; " STEPS " } );\n",
	                                    "text.conf", ct_dir, NULL, &ct_cfg, &ct_diags),
	                 0);
	expect_none();
	ck_assert_str_eq(ct_cfg->file, "text.conf");
	ck_assert_str_eq(ct_cfg->include_dirs[0], ct_at("pipelines.d"));
	ck_assert_uint_eq(ct_cfg->n_pipelines, 2);
	ck_assert_str_eq(ct_cfg->pipelines[0].file, "text.conf");
	ck_assert_str_eq(ct_cfg->pipelines[1].name, "x");
	ct_cfg = config_free(ct_cfg);
	ck_assert_int_eq(config_load_string("log_level = ;\n", "text.conf", ct_dir, NULL, &ct_cfg,
	                                    &ct_diags),
	                 0);
	ck_assert_uint_eq(ct_diags.n, 1);
	ck_assert_str_eq(ct_diags.v[0].file, "text.conf");
	ck_assert_int_eq(ct_diags.v[0].line, 1);
	ck_assert_str_eq(ct_diags.v[0].msg, "syntax error");
	diags_done(&ct_diags);
}
END_TEST

START_TEST(defaults_pipeline_and_step)
{
	const struct pipeline_def *p;
	const struct step_def *s;

	ct_load_main(/* 1 */ "pipelines = (\n"
	                     /* 2 */ "  { name = \"p\";\n"
	                     /* 3 */ "    steps = ( { id = \"a\"; stage = \"noop\"; } ); }\n"
	                     /* 4 */ ");\n");
	expect_none();
	p = ct_def("p");
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

	ck_assert_int_eq(config_load_texts(&main_file, inc, 2, NULL, &ct_cfg, &ct_diags), 0);
	expect_none();
	ck_assert_uint_eq(ct_cfg->n_files, 3);
	ck_assert_uint_eq(ct_cfg->n_pipelines, 1);
	ck_assert_str_eq(ct_cfg->pipelines[0].file, "/m/pipelines.d/b.conf");
	ct_cfg = config_free(ct_cfg);
	/* Also with nothing at all. */
	ck_assert_int_eq(config_load_texts(&main_file, inc, 1, NULL, &ct_cfg, &ct_diags), 0);
	expect_none();
	ck_assert_uint_eq(ct_cfg->n_pipelines, 0);
}
END_TEST

/*
 * Regression (fuzz_config): a string with a newline went into a message as
 * it was, splitting one diagnostic over two lines (the second one could
 * pass for a diagnostic of another file). Control characters are escaped.
 */
START_TEST(control_characters_escaped)
{
	ct_load_main("log_level = \"a\\nfake.conf:1: forged\";\n"
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

	tc = ct_tcase(s, "syntax");
	tcase_add_test(tc, syntax_error_main);
	tcase_add_test(tc, syntax_error_unclosed_list);
	tcase_add_test(tc, syntax_error_include);
	tcase_add_test(tc, syntax_at_include_names_the_included_file);

	tc = ct_tcase(s, "files");
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

	tc = ct_tcase(s, "paths");
	tcase_add_test(tc, paths_relative_to_their_file);
	tcase_add_test(tc, paths_relative_main_file);
	tcase_add_test(tc, paths_empty);

	tc = ct_tcase(s, "includes");
	tcase_add_test(tc, include_sorted_order);
	tcase_add_test(tc, include_default_beside_main);
	tcase_add_test(tc, include_dirs_empty_list);

	tc = ct_tcase(s, "overrides");
	tcase_add_test(tc, overrides_win);
	tcase_add_test(tc, overrides_partial);

	tc = ct_tcase(s, "defaults");
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, defaults_from_string);
	tcase_add_test(tc, defaults_pipeline_and_step);

	tc = ct_tcase(s, "fuzz regressions");
	tcase_add_test(tc, empty_pipeline_lists_in_two_files);
	tcase_add_test(tc, control_characters_escaped);

	return s;
}
