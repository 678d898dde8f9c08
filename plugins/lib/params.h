/* SPDX-License-Identifier: MIT */
/*
 * Reading a step's params in create(), for the bundled plugins.
 *
 * create() reads every param it accepts before it validates any of them:
 * the host reports a param that create() never asked for as unknown, and a
 * step rejected for its first bad param should not also be told that the
 * params after it are unknown. So a struct params_reader keeps the first
 * error and the readers keep going; create() checks pr.error once, after the
 * last read.
 *
 * Messages follow one shape, "param 'NAME': what is wrong". When the host
 * says a param has the wrong type it has a message of its own naming both
 * types, which it uses when create() sets none, so the readers set none then.
 */
#pragma once

#include <gini/stage.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct params_reader {
	const struct gini_host *host; /* borrowed */
	struct gini_handle *h;        /* borrowed, the create() call's handle */
	const struct gini_params *params;
	int error; /* first error, a negative errno value; 0 while all is well */
};

#define PARAMS_READER_INIT(host_, h_, params_)                                                     \
	{                                                                                          \
		.host = (host_), .h = (h_), .params = (params_), .error = 0                        \
	}

static inline int params_fail(struct params_reader *pr, int error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * Records error with a message, unless an earlier error was recorded (its
 * message is the one the operator sees). Returns error, so a caller can
 * `return params_fail(...)`.
 */
static inline int
params_fail(struct params_reader *pr, int error, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (pr->error < 0)
		return error;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr->host->set_message(pr->h, "%s", msg);
	pr->error = error;
	return error;
}

/*
 * The shared tail of every reader: 1 when present, 0 when absent, the
 * error otherwise (recorded in pr, without a message for a type mismatch:
 * see above).
 */
static inline int
params_result(struct params_reader *pr, const char *name, int r)
{
	if (r == 0)
		return 1;
	if (r == -ENOENT)
		return 0;
	if (r == -EINVAL) {
		if (pr->error == 0)
			pr->error = r;
		return r;
	}
	return params_fail(pr, r, "param '%s': %s", name, strerror(-r));
}

/* Each reader leaves *ret untouched unless the param is present and valid. */
static inline int
params_string(struct params_reader *pr, const char *name, const char **ret)
{
	return params_result(pr, name, pr->host->param_string(pr->params, name, ret));
}

/* A string that, when present, must not be empty. */
static inline int
params_nonempty_string(struct params_reader *pr, const char *name, const char **ret)
{
	const char *s = NULL;
	int r = params_string(pr, name, &s);

	if (r <= 0)
		return r;
	if (!*s) {
		params_fail(pr, -EINVAL, "param '%s': must not be empty", name);
		return -EINVAL;
	}
	*ret = s;
	return 1;
}

static inline int
params_strv(struct params_reader *pr, const char *name, const char *const **ret, size_t *ret_n)
{
	return params_result(pr, name, pr->host->param_strv(pr->params, name, ret, ret_n));
}

static inline int
params_duration(struct params_reader *pr, const char *name, uint64_t *ret_usec)
{
	return params_result(pr, name, pr->host->param_duration(pr->params, name, ret_usec));
}

/*
 * A string param that must be one of choices (a NULL-terminated list);
 * *ret_index is its position there.
 */
static inline int
params_choice(struct params_reader *pr, const char *name, const char *const *choices,
              int *ret_index)
{
	const char *s = NULL;
	char list[256] = "";
	size_t off = 0;
	int r = params_string(pr, name, &s);

	if (r <= 0)
		return r;
	for (int i = 0; choices[i]; i++)
		if (strcmp(s, choices[i]) == 0) {
			*ret_index = i;
			return 1;
		}
	for (int i = 0; choices[i] && off < sizeof(list); i++) {
		int n = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", choices[i]);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	return params_fail(pr, -EINVAL, "param '%s': '%s' is not one of %s", name, s, list);
}

/* Run context keys, as the host accepts them: [A-Za-z0-9_.-]{1,64}. */
#define CTX_KEY_MAX 64

static inline bool
ctx_key_valid(const char *key, size_t len)
{
	if (len == 0 || len > CTX_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* A string param naming a run context key. */
static inline int
params_ctx_key(struct params_reader *pr, const char *name, const char **ret)
{
	const char *s = NULL;
	int r = params_string(pr, name, &s);

	if (r <= 0)
		return r;
	if (!ctx_key_valid(s, strlen(s)))
		return params_fail(pr, -EINVAL,
		                   "param '%s': '%.80s' is not a valid context key "
		                   "(1 to 64 of A-Z a-z 0-9 _ . -)",
		                   name, s);
	*ret = s;
	return 1;
}

/*
 * A file mode written as a string of octal digits ("0640", "755"): as a
 * string because libconfig has no octal integers and reads 0640 as six
 * hundred and forty.
 */
static inline int
params_mode(struct params_reader *pr, const char *name, unsigned *ret_mode)
{
	const char *s = NULL;
	unsigned mode = 0;
	size_t len;
	int r = params_string(pr, name, &s);

	if (r <= 0)
		return r;
	len = strlen(s);
	if (len == 0 || len > 6 || strspn(s, "01234567") != len)
		return params_fail(pr, -EINVAL,
		                   "param '%s': '%.80s' is not an octal mode like \"0644\"", name,
		                   s);
	for (const char *p = s; *p; p++)
		mode = mode * 8 + (unsigned)(*p - '0');
	if (mode > 07777)
		return params_fail(pr, -EINVAL, "param '%s': '%s' is above 07777", name, s);
	*ret_mode = mode;
	return 1;
}

/* An absolute path. */
static inline int
params_abs_path(struct params_reader *pr, const char *name, const char **ret)
{
	const char *s = NULL;
	int r = params_nonempty_string(pr, name, &s);

	if (r <= 0)
		return r;
	if (s[0] != '/')
		return params_fail(pr, -EINVAL, "param '%s': '%.200s' is not an absolute path",
		                   name, s);
	*ret = s;
	return 1;
}

/* For params that must be given: call after reading, with the read's result. */
static inline void
params_require(struct params_reader *pr, const char *name, int read_result)
{
	if (read_result == 0)
		params_fail(pr, -EINVAL, "param '%s': is required", name);
}
