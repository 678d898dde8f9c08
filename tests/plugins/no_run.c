/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: a descriptor without a run callback. */
/* expect: no run callback */
#include <gini/stage.h>

static const struct gini_stage_descriptor bad = {
	GINI_DESCRIPTOR_HEADER,         .id = "no-run",     .version = "1.0.0",
	.summary = "Broken on purpose", .category = "test",
};

GINI_STAGE(bad)
