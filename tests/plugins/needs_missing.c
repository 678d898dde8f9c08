/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: requires a stage type nobody provides */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	GINI_DESCRIPTOR_HEADER,
	.id = "needs-missing",
	.requires_ids = (const char *const[]){ "no-such-stage", NULL },
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = test_noop_run,
};

GINI_STAGE(bad)
