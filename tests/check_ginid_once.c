/* SPDX-License-Identifier: MIT */
/*
 * The ginid suite, continued: `ginid --once` (a pipeline run in the
 * foreground: success, failure, dry run, timeout, SIGINT) and `ginid -t`
 * (listing and validating a configuration) as processes.
 */
#include "check_ginid.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GINI_TEST_SANITIZE
#define GINI_TEST_SANITIZE ""
#endif

/* ginid --once and -t as processes. */

static int
ginid_cmd(char **out, char **err, ...)
{
	char *argv[20];
	size_t n = 0;
	va_list ap;
	int st;

	argv[n++] = test_build_path("ginid");
	argv[n++] = "-c";
	argv[n++] = gd_d.conf;
	argv[n++] = "--plugin-dir";
	argv[n++] = test_build_path("stages");
	argv[n++] = "--state-dir";
	argv[n++] = (char *)daemon_path(&gd_d, "state");
	va_start(ap, err);
	while (n < 19 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	st = run_command(argv, out, err, 60000);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(once_success_and_context)
{
	char *out = NULL, *err = NULL, *conf;

	daemon_init(&gd_d, "once", "");
	ck_assert_int_ne(asprintf(&conf,
	                          "pipelines = ( { name = \"p\"; steps = ("
	                          "{ id = \"get\"; stage = \"exec\"; params = { argv = [ "
	                          "\"/bin/echo\", \"from-get\" ]; capture = \"word\"; }; },"
	                          "{ id = \"env\"; stage = \"exec\"; after = \"get\"; params = { "
	                          "shell = \"echo \\\"$GINI_CTX_WORD\\\" > %s\"; }; },"
	                          "{ id = \"say\"; stage = \"log\"; after = \"get\"; params = { "
	                          "message = \"got ${word}\"; }; }"
	                          "); } );\n",
	                          daemon_path(&gd_d, "env.out")),
	                 -1);
	daemon_write(&gd_d, "gini.conf", conf);
	free(conf);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--once", "p", NULL), 0);
	/* The summary table: a header and one line per step, in order. */
	ck_assert_ptr_nonnull(strstr(out, "STEP  STAGE  RESULT     ATTEMPTS   DURATION  MESSAGE"));
	ck_assert_ptr_nonnull(strstr(out, "\nget   exec   success           1"));
	ck_assert_ptr_nonnull(strstr(out, "pipeline 'p': success in "));
	ck_assert_ptr_nonnull(strstr(err, "step 'say': got from-get"));
	ck_assert(wait_file(daemon_path(&gd_d, "env.out"), "from-get\n", 0));
	free(out);
	free(err);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--once", "pp", NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "no pipeline 'pp' in"));
	ck_assert_ptr_nonnull(strstr(err, "did you mean 'p'?"));
	free(out);
	free(err);
}
END_TEST

START_TEST(once_failure_exit_code)
{
	char *out = NULL, *err = NULL;

	daemon_init(&gd_d, "once",
	            "pipelines = ( { name = \"f\"; steps = ("
	            "{ id = \"bad\"; stage = \"exec\"; params = { shell = \"exit 3\"; }; },"
	            "{ id = \"dep\"; stage = \"log\"; after = \"bad\"; params = { "
	            "message = \"x\"; }; }"
	            "); } );\n");
	ck_assert_int_eq(ginid_cmd(&out, &err, "--once", "f", NULL), 1);
	ck_assert_ptr_nonnull(strstr(out, "failed"));
	ck_assert_ptr_nonnull(strstr(out, "exit status 3"));
	ck_assert_ptr_nonnull(strstr(out, "step 'bad' failed"));
	ck_assert_ptr_nonnull(strstr(out, "pipeline 'f': failed in "));
	free(out);
	free(err);
}
END_TEST

/* A dry run executes nothing: the write step's file never appears. */
START_TEST(once_dry_run_has_no_effect)
{
	char *out = NULL, *err = NULL, *conf;

	daemon_init(&gd_d, "once", "");
	ck_assert_int_ne(asprintf(&conf,
	                          "pipelines = ( { name = \"w\"; steps = ("
	                          "{ id = \"a\"; stage = \"write\"; params = { path = \"%s\"; "
	                          "template = \"x\"; }; },"
	                          "{ id = \"b\"; stage = \"exec\"; params = { argv = [ "
	                          "\"/bin/touch\", \"%s\" ]; }; },"
	                          "{ id = \"c\"; stage = \"log\"; after = [ \"a\", \"b\" ]; params "
	                          "= { message = \"done\"; }; }"
	                          "); } );\n",
	                          daemon_path(&gd_d, "written"), daemon_path(&gd_d, "touched")),
	                 -1);
	daemon_write(&gd_d, "gini.conf", conf);
	free(conf);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--once", "w", "--dry-run", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "Dry run of pipeline 'w': 3 steps in 2 levels"));
	ck_assert_ptr_nonnull(strstr(out, "level 1:"));
	ck_assert_ptr_nonnull(strstr(out, "would write 1 bytes to "));
	ck_assert_ptr_nonnull(strstr(out, "would run: /bin/touch"));
	ck_assert_int_eq(access(daemon_path(&gd_d, "written"), F_OK), -1);
	ck_assert_int_eq(access(daemon_path(&gd_d, "touched"), F_OK), -1);
	free(out);
	free(err);
}
END_TEST

/* A timed-out exec step's child is really gone afterwards. */
START_TEST(once_timeout_kills_child)
{
	char *out = NULL, *err = NULL, *conf, *pidtext = NULL;
	pid_t child;

	daemon_init(&gd_d, "once", "");
	ck_assert_int_ne(asprintf(&conf,
	                          "pipelines = ( { name = \"t\"; steps = ("
	                          "{ id = \"slow\"; stage = \"exec\"; timeout = \"300ms\"; params "
	                          "= { shell = \"echo $$ > %s; exec sleep 30\"; kill_grace = "
	                          "\"1s\"; }; }"
	                          "); } );\n",
	                          daemon_path(&gd_d, "pid")),
	                 -1);
	daemon_write(&gd_d, "gini.conf", conf);
	free(conf);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--once", "t", NULL), 1);
	ck_assert_ptr_nonnull(strstr(out, "timed-out"));
	ck_assert_ptr_nonnull(strstr(out, "timed out after 300ms"));
	ck_assert_int_eq(read_file(daemon_path(&gd_d, "pid"), 64, &pidtext, NULL), 0);
	child = (pid_t)strtol(pidtext, NULL, 10);
	ck_assert_int_gt(child, 1);
	ck_assert_int_eq(kill(child, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	free(pidtext);
	free(out);
	free(err);
}
END_TEST

/* SIGINT cancels the run cleanly: summary printed, child killed, exit 1. */
START_TEST(once_sigint_cancels)
{
	char *conf, *pidtext = NULL;
	pid_t child;
	int st;

	daemon_init(&gd_d, "once", "");
	ck_assert_int_ne(asprintf(&conf,
	                          "pipelines = ( { name = \"s\"; steps = ("
	                          "{ id = \"long\"; stage = \"exec\"; params = { shell = \"echo "
	                          "$$ > %s; exec sleep 30\"; }; }"
	                          "); } );\n",
	                          daemon_path(&gd_d, "pid")),
	                 -1);
	daemon_write(&gd_d, "gini.conf", conf);
	free(conf);
	daemon_spawn(&gd_d, NULL, (const char *const[]){ "--once", "s", NULL });
	ck_assert(wait_file(daemon_path(&gd_d, "pid"), "\n", 10000));
	daemon_signal(&gd_d, SIGINT);
	st = daemon_wait_exit(&gd_d, 10000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(&gd_d, "cancelling run 1 on SIGINT", 1, 100));
	ck_assert(daemon_wait_log(&gd_d, "cancelled", 2, 100));
	ck_assert(daemon_wait_log(&gd_d, "pipeline 's': cancelled in ", 1, 100));
	ck_assert_int_eq(read_file(daemon_path(&gd_d, "pid"), 64, &pidtext, NULL), 0);
	child = (pid_t)strtol(pidtext, NULL, 10);
	ck_assert_int_eq(kill(child, 0), -1);
	free(pidtext);
}
END_TEST

START_TEST(test_mode_lists_and_validates)
{
	char *out = NULL, *err = NULL;

	daemon_init(&gd_d, "once",
	            "pipelines = ( { name = \"p\"; triggers = { schedule = "
	            "\"30 2 * * *\"; signal = \"SIGUSR1\"; }; steps = ("
	            "{ id = \"a\"; stage = \"log\"; params = { message = \"x\"; }; },"
	            "{ id = \"b\"; stage = \"log\"; after = \"a\"; params = { message = "
	            "\"y\"; }; },"
	            "{ id = \"c\"; stage = \"log\"; after = \"a\"; params = { message = "
	            "\"z\"; }; }"
	            "); } );\n");
	ck_assert_int_eq(ginid_cmd(&out, &err, "-t", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "Stage types (7):"));
	ck_assert_ptr_nonnull(strstr(out, "  exec "));
	ck_assert_ptr_nonnull(strstr(out, "signal SIGUSR1, schedule \"30 2 * * *\" (next "));
	ck_assert_ptr_nonnull(strstr(out, "order: a -> b -> c"));
	ck_assert_ptr_nonnull(strstr(out, "in parallel: b c"));
	ck_assert_ptr_nonnull(strstr(out, "is valid"));
	/* The next fire time is ISO 8601 with its UTC offset. */
	{
		const char *n = strstr(out, "(next ");

		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(n[6 + 10], 'T');
		ck_assert(n[6 + 19] == '+' || n[6 + 19] == '-');
		ck_assert_int_eq(n[6 + 22], ':');
	}
	free(out);
	free(err);
	daemon_write(&gd_d, "gini.conf",
	             "pipelines = ( { name = \"p\"; steps = ( { id = \"a\"; "
	             "stage = \"lgo\"; } ); } );\nworkers = 0;\n");
	ck_assert_int_eq(ginid_cmd(&out, &err, "-t", NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "gini.conf:2: 'workers': 0 is out of range 1-256"));
	ck_assert_ptr_nonnull(strstr(err, "gini.conf:1: pipeline 'p': step 'a': unknown stage type "
	                                  "'lgo'; did you mean 'log'?"));
	ck_assert_ptr_nonnull(strstr(err, "2 errors"));
	free(out);
	free(err);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--bogus", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "Try 'ginid --help'."));
	free(out);
	free(err);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "--once PIPELINE"));
	free(out);
	free(err);
}
END_TEST

/*
 * Regression: a FIFO named *.conf in pipelines.d, or reached by @include,
 * froze `ginid -t` for ever (deaf to SIGINT and SIGTERM). Now it is an error
 * naming the path, and the command returns; run_command() fails the test
 * instead of waiting if it does not.
 */
START_TEST(test_mode_fifo_is_an_error)
{
	char *argv[] = { test_build_path("ginid"),  "-t", "-c", NULL, "--plugin-dir",
		         test_build_path("stages"), NULL };
	char *out = NULL, *err = NULL;
	char want[4096];
	int st;

	daemon_init(&gd_d, "fifo", "workers = 2;\n");
	argv[3] = gd_d.conf;
	ck_assert_int_eq(mkfifo(daemon_path(&gd_d, "pipelines.d/x.conf"), 0644), 0);
	st = run_command(argv, &out, &err, 20000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	snprintf(want, sizeof(want), "%s: cannot read: not a regular file (a FIFO)",
	         daemon_path(&gd_d, "pipelines.d/x.conf"));
	ck_assert_msg(strstr(err, want), "no '%s' in:\n%s", want, err);
	free(out);
	free(err);
	/* By @include, and /dev/zero likewise. */
	ck_assert_int_eq(
	        rename(daemon_path(&gd_d, "pipelines.d/x.conf"), daemon_path(&gd_d, "y.fifo")), 0);
	daemon_write(&gd_d, "gini.conf",
	             "workers = 2;\n@include \"y.fifo\"\n@include \"/dev/zero\"\n");
	st = run_command(argv, &out, &err, 20000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	snprintf(want, sizeof(want),
	         "gini.conf:2: @include \"y.fifo\": cannot read %s: not a "
	         "regular file (a FIFO)",
	         daemon_path(&gd_d, "y.fifo"));
	ck_assert_msg(strstr(err, want), "no '%s' in:\n%s", want, err);
	free(out);
	free(err);
	daemon_write(&gd_d, "gini.conf", "workers = 2;\n@include \"/dev/zero\"\n");
	st = run_command(argv, &out, &err, 20000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert_ptr_nonnull(strstr(err, "gini.conf:2: @include \"/dev/zero\": cannot read "
	                                  "/dev/zero: not a regular file (a character device)"));
	free(out);
	free(err);
}
END_TEST

/* -t fails on a plugin directory that is not there, naming its line. */
START_TEST(test_mode_plugin_dir_errors)
{
	char *argv[] = {
		test_build_path("ginid"), "-t", "-c", NULL, "--state-dir", NULL, NULL, NULL, NULL
	};
	char *out = NULL, *err = NULL;
	int st;

	daemon_init(&gd_d, "once", "");
	daemon_write(
	        &gd_d, "gini.conf",
	        /* 1 */
	        "workers = 1;\n"
	        /* 2 */ "plugin_dirs = [ \"nowhere\" ];\n"
	        /* 3 */ "pipelines = ( { name = \"p\"; steps = ( { id = \"a\"; stage = \"log\"; "
	        "params = { message = \"x\"; }; } ); } );\n");
	argv[3] = gd_d.conf;
	argv[5] = (char *)daemon_path(&gd_d, "state");
	st = run_command(argv, &out, &err, 60000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert_msg(strstr(err, "gini.conf:2: plugin directory ") &&
	                      strstr(err, "/nowhere: No such file or directory\n"),
	              "%s", err);
	ck_assert_ptr_null(strstr(out, "is valid"));
	free(out);
	free(err);
	/* An empty --plugin-dir with pipelines: nothing could run them. */
	ck_assert_int_eq(mkdir(daemon_path(&gd_d, "empty"), 0755), 0);
	argv[6] = "--plugin-dir";
	argv[7] = (char *)daemon_path(&gd_d, "empty");
	st = run_command(argv, &out, &err, 60000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert_msg(strstr(err, "no stage types loaded from the plugin directories (they hold no "
	                          "plugin file); no pipeline can run (--plugin-dir)\n"),
	              "%s", err);
	ck_assert_ptr_null(strstr(out, "is valid"));
	free(out);
	free(err);
}
END_TEST

/*
 * Regression: a reload that met a FIFO hung the live daemon's event loop.
 * It is refused, the old generation keeps running, and the control socket
 * still answers.
 */

void
ginid_once_tcases(Suite *s)
{
	TCase *tc;

	tc = tcase_create("once");
	tcase_add_checked_fixture(tc, NULL, gd_teardown);
	tcase_add_test(tc, once_success_and_context);
	tcase_add_test(tc, once_failure_exit_code);
	tcase_add_test(tc, once_dry_run_has_no_effect);
	tcase_add_test(tc, once_timeout_kills_child);
	tcase_add_test(tc, once_sigint_cancels);
	tcase_add_test(tc, test_mode_lists_and_validates);
	tcase_add_test(tc, test_mode_fifo_is_an_error);
	tcase_add_test(tc, test_mode_plugin_dir_errors);
	suite_add_tcase(s, tc);
}
