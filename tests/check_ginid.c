/* SPDX-License-Identifier: MIT */
/*
 * ginid as a user runs it: the real binary on a temporary configuration,
 * driven with real signals, observed through its sd_notify messages, its log
 * and the files its pipelines write.
 */
#include "tests.h"

#include "daemon.h"
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

static struct daemon d;

static void
teardown(void)
{
	daemon_done(&d);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* A pipeline whose exec step appends a line to FILE in the daemon's dir. */
static char *
appender(const char *name, const char *triggers, const char *file, const char *extra)
{
	char *s;

	ck_assert_int_ne(asprintf(&s,
	                          "{ name = \"%s\"; triggers = { %s }; %s steps = ( { id = \"w\"; "
	                          "stage = \"exec\"; params = { shell = \"echo run >> %s\"; }; "
	                          "} ); }",
	                          name, triggers, extra ? extra : "", daemon_path(&d, file)),
	                 -1);
	return s;
}

static void
write_conf(const char *pipelines)
{
	char *text;

	ck_assert_int_ne(asprintf(&text, "workers = 2;\npipelines = (\n%s\n);\n", pipelines), -1);
	daemon_write(&d, "gini.conf", text);
	free(text);
}

START_TEST(ready_status_and_stop)
{
	int st;

	daemon_init(&d, "ginid", "pipelines = ();\n");
	daemon_start(&d);
	ck_assert(daemon_wait_notify(&d,
	                             "STATUS=generation 1: 0 pipelines, 7 stage types, 0 runs "
	                             "in flight",
	                             5000));
	/* It says what it loaded. */
	ck_assert(daemon_wait_log(&d,
	                          "info: stage types: check-command 1.0.0, check-path 1.0.0, "
	                          "exec 1.0.0, fail 1.0.0, log 1.0.0, sleep 1.0.0, write 1.0.0",
	                          1, 1000));
	daemon_signal(&d, SIGTERM);
	st = daemon_wait_exit(&d, 10000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert(daemon_wait_notify(&d, "STOPPING=1", 1000));
	ck_assert_uint_eq(daemon_log_count(&d, "info: stopped"), 1);
}
END_TEST

/* With WatchdogSec= set, the loop pings while it turns. */
START_TEST(watchdog_pings)
{
	daemon_init(&d, "ginid", "pipelines = ();\n");
	d.watchdog_usec = "200000";
	daemon_start(&d);
	ck_assert(daemon_wait_notify(&d, "WATCHDOG=1", 5000));
	/* And keeps pinging: drain, then see another. */
	free(d.notified);
	d.notified = NULL;
	d.notified_len = 0;
	ck_assert(daemon_wait_notify(&d, "WATCHDOG=1", 5000));
}
END_TEST

START_TEST(signal_runs_bound_pipelines)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *all = NULL;

	daemon_init(&d, "ginid", "");
	a = appender("a", "signal = \"SIGUSR1\";", "a.out", NULL);
	b = appender("b", "signal = [ \"SIGUSR1\", \"SIGRTMIN+2\" ];", "b.out", NULL);
	c = appender("c", "signal = \"SIGUSR2\";", "c.out", NULL);
	ck_assert_int_ne(asprintf(&all, "%s,\n%s,\n%s", a, b, c), -1);
	write_conf(all);
	daemon_start(&d);
	daemon_signal(&d, SIGUSR1);
	ck_assert(wait_file(daemon_path(&d, "a.out"), "run", 5000));
	ck_assert(wait_file(daemon_path(&d, "b.out"), "run", 5000));
	/* Written is not finished: a trigger while b still runs is skipped. */
	ck_assert(daemon_wait_log(&d, "pipeline 'b': success", 1, 5000));
	daemon_signal(&d, SIGRTMIN + 2);
	ck_assert(daemon_wait_log(&d, "pipeline 'b': success", 2, 5000));
	ck_assert_uint_eq(file_count(daemon_path(&d, "b.out"), "run"), 2);
	ck_assert_uint_eq(file_count(daemon_path(&d, "a.out"), "run"), 1);
	ck_assert_int_eq(access(daemon_path(&d, "c.out"), F_OK), -1);
	ck_assert(daemon_wait_log(&d, "started (trigger: signal SIGRTMIN+2)", 1, 1000));
	/* An unbound signal is noticed, not fatal. */
	daemon_signal(&d, SIGRTMIN + 5);
	ck_assert(daemon_wait_log(&d,
	                          "received SIGRTMIN+5, which no pipeline is bound to; "
	                          "ignoring",
	                          1, 5000));
	ck_assert_int_eq(kill(d.pid, 0), 0);
}
END_TEST

START_TEST(every_fires_repeatedly_and_on_start)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *all = NULL;

	daemon_init(&d, "ginid", "");
	a = appender("tick", "every = \"100ms\";", "tick.out", NULL);
	b = appender("boot", "on_start = true;", "boot.out", NULL);
	ck_assert_int_ne(asprintf(&all, "%s,\n%s", a, b), -1);
	write_conf(all);
	daemon_start(&d);
	ck_assert(wait_file(daemon_path(&d, "boot.out"), "run", 5000));
	for (int i = 0; i < 500 && file_count(daemon_path(&d, "tick.out"), "run") < 3; i++)
		sleep_ms(10);
	ck_assert_uint_ge(file_count(daemon_path(&d, "tick.out"), "run"), 3);
	ck_assert(daemon_wait_log(&d, "(trigger: every 100ms)", 3, 1000));
	ck_assert_uint_eq(file_count(daemon_path(&d, "boot.out"), "run"), 1);
}
END_TEST

