/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The scheduler's test bench (schedtest.c): a hand-moved clock, the
 * firings it caused, and pipelines with only what the scheduler reads.
 * Each test sets TZ itself (Check forks every test).
 */
#include "tests.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

struct pipeline;
struct scheduler;

#define ST_FIRES_MAX 512

/* One firing: pipeline, trigger, when, and its context as "key=value\n"... */
struct st_fire {
	char name[32];
	char trigger[96];
	time_t at;
	uint64_t at_usec;
	char *context;
};

extern struct st_fire st_fires[ST_FIRES_MAX];
extern size_t st_n_fires;
/* The state directory of the schedulers (made on first use; teardown removes it). */
extern char *st_state_dir;
/* For fixed_random_delay; NULL: the host's. */
extern const char *st_machine_id;
/* The loop of signals and inotify (time is the fake clock's). */
extern sd_event *st_event;

void st_set_tz(const char *tz);
/* Seconds since the epoch of a UTC date and time. */
time_t st_utc(int y, int mo, int d, int h, int mi);
/* Resets the clock to wall time t (and forgets the firings). */
void st_start_at(time_t t);
uint64_t st_now_real(void);
/*
 * Moves both clocks forward to realtime until (usec), firing every timer
 * that falls due on the way, in order, with the clocks at its due time.
 */
void st_advance_to(uint64_t until);
/* The wall clock is set to `to` (seconds) while the monotonic clock goes on. */
void st_set_wall_clock(time_t to);
/* A scheduler on the fake clock, st_state_dir and st_event. */
struct scheduler *st_new_scheduler(void);
struct pipeline *st_pipe_new(const char *name, const char *schedule, uint64_t every_usec,
                             bool persistent);
void st_pipe_free(struct pipeline *p);
void st_assert_fire(size_t i, const char *name, const char *trigger, time_t at);
void st_free_fires(void);
/* The checked fixture's teardown. */
void st_teardown(void);
