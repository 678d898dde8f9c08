/* SPDX-License-Identifier: MIT */
/*
 * The values of a configuration (config.c): unknown keys, types, ranges,
 * durations, pipeline params, log levels, enumerations, signals, schedules,
 * intervals, history limits, and one valid configuration read value by
 * value. Invalid values whose diagnostics are all there is to check live as
 * data in tests/configs/invalid/; the tests here also check what is taken
 * and what is left at its default. Fixture: config_test.h.
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

/* ---- unknown keys ---- */

START_TEST(main_only_keys_in_include)
{
	ct_put("pipelines.d/a.conf",
	       /* 1 */ "workers = 2;\n"
	               /* 2 */ "log_level = \"debug\";\n"
	               /* 3 */ "pipeline = ();\n"
	               /* 4 */ "colour = 1;\n"
	               /* 5 */ "pipelines = ( { name = \"inc\"; " STEPS " } );\n");
	ct_load_main("# nothing here\n");
	expect({ "pipelines.d/a.conf", 1,
	         "key 'workers' is only allowed in the main configuration file" },
	       { "pipelines.d/a.conf", 2,
	         "key 'log_level' is only allowed in the main configuration file" },
	       { "pipelines.d/a.conf", 3, "unknown key 'pipeline'; did you mean 'pipelines'?" },
	       { "pipelines.d/a.conf", 4, "unknown key 'colour'" });
	/* ... and they are not applied. */
	ck_assert_uint_eq(ct_cfg->workers, (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1));
	ck_assert_int_eq(ct_cfg->log_level, LOG_INFO);
	ck_assert_uint_eq(ct_cfg->n_pipelines, 1);
	ck_assert_str_eq(ct_cfg->pipelines[0].name, "inc");
}
END_TEST

/* ---- integer ranges ---- */

