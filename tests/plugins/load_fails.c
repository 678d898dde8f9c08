/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: the load hook refuses, with a message. */
/* expect-load: load hook failed: license file /nonexistent/license missing */
#include <gini/stage.h>

#include <errno.h>

static int
refuse_load(const struct gini_host *host, struct gini_handle *h)
{
	host->set_message(h, "license file /nonexistent/license missing");
	return -ENOENT;
}

static int
never_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_FAILURE;
}

static const struct gini_stage_descriptor bad = {
	GINI_DESCRIPTOR_HEADER, .id = "load-fails",
	.version = "1.0.0",     .summary = "Broken on purpose",
	.category = "test",     .load = refuse_load,
	.run = never_run,
};

GINI_STAGE(bad)
