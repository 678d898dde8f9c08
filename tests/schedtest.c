/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's test bench: a struct sched_clock whose "now" is two
 * variables and whose timers are a list, fired in due order as a test
 * advances time, and a record of every firing with the instant it came at.
 * So a day of schedules, a daylight-saving change or a week of downtime
 * takes no sleeping. Used by check_scheduler.c and check_scheduler_triggers.c.
 */
#include "schedtest.h"

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

uint64_t
st_now_real(void)
{
	return fake.real;
}

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
void
st_advance_to(uint64_t until)
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
void
st_set_wall_clock(time_t to)
{
	fake.real = (uint64_t)to * USEC_PER_SEC;
	if (fake.set_cb)
		fake.set_cb(fake.set_data);
}

/* What fired. */

struct st_fire st_fires[ST_FIRES_MAX];
size_t st_n_fires;

static void
on_fire(void *userdata, const char *name, const char *trigger, const char *const *context)
{
	struct st_fire *f = &st_fires[st_n_fires];
	size_t size = 1;

	(void)userdata;
	ck_assert_uint_lt(st_n_fires, ST_FIRES_MAX);
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
	st_n_fires++;
}

/* Fixtures. */

char *st_state_dir;
const char *st_machine_id;
sd_event *st_event;

void
st_set_tz(const char *tz)
{
	ck_assert_int_eq(setenv("TZ", tz, 1), 0);
	tzset();
}

/* Seconds since the epoch of a UTC date and time. */
time_t
st_utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi
	};

	return timegm(&tm);
}

void
st_start_at(time_t t)
{
	st_free_fires();
	memset(&fake, 0, sizeof(fake));
	fake.real = (uint64_t)t * USEC_PER_SEC;
	fake.mono = 1000 * USEC_PER_SEC;
	st_n_fires = 0;
}

struct scheduler *
st_new_scheduler(void)
{
	struct scheduler *s = NULL;
	sigset_t ss;

	/* sd-st_event reads signals through a signalfd: they must be blocked. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR1);
	sigaddset(&ss, SIGUSR2);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaddset(&ss, sig);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &ss, NULL), 0);
	if (!st_event)
		ck_assert_int_ge(sd_event_new(&st_event), 0);
	if (!st_state_dir)
		st_state_dir = test_tmpdir("scheduler");
	ck_assert_int_eq(scheduler_new(&(struct scheduler_config){ .e = st_event,
	                                                           .clock = &fake_clock,
	                                                           .state_dir = st_state_dir,
	                                                           .machine_id = st_machine_id,
	                                                           .fire = on_fire },
	                               &s),
	                 0);
	return s;
}

/* A pipeline with only what the scheduler reads: its name and triggers. */
struct pipeline *
st_pipe_new(const char *name, const char *schedule, uint64_t every_usec, bool persistent)
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

void
st_pipe_free(struct pipeline *p)
{
	free(p->name);
	trigger_def_done(&p->triggers);
	free(p);
}

void
st_free_fires(void)
{
	for (size_t i = 0; i < st_n_fires; i++) {
		free(st_fires[i].context);
		st_fires[i].context = NULL;
	}
	st_n_fires = 0;
}

void
st_teardown(void)
{
	st_free_fires();
	if (st_state_dir)
		test_rmtree(st_state_dir);
	free(st_state_dir);
	st_state_dir = NULL;
	st_event = sd_event_unref(st_event);
}

void
st_assert_fire(size_t i, const char *name, const char *trigger, time_t at)
{
	char a[64], b[64];

	ck_assert_uint_gt(st_n_fires, i);
	ck_assert_str_eq(st_fires[i].name, name);
	ck_assert_str_eq(st_fires[i].trigger, trigger);
	ck_assert_msg(st_fires[i].at == at, "fire %zu of '%s': at %s, expected %s", i, name,
	              format_iso8601(st_fires[i].at, a, sizeof(a)),
	              format_iso8601(at, b, sizeof(b)));
}