START_TEST(reload_adds_pipeline)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *all = NULL;

	daemon_init(&d, "ginid", "");
	a = appender("a", "signal = \"SIGUSR1\";", "a.out", NULL);
	write_conf(a);
	daemon_start(&d);
	b = appender("b", "signal = \"SIGUSR2\";", "b.out", NULL);
	ck_assert_int_ne(asprintf(&all, "pipelines = ( %s );\n", b), -1);
	daemon_write(&d, "pipelines.d/b.conf", all);
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_notify(&d, "RELOADING=1\nMONOTONIC_USEC=", 5000));
	ck_assert(daemon_wait_log(&d, "reloaded: generation 2", 1, 5000));
	ck_assert(daemon_wait_notify(&d, "READY=1\nSTATUS=reloaded", 5000));
	daemon_signal(&d, SIGUSR2);
	ck_assert(wait_file(daemon_path(&d, "b.out"), "run", 5000));
	daemon_signal(&d, SIGUSR1);
	ck_assert(wait_file(daemon_path(&d, "a.out"), "run", 5000));
	/* Unchanged plugins were not loaded again. */
	ck_assert(daemon_wait_log(&d, "(0 loaded, 7 unchanged)", 1, 1000));
}
END_TEST

START_TEST(broken_reload_keeps_old)
{
	_cleanup_free_ char *a = NULL;

	daemon_init(&d, "ginid", "");
	a = appender("a", "signal = \"SIGUSR1\";", "a.out", NULL);
	write_conf(a);
	daemon_start(&d);
	daemon_write(&d, "pipelines.d/broken.conf",
	             "pipelines = ( { name = \"x\"; stepz = (); } );\n");
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d,
	                          "reload failed with 2 errors; generation 1 keeps running "
	                          "unchanged",
	                          1, 5000));
	ck_assert(daemon_wait_log(&d,
	                          "broken.conf:1: pipeline 'x': unknown key 'stepz'; did you "
	                          "mean 'steps'?",
	                          1, 1000));
	ck_assert(daemon_wait_notify(&d, "last reload FAILED", 5000));
	daemon_signal(&d, SIGUSR1);
	ck_assert(wait_file(daemon_path(&d, "a.out"), "run", 5000));
}
END_TEST

