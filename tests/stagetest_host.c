/* SPDX-License-Identifier: MIT */
/*
 * The struct gini_host of the stand-alone test host (stagetest.h): what a
 * plugin calls back into during a test. Log lines and messages are kept for
 * the test to assert; the run context is a small sorted map with a real
 * host's limits; typed param accessors mark what create() read and say, as
 * the daemon does, when a param has the wrong type; cancellation is an
 * atomic flag, a deadline and an eventfd that stays readable once fired.
 * Durations go through the daemon's own parse_duration(), so a plugin test
 * accepts exactly what gini.conf does.
 *
 * Locking: t->lock (see stagetest.c) guards the params' read marks, the
 * context, the log and each handle's message; host functions may be called
 * from any thread the plugin likes.
 */
#include "stagetest_host.h"
#include "util.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Limits of the context, in the spirit of a real host's. */
#define CTX_KEY_MAX   64
#define CTX_VALUE_MAX ((size_t)4 * 1024 * 1024)
#define CTX_KEYS_MAX  1024

static const char *const param_type_names[] = {
	[P_STRING] = "string",        [P_INT] = "integer",   [P_BOOL] = "boolean",
	[P_STRV] = "list of strings", [P_DOUBLE] = "number",
};

void *
stagetest_xmalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

char *
stagetest_xstrdup(const char *s)
{
	char *p = strdup(s);

	ck_assert_ptr_nonnull(p);
	return p;
}

uint64_t
stagetest_monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- host functions ---------------------------------------------------- */

