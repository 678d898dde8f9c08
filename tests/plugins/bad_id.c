/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: an id that is not [a-z0-9][a-z0-9_.-]* */
#include <gini/stage.h>

static int
bad_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor bad = {
	GINI_DESCRIPTOR_HEADER,         .id = "Bad ID!",    .version = "1.0.0",
	.summary = "Broken on purpose", .category = "test", .run = bad_run,
};

GINI_STAGE(bad)
