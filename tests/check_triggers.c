/* SPDX-License-Identifier: MIT */
/*
 * The triggers of issue 13 through the real programs: `ginid -t` reports
 * every mistake in the new keys (timezone and CRON_TZ=, random_delay,
 * persistent every, watch, after_pipeline) with its file and line, and
 * shows a schedule's next fire time in its own zone; a real ginid runs one
 * pipeline for a burst of 10,000 files, with the changed paths in the run's
 * context, and runs pipelines after another one's runs end.
 */
#include "tests.h"

#include "daemon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

static struct daemon d;

static void
teardown(void)
{
	daemon_done(&d);
}

static void
assert_diag(const char *err, int line, const char *msg)
{
	char want[1024];

	snprintf(want, sizeof(want), "%s:%d: %s\n", d.conf, line, msg);
	ck_assert_msg(strstr(err, want), "missing \"%s\" in:\n%s", want, err);
}

#define STEP "steps = ( { id = \"a\"; stage = \"log\"; params = { message = \"x\"; }; } );"

START_TEST(test_config_errors)
{
	char *out = NULL, *err = NULL;

	daemon_init(
	        &d, "triggers",
	        /* 1 */
	        "pipelines = (\n"
	        /* 2 */ "  { name = \"tz\"; triggers = { schedule = \"0 2 * * *\";\n"
	        /* 3 */ "      timezone = \"Europe/Nowhere\"; }; " STEP " },\n"
	        /* 4 */ "  { name = \"both\"; triggers = {\n"
	        /* 5 */ "      schedule = \"CRON_TZ=UTC 0 2 * * *\"; timezone = \"UTC\"; }; " STEP
	        " },\n"
	        /* 6 */ "  { name = \"nosched\"; triggers = { timezone = \"UTC\"; }; " STEP " },\n"
	        /* 7 */ "  { name = \"fixed\"; triggers = { every = \"1h\";\n"
	        /* 8 */ "      fixed_random_delay = true; }; " STEP " },\n"
	        /* 9 */ "  { name = \"delay\"; triggers = { on_start = true;\n"
	        /* 10 */ "      random_delay = \"5m\"; }; " STEP " },\n"
	        /* 11 */ "  { name = \"w1\"; triggers = { watch = {\n"
	        /* 12 */ "      events = [ \"create\", \"clsoe_write\" ]; }; }; " STEP " },\n"
	        /* 13 */ "  { name = \"w2\"; triggers = { watch = { paths = [ \"/tmp\" ];\n"
	        /* 14 */ "      settle = \"2h\"; setle = 1; }; }; " STEP " },\n"
	        /* 15 */ "  { name = \"a\"; triggers = { after_pipeline = {\n"
	        /* 16 */ "      pipeline = \"b\"; }; }; " STEP " },\n"
	        /* 17 */ "  { name = \"b\"; triggers = { after_pipeline = {\n"
	        /* 18 */ "      pipeline = \"a\"; result = \"any\"; }; }; " STEP " },\n"
	        /* 19 */ "  { name = \"c\"; triggers = { after_pipeline = {\n"
	        /* 20 */ "      pipeline = \"bakcup\"; result = \"sometimes\"; }; }; " STEP " },\n"
	        /* 21 */ "  { name = \"backup\"; " STEP " },\n"
	        /* 22 */ "  { name = \"self\"; triggers = { after_pipeline = { pipeline = "
	        "\"self\"; }; };\n"
	        /* 23 */ "    " STEP " },\n"
	        /* 24 */ "  { triggers = { after_pipeline = { pipeline = \"zzz\"; }; }; " STEP
	        " }\n"
	        /* 25 */ ");\n");
	ck_assert_int_ne(daemon_check(&d, &out, &err), 0);
	assert_diag(err, 3,
	            "pipeline 'tz': triggers: 'timezone': unknown time zone 'Europe/Nowhere' (no "
	            "/usr/share/zoneinfo/Europe/Nowhere)");
	assert_diag(err, 5,
	            "pipeline 'both': triggers: 'schedule': CRON_TZ= and 'timezone' both give a "
	            "time zone; keep one");
	assert_diag(err, 6, "pipeline 'nosched': triggers: 'timezone' needs a 'schedule'");
	assert_diag(err, 8,
	            "pipeline 'fixed': triggers: 'fixed_random_delay' needs a 'random_delay'");
	assert_diag(err, 10,
	            "pipeline 'delay': triggers: 'random_delay' needs a 'schedule' or an 'every'");
	assert_diag(err, 11,
	            "pipeline 'w1': triggers: watch: 'paths' is missing: name the files or "
	            "directories to watch");
	assert_diag(err, 14, "pipeline 'w2': triggers: watch: 'settle': must be from 10ms to 1h");
	ck_assert_ptr_nonnull(strstr(err, "pipeline 'w2': triggers: watch: unknown key 'setle'"));
	assert_diag(err, 15, "pipeline 'a': triggers: after_pipeline: cycle a -> b -> a");
	ck_assert_ptr_null(strstr(err, "cycle b -> a -> b"));
	assert_diag(err, 19,
	            "pipeline 'c': triggers: after_pipeline: unknown pipeline 'bakcup'; did you "
	            "mean 'backup'?");
	ck_assert_ptr_nonnull(strstr(err, "pipeline 'c': triggers: after_pipeline: 'result'"));
	assert_diag(err, 22, "pipeline 'self': triggers: after_pipeline: cycle self -> self");
	/* A pipeline without a name is checked under its number. */
	assert_diag(err, 24, "pipeline '#13': triggers: after_pipeline: unknown pipeline 'zzz'");
	free(out);
	free(err);
}
END_TEST

