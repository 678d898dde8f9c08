/* SPDX-License-Identifier: MIT */
/*
 * The scheduler (daemon/scheduler.c) on the hand-moved clock of
 * schedtest.c: intervals, cron schedules, reload phase, the wall clock
 * being set, stop, signals, daylight saving in three zones and the
 * persistent catch-up from the state file, each firing compared with the
 * exact instant it is due, without sleeping. The triggers of issue 13 are
 * in check_scheduler_triggers.c.
 */
#include "schedtest.h"

#include "cron.h"
#include "pipeline.h"
#include "scheduler.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Schedules */

START_TEST(test_every)
{
	struct pipeline *p = st_pipe_new("tick", NULL, 5 * USEC_PER_MINUTE, false);
	struct scheduler *s;
	time_t t0 = st_utc(2024, 5, 1, 10, 0);

	st_set_tz("UTC");
	st_start_at(t0);
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	scheduler_start(s);
	ck_assert_uint_eq(st_n_fires, 0);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "tick"),
	                 (int64_t)(t0 + 300) * (int64_t)USEC_PER_SEC);
	st_advance_to((uint64_t)(t0 + 3600) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 12);
	for (size_t i = 0; i < 12; i++)
		st_assert_fire(i, "tick", "every 5m", t0 + 300 * (time_t)(i + 1));
	scheduler_free(s);
	st_pipe_free(p);
}
END_TEST

/* A reload with the same interval keeps the phase; a new interval starts over. */
START_TEST(test_every_reload_phase)
{
	struct pipeline *p = st_pipe_new("tick", NULL, 5 * USEC_PER_MINUTE, false);
	struct pipeline *q = st_pipe_new("tick", NULL, 5 * USEC_PER_MINUTE, false);
	struct pipeline *r = st_pipe_new("tick", NULL, 10 * USEC_PER_MINUTE, false);
	struct scheduler *s;
	time_t t0 = st_utc(2024, 5, 1, 10, 0);

	st_set_tz("UTC");
	st_start_at(t0);
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	st_advance_to((uint64_t)(t0 + 120) * USEC_PER_SEC);
	scheduler_apply(s, &q, 1, false);
	st_advance_to((uint64_t)(t0 + 300) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 1);
	st_assert_fire(0, "tick", "every 5m", t0 + 300);
	st_advance_to((uint64_t)(t0 + 360) * USEC_PER_SEC);
	scheduler_apply(s, &r, 1, false);
	st_advance_to((uint64_t)(t0 + 960) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 2);
	st_assert_fire(1, "tick", "every 10m", t0 + 960);
	/* Gone from the configuration: no more st_fires. */
	scheduler_apply(s, NULL, 0, false);
	st_advance_to((uint64_t)(t0 + 7200) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 2);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "tick"), 0);
	scheduler_free(s);
	st_pipe_free(p);
	st_pipe_free(q);
	st_pipe_free(r);
}
END_TEST

START_TEST(test_schedule)
{
	struct pipeline *p[2] = { st_pipe_new("quarter", "*/15 * * * *", 0, false),
		                  st_pipe_new("nightly", "0 2 * * *", 0, false) };
	struct scheduler *s;
	time_t t0 = st_utc(2024, 5, 1, 0, 7);
	size_t k = 0;

	st_set_tz("UTC");
	st_start_at(t0);
	s = st_new_scheduler();
	scheduler_apply(s, p, 2, true);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "nightly"),
	                 (int64_t)st_utc(2024, 5, 1, 2, 0) * (int64_t)USEC_PER_SEC);
	st_advance_to((uint64_t)st_utc(2024, 5, 1, 3, 0) * USEC_PER_SEC);
	/* 00:15 ... 03:00 is 12 quarters, and 02:00 once more for nightly. */
	ck_assert_uint_eq(st_n_fires, 13);
	for (int q = 1; q <= 12; q++) {
		time_t at = st_utc(2024, 5, 1, 0, 0) + q * 900;

		if (at == st_utc(2024, 5, 1, 2, 0) && strcmp(st_fires[k].name, "nightly") == 0)
			st_assert_fire(k++, "nightly", "schedule", at);
		st_assert_fire(k++, "quarter", "schedule", at);
		if (at == st_utc(2024, 5, 1, 2, 0) && k < st_n_fires &&
		    strcmp(st_fires[k].name, "nightly") == 0)
			st_assert_fire(k++, "nightly", "schedule", at);
	}
	ck_assert_uint_eq(k, 13);
	scheduler_free(s);
	st_pipe_free(p[0]);
	st_pipe_free(p[1]);
}
END_TEST

