/* SPDX-License-Identifier: MIT */
/*
 * ginid as a user runs it: the real binary on a temporary configuration,
 * driven with real signals, observed through its sd_notify messages, its log
 * and the files its pipelines write.
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

struct daemon gd_d;

void
gd_teardown(void)
{
	daemon_done(&gd_d);
}

void
gd_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* A pipeline whose exec step appends a line to FILE in the daemon's dir. */
char *
gd_appender(const char *name, const char *triggers, const char *file, const char *extra)
{
	char *s;

	ck_assert_int_ne(asprintf(&s,
	                          "{ name = \"%s\"; triggers = { %s }; %s steps = ( { id = \"w\"; "
	                          "stage = \"exec\"; params = { shell = \"echo run >> %s\"; }; "
	                          "} ); }",
	                          name, triggers, extra ? extra : "", daemon_path(&gd_d, file)),
	                 -1);
	return s;
}

void
gd_write_conf(const char *pipelines)
{
	char *text;

	ck_assert_int_ne(asprintf(&text, "workers = 2;\npipelines = (\n%s\n);\n", pipelines), -1);
	daemon_write(&gd_d, "gini.conf", text);
	free(text);
}

START_TEST(ready_status_and_stop)
{
	int st;

	daemon_init(&gd_d, "ginid", "pipelines = ();\n");
	daemon_start(&gd_d);
	ck_assert(daemon_wait_notify(&gd_d,
	                             "STATUS=generation 1: 0 pipelines, 7 stage types, 0 runs "
	                             "in flight",
	                             5000));
	/* It says what it loaded. */
	ck_assert(daemon_wait_log(&gd_d,
	                          "info: stage types: check-command 1.0.0, check-path 1.0.0, "
	                          "exec 1.0.0, fail 1.0.0, log 1.0.0, sleep 1.0.0, write 1.0.0",
	                          1, 1000));
	daemon_signal(&gd_d, SIGTERM);
	st = daemon_wait_exit(&gd_d, 10000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert(daemon_wait_notify(&gd_d, "STOPPING=1", 1000));
	ck_assert_uint_eq(daemon_log_count(&gd_d, "info: stopped"), 1);
}
END_TEST

/* With WatchdogSec= set, the loop pings while it turns. */
START_TEST(watchdog_pings)
{
	daemon_init(&gd_d, "ginid", "pipelines = ();\n");
	gd_d.watchdog_usec = "200000";
	daemon_start(&gd_d);
	ck_assert(daemon_wait_notify(&gd_d, "WATCHDOG=1", 5000));
	/* And keeps pinging: drain, then see another. */
	daemon_forget_notified(&gd_d);
	ck_assert(daemon_wait_notify(&gd_d, "WATCHDOG=1", 5000));
}
END_TEST

START_TEST(signal_runs_bound_pipelines)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *all = NULL;

	daemon_init(&gd_d, "ginid", "");
	a = gd_appender("a", "signal = \"SIGUSR1\";", "a.out", NULL);
	b = gd_appender("b", "signal = [ \"SIGUSR1\", \"SIGRTMIN+2\" ];", "b.out", NULL);
	c = gd_appender("c", "signal = \"SIGUSR2\";", "c.out", NULL);
	ck_assert_int_ne(asprintf(&all, "%s,\n%s,\n%s", a, b, c), -1);
	gd_write_conf(all);
	daemon_start(&gd_d);
	daemon_signal(&gd_d, SIGUSR1);
	ck_assert(wait_file(daemon_path(&gd_d, "a.out"), "run", 5000));
	ck_assert(wait_file(daemon_path(&gd_d, "b.out"), "run", 5000));
	/* Written is not finished: a trigger while b still runs is skipped. */
	ck_assert(daemon_wait_log(&gd_d, "pipeline 'b': success", 1, 5000));
	daemon_signal(&gd_d, SIGRTMIN + 2);
	ck_assert(daemon_wait_log(&gd_d, "pipeline 'b': success", 2, 5000));
	ck_assert_uint_eq(file_count(daemon_path(&gd_d, "b.out"), "run"), 2);
	ck_assert_uint_eq(file_count(daemon_path(&gd_d, "a.out"), "run"), 1);
	ck_assert_int_eq(access(daemon_path(&gd_d, "c.out"), F_OK), -1);
	ck_assert(daemon_wait_log(&gd_d, "started (trigger: signal SIGRTMIN+2)", 1, 1000));
	/* An unbound signal is noticed, not fatal. */
	daemon_signal(&gd_d, SIGRTMIN + 5);
	ck_assert(daemon_wait_log(&gd_d,
	                          "received SIGRTMIN+5, which no pipeline is bound to; "
	                          "ignoring",
	                          1, 5000));
	ck_assert_int_eq(kill(gd_d.pid, 0), 0);
}
END_TEST

