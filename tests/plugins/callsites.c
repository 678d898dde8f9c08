/* SPDX-License-Identifier: MIT */
/*
 * Records where each callback runs, for the test of the call sites that
 * gini-stage(3) documents: every callback appends "CALLBACK PROCESS THREAD"
 * to the file named by $GINI_TEST_CALLSITES, where PROCESS is the process's
 * name (ginid, gini-probe, gini-worker) and THREAD is "main" on the
 * process's main thread (which is ginid's loop thread) and "other" on any
 * other thread.
 */
#include <gini/stage.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
note(const char *what)
{
	const char *path = getenv("GINI_TEST_CALLSITES");
	char comm[64] = "?";
	ssize_t n;
	FILE *f;
	int fd;

	if (!path)
		return;
	/* /proc/self is the thread group: its comm is the process's name. */
	fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = 0;
		comm[strcspn(comm, "\n")] = 0;
		close(fd);
	}
	if (!(f = fopen(path, "ae")))
		return;
	fprintf(f, "%s %s %s\n", what, comm, gettid() == getpid() ? "main" : "other");
	fclose(f);
}

static int
c_load(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
	note("load");
	return 0;
}

static void
c_unload(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
	note("unload");
}

static int
c_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
         void **ret)
{
	const char *tag = NULL;

	(void)h;
	host->param_string(p, "tag", &tag);
	note("create");
	*ret = NULL;
	return 0;
}

static void
c_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	note("destroy");
}

static int
c_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	note("run");
	return GINI_SUCCESS;
}

static int
c_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)instance;
	note("describe");
	host->set_message(h, "would record a run");
	return 0;
}

static int
c_check(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	note("check");
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor callsites = {
	GINI_DESCRIPTOR_HEADER, .id = "callsites",
	.version = "1.0.0",     .summary = "Records the process and thread of each callback",
	.category = "test",     .flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.load = c_load,         .unload = c_unload,
	.create = c_create,     .destroy = c_destroy,
	.run = c_run,           .describe = c_describe,
	.check = c_check,
};

GINI_STAGE(callsites)
