/* SPDX-License-Identifier: MIT */
/*
 * The triggers of issue 13 in the scheduler, on the hand-moved clock of
 * schedtest.c: schedules in their own time zone, random and fixed random
 * delays, persistent intervals, watch (real inotify, a fake settle clock)
 * and after_pipeline. check_triggers.c drives the same through ginid.
 */
#include "schedtest.h"

#include "cron_tz.h"
#include "pipeline.h"
#include "scheduler.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Time zones, random delays */

static struct cron_tz *
zone(const char *name)
{
	struct cron_tz *z = NULL;
	char err[256];

	ck_assert_msg(cron_tz_load(name, &z, err, sizeof(err)) == 0, "%s", err);
	return z;
}

/* A schedule in its own zone follows that zone's DST, whatever TZ says. */
START_TEST(test_schedule_timezone)
{
	struct pipeline *p[2] = { st_pipe_new("berlin", "30 2 * * *", 0, false),
		                  st_pipe_new("new-york", "30 1 * * *", 0, false) };
	struct scheduler *s;

	p[0]->triggers.tz = zone("Europe/Berlin");
	p[1]->triggers.tz = zone("America/New_York");
	st_set_tz("Asia/Tokyo");
	/* Berlin springs forward: 02:30 does not exist, 03:00 CEST = 01:00 UTC. */
	st_start_at(st_utc(2021, 3, 27, 12, 0));
	s = st_new_scheduler();
	scheduler_apply(s, p, 1, true);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "berlin"),
	                 (int64_t)st_utc(2021, 3, 28, 1, 0) * (int64_t)USEC_PER_SEC);
	st_advance_to((uint64_t)st_utc(2021, 3, 29, 12, 0) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 2);
	st_assert_fire(0, "berlin", "schedule", st_utc(2021, 3, 28, 1, 0));
	st_assert_fire(1, "berlin", "schedule", st_utc(2021, 3, 29, 0, 30));
	scheduler_free(s);

	/* New York falls back: 01:30 twice, fired at the first (EDT) only. */
	st_start_at(st_utc(2022, 11, 5, 12, 0));
	s = st_new_scheduler();
	scheduler_apply(s, p + 1, 1, true);
	st_advance_to((uint64_t)st_utc(2022, 11, 7, 12, 0) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 2);
	st_assert_fire(0, "new-york", "schedule", st_utc(2022, 11, 6, 5, 30));
	st_assert_fire(1, "new-york", "schedule", st_utc(2022, 11, 7, 6, 30));
	scheduler_free(s);
	st_pipe_free(p[0]);
	st_pipe_free(p[1]);
}
END_TEST

/* A reload loads the zone anew; the same zone keeps the armed timer. */
START_TEST(test_reload_same_zone)
{
	struct pipeline *p = st_pipe_new("hourly", "0 * * * *", 0, false);
	struct pipeline *q = st_pipe_new("hourly", "0 * * * *", 0, false);
	struct scheduler *s;
	int64_t next;

	st_set_tz("UTC");
	p->triggers.tz = zone("Europe/Berlin");
	q->triggers.tz = zone("Europe/Berlin");
	/* A random delay is drawn when the timer is armed: re-arming shows. */
	p->triggers.random_delay_usec = q->triggers.random_delay_usec = 30 * USEC_PER_MINUTE;
	st_start_at(st_utc(2024, 5, 1, 10, 10));
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	next = scheduler_next_fire_usec(s, "hourly");
	scheduler_apply(s, &q, 1, false);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "hourly"), next);
	scheduler_free(s);
	st_pipe_free(p);
	st_pipe_free(q);
}
END_TEST

