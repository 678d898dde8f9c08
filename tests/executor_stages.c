/* SPDX-License-Identifier: MIT */
/*
 * The stage types of the executor suite (executor_stages.h): recording,
 * failing, sleeping, describing and cancellation-ignoring stages whose
 * behaviour each step's params choose.
 */
#include "executor_stages.h"

#include "test_stages.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* What the test stages saw, in order. */
struct event xt_events[EVENTS_MAX];
size_t xt_n_events;
static pthread_mutex_t xt_events_lock = PTHREAD_MUTEX_INITIALIZER;

struct inst {
	const char *name;
	int64_t fail_times; /* fail this many attempts, then succeed */
	uint64_t sleep_usec;
	const char *set_key, *set_value, *expect_key;
	int32_t result;  /* GINI_* to return after the work */
	int64_t returns; /* with has_returns: the value run() returns, as is */
	bool has_returns;
	const char *message;
	atomic_int attempts;
};

static int
rec_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
           void **ret)
{
	struct inst *in = calloc(1, sizeof(*in));
	const char *result = NULL;

	(void)h;
	host->param_string(p, "name", &in->name);
	host->param_int(p, "fail_times", &in->fail_times);
	host->param_duration(p, "sleep", &in->sleep_usec);
	host->param_string(p, "set_key", &in->set_key);
	host->param_string(p, "set_value", &in->set_value);
	host->param_string(p, "expect_key", &in->expect_key);
	if (host->param_string(p, "result", &result) == 0)
		in->result = streq(result, "skip") ? GINI_SKIPPED : GINI_FAILURE;
	in->has_returns = host->param_int(p, "returns", &in->returns) == 0;
	host->param_string(p, "message", &in->message);
	*ret = in;
	return 0;
}

static void
rec_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
rec_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct inst *in = instance;
	uint64_t start = now_usec(CLOCK_MONOTONIC);
	int attempt = atomic_fetch_add(&in->attempts, 1) + 1;
	int rc = GINI_SUCCESS;

	if (in->sleep_usec && host->sleep(h, in->sleep_usec) < 0) {
		host->set_message(h, "interrupted");
		rc = GINI_FAILURE;
	}
	if (in->expect_key) {
		const char *v = host->ctx_get(h, in->expect_key);

		host->set_message(h, "%s=%s", in->expect_key, v ? v : "(unset)");
	}
	if (in->set_key)
		host->ctx_set(h, in->set_key, in->set_value ? in->set_value : "");
	if (rc == GINI_SUCCESS && attempt <= in->fail_times) {
		host->set_message(h, "attempt %d fails", attempt);
		rc = GINI_FAILURE;
	} else if (rc == GINI_SUCCESS && in->result) {
		host->set_message(h, "as configured");
		rc = in->result;
	} else if (rc == GINI_SUCCESS && in->has_returns) {
		if (in->message)
			host->set_message(h, "%s", in->message);
		rc = (int)in->returns;
	}
	pthread_mutex_lock(&xt_events_lock);
	if (xt_n_events < EVENTS_MAX) {
		snprintf(xt_events[xt_n_events].name, sizeof(xt_events[0].name), "%s",
		         in->name ? in->name : "?");
		xt_events[xt_n_events].start = start;
		xt_events[xt_n_events].end = now_usec(CLOCK_MONOTONIC);
		xt_n_events++;
	}
	pthread_mutex_unlock(&xt_events_lock);
	return rc;
}

/* Ignores cancellation: sleeps its full duration with plain nanosleep. */
static int
stubborn_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct timespec ts = { 0, 400 * 1000 * 1000 };

	(void)host;
	(void)h;
	(void)instance;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return GINI_SUCCESS;
}

static int
desc_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct inst *in = instance;

	host->set_message(h, "would record %s", in && in->name ? in->name : "?");
	return 0;
}

