/* SPDX-License-Identifier: MIT */
/*
 * The scheduler (daemon/scheduler.c) on a clock the test moves by hand: a
 * struct sched_clock whose "now" is two variables and whose timers are a
 * list, fired in due order as the test advances time. So a day of
 * schedules, a daylight-saving change or a week of downtime takes no
 * sleeping, and every firing is compared with the exact instant it is due.
 * Each test sets TZ itself (Check forks every test).
 */
#include "tests.h"

#include "cron.h"
#include "pipeline.h"
#include "sched_clock.h"
#include "scheduler.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The hand-moved clock. */

#define TIMERS_MAX 64

struct sched_timer {
	clockid_t clock;
	uint64_t due; /* UINT64_MAX: disarmed */
	void (*cb)(void *data);
	void *data;
	bool used;
};

static struct {
	uint64_t real, mono;
	struct sched_timer timers[TIMERS_MAX];
	void (*set_cb)(void *data);
	void *set_data;
} fake;

static uint64_t
fake_now(void *userdata, clockid_t clock)
{
	(void)userdata;
	return clock == CLOCK_REALTIME ? fake.real : fake.mono;
}

static int
fake_timer_new(void *userdata, clockid_t clock, void (*cb)(void *data), void *data,
               struct sched_timer **ret)
{
	(void)userdata;
	for (size_t i = 0; i < TIMERS_MAX; i++)
		if (!fake.timers[i].used) {
			fake.timers[i] = (struct sched_timer){ clock, UINT64_MAX, cb, data, true };
			*ret = &fake.timers[i];
			return 0;
		}
	ck_abort_msg("out of fake timers");
	return -ENOMEM;
}

static void
fake_timer_set(struct sched_timer *t, uint64_t usec)
{
	t->due = usec;
}

static struct sched_timer *
fake_timer_free(struct sched_timer *t)
{
	if (t)
		t->used = false;
	return NULL;
}

static int
fake_watch_set(void *userdata, void (*cb)(void *data), void *data)
{
	(void)userdata;
	fake.set_cb = cb;
	fake.set_data = data;
	return 0;
}

static void
fake_unwatch_set(void *userdata)
{
	(void)userdata;
	fake.set_cb = NULL;
}

static const struct sched_clock fake_clock = {
	.now = fake_now,
	.timer_new = fake_timer_new,
	.timer_set = fake_timer_set,
	.timer_free = fake_timer_free,
	.watch_set = fake_watch_set,
	.unwatch_set = fake_unwatch_set,
};

/* Due time of t on the realtime axis. */
static uint64_t
due_real(const struct sched_timer *t)
{
	if (t->clock == CLOCK_REALTIME)
		return t->due;
	return fake.real + (t->due - fake.mono);
}

/*
 * Moves both clocks forward to realtime `until` (usec), firing every timer
 * that falls due on the way, in order, with the clocks at its due time.
 */
static void
advance_to(uint64_t until)
{
	for (;;) {
		struct sched_timer *next = NULL;
		uint64_t at = UINT64_MAX;

		for (size_t i = 0; i < TIMERS_MAX; i++) {
			struct sched_timer *t = &fake.timers[i];

			if (t->used && t->due != UINT64_MAX && due_real(t) < at) {
				at = due_real(t);
				next = t;
			}
		}
		if (!next || at > until)
			break;
		if (at > fake.real) {
			fake.mono += at - fake.real;
			fake.real = at;
		}
		next->due = UINT64_MAX; /* one-shot */
		next->cb(next->data);
	}
	if (until > fake.real) {
		fake.mono += until - fake.real;
		fake.real = until;
	}
}

/* The wall clock is set to `to` (seconds) while the monotonic clock goes on. */
static void
set_wall_clock(time_t to)
{
	fake.real = (uint64_t)to * USEC_PER_SEC;
	if (fake.set_cb)
		fake.set_cb(fake.set_data);
}

/* What fired. */

#define FIRES_MAX 512

static struct fire {
	char name[32];
	char trigger[96];
	time_t at;
} fires[FIRES_MAX];
static size_t n_fires;

static void
on_fire(void *userdata, const char *name, const char *trigger)
{
	(void)userdata;
	ck_assert_uint_lt(n_fires, FIRES_MAX);
	snprintf(fires[n_fires].name, sizeof(fires[n_fires].name), "%s", name);
	snprintf(fires[n_fires].trigger, sizeof(fires[n_fires].trigger), "%s", trigger);
	fires[n_fires].at = (time_t)(fake.real / USEC_PER_SEC);
	n_fires++;
}

