/* SPDX-License-Identifier: MIT */
/*
 * The executor, driven through real compiled pipelines: configs parsed by
 * config.c and compiled by pipeline.c against a registry of stage types
 * built into this test (executor_stages.c). Parallelism is proven by
 * recorded start/end times that overlap, never by wall-clock thresholds.
 */
#include "tests.h"
#include "exec_fixture.h"
#include "executor_stages.h"

#include "config.h"
#include "context.h"
#include "executor.h"
#include "params.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void
setup(void)
{
	const struct gini_stage_descriptor *all[] = { &xt_rec_desc,      &xt_serial_desc,
		                                      &xt_stubborn_desc, &xt_noop_desc,
		                                      &xt_dry_desc,      &xt_nodry_desc,
		                                      &xt_meet_desc };

	xf_setup(all, ARRAY_SIZE(all));
	xt_n_events = 0;
}

static const struct event *
event(const char *name)
{
	for (size_t i = 0; i < xt_n_events; i++)
		if (streq(xt_events[i].name, name))
			return &xt_events[i];
	ck_abort_msg("no event %s", name);
	return NULL;
}

START_TEST(linear_order_and_context)
{
	struct run *r;

	xf_compile("pipelines = ({ name = \"p\"; steps = ("
	           "{ id = \"c\"; stage = \"rec\"; after = [\"b\"]; params = { name = \"c\"; "
	           "expect_key = \"k\"; }; },"
	           "{ id = \"a\"; stage = \"rec\"; params = { name = \"a\"; set_key = \"k\"; "
	           "set_value = \"from-a\"; }; },"
	           "{ id = \"b\"; stage = \"rec\"; after = [\"a\"]; params = { name = \"b\"; }; }"
	           "); });");
	r = xf_run(2);
	ck_assert_int_eq(r->status, RUN_SUCCESS);
	ck_assert_uint_eq(xt_n_events, 3);
	ck_assert_str_eq(xt_events[0].name, "a");
	ck_assert_str_eq(xt_events[1].name, "b");
	ck_assert_str_eq(xt_events[2].name, "c");
	ck_assert_uint_le(xt_events[0].end, xt_events[1].start);
	ck_assert_str_eq(xf_result(r, "c")->message, "k=from-a");
	ck_assert_str_eq(ctx_get(r->ctx, "k"), "from-a");
	ck_assert_uint_eq(r->failed_step, SIZE_MAX);
	run_free(r);
}
END_TEST

/* Two independent 300ms steps on two workers: their intervals overlap. */
START_TEST(branches_run_in_parallel)
{
	const struct event *a, *b;
	struct run *r;

	xf_compile(
	        "pipelines = ({ name = \"p\"; steps = ("
	        "{ id = \"a\"; stage = \"rec\"; params = { name = \"a\"; sleep = \"300ms\"; }; },"
	        "{ id = \"b\"; stage = \"rec\"; params = { name = \"b\"; sleep = \"300ms\"; }; },"
	        "{ id = \"j\"; stage = \"rec\"; after = [\"a\", \"b\"]; params = { name = \"j\"; "
	        "}; }"
	        "); });");
	r = xf_run(2);
	ck_assert_int_eq(r->status, RUN_SUCCESS);
	a = event("a");
	b = event("b");
	ck_assert_msg(a->start < b->end && b->start < a->end, "a and b did not overlap");
	ck_assert_uint_ge(event("j")->start, MAX(a->end, b->end));
	run_free(r);
}
END_TEST

START_TEST(timeout_cancels_step)
{
	struct run *r;

	xf_compile(
	        "pipelines = ({ name = \"p\"; steps = ("
	        "{ id = \"slow\"; stage = \"rec\"; timeout = \"100ms\"; params = { name = \"s\"; "
	        "sleep = \"30s\"; }; },"
	        "{ id = \"next\"; stage = \"rec\"; after = [\"slow\"]; params = { name = \"n\"; }; "
	        "}"
	        "); });");
	r = xf_run(1);
	ck_assert_int_eq(r->status, RUN_FAILED);
	ck_assert_int_eq(xf_result(r, "slow")->status, STEP_TIMED_OUT);
	ck_assert_str_eq(xf_result(r, "slow")->message, "timed out after 100ms: interrupted");
	ck_assert(!xf_result(r, "slow")->overran);
	ck_assert_int_eq(xf_result(r, "next")->status, STEP_SKIPPED);
	ck_assert_str_eq(xf_result(r, "next")->message, "step 'slow' failed");
	ck_assert_uint_eq(r->failed_step, 0);
	run_free(r);
}
END_TEST