/*
 * Daylight saving in a zone: a fixed-time job at 02:30 on the night clocks
 * go forward (02:00 -> 03:00) st_fires once at 03:00; on the night they go
 * back it st_fires once, at the first 02:30. A wildcard job follows the wall
 * clock: no fire in the gap, two in the repeated hour.
 */
struct dst_case {
	const char *tz;
	time_t spring_day;  /* local midnight-ish of the day clocks go forward, UTC */
	time_t spring_gap;  /* the instant clocks go forward */
	time_t fall_day;    /* a little before the night clocks go back */
	time_t fall_first;  /* the first 02:30 (or 01:30) of that night */
	time_t fall_second; /* the second */
	const char *fixed;  /* the fixed-time job in the skipped / repeated hour */
	const char *wild;   /* a wildcard job that matches inside it */
};

/*
 * One day of the two jobs from day (UTC): the fixed job fires once, at
 * fixed_at; the wildcard job every 10 real minutes, 24 * 6 times (neither
 * the skipped hour is waited for nor the repeated one left out).
 */
static void
check_dst_day(const struct dst_case *c, struct pipeline **p, time_t day, time_t fixed_at,
              const char *season)
{
	size_t n_fixed = 0, n_wild = 0;
	time_t wild_last = 0;
	struct scheduler *s;

	st_start_at(day);
	s = st_new_scheduler();
	scheduler_apply(s, p, 2, true);
	st_advance_to((uint64_t)(day + 86400) * USEC_PER_SEC);
	for (size_t i = 0; i < st_n_fires; i++) {
		if (strcmp(st_fires[i].name, "fixed") == 0) {
			ck_assert_msg(st_fires[i].at == fixed_at, "%s: fixed fired at %lld in %s",
			              c->tz, (long long)st_fires[i].at, season);
			n_fixed++;
			continue;
		}
		if (wild_last)
			ck_assert_msg(st_fires[i].at - wild_last == 600, "%s: wild %lld then %lld",
			              c->tz, (long long)wild_last, (long long)st_fires[i].at);
		wild_last = st_fires[i].at;
		n_wild++;
	}
	ck_assert_msg(n_fixed == 1, "%s: fixed fired %zu times in %s", c->tz, n_fixed, season);
	ck_assert_msg(n_wild == 24 * 6, "%s: wild fired %zu times in %s", c->tz, n_wild, season);
	scheduler_free(s);
}

static void
check_dst(const struct dst_case *c)
{
	struct pipeline *p[2] = { st_pipe_new("fixed", c->fixed, 0, false),
		                  st_pipe_new("wild", c->wild, 0, false) };

	st_set_tz(c->tz);
	/* Spring forward: 24 real hours are 25 of wall clock, one skipped. */
	check_dst_day(c, p, c->spring_day, c->spring_gap, "spring");
	/* Fall back: 24 real hours are 23 of wall clock, one repeated. */
	check_dst_day(c, p, c->fall_day, c->fall_first, "autumn");
	st_pipe_free(p[0]);
	st_pipe_free(p[1]);
}

START_TEST(test_dst_europe_berlin)
{
	/* 2021-03-28 02:00 CET -> 03:00 CEST (01:00 UTC); 2021-10-31 03:00 CEST -> 02:00 CET. */
	struct dst_case c = {
		.tz = "Europe/Berlin",
		.spring_day = st_utc(2021, 3, 27, 22, 0),
		.spring_gap = st_utc(2021, 3, 28, 1, 0),
		.fall_day = st_utc(2021, 10, 30, 21, 0),
		.fall_first = st_utc(2021, 10, 31, 0, 30),
		.fall_second = st_utc(2021, 10, 31, 1, 30),
		.fixed = "30 2 * * *",
		.wild = "*/10 * * * *",
	};

	check_dst(&c);
}
END_TEST

