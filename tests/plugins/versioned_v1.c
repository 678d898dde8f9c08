/* SPDX-License-Identifier: MIT */
/*
 * A plugin that exists in two versions with one id (versioned_v2.c builds
 * 2.0.0 from this file), for the reload tests: its hooks and runs append
 * "load|unload|start|end VERSION PID" lines to the file named by
 * $GINI_TEST_HOOKS, and a run sleeps for its "sleep" param.
 */
#include <gini/stage.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef VERSIONED_VERSION
#define VERSIONED_VERSION "1.0.0"
#endif

static void
note(const char *what)
{
	const char *path = getenv("GINI_TEST_HOOKS");
	FILE *f;

	if (!path || !(f = fopen(path, "ae")))
		return;
	/* The pid tells the daemon's calls from those of a probe process. */
	fprintf(f, "%s " VERSIONED_VERSION " %d\n", what, (int)getpid());
	fclose(f);
}

static int
v_load(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
	note("load");
	return 0;
}

static void
v_unload(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
	note("unload");
}

static int
v_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
         void **ret)
{
	uint64_t *usec = calloc(1, sizeof(*usec));

	(void)h;
	if (!usec)
		return -12;
	host->param_duration(p, "sleep", usec);
	*ret = usec;
	return 0;
}

static void
v_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
v_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	uint64_t *usec = instance;

	note("start");
	host->ctx_set(h, "version", VERSIONED_VERSION);
	if (*usec && host->sleep(h, *usec) < 0) {
		note("cancelled");
		host->set_message(h, "cancelled");
		return GINI_FAILURE;
	}
	note("end");
	host->set_message(h, "version " VERSIONED_VERSION);
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor versioned = {
	GINI_DESCRIPTOR_HEADER,
	.id = "versioned",
	.version = VERSIONED_VERSION,
	.summary = "A plugin that exists in two versions",
	.category = "test",
	.flags = GINI_STAGE_CONCURRENT,
	.load = v_load,
	.unload = v_unload,
	.create = v_create,
	.destroy = v_destroy,
	.run = v_run,
};

GINI_STAGE(versioned)
