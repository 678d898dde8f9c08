/* SPDX-License-Identifier: MIT */
/*
 * The "sleep" stage: waits for a duration, through the host's sleep() so
 * that a timeout or a stop ends the wait at once instead of holding a
 * worker thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gini/stage.h>

#include "../lib/buf.h"
#include "../lib/params.h"

#include <stdlib.h>
#include <time.h>

/* Owned by the host between create() and destroy(). */
struct sleep_step {
	uint64_t duration; /* usec */
};

static uint64_t
monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static int
sleep_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *params,
             void **ret_instance)
{
	struct params_reader pr = PARAMS_READER_INIT(host, h, params);
	struct sleep_step *s;
	uint64_t duration = 0;

	params_require(&pr, "duration", params_duration(&pr, "duration", &duration));
	if (pr.error < 0)
		return pr.error;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->duration = duration;
	*ret_instance = s;
	return 0;
}

static void
sleep_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
sleep_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct sleep_step *s = instance;
	uint64_t start = monotonic_usec(), elapsed;
	struct buf b = { 0 };
	int r;

	r = host->sleep(h, s->duration);
	if (r == 0)
		return GINI_SUCCESS;
	/* Milliseconds are plenty for a human reading why a step stopped. */
	elapsed = (monotonic_usec() - start) / USEC_PER_MSEC * USEC_PER_MSEC;
	if (r == -ECANCELED) {
		buf_puts(&b, "cancelled after ");
		buf_put_duration(&b, elapsed);
		buf_puts(&b, " of ");
		buf_put_duration(&b, s->duration);
	} else {
		buf_printf(&b, "sleep failed: %s", strerror(-r));
	}
	host->set_message(h, "%s", buf_str(&b));
	buf_done(&b);
	return GINI_FAILURE;
}

static int
sleep_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct sleep_step *s = instance;
	struct buf b = { 0 };
	int r;

	r = buf_put_duration(&b, s->duration);
	if (r == 0)
		host->set_message(h, "would sleep %s", buf_str(&b));
	buf_done(&b);
	return r;
}

static const struct gini_stage_descriptor sleep_stage = {
	GINI_DESCRIPTOR_HEADER,
	.flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.id = "sleep",
	.version = "1.0.0",
	.summary = "Wait for a duration; returns at once when the step is cancelled",
	.category = "util",
	.create = sleep_create,
	.destroy = sleep_destroy,
	.run = sleep_run,
	.describe = sleep_describe,
};

GINI_STAGE(sleep_stage)
