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
#include "cron_tz.h"
#include "pipeline.h"
#include "sched_clock.h"
#include "scheduler.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
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
	uint64_t at_usec;
	char *context; /* "key=value\n..." */
} fires[FIRES_MAX];
static size_t n_fires;

static void
on_fire(void *userdata, const char *name, const char *trigger, const char *const *context)
{
	struct fire *f = &fires[n_fires];
	size_t size = 1;

	(void)userdata;
	ck_assert_uint_lt(n_fires, FIRES_MAX);
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->trigger, sizeof(f->trigger), "%s", trigger);
	f->at = (time_t)(fake.real / USEC_PER_SEC);
	f->at_usec = fake.real;
	for (size_t i = 0; context && context[i]; i += 2)
		size += strlen(context[i]) + strlen(context[i + 1]) + 2;
	f->context = calloc(1, size);
	ck_assert_ptr_nonnull(f->context);
	for (size_t i = 0; context && context[i]; i += 2) {
		strcat(f->context, context[i]);
		strcat(f->context, "=");
		strcat(f->context, context[i + 1]);
		strcat(f->context, "\n");
	}
	n_fires++;
}

/* Fixtures. */

static char *state_dir;
static const char *machine_id; /* NULL: the host's */
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
	                                                           .machine_id = machine_id,
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
	trigger_def_done(&p->triggers);
	free(p);
}

static void
teardown(void)
{
	for (size_t i = 0; i < n_fires; i++) {
		free(fires[i].context);
		fires[i].context = NULL;
	}
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
	struct pipeline *p[2] = { pipe_new("berlin", "30 2 * * *", 0, false),
		                  pipe_new("new-york", "30 1 * * *", 0, false) };
	struct scheduler *s;

	p[0]->triggers.tz = zone("Europe/Berlin");
	p[1]->triggers.tz = zone("America/New_York");
	set_tz("Asia/Tokyo");
	/* Berlin springs forward: 02:30 does not exist, 03:00 CEST = 01:00 UTC. */
	start_at(utc(2021, 3, 27, 12, 0));
	s = new_scheduler();
	scheduler_apply(s, p, 1, true);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "berlin"),
	                 (int64_t)utc(2021, 3, 28, 1, 0) * (int64_t)USEC_PER_SEC);
	advance_to((uint64_t)utc(2021, 3, 29, 12, 0) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 2);
	assert_fire(0, "berlin", "schedule", utc(2021, 3, 28, 1, 0));
	assert_fire(1, "berlin", "schedule", utc(2021, 3, 29, 0, 30));
	scheduler_free(s);

	/* New York falls back: 01:30 twice, fired at the first (EDT) only. */
	start_at(utc(2022, 11, 5, 12, 0));
	s = new_scheduler();
	scheduler_apply(s, p + 1, 1, true);
	advance_to((uint64_t)utc(2022, 11, 7, 12, 0) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 2);
	assert_fire(0, "new-york", "schedule", utc(2022, 11, 6, 5, 30));
	assert_fire(1, "new-york", "schedule", utc(2022, 11, 7, 6, 30));
	scheduler_free(s);
	pipe_free(p[0]);
	pipe_free(p[1]);
}
END_TEST

