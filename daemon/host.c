/* SPDX-License-Identifier: MIT */
/*
 * The host services table: what plugins may ask of the daemon. Each function
 * interprets the opaque handle as the struct gini_handle its caller filled
 * in, so the same table serves load hooks, create() and run() on any thread.
 * Logging goes through log.c with a tag naming the plugin or the pipeline,
 * step and run; the context and params calls forward to their owners;
 * cancellation is a flag, a condition variable for sleep() and, on demand,
 * an eventfd for stages that poll.
 */
#include "host.h"

#include "context.h"
#include "log.h"
#include "output.h"
#include "params.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

void
cancel_init(struct cancel *c, uint64_t deadline)
{
	pthread_condattr_t attr;

	atomic_init(&c->fired, false);
	c->deadline = deadline;
	c->efd = -1;
	c->efd_lent = false;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &attr);
	pthread_condattr_destroy(&attr);
}

void
cancel_done(struct cancel *c)
{
	if (c->efd >= 0 && !c->efd_lent)
		close(c->efd);
	c->efd = -1;
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

void
cancel_fire(struct cancel *c)
{
	pthread_mutex_lock(&c->lock);
	if (!atomic_exchange(&c->fired, true)) {
		pthread_cond_broadcast(&c->cond);
		if (c->efd >= 0)
			(void)eventfd_write(c->efd, 1);
	}
	pthread_mutex_unlock(&c->lock);
}

void
handle_init(struct gini_handle *h)
{
	*h = (struct gini_handle){ 0 };
}

void
handle_done(struct gini_handle *h)
{
	free(h->message);
	h->message = NULL;
}

char *
handle_steal_message(struct gini_handle *h)
{
	return steal_ptr(h->message);
}

const char *
handle_tag(const struct gini_handle *h, char *buf, size_t size)
{
	if (h->pipeline && h->step && h->run_id)
		snprintf(buf, size,
		         "run %llu: pipeline '%s': step '%s': ", (unsigned long long)h->run_id,
		         h->pipeline, h->step);
	else if (h->pipeline && h->step)
		snprintf(buf, size, "pipeline '%s': step '%s': ", h->pipeline, h->step);
	else if (h->plugin)
		snprintf(buf, size, "plugin %s: ", h->plugin);
	else if (h->stage)
		snprintf(buf, size, "stage '%s': ", h->stage);
	else
		buf[0] = 0;
	return buf;
}

static void
host_logv(struct gini_handle *h, int level, const char *fmt, va_list ap)
{
	char tag[512], msg[3072];
	bool formatted = false;

	if (level < LOG_ERR)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	/* The step's output keeps every line, whatever the log shows: its own
	 * bound keeps the tail (output.h). */
	if (h->output && h->output->max) {
		va_list aq;

		va_copy(aq, ap);
		vsnprintf(msg, sizeof(msg), fmt ? fmt : "(null)", aq);
		va_end(aq);
		output_add(h->output, level, msg);
		formatted = true;
	}
	if (level > log_get_level())
		return;
	/* A plugin in a loop must not drown the log: cap lines per call. */
	if (h->log_lines == HOST_LOG_LINES_MAX) {
		h->log_lines++;
		log_warn("%ssuppressing further log lines from this call",
		         handle_tag(h, tag, sizeof(tag)));
		return;
	}
	if (h->log_lines > HOST_LOG_LINES_MAX)
		return;
	h->log_lines++;
	if (!formatted)
		vsnprintf(msg, sizeof(msg), fmt ? fmt : "(null)", ap);
	log_full(level, "%s%s", handle_tag(h, tag, sizeof(tag)), msg);
}

static void
host_log(struct gini_handle *h, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_logv(h, level, fmt, ap);
	va_end(ap);
}

static void
host_set_message(struct gini_handle *h, const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt ? fmt : "(null)", ap) < 0)
		m = NULL;
	va_end(ap);
	if (!m)
		return;
	/* Messages are single lines in tables and logs. */
	for (char *p = m; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	free(h->message);
	h->message = m;
}

static const char *
host_ctx_get(struct gini_handle *h, const char *key)
{
	return h->ctx ? ctx_get(h->ctx, key) : NULL;
}

static int
host_ctx_set(struct gini_handle *h, const char *key, const char *value)
{
	return h->ctx ? ctx_set(h->ctx, key, value) : -EPERM;
}

static int
host_ctx_foreach(struct gini_handle *h,
                 int (*fn)(const char *key, const char *value, void *userdata), void *userdata)
{
	return h->ctx && fn ? ctx_foreach(h->ctx, fn, userdata) : 0;
}

static int32_t
host_cancelled(struct gini_handle *h)
{
	return cancel_fired(h->cancel) ? 1 : 0;
}

static uint64_t
host_deadline(struct gini_handle *h)
{
	return h->cancel ? h->cancel->deadline : 0;
}

static int
host_cancel_fd(struct gini_handle *h)
{
	return h->cancel ? cancel_get_fd(h->cancel) : -EOPNOTSUPP;
}

int
cancel_get_fd(struct cancel *c)
{
	int fd;

	pthread_mutex_lock(&c->lock);
	if (c->efd < 0) {
		c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->efd >= 0 && atomic_load(&c->fired))
			(void)eventfd_write(c->efd, 1);
	}
	fd = c->efd >= 0 ? c->efd : -errno;
	pthread_mutex_unlock(&c->lock);
	return fd;
}

int
cancel_lend_fd(struct cancel *c, int fd)
{
	pthread_mutex_lock(&c->lock);
	if (c->efd < 0) {
		c->efd = fd;
		c->efd_lent = true;
		if (atomic_load(&c->fired))
			(void)eventfd_write(fd, 1);
	}
	fd = c->efd;
	pthread_mutex_unlock(&c->lock);
	return fd;
}

void
cancel_return_fd(struct cancel *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->efd_lent) {
		c->efd = -1;
		c->efd_lent = false;
	}
	pthread_mutex_unlock(&c->lock);
}

static int
host_sleep(struct gini_handle *h, uint64_t usec)
{
	struct cancel *c = h->cancel;
	uint64_t until = now_usec(CLOCK_MONOTONIC) + usec;
	struct timespec ts = { .tv_sec = (time_t)(until / USEC_PER_SEC),
		               .tv_nsec = (long)(until % USEC_PER_SEC) * 1000 };
	int r = 0;

	if (!c) {
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	while (!atomic_load(&c->fired)) {
		int k = pthread_cond_timedwait(&c->cond, &c->lock, &ts);

		if (k == ETIMEDOUT)
			break;
	}
	if (atomic_load(&c->fired))
		r = -ECANCELED;
	pthread_mutex_unlock(&c->lock);
	return r;
}

const struct gini_host host_services = {
	.struct_size = sizeof(struct gini_host),
	.abi_major = GINI_ABI_MAJOR,
	.abi_minor = GINI_ABI_MINOR,
	.log = host_log,
	.logv = host_logv,
	.set_message = host_set_message,
	.ctx_get = host_ctx_get,
	.ctx_set = host_ctx_set,
	.ctx_foreach = host_ctx_foreach,
	.param_string = params_get_string,
	.param_int = params_get_int,
	.param_bool = params_get_bool,
	.param_duration = params_get_duration,
	.param_strv = params_get_strv,
	.cancelled = host_cancelled,
	.deadline = host_deadline,
	.cancel_fd = host_cancel_fd,
	.sleep = host_sleep,
	.param_double = params_get_double,
};