START_TEST(range_out)
{
	ct_load_main(/* 1 */
	             "workers = 0;\n"
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
	ck_assert_uint_eq(ct_def("p")->max_parallel, 4);
	ck_assert_uint_eq(ct_def("p")->steps[0].retries, 0);

	ct_load_main("workers = 257;\n");
	expect({ "gini.conf", 1, "'workers': 257 is out of range 1-256" });
	ct_load_main("workers = 99999999999L;\n");
	expect({ "gini.conf", 1, "'workers': 99999999999 is out of range 1-256" });
}
END_TEST

START_TEST(range_limits_accepted)
{
	ct_load_main(/* 1 */
	             "workers = 256;\n"
	             /* 2 */ "pipelines = (\n"
	             /* 3 */ "  { name = \"p\"; max_parallel = 1024;\n"
	             /* 4 */ "    steps = ( { id = \"a\"; stage = \"noop\"; retries = 100; },\n"
	             /* 5 */ "              { id = \"b\"; stage = \"noop\"; retries = 0; } ); },\n"
	             /* 6 */ "  { name = \"q\"; max_parallel = 1; " STEPS " }\n"
	             /* 7 */ ");\n");
	expect_none();
	ck_assert_uint_eq(ct_cfg->workers, 256);
	ck_assert_uint_eq(ct_def("p")->max_parallel, 1024);
	ck_assert_uint_eq(ct_def("q")->max_parallel, 1);
	ck_assert_uint_eq(ct_def("p")->steps[0].retries, 100);
	ck_assert_uint_eq(ct_def("p")->steps[1].retries, 0);
	ct_load_main("workers = 1;\n");
	expect_none();
	ck_assert_uint_eq(ct_cfg->workers, 1);
}
END_TEST

/* ---- durations ---- */

START_TEST(duration_invalid)
{
	ct_load_main(/* 1 */
	             "shutdown_timeout = \"5x\";\n"
	             /* 2 */ "pipelines = (\n"
	             /* 3 */ "  { name = \"p\";\n"
	             /* 4 */ "    steps = (\n"
	             /* 5 */ "      { id = \"a\"; stage = \"noop\"; timeout = \"1.5.s\"; },\n"
	             /* 6 */ "      { id = \"b\"; stage = \"noop\"; timeout = \"\"; },\n"
	             /* 7 */ "      { id = \"c\"; stage = \"noop\"; timeout = -1; },\n"
	             /* 8 */ "      { id = \"d\"; stage = \"noop\"; retry_backoff = \"1 "
	             "fortnight\"; },\n"
	             /* 9 */ "      { id = \"e\"; stage = \"noop\"; timeout = 3162240001L; },\n"
	             /* 10 */ "      { id = \"f\"; stage = \"noop\"; timeout = \"-5m\"; },\n"
	             /* 11 */ "      { id = \"g\"; stage = \"noop\"; timeout = \"101 years\"; }\n"
	             /* 12 */ "    ); }\n"
	             /* 13 */ ");\n");
	expect({ "gini.conf", 1,
	         "'shutdown_timeout': invalid duration '5x' (use e.g. 500ms, 30s, 5min, 1h 30m, 2 "
	         "days)" },
	       { "gini.conf", 5,
	         "pipeline 'p': step 'a': 'timeout': invalid duration '1.5.s' (use e.g. 500ms, "
	         "30s, "
	         "5min, 1h 30m, 2 days)" },
	       { "gini.conf", 6,
	         "pipeline 'p': step 'b': 'timeout': invalid duration '' (use e.g. 500ms, 30s, "
	         "5min, "
	         "1h 30m, 2 days)" },
	       { "gini.conf", 7,
	         "pipeline 'p': step 'c': 'timeout': invalid duration -1: must not be negative" },
	       { "gini.conf", 8,
	         "pipeline 'p': step 'd': 'retry_backoff': invalid duration '1 fortnight' (use "
	         "e.g. "
	         "500ms, 30s, 5min, 1h 30m, 2 days)" },
	       { "gini.conf", 9,
	         "pipeline 'p': step 'e': 'timeout': invalid duration 3162240001: too long (at "
	         "most 100 years)" },
	       { "gini.conf", 10,
	         "pipeline 'p': step 'f': 'timeout': invalid duration '-5m' (use e.g. 500ms, 30s, "
	         "5min, 1h 30m, 2 days)" },
	       { "gini.conf", 11,
	         "pipeline 'p': step 'g': 'timeout': duration '101 years' is too long (at most 100 "
	         "years)" });
	ck_assert_uint_eq(ct_cfg->shutdown_timeout_usec, 30 * USEC_PER_SEC);
}
END_TEST

START_TEST(duration_valid)
{
	ct_load_main(/* 1 */
	             "shutdown_timeout = \"1m30s\";\n"
	             /* 2 */ "pipelines = (\n"
	             /* 3 */ "  { name = \"p\";\n"
	             /* 4 */ "    steps = (\n"
	             /* 5 */ "      { id = \"a\"; stage = \"noop\"; timeout = 45; },\n"
	             /* 6 */ "      { id = \"b\"; stage = \"noop\"; timeout = \"250ms\"; },\n"
	             /* 7 */ "      { id = \"c\"; stage = \"noop\"; timeout = \"1d\"; "
	             "retry_backoff = \"0\"; },\n"
	             /* 8 */ "      { id = \"d\"; stage = \"noop\"; timeout = \"30\"; "
	             "retry_backoff = 0; },\n"
	             /* 9 */ "      { id = \"e\"; stage = \"noop\"; timeout = 3162240000L; },\n"
	             /* 10 */ "      { id = \"f\"; stage = \"noop\"; timeout = \"1h 30min\"; },\n"
	             /* 11 */ "      { id = \"g\"; stage = \"noop\"; timeout = \"1.5s\"; "
	             "retry_backoff = \"2 weeks\"; }\n"
	             /* 12 */ "    ); }\n"
	             /* 13 */ ");\n");
	expect_none();
	ck_assert_uint_eq(ct_cfg->shutdown_timeout_usec, 90 * USEC_PER_SEC);
	ck_assert_uint_eq(ct_def("p")->steps[0].timeout_usec, 45 * USEC_PER_SEC);
	ck_assert_uint_eq(ct_def("p")->steps[1].timeout_usec, 250 * USEC_PER_MSEC);
	ck_assert_uint_eq(ct_def("p")->steps[2].timeout_usec, USEC_PER_DAY);
	ck_assert_uint_eq(ct_def("p")->steps[2].retry_backoff_usec, 0);
	ck_assert_uint_eq(ct_def("p")->steps[3].timeout_usec, 30 * USEC_PER_SEC);
	ck_assert_uint_eq(ct_def("p")->steps[3].retry_backoff_usec, 0);
	ck_assert_uint_eq(ct_def("p")->steps[4].timeout_usec, UINT64_C(3162240000) * USEC_PER_SEC);
	/* systemd's time span syntax. */
	ck_assert_uint_eq(ct_def("p")->steps[5].timeout_usec, 90 * USEC_PER_MINUTE);
	ck_assert_uint_eq(ct_def("p")->steps[6].timeout_usec, 1500 * USEC_PER_MSEC);
	ck_assert_uint_eq(ct_def("p")->steps[6].retry_backoff_usec, 14 * USEC_PER_DAY);
}
END_TEST

/* ---- pipeline params ---- */

START_TEST(params_valid)
{
	ct_load_main(/* 1 */ "pipelines = (\n"
	                     /* 2 */ "  { name = \"p\";\n"
	                     /* 3 */ "    params = { target = { default = \"/srv\"; pattern = "
	                     "\"^/[a-z/]+$\"; };\n"
	                     /* 4 */ "               count = { pattern = \"[0-9]+\"; };\n"
	                     /* 5 */ "               free = { }; };\n"
	                     /* 6 */ "    steps = ( { id = \"s\"; stage = \"noop\"; } ); }\n"
	                     /* 7 */ ");\n");
	expect_none();
	ck_assert_uint_eq(ct_def("p")->n_params, 3);
	ck_assert_str_eq(ct_def("p")->params[0].name, "target");
	ck_assert_str_eq(ct_def("p")->params[0].def, "/srv");
	ck_assert_str_eq(ct_def("p")->params[0].pattern, "^/[a-z/]+$");
	ck_assert_int_eq(ct_def("p")->params[0].line, 3);
	ck_assert_ptr_null(ct_def("p")->params[1].def);
	ck_assert_ptr_null(ct_def("p")->params[2].pattern);
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

	ct_load_main("pipelines = (\n"
	             "  { name = \"p\";\n"
	             "    params = { target = { default = \"/srv\"; pattern = \"/[a-z/]+\"; };\n"
	             "               count = { pattern = \"[0-9]+\"; }; };\n"
	             "    steps = ( { id = \"s\"; stage = \"noop\"; } ); }\n"
	             ");\n");
	expect_none();
	ck_assert_int_eq(pipeline_compile(ct_def("p"), ct_reg, &p, &ct_diags), 0);
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
	ct_load_main("log_level = \"infoo\";\n");
	expect({ "gini.conf", 1,
	         "'log_level': invalid value 'infoo'; did you mean 'info'? (expected error, "
	         "warning, notice, info or debug)" });
	ck_assert_int_eq(ct_cfg->log_level, LOG_INFO);
	ct_load_main("\nlog_level = \"DEBUG\";\n");
	expect({ "gini.conf", 2,
	         "'log_level': invalid value 'DEBUG'; did you mean 'debug'? (expected error, "
	         "warning, notice, info or debug)" });
	ct_load_main("log_level = \"verbose\";\n");
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
		{ "error", LOG_ERR },    { "err", LOG_ERR },       { "warning", LOG_WARNING },
		{ "warn", LOG_WARNING }, { "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ct_load_main(ct_fmt("log_level = \"%s\";\n", cases[i].text));
		expect_none();
		ck_assert_int_eq(ct_cfg->log_level, cases[i].level);
	}
}
END_TEST

