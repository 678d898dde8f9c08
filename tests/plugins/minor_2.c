/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: built for ABI 1.2, one minor past the host's 1.1 */
#include <gini/stage.h>

static int
bad_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor bad = {
	.abi_major = GINI_ABI_MAJOR,
	.abi_minor = 2,
	.struct_size = sizeof(struct gini_stage_descriptor),
	.id = "minor-2",
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = bad_run,
};

GINI_STAGE(bad)
