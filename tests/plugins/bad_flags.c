/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: unknown flag bits */
/* expect: unknown flags 0x80 */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	GINI_DESCRIPTOR_HEADER,
	.id = "bad-flags",
	.flags = 0x80,
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = test_noop_run,
};

GINI_STAGE(bad)
