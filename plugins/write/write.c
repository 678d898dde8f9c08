/* SPDX-License-Identifier: MIT */
/*
 * The "write" stage: writes a file from a template with ${key} values from
 * the run context, atomically. The new contents go to a temporary file in
 * the target's directory (so the rename cannot cross file systems), which
 * is written, fsync'ed, given its mode and renamed over the target; the
 * directory is fsync'ed last so the rename itself survives a crash. Readers
 * see the old file or the new one, never a mix, and on any failure the
 * temporary file is removed and the old file is untouched.
 *
 * The mode is applied exactly (fchmod, so the umask plays no part). The
 * new file belongs to the daemon's user; a symlink at path is replaced,
 * not followed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gini/stage.h>

#include "../lib/buf.h"
#include "../lib/params.h"
#include "../lib/subst.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Owned by the host between create() and destroy(); strings borrowed from params. */
struct write_step {
	const char *path;
	const char *template;
	unsigned mode;
};

static int
write_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *params,
             void **ret_instance)
{
	struct params_reader pr = PARAMS_READER_INIT(host, h, params);
	struct write_step *s;
	const char *path = NULL, *template = NULL;
	unsigned mode = 0644;

	params_require(&pr, "path", params_abs_path(&pr, "path", &path));
	params_require(&pr, "template", params_template(&pr, "template", &template));
	params_mode(&pr, "mode", &mode);
	if (path && path[strlen(path) - 1] == '/')
		params_fail(&pr, -EINVAL, "param 'path': '%.200s' names a directory, not a file",
		            path);
	if (pr.error < 0)
		return pr.error;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->path = path;
	s->template = template;
	s->mode = mode;
	*ret_instance = s;
	return 0;
}

static void
write_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replaces path with data. Returns 0, or a negative errno value with a
 * message in msg saying which step failed.
 */
static int
write_atomic(const char *path, const char *data, size_t len, unsigned mode, struct buf *msg)
{
	const char *slash = strrchr(path, '/'); /* path is absolute: never NULL */
	const char *dir, *what;
	struct buf tmp = { 0 };
	int fd, dfd, r;

	dir = slash == path ? "/" : NULL;
	/* A hidden name, so globs like *.conf never pick up a half-written file. */
	r = buf_printf(&tmp, "%.*s/.%.200s.XXXXXX", (int)(slash - path), path, slash + 1);
	if (r < 0) {
		buf_printf(msg, "%s: %s", path, strerror(-r));
		return r;
	}
	fd = mkostemp(tmp.data, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		buf_printf(msg, "%s: cannot create a temporary file: %s", path, strerror(-r));
		buf_done(&tmp);
		return r;
	}
	what = "write";
	r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0) {
		what = "chmod";
		r = -errno;
	}
	if (r == 0 && fsync(fd) < 0) {
		what = "fsync";
		r = -errno;
	}
	/* close() reports the deferred write errors of some file systems (NFS). */
	if (close(fd) < 0 && r == 0) {
		what = "close";
		r = -errno;
	}
	if (r == 0 && rename(tmp.data, path) < 0) {
		what = "rename";
		r = -errno;
	}
	if (r < 0) {
		buf_printf(msg, "%s: %s of the temporary file failed: %s", path, what,
		           strerror(-r));
		unlink(tmp.data);
		buf_done(&tmp);
		return r;
	}
	buf_done(&tmp);

	/*
	 * The file is in place; without this fsync a crash could still bring
	 * back the old directory entry, so a failure here fails the step.
	 */
	if (!dir) {
		r = buf_printf(&tmp, "%.*s", (int)(slash - path), path);
		if (r < 0) {
			buf_printf(msg, "%s: %s", path, strerror(-r));
			return r;
		}
		dir = tmp.data;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		r = -errno;
		buf_printf(msg, "%s: written, but fsync of directory %s failed: %s", path, dir,
		           strerror(-r));
	}
	if (dfd >= 0)
		close(dfd);
	buf_done(&tmp);
	return r;
}

static int
write_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct write_step *s = instance;
	struct buf data = { 0 }, msg = { 0 };
	int r;

	r = subst_expand(host, h, s->template, &data);
	if (r < 0) {
		host->set_message(h, "cannot expand template: %s", strerror(-r));
		buf_done(&data);
		return GINI_FAILURE;
	}
	r = write_atomic(s->path, buf_str(&data), data.len, s->mode, &msg);
	if (r < 0)
		host->set_message(h, "%s", buf_str(&msg));
	else
		host->set_message(h, "wrote %zu bytes to %s", data.len, s->path);
	buf_done(&msg);
	buf_done(&data);
	return r < 0 ? GINI_FAILURE : GINI_SUCCESS;
}

static int
write_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct write_step *s = instance;
	struct buf data = { 0 };
	int r;

	r = subst_expand(host, h, s->template, &data);
	if (r == 0)
		host->set_message(h, "would write %zu bytes to %s", data.len, s->path);
	buf_done(&data);
	return r;
}

static const struct gini_stage_descriptor write_stage = {
	GINI_DESCRIPTOR_HEADER,
	.flags = GINI_STAGE_DRY_RUN,
	.id = "write",
	.version = "1.0.0",
	.summary = "Write a file from a template with ${key} values, atomically",
	.category = "io",
	.create = write_create,
	.destroy = write_destroy,
	.run = write_run,
	.describe = write_describe,
};

GINI_STAGE(write_stage)
