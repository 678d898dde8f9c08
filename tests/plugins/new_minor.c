/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: built for a newer ABI minor */
/* expect: built for ABI 1.99, newer than the host's ABI 1.1 */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	.abi_major = GINI_ABI_MAJOR,
	.abi_minor = 99,
	.struct_size = sizeof(struct gini_stage_descriptor),
	.id = "new-minor",
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = test_noop_run,
};

GINI_STAGE(bad)
