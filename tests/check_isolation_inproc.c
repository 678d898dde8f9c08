/* SPDX-License-Identifier: MIT */
/*
 * In-process plugins, part of the isolation suite: a plugin file
 * overwritten in place while loaded, a crash that names the step, a
 * worker that ignores its cancellation and is abandoned, and the threads
 * each callback runs on. The harness is check_isolation.h.
 */
#include "check_isolation.h"

/* --- in-process steps: plugin files, crashes, abandoned workers --- */

/*
 * Issue 16 item 3: a plugin overwritten in place (cp, not mv) while a step
 * of it runs, then SIGHUP, crashed the daemon, and the run in flight ran
 * the new file's code. Now the running step ends with the old code's
 * result, the daemon survives, and the reload loads the new version.
 */
START_TEST(plugin_overwritten_in_place)
{
	char src[4096], line[128];
	int st;

	iso_init("{ name = \"v\"; overlap = \"parallel\"; steps = ( { id = \"s\"; stage = "
	         "\"versioned\"; params = { sleep = \"1500ms\"; }; }, { id = \"l\"; stage = "
	         "\"log\"; after = \"s\"; params = { message = \"ran ${version}\"; }; } ); }",
	         "log", NULL);
	add_plugin("versioned_v1", "versioned");
	iso_start();
#define MINE(what) (snprintf(line, sizeof(line), "%s %d\n", what, (int)d.pid), line)
	ck_assert_int_eq(ctl(NULL, "run", "v", NULL), 0);
	ck_assert(wait_file(hooks, MINE("start 1.0.0"), 10000));
	snprintf(src, sizeof(src), "%s/tests/plugins/versioned_v2.so", test_build_dir());
	overwrite_in_place(src, daemon_path(&d, "stages/versioned.so"));
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d,
	                          "reloaded: generation 2 with 2 stage types (1 loaded, 1 "
	                          "unchanged)",
	                          1, 10000));
	/* The step in flight finished with the code it started with. */
	ck_assert(wait_file(hooks, MINE("end 1.0.0"), 10000));
	ck_assert(daemon_wait_log(&d, "step 'l': ran 1.0.0", 1, 10000));
	ck_assert(daemon_wait_log(&d, "pipeline 'v': success", 1, 10000));
	ck_assert_uint_eq(file_count(hooks, "end 2.0.0"), 0);
	/* And the reload took the new file. */
	ck_assert_int_eq(ctl(NULL, "run", "v", "--wait", NULL), 0);
	ck_assert(daemon_wait_log(&d, "step 'l': ran 2.0.0", 1, 10000));
	ck_assert_uint_eq(daemon_log_count(&d, "step 'l': ran 1.0.0"), 1);
	ck_assert(wait_file(hooks, MINE("unload 1.0.0"), 10000));
#undef MINE
	ck_assert_int_eq(kill(d.pid, 0), 0);
	iso_stop();
	(void)st;
}
END_TEST

/*
 * Issue 16 item 12: an in-process step that crashes the daemon leaves one
 * line naming its stage, plugin file, pipeline and run, and the daemon
 * dies of the real signal.
 */
START_TEST(crash_names_the_step)
{
	_cleanup_free_ char *log = NULL;
	char expect[4096];
	int st;

	if (*GINI_TEST_SANITIZE) {
		fprintf(stderr, "isolation: crash line test skipped (the sanitizers own SIGSEGV; "
		                "ginid installs no crash handler under them)\n");
		return;
	}
	iso_init("{ name = \"boom\"; steps = ( { id = \"bang\"; stage = \"hostile-segv-run\"; "
	         "} ); }",
	         "hostile_segv_run", NULL);
	iso_start();
	ck_assert_int_ne(ctl(NULL, "run", "boom", "--wait", NULL), 0);
	st = daemon_wait_exit(&d, 20000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGSEGV);
	snprintf(expect, sizeof(expect),
	         ": pipeline 'boom': step 'bang': stage 'hostile-segv-run' (plugin "
	         "%s/hostile_segv_run.so) crashed the daemon with SIGSEGV in run()\n",
	         plugins);
	log = read_log();
	ck_assert_msg(strstr(log, expect), "no '%s' in:\n%s", expect, log);
	ck_assert_uint_eq(daemon_log_count(&d, "crashed the daemon"), 1);
	ck_assert_ptr_nonnull(strstr(log, "\nrun 1: pipeline 'boom'"));
}
END_TEST

/*
 * Issue 16 item 12: an in-process step that ignores its cancellation is
 * abandoned after its timeout and the overrun grace: its run ends, its
 * pipeline can run again, and status and metrics count the stuck worker
 * until its stage returns.
 */