/* A reload whose plugin directory went away is refused; the old one runs on. */
START_TEST(reload_with_missing_plugin_dir_refused)
{
	_cleanup_free_ char *a = NULL;
	static const char *const stages[] = { "exec", "log" };
	char away[4200];

	daemon_init(&d, "ginid", "");
	ck_assert_int_eq(mkdir(daemon_path(&d, "stages"), 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++) {
		char from[4096], to[4096];

		snprintf(from, sizeof(from), "stages/%s.so", stages[i]);
		snprintf(to, sizeof(to), "%s/%s.so", daemon_path(&d, "stages"), stages[i]);
		test_copy_file(test_build_path(from), to, 0755);
	}
	a = appender("a", "signal = \"SIGUSR1\";", "a.out", NULL);
	write_conf(a);
	daemon_spawn(&d, daemon_path(&d, "stages"), NULL);
	ck_assert(daemon_wait_notify(&d, "READY=1", 10000));
	snprintf(away, sizeof(away), "%s", daemon_path(&d, "stages.away"));
	ck_assert_int_eq(rename(daemon_path(&d, "stages"), away), 0);
	daemon_signal(&d, SIGHUP);
	/* The directory, and the step whose stage it held. */
	ck_assert(daemon_wait_log(&d,
	                          "reload failed with 2 errors; generation 1 keeps running "
	                          "unchanged",
	                          1, 5000));
	ck_assert_uint_eq(daemon_log_count(&d, "/stages: No such file or directory (--plugin-dir)"),
	                  1);
	ck_assert_uint_eq(daemon_log_count(&d, "unknown stage type 'exec'"), 1);
	daemon_signal(&d, SIGUSR1);
	ck_assert(wait_file(daemon_path(&d, "a.out"), "run", 5000));
	/* Back in place, the next reload goes through. */
	ck_assert_int_eq(rename(away, daemon_path(&d, "stages")), 0);
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "reloaded: generation 2", 1, 5000));
}
END_TEST

/* A run in flight during a reload finishes with what it started with. */
START_TEST(reload_during_run)
{
	daemon_init(&d, "ginid", "");
	write_conf("{ name = \"slow\"; triggers = { signal = \"SIGUSR1\"; }; steps = ("
	           "{ id = \"nap\"; stage = \"sleep\"; params = { duration = \"700ms\"; }; },"
	           "{ id = \"done\"; stage = \"log\"; after = \"nap\"; params = { message = "
	           "\"old definition\"; }; } ); }");
	daemon_start(&d);
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "pipeline 'slow': started", 1, 5000));
	write_conf("{ name = \"slow\"; triggers = { signal = \"SIGUSR1\"; }; steps = ("
	           "{ id = \"done\"; stage = \"log\"; params = { message = \"new definition\"; }; "
	           "} ); }");
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "reloaded: generation 2", 1, 5000));
	ck_assert(daemon_wait_log(&d, "step 'done': old definition", 1, 5000));
	ck_assert(daemon_wait_log(&d, "pipeline 'slow': success", 1, 5000));
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "step 'done': new definition", 1, 5000));
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

	daemon_init(&d, "ginid", "");
	plugins = strdup(daemon_path(&d, "stages"));
	hooks = strdup(daemon_path(&d, "hooks.log"));
	ck_assert_int_eq(mkdir(plugins, 0755), 0);
	snprintf(src, sizeof(src), "%s/tests/plugins/versioned_v1.so", test_build_dir());
	test_copy_file(src, daemon_path(&d, "stages/versioned.so"), 0755);
	setenv("GINI_TEST_HOOKS", hooks, 1);
	write_conf("{ name = \"v\"; overlap = \"parallel\"; triggers = { signal = \"SIGUSR1\"; }; "
	           "steps = ( { id = \"s\"; stage = \"versioned\"; params = { sleep = \"800ms\"; "
	           "}; } ); }");
	daemon_spawn(&d, plugins, NULL);
	ck_assert(daemon_wait_notify(&d, "READY=1", 10000));
	/* Lines of the daemon itself (probes run the hooks in their own pid). */
