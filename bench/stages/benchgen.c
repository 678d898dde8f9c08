/* SPDX-License-Identifier: MIT */
/*
 * The template of the generated plugins (plugin loading and scale cases).
 * The bench copies this .so N times and rewrites the digits of the id in
 * each copy (bench/gen.c), so every file is a distinct plugin with a
 * distinct id, byte for byte what compiling this source with another id
 * would give, at the cost of a file copy instead of a compiler run. The id
 * literal below is the marker the generator looks for: keep it unique.
 */
#include <gini/stage.h>

static int
benchgen_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor benchgen = {
	GINI_DESCRIPTOR_HEADER, .id = "benchgen-000000",
	.version = "1.0.0",     .summary = "Generated bench stage",
	.category = "bench",    .flags = GINI_STAGE_CONCURRENT,
	.run = benchgen_run,
};

GINI_STAGE(benchgen)
