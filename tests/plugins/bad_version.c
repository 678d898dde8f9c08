/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: a version that is not semver */
/* expect: invalid version '1.x' */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	GINI_DESCRIPTOR_HEADER,         .id = "bad-version", .version = "1.x",
	.summary = "Broken on purpose", .category = "test",  .run = test_noop_run,
};

GINI_STAGE(bad)
