/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: the same id as good_a.so */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	GINI_DESCRIPTOR_HEADER,         .id = "good-a",     .version = "1.0.0",
	.summary = "Broken on purpose", .category = "test", .run = test_noop_run,
};

GINI_STAGE(bad)
