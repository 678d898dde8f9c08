/* SPDX-License-Identifier: MIT */
/*
 * The roles of a real ginid's threads (thread_role.c), read from /proc: the
 * workers are named and keep the daemon's priority, the history and state
 * writers are named and run THREAD_BACKGROUND_NICE lower, and the main
 * thread keeps the process's name.
 */
#include "tests.h"

#include "daemon.h"
#include "thread_role.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct thread_info {
	char comm[32];
	int nice;
};

/* comm and nice of task tid of pid; false if it is gone. */
static bool
read_task(pid_t pid, const char *tid, struct thread_info *ret)
{
	char path[128], buf[1024], *p;
	FILE *f;
	size_t n;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(ret->comm, sizeof(ret->comm), f))
		ret->comm[0] = '\0';
	fclose(f);
	ret->comm[strcspn(ret->comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the ")" that ends comm, fields 3...; nice is field 19. */
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	for (p++; *p && field < 19; p++)
		if (*p == ' ')
			field++;
	ret->nice = (int)strtol(p, NULL, 10);
	return true;
}

/* How many threads of pid are named comm, and the nice of the last one. */
static int
count_named(pid_t pid, const char *comm, int *ret_nice)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		struct thread_info t;

		if (de->d_name[0] == '.' || !read_task(pid, de->d_name, &t))
			continue;
		if (streq(t.comm, comm)) {
			n++;
			*ret_nice = t.nice;
		}
	}
	closedir(d);
	return n;
}

START_TEST(background_threads_run_lower)
{
	struct daemon d;
	struct thread_info main_thread;
	char tid[32];
	int nice = 0, workers = 0, history = 0;

	daemon_init(&d, "threads",
	            "workers = 3;\n"
	            "pipelines = ({ name = \"p\"; steps = ({ id = \"a\"; stage = \"log\"; "
	            "params = { message = \"hello\"; }; }); });\n");
	daemon_start(&d);
	snprintf(tid, sizeof(tid), "%d", (int)d.pid);
	ck_assert(read_task(d.pid, tid, &main_thread));
	ck_assert_str_eq(main_thread.comm, "ginid");
	/* The workers start with the first run: an idle daemon has none, and
	 * ginictl status still reports the 3 configured. */
	ck_assert_int_eq(count_named(d.pid, "ginid-worker", &nice), 0);
	{
		char *out = NULL, *err = NULL;

		ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "status", NULL), 0);
		ck_assert_msg(strstr(out, "workers:        3"), "%s", out);
		free(out);
		free(err);
		ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "p", "--wait", NULL), 0);
		free(out);
		free(err);
	}
	/* The threads name themselves as they start: wait for them. */
	for (int i = 0; i < 500 && (workers < 3 || history < 1); i++) {
		workers = count_named(d.pid, "ginid-worker", &nice);
		history = count_named(d.pid, "ginid-history", &nice);
		if (workers < 3 || history < 1)
			usleep(10000);
	}
	ck_assert_int_eq(workers, 3);
	ck_assert_int_eq(history, 1);
	ck_assert_int_eq(count_named(d.pid, "ginid-worker", &nice), 3);
	ck_assert_int_eq(nice, main_thread.nice);
	ck_assert_int_eq(count_named(d.pid, "ginid-history", &nice), 1);
	ck_assert_int_eq(nice, main_thread.nice + THREAD_BACKGROUND_NICE > 19
	                               ? 19
	                               : main_thread.nice + THREAD_BACKGROUND_NICE);
	daemon_done(&d);
}
END_TEST

Suite *
threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("roles");

	tcase_add_test(tc, background_threads_run_lower);
	suite_add_tcase(s, tc);
	return s;
}