START_TEST(test_dst_america_new_york)
{
	/* 2022-03-13 02:00 EST -> 03:00 EDT (07:00 UTC); 2022-11-06 02:00 EDT -> 01:00 EST. */
	struct dst_case c = {
		.tz = "America/New_York",
		.spring_day = st_utc(2022, 3, 13, 4, 0),
		.spring_gap = st_utc(2022, 3, 13, 7, 0),
		.fall_day = st_utc(2022, 11, 5, 23, 0),
		.fall_first = st_utc(2022, 11, 6, 5, 30),
		.fall_second = st_utc(2022, 11, 6, 6, 30),
		.fixed = "30 1 * * *",
		.wild = "*/10 * * * *",
	};

	/* 01:30 is in the repeated hour, not in the gap: spring st_fires at 01:30 EST. */
	c.spring_gap = st_utc(2022, 3, 13, 6, 30);
	check_dst(&c);
}
END_TEST

START_TEST(test_dst_australia_sydney)
{
	/*
	 * The southern hemisphere: 2023-10-01 02:00 AEST -> 03:00 AEDT (16:00 UTC
	 * the day before); 2023-04-02 03:00 AEDT -> 02:00 AEST (16:00 UTC).
	 */
	struct dst_case c = {
		.tz = "Australia/Sydney",
		.spring_day = st_utc(2023, 9, 30, 14, 0),
		.spring_gap = st_utc(2023, 9, 30, 16, 0),
		.fall_day = st_utc(2023, 4, 1, 13, 0),
		.fall_first = st_utc(2023, 4, 1, 15, 30),
		.fall_second = st_utc(2023, 4, 1, 16, 30),
		.fixed = "30 2 * * *",
		.wild = "*/10 * * * *",
	};

	check_dst(&c);
}
END_TEST

/* The wall clock is set forward a day: the schedule goes on from there. */
START_TEST(test_clock_set)
{
	struct pipeline *p = st_pipe_new("hourly", "0 * * * *", 0, false);
	struct scheduler *s;
	time_t t0 = st_utc(2024, 5, 1, 10, 30);

	st_set_tz("UTC");
	st_start_at(t0);
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	st_set_wall_clock(t0 + 86400);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "hourly"),
	                 (int64_t)(st_utc(2024, 5, 2, 11, 0)) * (int64_t)USEC_PER_SEC);
	st_advance_to((uint64_t)(st_utc(2024, 5, 2, 11, 0)) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 1);
	st_assert_fire(0, "hourly", "schedule", st_utc(2024, 5, 2, 11, 0));
	scheduler_free(s);
	st_pipe_free(p);
}
END_TEST

/* After scheduler_stop() nothing st_fires and nothing is due. */
START_TEST(test_stop)
{
	struct pipeline *p[2] = { st_pipe_new("a", "* * * * *", 0, false),
		                  st_pipe_new("b", NULL, USEC_PER_SEC, false) };
	struct scheduler *s;
	time_t t0 = st_utc(2024, 5, 1, 10, 30);

	st_set_tz("UTC");
	st_start_at(t0);
	s = st_new_scheduler();
	scheduler_apply(s, p, 2, true);
	scheduler_stop(s);
	st_advance_to((uint64_t)(t0 + 3600) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 0);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "a"), 0);
	scheduler_free(s);
	st_pipe_free(p[0]);
	st_pipe_free(p[1]);
}
END_TEST

/* Signals: every pipeline bound to one st_fires, in configuration order. */
START_TEST(test_signals)
{
	struct pipeline *p[3] = { st_pipe_new("a", NULL, 0, false),
		                  st_pipe_new("b", NULL, 0, false),
		                  st_pipe_new("c", NULL, 0, false) };
	struct scheduler *s;

	st_set_tz("UTC");
	st_start_at(st_utc(2024, 5, 1, 10, 30));
	p[0]->triggers.signals[p[0]->triggers.n_signals++] = SIGUSR1;
	p[1]->triggers.signals[p[1]->triggers.n_signals++] = SIGUSR2;
	p[2]->triggers.signals[p[2]->triggers.n_signals++] = SIGUSR1;
	p[2]->triggers.on_start = true;
	s = st_new_scheduler();
	scheduler_apply(s, p, 3, true);
	scheduler_start(s);
	ck_assert_uint_eq(st_n_fires, 1);
	st_assert_fire(0, "c", "start", st_utc(2024, 5, 1, 10, 30));
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	while (sd_event_run(st_event, 0) > 0)
		;
	ck_assert_uint_eq(st_n_fires, 3);
	st_assert_fire(1, "a", "signal SIGUSR1", st_utc(2024, 5, 1, 10, 30));
	st_assert_fire(2, "c", "signal SIGUSR1", st_utc(2024, 5, 1, 10, 30));
	scheduler_free(s);
	for (size_t i = 0; i < 3; i++)
		st_pipe_free(p[i]);
}
END_TEST