/*
 * A stage that ignores cancellation is reported, its step abandoned (the run
 * ends without it), and the pool stays whole; the stuck worker retires when
 * the stage returns.
 */
START_TEST(overrun_reported_and_worker_replaced)
{
	struct run *r;
	struct timespec nap = { 0, 10 * 1000 * 1000 };

	test_log_capture_start();
	xf_compile("pipelines = ({ name = \"p\"; steps = ("
	           "{ id = \"stuck\"; stage = \"stubborn\"; timeout = \"50ms\"; }"
	           "); });");
	xf.ex = executor_new(1);
	executor_set_overrun_grace(xf.ex, 100 * USEC_PER_MSEC);
	r = xf_run(1);
	ck_assert_int_eq(r->status, RUN_FAILED);
	ck_assert_int_eq(xf_result(r, "stuck")->status, STEP_ABANDONED);
	ck_assert_str_eq(step_status_to_string(STEP_ABANDONED), "abandoned");
	ck_assert(xf_result(r, "stuck")->overran);
	ck_assert_ptr_nonnull(strstr(xf_result(r, "stuck")->message,
	                             "timed out after 50ms and still running 100ms later, "
	                             "ignoring cancellation: abandoned"));
	ck_assert_ptr_nonnull(test_log_find("step 'stuck': still running 100ms after its timeout; "
	                                    "the stage ignores cancellation (overrunning), "
	                                    "abandoning the step"));
	/* The run ended while the stage still runs (it sleeps 400ms). */
	ck_assert_uint_eq(executor_abandoned(xf.ex), 1);
	run_free(r);
	/* The stuck worker holds the run until its stage returns. */
	while (executor_abandoned(xf.ex) > 0)
		nanosleep(&nap, NULL);
	ck_assert_ptr_nonnull(test_log_find("step 'stuck': the abandoned stage returned at last"));
	/* The replacement serves the next run; the stuck worker retired. */
	xf_compile("pipelines = ({ name = \"p\"; steps = ({ id = \"x\"; stage = \"noop\"; }); });");
	r = xf_run(1);
	ck_assert_int_eq(r->status, RUN_SUCCESS);
	ck_assert_uint_eq(executor_threads(xf.ex), 1);
	run_free(r);
	test_log_capture_stop();
}
END_TEST

START_TEST(retries_counted)
{
	struct run *r;

	xf_compile("pipelines = ({ name = \"p\"; steps = ("
	           "{ id = \"flaky\"; stage = \"rec\"; retries = 3; retry_backoff = \"1ms\"; "
	           "params = { name = \"f\"; fail_times = 2; }; },"
	           "{ id = \"hopeless\"; stage = \"rec\"; retries = 1; retry_backoff = \"1ms\"; "
	           "params = { name = \"h\"; fail_times = 5; }; }"
	           "); on_failure = \"continue\"; });");
	r = xf_run(2);
	ck_assert_int_eq(xf_result(r, "flaky")->status, STEP_SUCCESS);
	ck_assert_uint_eq(xf_result(r, "flaky")->attempts, 3);
	/* A retried step lasts from its first attempt to the end of its last,
	 * backoffs (1 ms, then 2 ms) included. */
	ck_assert_uint_ge(xf_result(r, "flaky")->end_usec - xf_result(r, "flaky")->start_usec,
	                  3 * USEC_PER_MSEC);
	ck_assert_int_eq(xf_result(r, "hopeless")->status, STEP_FAILED);
	ck_assert_uint_eq(xf_result(r, "hopeless")->attempts, 2);
	ck_assert_str_eq(xf_result(r, "hopeless")->message, "attempt 2 fails");
	ck_assert_int_eq(r->status, RUN_FAILED);
	run_free(r);
}
END_TEST

static const char policy_dag[] =
        "{ id = \"bad\"; stage = \"rec\"; params = { name = \"bad\"; fail_times = 1; "
        "sleep = \"100ms\"; }; },"
        "{ id = \"dep\"; stage = \"rec\"; after = [\"bad\"]; params = { name = \"dep\"; }; },"
        "{ id = \"dep2\"; stage = \"rec\"; after = [\"dep\"]; params = { name = \"dep2\"; }; },"
        "{ id = \"sibling\"; stage = \"rec\"; params = { name = \"sib\"; sleep = \"300ms\"; }; },"
        "{ id = \"later\"; stage = \"rec\"; after = [\"sibling\"]; params = { name = \"later\"; "
        "}; }";

