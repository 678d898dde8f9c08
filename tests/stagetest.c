/* SPDX-License-Identifier: MIT */
/*
 * A minimal host for tests (see stagetest.h), written against
 * <gini/stage.h> alone, so the bundled plugins are tested through the
 * public ABI and nothing of the daemon's executor leaks into what they may
 * rely on. This half loads a plugin, keeps the params of a step, and makes
 * the calls (run, describe and check on a fresh thread with every signal
 * blocked, with their cancellation); the host table they call back into is
 * stagetest_host.c.
 *
 * Locking: one mutex per struct stagetest guards the params' read marks,
 * the context, the log and each handle's message, because host functions
 * may be called from any thread the plugin likes. It is never held while a
 * plugin callback runs, so a plugin may call back into the host freely.
 */
#include "stagetest_host.h"
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

/* The cancel-when-file-exists watcher gives up waiting after this long. */
#define HANG_GUARD_MS 60000

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
	struct stagetest *t = stagetest_xmalloc(sizeof(*t));

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
		r = t->desc->load(&stagetest_host, &h);
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
		t->desc->unload(&stagetest_host, &h);
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
	*q = (struct param){ .name = stagetest_xstrdup(name) };
	return q;
}

void
stagetest_param_string(struct stagetest *t, const char *name, const char *value)
{
	struct param *q = param_slot(t, name);

	q->type = P_STRING;
	q->string = stagetest_xstrdup(value);
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
	q->strv = stagetest_xmalloc(sizeof(char *));
	va_start(ap, name);
	while ((s = va_arg(ap, const char *))) {
		char **v = realloc(q->strv, (q->n + 2) * sizeof(char *));

		ck_assert_ptr_nonnull(v);
		q->strv = v;
		q->strv[q->n++] = stagetest_xstrdup(s);
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
	stagetest_creating = &h;
	r = t->desc->create(&stagetest_host, &h, &t->params, &instance);
	stagetest_creating = NULL;
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
		t->desc->destroy(&stagetest_host, &h, t->instance);
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
	r = stagetest_ctx_set_locked(t, NULL, key, value);
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
	i = stagetest_ctx_find_locked(t, key, &found);
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
	t->cancel_path = stagetest_xstrdup(path);
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
	uint64_t start = stagetest_monotonic_usec();
	bool fire = false;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint64_t now = stagetest_monotonic_usec(), elapsed_ms = (now - start) / 1000;
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
		c->result = d->run(&stagetest_host, c->h, c->t->instance);
		break;
	case CALL_DESCRIBE:
		c->result = d->describe(&stagetest_host, c->h, c->t->instance);
		break;
	case CALL_CHECK:
		c->result = d->check(&stagetest_host, c->h, c->t->instance);
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
			cancel.deadline =
			        stagetest_monotonic_usec() + (uint64_t)t->cancel_ms * 1000;
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