/* Each firing comes up to random_delay late, a different amount each time. */
START_TEST(test_random_delay)
{
	struct pipeline *p[2] = { pipe_new("cron", "* * * * *", 0, false),
		                  pipe_new("every", NULL, USEC_PER_MINUTE, false) };
	const uint64_t max = 30 * USEC_PER_SEC;
	uint64_t t0 = (uint64_t)utc(2024, 5, 1, 10, 0) * USEC_PER_SEC;
	uint64_t first_delay[2] = { UINT64_MAX, UINT64_MAX };
	bool varied[2] = { false, false };
	size_t count[2] = { 0, 0 };
	struct scheduler *s;

	set_tz("UTC");
	p[0]->triggers.random_delay_usec = max;
	p[1]->triggers.random_delay_usec = max;
	start_at((time_t)(t0 / USEC_PER_SEC));
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	advance_to(t0 + 60 * USEC_PER_MINUTE - 1);
	for (size_t i = 0; i < n_fires; i++) {
		int k = strcmp(fires[i].name, "every") == 0;
		/* Both are due on whole minutes after t0. */
		uint64_t due = t0 + (count[k] + 1) * USEC_PER_MINUTE;
		uint64_t delay = fires[i].at_usec - due;

		ck_assert_msg(fires[i].at_usec >= due && delay <= max,
		              "%s fire %zu: %llu usec after its due time", fires[i].name, count[k],
		              (unsigned long long)(fires[i].at_usec - due));
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
	pipe_free(p[0]);
	pipe_free(p[1]);
}
END_TEST

/* The delays of one run of a scheduler: pipeline "a" then "b". */
static void
fixed_delays(uint64_t ret[2])
{
	struct pipeline *p[2] = { pipe_new("a", "0 * * * *", 0, false),
		                  pipe_new("b", "0 * * * *", 0, false) };
	time_t t0 = utc(2024, 5, 1, 10, 0);
	struct scheduler *s;

	for (int i = 0; i < 2; i++) {
		p[i]->triggers.random_delay_usec = 50 * USEC_PER_MINUTE;
		p[i]->triggers.fixed_random_delay = true;
	}
	start_at(t0);
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	/* 11:00 to 15:00, each at most 50 minutes late. */
	advance_to((uint64_t)(t0 + 5 * 3600 + 3000) * USEC_PER_SEC);
	ret[0] = ret[1] = UINT64_MAX;
	ck_assert_uint_eq(n_fires, 10);
	for (size_t i = 0; i < n_fires; i++) {
		int k = fires[i].name[0] - 'a';
		uint64_t delay = fires[i].at_usec % (3600 * USEC_PER_SEC);

		/* The same delay, hour after hour. */
		ck_assert(ret[k] == UINT64_MAX || ret[k] == delay);
		ret[k] = delay;
		free(fires[i].context);
		fires[i].context = NULL;
	}
	scheduler_free(s);
	pipe_free(p[0]);
	pipe_free(p[1]);
}

/* fixed_random_delay: stable per host and pipeline, across restarts. */
START_TEST(test_fixed_random_delay)
{
	uint64_t one[2], again[2], other[2];

	set_tz("UTC");
	machine_id = "5c1e1d7e0a6f4b7c9e0d3a2b1c4d5e6f";
	fixed_delays(one);
	fixed_delays(again);
	machine_id = "0f9e8d7c6b5a49382716a5b4c3d2e1f0";
	fixed_delays(other);
	machine_id = NULL;
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

	snprintf(path, sizeof(path), "%s/intervals", state_dir);
	snprintf(text, sizeof(text), "# test\n%s %lld\n", name, (long long)last);
	test_write_file(path, text, 0644);
}

/* Down across a due time: one catch-up run, then the interval from there. */
START_TEST(test_persistent_every_catch_up)
{
	struct pipeline *p = pipe_new("hourly", NULL, 3600 * USEC_PER_SEC, true);
	time_t now = utc(2024, 5, 4, 12, 0);
	struct scheduler *s;

	set_tz("UTC");
	state_dir = test_tmpdir("scheduler");
	write_intervals("hourly", now - 3 * 3600);
	start_at(now);
	s = new_scheduler();
	scheduler_apply(s, &p, 1, true);
	scheduler_start(s);
	ck_assert_uint_eq(n_fires, 1);
	assert_fire(0, "hourly", "every 1h (missed at 2024-05-04T10:00:00+00:00)", now);
	advance_to((uint64_t)(now + 3600) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 2);
	assert_fire(1, "hourly", "every 1h", now + 3600);
	scheduler_free(s);
	pipe_free(p);
}
END_TEST

/* Restarted before the interval was up: it goes on counting, no extra run. */
START_TEST(test_persistent_every_countdown)
{
	struct pipeline *p[2] = { pipe_new("hourly", NULL, 3600 * USEC_PER_SEC, true),
		                  pipe_new("fresh", NULL, 3600 * USEC_PER_SEC, true) };
	time_t now = utc(2024, 5, 4, 12, 0);
	struct scheduler *s;
	char path[4096];

	set_tz("UTC");
	state_dir = test_tmpdir("scheduler");
	write_intervals("hourly", now - 20 * 60);
	start_at(now);
	s = new_scheduler();
	scheduler_apply(s, p, 2, true);
	scheduler_start(s);
	ck_assert_uint_eq(n_fires, 0);
	ck_assert_int_eq(scheduler_next_fire_usec(s, "hourly"),
	                 (int64_t)(now + 40 * 60) * (int64_t)USEC_PER_SEC);
	advance_to((uint64_t)(now + 3600) * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 2);
	assert_fire(0, "hourly", "every 1h", now + 40 * 60);
	/* No record: it starts counting now, and keeps a record of that. */
	assert_fire(1, "fresh", "every 1h", now + 3600);
	scheduler_free(s);
	snprintf(path, sizeof(path), "%s/intervals", state_dir);
	{
		FILE *f = fopen(path, "re");
		char line[256];
		bool hourly = false, fresh = false;

		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f)) {
			long long v = 0;

			if (sscanf(line, "hourly %lld", &v) == 1)
				hourly = v == (long long)(now + 40 * 60);
			if (sscanf(line, "fresh %lld", &v) == 1)
				fresh = v == (long long)(now + 3600);
		}
		fclose(f);
		ck_assert(hourly && fresh);
	}
	pipe_free(p[0]);
	pipe_free(p[1]);
}
END_TEST