/* Each firing comes up to random_delay late, a different amount each time. */
START_TEST(test_random_delay)
{
	struct pipeline *p[2] = { st_pipe_new("cron", "* * * * *", 0, false),
		                  st_pipe_new("every", NULL, USEC_PER_MINUTE, false) };
	const uint64_t max = 30 * USEC_PER_SEC;
	uint64_t t0 = (uint64_t)st_utc(2024, 5, 1, 10, 0) * USEC_PER_SEC;
	uint64_t first_delay[2] = { UINT64_MAX, UINT64_MAX };
	bool varied[2] = { false, false };
	size_t count[2] = { 0, 0 };
	struct scheduler *s;

	st_set_tz("UTC");
	p[0]->triggers.random_delay_usec = max;
	p[1]->triggers.random_delay_usec = max;
	st_start_at((time_t)(t0 / USEC_PER_SEC));
	s = st_new_scheduler();
	scheduler_apply(s, p, 2, true);
	st_advance_to(t0 + 60 * USEC_PER_MINUTE - 1);
	for (size_t i = 0; i < st_n_fires; i++) {
		int k = strcmp(st_fires[i].name, "every") == 0;
		/* Both are due on whole minutes after t0. */
		uint64_t due = t0 + (count[k] + 1) * USEC_PER_MINUTE;
		uint64_t delay = st_fires[i].at_usec - due;

		ck_assert_msg(st_fires[i].at_usec >= due && delay <= max,
		              "%s fire %zu: %llu usec after its due time", st_fires[i].name,
		              count[k], (unsigned long long)(st_fires[i].at_usec - due));
		if (first_delay[k] == UINT64_MAX)
			first_delay[k] = delay;
		else if (delay != first_delay[k])
			varied[k] = true;
		count[k]++;
	}
	ck_assert_uint_ge(count[0], 58);
	ck_assert_uint_ge(count[1], 58);
	ck_assert(varied[0] && varied[1]);
	scheduler_free(s);
	st_pipe_free(p[0]);
	st_pipe_free(p[1]);
}
END_TEST

/* The delays of one run of a scheduler: pipeline "a" then "b". */
static void
fixed_delays(uint64_t ret[2])
{
	struct pipeline *p[2] = { st_pipe_new("a", "0 * * * *", 0, false),
		                  st_pipe_new("b", "0 * * * *", 0, false) };
	time_t t0 = st_utc(2024, 5, 1, 10, 0);
	struct scheduler *s;

	for (int i = 0; i < 2; i++) {
		p[i]->triggers.random_delay_usec = 50 * USEC_PER_MINUTE;
		p[i]->triggers.fixed_random_delay = true;
	}
	st_start_at(t0);
	s = st_new_scheduler();
	scheduler_apply(s, p, 2, true);
	/* 11:00 to 15:00, each at most 50 minutes late. */
	st_advance_to((uint64_t)(t0 + 5 * 3600 + 3000) * USEC_PER_SEC);
	ret[0] = ret[1] = UINT64_MAX;
	ck_assert_uint_eq(st_n_fires, 10);
	for (size_t i = 0; i < st_n_fires; i++) {
		int k = st_fires[i].name[0] - 'a';
		uint64_t delay = st_fires[i].at_usec % (3600 * USEC_PER_SEC);

		/* The same delay, hour after hour. */
		ck_assert(ret[k] == UINT64_MAX || ret[k] == delay);
		ret[k] = delay;
		free(st_fires[i].context);
		st_fires[i].context = NULL;
	}
	scheduler_free(s);
	st_pipe_free(p[0]);
	st_pipe_free(p[1]);
}

/* fixed_random_delay: stable per host and pipeline, across restarts. */
START_TEST(test_fixed_random_delay)
{
	uint64_t one[2], again[2], other[2];

	st_set_tz("UTC");
	st_machine_id = "5c1e1d7e0a6f4b7c9e0d3a2b1c4d5e6f";
	fixed_delays(one);
	fixed_delays(again);
	st_machine_id = "0f9e8d7c6b5a49382716a5b4c3d2e1f0";
	fixed_delays(other);
	st_machine_id = NULL;
	ck_assert_uint_eq(one[0], again[0]);
	ck_assert_uint_eq(one[1], again[1]);
	ck_assert_uint_ne(one[0], one[1]);
	ck_assert_uint_ne(one[0], other[0]);
	ck_assert_uint_le(one[0], 50 * USEC_PER_MINUTE);
	ck_assert_uint_le(one[1], 50 * USEC_PER_MINUTE);
}
END_TEST