/* ---- enumerations ---- */

START_TEST(enum_values)
{
	ct_load_main(
	        /* 1 */
	        "pipelines = (\n"
	        /* 2 */ "  { name = \"a\"; overlap = \"queue\"; on_failure = \"continue\"; " STEPS
	        " },\n"
	        /* 3 */ "  { name = \"b\"; overlap = \"parallel\"; on_failure = \"stop\"; " STEPS
	        " },\n"
	        /* 4 */ "  { name = \"c\"; overlap = \"skip\"; " STEPS " }\n"
	        /* 5 */ ");\n");
	expect_none();
	ck_assert_int_eq(ct_def("a")->overlap, OVERLAP_QUEUE);
	ck_assert_int_eq(ct_def("a")->on_failure, ON_FAILURE_CONTINUE);
	ck_assert_int_eq(ct_def("b")->overlap, OVERLAP_PARALLEL);
	ck_assert_int_eq(ct_def("b")->on_failure, ON_FAILURE_STOP);
	ck_assert_int_eq(ct_def("c")->overlap, OVERLAP_SKIP);
}
END_TEST

/* ---- signals ---- */

START_TEST(signal_reserved_and_invalid)
{
	const char *use =
	        ct_fmt("(use SIGUSR1, SIGUSR2 or SIGRTMIN+N, N from 0 to %d)", SIGRTMAX - SIGRTMIN);
	const char *reserved =
	        "is reserved (SIGHUP reloads, SIGTERM and SIGINT stop); use SIGUSR1, SIGUSR2 or "
	        "SIGRTMIN+N";

	ct_load_main(
	        /* 1 */ "pipelines = (\n"
	                /* 2 */ "  { name = \"p\";\n"
	                /* 3 */ "    triggers = {\n"
	                /* 4 */ "      signal = [ \"SIGHUP\", \"TERM\", \"SIGINT\", \"SIGKILL\",\n"
	                /* 5 */ "                 \"SIGRTMIN+99\", \"SIGFOO\", \"SIGUSR1\" ];\n"
	                /* 6 */ "    };\n"
	                /* 7 */ "    " STEPS " }\n"
	                /* 8 */ ");\n");
	expect({ "gini.conf", 4, ct_fmt("pipeline 'p': triggers: 'signal': SIGHUP %s", reserved) },
	       { "gini.conf", 4, ct_fmt("pipeline 'p': triggers: 'signal': TERM %s", reserved) },
	       { "gini.conf", 4, ct_fmt("pipeline 'p': triggers: 'signal': SIGINT %s", reserved) },
	       { "gini.conf", 4,
	         ct_fmt("pipeline 'p': triggers: 'signal': SIGKILL cannot trigger a pipeline %s",
	                use) },
	       { "gini.conf", 4,
	         ct_fmt("pipeline 'p': triggers: 'signal': unknown signal 'SIGRTMIN+99' %s", use) },
	       { "gini.conf", 4,
	         ct_fmt("pipeline 'p': triggers: 'signal': unknown signal 'SIGFOO' %s", use) });
	/* The good one is still bound. */
	ck_assert_uint_eq(ct_def("p")->triggers.n_signals, 1);
	ck_assert_int_eq(ct_def("p")->triggers.signals[0], SIGUSR1);
}
END_TEST