/*
 * "meet": run() waits until describe() of the same instance was called, so
 * it succeeds only if a dry run's describe() does not wait for run(). The
 * wait gives up after a minute (a hang guard, not a measurement).
 */
static pthread_mutex_t meet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t meet_cond = PTHREAD_COND_INITIALIZER;
bool xt_meet_running, xt_meet_described;

static int
meet_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct timespec until;
	int k = 0;

	(void)instance;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&meet_lock);
	xt_meet_running = true;
	pthread_cond_broadcast(&meet_cond);
	while (!xt_meet_described && k != ETIMEDOUT)
		k = pthread_cond_timedwait(&meet_cond, &meet_lock, &until);
	pthread_mutex_unlock(&meet_lock);
	if (k == ETIMEDOUT) {
		host->set_message(h, "describe() never came");
		return GINI_FAILURE;
	}
	return GINI_SUCCESS;
}

static int
meet_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)instance;
	pthread_mutex_lock(&meet_lock);
	xt_meet_described = true;
	pthread_cond_broadcast(&meet_cond);
	pthread_mutex_unlock(&meet_lock);
	host->set_message(h, "would meet");
	return 0;
}

/* Healthy unless its instance was configured to fail. */
static int
desc_check(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct inst *in = instance;

	if (in && in->fail_times) {
		host->set_message(h, "%s is unhealthy", in->name);
		return GINI_FAILURE;
	}
	return GINI_SUCCESS;
}

const struct gini_stage_descriptor xt_dry_desc = {
	GINI_DESCRIPTOR_HEADER, .id = "dry",
	.version = "1.0.0",     .summary = "describes itself",
	.category = "test",     .flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.create = rec_create,   .destroy = rec_destroy,
	.run = rec_run,         .describe = desc_describe,
	.check = desc_check,
};
/* Has describe() but does not vouch for it: the generic line is used. */
const struct gini_stage_descriptor xt_nodry_desc = {
	GINI_DESCRIPTOR_HEADER,    .id = "nodry",          .version = "1.0.0",
	.summary = "unvouched",    .category = "test",     .flags = GINI_STAGE_CONCURRENT,
	.create = rec_create,      .destroy = rec_destroy, .run = rec_run,
	.describe = desc_describe,
};

const struct gini_stage_descriptor xt_rec_desc = {
	GINI_DESCRIPTOR_HEADER, .id = "rec",
	.version = "1.0.0",     .summary = "records",
	.category = "test",     .flags = GINI_STAGE_CONCURRENT,
	.create = rec_create,   .destroy = rec_destroy,
	.run = rec_run,
};
const struct gini_stage_descriptor xt_serial_desc = {
	GINI_DESCRIPTOR_HEADER,      .id = "serial",     .version = "1.0.0",
	.summary = "not concurrent", .category = "test", .create = rec_create,
	.destroy = rec_destroy,      .run = rec_run,
};
const struct gini_stage_descriptor xt_stubborn_desc = {
	GINI_DESCRIPTOR_HEADER, .id = "stubborn",
	.version = "1.0.0",     .summary = "ignores cancellation",
	.category = "test",     .run = stubborn_run,
};
/* Not concurrent: real runs of one instance are serialised, dry runs not. */
const struct gini_stage_descriptor xt_meet_desc = {
	GINI_DESCRIPTOR_HEADER, .id = "meet",
	.version = "1.0.0",     .summary = "meets describe",
	.category = "test",     .flags = GINI_STAGE_DRY_RUN,
	.run = meet_run,        .describe = meet_describe,
};

const struct gini_stage_descriptor xt_noop_desc =
        TEST_NOOP_STAGE("noop", .flags = GINI_STAGE_CONCURRENT);

void
xt_meet_wait_running(void)
{
	pthread_mutex_lock(&meet_lock);
	while (!xt_meet_running)
		pthread_cond_wait(&meet_cond, &meet_lock);
	pthread_mutex_unlock(&meet_lock);
}