/* Persistent intervals */

static void
write_intervals(const char *name, time_t last)
{
	char path[4096], text[256];

	snprintf(path, sizeof(path), "%s/intervals", st_state_dir);
	snprintf(text, sizeof(text), "# test\n%s %lld\n", name, (long long)last);
	test_write_file(path, text, 0644);
}

/* The value of an intervals file line "NAME VALUE" into *ret; false if line
 * is not NAME's or holds no number. */
static bool
interval_value(const char *line, const char *name, long long *ret)
{
	size_t len = strlen(name);
	const char *start;
	char *end;
	long long v;

	if (strncmp(line, name, len) != 0 || line[len] != ' ')
		return false;
	start = line + len + 1;
	errno = 0;
	v = strtoll(start, &end, 10);
	if (errno != 0 || end == start)
		return false;
	*ret = v;
	return true;
}

/* Down across a due time: one catch-up run, then the interval from there. */
START_TEST(test_persistent_every_catch_up)
{
	struct pipeline *p = st_pipe_new("hourly", NULL, 3600 * USEC_PER_SEC, true);
	time_t now = st_utc(2024, 5, 4, 12, 0);
	struct scheduler *s;

	st_set_tz("UTC");
	st_state_dir = test_tmpdir("scheduler");
	write_intervals("hourly", now - 3 * 3600);
	st_start_at(now);
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	scheduler_start(s);
	ck_assert_uint_eq(st_n_fires, 1);
	st_assert_fire(0, "hourly", "every 1h (missed at 2024-05-04T10:00:00+00:00)", now);
	st_advance_to((uint64_t)(now + 3600) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 2);
	st_assert_fire(1, "hourly", "every 1h", now + 3600);
	scheduler_free(s);
	st_pipe_free(p);
}
END_TEST

/* Restarted before the interval was up: it goes on counting, no extra run. */
START_TEST(test_persistent_every_countdown)
{
	struct pipeline *p[2] = { st_pipe_new("hourly", NULL, 3600 * USEC_PER_SEC, true),
		                  st_pipe_new("fresh", NULL, 3600 * USEC_PER_SEC, true) };
	time_t now = st_utc(2024, 5, 4, 12, 0);
	struct scheduler *s;
	char path[4096];

	st_set_tz("UTC");
	st_state_dir = test_tmpdir("scheduler");
	write_intervals("hourly", now - 20 * 60);
	st_start_at(now);
	s = st_new_scheduler();
	scheduler_apply(s, p, 2, true);
	scheduler_start(s);
	ck_assert_uint_eq(st_n_fires, 0);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "hourly"),
	                 (int64_t)(now + 40 * 60) * (int64_t)USEC_PER_SEC);
	st_advance_to((uint64_t)(now + 3600) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 2);
	st_assert_fire(0, "hourly", "every 1h", now + 40 * 60);
	/* No record: it starts counting now, and keeps a record of that. */
	st_assert_fire(1, "fresh", "every 1h", now + 3600);
	scheduler_free(s);
	snprintf(path, sizeof(path), "%s/intervals", st_state_dir);
	{
		FILE *f = fopen(path, "re");
		char line[256];
		bool hourly = false, fresh = false;

		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f)) {
			long long v = 0;

			if (interval_value(line, "hourly", &v))
				hourly = v == (long long)now + 40 * 60;
			if (interval_value(line, "fresh", &v))
				fresh = v == (long long)now + 3600;
		}
		fclose(f);
		ck_assert(hourly && fresh);
	}
	st_pipe_free(p[0]);
	st_pipe_free(p[1]);
}
END_TEST

/* Watch */

