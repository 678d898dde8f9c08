/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: ABI major 2 */
/* expect: ABI major 2 is not supported (host ABI 1.1) */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	.abi_major = 2,
	.abi_minor = 0,
	.struct_size = sizeof(struct gini_stage_descriptor),
	.id = "bad-major",
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = test_noop_run,
};

GINI_STAGE(bad)