/* Fixtures. */

static char *state_dir;
static sd_event *event;

static void
set_tz(const char *tz)
{
	ck_assert_int_eq(setenv("TZ", tz, 1), 0);
	tzset();
}

/* Seconds since the epoch of a UTC date and time. */
static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi
	};

	return timegm(&tm);
}

static void
start_at(time_t t)
{
	memset(&fake, 0, sizeof(fake));
	fake.real = (uint64_t)t * USEC_PER_SEC;
	fake.mono = 1000 * USEC_PER_SEC;
	n_fires = 0;
}

static struct scheduler *
new_scheduler(void)
{
	struct scheduler *s = NULL;
	sigset_t ss;

	/* sd-event reads signals through a signalfd: they must be blocked. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR1);
	sigaddset(&ss, SIGUSR2);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaddset(&ss, sig);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &ss, NULL), 0);
	if (!event)
		ck_assert_int_ge(sd_event_new(&event), 0);
	if (!state_dir)
		state_dir = test_tmpdir("scheduler");
	ck_assert_int_eq(scheduler_new(&(struct scheduler_config){ .e = event,
	                                                           .clock = &fake_clock,
	                                                           .state_dir = state_dir,
	                                                           .fire = on_fire },
	                               &s),
	                 0);
	return s;
}

/* A pipeline with only what the scheduler reads: its name and triggers. */
static struct pipeline *
pipe_new(const char *name, const char *schedule, uint64_t every_usec, bool persistent)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	char err[256];

	ck_assert_ptr_nonnull(p);
	p->name = strdup(name);
	if (schedule) {
		ck_assert_msg(cron_parse(schedule, &p->triggers.cron, err, sizeof(err)) == 0, "%s",
		              err);
		p->triggers.schedule = strdup(schedule);
	}
	p->triggers.every_usec = every_usec;
	p->triggers.persistent = persistent;
	return p;
}

static void
pipe_free(struct pipeline *p)
{
	free(p->name);
	free(p->triggers.schedule);
	free(p);
}

static void
teardown(void)
{
	if (state_dir)
		test_rmtree(state_dir);
	free(state_dir);
	state_dir = NULL;
	event = sd_event_unref(event);
}

static void
assert_fire(size_t i, const char *name, const char *trigger, time_t at)
{
	char a[64], b[64];

	ck_assert_uint_gt(n_fires, i);
	ck_assert_str_eq(fires[i].name, name);
	ck_assert_str_eq(fires[i].trigger, trigger);
	ck_assert_msg(fires[i].at == at, "fire %zu of '%s': at %s, expected %s", i, name,
	              format_iso8601(fires[i].at, a, sizeof(a)), format_iso8601(at, b, sizeof(b)));
}

/* Schedules */

START_TEST(test_every)
{
	struct pipeline *p = pipe_new("tick", NULL, 5 * USEC_PER_MINUTE, false);
	struct scheduler *s;
	time_t t0 = utc(2024, 5, 1, 10, 0);

	set_tz("UTC");
	start_at(t0);
	s = new_scheduler();
	scheduler_apply(s, &p, 1, true);
	scheduler_start(s);
	ck_assert_uint_eq(n_fires, 0);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "tick"),
	                 (int64_t)(t0 + 300) * (int64_t)USEC_PER_SEC);
	advance_to((uint64_t)(t0 + 3600) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 12);
	for (size_t i = 0; i < 12; i++)
		assert_fire(i, "tick", "every 5m", t0 + 300 * (time_t)(i + 1));
	scheduler_free(s);
	pipe_free(p);
}
END_TEST

/* A reload with the same interval keeps the phase; a new interval starts over. */
START_TEST(test_every_reload_phase)
{
	struct pipeline *p = pipe_new("tick", NULL, 5 * USEC_PER_MINUTE, false);
	struct pipeline *q = pipe_new("tick", NULL, 5 * USEC_PER_MINUTE, false);
	struct pipeline *r = pipe_new("tick", NULL, 10 * USEC_PER_MINUTE, false);
	struct scheduler *s;
	time_t t0 = utc(2024, 5, 1, 10, 0);

	set_tz("UTC");
	start_at(t0);
	s = new_scheduler();
	scheduler_apply(s, &p, 1, true);
	advance_to((uint64_t)(t0 + 120) * USEC_PER_SEC);
	scheduler_apply(s, &q, 1, false);
	advance_to((uint64_t)(t0 + 300) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 1);
	assert_fire(0, "tick", "every 5m", t0 + 300);
	advance_to((uint64_t)(t0 + 360) * USEC_PER_SEC);
	scheduler_apply(s, &r, 1, false);
	advance_to((uint64_t)(t0 + 960) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 2);
	assert_fire(1, "tick", "every 10m", t0 + 960);
	/* Gone from the configuration: no more fires. */
	scheduler_apply(s, NULL, 0, false);
	advance_to((uint64_t)(t0 + 7200) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 2);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "tick"), 0);
	scheduler_free(s);
	pipe_free(p);
	pipe_free(q);
	pipe_free(r);
}
END_TEST

