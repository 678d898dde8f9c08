/* SPDX-License-Identifier: MIT */
/*
 * Where the daemon and its steps' processes live in cgroup v2 (reaper.c),
 * against real ginid processes: the daemon stays in the cgroup it was
 * started in (moving costs an RCU grace period at start and at exit), its
 * exec steps each get WHAT-PID-N directly below it, nothing of the daemon's
 * is left there after it exits, and the empty step cgroups of a daemon that
 * was killed are removed at the next start while a live process's are not.
 * Each test skips, saying why, where no writable cgroup v2 can be had.
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include "../plugins/lib/proc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct daemon d;
/* The directory of the cgroup this test (and so the daemon) started in. */
static char self_dir[PATH_MAX];

static void
teardown(void)
{
	daemon_done(&d);
}

/* The cgroup v2 path of pid ("/a/b", from the 0:: line of /proc/PID/cgroup). */
static char *
cgroup_path(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *text = NULL;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	ck_assert_int_eq(read_file(path, 65536, &text, NULL), 0);
	p = strstr(text, "0::");
	ck_assert_msg(p && (p == text || p[-1] == '\n'), "no cgroup v2 line in %s", text);
	return strndup(p + 3, strcspn(p + 3, "\n"));
}

/*
 * Starts a daemon whose pipeline p has the steps given (%1$s: the daemon's
 * directory); false (the test skips) where steps get no cgroups.
 */
static bool
start(const char *steps_fmt)
{
	_cleanup_free_ char *steps = NULL, *conf = NULL;

	daemon_init(&d, "cgroups", "");
	ck_assert_int_ne(asprintf(&steps, steps_fmt, d.dir), -1);
	ck_assert_int_ne(asprintf(&conf,
	                          "workers = 1;\npipelines = ( { name = \"p\"; steps = ( %s ); } "
	                          ");\n",
	                          steps),
	                 -1);
	daemon_write(&d, "gini.conf", conf);
	daemon_start(&d);
	if (daemon_log_count(&d, "no cgroup for steps")) {
		printf("skipped: the cgroups tests need a writable cgroup v2\n");
		return false;
	}
	ck_assert_int_eq(proc_cgroup_self(self_dir, sizeof(self_dir)), 0);
	return true;
}

/* How many directories in dir are named WHAT-PID-N for this pid. */
static size_t
count_of(const char *dir, pid_t pid)
{
	char mid[32];
	struct dirent *de;
	size_t n = 0;
	DIR *dd = opendir(dir);

	ck_assert_ptr_nonnull(dd);
	snprintf(mid, sizeof(mid), "-%d-", (int)pid);
	while ((de = readdir(dd)))
		if (de->d_type == DT_DIR && strstr(de->d_name, mid))
			n++;
	closedir(dd);
	return n;
}

/*
 * The daemon stays in the cgroup it was started in (the test's: it is our
 * child); an exec step runs in exec-DAEMONPID-N directly below it; at exit
 * no cgroup of the daemon's is left.
 */
START_TEST(daemon_stays_steps_below)
{
	char *mine = cgroup_path(getpid()), *theirs = NULL, *step = NULL;
	char *out = NULL, *err = NULL, *expect = NULL;
	pid_t pid;

	if (!start("{ id = \"a\"; stage = \"exec\"; params = { shell = \"cat /proc/self/cgroup > "
	           "%1$s/cg\"; }; }")) {
		free(mine);
		return;
	}
	pid = d.pid;
	theirs = cgroup_path(pid);
	ck_assert_str_eq(theirs, mine);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "p", "--wait", NULL), 0);
	ck_assert_int_eq(read_file(daemon_path(&d, "cg"), 65536, &step, NULL), 0);
	ck_assert_int_ne(
	        asprintf(&expect, "0::%s/exec-%d-", strcmp(mine, "/") ? mine : "", (int)pid), -1);
	ck_assert_msg(strstr(step, expect), "the step ran in %s, not below %s", step, mine);
	daemon_signal(&d, SIGTERM);
	ck_assert_int_eq(daemon_wait_exit(&d, 20000), 0);
	ck_assert_uint_eq(count_of(self_dir, pid), 0);
	free(expect);
	free(err);
	free(out);
	free(step);
	free(theirs);
	free(mine);
}
END_TEST

/*
 * Empty step cgroups of a daemon that no longer runs are removed at start;
 * those named for a live process, and those holding a process, are not.
 */
START_TEST(stale_removed_at_start)
{
	char dead_cg[PATH_MAX + 64], live_cg[PATH_MAX + 64], held_cg[PATH_MAX + 64];
	pid_t dead, live;
	int st, fd;

	ck_assert_int_eq(proc_cgroup_self(self_dir, sizeof(self_dir)), 0);
	dead = fork();
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, &st, 0), dead);
	live = fork();
	ck_assert_int_ge(live, 0);
	if (live == 0) {
		pause();
		_exit(0);
	}
	snprintf(dead_cg, sizeof(dead_cg), "%s/exec-%d-1", self_dir, (int)dead);
	snprintf(live_cg, sizeof(live_cg), "%s/exec-%d-1", self_dir, (int)live);
	snprintf(held_cg, sizeof(held_cg), "%s/worker-%d-2", self_dir, (int)dead);
	if (mkdir(dead_cg, 0755) < 0) {
		printf("skipped: stale_removed_at_start cannot make a cgroup in %s: %s\n", self_dir,
		       strerror(errno));
		kill(live, SIGKILL);
		waitpid(live, &st, 0);
		return;
	}
	ck_assert_int_eq(mkdir(live_cg, 0755), 0);
	ck_assert_int_eq(mkdir(held_cg, 0755), 0);
	fd = open(held_cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(proc_cgroup_attach(fd, live), 0);

	if (start("{ id = \"a\"; stage = \"log\"; params = { message = \"m\"; }; }")) {
		struct stat sb;

		ck_assert_msg(stat(dead_cg, &sb) < 0 && errno == ENOENT, "%s is still there",
		              dead_cg);
		ck_assert_msg(stat(live_cg, &sb) == 0, "%s (a live process's) was removed",
		              live_cg);
		ck_assert_msg(stat(held_cg, &sb) == 0, "%s (not empty) was removed", held_cg);
	}
	/* Back where it was, so that the cgroups can go. */
	{
		int self = open(self_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		ck_assert_int_ge(self, 0);
		ck_assert_int_eq(proc_cgroup_attach(self, live), 0);
		close(self);
	}
	close(fd);
	kill(live, SIGKILL);
	waitpid(live, &st, 0);
	(void)rmdir(dead_cg);
	(void)rmdir(live_cg);
	(void)proc_cgroup_rmdir(held_cg);
}
END_TEST

Suite *
cgroups_suite(void)
{
	Suite *s = suite_create("cgroups");
	TCase *tc = tcase_create("cgroups");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, daemon_stays_steps_below);
	tcase_add_test(tc, stale_removed_at_start);
	suite_add_tcase(s, tc);
	return s;
}
