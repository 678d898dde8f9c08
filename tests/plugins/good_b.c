/* SPDX-License-Identifier: MIT */
/* A good test plugin that requires good-a, without hooks or create(). */
#include "../test_stages.h"

static const char *const needs[] = { "good-a", NULL };

static const struct gini_stage_descriptor good_b = {
	GINI_DESCRIPTOR_HEADER,
	.id = "good-b",
	.version = "0.3.1-rc.1+build.5",
	.summary = "Another good test plugin",
	.category = "test",
	.requires_ids = needs,
	.run = test_noop_run,
};

GINI_STAGE(good_b)