START_TEST(test_schedule)
{
	struct pipeline *p[2] = { pipe_new("quarter", "*/15 * * * *", 0, false),
		                  pipe_new("nightly", "0 2 * * *", 0, false) };
	struct scheduler *s;
	time_t t0 = utc(2024, 5, 1, 0, 7);
	size_t k = 0;

	set_tz("UTC");
	start_at(t0);
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "nightly"),
	                 (int64_t)utc(2024, 5, 1, 2, 0) * (int64_t)USEC_PER_SEC);
	advance_to((uint64_t)utc(2024, 5, 1, 3, 0) * USEC_PER_SEC);
	/* 00:15 ... 03:00 is 12 quarters, and 02:00 once more for nightly. */
	ck_assert_uint_eq(n_fires, 13);
	for (int q = 1; q <= 12; q++) {
		time_t at = utc(2024, 5, 1, 0, 0) + q * 900;

		if (at == utc(2024, 5, 1, 2, 0) && strcmp(fires[k].name, "nightly") == 0)
			assert_fire(k++, "nightly", "schedule", at);
		assert_fire(k++, "quarter", "schedule", at);
		if (at == utc(2024, 5, 1, 2, 0) && k < n_fires &&
		    strcmp(fires[k].name, "nightly") == 0)
			assert_fire(k++, "nightly", "schedule", at);
	}
	ck_assert_uint_eq(k, 13);
	scheduler_free(s);
	pipe_free(p[0]);
	pipe_free(p[1]);
}
END_TEST

/*
 * Daylight saving in a zone: a fixed-time job at 02:30 on the night clocks
 * go forward (02:00 -> 03:00) fires once at 03:00; on the night they go
 * back it fires once, at the first 02:30. A wildcard job follows the wall
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

static void
check_dst(const struct dst_case *c)
{
	struct pipeline *p[2] = { pipe_new("fixed", c->fixed, 0, false),
		                  pipe_new("wild", c->wild, 0, false) };
	struct scheduler *s;
	size_t n_fixed = 0, n_wild = 0;
	time_t wild_last = 0;

	set_tz(c->tz);
	/* Spring forward. */
	start_at(c->spring_day);
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	advance_to((uint64_t)(c->spring_day + 86400) * USEC_PER_SEC);
	for (size_t i = 0; i < n_fires; i++) {
		if (strcmp(fires[i].name, "fixed") == 0) {
			ck_assert_msg(fires[i].at == c->spring_gap, "%s: fixed fired at %lld",
			              c->tz, (long long)fires[i].at);
			n_fixed++;
		} else {
			/* Every 10 real minutes: the gap is skipped, not waited for. */
			if (wild_last)
				ck_assert_msg(fires[i].at - wild_last == 600,
				              "%s: wild %lld then %lld", c->tz,
				              (long long)wild_last, (long long)fires[i].at);
			wild_last = fires[i].at;
			n_wild++;
		}
	}
	ck_assert_msg(n_fixed == 1, "%s: fixed fired %zu times in spring", c->tz, n_fixed);
	/* 24 real hours are 25 of wall clock, one of them skipped. */
	ck_assert_msg(n_wild == 24 * 6, "%s: wild fired %zu times in spring", c->tz, n_wild);
	scheduler_free(s);

	/* Fall back. */
	start_at(c->fall_day);
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	advance_to((uint64_t)(c->fall_day + 86400) * USEC_PER_SEC);
	n_fixed = n_wild = 0;
	wild_last = 0;
	for (size_t i = 0; i < n_fires; i++) {
		if (strcmp(fires[i].name, "fixed") == 0) {
			ck_assert_msg(fires[i].at == c->fall_first, "%s: fixed fired at %lld",
			              c->tz, (long long)fires[i].at);
			n_fixed++;
		} else {
			if (wild_last)
				ck_assert_msg(fires[i].at - wild_last == 600,
				              "%s: wild %lld then %lld", c->tz,
				              (long long)wild_last, (long long)fires[i].at);
			wild_last = fires[i].at;
			n_wild++;
		}
	}
	ck_assert_msg(n_fixed == 1, "%s: fixed fired %zu times in autumn", c->tz, n_fixed);
	/* 24 real hours are 23 of wall clock, one of them repeated and fired twice. */
	ck_assert_msg(n_wild == 24 * 6, "%s: wild fired %zu times in autumn", c->tz, n_wild);
	scheduler_free(s);
	pipe_free(p[0]);
	pipe_free(p[1]);
}