START_TEST(every_fires_repeatedly_and_on_start)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *all = NULL;

	daemon_init(&gd_d, "ginid", "");
	a = gd_appender("tick", "every = \"100ms\";", "tick.out", NULL);
	b = gd_appender("boot", "on_start = true;", "boot.out", NULL);
	ck_assert_int_ne(asprintf(&all, "%s,\n%s", a, b), -1);
	gd_write_conf(all);
	daemon_start(&gd_d);
	ck_assert(wait_file(daemon_path(&gd_d, "boot.out"), "run", 5000));
	for (int i = 0; i < 500 && file_count(daemon_path(&gd_d, "tick.out"), "run") < 3; i++)
		gd_sleep_ms(10);
	ck_assert_uint_ge(file_count(daemon_path(&gd_d, "tick.out"), "run"), 3);
	ck_assert(daemon_wait_log(&gd_d, "(trigger: every 100ms)", 3, 1000));
	ck_assert_uint_eq(file_count(daemon_path(&gd_d, "boot.out"), "run"), 1);
}
END_TEST

START_TEST(reload_adds_pipeline)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *all = NULL;

	daemon_init(&gd_d, "ginid", "");
	a = gd_appender("a", "signal = \"SIGUSR1\";", "a.out", NULL);
	gd_write_conf(a);
	daemon_start(&gd_d);
	b = gd_appender("b", "signal = \"SIGUSR2\";", "b.out", NULL);
	ck_assert_int_ne(asprintf(&all, "pipelines = ( %s );\n", b), -1);
	daemon_write(&gd_d, "pipelines.d/b.conf", all);
	daemon_signal(&gd_d, SIGHUP);
	ck_assert(daemon_wait_notify(&gd_d, "RELOADING=1\nMONOTONIC_USEC=", 5000));
	ck_assert(daemon_wait_log(&gd_d, "reloaded: generation 2", 1, 5000));
	ck_assert(daemon_wait_notify(&gd_d, "READY=1\nSTATUS=reloaded", 5000));
	daemon_signal(&gd_d, SIGUSR2);
	ck_assert(wait_file(daemon_path(&gd_d, "b.out"), "run", 5000));
	daemon_signal(&gd_d, SIGUSR1);
	ck_assert(wait_file(daemon_path(&gd_d, "a.out"), "run", 5000));
	/* Unchanged plugins were not loaded again. */
	ck_assert(daemon_wait_log(&gd_d, "(0 loaded, 7 unchanged)", 1, 1000));
}
END_TEST

START_TEST(broken_reload_keeps_old)
{
	_cleanup_free_ char *a = NULL;

	daemon_init(&gd_d, "ginid", "");
	a = gd_appender("a", "signal = \"SIGUSR1\";", "a.out", NULL);
	gd_write_conf(a);
	daemon_start(&gd_d);
	daemon_write(&gd_d, "pipelines.d/broken.conf",
	             "pipelines = ( { name = \"x\"; stepz = (); } );\n");
	daemon_signal(&gd_d, SIGHUP);
	ck_assert(daemon_wait_log(&gd_d,
	                          "reload failed with 2 errors; generation 1 keeps running "
	                          "unchanged",
	                          1, 5000));
	ck_assert(daemon_wait_log(&gd_d,
	                          "broken.conf:1: pipeline 'x': unknown key 'stepz'; did you "
	                          "mean 'steps'?",
	                          1, 1000));
	ck_assert(daemon_wait_notify(&gd_d, "last reload FAILED", 5000));
	daemon_signal(&gd_d, SIGUSR1);
	ck_assert(wait_file(daemon_path(&gd_d, "a.out"), "run", 5000));
}
END_TEST

