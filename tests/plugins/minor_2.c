/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: built for ABI 1.2, one minor past the host's 1.1 */
/* expect: built for ABI 1.2, newer than the host's ABI 1.1 */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	.abi_major = GINI_ABI_MAJOR,
	.abi_minor = 2,
	.struct_size = sizeof(struct gini_stage_descriptor),
	.id = "minor-2",
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = test_noop_run,
};

GINI_STAGE(bad)