START_TEST(test_dst_europe_berlin)
{
	/* 2021-03-28 02:00 CET -> 03:00 CEST (01:00 UTC); 2021-10-31 03:00 CEST -> 02:00 CET. */
	struct dst_case c = {
		.tz = "Europe/Berlin",
		.spring_day = utc(2021, 3, 27, 22, 0),
		.spring_gap = utc(2021, 3, 28, 1, 0),
		.fall_day = utc(2021, 10, 30, 21, 0),
		.fall_first = utc(2021, 10, 31, 0, 30),
		.fall_second = utc(2021, 10, 31, 1, 30),
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
		.spring_day = utc(2022, 3, 13, 4, 0),
		.spring_gap = utc(2022, 3, 13, 7, 0),
		.fall_day = utc(2022, 11, 5, 23, 0),
		.fall_first = utc(2022, 11, 6, 5, 30),
		.fall_second = utc(2022, 11, 6, 6, 30),
		.fixed = "30 1 * * *",
		.wild = "*/10 * * * *",
	};

	/* 01:30 is in the repeated hour, not in the gap: spring fires at 01:30 EST. */
	c.spring_gap = utc(2022, 3, 13, 6, 30);
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
		.spring_day = utc(2023, 9, 30, 14, 0),
		.spring_gap = utc(2023, 9, 30, 16, 0),
		.fall_day = utc(2023, 4, 1, 13, 0),
		.fall_first = utc(2023, 4, 1, 15, 30),
		.fall_second = utc(2023, 4, 1, 16, 30),
		.fixed = "30 2 * * *",
		.wild = "*/10 * * * *",
	};

	check_dst(&c);
}
END_TEST

/* The wall clock is set forward a day: the schedule goes on from there. */
START_TEST(test_clock_set)
{
	struct pipeline *p = pipe_new("hourly", "0 * * * *", 0, false);
	struct scheduler *s;
	time_t t0 = utc(2024, 5, 1, 10, 30);

	set_tz("UTC");
	start_at(t0);
	s = new_scheduler();
	scheduler_apply(s, &p, 1, true);
	set_wall_clock(t0 + 86400);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "hourly"),
	                 (int64_t)(utc(2024, 5, 2, 11, 0)) * (int64_t)USEC_PER_SEC);
	advance_to((uint64_t)(utc(2024, 5, 2, 11, 0)) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 1);
	assert_fire(0, "hourly", "schedule", utc(2024, 5, 2, 11, 0));
	scheduler_free(s);
	pipe_free(p);
}
END_TEST

/* After scheduler_stop() nothing fires and nothing is due. */
START_TEST(test_stop)
{
	struct pipeline *p[2] = { pipe_new("a", "* * * * *", 0, false),
		                  pipe_new("b", NULL, USEC_PER_SEC, false) };
	struct scheduler *s;
	time_t t0 = utc(2024, 5, 1, 10, 30);

	set_tz("UTC");
	start_at(t0);
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	scheduler_stop(s);
	advance_to((uint64_t)(t0 + 3600) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 0);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "a"), 0);
	scheduler_free(s);
	pipe_free(p[0]);
	pipe_free(p[1]);
}
END_TEST