/* A reload whose plugin directory went away is refused; the old one runs on. */
START_TEST(reload_with_missing_plugin_dir_refused)
{
	_cleanup_free_ char *a = NULL;
	static const char *const stages[] = { "exec", "log" };
	char away[4200];

	daemon_init(&gd_d, "ginid", "");
	ck_assert_int_eq(mkdir(daemon_path(&gd_d, "stages"), 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++) {
		char from[4096], to[4096];

		snprintf(from, sizeof(from), "stages/%s.so", stages[i]);
		snprintf(to, sizeof(to), "%s/%s.so", daemon_path(&gd_d, "stages"), stages[i]);
		test_copy_file(test_build_path(from), to, 0755);
	}
	a = gd_appender("a", "signal = \"SIGUSR1\";", "a.out", NULL);
	gd_write_conf(a);
	daemon_spawn(&gd_d, daemon_path(&gd_d, "stages"), NULL);
	ck_assert(daemon_wait_notify(&gd_d, "READY=1", 10000));
	snprintf(away, sizeof(away), "%s", daemon_path(&gd_d, "stages.away"));
	ck_assert_int_eq(rename(daemon_path(&gd_d, "stages"), away), 0);
	daemon_signal(&gd_d, SIGHUP);
	/* The directory, and the step whose stage it held. */
	ck_assert(daemon_wait_log(&gd_d,
	                          "reload failed with 2 errors; generation 1 keeps running "
	                          "unchanged",
	                          1, 5000));
	ck_assert_uint_eq(
	        daemon_log_count(&gd_d, "/stages: No such file or directory (--plugin-dir)"), 1);
	ck_assert_uint_eq(daemon_log_count(&gd_d, "unknown stage type 'exec'"), 1);
	daemon_signal(&gd_d, SIGUSR1);
	ck_assert(wait_file(daemon_path(&gd_d, "a.out"), "run", 5000));
	/* Back in place, the next reload goes through. */
	ck_assert_int_eq(rename(away, daemon_path(&gd_d, "stages")), 0);
	daemon_signal(&gd_d, SIGHUP);
	ck_assert(daemon_wait_log(&gd_d, "reloaded: generation 2", 1, 5000));
}
END_TEST

/* A run in flight during a reload finishes with what it started with. */
START_TEST(reload_during_run)
{
	daemon_init(&gd_d, "ginid", "");
	gd_write_conf("{ name = \"slow\"; triggers = { signal = \"SIGUSR1\"; }; steps = ("
	              "{ id = \"nap\"; stage = \"sleep\"; params = { duration = \"700ms\"; }; },"
	              "{ id = \"done\"; stage = \"log\"; after = \"nap\"; params = { message = "
	              "\"old definition\"; }; } ); }");
	daemon_start(&gd_d);
	daemon_signal(&gd_d, SIGUSR1);
	ck_assert(daemon_wait_log(&gd_d, "pipeline 'slow': started", 1, 5000));
	gd_write_conf(
	        "{ name = \"slow\"; triggers = { signal = \"SIGUSR1\"; }; steps = ("
	        "{ id = \"done\"; stage = \"log\"; params = { message = \"new definition\"; }; "
	        "} ); }");
	daemon_signal(&gd_d, SIGHUP);
	ck_assert(daemon_wait_log(&gd_d, "reloaded: generation 2", 1, 5000));
	ck_assert(daemon_wait_log(&gd_d, "step 'done': old definition", 1, 5000));
	ck_assert(daemon_wait_log(&gd_d, "pipeline 'slow': success", 1, 5000));
	daemon_signal(&gd_d, SIGUSR1);
	ck_assert(daemon_wait_log(&gd_d, "step 'done': new definition", 1, 5000));
}
END_TEST

/*
 * A newer build of a plugin replaces the old one for new runs; the old one
 * is unloaded only after the run that uses it ends.
 */
START_TEST(plugin_replaced_during_run)
{
	char *plugins = NULL, *hooks = NULL, *text = NULL;
	char src[4096], line[128];

	daemon_init(&gd_d, "ginid", "");
	plugins = strdup(daemon_path(&gd_d, "stages"));
	hooks = strdup(daemon_path(&gd_d, "hooks.log"));
	ck_assert_int_eq(mkdir(plugins, 0755), 0);
	snprintf(src, sizeof(src), "%s/tests/plugins/versioned_v1.so", test_build_dir());
	test_copy_file(src, daemon_path(&gd_d, "stages/versioned.so"), 0755);
	setenv("GINI_TEST_HOOKS", hooks, 1);
	gd_write_conf(
	        "{ name = \"v\"; overlap = \"parallel\"; triggers = { signal = \"SIGUSR1\"; }; "
	        "steps = ( { id = \"s\"; stage = \"versioned\"; params = { sleep = \"800ms\"; "
	        "}; } ); }");
	daemon_spawn(&gd_d, plugins, NULL);
	ck_assert(daemon_wait_notify(&gd_d, "READY=1", 10000));
	/* Lines of the daemon itself (probes run the hooks in their own pid). */
#define MINE(what) (snprintf(line, sizeof(line), "%s %d\n", what, (int)gd_d.pid), line)
	daemon_signal(&gd_d, SIGUSR1);
	ck_assert(wait_file(hooks, MINE("start 1.0.0"), 5000));

	/* Install 2.0.0 the way package managers do: a new file renamed over. */
	snprintf(src, sizeof(src), "%s/tests/plugins/versioned_v2.so", test_build_dir());
	test_copy_file(src, daemon_path(&gd_d, "stages/.versioned.so.new"), 0755);
	ck_assert_int_eq(rename(daemon_path(&gd_d, "stages/.versioned.so.new"),
	                        daemon_path(&gd_d, "stages/versioned.so")),
	                 0);
	daemon_signal(&gd_d, SIGHUP);
	ck_assert(daemon_wait_log(&gd_d,
	                          "reloaded: generation 2 with 1 stage types (1 loaded, 0 "
	                          "unchanged)",
	                          1, 5000));
	daemon_signal(&gd_d, SIGUSR1);
	ck_assert(wait_file(hooks, MINE("start 2.0.0"), 5000));
	ck_assert(wait_file(hooks, MINE("end 2.0.0"), 5000));
	ck_assert(wait_file(hooks, MINE("unload 1.0.0"), 5000));
	ck_assert_int_eq(read_file(hooks, 1 << 16, &text, NULL), 0);
	/* 1.0.0 ran to its end before it was unloaded; 2.0.0 stays loaded. */
	{
		char end1[64], unload1[64], load2[64], start2[64];

		snprintf(end1, sizeof(end1), "end 1.0.0 %d\n", (int)gd_d.pid);
		snprintf(unload1, sizeof(unload1), "unload 1.0.0 %d\n", (int)gd_d.pid);
		snprintf(load2, sizeof(load2), "load 2.0.0 %d\n", (int)gd_d.pid);
		snprintf(start2, sizeof(start2), "start 2.0.0 %d\n", (int)gd_d.pid);
		ck_assert_ptr_nonnull(strstr(text, end1));
		ck_assert(strstr(text, end1) < strstr(text, unload1));
		ck_assert_ptr_nonnull(strstr(text, load2));
		ck_assert(strstr(text, load2) < strstr(text, start2));
		snprintf(line, sizeof(line), "unload 2.0.0 %d\n", (int)gd_d.pid);
		ck_assert_ptr_null(strstr(text, line));
	}
	ck_assert_ptr_null(strstr(text, "cancelled"));
	/* Both versions were probed before the daemon loaded them. */
	ck_assert_ptr_nonnull(strstr(text, "load 1.0.0 "));
	ck_assert_uint_ge(file_count(hooks, "load 2.0.0 "), 2);
#undef MINE
	free(text);
	free(hooks);
	free(plugins);
	unsetenv("GINI_TEST_HOOKS");
}
END_TEST

START_TEST(shutdown_cancels_running_steps)
{
	int st;

	daemon_init(&gd_d, "ginid", "");
	gd_write_conf("{ name = \"long\"; triggers = { on_start = true; }; steps = ("
	              "{ id = \"nap\"; stage = \"sleep\"; params = { duration = \"1h\"; }; } ); }");
	daemon_start(&gd_d);
	ck_assert(daemon_wait_log(&gd_d, "pipeline 'long': started", 1, 5000));
	daemon_signal(&gd_d, SIGTERM);
	st = daemon_wait_exit(&gd_d, 10000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert(daemon_wait_log(&gd_d, "stopping on SIGTERM: 1 run in flight", 1, 100));
	ck_assert(daemon_wait_log(&gd_d, "pipeline 'long': cancelled", 1, 100));
}
END_TEST

START_TEST(second_sigterm_exits_at_once)
{
	int st;

	daemon_init(&gd_d, "ginid", "shutdown_timeout = \"1h\";\n");
	gd_write_conf("{ name = \"stuck\"; triggers = { on_start = true; }; steps = ("
	              "{ id = \"x\"; stage = \"exec\"; params = { argv = [ \"/bin/sh\", \"-c\", "
	              "\"trap '' TERM; sleep 30\" ]; kill_grace = \"1h\"; }; } ); }");
	daemon_write(&gd_d, "gini.conf",
	             "workers = 2;\nshutdown_timeout = \"1h\";\npipelines = ({ name = \"stuck\"; "
	             "triggers = { on_start = true; }; steps = ( { id = \"x\"; stage = \"exec\"; "
	             "params = { argv = [ \"/bin/sh\", \"-c\", \"trap '' TERM; sleep 30\" ]; "
	             "kill_grace = \"1h\"; }; } ); });\n");
	daemon_start(&gd_d);
	ck_assert(daemon_wait_log(&gd_d, "pipeline 'stuck': started", 1, 5000));
	gd_sleep_ms(200);
	daemon_signal(&gd_d, SIGTERM);
	ck_assert(daemon_wait_log(&gd_d, "stopping on SIGTERM", 1, 5000));
	ck_assert_int_eq(daemon_wait_exit(&gd_d, 300), -1);
	daemon_signal(&gd_d, SIGTERM);
	st = daemon_wait_exit(&gd_d, 5000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(&gd_d, "second SIGTERM while stopping: exiting now", 1, 100));
}
END_TEST

/*
 * 10,000 queued real-time signals at a pipeline that takes a while: runs
 * stay bounded by the overlap policy, memory stays flat, nothing breaks.
 */
START_TEST(signal_storm)
{
	long rss_before, rss_after;
	size_t started;

	daemon_init(&gd_d, "ginid", "");
	gd_write_conf(
	        "{ name = \"q\"; overlap = \"queue\"; triggers = { signal = \"SIGRTMIN+1\"; }; "
	        "steps = ( { id = \"nap\"; stage = \"sleep\"; params = { duration = \"300ms\"; }; "
	        "} ); },"
	        "{ name = \"ok\"; triggers = { signal = \"SIGUSR2\"; }; steps = ( { id = \"l\"; "
	        "stage = \"log\"; params = { message = \"still alive\"; }; } ); }");
	daemon_start(&gd_d);
	/* One run first: the threads it starts are not growth. */
	daemon_signal(&gd_d, SIGUSR2);
	ck_assert(daemon_wait_log(&gd_d, "still alive", 1, 5000));
	rss_before = proc_rss_kib(gd_d.pid);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(kill(gd_d.pid, SIGRTMIN + 1), 0);
	/* Once the storm is processed the queue drains: 1 running + 1 queued. */
	ck_assert(daemon_wait_log(&gd_d, "pipeline 'q': success", 2, 10000));
	gd_sleep_ms(500);
	started = daemon_log_count(&gd_d, "pipeline 'q': started");
	ck_assert_uint_le(started, 3);
	ck_assert_uint_ge(started, 2);
	ck_assert(daemon_wait_log(&gd_d, "skipped (overlap = queue, 1 running, one queued)", 1,
	                          1000));
	/* Rate-limited: thousands of skips, a handful of lines. */
	ck_assert_uint_le(daemon_log_count(&gd_d, "skipped (overlap"), 5);
	rss_after = proc_rss_kib(gd_d.pid);
	/*
	 * ASan keeps freed memory in its quarantine (up to 256 MiB), so there
	 * RSS grows with every allocation whether or not anything leaks, and
	 * LeakSanitizer checks leaks at exit instead.
	 */
	if (strstr(GINI_TEST_SANITIZE, "address"))
		printf("signal_storm: RSS not compared under ASan (%ld -> %ld KiB)\n", rss_before,
		       rss_after);
	else
		ck_assert_msg(rss_after < rss_before + 4096, "RSS grew from %ld to %ld KiB",
		              rss_before, rss_after);
	daemon_signal(&gd_d, SIGUSR2);
	ck_assert(daemon_wait_log(&gd_d, "still alive", 2, 5000));
}
END_TEST

/* A persistent schedule whose fire was missed while down fires at start. */
START_TEST(persistent_schedule_catches_up)
{
	_cleanup_free_ char *state = NULL;
	char line[128];

	daemon_init(&gd_d, "ginid", "");
	gd_write_conf(
	        "{ name = \"nightly\"; triggers = { schedule = \"0 3 * * *\"; persistent = true; "
	        "}; steps = ( { id = \"l\"; stage = \"log\"; params = { message = \"caught up\"; "
	        "}; } ); },"
	        "{ name = \"fresh\"; triggers = { schedule = \"0 3 * * *\"; persistent = true; "
	        "}; steps = ( { id = \"l\"; stage = \"log\"; params = { message = \"never "
	        "ran\"; }; } ); }");
	/* Last fired three days ago: at least one 03:00 was missed. */
	snprintf(line, sizeof(line), "nightly %lld\n", (long long)time(NULL) - 3 * 86400);
	daemon_write(&gd_d, "state/schedules", line);
	daemon_start(&gd_d);
	ck_assert(daemon_wait_log(
	        &gd_d, "pipeline 'nightly': started (trigger: schedule (missed at ", 1, 5000));
	ck_assert(daemon_wait_log(&gd_d, "caught up", 1, 5000));
	/* No record yet means no catch-up, only a baseline. */
	ck_assert_uint_eq(daemon_log_count(&gd_d, "never ran"), 0);
	/* Written by the state writer thread, within about a second. */
	ck_assert(wait_file(daemon_path(&gd_d, "state/schedules"), "fresh ", 10000));
	ck_assert_int_eq(read_file(daemon_path(&gd_d, "state/schedules"), 4096, &state, NULL), 0);
	ck_assert_ptr_null(strstr(state, line));
	/* And a restart with the fresh record does not fire again. */
	daemon_signal(&gd_d, SIGTERM);
	ck_assert_int_ne(daemon_wait_exit(&gd_d, 10000), -1);
	daemon_start(&gd_d);
	gd_sleep_ms(300);
	ck_assert_uint_eq(daemon_log_count(&gd_d, "caught up"), 1);
}
END_TEST

/*
 * Regression: a kill -9 during a state write left "schedules.tmp.PID" files
 * that were never removed. At start-up, those of dead processes go, with a
 * log line; other files are left alone.
 */
START_TEST(stale_state_temporaries_removed)
{
	char a[64], b[64];
	pid_t gone = fork();

	ck_assert_int_ge(gone, 0);
	if (gone == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(gone, NULL, 0), gone);
	snprintf(a, sizeof(a), "state/schedules.tmp.%d", (int)gone);
	snprintf(b, sizeof(b), "state/probe-cache.tmp.%d", (int)gone);
	daemon_init(&gd_d, "ginid", "");
	gd_write_conf("");
	daemon_write(&gd_d, a, "nightly 12");
	daemon_write(&gd_d, b, "# partial");
	daemon_write(&gd_d, "state/notes.tmp.1", "not ours");
	daemon_start(&gd_d);
	ck_assert(daemon_wait_log(&gd_d, "removed a temporary file left by an interrupted write", 2,
	                          5000));
	ck_assert_int_eq(access(daemon_path(&gd_d, a), F_OK), -1);
	ck_assert_int_eq(access(daemon_path(&gd_d, b), F_OK), -1);
	ck_assert_int_eq(access(daemon_path(&gd_d, "state/notes.tmp.1"), F_OK), 0);
}
END_TEST

START_TEST(bad_config_refuses_to_start)
{
	int st;

	daemon_init(&gd_d, "ginid", "workers = \"many\";\npipelines = ( { name = \"x\"; } );\n");
	daemon_spawn(&gd_d, NULL, NULL);
	st = daemon_wait_exit(&gd_d, 10000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(
	        &gd_d, "gini.conf:1: 'workers': expected an integer, got a string", 1, 100));
	ck_assert(daemon_wait_log(&gd_d, "gini.conf:2: pipeline 'x': no 'steps'", 1, 100));
	ck_assert(daemon_wait_log(&gd_d, "has 2 errors; not starting", 1, 100));
	ck_assert(!daemon_wait_notify(&gd_d, "READY=1", 0));
}
END_TEST

/* A plugin directory that is not there stops start-up, with the reason. */
START_TEST(missing_plugin_dir_refuses_to_start)
{
	int st;

	daemon_init(&gd_d, "ginid", "pipelines = ();\n");
	daemon_spawn(&gd_d, daemon_path(&gd_d, "nowhere"), NULL);
	st = daemon_wait_exit(&gd_d, 10000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(&gd_d, "plugin directory ", 1, 100));
	ck_assert_uint_eq(
	        daemon_log_count(&gd_d, "nowhere: No such file or directory (--plugin-dir)"), 1);
	ck_assert(daemon_wait_log(&gd_d, "has 1 error; not starting", 1, 100));
	ck_assert(!daemon_wait_notify(&gd_d, "READY=1", 0));
}
END_TEST

START_TEST(reload_with_fifo_refused)
{
	char *argv[] = { test_build_path("ginictl"), "-s", NULL, "status", NULL };
	char *out = NULL;
	int st;

	daemon_init(&gd_d, "ginid", "");
	gd_write_conf("");
	argv[2] = gd_d.socket;
	daemon_start(&gd_d);
	ck_assert_int_eq(mkfifo(daemon_path(&gd_d, "pipelines.d/x.conf"), 0644), 0);
	daemon_signal(&gd_d, SIGHUP);
	ck_assert(daemon_wait_log(&gd_d, "x.conf: cannot read: not a regular file (a FIFO)", 1,
	                          10000));
	ck_assert(daemon_wait_log(&gd_d, "generation 1 keeps running unchanged", 1, 10000));
	st = run_command(argv, &out, NULL, 20000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_ptr_nonnull(strstr(out, "generation"));
	free(out);
}
END_TEST

Suite *
ginid_suite(void)
{
	Suite *s = suite_create("ginid");
	TCase *tc;

	tc = tcase_create("lifecycle");
	tcase_add_checked_fixture(tc, NULL, gd_teardown);
	tcase_add_test(tc, ready_status_and_stop);
	tcase_add_test(tc, watchdog_pings);
	tcase_add_test(tc, bad_config_refuses_to_start);
	tcase_add_test(tc, missing_plugin_dir_refuses_to_start);
	tcase_add_test(tc, shutdown_cancels_running_steps);
	tcase_add_test(tc, second_sigterm_exits_at_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("triggers");
	tcase_add_checked_fixture(tc, NULL, gd_teardown);
	tcase_add_test(tc, signal_runs_bound_pipelines);
	tcase_add_test(tc, every_fires_repeatedly_and_on_start);
	tcase_add_test(tc, persistent_schedule_catches_up);
	tcase_add_test(tc, stale_state_temporaries_removed);
	tcase_add_test(tc, signal_storm);
	suite_add_tcase(s, tc);

	ginid_once_tcases(s);

	tc = tcase_create("reload");
	tcase_add_checked_fixture(tc, NULL, gd_teardown);
	tcase_add_test(tc, reload_adds_pipeline);
	tcase_add_test(tc, broken_reload_keeps_old);
	tcase_add_test(tc, reload_with_fifo_refused);
	tcase_add_test(tc, reload_with_missing_plugin_dir_refused);
	tcase_add_test(tc, reload_during_run);
	tcase_add_test(tc, plugin_replaced_during_run);
	suite_add_tcase(s, tc);

	return s;
}
