/* SPDX-License-Identifier: MIT */
/*
 * A minimal struct gini_host for tests (see stagetest.h). Written against
 * <gini/stage.h>, with its own small context map, so the bundled plugins
 * are tested through the public ABI and nothing of the daemon's executor
 * leaks into what they may rely on. Durations go through the daemon's own
 * parse_duration(), so a plugin test accepts exactly what gini.conf does.
 *
 * Locking: one mutex per struct stagetest guards the params' read marks,
 * the context, the log and each handle's message, because host functions
 * may be called from any thread the plugin likes. It is never held while a
 * plugin callback runs, so a plugin may call back into the host freely.
 */
#include "stagetest.h"
#include "util.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
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
/* The cancel-when-file-exists watcher gives up waiting after this long. */
#define HANG_GUARD_MS 60000

enum param_type { P_STRING, P_INT, P_BOOL, P_STRV, P_DOUBLE };

static const char *const param_type_names[] = {
	[P_STRING] = "string",        [P_INT] = "integer",   [P_BOOL] = "boolean",
	[P_STRV] = "list of strings", [P_DOUBLE] = "number",
};

/* One param; owned by the params array. */
struct param {
	char *name;
	enum param_type type;
	char *string;
	int64_t integer;
	double number;
	char **strv; /* NULL-terminated */
	size_t n;
	bool read;
};

struct gini_params {
	struct stagetest *t;
	struct param *v;
	size_t n;
};

enum call_kind { CALL_LOAD, CALL_CREATE, CALL_RUN, CALL_DESCRIBE, CALL_CHECK, CALL_OTHER };

/*
 * Cancellation of one call. efd is readable once fired; it is never read,
 * so it stays readable, as the ABI promises.
 */
struct cancel {
	atomic_bool fired;
	int efd;
	uint64_t deadline;
};

/* The handle of one callback; lives on the caller's stack. */
struct gini_handle {
	struct stagetest *t;
	enum call_kind kind;
	struct cancel *cancel;
	char *message;    /* set_message(), guarded by t->lock */
	char *type_error; /* the host's own message for a mistyped param */
	char **graveyard; /* context values replaced during the call */
	size_t n_graveyard;
};

struct log_line {
	int level;
	char *text;
};

struct stagetest {
	void *dl;
	const struct gini_stage_descriptor *desc;
	void *instance;
	bool has_instance;

	pthread_mutex_t lock;
	struct gini_params params;
	char **ctx_keys; /* sorted; values in ctx_values at the same index */
	char **ctx_values;
	size_t n_ctx;
	struct log_line *log;
	size_t n_log;
	char *message;

	/* Cancellation requested for the next run. */
	unsigned cancel_ms;
	char *cancel_path;
};

static void *
xmalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	ck_assert_ptr_nonnull(p);
	return p;
}