/* Signals: every pipeline bound to one fires, in configuration order. */
START_TEST(test_signals)
{
	struct pipeline *p[3] = { pipe_new("a", NULL, 0, false), pipe_new("b", NULL, 0, false),
		                  pipe_new("c", NULL, 0, false) };
	struct scheduler *s;

	set_tz("UTC");
	start_at(utc(2024, 5, 1, 10, 30));
	p[0]->triggers.signals[p[0]->triggers.n_signals++] = SIGUSR1;
	p[1]->triggers.signals[p[1]->triggers.n_signals++] = SIGUSR2;
	p[2]->triggers.signals[p[2]->triggers.n_signals++] = SIGUSR1;
	p[2]->triggers.on_start = true;
	s = new_scheduler();
	scheduler_apply(s, p, 3, true);
	scheduler_start(s);
	ck_assert_uint_eq(n_fires, 1);
	assert_fire(0, "c", "start", utc(2024, 5, 1, 10, 30));
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	while (sd_event_run(event, 0) > 0)
		;
	ck_assert_uint_eq(n_fires, 3);
	assert_fire(1, "a", "signal SIGUSR1", utc(2024, 5, 1, 10, 30));
	assert_fire(2, "c", "signal SIGUSR1", utc(2024, 5, 1, 10, 30));
	scheduler_free(s);
	for (size_t i = 0; i < 3; i++)
		pipe_free(p[i]);
}
END_TEST

/* Persistence */

static void
write_state(const char *name, time_t last)
{
	char path[4096], text[256];

	snprintf(path, sizeof(path), "%s/schedules", state_dir);
	snprintf(text, sizeof(text), "# test\n%s %lld\n", name, (long long)last);
	test_write_file(path, text, 0644);
}

static long long
read_state(const char *name)
{
	char path[4096], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/schedules", state_dir);
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
	struct pipeline *p = pipe_new("nightly", "0 2 * * *", 0, true);
	struct scheduler *s;
	time_t now = utc(2024, 5, 4, 12, 0);

	set_tz("UTC");
	state_dir = test_tmpdir("scheduler");
	write_state("nightly", utc(2024, 5, 1, 2, 0));
	start_at(now);
	s = new_scheduler();
	scheduler_apply(s, &p, 1, true);
	scheduler_start(s);
	ck_assert_uint_eq(n_fires, 1);
	assert_fire(0, "nightly", "schedule (missed at 2024-05-02T02:00:00+00:00)", now);
	/* Then on schedule again, and the record follows each fire. */
	advance_to((uint64_t)utc(2024, 5, 5, 2, 0) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 2);
	assert_fire(1, "nightly", "schedule", utc(2024, 5, 5, 2, 0));
	scheduler_free(s);
	ck_assert_int_eq(read_state("nightly"), (long long)utc(2024, 5, 5, 2, 0));
	pipe_free(p);
}
END_TEST

/* Not missed, not persistent, or no record yet: nothing at start-up. */
START_TEST(test_persistent_no_catch_up)
{
	struct pipeline *p[2] = { pipe_new("nightly", "0 2 * * *", 0, true),
		                  pipe_new("plain", "0 2 * * *", 0, false) };
	struct scheduler *s;
	time_t now = utc(2024, 5, 4, 12, 0);

	set_tz("UTC");
	state_dir = test_tmpdir("scheduler");
	/* Last fire this morning: the next is tomorrow. */
	write_state("nightly", utc(2024, 5, 4, 2, 0));
	start_at(now);
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	scheduler_start(s);
	ck_assert_uint_eq(n_fires, 0);
	scheduler_free(s);

	/* No record at all: one is started now, without a fire. */
	test_rmtree(state_dir);
	free(state_dir);
	state_dir = test_tmpdir("scheduler");
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	scheduler_start(s);
	ck_assert_uint_eq(n_fires, 0);
	scheduler_free(s);
	ck_assert_int_eq(read_state("nightly"), (long long)now);
	ck_assert_int_eq(read_state("plain"), -1);
	pipe_free(p[0]);
	pipe_free(p[1]);
}
END_TEST

Suite *
scheduler_suite(void)
{
	Suite *s = suite_create("scheduler");
	TCase *tc;

	tc = tcase_create("every");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_every);
	tcase_add_test(tc, test_every_reload_phase);
	suite_add_tcase(s, tc);

	tc = tcase_create("schedule");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_schedule);
	tcase_add_test(tc, test_clock_set);
	tcase_add_test(tc, test_stop);
	suite_add_tcase(s, tc);

	tc = tcase_create("dst");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_dst_europe_berlin);
	tcase_add_test(tc, test_dst_america_new_york);
	tcase_add_test(tc, test_dst_australia_sydney);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_signals);
	suite_add_tcase(s, tc);

	tc = tcase_create("persistent");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_persistent_catch_up);
	tcase_add_test(tc, test_persistent_no_catch_up);
	suite_add_tcase(s, tc);
	return s;
}
