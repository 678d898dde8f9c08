/* SPDX-License-Identifier: MIT */
/*
 * The dependency graph of a pipeline being compiled (pipeline.c): step ids
 * must be unique and every 'after' must name a step; the links become
 * predecessor and successor lists, and Kahn's algorithm gives the execution
 * order and levels. A cycle is reported whole, in execution order, at the
 * line of its first step.
 */
#include "pipeline_internal.h"

#include "diag.h"
#include "hashmap.h"
#include "pipeline.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many dependency cycles are printed per pipeline. */
#define CYCLES_REPORTED_MAX 10

/* Resolves 'after' into pred/succ indices. Returns the number of errors. */
size_t
pipeline_dag_link(struct pipeline *p, const struct pipeline_def *def, struct diags *diags)
{
	struct hashmap ids;
	size_t errors = 0;
	const char **names = calloc(p->n_steps + 1, sizeof(char *));

	hashmap_init(&ids);
	if (!names)
		return 1;
	for (size_t i = 0; i < p->n_steps; i++) {
		struct step *s = &p->steps[i];
		void *prev = hashmap_get(&ids, s->id);

		names[i] = s->id;
		if (prev) {
			size_t j = (size_t)(uintptr_t)prev - 1;

			diags_add(diags, def->file, s->line,
			          "pipeline '%s': step '%s': duplicate step id; first defined at "
			          "line %d",
			          p->name, s->id, p->steps[j].line);
			errors++;
			continue;
		}
		if (hashmap_put(&ids, s->id, (void *)(uintptr_t)(i + 1)) < 0)
			errors++;
	}
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct step_def *sd = &def->steps[i];
		struct step *s = &p->steps[i];

		s->pred = calloc(sd->n_after + 1, sizeof(size_t));
		s->n_pred = 0;
		if (!s->pred) {
			errors++;
			continue;
		}
		for (size_t k = 0; k < sd->n_after; k++) {
			void *v = hashmap_get(&ids, sd->after[k]);
			size_t j;
			bool dup = false;

			if (!v) {
				const char *hint = closest_match(sd->after[k], names, p->n_steps);

				diags_add(diags, def->file, s->line,
				          "pipeline '%s': step '%s': 'after' names unknown step "
				          "'%s'%s%s%s",
				          p->name, s->id, sd->after[k],
				          hint ? "; did you mean '" : "", hint ? hint : "",
				          hint ? "'?" : "");
				errors++;
				continue;
			}
			j = (size_t)(uintptr_t)v - 1;
			for (size_t m = 0; m < s->n_pred && !dup; m++)
				dup = s->pred[m] == j;
			if (!dup)
				s->pred[s->n_pred++] = j;
		}
	}
	/* Successor lists, sized by a counting pass. */
	for (size_t i = 0; i < p->n_steps; i++)
		for (size_t k = 0; k < p->steps[i].n_pred; k++)
			p->steps[p->steps[i].pred[k]].n_succ++;
	for (size_t i = 0; i < p->n_steps; i++) {
		p->steps[i].succ = calloc(p->steps[i].n_succ + 1, sizeof(size_t));
		if (!p->steps[i].succ)
			errors++;
		p->steps[i].succ_offset = p->n_edges;
		p->n_edges += p->steps[i].n_succ;
		p->steps[i].n_succ = 0;
	}
	for (size_t i = 0; i < p->n_steps && !errors; i++)
		for (size_t k = 0; k < p->steps[i].n_pred; k++) {
			struct step *pr = &p->steps[p->steps[i].pred[k]];

			pr->succ[pr->n_succ++] = i;
		}
	hashmap_done(&ids);
	free(names);
	return errors;
}

/*
 * Kahn's algorithm gives the order and the levels. Whatever it cannot order
 * lies on or behind a cycle; walking back along unordered predecessors from
 * such a step must revisit a step, and the walk between the two visits is a
 * cycle, printed in execution order.
 */
size_t
pipeline_dag_order(struct pipeline *p, const struct pipeline_def *def, struct diags *diags)
{
	size_t n = p->n_steps, head = 0, tail = 0, errors = 0, cycles = 0;
	size_t *indeg = calloc(n + 1, sizeof(size_t));
	size_t *seen_at = calloc(n + 1, sizeof(size_t));
	size_t *walk = calloc(n + 1, sizeof(size_t));
	bool *reported = calloc(n + 1, sizeof(bool));

	p->order = calloc(n + 1, sizeof(size_t));
	if (!indeg || !seen_at || !walk || !reported || !p->order) {
		errors = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		indeg[i] = p->steps[i].n_pred;
		if (indeg[i] == 0)
			p->order[tail++] = i;
	}
	while (head < tail) {
		struct step *s = &p->steps[p->order[head++]];

		for (size_t k = 0; k < s->n_succ; k++) {
			struct step *t = &p->steps[s->succ[k]];

			t->level = MAX(t->level, s->level + 1);
			p->n_levels = MAX(p->n_levels, t->level + 1);
			if (--indeg[s->succ[k]] == 0)
				p->order[tail++] = s->succ[k];
		}
	}
	if (n)
		p->n_levels = MAX(p->n_levels, 1);
	for (size_t start = 0; tail < n && start < n; start++) {
		size_t len = 0, v = start, first;
		char buf[1024];
		size_t off = 0;
		int line;

		if (indeg[start] == 0 || reported[start])
			continue;
		/* Walk back until a step repeats (seen_at holds 1-based positions). */
		memset(seen_at, 0, (n + 1) * sizeof(size_t));
		while (!seen_at[v] && !reported[v]) {
			size_t next = SIZE_MAX;

			seen_at[v] = ++len;
			walk[len - 1] = v;
			for (size_t k = 0; k < p->steps[v].n_pred; k++)
				if (indeg[p->steps[v].pred[k]] > 0) {
					next = p->steps[v].pred[k];
					break;
				}
			if (next == SIZE_MAX)
				break;
			v = next;
		}
		if (reported[v] || !seen_at[v])
			continue;
		/*
		 * walk[first .. len-1] is the cycle, against execution order.
		 * Print it in execution order, starting at the step defined
		 * first, which is also the line reported.
		 */
		first = seen_at[v] - 1;
		size_t clen = len - first, start_k = len - 1;

		line = p->steps[walk[len - 1]].line;
		for (size_t k = first; k < len; k++) {
			reported[walk[k]] = true;
			if (p->steps[walk[k]].line < line) {
				line = p->steps[walk[k]].line;
				start_k = k;
			}
		}
		for (size_t j = 0; j < clen; j++) {
			/* Execution order walks the cycle backwards from start_k. */
			size_t k = first + (start_k - first + clen - j) % clen;

			off += (size_t)snprintf(buf + off,
			                        off < sizeof(buf) ? sizeof(buf) - off : 0, "%s -> ",
			                        p->steps[walk[k]].id);
		}
		snprintf(buf + MIN(off, sizeof(buf)), off < sizeof(buf) ? sizeof(buf) - off : 0,
		         "%s", p->steps[walk[start_k]].id);
		errors++;
		if (cycles++ < CYCLES_REPORTED_MAX)
			diags_add(diags, def->file, line, "pipeline '%s': dependency cycle: %s",
			          p->name, buf);
	}
out:
	free(indeg);
	free(seen_at);
	free(walk);
	free(reported);
	return errors;
}
