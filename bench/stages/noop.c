/* SPDX-License-Identifier: MIT */
/*
 * The bench stage: run() returns at once. Two optional params turn it into
 * a probe for the benchmarks that need one:
 *
 *   stamp = "PATH"  a FIFO the bench reads: run() first writes the
 *                   CLOCK_MONOTONIC time of its entry there (8 bytes, ns),
 *                   so the bench sees when a triggered run really started;
 *   spin  = "1ms"   run() then burns that much CPU time of its own thread,
 *                   for the CPU-bound fan-out (thread CPU time, so a step
 *                   costs the same work however the threads are scheduled).
 *
 * Without params the instance is NULL and run() is a bare return: the
 * dispatch benchmarks call exactly this function pointer as their floor.
 */
#include <gini/stage.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct noop {
	int fd;             /* the stamp FIFO, or -1 */
	uint64_t spin_usec; /* CPU time to burn, 0: none */
};

static uint64_t
clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
noop_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *params,
            void **ret_instance)
{
	const char *stamp = NULL;
	uint64_t spin = 0;
	struct noop *n;
	int r;

	r = host->param_string(params, "stamp", &stamp);
	if (r < 0 && r != -ENOENT)
		return r;
	r = host->param_duration(params, "spin", &spin);
	if (r < 0 && r != -ENOENT)
		return r;
	if (!stamp && !spin)
		return 0; /* the bare no-op: instance NULL */
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->fd = -1;
	n->spin_usec = spin;
	if (stamp) {
		/* Non-blocking: a bench that went away must not hang a worker. */
		n->fd = open(stamp, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (n->fd < 0) {
			r = -errno;
			host->set_message(h, "cannot open stamp FIFO %s", stamp);
			free(n);
			return r;
		}
	}
	*ret_instance = n;
	return 0;
}

static void
noop_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct noop *n = instance;

	(void)host;
	(void)h;
	if (!n)
		return;
	if (n->fd >= 0)
		close(n->fd);
	free(n);
}

static int
noop_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct noop *n = instance;

	(void)host;
	(void)h;
	if (!n)
		return GINI_SUCCESS;
	if (n->fd >= 0) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		/* 8 bytes to a FIFO are written whole or not at all. */
		if (write(n->fd, &now, sizeof(now)) < 0)
			return GINI_FAILURE;
	}
	if (n->spin_usec) {
		uint64_t until = clock_ns(CLOCK_THREAD_CPUTIME_ID) + n->spin_usec * 1000u;
		uint64_t x = 0;

		while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < until)
			for (unsigned i = 0; i < 1000; i++) {
				x += i;
				/* Keeps the compiler from folding the loop away. */
				__asm__ volatile("" : "+r"(x));
			}
	}
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor noop = {
	GINI_DESCRIPTOR_HEADER,
	.id = "noop",
	.version = "1.0.0",
	.summary = "Bench stage: returns at once (optionally stamps its start or burns CPU)",
	.category = "bench",
	.flags = GINI_STAGE_CONCURRENT,
	.create = noop_create,
	.destroy = noop_destroy,
	.run = noop_run,
};

GINI_STAGE(noop)
