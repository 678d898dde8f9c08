/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: absurd struct size */
/* expect: descriptor size 1048576 is implausible */
#include "../test_stages.h"

static const struct gini_stage_descriptor bad = {
	.abi_major = GINI_ABI_MAJOR,
	.abi_minor = GINI_ABI_MINOR,
	.struct_size = 1u << 20,
	.id = "absurd-size",
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = test_noop_run,
};

GINI_STAGE(bad)