#define MINE(what) (snprintf(line, sizeof(line), "%s %d\n", what, (int)d.pid), line)
	daemon_signal(&d, SIGUSR1);
	ck_assert(wait_file(hooks, MINE("start 1.0.0"), 5000));

	/* Install 2.0.0 the way package managers do: a new file renamed over. */
	snprintf(src, sizeof(src), "%s/tests/plugins/versioned_v2.so", test_build_dir());
	test_copy_file(src, daemon_path(&d, "stages/.versioned.so.new"), 0755);
	ck_assert_int_eq(rename(daemon_path(&d, "stages/.versioned.so.new"),
	                        daemon_path(&d, "stages/versioned.so")),
	                 0);
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d,
	                          "reloaded: generation 2 with 1 stage types (1 loaded, 0 "
	                          "unchanged)",
	                          1, 5000));
	daemon_signal(&d, SIGUSR1);
	ck_assert(wait_file(hooks, MINE("start 2.0.0"), 5000));
	ck_assert(wait_file(hooks, MINE("end 2.0.0"), 5000));
	ck_assert(wait_file(hooks, MINE("unload 1.0.0"), 5000));
	ck_assert_int_eq(read_file(hooks, 1 << 16, &text, NULL), 0);
	/* 1.0.0 ran to its end before it was unloaded; 2.0.0 stays loaded. */
	{
		char end1[64], unload1[64], load2[64], start2[64];

		snprintf(end1, sizeof(end1), "end 1.0.0 %d\n", (int)d.pid);
		snprintf(unload1, sizeof(unload1), "unload 1.0.0 %d\n", (int)d.pid);
		snprintf(load2, sizeof(load2), "load 2.0.0 %d\n", (int)d.pid);
		snprintf(start2, sizeof(start2), "start 2.0.0 %d\n", (int)d.pid);
		ck_assert_ptr_nonnull(strstr(text, end1));
		ck_assert(strstr(text, end1) < strstr(text, unload1));
		ck_assert_ptr_nonnull(strstr(text, load2));
		ck_assert(strstr(text, load2) < strstr(text, start2));
		snprintf(line, sizeof(line), "unload 2.0.0 %d\n", (int)d.pid);
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

	daemon_init(&d, "ginid", "");
	write_conf("{ name = \"long\"; triggers = { on_start = true; }; steps = ("
	           "{ id = \"nap\"; stage = \"sleep\"; params = { duration = \"1h\"; }; } ); }");
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, "pipeline 'long': started", 1, 5000));
	daemon_signal(&d, SIGTERM);
	st = daemon_wait_exit(&d, 10000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert(daemon_wait_log(&d, "stopping on SIGTERM: 1 run in flight", 1, 100));
	ck_assert(daemon_wait_log(&d, "pipeline 'long': cancelled", 1, 100));
}
END_TEST