static void
host_logv(struct gini_handle *h, int level, const char *fmt, va_list ap)
{
	struct stagetest *t = h->t;
	struct log_line *v;
	char *text;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	if (getenv("STAGETEST_VERBOSE"))
		fprintf(stderr, "stagetest: <%d> %s\n", level, text);
	pthread_mutex_lock(&t->lock);
	v = realloc(t->log, (t->n_log + 1) * sizeof(*v));
	if (v) {
		t->log = v;
		t->log[t->n_log++] = (struct log_line){ .level = level, .text = text };
		text = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	free(text);
}

static void host_log(struct gini_handle *h, int level, const char *fmt, ...) GINI_PRINTF(3, 4);

static void
host_log(struct gini_handle *h, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_logv(h, level, fmt, ap);
	va_end(ap);
}

static void host_set_message(struct gini_handle *h, const char *fmt, ...) GINI_PRINTF(2, 3);

static void
host_set_message(struct gini_handle *h, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	pthread_mutex_lock(&h->t->lock);
	free(h->message);
	h->message = text;
	pthread_mutex_unlock(&h->t->lock);
}

static bool
ctx_key_valid(const char *key)
{
	size_t len = strlen(key);

	if (len == 0 || len > CTX_KEY_MAX)
		return false;
	return strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	       len;
}

/* Index of key, or of where it would go; *found says which. Lock held. */
size_t
stagetest_ctx_find_locked(struct stagetest *t, const char *key, bool *found)
{
	size_t lo = 0, hi = t->n_ctx;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t->ctx_keys[mid], key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/*
 * Sets or removes key. A replaced value goes to h's graveyard when h is
 * given, because a plugin may still hold it from ctx_get() until its
 * callback returns. Lock held.
 */
int
stagetest_ctx_set_locked(struct stagetest *t, struct gini_handle *h, const char *key,
                         const char *value)
{
	bool found;
	size_t i = stagetest_ctx_find_locked(t, key, &found);
	char *old = NULL, *copy = NULL, *key_copy = NULL;

	if (value) {
		if (strlen(value) > CTX_VALUE_MAX)
			return -E2BIG;
		if (!found && t->n_ctx >= CTX_KEYS_MAX)
			return -E2BIG;
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	if (found) {
		old = t->ctx_values[i];
		if (copy) {
			t->ctx_values[i] = copy;
		} else {
			free(t->ctx_keys[i]);
			memmove(t->ctx_keys + i, t->ctx_keys + i + 1,
			        (t->n_ctx - i - 1) * sizeof(char *));
			memmove(t->ctx_values + i, t->ctx_values + i + 1,
			        (t->n_ctx - i - 1) * sizeof(char *));
			t->n_ctx--;
		}
	} else if (copy) {
		char **k = realloc(t->ctx_keys, (t->n_ctx + 1) * sizeof(char *));
		char **v;

		if (k)
			t->ctx_keys = k;
		v = k ? realloc(t->ctx_values, (t->n_ctx + 1) * sizeof(char *)) : NULL;
		if (v)
			t->ctx_values = v;
		key_copy = v ? strdup(key) : NULL;
		if (!key_copy) {
			free(copy);
			return -ENOMEM;
		}
		memmove(t->ctx_keys + i + 1, t->ctx_keys + i, (t->n_ctx - i) * sizeof(char *));
		memmove(t->ctx_values + i + 1, t->ctx_values + i, (t->n_ctx - i) * sizeof(char *));
		t->ctx_keys[i] = key_copy;
		t->ctx_values[i] = copy;
		t->n_ctx++;
	}
	if (old && h) {
		char **g = realloc(h->graveyard, (h->n_graveyard + 1) * sizeof(char *));

		/* Out of memory: leak rather than free what the plugin may hold. */
		if (g) {
			h->graveyard = g;
			h->graveyard[h->n_graveyard++] = old;
		}
		old = NULL;
	}
	free(old);
	return 0;
}

static bool
ctx_allowed(struct gini_handle *h)
{
	return h->kind == CALL_RUN || h->kind == CALL_DESCRIBE;
}

static const char *
host_ctx_get(struct gini_handle *h, const char *key)
{
	struct stagetest *t = h->t;
	const char *value = NULL;
	bool found;
	size_t i;

	if (!ctx_allowed(h) || !key)
		return NULL;
	pthread_mutex_lock(&t->lock);
	i = stagetest_ctx_find_locked(t, key, &found);
	if (found)
		value = t->ctx_values[i];
	pthread_mutex_unlock(&t->lock);
	return value;
}

static int
host_ctx_set(struct gini_handle *h, const char *key, const char *value)
{
	struct stagetest *t = h->t;
	int r;

	if (!ctx_allowed(h))
		return -EPERM;
	if (!key || !ctx_key_valid(key))
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	r = stagetest_ctx_set_locked(t, h, key, value);
	pthread_mutex_unlock(&t->lock);
	return r;
}

static int
host_ctx_foreach(struct gini_handle *h,
                 int (*fn)(const char *key, const char *value, void *userdata), void *userdata)
{
	struct stagetest *t = h->t;
	char **keys, **values;
	size_t n;
	int r = 0;

	if (!ctx_allowed(h))
		return 0;
	/* A snapshot, so fn may call ctx_get() without the lock held. */
	pthread_mutex_lock(&t->lock);
	n = t->n_ctx;
	keys = calloc(n + 1, sizeof(char *));
	values = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; keys && values && i < n; i++) {
		keys[i] = strdup(t->ctx_keys[i]);
		values[i] = strdup(t->ctx_values[i]);
		if (!keys[i] || !values[i])
			r = -ENOMEM;
	}
	pthread_mutex_unlock(&t->lock);
	if (!keys || !values)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = fn(keys[i], values[i], userdata);
	for (size_t i = 0; keys && values && i < n; i++) {
		free(keys[i]);
		free(values[i]);
	}
	free(keys);
	free(values);
	return r;
}

/* Marks name read and returns it, or NULL when absent. */
static struct param *
param_lookup(const struct gini_params *p, const char *name)
{
	struct param *found = NULL;

	pthread_mutex_lock(&p->t->lock);
	for (size_t i = 0; i < p->n && !found; i++)
		if (strcmp(p->v[i].name, name) == 0) {
			found = &p->v[i];
			found->read = true;
		}
	pthread_mutex_unlock(&p->t->lock);
	return found;
}

/*
 * The handle of the create() in progress, for the host's own messages
 * about mistyped params: the param functions get no handle.
 */
_Thread_local struct gini_handle *stagetest_creating;

static void type_error(const char *fmt, ...) GINI_PRINTF(1, 2);

static void
type_error(const char *fmt, ...)
{
	struct gini_handle *h = stagetest_creating;
	va_list ap;
	char *text;
	int r;

	if (!h)
		return;
	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	free(h->type_error);
	h->type_error = text;
}

static int
param_typed(const struct gini_params *p, const char *name, enum param_type type, const char *want,
            struct param **ret)
{
	struct param *q = param_lookup(p, name);

	if (!q)
		return -ENOENT;
	if (q->type != type) {
		type_error("param '%s': expected %s, got %s", name, want,
		           param_type_names[q->type]);
		return -EINVAL;
	}
	*ret = q;
	return 0;
}

static int
host_param_string(const struct gini_params *p, const char *name, const char **ret)
{
	struct param *q;
	int r = param_typed(p, name, P_STRING, "string", &q);

	if (r == 0)
		*ret = q->string;
	return r;
}

static int
host_param_int(const struct gini_params *p, const char *name, int64_t *ret)
{
	struct param *q;
	int r = param_typed(p, name, P_INT, "integer", &q);

	if (r == 0)
		*ret = q->integer;
	return r;
}

static int
host_param_bool(const struct gini_params *p, const char *name, int32_t *ret)
{
	struct param *q;
	int r = param_typed(p, name, P_BOOL, "boolean", &q);

	if (r == 0)
		*ret = q->integer ? 1 : 0;
	return r;
}

/* ABI 1.1. As in the daemon, an integer reads as a number too. */
static int
host_param_double(const struct gini_params *p, const char *name, double *ret)
{
	struct param *q = param_lookup(p, name);

	if (!q)
		return -ENOENT;
	if (q->type != P_DOUBLE && q->type != P_INT) {
		type_error("param '%s': expected number, got %s", name, param_type_names[q->type]);
		return -EINVAL;
	}
	*ret = q->type == P_INT ? (double)q->integer : q->number;
	return 0;
}

static int
host_param_duration(const struct gini_params *p, const char *name, uint64_t *ret_usec)
{
	struct param *q = param_lookup(p, name);
	uint64_t usec;

	if (!q)
		return -ENOENT;
	if (q->type == P_INT) {
		if (q->integer < 0) {
			type_error("param '%s': a duration cannot be negative", name);
			return -EINVAL;
		}
		*ret_usec = (uint64_t)q->integer * 1000000;
		return 0;
	}
	if (q->type != P_STRING) {
		type_error("param '%s': expected duration, got %s", name,
		           param_type_names[q->type]);
		return -EINVAL;
	}
	if (parse_duration(q->string, &usec) < 0) {
		type_error("param '%s': '%s' is not a duration (like 500ms, 30s, 5m, 2h)", name,
		           q->string);
		return -EINVAL;
	}
	*ret_usec = usec;
	return 0;
}

static int
host_param_strv(const struct gini_params *p, const char *name, const char *const **ret,
                size_t *ret_n)
{
	struct param *q;
	int r = param_typed(p, name, P_STRV, "list of strings", &q);

	if (r == 0) {
		*ret = (const char *const *)q->strv;
		*ret_n = q->n;
	}
	return r;
}

static int32_t
host_cancelled(struct gini_handle *h)
{
	return h->cancel && atomic_load(&h->cancel->fired) ? 1 : 0;
}

static uint64_t
host_deadline(struct gini_handle *h)
{
	return h->cancel ? h->cancel->deadline : 0;
}

static int
host_cancel_fd(struct gini_handle *h)
{
	return h->cancel ? h->cancel->efd : -EBADF;
}

static int
host_sleep(struct gini_handle *h, uint64_t usec)
{
	uint64_t end = stagetest_monotonic_usec() + usec;

	for (;;) {
		uint64_t now = stagetest_monotonic_usec();
		struct pollfd pfd = { .fd = h->cancel ? h->cancel->efd : -1, .events = POLLIN };
		uint64_t left_ms;

		if (host_cancelled(h))
			return -ECANCELED;
		if (now >= end)
			return 0;
		left_ms = (end - now + 999) / 1000;
		poll(&pfd, 1, left_ms > 60000 ? 60000 : (int)left_ms);
	}
}

const struct gini_host stagetest_host = {
	.struct_size = sizeof(struct gini_host),
	.abi_major = GINI_ABI_MAJOR,
	.abi_minor = GINI_ABI_MINOR,
	.log = host_log,
	.logv = host_logv,
	.set_message = host_set_message,
	.ctx_get = host_ctx_get,
	.ctx_set = host_ctx_set,
	.ctx_foreach = host_ctx_foreach,
	.param_string = host_param_string,
	.param_int = host_param_int,
	.param_bool = host_param_bool,
	.param_duration = host_param_duration,
	.param_strv = host_param_strv,
	.cancelled = host_cancelled,
	.deadline = host_deadline,
	.cancel_fd = host_cancel_fd,
	.sleep = host_sleep,
	.param_double = host_param_double,
};