START_TEST(signal_too_many)
{
	ct_load_main(/* 1 */ "pipelines = (\n"
	                     /* 2 */ "  { name = \"p\";\n"
	                     /* 3 */ "    triggers = { signal = [ \"SIGRTMIN+1\", \"SIGRTMIN+2\", "
	                     "\"SIGRTMIN+3\",\n"
	                     /* 4 */ "      \"SIGRTMIN+4\", \"SIGRTMIN+5\", \"SIGRTMIN+6\", "
	                     "\"SIGRTMIN+7\",\n"
	                     /* 5 */ "      \"SIGRTMIN+8\", \"SIGRTMIN+9\" ]; };\n"
	                     /* 6 */ "    " STEPS " }\n"
	                     /* 7 */ ");\n");
	expect({ "gini.conf", 3, "pipeline 'p': triggers: 'signal': more than 8 signals" });
	ck_assert_uint_eq(ct_def("p")->triggers.n_signals, TRIGGER_SIGNALS_MAX);
}
END_TEST

START_TEST(signal_valid)
{
	ct_load_main(ct_fmt(
	        /* 1 */
	        "pipelines = (\n"
	        /* 2 */ "  { name = \"one\"; triggers = { signal = \"USR2\"; }; " STEPS " },\n"
	        /* 3 */ "  { name = \"many\"; triggers = { signal = [ \"SIGUSR1\", \"SIGRTMIN\",\n"
	        /* 4 */ "      \"SIGRTMIN+3\", \"SIGRTMIN+%d\" ]; }; " STEPS " }\n"
	        /* 5 */ ");\n",
	        SIGRTMAX - SIGRTMIN));
	expect_none();
	ck_assert_uint_eq(ct_def("one")->triggers.n_signals, 1);
	ck_assert_int_eq(ct_def("one")->triggers.signals[0], SIGUSR2);
	ck_assert_uint_eq(ct_def("many")->triggers.n_signals, 4);
	ck_assert_int_eq(ct_def("many")->triggers.signals[0], SIGUSR1);
	ck_assert_int_eq(ct_def("many")->triggers.signals[1], SIGRTMIN);
	ck_assert_int_eq(ct_def("many")->triggers.signals[2], SIGRTMIN + 3);
	ck_assert_int_eq(ct_def("many")->triggers.signals[3], SIGRTMAX);
}
END_TEST