START_TEST(second_sigterm_exits_at_once)
{
	int st;

	daemon_init(&d, "ginid", "shutdown_timeout = \"1h\";\n");
	write_conf("{ name = \"stuck\"; triggers = { on_start = true; }; steps = ("
	           "{ id = \"x\"; stage = \"exec\"; params = { argv = [ \"/bin/sh\", \"-c\", "
	           "\"trap '' TERM; sleep 30\" ]; kill_grace = \"1h\"; }; } ); }");
	daemon_write(&d, "gini.conf",
	             "workers = 2;\nshutdown_timeout = \"1h\";\npipelines = ({ name = \"stuck\"; "
	             "triggers = { on_start = true; }; steps = ( { id = \"x\"; stage = \"exec\"; "
	             "params = { argv = [ \"/bin/sh\", \"-c\", \"trap '' TERM; sleep 30\" ]; "
	             "kill_grace = \"1h\"; }; } ); });\n");
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, "pipeline 'stuck': started", 1, 5000));
	sleep_ms(200);
	daemon_signal(&d, SIGTERM);
	ck_assert(daemon_wait_log(&d, "stopping on SIGTERM", 1, 5000));
	ck_assert_int_eq(daemon_wait_exit(&d, 300), -1);
	daemon_signal(&d, SIGTERM);
	st = daemon_wait_exit(&d, 5000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(&d, "second SIGTERM while stopping: exiting now", 1, 100));
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

	daemon_init(&d, "ginid", "");
	write_conf(
	        "{ name = \"q\"; overlap = \"queue\"; triggers = { signal = \"SIGRTMIN+1\"; }; "
	        "steps = ( { id = \"nap\"; stage = \"sleep\"; params = { duration = \"300ms\"; }; "
	        "} ); },"
	        "{ name = \"ok\"; triggers = { signal = \"SIGUSR2\"; }; steps = ( { id = \"l\"; "
	        "stage = \"log\"; params = { message = \"still alive\"; }; } ); }");
	daemon_start(&d);
	rss_before = proc_rss_kib(d.pid);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(kill(d.pid, SIGRTMIN + 1), 0);
	/* Once the storm is processed the queue drains: 1 running + 1 queued. */
	ck_assert(daemon_wait_log(&d, "pipeline 'q': success", 2, 10000));
	sleep_ms(500);
	started = daemon_log_count(&d, "pipeline 'q': started");
	ck_assert_uint_le(started, 3);
	ck_assert_uint_ge(started, 2);
	ck_assert(daemon_wait_log(&d, "skipped (overlap = queue, 1 running, one queued)", 1, 1000));
	/* Rate-limited: thousands of skips, a handful of lines. */
	ck_assert_uint_le(daemon_log_count(&d, "skipped (overlap"), 5);
	rss_after = proc_rss_kib(d.pid);
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
	daemon_signal(&d, SIGUSR2);
	ck_assert(daemon_wait_log(&d, "still alive", 1, 5000));
}
END_TEST

/* A persistent schedule whose fire was missed while down fires at start. */
START_TEST(persistent_schedule_catches_up)
{
	_cleanup_free_ char *state = NULL;
	char line[128];

	daemon_init(&d, "ginid", "");
	write_conf(
	        "{ name = \"nightly\"; triggers = { schedule = \"0 3 * * *\"; persistent = true; "
	        "}; steps = ( { id = \"l\"; stage = \"log\"; params = { message = \"caught up\"; "
	        "}; } ); },"
	        "{ name = \"fresh\"; triggers = { schedule = \"0 3 * * *\"; persistent = true; "
	        "}; steps = ( { id = \"l\"; stage = \"log\"; params = { message = \"never "
	        "ran\"; }; } ); }");
	/* Last fired three days ago: at least one 03:00 was missed. */
	snprintf(line, sizeof(line), "nightly %lld\n", (long long)time(NULL) - 3 * 86400);
	daemon_write(&d, "state/schedules", line);
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, "pipeline 'nightly': started (trigger: schedule (missed at ",
	                          1, 5000));
	ck_assert(daemon_wait_log(&d, "caught up", 1, 5000));
	/* No record yet means no catch-up, only a baseline. */
	ck_assert_uint_eq(daemon_log_count(&d, "never ran"), 0);
	/* Written by the state writer thread, within about a second. */
	ck_assert(wait_file(daemon_path(&d, "state/schedules"), "fresh ", 10000));
	ck_assert_int_eq(read_file(daemon_path(&d, "state/schedules"), 4096, &state, NULL), 0);
	ck_assert_ptr_null(strstr(state, line));
	/* And a restart with the fresh record does not fire again. */
	daemon_signal(&d, SIGTERM);
	ck_assert_int_ne(daemon_wait_exit(&d, 10000), -1);
	daemon_start(&d);
	sleep_ms(300);
	ck_assert_uint_eq(daemon_log_count(&d, "caught up"), 1);
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
	daemon_init(&d, "ginid", "");
	write_conf("");
	daemon_write(&d, a, "nightly 12");
	daemon_write(&d, b, "# partial");
	daemon_write(&d, "state/notes.tmp.1", "not ours");
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, "removed a temporary file left by an interrupted write", 2,
	                          5000));
	ck_assert_int_eq(access(daemon_path(&d, a), F_OK), -1);
	ck_assert_int_eq(access(daemon_path(&d, b), F_OK), -1);
	ck_assert_int_eq(access(daemon_path(&d, "state/notes.tmp.1"), F_OK), 0);
}
END_TEST

