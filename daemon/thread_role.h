/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* How much lower than the daemon's own a background thread's priority is. */
#define THREAD_BACKGROUND_NICE 10

/*
 * Names the calling thread (at most 15 bytes are kept), and for a
 * background thread lowers its priority by THREAD_BACKGROUND_NICE (never
 * below 19). Never the main thread: its name is the process's. Best
 * effort: a failure changes nothing else.
 */
void thread_role(const char *name, bool background);
