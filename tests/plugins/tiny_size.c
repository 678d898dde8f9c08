/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: struct size smaller than ABI 1.0 */
/* expect: descriptor size 16 is implausible */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	.abi_major = GINI_ABI_MAJOR,
	.abi_minor = GINI_ABI_MINOR,
	.struct_size = 16,
	.id = "tiny-size",
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = test_noop_run,
};

GINI_STAGE(bad)