START_TEST(on_failure_stop)
{
	char text[2048];
	struct run *r;

	snprintf(text, sizeof(text),
	         "pipelines = ({ name = \"p\"; on_failure = \"stop\"; steps = (%s); });",
	         policy_dag);
	xf_compile(text);
	r = xf_run(2);
	ck_assert_int_eq(r->status, RUN_FAILED);
	ck_assert_int_eq(xf_result(r, "bad")->status, STEP_FAILED);
	ck_assert_int_eq(xf_result(r, "dep")->status, STEP_SKIPPED);
	ck_assert_str_eq(xf_result(r, "dep")->message, "step 'bad' failed");
	ck_assert_int_eq(xf_result(r, "dep2")->status, STEP_SKIPPED);
	ck_assert_str_eq(xf_result(r, "dep2")->message, "step 'bad' failed");
	/* The running sibling finished; what would have started after it did not. */
	ck_assert_int_eq(xf_result(r, "sibling")->status, STEP_SUCCESS);
	ck_assert_int_eq(xf_result(r, "later")->status, STEP_CANCELLED);
	ck_assert_str_eq(xf_result(r, "later")->message,
	                 "not started: the run stopped after a failure");
	ck_assert_uint_eq(xf_result(r, "later")->attempts, 0);
	run_free(r);
}
END_TEST

/*
 * A negative return of run() is an errno value, shown with strerror() after
 * the stage's message; any other unknown value is shown as a number.
 */
START_TEST(negative_return_is_an_errno)
{
	char text[1024];
	struct run *r;

	snprintf(text, sizeof(text),
	         "pipelines = ({ name = \"p\"; on_failure = \"continue\"; steps = ("
	         "{ id = \"said\"; stage = \"rec\"; params = { returns = %d; "
	         "message = \"cannot reach the server\"; }; },"
	         "{ id = \"silent\"; stage = \"rec\"; params = { returns = %d; }; },"
	         "{ id = \"odd\"; stage = \"rec\"; params = { returns = 7; }; },"
	         "{ id = \"plain\"; stage = \"rec\"; params = { returns = 1; "
	         "message = \"just failed\"; }; }"
	         "); });",
	         -ECONNREFUSED, -EACCES);
	xf_compile(text);
	r = xf_run(2);
	ck_assert_int_eq(r->status, RUN_FAILED);
	ck_assert_int_eq(xf_result(r, "said")->status, STEP_FAILED);
	ck_assert_str_eq(xf_result(r, "said")->message,
	                 "cannot reach the server: Connection refused");
	ck_assert_int_eq(xf_result(r, "silent")->status, STEP_FAILED);
	ck_assert_str_eq(xf_result(r, "silent")->message, "Permission denied");
	ck_assert_int_eq(xf_result(r, "odd")->status, STEP_FAILED);
	ck_assert_str_eq(xf_result(r, "odd")->message, "stage returned 7");
	ck_assert_int_eq(xf_result(r, "plain")->status, STEP_FAILED);
	ck_assert_str_eq(xf_result(r, "plain")->message, "just failed");
	run_free(r);
}
END_TEST

START_TEST(on_failure_continue)
{
	char text[2048];
	struct run *r;

	snprintf(text, sizeof(text),
	         "pipelines = ({ name = \"p\"; on_failure = \"continue\"; steps = (%s); });",
	         policy_dag);
	xf_compile(text);
	r = xf_run(2);
	ck_assert_int_eq(r->status, RUN_FAILED);
	ck_assert_int_eq(xf_result(r, "dep")->status, STEP_SKIPPED);
	ck_assert_int_eq(xf_result(r, "dep2")->status, STEP_SKIPPED);
	ck_assert_int_eq(xf_result(r, "sibling")->status, STEP_SUCCESS);
	ck_assert_int_eq(xf_result(r, "later")->status, STEP_SUCCESS);
	run_free(r);
}
END_TEST

