/* SPDX-License-Identifier: MIT */
/*
 * The run history opens after READY=1 (daemon/history.c, history_open() on
 * the writer thread): what needs it waits for it, so nothing it guarantees
 * changes. A real ginid: an on_start run, dispatched as early as can be,
 * still takes the id after the last recorded one; health and STATUS= after
 * a restart know the last failures; a corrupt database is moved aside as
 * before. And the writer thread, at a lower priority, still keeps up under
 * load. Part of the history suite (check_history.c).
 */
#include "tests.h"

#include "check_history.h"

#include "daemon.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define START_CONF                                                                                 \
	"pipelines = (\n"                                                                          \
	"  { name = \"boot\"; triggers = { on_start = true; }; steps = (\n"                        \
	"      { id = \"hello\"; stage = \"log\"; params = { message = \"up\"; }; } ); },\n"       \
	"  { name = \"bad\"; health = { max_failures = 2; }; steps = (\n"                          \
	"      { id = \"boom\"; stage = \"fail\"; params = { message = \"on purpose\"; }; } ); "   \
	"}\n"                                                                                      \
	");\n"

static json_t *
ctl_json(struct daemon *d, int want, const char *cmd)
{
	char *out = NULL, *err = NULL;
	json_t *j;

	ck_assert_int_eq(daemon_ginictl(d, &out, &err, "--json", cmd, NULL), want);
	j = json_loads(out, 0, NULL);
	ck_assert_msg(j, "not JSON: %s / %s", out, err);
	free(out);
	free(err);
	return j;
}

/* The ids of the runs of pipeline in the history, newest first, as "2,1". */
static char *
run_ids(struct daemon *d, const char *pipeline)
{
	json_t *j = ctl_json(d, 0, "history"), *e;
	char *s = strdup(""), *n;
	size_t i;

	json_array_foreach(
	        j, i, e) if (streq(json_string_value(json_object_get(e, "pipeline")), pipeline))
	{
		ck_assert_int_ne(asprintf(&n, "%s%s%lld", s, *s ? "," : "",
		                          (long long)json_integer_value(json_object_get(e, "id"))),
		                 -1);
		free(s);
		s = n;
	}
	json_decref(j);
	return s;
}

static void
restart(struct daemon *d)
{
	daemon_signal(d, SIGTERM);
	ck_assert_int_eq(daemon_wait_exit(d, 30000), 0);
	free(d->notified);
	d->notified = NULL;
	d->notified_len = 0;
	d->exited = false;
	daemon_spawn(d, NULL, NULL);
	ck_assert(daemon_wait_notify(d, "READY=1", 30000));
}

/*
 * An on_start run is the earliest a run can be: it still follows the last
 * recorded id (a second run 1 would replace the first in the database).
 * Health, STATUS= included, knows the failures from before the restart.
 */
START_TEST(restart_keeps_ids_and_health)
{
	struct daemon d;
	char *out = NULL, *err = NULL, *ids;
	json_t *j, *e;
	size_t i;
	bool seen = false;

	daemon_init(&d, "history-start", START_CONF);
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, "run 1: pipeline 'boot': success", 1, 30000));
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "bad", "--wait", NULL), 1);
		free(out);
		free(err);
	}
	restart(&d);
	/* The on_start run of the second start. */
	ck_assert(daemon_wait_log(&d, "run 4: pipeline 'boot': success", 1, 30000));
	ids = run_ids(&d, "boot");
	ck_assert_str_eq(ids, "4,1");
	free(ids);
	j = ctl_json(&d, 1, "health");
	ck_assert(json_is_false(json_object_get(j, "healthy")));
	json_array_foreach(json_object_get(j, "pipelines"), i,
	                   e) if (streq(json_string_value(json_object_get(e, "name")), "bad"))
	{
		seen = true;
		ck_assert(json_is_false(json_object_get(e, "healthy")));
		ck_assert_int_eq(json_integer_value(json_object_get(e, "consecutive_failures")), 2);
	}
	ck_assert(seen);
	json_decref(j);
	/* STATUS= says so too, once the history is read. */
	ck_assert(daemon_wait_notify(&d, "1 unhealthy: bad", 30000));
	daemon_done(&d);
}
END_TEST

/* A corrupt database: moved aside with the same lines, a new one started. */
START_TEST(start_with_corrupt_database)
{
	struct daemon d;
	char garbage[8192], *state, *path;
	char *out = NULL, *err = NULL, *ids;

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7 + 3);
	garbage[sizeof(garbage) - 1] = 0;
	daemon_init(&d, "history-start-corrupt", START_CONF);
	state = strdup(daemon_path(&d, "state"));
	ck_assert(mkdir(state, 0755) == 0 || errno == EEXIST);
	path = path_join(state, "history.db");
	test_write_file(path, garbage, 0644);
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, "run 1: pipeline 'boot': success", 1, 30000));
	ck_assert_uint_eq(daemon_log_count(&d, "is unusable"), 1);
	ck_assert_uint_eq(daemon_log_count(&d, "moved aside to"), 1);
	ck_assert_uint_eq(daemon_log_count(&d, "run history is disabled"), 0);
	ids = run_ids(&d, "boot");
	ck_assert_str_eq(ids, "1");
	free(ids);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "history", NULL), 0);
	free(out);
	free(err);
	free(path);
	free(state);
	daemon_done(&d);
}
END_TEST

/* Whether a thread of this process runs at niceness nice. */
static bool
task_with_nice(long nice)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool found = false;

	ck_assert_ptr_nonnull(d);
	while (!found && (e = readdir(d))) {
		char path[300], buf[1024], *p;
		long v = 0;
		FILE *f;
		int field = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
			/* After the name: state is field 3, nice field 19. */
			for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " "))
				if (++field == 17) {
					v = strtol(t, NULL, 10);
					found = v == nice;
					break;
				}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static atomic_bool spin_stop;

static void *
spin(void *data)
{
	volatile unsigned long n = 0;

	(void)data;
	while (!atomic_load(&spin_stop))
		n++;
	return NULL;
}

/* The writer yields to the runs (niceness 10), yet under a steady load
 * that takes every core it records every run. */
START_TEST(writer_yields_but_keeps_up)
{
	char *dir = test_tmpdir("history-nice");
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t busy[16];
	size_t n = (size_t)(cores > 0 && cores < 8 ? cores * 2 : 16);
	struct history *h;

	atomic_store(&spin_stop, false);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&busy[i], NULL, spin, NULL), 0);
	h = history_new(dir, &defaults, NULL);
	ck_assert_ptr_null(history_disabled(h));
	for (uint64_t i = 1; i <= 300; i++)
		history_record(h, ended_run(i, "p", "success", now, "under load"));
	ck_assert_int_eq(history_flush(h), 0);
	ck_assert(task_with_nice(10));
	atomic_store(&spin_stop, true);
	for (size_t i = 0; i < n; i++)
		pthread_join(busy[i], NULL);
	history_free(h);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 300);
	test_rmtree(dir);
	free(dir);
}
END_TEST

void
history_start_tcase(Suite *s)
{
	TCase *tc = tcase_create("start");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, restart_keeps_ids_and_health);
	tcase_add_test(tc, start_with_corrupt_database);
	tcase_add_test(tc, writer_yields_but_keeps_up);
	suite_add_tcase(s, tc);
}
