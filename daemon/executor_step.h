/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct run;
struct watcher;

/*
 * Runs the attempts of step i of r on this worker and fills its result,
 * watching each attempt's deadline with wt. Returns true if the step was
 * abandoned meanwhile (the watcher then finished it): the caller then owns
 * the reference the watcher took for this thread, and must drop it without
 * touching r otherwise.
 */
bool step_execute(struct watcher *wt, struct run *r, size_t i);
/* A dry run of step i: what it would do, and its health check. */
void step_dry(struct run *r, size_t i);
/* Replaces a result's message with msg (taken). */
struct step_result;
void step_set_message(struct step_result *res, char *msg);
