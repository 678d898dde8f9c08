/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdio.h>
#include <time.h>

struct registry;
struct loader_report;
struct generation;
struct pipeline;
struct run;
struct trigger_def;

void report_stage_types(FILE *f, struct registry *reg, const struct loader_report *rep);
void report_triggers(FILE *f, const struct trigger_def *t, time_t now);
void report_pipelines(FILE *f, struct generation *g, time_t now);
/* The outcome of a dry run (run->dry_run), level by level. */
void report_dry_run(FILE *f, const struct run *r);
/* The per-step summary of a finished run. */
void report_run(FILE *f, const struct run *r);
