/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * With GINI_DEBUG_STARTUP=1 in the environment, one line on standard error
 * per phase of start-up: "ginid: startup: MONOTONIC_US +MS PHASE", the
 * CLOCK_MONOTONIC time in microseconds (comparable with a launcher's own
 * clock, to see exec and dynamic loading) and the milliseconds since main().
 * Off after READY=1, and without the variable: one getenv() at the first
 * call, then nothing. Loop thread (start-up) only.
 */
void startup_trace(const char *phase);
/* The last stamp: READY=1 is out. Later calls print nothing. */
void startup_trace_done(const char *phase);