/* ---- schedule ---- */

START_TEST(schedule_invalid)
{
	ct_load_main(/* 1 */
	             "pipelines = (\n"
	             /* 2 */ "  { name = \"a\"; triggers = { schedule = \"61 * * * *\"; }; " STEPS
	             " },\n"
	             /* 3 */ "  { name = \"b\"; triggers = { schedule = \"@sometimes\"; }; " STEPS
	             " },\n"
	             /* 4 */ "  { name = \"c\";\n"
	             /* 5 */ "    triggers = {\n"
	             /* 6 */ "      schedule = \"* * *\";\n"
	             /* 7 */ "    };\n"
	             /* 8 */ "    " STEPS " },\n"
	             /* 9 */ "  { name = \"d\"; triggers = { schedule = \"0 0 31 2 *\"; }; " STEPS
	             " }\n"
	             /* 10 */ ");\n");
	expect({ "gini.conf", 2,
	         ct_fmt("pipeline 'a': triggers: 'schedule': invalid cron expression '61 * * * *': "
	                "%s",
	                ct_cron_error("61 * * * *")) },
	       { "gini.conf", 3,
	         ct_fmt("pipeline 'b': triggers: 'schedule': invalid cron expression '@sometimes': "
	                "%s",
	                ct_cron_error("@sometimes")) },
	       { "gini.conf", 6,
	         ct_fmt("pipeline 'c': triggers: 'schedule': invalid cron expression '* * *': %s",
	                ct_cron_error("* * *")) },
	       { "gini.conf", 9,
	         ct_fmt("pipeline 'd': triggers: 'schedule': invalid cron expression '0 0 31 2 *': "
	                "%s",
	                ct_cron_error("0 0 31 2 *")) });
	ck_assert_ptr_null(ct_def("a")->triggers.schedule);
}
END_TEST

START_TEST(schedule_valid)
{
	struct cron hourly;

	ct_load_main(
	        /* 1 */ "pipelines = (\n"
	                /* 2 */ "  { name = \"a\"; triggers = { schedule = \"0 2 * * 1-5\"; "
	                "}; " STEPS " },\n"
	                /* 3 */ "  { name = \"b\"; triggers = { schedule = \"@hourly\"; }; " STEPS
	                " }\n"
	                /* 4 */ ");\n");
	expect_none();
	ck_assert_str_eq(ct_def("a")->triggers.schedule, "0 2 * * 1-5");
	ck_assert_uint_eq(ct_def("a")->triggers.cron.minute, UINT64_C(1) << 0);
	ck_assert_uint_eq(ct_def("a")->triggers.cron.hour, 1u << 2);
	ck_assert_uint_eq(ct_def("a")->triggers.cron.dow, 0x3e); /* Monday to Friday */
	ck_assert(ct_def("a")->triggers.cron.dom_star);
	ck_assert(!ct_def("a")->triggers.cron.dow_star);
	ck_assert_str_eq(ct_def("b")->triggers.schedule, "@hourly");
	ck_assert_int_eq(cron_parse("@hourly", &hourly, NULL, 0), 0);
	ck_assert_uint_eq(ct_def("b")->triggers.cron.minute, hourly.minute);
	ck_assert_uint_eq(ct_def("b")->triggers.cron.hour, hourly.hour);
	ck_assert_uint_eq(ct_def("b")->triggers.cron.dom, hourly.dom);
	ck_assert_uint_eq(ct_def("b")->triggers.cron.month, hourly.month);
	ck_assert_uint_eq(ct_def("b")->triggers.cron.dow, hourly.dow);
}
END_TEST

