/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Private to the pipeline compiler, the files of one module: pipeline.c
 * (compiling, stages, params, isolation) and pipeline_dag.c (the graph).
 * Other modules use pipeline.h only.
 */

#include <stddef.h>

struct diags;
struct pipeline;
struct pipeline_def;

/*
 * Resolves the steps' 'after' into pred/succ indices, reporting duplicate
 * step ids and unknown names. Returns the number of errors.
 */
size_t pipeline_dag_link(struct pipeline *p, const struct pipeline_def *def, struct diags *diags);
/*
 * Fills p->order and the steps' levels after pipeline_dag_link(); reports
 * each dependency cycle. Returns the number of errors.
 */
size_t pipeline_dag_order(struct pipeline *p, const struct pipeline_def *def, struct diags *diags);
