/* SPDX-License-Identifier: MIT */
#pragma once

#include <signal.h>

struct run;
struct step;

/* A worker thread's alternate signal stack, for the crash handler. */
struct crash_stack {
	void *sp; /* owned; NULL: none */
};

/* Installs the process-wide fault handler once (not under ASan/TSan). */
void crash_handler_setup(void);
/* On a worker thread, at its start and end: its alternate stack, and the
 * faults unblocked so that the handler sees them. */
void crash_thread_init(struct crash_stack *cs);
void crash_thread_done(struct crash_stack *cs);
/*
 * Around a call into stage code on this worker: what the fault handler
 * names if it crashes. r and s (borrowed) stay valid while the call runs.
 */
void crash_ctx_enter(const char *callback, const struct run *r, const struct step *s);
void crash_ctx_leave(void);