static uint64_t
monotonic_usec(void)
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
static size_t
ctx_find_locked(struct stagetest *t, const char *key, bool *found)
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
static int
ctx_set_locked(struct stagetest *t, struct gini_handle *h, const char *key, const char *value)
{
	bool found;
	size_t i = ctx_find_locked(t, key, &found);
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
	i = ctx_find_locked(t, key, &found);
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
	r = ctx_set_locked(t, h, key, value);
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
static _Thread_local struct gini_handle *creating;

static void type_error(const char *fmt, ...) GINI_PRINTF(1, 2);

static void
type_error(const char *fmt, ...)
{
	struct gini_handle *h = creating;
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
	uint64_t end = monotonic_usec() + usec;

	for (;;) {
		uint64_t now = monotonic_usec();
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

static const struct gini_host host = {
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

/* ---- calls --------------------------------------------------------------- */

static void
handle_init(struct gini_handle *h, struct stagetest *t, enum call_kind kind)
{
	*h = (struct gini_handle){ .t = t, .kind = kind };
	/* The message of an earlier call must not pass for this one's. */
	pthread_mutex_lock(&t->lock);
	free(t->message);
	t->message = NULL;
	pthread_mutex_unlock(&t->lock);
}

/* Keeps the call's message (or, for a failed create, the host's) in t. */
static void
handle_done(struct gini_handle *h, bool failed)
{
	struct stagetest *t = h->t;

	pthread_mutex_lock(&t->lock);
	free(t->message);
	t->message = h->message ? h->message : (failed ? h->type_error : NULL);
	if (t->message == h->type_error)
		h->type_error = NULL;
	else
		free(h->type_error);
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 0; i < h->n_graveyard; i++)
		free(h->graveyard[i]);
	free(h->graveyard);
	*h = (struct gini_handle){ 0 };
}

struct stagetest *
stagetest_open(const char *so_path)
{
	const struct gini_stage_descriptor *(*entry)(void);
	struct stagetest *t = xmalloc(sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	t->params.t = t;
	t->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(t->dl, "dlopen %s: %s", so_path, dlerror());
	*(void **)&entry = dlsym(t->dl, "stage_descriptor");
	ck_assert_msg(entry, "%s: no stage_descriptor: %s", so_path, dlerror());
	t->desc = entry();
	ck_assert_ptr_nonnull(t->desc);
	ck_assert_uint_eq(t->desc->abi_major, GINI_ABI_MAJOR);
	ck_assert_uint_le(t->desc->abi_minor, GINI_ABI_MINOR);
	ck_assert_uint_ge(t->desc->struct_size, sizeof(struct gini_stage_descriptor));
	ck_assert_ptr_nonnull(t->desc->create);
	ck_assert_ptr_nonnull(t->desc->run);
	if (t->desc->load) {
		struct gini_handle h;
		int r;

		handle_init(&h, t, CALL_LOAD);
		r = t->desc->load(&host, &h);
		handle_done(&h, r < 0);
		ck_assert_msg(r == 0, "%s: load: %d (%s)", so_path, r,
		              t->message ? t->message : "no message");
	}
	return t;
}

static void
params_clear(struct gini_params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].string);
		for (size_t j = 0; j < p->v[i].n; j++)
			free(p->v[i].strv[j]);
		free(p->v[i].strv);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

void
stagetest_close(struct stagetest *t)
{
	if (!t)
		return;
	stagetest_destroy(t);
	if (t->desc && t->desc->unload) {
		struct gini_handle h;

		handle_init(&h, t, CALL_LOAD);
		t->desc->unload(&host, &h);
		handle_done(&h, false);
	}
	if (t->dl)
		dlclose(t->dl);
	params_clear(&t->params);
	for (size_t i = 0; i < t->n_ctx; i++) {
		free(t->ctx_keys[i]);
		free(t->ctx_values[i]);
	}
	free(t->ctx_keys);
	free(t->ctx_values);
	stagetest_log_clear(t);
	free(t->message);
	free(t->cancel_path);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

const struct gini_stage_descriptor *
stagetest_descriptor(struct stagetest *t)
{
	return t->desc;
}

/* The param called name, emptied for a new value (appended if new). */
static struct param *
param_slot(struct stagetest *t, const char *name)
{
	struct gini_params *p = &t->params;
	struct param *q;

	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0) {
			q = &p->v[i];
			free(q->string);
			for (size_t j = 0; j < q->n; j++)
				free(q->strv[j]);
			free(q->strv);
			*q = (struct param){ .name = q->name };
			return q;
		}
	q = realloc(p->v, (p->n + 1) * sizeof(*q));
	ck_assert_ptr_nonnull(q);
	p->v = q;
	q = &p->v[p->n++];
	*q = (struct param){ .name = xstrdup(name) };
	return q;
}

void
stagetest_param_string(struct stagetest *t, const char *name, const char *value)
{
	struct param *q = param_slot(t, name);

	q->type = P_STRING;
	q->string = xstrdup(value);
}

void
stagetest_param_int(struct stagetest *t, const char *name, int64_t value)
{
	struct param *q = param_slot(t, name);

	q->type = P_INT;
	q->integer = value;
}

void
stagetest_param_bool(struct stagetest *t, const char *name, int value)
{
	struct param *q = param_slot(t, name);

	q->type = P_BOOL;
	q->integer = value ? 1 : 0;
}

void
stagetest_param_double(struct stagetest *t, const char *name, double value)
{
	struct param *q = param_slot(t, name);

	q->type = P_DOUBLE;
	q->number = value;
}

void
stagetest_param_duration(struct stagetest *t, const char *name, const char *text)
{
	stagetest_param_string(t, name, text);
}

void
stagetest_param_strv(struct stagetest *t, const char *name, ...)
{
	struct param *q = param_slot(t, name);
	const char *s;
	va_list ap;

	q->type = P_STRV;
	q->strv = xmalloc(sizeof(char *));
	va_start(ap, name);
	while ((s = va_arg(ap, const char *))) {
		char **v = realloc(q->strv, (q->n + 2) * sizeof(char *));

		ck_assert_ptr_nonnull(v);
		q->strv = v;
		q->strv[q->n++] = xstrdup(s);
		q->strv[q->n] = NULL;
	}
	va_end(ap);
}

const char *
stagetest_param_unread(struct stagetest *t)
{
	const char *name = NULL;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->params.n && !name; i++)
		if (!t->params.v[i].read)
			name = t->params.v[i].name;
	pthread_mutex_unlock(&t->lock);
	return name;
}

int
stagetest_create(struct stagetest *t)
{
	struct gini_handle h;
	void *instance = NULL;
	int r;

	stagetest_destroy(t);
	for (size_t i = 0; i < t->params.n; i++)
		t->params.v[i].read = false;
	handle_init(&h, t, CALL_CREATE);
	creating = &h;
	r = t->desc->create(&host, &h, &t->params, &instance);
	creating = NULL;
	handle_done(&h, r < 0);
	if (r == 0) {
		t->instance = instance;
		t->has_instance = true;
	} else {
		ck_assert_msg(r < 0, "create returned %d, neither 0 nor a negative errno", r);
		ck_assert_ptr_null(instance);
	}
	return r;
}

void
stagetest_destroy(struct stagetest *t)
{
	struct gini_handle h;

	if (!t->has_instance)
		return;
	if (t->desc->destroy) {
		handle_init(&h, t, CALL_OTHER);
		t->desc->destroy(&host, &h, t->instance);
		handle_done(&h, false);
	}
	t->instance = NULL;
	t->has_instance = false;
}

void
stagetest_ctx_set(struct stagetest *t, const char *key, const char *value)
{
	int r;

	pthread_mutex_lock(&t->lock);
	r = ctx_set_locked(t, NULL, key, value);
	pthread_mutex_unlock(&t->lock);
	ck_assert_int_eq(r, 0);
}

const char *
stagetest_ctx_get(struct stagetest *t, const char *key)
{
	const char *value = NULL;
	bool found;
	size_t i;

	pthread_mutex_lock(&t->lock);
	i = ctx_find_locked(t, key, &found);
	if (found)
		value = t->ctx_values[i];
	pthread_mutex_unlock(&t->lock);
	return value;
}

void
stagetest_cancel_after(struct stagetest *t, unsigned ms)
{
	t->cancel_ms = ms;
}

void
stagetest_cancel_when_exists(struct stagetest *t, const char *path)
{
	free(t->cancel_path);
	t->cancel_path = xstrdup(path);
}

/*
 * The canceller: a helper thread that fires the cancellation when its
 * condition is met, unless the call ends first (done, under lock).
 */
struct canceller {
	struct cancel *cancel;
	unsigned ms;
	const char *path;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void
cancel_fire(struct cancel *c)
{
	uint64_t one = 1;

	atomic_store(&c->fired, true);
	if (write(c->efd, &one, sizeof(one)) < 0) {
		/* An eventfd write only fails on overflow, which cannot happen here. */
	}
}

static void *
canceller_main(void *userdata)
{
	struct canceller *c = userdata;
	struct timespec until;
	uint64_t ms = c->path ? HANG_GUARD_MS : c->ms;
	uint64_t start = monotonic_usec();
	bool fire = false;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint64_t now = monotonic_usec(), elapsed_ms = (now - start) / 1000;
		uint64_t step_ms = c->path ? 5 : ms - elapsed_ms;

		if (c->done)
			break;
		if (c->path && access(c->path, F_OK) == 0) {
			fire = true;
			break;
		}
		if (elapsed_ms >= ms) {
			fire = true;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(step_ms / 1000);
		until.tv_nsec += (long)(step_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->cond, &c->lock, &until);
	}
	pthread_mutex_unlock(&c->lock);
	if (fire)
		cancel_fire(c->cancel);
	return NULL;
}

struct call {
	struct stagetest *t;
	struct gini_handle *h;
	enum call_kind kind;
	int result;
};

static void *
call_main(void *userdata)
{
	struct call *c = userdata;
	const struct gini_stage_descriptor *d = c->t->desc;

	switch (c->kind) {
	case CALL_RUN:
		c->result = d->run(&host, c->h, c->t->instance);
		break;
	case CALL_DESCRIBE:
		c->result = d->describe(&host, c->h, c->t->instance);
		break;
	case CALL_CHECK:
		c->result = d->check(&host, c->h, c->t->instance);
		break;
	default:
		c->result = -ENOSYS;
		break;
	}
	return NULL;
}

/*
 * Runs one callback on a worker thread with every signal blocked, the way
 * the daemon's workers run stage code, with its own cancellation state.
 */
static int
call_on_worker(struct stagetest *t, enum call_kind kind)
{
	struct cancel cancel = { .efd = -1 };
	struct canceller canceller = { .cancel = &cancel };
	struct call call = { .t = t, .kind = kind };
	pthread_t worker, helper;
	bool have_helper = false;
	sigset_t all, saved;
	struct gini_handle h;

	ck_assert_msg(t->has_instance, "no instance: call stagetest_create() first");
	cancel.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(cancel.efd, 0);
	handle_init(&h, t, kind);
	h.cancel = &cancel;
	call.h = &h;

	if (kind == CALL_RUN && (t->cancel_ms || t->cancel_path)) {
		canceller.ms = t->cancel_ms;
		canceller.path = t->cancel_path;
		if (t->cancel_ms && !t->cancel_path)
			cancel.deadline = monotonic_usec() + (uint64_t)t->cancel_ms * 1000;
		pthread_mutex_init(&canceller.lock, NULL);
		pthread_cond_init(&canceller.cond, NULL);
		ck_assert_int_eq(pthread_create(&helper, NULL, canceller_main, &canceller), 0);
		have_helper = true;
	}

	/* Threads inherit the creator's mask: block, create, restore. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	ck_assert_int_eq(pthread_create(&worker, NULL, call_main, &call), 0);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	pthread_join(worker, NULL);

	if (have_helper) {
		pthread_mutex_lock(&canceller.lock);
		canceller.done = true;
		pthread_cond_signal(&canceller.cond);
		pthread_mutex_unlock(&canceller.lock);
		pthread_join(helper, NULL);
		pthread_cond_destroy(&canceller.cond);
		pthread_mutex_destroy(&canceller.lock);
		/* A cancellation is for one run only. */
		t->cancel_ms = 0;
		free(t->cancel_path);
		t->cancel_path = NULL;
	}
	handle_done(&h, false);
	close(cancel.efd);
	return call.result;
}

int
stagetest_run(struct stagetest *t)
{
	return call_on_worker(t, CALL_RUN);
}

int
stagetest_describe(struct stagetest *t)
{
	ck_assert_ptr_nonnull(t->desc->describe);
	return call_on_worker(t, CALL_DESCRIBE);
}

int
stagetest_check(struct stagetest *t)
{
	ck_assert_ptr_nonnull(t->desc->check);
	return call_on_worker(t, CALL_CHECK);
}

const char *
stagetest_message(struct stagetest *t)
{
	return t->message;
}

static bool
log_matches(const struct log_line *l, int level, const char *needle)
{
	return (level < 0 || l->level == level) && (!needle || strstr(l->text, needle));
}

size_t
stagetest_log_count(struct stagetest *t, int level, const char *needle)
{
	size_t n = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n_log; i++)
		if (log_matches(&t->log[i], level, needle))
			n++;
	pthread_mutex_unlock(&t->lock);
	return n;
}

const char *
stagetest_log_find(struct stagetest *t, int level, const char *needle)
{
	const char *found = NULL;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n_log && !found; i++)
		if (log_matches(&t->log[i], level, needle))
			found = t->log[i].text;
	pthread_mutex_unlock(&t->lock);
	return found;
}

void
stagetest_log_clear(struct stagetest *t)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n_log; i++)
		free(t->log[i].text);
	free(t->log);
	t->log = NULL;
	t->n_log = 0;
	pthread_mutex_unlock(&t->lock);
}
