/* SPDX-License-Identifier: MIT */
/*
 * Built against the frozen ABI 1.0 header, tests/abi/gini-1.0/gini/stage.h
 * (the Makefile puts it first on the include path for abi10_*.c), exactly as
 * a third-party plugin compiled before ABI 1.1 was: it proves that such a
 * binary keeps loading and running on a newer host. Its run() appends
 * "abi10-count N host A.B" to the file named by the "out" param.
 */
#include <gini/stage.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

_Static_assert(GINI_ABI_MAJOR == 1 && GINI_ABI_MINOR == 0,
               "abi10_count.c must be built against tests/abi/gini-1.0");
#if defined(__LP64__)
/* The layouts of ABI 1.0, as tests/check_abi.c pins them. */
_Static_assert(sizeof(struct gini_host) == 136, "ABI 1.0 host table");
_Static_assert(sizeof(struct gini_stage_descriptor) == 112, "ABI 1.0 descriptor");
#endif

struct count {
	const char *out;
	int64_t n;
};

static int
count_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
             void **ret)
{
	struct count *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	if (host->param_string(p, "out", &c->out) < 0 || host->param_int(p, "count", &c->n) < 0) {
		host->set_message(h, "needs the params 'out' (a string) and 'count' (an integer)");
		free(c);
		return -EINVAL;
	}
	*ret = c;
	return 0;
}

static void
count_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
count_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct count *c = instance;
	FILE *f = fopen(c->out, "ae");

	if (!f)
		return -errno;
	fprintf(f, "abi10-count %lld host %u.%u\n", (long long)c->n, host->abi_major,
	        host->abi_minor);
	fclose(f);
	host->set_message(h, "counted %lld", (long long)c->n);
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor abi10_count = {
	GINI_DESCRIPTOR_HEADER, .id = "abi10-count",
	.version = "1.0.0",     .summary = "A plugin built against the ABI 1.0 header",
	.category = "test",     .flags = GINI_STAGE_CONCURRENT,
	.create = count_create, .destroy = count_destroy,
	.run = count_run,
};

GINI_STAGE(abi10_count)
