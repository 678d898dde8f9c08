/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the executor's unit suites (check_executor.c, check_failure.c)
 * share: a registry of stage types built into the test, one pipeline
 * compiled from a configuration text, an executor, and runs submitted and
 * waited for. One fixture at a time: xf_setup() in a TCase's setup,
 * xf_teardown() in its teardown.
 */
#include <gini/stage.h>

#include <stddef.h>

#include "executor.h"

struct exec_fixture {
	struct registry *reg;
	struct gini_config *cfg;
	struct pipeline *pl; /* the compiled pipeline, from cfg */
	struct executor *ex; /* made by xf_run(), or by the test */
};
extern struct exec_fixture xf;

/* A registry with a stage type for each descriptor. */
void xf_setup(const struct gini_stage_descriptor *const *descs, size_t n);
void xf_teardown(void);
/* Frees xf.pl and xf.cfg, then compiles the one pipeline of text into them;
 * fails the test on any error. */
struct pipeline *xf_compile(const char *text);
/* A run's on_done that counts ends; xf_wait_done(n) waits for n of them
 * since xf_setup(). */
void xf_on_done(struct run *r, void *userdata);
void xf_wait_done(int n);
/* Runs xf.pl once on xf.ex (made with workers threads if there is none)
 * and waits for its end. */
struct run *xf_run(unsigned workers);
/* The result of step id in r; fails the test if there is no such step. */
const struct step_result *xf_result(struct run *r, const char *id);