static void
drain_events(void)
{
	while (sd_event_run(st_event, 0) > 0)
		;
}

static void
touch(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
}

static struct pipeline *
pipe_watch(const char *name, const char *path, uint32_t events, uint64_t settle)
{
	struct pipeline *p = st_pipe_new(name, NULL, 0, false);

	ck_assert_int_eq(strv_push(&p->triggers.watch_paths, &p->triggers.n_watch_paths, path), 0);
	p->triggers.watch_events = events;
	p->triggers.watch_settle_usec = settle;
	return p;
}

/* A burst settles into one run, whose context lists each changed path once. */
START_TEST(test_watch_settle)
{
	char *dir = test_tmpdir("watch");
	struct pipeline *p =
	        pipe_watch("incoming", dir, WATCH_CREATE | WATCH_CLOSE_WRITE, 2 * USEC_PER_SEC);
	uint64_t t0 = (uint64_t)st_utc(2024, 5, 1, 10, 0) * USEC_PER_SEC;
	struct scheduler *s;
	char expect[4096];

	st_set_tz("UTC");
	st_start_at((time_t)(t0 / USEC_PER_SEC));
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	touch(dir, "a");
	touch(dir, "b");
	drain_events();
	st_advance_to(t0 + USEC_PER_SEC);
	touch(dir, "c");
	touch(dir, "a");
	drain_events();
	/* Quiet for 2s counts from the last change, at t0 + 1s. */
	st_advance_to(t0 + 2500 * 1000);
	ck_assert_uint_eq(st_n_fires, 0);
	st_advance_to(t0 + 3 * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 1);
	snprintf(expect, sizeof(expect), "gini.changed_paths=%s/a\n%s/b\n%s/c\n", dir, dir, dir);
	ck_assert_str_eq(st_fires[0].context, expect);
	ck_assert_str_eq(st_fires[0].trigger, "watch");
	/* Events not asked for (a delete) make no run. */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/a", dir);
		ck_assert_int_eq(unlink(path), 0);
	}
	drain_events();
	st_advance_to(t0 + 60 * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 1);
	scheduler_free(s);
	st_pipe_free(p);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* 10,000 files in a burst: one run, and a bounded context. */
START_TEST(test_watch_burst_10000)
{
	char *dir = test_tmpdir("watch");
	struct pipeline *p =
	        pipe_watch("incoming", dir, WATCH_CREATE | WATCH_CLOSE_WRITE | WATCH_MOVED_TO,
	                   2 * USEC_PER_SEC);
	uint64_t t0 = (uint64_t)st_utc(2024, 5, 1, 10, 0) * USEC_PER_SEC;
	struct scheduler *s;
	size_t lines = 1;

	st_set_tz("UTC");
	st_start_at((time_t)(t0 / USEC_PER_SEC));
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	for (int i = 0; i < 10000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "file-%05d", i);
		touch(dir, name);
		/* The loop reads as it goes, as the daemon's would; time passes too. */
		if (i % 500 == 499) {
			drain_events();
			st_advance_to(st_now_real() + 100 * 1000);
		}
	}
	drain_events();
	st_advance_to(st_now_real() + 10 * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 1);
	for (const char *c = st_fires[0].context; *c; c++)
		lines += *c == '\n';
	/* The paths, then "gini.changed_paths_dropped=N". */
	ck_assert_uint_le(lines, 1000 + 2);
	ck_assert_uint_le(strlen(st_fires[0].context), 64 * 1024 + 100);
	ck_assert_ptr_nonnull(strstr(st_fires[0].context, "\ngini.changed_paths_dropped="));
	scheduler_free(s);
	st_pipe_free(p);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* A watched directory that does not exist yet is picked up when it appears. */