/* Watch */

static void
drain_events(void)
{
	while (sd_event_run(event, 0) > 0)
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
	struct pipeline *p = pipe_new(name, NULL, 0, false);

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
	uint64_t t0 = (uint64_t)utc(2024, 5, 1, 10, 0) * USEC_PER_SEC;
	struct scheduler *s;
	char expect[4096];

	set_tz("UTC");
	start_at((time_t)(t0 / USEC_PER_SEC));
	s = new_scheduler();
	scheduler_apply(s, &p, 1, true);
	touch(dir, "a");
	touch(dir, "b");
	drain_events();
	advance_to(t0 + USEC_PER_SEC);
	touch(dir, "c");
	touch(dir, "a");
	drain_events();
	/* Quiet for 2s counts from the last change, at t0 + 1s. */
	advance_to(t0 + 2500 * 1000);
	ck_assert_uint_eq(n_fires, 0);
	advance_to(t0 + 3 * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 1);
	snprintf(expect, sizeof(expect), "gini.changed_paths=%s/a\n%s/b\n%s/c\n", dir, dir, dir);
	ck_assert_str_eq(fires[0].context, expect);
	ck_assert_str_eq(fires[0].trigger, "watch");
	/* Events not asked for (a delete) make no run. */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/a", dir);
		ck_assert_int_eq(unlink(path), 0);
	}
	drain_events();
	advance_to(t0 + 60 * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 1);
	scheduler_free(s);
	pipe_free(p);
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
	uint64_t t0 = (uint64_t)utc(2024, 5, 1, 10, 0) * USEC_PER_SEC;
	struct scheduler *s;
	size_t lines = 1;

	set_tz("UTC");
	start_at((time_t)(t0 / USEC_PER_SEC));
	s = new_scheduler();
	scheduler_apply(s, &p, 1, true);
	for (int i = 0; i < 10000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "file-%05d", i);
		touch(dir, name);
		/* The loop reads as it goes, as the daemon's would; time passes too. */
		if (i % 500 == 499) {
			drain_events();
			advance_to(fake.real + 100 * 1000);
		}
	}
	drain_events();
	advance_to(fake.real + 10 * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 1);
	for (const char *c = fires[0].context; *c; c++)
		lines += *c == '\n';
	/* The paths, then "gini.changed_paths_dropped=N". */
	ck_assert_uint_le(lines, 1000 + 2);
	ck_assert_uint_le(strlen(fires[0].context), 64 * 1024 + 100);
	ck_assert_ptr_nonnull(strstr(fires[0].context, "\ngini.changed_paths_dropped="));
	scheduler_free(s);
	pipe_free(p);
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
	uint64_t t0 = (uint64_t)utc(2024, 5, 1, 10, 0) * USEC_PER_SEC;
	struct scheduler *s;

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(deep, sizeof(deep), "%s/sub/deep", dir);
	p = pipe_watch("later", deep, WATCH_CREATE, USEC_PER_SEC);
	set_tz("UTC");
	start_at((time_t)(t0 / USEC_PER_SEC));
	s = new_scheduler();
	scheduler_apply(s, &p, 1, true);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	drain_events();
	ck_assert_int_eq(mkdir(deep, 0755), 0);
	drain_events();
	advance_to(t0 + 5 * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 1);
	snprintf(expect, sizeof(expect), "gini.changed_paths=%s\n", deep);
	ck_assert_str_eq(fires[0].context, expect);
	/* And what happens inside it from then on. */
	touch(deep, "x");
	drain_events();
	advance_to(t0 + 10 * USEC_PER_SEC);
	ck_assert_uint_eq(n_fires, 2);
	snprintf(expect, sizeof(expect), "gini.changed_paths=%s/x\n", deep);
	ck_assert_str_eq(fires[1].context, expect);
	scheduler_free(s);
	pipe_free(p);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* after_pipeline */

