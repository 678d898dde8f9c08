/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The stage types the executor suite (check_executor.c) registers, built
 * into the test: what they do is driven by their params, and what they saw
 * is recorded in xt_events for the tests to assert on.
 *
 *	rec       records its run; params name, fail_times, sleep, set_key,
 *	          set_value, expect_key, result ("fail", "skip"), returns,
 *	          message; concurrent
 *	serial    the same, not concurrent
 *	dry       the same, with describe() and check(), vouched for dry runs
 *	nodry     the same with describe(), not vouched for
 *	stubborn  ignores cancellation, sleeps 400 ms
 *	meet      run() waits until describe() of the same instance was called
 *	noop      does nothing (test_stages.h), concurrent
 */
#include <gini/stage.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What rec, serial, dry and nodry saw, in order; emptied by the fixture. */
#define EVENTS_MAX 4096
struct event {
	char name[32];
	uint64_t start, end;
};
extern struct event xt_events[EVENTS_MAX];
extern size_t xt_n_events;
/* meet: its run() is waiting, its describe() was called. */
extern bool xt_meet_running, xt_meet_described;
/* Waits until a run() of meet is waiting for its describe(). */
void xt_meet_wait_running(void);

extern const struct gini_stage_descriptor xt_rec_desc, xt_serial_desc, xt_dry_desc, xt_nodry_desc,
        xt_stubborn_desc, xt_meet_desc, xt_noop_desc;