START_TEST(bad_config_refuses_to_start)
{
	int st;

	daemon_init(&d, "ginid", "workers = \"many\";\npipelines = ( { name = \"x\"; } );\n");
	daemon_spawn(&d, NULL, NULL);
	st = daemon_wait_exit(&d, 10000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(&d, "gini.conf:1: 'workers': expected an integer, got a string",
	                          1, 100));
	ck_assert(daemon_wait_log(&d, "gini.conf:2: pipeline 'x': no 'steps'", 1, 100));
	ck_assert(daemon_wait_log(&d, "has 2 errors; not starting", 1, 100));
	ck_assert(!daemon_wait_notify(&d, "READY=1", 0));
}
END_TEST

/* A plugin directory that is not there stops start-up, with the reason. */
START_TEST(missing_plugin_dir_refuses_to_start)
{
	int st;

	daemon_init(&d, "ginid", "pipelines = ();\n");
	daemon_spawn(&d, daemon_path(&d, "nowhere"), NULL);
	st = daemon_wait_exit(&d, 10000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(&d, "plugin directory ", 1, 100));
	ck_assert_uint_eq(daemon_log_count(&d, "nowhere: No such file or directory (--plugin-dir)"),
	                  1);
	ck_assert(daemon_wait_log(&d, "has 1 error; not starting", 1, 100));
	ck_assert(!daemon_wait_notify(&d, "READY=1", 0));
}
END_TEST

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
	argv[n++] = d.conf;
	argv[n++] = "--plugin-dir";
	argv[n++] = test_build_path("stages");
	argv[n++] = "--state-dir";
	argv[n++] = (char *)daemon_path(&d, "state");
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

	daemon_init(&d, "once", "");
	ck_assert_int_ne(asprintf(&conf,
	                          "pipelines = ( { name = \"p\"; steps = ("
	                          "{ id = \"get\"; stage = \"exec\"; params = { argv = [ "
	                          "\"/bin/echo\", \"from-get\" ]; capture = \"word\"; }; },"
	                          "{ id = \"env\"; stage = \"exec\"; after = \"get\"; params = { "
	                          "shell = \"echo \\\"$GINI_CTX_WORD\\\" > %s\"; }; },"
	                          "{ id = \"say\"; stage = \"log\"; after = \"get\"; params = { "
	                          "message = \"got ${word}\"; }; }"
	                          "); } );\n",
	                          daemon_path(&d, "env.out")),
	                 -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--once", "p", NULL), 0);
	/* The summary table: a header and one line per step, in order. */
	ck_assert_ptr_nonnull(strstr(out, "STEP  STAGE  RESULT     ATTEMPTS   DURATION  MESSAGE"));
	ck_assert_ptr_nonnull(strstr(out, "\nget   exec   success           1"));
	ck_assert_ptr_nonnull(strstr(out, "pipeline 'p': success in "));
	ck_assert_ptr_nonnull(strstr(err, "step 'say': got from-get"));
	ck_assert(wait_file(daemon_path(&d, "env.out"), "from-get\n", 0));
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

	daemon_init(&d, "once",
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

	daemon_init(&d, "once", "");
	ck_assert_int_ne(asprintf(&conf,
	                          "pipelines = ( { name = \"w\"; steps = ("
	                          "{ id = \"a\"; stage = \"write\"; params = { path = \"%s\"; "
	                          "template = \"x\"; }; },"
	                          "{ id = \"b\"; stage = \"exec\"; params = { argv = [ "
	                          "\"/bin/touch\", \"%s\" ]; }; },"
	                          "{ id = \"c\"; stage = \"log\"; after = [ \"a\", \"b\" ]; params "
	                          "= { message = \"done\"; }; }"
	                          "); } );\n",
	                          daemon_path(&d, "written"), daemon_path(&d, "touched")),
	                 -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--once", "w", "--dry-run", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "Dry run of pipeline 'w': 3 steps in 2 levels"));
	ck_assert_ptr_nonnull(strstr(out, "level 1:"));
	ck_assert_ptr_nonnull(strstr(out, "would write 1 bytes to "));
	ck_assert_ptr_nonnull(strstr(out, "would run: /bin/touch"));
	ck_assert_int_eq(access(daemon_path(&d, "written"), F_OK), -1);
	ck_assert_int_eq(access(daemon_path(&d, "touched"), F_OK), -1);
	free(out);
	free(err);
}
END_TEST

/* A timed-out exec step's child is really gone afterwards. */
START_TEST(once_timeout_kills_child)
{
	char *out = NULL, *err = NULL, *conf, *pidtext = NULL;
	pid_t child;

	daemon_init(&d, "once", "");
	ck_assert_int_ne(asprintf(&conf,
	                          "pipelines = ( { name = \"t\"; steps = ("
	                          "{ id = \"slow\"; stage = \"exec\"; timeout = \"300ms\"; params "
	                          "= { shell = \"echo $$ > %s; exec sleep 30\"; kill_grace = "
	                          "\"1s\"; }; }"
	                          "); } );\n",
	                          daemon_path(&d, "pid")),
	                 -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
	ck_assert_int_eq(ginid_cmd(&out, &err, "--once", "t", NULL), 1);
	ck_assert_ptr_nonnull(strstr(out, "timed-out"));
	ck_assert_ptr_nonnull(strstr(out, "timed out after 300ms"));
	ck_assert_int_eq(read_file(daemon_path(&d, "pid"), 64, &pidtext, NULL), 0);
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

	daemon_init(&d, "once", "");
	ck_assert_int_ne(asprintf(&conf,
	                          "pipelines = ( { name = \"s\"; steps = ("
	                          "{ id = \"long\"; stage = \"exec\"; params = { shell = \"echo "
	                          "$$ > %s; exec sleep 30\"; }; }"
	                          "); } );\n",
	                          daemon_path(&d, "pid")),
	                 -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
	daemon_spawn(&d, NULL, (const char *const[]){ "--once", "s", NULL });
	ck_assert(wait_file(daemon_path(&d, "pid"), "\n", 10000));
	daemon_signal(&d, SIGINT);
	st = daemon_wait_exit(&d, 10000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(&d, "cancelling run 1 on SIGINT", 1, 100));
	ck_assert(daemon_wait_log(&d, "cancelled", 2, 100));
	ck_assert(daemon_wait_log(&d, "pipeline 's': cancelled in ", 1, 100));
	ck_assert_int_eq(read_file(daemon_path(&d, "pid"), 64, &pidtext, NULL), 0);
	child = (pid_t)strtol(pidtext, NULL, 10);
	ck_assert_int_eq(kill(child, 0), -1);
	free(pidtext);
}
END_TEST

START_TEST(test_mode_lists_and_validates)
{
	char *out = NULL, *err = NULL;

	daemon_init(&d, "once",
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
	daemon_write(&d, "gini.conf",
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

	daemon_init(&d, "fifo", "workers = 2;\n");
	argv[3] = d.conf;
	ck_assert_int_eq(mkfifo(daemon_path(&d, "pipelines.d/x.conf"), 0644), 0);
	st = run_command(argv, &out, &err, 20000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	snprintf(want, sizeof(want), "%s: cannot read: not a regular file (a FIFO)",
	         daemon_path(&d, "pipelines.d/x.conf"));
	ck_assert_msg(strstr(err, want), "no '%s' in:\n%s", want, err);
	free(out);
	free(err);
	/* By @include, and /dev/zero likewise. */
	ck_assert_int_eq(rename(daemon_path(&d, "pipelines.d/x.conf"), daemon_path(&d, "y.fifo")),
	                 0);
	daemon_write(&d, "gini.conf",
	             "workers = 2;\n@include \"y.fifo\"\n@include \"/dev/zero\"\n");
	st = run_command(argv, &out, &err, 20000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	snprintf(want, sizeof(want),
	         "gini.conf:2: @include \"y.fifo\": cannot read %s: not a "
	         "regular file (a FIFO)",
	         daemon_path(&d, "y.fifo"));
	ck_assert_msg(strstr(err, want), "no '%s' in:\n%s", want, err);
	free(out);
	free(err);
	daemon_write(&d, "gini.conf", "workers = 2;\n@include \"/dev/zero\"\n");
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

	daemon_init(&d, "once", "");
	daemon_write(
	        &d, "gini.conf",
	        /* 1 */
	        "workers = 1;\n"
	        /* 2 */ "plugin_dirs = [ \"nowhere\" ];\n"
	        /* 3 */ "pipelines = ( { name = \"p\"; steps = ( { id = \"a\"; stage = \"log\"; "
	        "params = { message = \"x\"; }; } ); } );\n");
	argv[3] = d.conf;
	argv[5] = (char *)daemon_path(&d, "state");
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
	ck_assert_int_eq(mkdir(daemon_path(&d, "empty"), 0755), 0);
	argv[6] = "--plugin-dir";
	argv[7] = (char *)daemon_path(&d, "empty");
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
START_TEST(reload_with_fifo_refused)
{
	char *argv[] = { test_build_path("ginictl"), "-s", NULL, "status", NULL };
	char *out = NULL;
	int st;

	daemon_init(&d, "ginid", "");
	write_conf("");
	argv[2] = d.socket;
	daemon_start(&d);
	ck_assert_int_eq(mkfifo(daemon_path(&d, "pipelines.d/x.conf"), 0644), 0);
	daemon_signal(&d, SIGHUP);
	ck_assert(
	        daemon_wait_log(&d, "x.conf: cannot read: not a regular file (a FIFO)", 1, 10000));
	ck_assert(daemon_wait_log(&d, "generation 1 keeps running unchanged", 1, 10000));
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
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, ready_status_and_stop);
	tcase_add_test(tc, watchdog_pings);
	tcase_add_test(tc, bad_config_refuses_to_start);
	tcase_add_test(tc, missing_plugin_dir_refuses_to_start);
	tcase_add_test(tc, shutdown_cancels_running_steps);
	tcase_add_test(tc, second_sigterm_exits_at_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("triggers");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, signal_runs_bound_pipelines);
	tcase_add_test(tc, every_fires_repeatedly_and_on_start);
	tcase_add_test(tc, persistent_schedule_catches_up);
	tcase_add_test(tc, stale_state_temporaries_removed);
	tcase_add_test(tc, signal_storm);
	suite_add_tcase(s, tc);

	tc = tcase_create("once");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, once_success_and_context);
	tcase_add_test(tc, once_failure_exit_code);
	tcase_add_test(tc, once_dry_run_has_no_effect);
	tcase_add_test(tc, once_timeout_kills_child);
	tcase_add_test(tc, once_sigint_cancels);
	tcase_add_test(tc, test_mode_lists_and_validates);
	tcase_add_test(tc, test_mode_fifo_is_an_error);
	tcase_add_test(tc, test_mode_plugin_dir_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, reload_adds_pipeline);
	tcase_add_test(tc, broken_reload_keeps_old);
	tcase_add_test(tc, reload_with_fifo_refused);
	tcase_add_test(tc, reload_with_missing_plugin_dir_refused);
	tcase_add_test(tc, reload_during_run);
	tcase_add_test(tc, plugin_replaced_during_run);
	suite_add_tcase(s, tc);

	suite_add_tcase(s, layout_tcase());
	return s;
}
