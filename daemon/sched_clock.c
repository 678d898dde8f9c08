/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's clock on the real event loop: sd-event time sources for
 * the timers, clock_gettime() for "now", and a timerfd armed far in the
 * future with TFD_TIMER_CANCEL_ON_SET, which the kernel cancels when someone
 * sets the wall clock, to tell the scheduler to recompute its schedules.
 * Everything the scheduler knows of time goes through struct sched_clock,
 * so its suite swaps this file out for a clock it moves by hand.
 */
#include "sched_clock.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct event_clock {
	sd_event *e;
	int set_fd;
	sd_event_source *set_src;
	void (*set_cb)(void *data);
	void *set_data;
};

struct sched_timer {
	sd_event_source *src;
	void (*cb)(void *data);
	void *data;
};

static uint64_t
ev_now(void *userdata, clockid_t clock)
{
	(void)userdata;
	return now_usec(clock);
}

static int
on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sched_timer *t = userdata;

	(void)src;
	(void)usec;
	t->cb(t->data);
	return 0;
}

static int
ev_timer_new(void *userdata, clockid_t clock, void (*cb)(void *data), void *data,
             struct sched_timer **ret)
{
	struct event_clock *ec = userdata;
	struct sched_timer *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->cb = cb;
	t->data = data;
	r = sd_event_add_time(ec->e, &t->src, clock, UINT64_MAX, 1, on_timer, t);
	if (r < 0) {
		free(t);
		return r;
	}
	sd_event_source_set_enabled(t->src, SD_EVENT_OFF);
	*ret = t;
	return 0;
}

static void
ev_timer_set(struct sched_timer *t, uint64_t usec)
{
	if (usec == UINT64_MAX) {
		sd_event_source_set_enabled(t->src, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(t->src, usec);
	sd_event_source_set_enabled(t->src, SD_EVENT_ONESHOT);
}

static struct sched_timer *
ev_timer_free(struct sched_timer *t)
{
	if (!t)
		return NULL;
	sd_event_source_disable_unref(t->src);
	free(t);
	return NULL;
}

static int
arm_set_watch(int fd)
{
	struct itimerspec its = { .it_value = { .tv_sec = INT32_MAX } };

	if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		return -errno;
	return 0;
}

static int
on_set(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct event_clock *ec = userdata;
	uint64_t v;

	(void)src;
	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != ECANCELED && errno != EAGAIN)
		log_warn("clock watch: %s, ignoring", strerror(errno));
	(void)arm_set_watch(fd);
	ec->set_cb(ec->set_data);
	return 0;
}

static void
ev_unwatch_set(void *userdata)
{
	struct event_clock *ec = userdata;

	ec->set_src = sd_event_source_disable_unref(ec->set_src);
	if (ec->set_fd >= 0)
		close(ec->set_fd);
	ec->set_fd = -1;
}

static int
ev_watch_set(void *userdata, void (*cb)(void *data), void *data)
{
	struct event_clock *ec = userdata;
	int r;

	ev_unwatch_set(ec);
	ec->set_cb = cb;
	ec->set_data = data;
	ec->set_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ec->set_fd < 0)
		return -errno;
	r = arm_set_watch(ec->set_fd);
	if (r >= 0)
		r = sd_event_add_io(ec->e, &ec->set_src, ec->set_fd, EPOLLIN, on_set, ec);
	if (r < 0)
		ev_unwatch_set(ec);
	return r;
}

int
sched_clock_event_new(sd_event *e, struct sched_clock *ret)
{
	struct event_clock *ec = calloc(1, sizeof(*ec));

	if (!ec)
		return -ENOMEM;
	ec->e = e;
	ec->set_fd = -1;
	*ret = (struct sched_clock){
		.now = ev_now,
		.timer_new = ev_timer_new,
		.timer_set = ev_timer_set,
		.timer_free = ev_timer_free,
		.watch_set = ev_watch_set,
		.unwatch_set = ev_unwatch_set,
		.userdata = ec,
	};
	return 0;
}

void
sched_clock_event_free(struct sched_clock *c)
{
	if (!c || !c->userdata)
		return;
	ev_unwatch_set(c->userdata);
	free(c->userdata);
	c->userdata = NULL;
}