/* Persistence */

static void
write_state(const char *name, time_t last)
{
	char path[4096], text[256];

	snprintf(path, sizeof(path), "%s/schedules", st_state_dir);
	snprintf(text, sizeof(text), "# test\n%s %lld\n", name, (long long)last);
	test_write_file(path, text, 0644);
}

static long long
read_state(const char *name)
{
	char path[4096], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/schedules", st_state_dir);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(name);

		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			v = strtoll(line + n + 1, NULL, 10);
	}
	fclose(f);
	return v;
}

/* Down for three days across three 02:00s: one catch-up run at start-up. */
START_TEST(test_persistent_catch_up)
{
	struct pipeline *p = st_pipe_new("nightly", "0 2 * * *", 0, true);
	struct scheduler *s;
	time_t now = st_utc(2024, 5, 4, 12, 0);

	st_set_tz("UTC");
	st_state_dir = test_tmpdir("scheduler");
	write_state("nightly", st_utc(2024, 5, 1, 2, 0));
	st_start_at(now);
	s = st_new_scheduler();
	scheduler_apply(s, &p, 1, true);
	scheduler_start(s);
	ck_assert_uint_eq(st_n_fires, 1);
	st_assert_fire(0, "nightly", "schedule (missed at 2024-05-02T02:00:00+00:00)", now);
	/* Then on schedule again, and the record follows each fire. */
	st_advance_to((uint64_t)st_utc(2024, 5, 5, 2, 0) * USEC_PER_SEC);
	ck_assert_uint_eq(st_n_fires, 2);
	st_assert_fire(1, "nightly", "schedule", st_utc(2024, 5, 5, 2, 0));
	scheduler_free(s);
	ck_assert_int_eq(read_state("nightly"), (long long)st_utc(2024, 5, 5, 2, 0));
	st_pipe_free(p);
}
END_TEST

/* Not missed, not persistent, or no record yet: nothing at start-up. */
START_TEST(test_persistent_no_catch_up)
{
	struct pipeline *p[2] = { st_pipe_new("nightly", "0 2 * * *", 0, true),
		                  st_pipe_new("plain", "0 2 * * *", 0, false) };
	struct scheduler *s;
	time_t now = st_utc(2024, 5, 4, 12, 0);

	st_set_tz("UTC");
	st_state_dir = test_tmpdir("scheduler");
	/* Last fire this morning: the next is tomorrow. */
	write_state("nightly", st_utc(2024, 5, 4, 2, 0));
	st_start_at(now);
	s = st_new_scheduler();
	scheduler_apply(s, p, 2, true);
	scheduler_start(s);
	ck_assert_uint_eq(st_n_fires, 0);
	scheduler_free(s);

	/* No record at all: one is started now, without a fire. */
	test_rmtree(st_state_dir);
	free(st_state_dir);
	st_state_dir = test_tmpdir("scheduler");
	s = st_new_scheduler();
	scheduler_apply(s, p, 2, true);
	scheduler_start(s);
	ck_assert_uint_eq(st_n_fires, 0);
	scheduler_free(s);
	ck_assert_int_eq(read_state("nightly"), (long long)now);
	ck_assert_int_eq(read_state("plain"), -1);
	st_pipe_free(p[0]);
	st_pipe_free(p[1]);
}
END_TEST

Suite *
scheduler_suite(void)
{
	Suite *s = suite_create("scheduler");
	TCase *tc;

	tc = tcase_create("every");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_every);
	tcase_add_test(tc, test_every_reload_phase);
	suite_add_tcase(s, tc);

	tc = tcase_create("schedule");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_schedule);
	tcase_add_test(tc, test_clock_set);
	tcase_add_test(tc, test_stop);
	suite_add_tcase(s, tc);

	tc = tcase_create("dst");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_dst_europe_berlin);
	tcase_add_test(tc, test_dst_america_new_york);
	tcase_add_test(tc, test_dst_australia_sydney);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_signals);
	suite_add_tcase(s, tc);

	tc = tcase_create("persistent");
	tcase_add_checked_fixture(tc, NULL, st_teardown);
	tcase_add_test(tc, test_persistent_catch_up);
	tcase_add_test(tc, test_persistent_no_catch_up);
	suite_add_tcase(s, tc);
	return s;
}