START_TEST(test_config_watch_events)
{
	char *out = NULL, *err = NULL;

	daemon_init(&d, "triggers",
	            /* 1 */
	            "pipelines = (\n"
	            /* 2 */ "  { name = \"w\"; triggers = { watch = { paths = [ \"/tmp\" ];\n"
	            /* 3 */ "      events = [ \"create\", \"clsoe_write\" ]; }; }; " STEP " }\n"
	            /* 4 */ ");\n");
	ck_assert_int_ne(daemon_check(&d, &out, &err), 0);
	assert_diag(err, 3,
	            "pipeline 'w': triggers: watch: 'events': unknown event 'clsoe_write'; did you "
	            "mean 'close_write'? (known: create, close_write, moved_to, delete, "
	            "moved_from, modify, attrib)");
	free(out);
	free(err);
}
END_TEST

/* A schedule's next fire is shown in its own zone, whatever the daemon's. */
START_TEST(test_config_shows_zone)
{
	char *out = NULL, *err = NULL;

	daemon_init(&d, "triggers",
	            "pipelines = (\n"
	            "  { name = \"berlin\"; triggers = { schedule = \"0 2 * * *\";\n"
	            "      timezone = \"Europe/Berlin\"; random_delay = \"5m\";\n"
	            "      fixed_random_delay = true; persistent = true; }; " STEP " },\n"
	            "  { name = \"ny\"; triggers = {\n"
	            "      schedule = \"CRON_TZ=America/New_York 30 1 * * *\"; }; " STEP " },\n"
	            "  { name = \"w\"; triggers = { watch = { paths = [ \"/srv/in\" ];\n"
	            "      events = [ \"moved_to\" ]; settle = \"3s\"; }; }; " STEP " },\n"
	            "  { name = \"after\"; triggers = { after_pipeline = { pipeline = \"w\";\n"
	            "      result = \"failure\"; }; }; " STEP " },\n"
	            "  { name = \"tick\"; triggers = { every = \"1h\"; persistent = true; }; " STEP
	            " }\n"
	            ");\n");
	setenv("TZ", "Asia/Tokyo", 1);
	ck_assert_int_eq(daemon_check(&d, &out, &err), 0);
	unsetenv("TZ");
	ck_assert_msg(strstr(out, "T02:00:00+01:00 Europe/Berlin)") ||
	                      strstr(out, "T02:00:00+02:00 Europe/Berlin)"),
	              "%s", out);
	ck_assert_ptr_nonnull(strstr(out, " persistent, random delay up to 5m (fixed)"));
	ck_assert_msg(strstr(out, "T01:30:00-05:00 America/New_York)") ||
	                      strstr(out, "T01:30:00-04:00 America/New_York)"),
	              "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "triggers: watch /srv/in (moved_to, settle 3s)"));
	ck_assert_ptr_nonnull(strstr(out, "triggers: after pipeline 'w' (failure)"));
	ck_assert_ptr_nonnull(strstr(out, "triggers: every 1h persistent"));
	free(out);
	free(err);
}
END_TEST

/* A burst of 10,000 files: a bounded number of runs, the paths in context. */
START_TEST(test_watch_burst)
{
	char *conf, dir[4096], marker[4200];
	size_t runs;

	daemon_init(&d, "triggers", "");
	snprintf(dir, sizeof(dir), "%s", daemon_path(&d, "incoming"));
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_ne(
	        asprintf(&conf,
	                 "pipelines = ( { name = \"in\"; overlap = \"parallel\";\n"
	                 "  triggers = { watch = { paths = [ \"incoming\" ]; settle = \"1s\"; }; "
	                 "};\n"
	                 "  steps = ( { id = \"log\"; stage = \"exec\"; params = { argv = [\n"
	                 "    \"/bin/sh\", \"-c\", \"printf '%%s\\\\n--\\\\n' \\\"$1\\\" >> %s\",\n"
	                 "    \"sh\", \"${gini.changed_paths}\" ]; }; } ); } );\n",
	                 daemon_path(&d, "paths")),
	        -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
	daemon_start(&d);
	for (int i = 0; i < 10000; i++) {
		char path[4200];
		int fd;

		snprintf(path, sizeof(path), "%s/file-%05d", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	/* The burst is over once the run for a later file has happened. */
	ck_assert(wait_file(daemon_path(&d, "paths"), "/incoming/file-", 60000));
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	ck_assert(daemon_wait_log(&d, "run 1: pipeline 'in': success", 1, 60000));
	test_write_file(marker, "x", 0644);
	ck_assert(wait_file(daemon_path(&d, "paths"), "/incoming/marker\n", 60000));
	runs = file_count(daemon_path(&d, "paths"), "--");
	ck_assert_msg(runs >= 2 && runs <= 12, "%zu runs", runs);
	/* Each run's context is bounded: at most 1000 paths. */
	ck_assert_uint_le(file_count(daemon_path(&d, "paths"), "/incoming/file-"), 1000 * runs);
}
END_TEST

/* after_pipeline: runs follow another pipeline's results. */
START_TEST(test_after_pipeline_runs)
{
	char *conf;

	daemon_init(&d, "triggers", "");
	ck_assert_int_ne(
	        asprintf(
	                &conf,
	                "pipelines = (\n"
	                "  { name = \"ok\"; steps = ( { id = \"t\"; stage = \"exec\";\n"
	                "      params = { argv = [ \"/bin/true\" ]; }; } ); },\n"
	                "  { name = \"bad\"; steps = ( { id = \"f\"; stage = \"exec\";\n"
	                "      params = { argv = [ \"/bin/false\" ]; }; } ); },\n"
	                "  { name = \"on-ok\"; triggers = { after_pipeline = { pipeline = \"ok\"; "
	                "}; };\n"
	                "    steps = ( { id = \"w\"; stage = \"write\"; params = { path = \"%s\";\n"
	                "      template = \"after ok\"; }; } ); },\n"
	                "  { name = \"on-bad\"; triggers = { after_pipeline = { pipeline = "
	                "\"bad\";\n"
	                "      result = \"failure\"; }; };\n"
	                "    steps = ( { id = \"w\"; stage = \"write\"; params = { path = \"%s\";\n"
	                "      template = \"after bad\"; }; } ); },\n"
	                "  { name = \"never\"; triggers = { after_pipeline = { pipeline = \"ok\";\n"
	                "      result = \"failure\"; }; };\n"
	                "    steps = ( { id = \"w\"; stage = \"log\"; params = { message = \"x\"; "
	                "}; } ); }\n"
	                ");\n",
	                daemon_path(&d, "ok.out"), daemon_path(&d, "bad.out")),
	        -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
	daemon_start(&d);
	ck_assert_int_eq(daemon_ginictl(&d, NULL, NULL, "run", "ok", "--wait", NULL), 0);
	ck_assert(wait_file(daemon_path(&d, "ok.out"), "after ok", 60000));
	ck_assert_int_eq(daemon_ginictl(&d, NULL, NULL, "run", "bad", "--wait", NULL), 1);
	ck_assert(wait_file(daemon_path(&d, "bad.out"), "after bad", 60000));
	ck_assert(daemon_wait_log(&d, "(trigger: after pipeline 'bad' (failure))", 1, 60000));
	/* Both runs of 'ok' and 'bad' ended before the runs they triggered. */
	ck_assert_uint_eq(daemon_log_count(&d, "pipeline 'never'"), 0);
}
END_TEST

/* ginictl pipelines shows the new triggers, and --json has them all. */
START_TEST(test_ginictl_shows_triggers)
{
	char *out = NULL, *err = NULL;

	daemon_init(&d, "triggers",
	            "pipelines = (\n"
	            "  { name = \"berlin\"; triggers = { schedule = \"0 2 * * *\";\n"
	            "      timezone = \"Europe/Berlin\"; random_delay = \"5m\"; }; " STEP " },\n"
	            "  { name = \"w\"; triggers = { watch = { paths = [ \"/srv/in\" ];\n"
	            "      events = [ \"moved_to\", \"create\" ]; settle = \"3s\"; }; }; " STEP
	            " },\n"
	            "  { name = \"after\"; triggers = { after_pipeline = { pipeline = \"w\";\n"
	            "      result = \"failure\"; }; }; " STEP " },\n"
	            "  { name = \"tick\"; triggers = { every = \"1h\"; persistent = true; }; " STEP
	            " }\n"
	            ");\n");
	daemon_start(&d);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "pipelines", NULL), 0);
	ck_assert_msg(strstr(out, "\"0 2 * * *\" Europe/Berlin ~5m"), "%s", out);
	ck_assert_msg(strstr(out, "watch /srv/in"), "%s", out);
	ck_assert_msg(strstr(out, "after w (failure)"), "%s", out);
	ck_assert_msg(strstr(out, "every 1h persistent"), "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "--json", "pipelines", NULL), 0);
	ck_assert_msg(strstr(out, "\"timezone\": \"Europe/Berlin\"") &&
	                      strstr(out, "\"random_delay\": \"5m\"") &&
	                      strstr(out, "\"moved_to\"") && strstr(out, "\"settle\": \"3s\"") &&
	                      strstr(out, "\"/srv/in\"") &&
	                      strstr(out, "\"result\": \"failure\"") &&
	                      strstr(out, "\"fixed_random_delay\": false"),
	              "%s", out);
	free(out);
	free(err);
}
END_TEST

Suite *
triggers_suite(void)
{
	Suite *s = suite_create("triggers");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_config_watch_events);
	tcase_add_test(tc, test_config_shows_zone);
	tcase_add_test(tc, test_ginictl_shows_triggers);
	suite_add_tcase(s, tc);

	tc = tcase_create("watch");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_watch_burst);
	suite_add_tcase(s, tc);

	tc = tcase_create("after_pipeline");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_after_pipeline_runs);
	suite_add_tcase(s, tc);
	return s;
}