START_TEST(test_watch_appears)
{
	char *dir = test_tmpdir("watch");
	char sub[4096], deep[4096], expect[8192];
	struct pipeline *p;
	uint64_t t0 = (uint64_t)st_utc(2024, 5, 1, 10, 0) * USEC_PER_SEC;
	struct scheduler *s;

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(deep, sizeof(deep), "%s/sub/deep", dir);
	p = pipe_watch("later", deep, WATCH_CREATE, USEC_PER_SEC);
	st_set_tz("UTC");
	st_start_at((time_t)(t0 / USEC_PER_SEC));
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	drain_events();
	ck_assert_int_eq(mkdir(deep, 0755), 0);
	drain_events();
	st_advance_to(t0 + 5 * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 1);
	snprintf(expect, sizeof(expect), "gini.changed_paths=%s\n", deep);
	ck_assert_str_eq(st_fires[0].context, expect);
	/* And what happens inside it from then on. */
	touch(deep, "x");
	drain_events();
	st_advance_to(t0 + 10 * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 2);
	snprintf(expect, sizeof(expect), "gini.changed_paths=%s/x\n", deep);
	ck_assert_str_eq(st_fires[1].context, expect);
	scheduler_free(s);
	st_pipe_free(p);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* after_pipeline */

START_TEST(test_after_pipeline)
{
	struct pipeline *p[3] = { st_pipe_new("on-success", NULL, 0, false),
		                  st_pipe_new("on-any", NULL, 0, false),
		                  st_pipe_new("on-failure", NULL, 0, false) };
	enum after_result want[3] = { AFTER_SUCCESS, AFTER_ANY, AFTER_FAILURE };
	struct scheduler *s;
	time_t t0 = st_utc(2024, 5, 1, 10, 0);

	st_set_tz("UTC");
	for (int i = 0; i < 3; i++) {
		p[i]->triggers.after_pipeline = strdup("backup");
		p[i]->triggers.after_result = want[i];
	}
	st_start_at(t0);
	s = st_new_scheduler();
	scheduler_apply(s, p, 3, true);
	scheduler_run_ended(s, "other", AFTER_SUCCESS);
	ck_assert_uint_eq(st_n_fires, 0);
	scheduler_run_ended(s, "backup", AFTER_SUCCESS);
	ck_assert_uint_eq(st_n_fires, 2);
	st_assert_fire(0, "on-success", "after pipeline 'backup' (success)", t0);
	st_assert_fire(1, "on-any", "after pipeline 'backup' (success)", t0);
	scheduler_run_ended(s, "backup", AFTER_FAILURE);
	ck_assert_uint_eq(st_n_fires, 4);
	st_assert_fire(2, "on-any", "after pipeline 'backup' (failure)", t0);
	st_assert_fire(3, "on-failure", "after pipeline 'backup' (failure)", t0);
	/* A cancelled run: only "any" waits for that. */
	scheduler_run_ended(s, "backup", AFTER_ANY);
	ck_assert_uint_eq(st_n_fires, 5);
	st_assert_fire(4, "on-any", "after pipeline 'backup' (cancelled)", t0);
	scheduler_free(s);
	for (int i = 0; i < 3; i++)
		st_pipe_free(p[i]);
}
END_TEST

Suite *
scheduler_triggers_suite(void)
{
	Suite *s = suite_create("scheduler_triggers");
	TCase *tc;

	tc = tcase_create("persistent_every");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_persistent_every_catch_up);
	tcase_add_test(tc, test_persistent_every_countdown);
	suite_add_tcase(s, tc);

	tc = tcase_create("timezone");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_schedule_timezone);
	tcase_add_test(tc, test_reload_same_zone);
	suite_add_tcase(s, tc);

	tc = tcase_create("random_delay");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_random_delay);
	tcase_add_test(tc, test_fixed_random_delay);
	suite_add_tcase(s, tc);

	tc = tcase_create("watch");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_watch_settle);
	tcase_add_test(tc, test_watch_burst_10000);
	tcase_add_test(tc, test_watch_appears);
	suite_add_tcase(s, tc);

	tc = tcase_create("after_pipeline");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_after_pipeline);
	suite_add_tcase(s, tc);
	return s;
}
