/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * Concurrency groups (concurrency_groups, concurrency_group): how many runs
 * of each group are in flight, and which pipelines wait for a slot, first
 * come first served. Loop thread only. Limits come from the configuration
 * at each take, so a reload that changes them needs nothing here.
 */
struct concurrency;

struct concurrency *concurrency_new(void);
struct concurrency *concurrency_free(struct concurrency *c);
/* Takes a slot of group if fewer than limit are taken: true, else false. */
bool concurrency_take(struct concurrency *c, const char *group, unsigned limit);
/* A run that held a slot of group ended. */
void concurrency_release(struct concurrency *c, const char *group);
/* Runs of group in flight. */
unsigned concurrency_running(struct concurrency *c, const char *group);
/* Pipeline waits for a slot of group, once (a second wait is ignored). 0 or -ENOMEM. */
int concurrency_wait(struct concurrency *c, const char *group, const char *pipeline);
/* The pipeline that waited longest for group, taken off the list (the caller
 * frees it); NULL if none waits. */
char *concurrency_next(struct concurrency *c, const char *group);
