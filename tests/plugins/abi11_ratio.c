/* SPDX-License-Identifier: MIT */
/*
 * An ABI 1.1 plugin that reads a number through param_double(), checking
 * first, as gini-stage(3) says, that the host it runs on has it: on a 1.0
 * host (a shorter table) create() refuses with a message naming both ABIs.
 * Its run() appends "abi11-ratio R" to the file named by the "out" param.
 */
#include <gini/stage.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

_Static_assert(GINI_ABI_MAJOR == 1 && GINI_ABI_MINOR >= 1, "needs the ABI 1.1 header");

struct ratio {
	const char *out;
	double r;
};

static int
ratio_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
             void **ret)
{
	struct ratio *c;
	int r;

	if (!GINI_HOST_HAS(host, param_double)) {
		host->set_message(h,
		                  "needs a host with ABI 1.1 (param_double); this host has ABI "
		                  "%u.%u",
		                  host->abi_major, host->abi_minor);
		return -ENOTSUP;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (host->param_string(p, "out", &c->out) < 0) {
		host->set_message(h, "needs the param 'out'");
		free(c);
		return -EINVAL;
	}
	r = host->param_double(p, "ratio", &c->r);
	if (r < 0) {
		free(c);
		return r; /* the host's message names the param and the types */
	}
	*ret = c;
	return 0;
}

static void
ratio_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
ratio_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct ratio *c = instance;
	FILE *f = fopen(c->out, "ae");

	(void)host;
	(void)h;
	if (!f)
		return -errno;
	fprintf(f, "abi11-ratio %.3f\n", c->r);
	fclose(f);
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor abi11_ratio = {
	GINI_DESCRIPTOR_HEADER, .id = "abi11-ratio",
	.version = "1.1.0",     .summary = "A plugin that reads a number with param_double",
	.category = "test",     .flags = GINI_STAGE_CONCURRENT,
	.create = ratio_create, .destroy = ratio_destroy,
	.run = ratio_run,
};

GINI_STAGE(abi11_ratio)
