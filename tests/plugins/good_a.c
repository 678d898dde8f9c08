/* SPDX-License-Identifier: MIT */
/* A well-formed test plugin with load/unload hooks. The hooks append to the
 * file named by $GINI_TEST_HOOKS, so tests can see when they ran. */
#include <gini/stage.h>

#include <stdio.h>
#include <stdlib.h>

static void
note(const char *what)
{
	const char *path = getenv("GINI_TEST_HOOKS");
	FILE *f;

	if (!path || !(f = fopen(path, "ae")))
		return;
	fprintf(f, "%s good-a\n", what);
	fclose(f);
}

static int
good_load(const struct gini_host *host, struct gini_handle *h)
{
	host->log(h, GINI_LOG_DEBUG, "loading");
	note("load");
	return 0;
}

static void
good_unload(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
	note("unload");
}

static int
good_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)instance;
	host->set_message(h, "good-a ran");
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor good_a = {
	GINI_DESCRIPTOR_HEADER, .id = "good-a",
	.version = "1.0.0",     .summary = "A good test plugin",
	.category = "test",     .flags = GINI_STAGE_CONCURRENT,
	.load = good_load,      .unload = good_unload,
	.run = good_run,
};

GINI_STAGE(good_a)
