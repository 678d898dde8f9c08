/* SPDX-License-Identifier: MIT */
/*
 * The "log" stage: writes one line, with ${key} values from the run
 * context, to the daemon's log at a chosen level. It never fails on its own
 * account, so it is safe to put anywhere in a pipeline.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gini/stage.h>

#include "../lib/buf.h"
#include "../lib/params.h"
#include "../lib/subst.h"

#include <stdlib.h>

static const char *const level_names[] = { "error", "warning", "notice", "info", "debug", NULL };
static const int level_values[] = { GINI_LOG_ERR, GINI_LOG_WARNING, GINI_LOG_NOTICE, GINI_LOG_INFO,
	                            GINI_LOG_DEBUG };

/* Owned by the host between create() and destroy(); strings borrowed from params. */
struct log_step {
	const char *message;
	int level; /* index into level_names */
};

static int
log_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *params,
           void **ret_instance)
{
	struct params_reader pr = PARAMS_READER_INIT(host, h, params);
	struct log_step *s;
	const char *message = NULL;
	int level = 3; /* info */

	params_require(&pr, "message", params_template(&pr, "message", &message));
	params_choice(&pr, "level", level_names, &level);
	if (pr.error < 0)
		return pr.error;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->message = message;
	s->level = level;
	*ret_instance = s;
	return 0;
}

static void
log_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
log_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct log_step *s = instance;
	struct buf b = { 0 };
	int r;

	r = subst_expand(host, h, s->message, &b);
	if (r < 0) {
		host->set_message(h, "cannot expand message: %s", strerror(-r));
		buf_done(&b);
		return GINI_FAILURE;
	}
	host->log(h, level_values[s->level], "%s", buf_str(&b));
	buf_done(&b);
	return GINI_SUCCESS;
}

static int
log_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct log_step *s = instance;
	struct buf b = { 0 };
	int r;

	r = subst_expand(host, h, s->message, &b);
	if (r == 0)
		host->set_message(h, "would log at %s: %s", level_names[s->level], buf_str(&b));
	buf_done(&b);
	return r;
}

static const struct gini_stage_descriptor log_stage = {
	GINI_DESCRIPTOR_HEADER,
	.flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.id = "log",
	.version = "1.0.0",
	.summary = "Write a message, with ${key} values from the run context, to the log",
	.category = "notify",
	.create = log_create,
	.destroy = log_destroy,
	.run = log_run,
	.describe = log_describe,
};

GINI_STAGE(log_stage)
