/* SPDX-License-Identifier: MIT */
/*
 * Start-up phase stamps for GINI_DEBUG_STARTUP=1 (ginid(8), ENVIRONMENT):
 * a cheap, permanent way to see where the time before READY=1 goes, with
 * no profiler. Written with one write(2) each, straight to standard error,
 * so that a stamp costs what it measures as little as possible.
 */
#include "startup_trace.h"

#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int enabled = -1; /* -1: not looked at yet */
static uint64_t first_usec;

void
startup_trace(const char *phase)
{
	char line[256];
	uint64_t t;
	int n;

	if (enabled < 0) {
		const char *v = getenv("GINI_DEBUG_STARTUP");

		enabled = v && *v && strcmp(v, "0") != 0;
	}
	if (!enabled)
		return;
	t = now_usec(CLOCK_MONOTONIC);
	if (!first_usec)
		first_usec = t;
	n = snprintf(line, sizeof(line), "ginid: startup: %llu +%.3f %s\n", (unsigned long long)t,
	             (double)(t - first_usec) / 1000.0, phase);
	if (n > 0)
		(void)!write(STDERR_FILENO, line,
		             (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void
startup_trace_done(const char *phase)
{
	startup_trace(phase);
	enabled = 0;
}