START_TEST(test_after_pipeline)
{
	struct pipeline *p[3] = { pipe_new("on-success", NULL, 0, false),
		                  pipe_new("on-any", NULL, 0, false),
		                  pipe_new("on-failure", NULL, 0, false) };
	enum after_result want[3] = { AFTER_SUCCESS, AFTER_ANY, AFTER_FAILURE };
	struct scheduler *s;
	time_t t0 = utc(2024, 5, 1, 10, 0);

	set_tz("UTC");
	for (int i = 0; i < 3; i++) {
		p[i]->triggers.after_pipeline = strdup("backup");
		p[i]->triggers.after_result = want[i];
	}
	start_at(t0);
	s = new_scheduler();
	scheduler_apply(s, p, 3, true);
	scheduler_run_ended(s, "other", AFTER_SUCCESS);
	ck_assert_uint_eq(n_fires, 0);
	scheduler_run_ended(s, "backup", AFTER_SUCCESS);
	ck_assert_uint_eq(n_fires, 2);
	assert_fire(0, "on-success", "after pipeline 'backup' (success)", t0);
	assert_fire(1, "on-any", "after pipeline 'backup' (success)", t0);
	scheduler_run_ended(s, "backup", AFTER_FAILURE);
	ck_assert_uint_eq(n_fires, 4);
	assert_fire(2, "on-any", "after pipeline 'backup' (failure)", t0);
	assert_fire(3, "on-failure", "after pipeline 'backup' (failure)", t0);
	/* A cancelled run: only "any" waits for that. */
	scheduler_run_ended(s, "backup", AFTER_ANY);
	ck_assert_uint_eq(n_fires, 5);
	assert_fire(4, "on-any", "after pipeline 'backup' (cancelled)", t0);
	scheduler_free(s);
	for (int i = 0; i < 3; i++)
		pipe_free(p[i]);
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
	tcase_add_test(tc, test_persistent_every_catch_up);
	tcase_add_test(tc, test_persistent_every_countdown);
	suite_add_tcase(s, tc);

	tc = tcase_create("timezone");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_schedule_timezone);
	suite_add_tcase(s, tc);

	tc = tcase_create("random_delay");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_random_delay);
	tcase_add_test(tc, test_fixed_random_delay);
	suite_add_tcase(s, tc);

	tc = tcase_create("watch");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_watch_settle);
	tcase_add_test(tc, test_watch_burst_10000);
	tcase_add_test(tc, test_watch_appears);
	suite_add_tcase(s, tc);

	tc = tcase_create("after_pipeline");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_after_pipeline);
	suite_add_tcase(s, tc);
	return s;
}
