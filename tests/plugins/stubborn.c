/* SPDX-License-Identifier: MIT */
/*
 * A stage whose run() ignores cancellation: it sleeps for its "sleep" param
 * (default 1s) without asking the host, then appends "returned PID" to the
 * file named by $GINI_TEST_HOOKS and succeeds. For the abandoned-step tests.
 */
#include <gini/stage.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int
s_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
         void **ret)
{
	uint64_t *usec = malloc(sizeof(*usec));

	(void)h;
	if (!usec)
		return -12;
	*usec = 1000000;
	host->param_duration(p, "sleep", usec);
	*ret = usec;
	return 0;
}

static void
s_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
s_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const uint64_t *usec = instance;
	struct timespec ts = { (time_t)(*usec / 1000000), (long)(*usec % 1000000) * 1000 };
	const char *path = getenv("GINI_TEST_HOOKS");
	FILE *f;

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (path && (f = fopen(path, "ae"))) {
		fprintf(f, "returned %d\n", (int)getpid());
		fclose(f);
	}
	host->set_message(h, "done at last");
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor stubborn = {
	GINI_DESCRIPTOR_HEADER, .id = "stubborn",
	.version = "1.0.0",     .summary = "Sleeps ignoring cancellation",
	.category = "test",     .flags = GINI_STAGE_CONCURRENT,
	.create = s_create,     .destroy = s_destroy,
	.run = s_run,
};

GINI_STAGE(stubborn)