START_TEST(ignored_cancellation_is_abandoned)
{
	_cleanup_free_ char *out = NULL, *json = NULL;
	char line[64];

	iso_init("{ name = \"stuck\"; steps = ( { id = \"nap\"; stage = \"stubborn\"; timeout = "
	         "\"200ms\"; params = { sleep = \"9s\"; }; } ); }",
	         "stubborn", NULL);
	iso_start();
	/* Timeout, then 5 s of grace: the run ends (failed) while run() sleeps. */
	ck_assert_int_eq(ctl(&out, "run", "stuck", "--wait", NULL), 1);
	ck_assert(daemon_wait_log(&d, "step 'nap': abandoned: timed out after 200ms", 1, 1000));
	ck_assert(daemon_wait_log(&d, "pipeline 'stuck': failed", 1, 1000));
	ck_assert_uint_eq(file_count(hooks, "returned"), 0);
	assert_status_answers("abandoned:      1 worker stuck");
	ck_assert_int_eq(ctl(&json, "metrics", NULL), 0);
	ck_assert_ptr_nonnull(strstr(json, "\ngini_workers_abandoned 1\n"));
	free(json);
	json = NULL;
	/* The pipeline is not "running" any more: it starts again. */
	ck_assert_int_eq(ctl(NULL, "run", "stuck", NULL), 0);
	ck_assert(daemon_wait_log(&d, "pipeline 'stuck': started", 2, 5000));
	/* The first stage returns at last: its worker leaves, nothing breaks. */
	snprintf(line, sizeof(line), "returned %d", (int)d.pid);
	ck_assert(wait_file(hooks, line, 15000));
	ck_assert(daemon_wait_log(&d, "the abandoned stage returned at last", 1, 5000));
	ck_assert(daemon_wait_log(&d, "the abandoned stage returned at last", 2, 15000));
	ck_assert_int_eq(ctl(&json, "metrics", NULL), 0);
	ck_assert_ptr_nonnull(strstr(json, "\ngini_workers_abandoned 0\n"));
	iso_stop();
}
END_TEST

/*
 * Issue 11 item 7: each callback runs where gini-stage(3) says, in which
 * process and on which thread ("main" is the process's main thread, ginid's
 * loop thread; "other" a worker thread).
 */
START_TEST(callbacks_run_where_documented)
{
	static const struct {
		const char *callback, *where[3];
	} allowed[] = {
		{ "load", { "ginid main", "gini-probe main", "gini-worker main" } },
		{ "unload", { "ginid main", "gini-probe main", "gini-worker main" } },
		{ "create", { "ginid main", "gini-worker main" } },
		{ "destroy", { "ginid main", "gini-worker main" } },
		{ "run", { "ginid other", "gini-worker main" } },
		{ "describe", { "ginid other" } },
		{ "check", { "ginid other" } },
	};
	/* And each of these happened. */
	static const char *const seen[] = {
		"load gini-probe main",     "unload gini-probe main",  "load ginid main",
		"create ginid main",        "run ginid other",         "describe ginid other",
		"check ginid other",        "destroy ginid main",      "unload ginid main",
		"load gini-worker main",    "create gini-worker main", "run gini-worker main",
		"destroy gini-worker main", "unload gini-worker main",
	};
	_cleanup_free_ char *sites = NULL, *text = NULL;
	char *save = NULL;

	iso_init("{ name = \"here\"; steps = ( { id = \"a\"; stage = \"callsites\"; } ); },\n"
	         "{ name = \"there\"; steps = ( { id = \"b\"; stage = \"callsites\"; isolation = "
	         "\"process\"; } ); }",
	         "callsites", NULL);
	sites = strdup(daemon_path(&d, "callsites.log"));
	setenv("GINI_TEST_CALLSITES", sites, 1);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "here", "--wait", NULL), 0);
	ck_assert_int_eq(ctl(NULL, "run", "here", "--dry-run", "--wait", NULL), 0);
	ck_assert_int_eq(ctl(NULL, "run", "there", "--wait", NULL), 0);
	ck_assert_int_eq(ctl(NULL, "run", "there", "--dry-run", "--wait", NULL), 0);
	/* A reload compiles the steps again; the old instances go. */
	test_write_file(d.conf,
	                "pipelines = ( { name = \"more\"; steps = ( { id = \"c\"; stage = "
	                "\"callsites\"; } ); } );\n",
	                0644);
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "reloaded: generation 2", 1, 10000));
	iso_stop();
	unsetenv("GINI_TEST_CALLSITES");
	ck_assert_int_eq(read_file(sites, 1 << 20, &text, NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(seen); i++)
		ck_assert_msg(strstr(text, seen[i]), "never saw '%s' in:\n%s", seen[i], text);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *where = strchr(l, ' ');
		bool ok = false;

		ck_assert_ptr_nonnull(where);
		for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
			if (!strncmp(l, allowed[i].callback, (size_t)(where - l)) &&
			    !allowed[i].callback[where - l])
				for (size_t k = 0; k < 3 && allowed[i].where[k]; k++)
					ok = ok || !strcmp(where + 1, allowed[i].where[k]);
		ck_assert_msg(ok, "'%s' is not where gini-stage(3) says", l);
	}
}
END_TEST

void
isolation_inproc_add_tcases(Suite *s)
{
	TCase *tc;

	tc = tcase_create("in-process");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, plugin_overwritten_in_place);
	tcase_add_test(tc, crash_names_the_step);
	tcase_add_test(tc, ignored_cancellation_is_abandoned);
	tcase_add_test(tc, callbacks_run_where_documented);
	suite_add_tcase(s, tc);
}