/* ---- every ---- */

START_TEST(every_minimum)
{
	ct_load_main(
	        /* 1 */ "pipelines = (\n"
	                /* 2 */ "  { name = \"a\"; triggers = { every = \"5ms\"; }; " STEPS " },\n"
	                /* 3 */ "  { name = \"b\";\n"
	                /* 4 */ "    triggers = {\n"
	                /* 5 */ "      every = 0;\n"
	                /* 6 */ "    };\n"
	                /* 7 */ "    " STEPS " },\n"
	                /* 8 */ "  { name = \"c\"; triggers = { every = \"10ms\"; }; " STEPS " },\n"
	                /* 9 */ "  { name = \"d\"; triggers = { every = \"1h30m\"; }; " STEPS " }\n"
	                /* 10 */ ");\n");
	expect({ "gini.conf", 2,
	         "pipeline 'a': triggers: 'every': interval must be at least 10ms" },
	       { "gini.conf", 5,
	         "pipeline 'b': triggers: 'every': interval must be at least 10ms" });
	ck_assert_uint_eq(ct_def("a")->triggers.every_usec, 0);
	ck_assert_uint_eq(ct_def("c")->triggers.every_usec, 10 * USEC_PER_MSEC);
	ck_assert_uint_eq(ct_def("d")->triggers.every_usec, 90 * USEC_PER_MINUTE);
}
END_TEST

/* ---- history ---- */

START_TEST(history_keys)
{
	ct_load_main(/* 1 */ "history_max_runs = 0;\n"
	                     /* 2 */ "history_max_age = \"30s\";\n"
	                     /* 3 */ "history_output_max = \"1G\";\n"
	                     /* 4 */ "pipelines = ();\n");
	expect({ "gini.conf", 1, "'history_max_runs': 0 is out of range 1-10000000" },
	       { "gini.conf", 2, "'history_max_age': must be at least 1m" },
	       { "gini.conf", 3, "'history_output_max': at most 64M" });
	ck_assert_uint_eq(ct_cfg->history_max_runs, 10000);
	ck_assert_uint_eq(ct_cfg->history_max_age_usec, 30 * 24 * USEC_PER_HOUR);
	ck_assert_uint_eq(ct_cfg->history_output_max, 64 * 1024);
	ct_load_main("history_max_runs = 50;\nhistory_max_age = \"2d\";\n"
	             "history_output_max = \"1K\";\npipelines = ();\n");
	expect_none();
	ck_assert_uint_eq(ct_cfg->history_max_runs, 50);
	ck_assert_uint_eq(ct_cfg->history_max_age_usec, 48 * USEC_PER_HOUR);
	ck_assert_uint_eq(ct_cfg->history_output_max, 1024);
}
END_TEST

/* ---- persistent ---- */

START_TEST(persistent_needs_schedule)
{
	ct_load_main(/* 1 */ "pipelines = (\n"
	                     /* 2 */ "  { name = \"p\";\n"
	                     /* 3 */ "    triggers = {\n"
	                     /* 4 */ "      on_start = true;\n"
	                     /* 5 */ "      persistent = true;\n"
	                     /* 6 */ "    };\n"
	                     /* 7 */ "    " STEPS " },\n"
	                     /* 8 */ "  { name = \"q\"; triggers = { persistent = false; }; " STEPS
	                     " },\n"
	                     /* 9 */ "  { name = \"r\"; triggers = { schedule = \"@daily\"; "
	                     "persistent = true; };\n"
	                     /* 10 */ "    " STEPS " }\n"
	                     /* 11 */ ");\n");
	expect({ "gini.conf", 5,
	         "pipeline 'p': triggers: 'persistent' needs a 'schedule' or an 'every'" });
	ck_assert(!ct_def("q")->triggers.persistent);
	ck_assert(ct_def("r")->triggers.persistent);
}
END_TEST

/* ---- a valid configuration, value by value ---- */

