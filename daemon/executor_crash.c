/* SPDX-License-Identifier: MIT */
/*
 * The crash report of a worker thread. A worker that crashes in stage code
 * takes the daemon down (a plugin may have corrupted anything), but first
 * says which step did it: each worker keeps what it is running in
 * thread-local crash_ctx, and a fault handler on its own alternate stack
 * writes one line from it with write(2) alone, then re-raises the signal
 * with the default action, so the exit status and a core dump show the
 * real signal. Under ASan and TSan, which install their own fault handlers
 * and report with a stack trace, it is not installed.
 */
#include "executor_crash.h"

#include "executor_run.h"
#include "log.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Crash context: what this worker thread is running, for the fault handler.
 * Borrowed strings of the run's generation, valid while the step runs;
 * stage NULL while no stage code runs here.
 */
struct crash_ctx {
	const char *callback, *stage, *plugin, *pipeline, *step;
	uint64_t run_id;
};

static __thread struct crash_ctx crash_ctx;

void
crash_ctx_enter(const char *callback, const struct run *r, const struct step *s)
{
	crash_ctx.callback = callback;
	crash_ctx.plugin = s->type->path;
	crash_ctx.pipeline = r->pipeline->name;
	crash_ctx.step = s->id;
	crash_ctx.run_id = r->id;
	crash_ctx.stage = s->type->id;
	/* The handler runs on this thread: a compiler barrier is enough. */
	atomic_signal_fence(memory_order_seq_cst);
}

void
crash_ctx_leave(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	crash_ctx.stage = NULL;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CRASH_HANDLER 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CRASH_HANDLER 0
#endif
#endif
#ifndef CRASH_HANDLER
#define CRASH_HANDLER 1
#endif

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

/* Async-signal-safe appending: no stdio, no allocation. */
static size_t
crash_put(char *buf, size_t n, size_t size, const char *s)
{
	for (; s && *s && n + 1 < size; s++)
		buf[n++] = *s == '\n' ? ' ' : *s;
	return n;
}

static size_t
crash_put_u64(char *buf, size_t n, size_t size, uint64_t v)
{
	char d[24];
	size_t k = sizeof(d) - 1;

	d[k] = 0;
	do
		d[--k] = (char)('0' + v % 10);
	while ((v /= 10) && k > 0);
	return crash_put(buf, n, size, d + k);
}

static void
crash_handler(int sig, siginfo_t *si, void *uc)
{
	static const char *const names[] = {
		[SIGSEGV] = "SIGSEGV", [SIGBUS] = "SIGBUS",   [SIGILL] = "SIGILL",
		[SIGFPE] = "SIGFPE",   [SIGABRT] = "SIGABRT",
	};
	const struct crash_ctx *c = &crash_ctx;
	int saved = errno;

	(void)si;
	(void)uc;
	if (c->stage) {
		char buf[2048];
		size_t n = 0, size = sizeof(buf);

		/* Critical, for the journal; a terminal gets the bare line. */
		if (log_to_journal())
			n = crash_put(buf, n, size, "<2>");
		n = crash_put(buf, n, size, "run ");
		n = crash_put_u64(buf, n, size, c->run_id);
		n = crash_put(buf, n, size, ": pipeline '");
		n = crash_put(buf, n, size, c->pipeline);
		n = crash_put(buf, n, size, "': step '");
		n = crash_put(buf, n, size, c->step);
		n = crash_put(buf, n, size, "': stage '");
		n = crash_put(buf, n, size, c->stage);
		n = crash_put(buf, n, size, "' (plugin ");
		n = crash_put(buf, n, size, c->plugin);
		n = crash_put(buf, n, size, ") crashed the daemon with ");
		n = crash_put(buf, n, size,
		              sig < (int)(sizeof(names) / sizeof(names[0])) && names[sig]
		                      ? names[sig]
		                      : "a fatal signal");
		n = crash_put(buf, n, size, " in ");
		n = crash_put(buf, n, size, c->callback);
		n = crash_put(buf, n, size, "()");
		buf[n++] = '\n';
		(void)!write(STDERR_FILENO, buf, n);
	}
	/* SA_RESETHAND restored the default action: the signal, pending
	 * until we return (or the fault, repeated), ends the process. */
	(void)raise(sig);
	errno = saved;
}

static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void
crash_handler_install(void)
{
	struct sigaction sa = { .sa_sigaction = crash_handler,
		                .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		(void)sigaction(crash_signals[i], &sa, NULL);
}

void
crash_thread_init(struct crash_stack *cs)
{
	stack_t ss = { .ss_size = MAX((size_t)SIGSTKSZ, (size_t)65536) };
	sigset_t faults;

	cs->sp = NULL;
	if (!CRASH_HANDLER)
		return;
	/*
	 * The kernel delivers a fault that is blocked with the default action,
	 * bypassing the crash handler: unblock them here (they are
	 * synchronous, never the loop's). The handler runs on its own stack,
	 * so a stack overflow in a stage is reported too.
	 */
	ss.ss_sp = malloc(ss.ss_size);
	if (ss.ss_sp && sigaltstack(&ss, NULL) < 0) {
		free(ss.ss_sp);
		ss.ss_sp = NULL;
	}
	cs->sp = ss.ss_sp;
	sigemptyset(&faults);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		sigaddset(&faults, crash_signals[i]);
	pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
}

void
crash_thread_done(struct crash_stack *cs)
{
	if (cs->sp) {
		stack_t off = { .ss_flags = SS_DISABLE };

		(void)sigaltstack(&off, NULL);
		free(cs->sp);
		cs->sp = NULL;
	}
}

void
crash_handler_setup(void)
{
	if (CRASH_HANDLER)
		pthread_once(&crash_once, crash_handler_install);
}
