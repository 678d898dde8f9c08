/* SPDX-License-Identifier: MIT */
/*
 * The environment of a program a stage starts (the exec stage's): what is
 * inherited, the run context exported as GINI_CTX_* variables, an
 * env_file in systemd's EnvironmentFile= syntax (envfile.h) and the step's
 * own NAME=VALUE entries, in that order of precedence. Header-only and
 * static inline, as plugins/lib/ is (see buf.h). Define _GNU_SOURCE before
 * including.
 */
#pragma once

#include <gini/stage.h>

#include "buf.h"
#include "envfile.h"
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define CTX_ENV_PREFIX "GINI_CTX_"
/* An env_file is configuration, not data: it is read whole, up to this. */
#define ENV_FILE_MAX ((size_t)1024 * 1024)

/*
 * The child's environment: a NULL-terminated array of owned "NAME=VALUE"
 * strings. Later settings replace earlier ones of the same name.
 */
struct envv {
	char **v;
	size_t n, cap;
};

static inline void
envv_done(struct envv *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

/* Takes ownership of entry, also on failure. */
static inline int
envv_put(struct envv *e, char *entry)
{
	size_t name_len = strcspn(entry, "=") + 1;

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], entry, name_len) == 0) {
			free(e->v[i]);
			e->v[i] = entry;
			return 0;
		}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		char **v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			free(entry);
			return -ENOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
	return 0;
}

static inline int
envv_put_copy(struct envv *e, const char *entry)
{
	char *copy = strdup(entry);

	return copy ? envv_put(e, copy) : -ENOMEM;
}

static inline const char *
envv_get(const struct envv *e, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=')
			return e->v[i] + len + 1;
	return NULL;
}

/*
 * Context values exported to the child. The kernel refuses a single
 * environment string longer than MAX_ARG_STRLEN (32 pages) and an argv plus
 * environment past ARG_MAX (a quarter of the stack limit, usually 2 MiB) with
 * E2BIG, which would fail the exec for the sake of variables the program may
 * not even read. So a value that does not fit is left out, with a debug line:
 * large data belongs on stdin (stdin_key).
 */
#define CTX_ENV_ENTRY_MAX ((size_t)32 * 4096)
#define CTX_ENV_TOTAL_MAX ((size_t)1024 * 1024)

struct ctx_export {
	struct envv *env;
	size_t total;       /* bytes exported so far */
	struct buf skipped; /* keys left out, logged once the iteration is over */
};

/* ctx_foreach() callback: key "run.id" becomes GINI_CTX_RUN_ID. */
static inline int
envv_put_ctx(const char *key, const char *value, void *userdata)
{
	struct ctx_export *x = userdata;
	struct buf b = { 0 };
	size_t size = strlen(CTX_ENV_PREFIX) + strlen(key) + 1 + strlen(value) + 1;
	int r;

	if (size > CTX_ENV_ENTRY_MAX || x->total + size > CTX_ENV_TOTAL_MAX) {
		/* Only a debug line depends on it: a failure here changes nothing. */
		if (x->skipped.len < 1024)
			buf_printf(&x->skipped, "%s'%s' (%zu bytes)", x->skipped.len ? ", " : "",
			           key, strlen(value));
		return 0;
	}
	r = buf_puts(&b, CTX_ENV_PREFIX);
	for (const char *p = key; *p && r == 0; p++) {
		char c = *p;

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		r = buf_putc(&b, c);
	}
	if (r == 0)
		r = buf_printf(&b, "=%s", value);
	if (r < 0) {
		buf_done(&b);
		return r;
	}
	x->total += size;
	return envv_put(x->env, b.data);
}

/*
 * Variables that address the service manager on the daemon's behalf. A step
 * must not be able to tell systemd "READY=1" or ping the watchdog for the
 * daemon, nor take over sockets passed to it.
 */
static const char *const service_vars[] = {
	"NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC=",
	"LISTEN_FDS=",    "LISTEN_PID=",   "LISTEN_FDNAMES=",
};

static inline int
envv_inheritable(const char *var)
{
	if (strncmp(var, CTX_ENV_PREFIX, strlen(CTX_ENV_PREFIX)) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(service_vars) / sizeof(service_vars[0]); i++)
		if (strncmp(var, service_vars[i], strlen(service_vars[i])) == 0)
			return 0;
	return 1;
}

static inline int
envv_file_put(const char *key, const char *value, void *userdata)
{
	struct envv *e = userdata;
	char *entry = NULL;

	if (asprintf(&entry, "%s=%s", key, value) < 0)
		return -ENOMEM;
	return envv_put(e, entry);
}

/*
 * Reads the env_file at path into e, at each run, so that an edit needs no
 * reload. A regular file only (a FIFO must not hang the step), at most
 * ENV_FILE_MAX. A missing file is no error when optional. On -EINVAL msg
 * says why.
 */
static inline int
envv_read_file(const char *path, bool optional, struct envv *e, struct buf *msg)
{
	struct buf text = { .max = ENV_FILE_MAX };
	char err[256], chunk[8192];
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && optional)
			return 0;
		r = -errno;
		buf_printf(msg, "env_file %s: %s", path, strerror(-r));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_printf(msg, "env_file %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			buf_printf(msg, "env_file %s: %s", path, strerror(-r));
			break;
		}
		if (n == 0)
			break;
		r = buf_append(&text, chunk, (size_t)n);
		if (r < 0) {
			buf_printf(msg, "env_file %s: %s", path,
			           r == -E2BIG ? "larger than 1 MiB" : strerror(-r));
			break;
		}
	}
	close(fd);
	if (r == 0 && memchr(buf_str(&text), 0, text.len)) {
		buf_printf(msg, "env_file %s: holds a NUL byte", path);
		r = -EINVAL;
	}
	if (r == 0) {
		r = envfile_parse(buf_str(&text), envv_file_put, e, err, sizeof(err));
		if (r == -EINVAL)
			buf_printf(msg, "env_file %s:%s", path, err);
	}
	buf_done(&text);
	return r < 0 ? -EINVAL : 0;
}

/*
 * Inherited environment, minus GINI_CTX_* (so a daemon started from a step
 * does not pass its own run's values on) and the service manager's
 * variables, then the run context, then the env_file, then the step's env
 * param, which has the last word. -EINVAL: the env_file is bad (msg says
 * how). Keys that map to the same name ("a.b" and "a_b") leave the
 * value of the last in key order.
 */
static inline int
envv_build(const struct gini_host *host, struct gini_handle *h, const char *const *env,
           size_t n_env, const char *env_file, bool env_file_optional, struct envv *e,
           struct buf *msg)
{
	struct ctx_export x = { .env = e };
	int r = 0;

	for (char **p = environ; p && *p && r == 0; p++)
		if (envv_inheritable(*p))
			r = envv_put_copy(e, *p);
	if (r == 0)
		r = host->ctx_foreach(h, envv_put_ctx, &x);
	/* Logged here rather than in the callback, where the host may hold a lock. */
	if (x.skipped.len)
		host->log(h, GINI_LOG_DEBUG,
		          "context values too large for the environment, not exported: %s",
		          buf_str(&x.skipped));
	buf_done(&x.skipped);
	if (r == 0 && env_file)
		r = envv_read_file(env_file, env_file_optional, e, msg);
	for (size_t i = 0; i < n_env && r == 0; i++)
		r = envv_put_copy(e, env[i]);
	/* Programs the child runs by name need a PATH, even if we had none. */
	if (r == 0 && !envv_get(e, "PATH"))
		r = envv_put_copy(e, "PATH=" DEFAULT_PATH);
	return r;
}