START_TEST(valid_config)
{
	struct pipeline *cp = NULL;
	const struct pipeline_def *p;
	const struct step_def *s;

	ct_load_main(
	        /* 1 */
	        "plugin_dirs = [ \"/usr/lib/gini/stages\" ];\n"
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
	        /* 29 */ "        params = { argv = [ \"/usr/local/bin/upload\" ]; verbose = true; "
	        "}; },\n"
	        /* 30 */ "      { id = \"notify\"; stage = \"noop\"; after = \"upload\"; enabled = "
	        "false;\n"
	        /* 31 */ "        timeout = 45; },\n"
	        /* 32 */ "      { id = \"cleanup\"; stage = \"noop\"; after = [ \"snap\", "
	        "\"upload\" ]; }\n"
	        /* 33 */ "    );\n"
	        /* 34 */ "  },\n"
	        /* 35 */ "  { name = \"plain\"; steps = ( { id = \"only\"; stage = \"noop\"; } ); "
	        "}\n"
	        /* 36 */ ");\n");
	expect_none();

	ck_assert_uint_eq(ct_cfg->n_plugin_dirs, 1);
	ck_assert_str_eq(ct_cfg->plugin_dirs[0], "/usr/lib/gini/stages");
	ck_assert_str_eq(ct_cfg->control_socket, "/run/gini/test.sock");
	ck_assert_str_eq(ct_cfg->control_group, "root");
	ck_assert_str_eq(ct_cfg->control_readonly_group, "adm");
	ck_assert_str_eq(ct_cfg->state_dir, "/var/lib/gini-test");
	ck_assert_uint_eq(ct_cfg->workers, 3);
	ck_assert_int_eq(ct_cfg->log_level, LOG_DEBUG);
	ck_assert_uint_eq(ct_cfg->shutdown_timeout_usec, 90 * USEC_PER_SEC);
	ck_assert_uint_eq(ct_cfg->n_pipelines, 2);

	p = &ct_cfg->pipelines[0];
	ck_assert_str_eq(p->name, "nightly-backup");
	ck_assert_str_eq(p->description, "Snapshot, then upload");
	ck_assert_str_eq(p->file, ct_at("gini.conf"));
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
	ck_assert_str_eq(s->file, ct_at("gini.conf"));
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

	ck_assert_str_eq(ct_cfg->pipelines[1].name, "plain");
	ck_assert_int_eq(ct_cfg->pipelines[1].line, 35);

	/* And it compiles: the DAG as written, the disabled step left unbound. */
	ck_assert_int_eq(pipeline_compile(&ct_cfg->pipelines[0], ct_reg, &cp, &ct_diags), 0);
	expect_none();
	ck_assert_int_eq(ct_live, 2);
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
	ck_assert_int_eq(ct_live, 0);
	ck_assert_int_eq(ct_compile("plain"), 0);
	expect_none();
}
END_TEST

Suite *
config_values_suite(void)
{
	Suite *s = suite_create("config_values");
	TCase *tc;

	tc = ct_tcase(s, "unknown_keys");
	tcase_add_test(tc, main_only_keys_in_include);

	tc = ct_tcase(s, "ranges");
	tcase_add_test(tc, range_out);
	tcase_add_test(tc, range_limits_accepted);

	tc = ct_tcase(s, "durations");
	tcase_add_test(tc, duration_invalid);
	tcase_add_test(tc, duration_valid);

	tc = ct_tcase(s, "params");
	tcase_add_test(tc, params_valid);
	tcase_add_test(tc, params_of_a_run);

	tc = ct_tcase(s, "log_level");
	tcase_add_test(tc, log_level_invalid);
	tcase_add_test(tc, log_level_values);

	tc = ct_tcase(s, "enums");
	tcase_add_test(tc, enum_values);

	tc = ct_tcase(s, "signals");
	tcase_add_test(tc, signal_reserved_and_invalid);
	tcase_add_test(tc, signal_too_many);
	tcase_add_test(tc, signal_valid);

	tc = ct_tcase(s, "schedule");
	tcase_add_test(tc, schedule_invalid);
	tcase_add_test(tc, schedule_valid);

	tc = ct_tcase(s, "every");
	tcase_add_test(tc, every_minimum);

	tc = ct_tcase(s, "history");
	tcase_add_test(tc, history_keys);

	tc = ct_tcase(s, "persistent");
	tcase_add_test(tc, persistent_needs_schedule);

	tc = ct_tcase(s, "valid");
	tcase_add_test(tc, valid_config);

	return s;
}
