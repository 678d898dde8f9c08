/* SPDX-License-Identifier: MIT */
/*
 * No process escapes (issue 16 item 4) and no zombie piles up (issue 11
 * item 5), against real ginid processes: exec steps whose programs start
 * grandchildren that call setsid() or ignore SIGTERM, on a step's timeout,
 * an isolated step's timeout, and shutdown (also with a kill_grace longer
 * than shutdown_timeout); ginid as PID 1 of a PID namespace; and ginid where
 * no cgroup v2 can be had.
 *
 * Each grandchild writes its pid to a file, so the checks are scoped to the
 * very processes the test started. "Gone" means no longer running: after
 * the daemon has exited, an orphan's zombie belongs to whoever reaps
 * orphans on this machine, not to us.
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The state letter of a process ('R', 'S', 'Z', ...), or 0 if it is gone. */
static char
proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' ? p[2] : '?';
}

static bool
running(pid_t pid)
{
	char s = proc_state(pid);

	return s != 0 && s != 'Z' && s != 'X';
}

/* Waits (up to ms) until pid is no longer running; true if so. */
static bool
wait_stopped(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 10 && running(pid); i++)
		sleep_ms(10);
	return !running(pid);
}

/* Waits (up to ms) until pid is gone entirely: dead and reaped. */
static bool
wait_reaped(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 10 && proc_state(pid); i++)
		sleep_ms(10);
	return proc_state(pid) == 0;
}

/* The pid a grandchild wrote to NAME in the daemon's directory. */
static pid_t
pid_from(const char *name)
{
	const char *path = daemon_path(&d, name);
	_cleanup_free_ char *text = NULL;
	long pid;

	ck_assert_msg(wait_file(path, "\n", 20000), "no pid in %s", path);
	ck_assert_int_eq(read_file(path, 64, &text, NULL), 0);
	pid = strtol(text, NULL, 10);
	ck_assert_int_gt(pid, 1);
	return (pid_t)pid;
}

