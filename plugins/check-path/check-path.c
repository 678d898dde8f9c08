/* SPDX-License-Identifier: MIT */
/*
 * The "check-path" stage: succeeds when a path exists, optionally with a
 * given type and permission bits, and otherwise fails with a message that
 * says exactly what differs. It only looks, so run() and the health probe
 * check() are the same thing.
 *
 * Types "file" and "directory" follow symlinks (stat), as a program
 * opening the path would; "symlink" looks at the link itself (lstat); "any"
 * follows symlinks too, so a dangling link does not count as present.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gini/stage.h>

#include "../lib/buf.h"
#include "../lib/params.h"
#include "../lib/path.h"

#include <stdlib.h>
#include <sys/stat.h>

enum path_type { TYPE_ANY, TYPE_FILE, TYPE_DIRECTORY, TYPE_SYMLINK };

static const char *const type_names[] = { "any", "file", "directory", "symlink", NULL };

/* Owned by the host between create() and destroy(); path borrowed from params. */
struct check_path_step {
	const char *path;
	int type;     /* enum path_type */
	int has_mode; /* mode is to be checked */
	unsigned mode;
};

static int
check_path_create(const struct gini_host *host, struct gini_handle *h,
                  const struct gini_params *params, void **ret_instance)
{
	struct params_reader pr = PARAMS_READER_INIT(host, h, params);
	struct check_path_step *s;
	const char *path = NULL;
	int type = TYPE_ANY, has_mode;
	unsigned mode = 0;

	params_require(&pr, "path", params_abs_path(&pr, "path", &path));
	params_choice(&pr, "type", type_names, &type);
	has_mode = params_mode(&pr, "mode", &mode) > 0;
	if (pr.error < 0)
		return pr.error;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->path = path;
	s->type = type;
	s->has_mode = has_mode;
	s->mode = mode;
	*ret_instance = s;
	return 0;
}

static void
check_path_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
check_path_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct check_path_step *s = instance;
	static const mode_t type_bits[] = {
		[TYPE_ANY] = 0,
		[TYPE_FILE] = S_IFREG,
		[TYPE_DIRECTORY] = S_IFDIR,
		[TYPE_SYMLINK] = S_IFLNK,
	};
	struct stat st;
	unsigned mode;
	int r;

	r = s->type == TYPE_SYMLINK ? lstat(s->path, &st) : stat(s->path, &st);
	if (r < 0) {
		host->set_message(h, "%s: %s", s->path, strerror(errno));
		return GINI_FAILURE;
	}
	if (s->type != TYPE_ANY && (st.st_mode & S_IFMT) != type_bits[s->type]) {
		host->set_message(h, "%s: is a %s, expected %s", s->path,
		                  file_type_name(st.st_mode), type_names[s->type]);
		return GINI_FAILURE;
	}
	mode = (unsigned)(st.st_mode & 07777);
	if (s->has_mode && mode != s->mode) {
		host->set_message(h, "%s: mode %04o, expected %04o", s->path, mode, s->mode);
		return GINI_FAILURE;
	}
	host->set_message(h, "%s: %s, mode %04o", s->path, file_type_name(st.st_mode), mode);
	return GINI_SUCCESS;
}

static int
check_path_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct check_path_step *s = instance;
	struct buf b = { 0 };
	int r;

	r = buf_printf(&b, "would check that %s exists", s->path);
	if (r == 0 && s->type != TYPE_ANY)
		r = buf_printf(&b, " and is a %s", type_names[s->type]);
	if (r == 0 && s->has_mode)
		r = buf_printf(&b, " with mode %04o", s->mode);
	if (r == 0)
		host->set_message(h, "%s", buf_str(&b));
	buf_done(&b);
	return r;
}

static const struct gini_stage_descriptor check_path_stage = {
	GINI_DESCRIPTOR_HEADER,
	.flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.id = "check-path",
	.version = "1.0.0",
	.summary = "Check that a path exists, with the expected type and mode",
	.category = "check",
	.create = check_path_create,
	.destroy = check_path_destroy,
	.run = check_path_run,
	.describe = check_path_describe,
	.check = check_path_run,
};

GINI_STAGE(check_path_stage)
