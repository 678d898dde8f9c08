/* SPDX-License-Identifier: MIT */
/*
 * The "check-command" stage: succeeds when a command can be run, that is
 * when it names a regular file we may execute, either directly (a name with
 * a '/') or through a search of the daemon's PATH, the way a shell finds it.
 * A pipeline puts it before the steps that need the command, so a missing
 * tool is one clear failure instead of an obscure one later. Read-only, so
 * the health probe check() is the same as run().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gini/stage.h>

#include "../lib/buf.h"
#include "../lib/params.h"
#include "../lib/path.h"

#include <stdlib.h>

/* Owned by the host between create() and destroy(); command borrowed from params. */
struct check_command_step {
	const char *command;
};

static int
check_command_create(const struct gini_host *host, struct gini_handle *h,
                     const struct gini_params *params, void **ret_instance)
{
	struct params_reader pr = PARAMS_READER_INIT(host, h, params);
	struct check_command_step *s;
	const char *command = NULL;

	params_require(&pr, "command", params_nonempty_string(&pr, "command", &command));
	if (pr.error < 0)
		return pr.error;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->command = command;
	*ret_instance = s;
	return 0;
}

static void
check_command_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
check_command_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct check_command_step *s = instance;
	char err[512];
	char *found = NULL;

	if (executable_find(s->command, getenv("PATH"), &found, err, sizeof(err)) < 0) {
		host->set_message(h, "%s", err);
		return GINI_FAILURE;
	}
	if (strcmp(found, s->command) == 0)
		host->set_message(h, "%s is executable", found);
	else
		host->set_message(h, "%s found at %s", s->command, found);
	free(found);
	return GINI_SUCCESS;
}

static int
check_command_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct check_command_step *s = instance;

	if (strchr(s->command, '/'))
		host->set_message(h, "would check that %s is an executable file", s->command);
	else
		host->set_message(h, "would look for %s in PATH", s->command);
	return 0;
}

static const struct gini_stage_descriptor check_command_stage = {
	GINI_DESCRIPTOR_HEADER,
	.flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.id = "check-command",
	.version = "1.0.0",
	.summary = "Check that a command exists on PATH (or at a path) and is executable",
	.category = "check",
	.create = check_command_create,
	.destroy = check_command_destroy,
	.run = check_command_run,
	.describe = check_command_describe,
	.check = check_command_run,
};

GINI_STAGE(check_command_stage)
