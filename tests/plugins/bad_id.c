/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: an id that is not [a-z0-9][a-z0-9_.-]* */
/* expect: invalid id 'Bad ID!' */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	GINI_DESCRIPTOR_HEADER,         .id = "Bad ID!",    .version = "1.0.0",
	.summary = "Broken on purpose", .category = "test", .run = test_noop_run,
};

GINI_STAGE(bad)
