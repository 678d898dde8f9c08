/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: struct size smaller than ABI 1.0 */
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
	.abi_minor = GINI_ABI_MINOR,
	.struct_size = 16,
	.id = "tiny-size",
	.version = "1.0.0",
	.summary = "Broken on purpose",
	.category = "test",
	.run = bad_run,
};

GINI_STAGE(bad)