START_TEST(skipped_and_disabled_satisfy_dependents)
{
	struct run *r;

	xf_compile(
	        "pipelines = ({ name = \"p\"; steps = ("
	        "{ id = \"maybe\"; stage = \"rec\"; params = { name = \"m\"; result = \"skip\"; }; "
	        "},"
	        "{ id = \"off\"; stage = \"no-such-stage\"; enabled = false; },"
	        "{ id = \"after\"; stage = \"rec\"; after = [\"maybe\", \"off\"]; params = { name "
	        "= "
	        "\"a\"; }; }"
	        "); });");
	r = xf_run(1);
	ck_assert_int_eq(r->status, RUN_SUCCESS);
	ck_assert_int_eq(xf_result(r, "maybe")->status, STEP_SKIPPED);
	ck_assert_str_eq(xf_result(r, "maybe")->message, "as configured");
	ck_assert_int_eq(xf_result(r, "off")->status, STEP_SKIPPED);
	ck_assert_str_eq(xf_result(r, "off")->message, "disabled");
	ck_assert_int_eq(xf_result(r, "after")->status, STEP_SUCCESS);
	run_free(r);
}
END_TEST

static void *
cancel_soon(void *arg)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	run_cancel(arg);
	return NULL;
}

START_TEST(cancel_run)
{
	struct run *r;
	pthread_t t;

	xf_compile(
	        "pipelines = ({ name = \"p\"; steps = ("
	        "{ id = \"long\"; stage = \"rec\"; params = { name = \"l\"; sleep = \"30s\"; }; },"
	        "{ id = \"next\"; stage = \"rec\"; after = [\"long\"]; params = { name = \"n\"; }; "
	        "}"
	        "); });");
	xf.ex = executor_new(1);
	r = run_new(xf.pl, "test");
	r->on_done = xf_on_done;
	ck_assert_int_eq(executor_submit(xf.ex, r), 0);
	pthread_create(&t, NULL, cancel_soon, r);
	xf_wait_done(1);
	pthread_join(t, NULL);
	ck_assert_int_eq(r->status, RUN_CANCELLED);
	ck_assert_int_eq(xf_result(r, "long")->status, STEP_CANCELLED);
	ck_assert_int_eq(xf_result(r, "next")->status, STEP_CANCELLED);
	ck_assert_str_eq(xf_result(r, "next")->message, "run cancelled");
	run_free(r);
}
END_TEST

/* A non-concurrent stage is never run twice at once on one instance, even
 * when runs of its pipeline overlap. */
START_TEST(non_concurrent_stage_serialised)
{
	struct run *r1, *r2;

	xf_compile(
	        "pipelines = ({ name = \"p\"; overlap = \"parallel\"; steps = ("
	        "{ id = \"s\"; stage = \"serial\"; params = { name = \"s\"; sleep = \"150ms\"; }; }"
	        "); });");
	xf.ex = executor_new(2);
	r1 = run_new(xf.pl, "test");
	r2 = run_new(xf.pl, "test");
	r1->on_done = r2->on_done = xf_on_done;
	ck_assert_int_eq(executor_submit(xf.ex, r1), 0);
	ck_assert_int_eq(executor_submit(xf.ex, r2), 0);
	xf_wait_done(2);
	ck_assert_uint_eq(xt_n_events, 2);
	ck_assert_msg(xt_events[0].end <= xt_events[1].start, "serial stage ran concurrently");
	run_free(r1);
	run_free(r2);
}
END_TEST

static void
big_pipeline(size_t n, bool linear)
{
	size_t cap = n * 96 + 256, off = 0;
	char *text = malloc(cap);

	off += (size_t)snprintf(text + off, cap - off, "pipelines = ({ name = \"big\"; steps = (");
	for (size_t i = 0; i < n; i++) {
		if (linear && i > 0)
			off += (size_t)snprintf(text + off, cap - off,
			                        "%s{ id = \"s%zu\"; stage = \"noop\"; after = "
			                        "\"s%zu\"; }",
			                        i ? "," : "", i, i - 1);
		else
			off += (size_t)snprintf(text + off, cap - off,
			                        "%s{ id = \"s%zu\"; stage = \"noop\"; }",
			                        i ? "," : "", i);
	}
	snprintf(text + off, cap - off, "); });");
	xf_compile(text);
	free(text);
}

START_TEST(thousand_steps)
{
	struct run *r;

	big_pipeline(1000, true);
	ck_assert_uint_eq(xf.pl->n_levels, 1000);
	r = xf_run(2);
	ck_assert_int_eq(r->status, RUN_SUCCESS);
	for (size_t i = 1; i < 1000; i++)
		ck_assert_uint_le(r->results[i - 1].end_usec, r->results[i].start_usec);
	run_free(r);

	big_pipeline(1000, false);
	ck_assert_uint_eq(xf.pl->n_levels, 1);
	for (int k = 0; k < 3; k++) {
		r = xf_run(2);
		ck_assert_int_eq(r->status, RUN_SUCCESS);
		for (size_t i = 0; i < 1000; i++)
			ck_assert_int_eq(r->results[i].status, STEP_SUCCESS);
		run_free(r);
	}
}
END_TEST

