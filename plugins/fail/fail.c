/* SPDX-License-Identifier: MIT */
/*
 * The "fail" stage: ends with a failure, or a skip, and a message. For
 * testing pipelines (on_failure, retries, alerting) and for marking a
 * branch that must not run yet. The message takes ${key} values from the
 * run context, so a pipeline can fail with the reason an earlier step found.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gini/stage.h>

#include "../lib/buf.h"
#include "../lib/params.h"
#include "../lib/subst.h"

#include <stdlib.h>

static const char *const result_names[] = { "fail", "skip", NULL };

/* Owned by the host between create() and destroy(); strings borrowed from params. */
struct fail_step {
	const char *message;
	int skip;
};

static int
fail_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *params,
            void **ret_instance)
{
	struct params_reader pr = PARAMS_READER_INIT(host, h, params);
	struct fail_step *s;
	const char *message = "failed as configured";
	int result = 0;

	params_template(&pr, "message", &message);
	params_choice(&pr, "result", result_names, &result);
	if (pr.error < 0)
		return pr.error;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->message = message;
	s->skip = result == 1;
	*ret_instance = s;
	return 0;
}

static void
fail_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
fail_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct fail_step *s = instance;
	struct buf b = { 0 };

	/* On a failed expansion the raw template still says what was meant. */
	if (subst_expand(host, h, s->message, &b) < 0)
		host->set_message(h, "%s", s->message);
	else
		host->set_message(h, "%s", buf_str(&b));
	buf_done(&b);
	return s->skip ? GINI_SKIPPED : GINI_FAILURE;
}

static int
fail_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct fail_step *s = instance;
	struct buf b = { 0 };
	int r;

	r = subst_expand(host, h, s->message, &b);
	if (r == 0)
		host->set_message(h, "would %s: %s", s->skip ? "skip" : "fail", buf_str(&b));
	buf_done(&b);
	return r;
}

static const struct gini_stage_descriptor fail_stage = {
	GINI_DESCRIPTOR_HEADER,
	.flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.id = "fail",
	.version = "1.0.0",
	.summary = "Fail (or skip) with a message, for testing pipelines",
	.category = "test",
	.create = fail_create,
	.destroy = fail_destroy,
	.run = fail_run,
	.describe = fail_describe,
};

GINI_STAGE(fail_stage)
