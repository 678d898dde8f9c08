/* SPDX-License-Identifier: MIT */
/*
 * A plugin that rewrites its own descriptor after it was loaded: its first
 * run() clears the run callback and spoils the id and summary. The host
 * reads only the copy it took at load, so later runs still work and the
 * stage keeps its name.
 */
#include <gini/stage.h>

#include <stddef.h>

static struct gini_stage_descriptor mutable_desc;

static int
mutable_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)instance;
	mutable_desc.run = NULL;
	mutable_desc.id = "Not An Id!";
	mutable_desc.summary = NULL;
	host->set_message(h, "ran; descriptor spoilt");
	return GINI_SUCCESS;
}

static struct gini_stage_descriptor mutable_desc = {
	GINI_DESCRIPTOR_HEADER, .id = "mutable-desc",
	.version = "1.0.0",     .summary = "Rewrites its descriptor when it runs",
	.category = "test",     .run = mutable_run,
};

GINI_STAGE(mutable_desc)