/* A dry run runs describe() and check(), never run(), visits every step,
 * and fails only on a failed health check. */
START_TEST(dry_run_describes_and_checks)
{
	struct run *r = NULL;

	xf_compile("pipelines = ({ name = \"p\"; steps = ("
	           "{ id = \"a\"; stage = \"dry\"; params = { name = \"a\"; }; },"
	           "{ id = \"b\"; stage = \"dry\"; after = \"a\"; params = { name = \"b\"; "
	           "fail_times = 1; }; },"
	           "{ id = \"c\"; stage = \"nodry\"; after = \"b\"; params = { name = \"c\"; }; },"
	           "{ id = \"d\"; stage = \"rec\"; enabled = false; }"
	           "); });");
	xf.ex = executor_new(2);
	r = run_new(xf.pl, "test");
	r->dry_run = true;
	r->on_done = xf_on_done;
	ck_assert_int_eq(executor_submit(xf.ex, r), 0);
	xf_wait_done(1);
	ck_assert_uint_eq(xt_n_events, 0); /* run() never called */
	ck_assert_str_eq(xf_result(r, "a")->message, "would record a; check ok");
	ck_assert_int_eq(xf_result(r, "b")->status, STEP_FAILED);
	ck_assert_str_eq(xf_result(r, "b")->message,
	                 "would record b; check FAILED: b is unhealthy");
	/* Visited although its dependency's check failed. */
	ck_assert_int_eq(xf_result(r, "c")->status, STEP_SUCCESS);
	ck_assert_str_eq(xf_result(r, "c")->message,
	                 "would run stage 'nodry' (it cannot describe itself)");
	ck_assert_int_eq(xf_result(r, "d")->status, STEP_SKIPPED);
	ck_assert_int_eq(r->status, RUN_FAILED);
	ck_assert_uint_eq(r->failed_step, 1);
	run_free(r);
}
END_TEST

/*
 * As gini-stage(3) says: describe() may run while run() of the same
 * instance is going on, even for a stage without GINI_STAGE_CONCURRENT in a
 * pipeline whose runs overlap (whose run() calls are serialised).
 */
START_TEST(dry_run_overlaps_a_real_run)
{
	struct run *real, *dry;

	xf_compile("pipelines = ({ name = \"p\"; overlap = \"parallel\"; steps = ("
	           "{ id = \"m\"; stage = \"meet\"; }"
	           "); });");
	ck_assert(xf.pl->steps[0].serialise);
	xt_meet_running = xt_meet_described = false;
	xf.ex = executor_new(2);
	real = run_new(xf.pl, "test");
	real->on_done = xf_on_done;
	ck_assert_int_eq(executor_submit(xf.ex, real), 0);
	xt_meet_wait_running();
	dry = run_new(xf.pl, "test");
	dry->dry_run = true;
	dry->on_done = xf_on_done;
	ck_assert_int_eq(executor_submit(xf.ex, dry), 0);
	xf_wait_done(2);
	ck_assert_str_eq(xf_result(dry, "m")->message, "would meet");
	ck_assert_int_eq(xf_result(real, "m")->status, STEP_SUCCESS);
	run_free(dry);
	run_free(real);
}
END_TEST

Suite *
executor_suite(void)
{
	Suite *s = suite_create("executor");
	TCase *tc;

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, setup, xf_teardown);
	tcase_add_test(tc, linear_order_and_context);
	tcase_add_test(tc, branches_run_in_parallel);
	tcase_add_test(tc, thousand_steps);
	tcase_add_test(tc, non_concurrent_stage_serialised);
	tcase_add_test(tc, dry_run_describes_and_checks);
	tcase_add_test(tc, dry_run_overlaps_a_real_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeouts");
	tcase_add_checked_fixture(tc, setup, xf_teardown);
	tcase_add_test(tc, timeout_cancels_step);
	tcase_add_test(tc, overrun_reported_and_worker_replaced);
	tcase_add_test(tc, cancel_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("policies");
	tcase_add_checked_fixture(tc, setup, xf_teardown);
	tcase_add_test(tc, retries_counted);
	tcase_add_test(tc, on_failure_stop);
	tcase_add_test(tc, on_failure_continue);
	tcase_add_test(tc, negative_return_is_an_errno);
	tcase_add_test(tc, skipped_and_disabled_satisfy_dependents);
	suite_add_tcase(s, tc);
	return s;
}