/* Runs ginictl against the daemon; returns its exit status, output in *ret_out. */
static int
ctl(char **ret_out, const char *verb, const char *pipeline, const char *opt)
{
	_cleanup_free_ char *prog = strdup(test_build_path("ginictl"));
	char *argv[] = { prog, "-s", d.socket, (char *)verb, (char *)pipeline, (char *)opt, NULL };
	char *out = NULL, *err = NULL;
	int st = run_command(argv, &out, &err, 60000);

	if (ret_out) {
		ck_assert_int_ne(asprintf(ret_out, "%s%s", out ? out : "", err ? err : ""), -1);
	}
	free(out);
	free(err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Writes gini.conf: globals, then one pipeline "p" with the steps given
 * (the inside of "steps = ( ... )", %1$s standing for the daemon's
 * directory).
 */
static void
configure(const char *globals, const char *steps_fmt)
{
	_cleanup_free_ char *steps = NULL, *conf = NULL;

	daemon_init(&d, "processes", "");
	ck_assert_int_ne(asprintf(&steps, steps_fmt, d.dir), -1);
	ck_assert_int_ne(asprintf(&conf,
	                          "workers = 2;\n%s\npipelines = ( { name = \"p\"; steps = ( %s ); "
	                          "} );\n",
	                          globals ? globals : "", steps),
	                 -1);
	daemon_write(&d, "gini.conf", conf);
}

/* A grandchild in a session of its own, its pid in DIR/g. */
#define SETSID_GRANDCHILD "setsid sh -c 'echo $$ > %1$s/g; exec sleep 1000' & "
/* A grandchild that ignores SIGTERM, as does its parent; its pid in DIR/t. */
#define TERM_IGNORING "trap '' TERM; sh -c 'echo $$ > %1$s/t; exec sleep 1000' & "

/* An exec step's setsid() grandchild ends with the step's timeout. */
START_TEST(timeout_kills_setsid_grandchild)
{
	_cleanup_free_ char *out = NULL;
	pid_t g;

	configure(NULL, "{ id = \"x\"; stage = \"exec\"; timeout = \"1s\"; params = { shell = "
	                "\"" SETSID_GRANDCHILD "wait\"; kill_grace = \"1s\"; }; }");
	daemon_start(&d);
	ck_assert_int_eq(ctl(&out, "run", "p", "--wait"), 1);
	ck_assert_msg(strstr(out, "timed-out"), "%s", out);
	g = pid_from("g");
	ck_assert_msg(wait_stopped(g, 10000), "the setsid grandchild %d survived the timeout",
	              (int)g);
	/* Re-parented to the daemon (a subreaper), and reaped there. */
	ck_assert_msg(wait_reaped(g, 10000), "the grandchild %d was not reaped", (int)g);
}
END_TEST

/*
 * A child that ignores SIGTERM, under a leader that does not: the leader
 * ends at once, the child gets its kill_grace and then SIGKILL, and the
 * step's message says so.
 */
START_TEST(timeout_kills_term_ignoring_child)
{
	_cleanup_free_ char *out = NULL;
	pid_t t;

	configure(NULL, "{ id = \"x\"; stage = \"exec\"; timeout = \"1s\"; params = { shell = \"sh "
	                "-c 'trap \\\"\\\" TERM; echo $$ > %1$s/t; exec sleep 1000' & wait\"; "
	                "kill_grace = \"1s\"; }; }");
	daemon_start(&d);
	ck_assert_int_eq(ctl(&out, "run", "p", "--wait"), 1);
	t = pid_from("t");
	ck_assert_msg(wait_stopped(t, 10000), "the SIGTERM-ignoring child %d survived", (int)t);
	if (daemon_log_count(&d, "no cgroup for steps") == 0)
		ck_assert_msg(strstr(out, "processes it started were killed with SIGKILL after 1s "
		                          "grace"),
		              "%s", out);
}
END_TEST

/* ... and with the daemon's shutdown. */
START_TEST(shutdown_kills_setsid_grandchild)
{
	pid_t g;
	int st;

	configure(NULL, "{ id = \"x\"; stage = \"exec\"; params = { shell = \"" SETSID_GRANDCHILD
	                "wait\"; kill_grace = \"1s\"; }; }");
	daemon_start(&d);
	ck_assert_int_eq(ctl(NULL, "run", "p", NULL), 0);
	g = pid_from("g");
	daemon_signal(&d, SIGTERM);
	st = daemon_wait_exit(&d, 20000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_msg(wait_stopped(g, 10000), "the setsid grandchild %d survived shutdown", (int)g);
}
END_TEST

/*
 * An isolated exec step that times out: its kill_grace is honoured (its
 * children get SIGTERM and, 3 s later, SIGKILL, inside a worker that is
 * given that long), and neither the SIGTERM-ignoring child nor the setsid
 * one survives.
 */
START_TEST(isolated_timeout_kills_everything)
{
	_cleanup_free_ char *out = NULL;
	pid_t g, t;

	configure(NULL, "{ id = \"x\"; stage = \"exec\"; isolation = \"process\"; timeout = "
	                "\"1s\"; params = { shell = \"" SETSID_GRANDCHILD TERM_IGNORING
	                "wait\"; kill_grace = \"3s\"; }; }");
	daemon_start(&d);
	ck_assert_int_eq(ctl(&out, "run", "p", "--wait"), 1);
	ck_assert_msg(strstr(out, "killed with SIGKILL after 3s grace"), "%s", out);
	g = pid_from("g");
	t = pid_from("t");
	ck_assert_msg(wait_stopped(t, 10000), "the SIGTERM-ignoring child %d survived", (int)t);
	ck_assert_msg(wait_stopped(g, 10000), "the setsid grandchild %d survived", (int)g);
}
END_TEST

/*
 * kill_grace longer than shutdown_timeout, in-process (loop 0) and isolated
 * (loop 1): at shutdown_timeout every process of the step is killed, not
 * orphaned, and the daemon says so and exits 1.
 */
START_TEST(shutdown_timeout_kills_term_ignoring)
{
	static const char *const steps[] = {
		"{ id = \"x\"; stage = \"exec\"; params = { shell = \"" TERM_IGNORING
		"wait\"; kill_grace = \"1h\"; }; }",
		"{ id = \"x\"; stage = \"exec\"; isolation = \"process\"; params = { shell = "
		"\"" TERM_IGNORING "wait\"; kill_grace = \"1h\"; }; }",
	};
	pid_t t;
	int st;

	/* Longer than an isolated step's own 2 s: that case used to exit 0. */
	configure("shutdown_timeout = \"3s\";", steps[_i]);
	daemon_start(&d);
	ck_assert_int_eq(ctl(NULL, "run", "p", NULL), 0);
	t = pid_from("t");
	daemon_signal(&d, SIGTERM);
	st = daemon_wait_exit(&d, 30000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert(daemon_wait_log(&d, "still running after shutdown_timeout: killed", 1, 100));
	ck_assert(daemon_wait_log(&d, "stopped, after killing the processes", 1, 100));
	ck_assert_int_eq(daemon_log_count(&d, "info: stopped"), 0);
	ck_assert_msg(wait_stopped(t, 10000), "the SIGTERM-ignoring child %d was orphaned", (int)t);
}
END_TEST

/*
 * With cgroups, what an exec program leaves running in the background when it
 * exits is stopped before the step ends (without them it runs until the
 * daemon stops, as documented; the test then skips).
 */
START_TEST(exit_stops_leftovers)
{
	_cleanup_free_ char *out = NULL;
	pid_t g;

	configure(NULL, "{ id = \"x\"; stage = \"exec\"; params = { shell = \"" SETSID_GRANDCHILD
	                "sleep 0.1\"; }; }");
	daemon_start(&d);
	if (daemon_log_count(&d, "no cgroup for steps")) {
		printf("skipped: exit_stops_leftovers needs a writable cgroup v2\n");
		return;
	}
	ck_assert_int_eq(ctl(&out, "run", "p", "--wait"), 0);
	g = pid_from("g");
	/* Stopped when the step ended, not later: the step's end waited for it. */
	ck_assert_msg(!running(g), "the leftover %d survived its step", (int)g);
}
END_TEST

/*
 * Reaping orphans never takes the exit status a stage waits for: steps
 * that exit 3 run alongside one that orphans a stream of short-lived
 * processes, and each still fails with its own status.
 */
START_TEST(reaping_keeps_exit_statuses)
{
	configure(NULL, "{ id = \"storm\"; stage = \"exec\"; params = { shell = \"i=0; while [ $i "
	                "-lt 200 ]; do (true &); i=$((i+1)); done\"; }; },"
	                "{ id = \"a\"; stage = \"exec\"; params = { shell = \"sleep 0.1; exit "
	                "3\"; }; }");
	daemon_start(&d);
	for (int round = 0; round < 5; round++) {
		_cleanup_free_ char *out = NULL;

		ck_assert_int_eq(ctl(&out, "run", "p", "--wait"), 1);
		ck_assert_msg(strstr(out, "exit status 3"), "%s", out);
	}
}
END_TEST

/* Runs ginid --once PIPELINE on d's configuration behind a prefix command. */
static int
once_behind(const char *const *prefix, const char *pipeline, char **ret_out)
{
	char *argv[32], *out = NULL, *err = NULL;
	size_t n = 0;
	int st;

	for (; prefix && *prefix; prefix++)
		argv[n++] = (char *)*prefix;
	argv[n++] = (char *)test_build_path("ginid");
	argv[n++] = "--once";
	argv[n++] = (char *)pipeline;
	argv[n++] = "-c";
	argv[n++] = d.conf;
	argv[n++] = "--plugin-dir";
	argv[n++] = (char *)test_build_path("stages");
	argv[n++] = "--state-dir";
	argv[n++] = (char *)daemon_path(&d, "state");
	argv[n] = NULL;
	st = run_command(argv, &out, &err, 60000);
	ck_assert_int_ne(asprintf(ret_out, "%s%s", out ? out : "", err ? err : ""), -1);
	free(out);
	free(err);
	return st;
}

static bool
can_unshare(const char *what)
{
	if (geteuid() != 0) {
		printf("skipped: %s needs root for unshare(1)\n", what);
		return false;
	}
	if (access("/usr/bin/unshare", X_OK) < 0) {
		printf("skipped: %s needs /usr/bin/unshare (util-linux)\n", what);
		return false;
	}
	return true;
}

/*
 * ginid as PID 1 of a PID namespace (a container's init): steps that
 * orphan grandchildren leave no zombie behind. The second step lists the
 * zombies in the namespace, a while after the first step's orphans ended.
 */
START_TEST(pid1_leaves_no_zombies)
{
	static const char *const prefix[] = { "/usr/bin/unshare", "-pf", "--mount-proc", NULL };
	_cleanup_free_ char *out = NULL;
	int st;

	if (!can_unshare("the PID 1 test"))
		return;
	configure(
	        NULL,
	        "{ id = \"orphans\"; stage = \"exec\"; params = { shell = \"for i in 1 2 3 4 5; do "
	        "(sleep 0.2 &); done; (setsid sh -c 'sleep 0.3' &); echo $$ > %1$s/o\"; }; },"
	        "{ id = \"zombies\"; stage = \"exec\"; after = [ \"orphans\" ]; params = { shell "
	        "= \"sleep 1; z=$(grep -l '^State:.*Z' /proc/[0-9]*/status); test -z \\\"$z\\\" "
	        "|| { echo zombies: $z >&2; exit 1; }\"; }; }");
	st = once_behind(prefix, "p", &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, out);
	ck_assert_msg(strstr(out, "zombies  exec   success"), "%s", out);
}
END_TEST

/*
 * As PID 1, the init forwards signals to the daemon: a SIGTERM sent to PID
 * 1 (here from a step inside the namespace; `docker stop` sends it from
 * outside) cancels the run, and the init exits with the daemon's status.
 */
START_TEST(pid1_forwards_signals)
{
	static const char *const prefix[] = { "/usr/bin/unshare", "-pf", "--mount-proc", NULL };
	_cleanup_free_ char *out = NULL;
	int st;

	if (!can_unshare("the PID 1 test"))
		return;
	configure(NULL, "{ id = \"long\"; stage = \"exec\"; params = { argv = [ \"sleep\", "
	                "\"1000\" ]; }; }, { id = \"term\"; stage = \"exec\"; params = { shell "
	                "= \"sleep 0.3; kill -TERM 1\"; }; }");
	st = once_behind(prefix, "p", &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s", st, out);
	ck_assert_msg(strstr(out, "cancelling run 1 on SIGTERM"), "%s", out);
	ck_assert_msg(strstr(out, "long  exec   cancelled"), "%s", out);
}
END_TEST

/*
 * Without cgroup v2 (unmounted in a mount namespace of its own), ginid says
 * so once, and still finds the setsid grandchild through the process tree.
 */
START_TEST(no_cgroup_falls_back_to_process_tree)
{
	/* Unmounts every cgroup2 mount, then runs the rest of the command line. */
	static const char unmount[] = "grep ' - cgroup2 ' /proc/self/mountinfo | cut -d' ' -f5 | "
	                              "xargs -r umount -l && exec \"$0\" \"$@\"";
	static const char *const prefix[] = {
		"/usr/bin/unshare", "-m", "/bin/sh", "-c", unmount, NULL
	};
	_cleanup_free_ char *out = NULL;
	pid_t g;
	int st;

	if (!can_unshare("the no-cgroup test"))
		return;
	configure(NULL, "{ id = \"x\"; stage = \"exec\"; timeout = \"1s\"; params = { shell = "
	                "\"" SETSID_GRANDCHILD "wait\"; kill_grace = \"1s\"; }; }");
	st = once_behind(prefix, "p", &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s", st, out);
	ck_assert_msg(strstr(out, "timed-out"), "%s", out);
	ck_assert_msg(strstr(out, "no cgroup for steps (/proc/self/cgroup: no cgroup v2)"), "%s",
	              out);
	ck_assert_ptr_null(strstr(strstr(out, "no cgroup for steps") + 1, "no cgroup for steps"));
	g = pid_from("g");
	ck_assert_msg(wait_stopped(g, 10000), "the setsid grandchild %d survived the timeout",
	              (int)g);
}
END_TEST

Suite *
processes_suite(void)
{
	Suite *s = suite_create("processes");
	TCase *tc = tcase_create("escape");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, timeout_kills_setsid_grandchild);
	tcase_add_test(tc, timeout_kills_term_ignoring_child);
	tcase_add_test(tc, shutdown_kills_setsid_grandchild);
	tcase_add_test(tc, isolated_timeout_kills_everything);
	tcase_add_loop_test(tc, shutdown_timeout_kills_term_ignoring, 0, 2);
	tcase_add_test(tc, exit_stops_leftovers);
	tcase_add_test(tc, reaping_keeps_exit_statuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("container");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, pid1_leaves_no_zombies);
	tcase_add_test(tc, pid1_forwards_signals);
	tcase_add_test(tc, no_cgroup_falls_back_to_process_tree);
	suite_add_tcase(s, tc);
	return s;
}
