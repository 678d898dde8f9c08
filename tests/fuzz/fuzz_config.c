/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the configuration compiler: arbitrary bytes as the main
 * configuration file, through libconfig, config.c's reading and checks,
 * pipeline.c's DAG compilation against a registry of the bundled stages
 * (their real create(), linked in), describe() of every created step, and
 * the error reporter. A NUL byte in the input starts another file: the first
 * part is the main file, each further one an include file (the contents of
 * pipelines.d), so pairs of files and duplicate names across them are
 * covered. Everything stays in memory: config_load_texts() reads no file.
 *
 * Invariants checked: every diagnostic formats as one printable line; a
 * pipeline that compiled is a DAG whose topological order and levels agree
 * with its edges; every instance create() made is destroyed (the sanitizers
 * see the leaks and use-after-frees).
 */
#include "fuzz.h"

#include "config.h"
#include "context.h"
#include "diag.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <gini/stage.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bundled stages, compiled in with their entry points renamed. */
const struct gini_stage_descriptor *fuzz_stage_exec(void);
const struct gini_stage_descriptor *fuzz_stage_log(void);
const struct gini_stage_descriptor *fuzz_stage_sleep(void);
const struct gini_stage_descriptor *fuzz_stage_fail(void);
const struct gini_stage_descriptor *fuzz_stage_write(void);
const struct gini_stage_descriptor *fuzz_stage_check_path(void);
const struct gini_stage_descriptor *fuzz_stage_check_command(void);

static int
nop_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_SUCCESS;
}

/* A stage without create(): it takes no params. */
static const struct gini_stage_descriptor noop_stage = {
	GINI_DESCRIPTOR_HEADER,    .id = "noop",       .version = "1.0.0",
	.summary = "Does nothing", .category = "test", .run = nop_run,
};

static struct registry *reg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct gini_stage_descriptor *all[] = {
		fuzz_stage_exec(),          fuzz_stage_log(),   fuzz_stage_sleep(),
		fuzz_stage_fail(),          fuzz_stage_write(), fuzz_stage_check_path(),
		fuzz_stage_check_command(), &noop_stage,
	};

	(void)argc;
	(void)argv;
	/* Stages log nothing in create(), but keep the output quiet anyway. */
	log_set_level(LOG_ERR);
	reg = registry_new();
	if (!reg)
		abort();
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		char reason[256];
		struct stage_type *t;

		if (descriptor_validate(all[i], reason, sizeof(reason)) < 0)
			fuzz_fail("builtin stage %zu: %s", i, reason);
		t = stage_type_new(all[i], NULL, NULL);
		if (!t || registry_add(reg, t) < 0)
			abort();
		stage_type_unref(t);
	}
	return 0;
}

static void
check_diags(const struct diags *d)
{
	char buf[4096], tiny[8];

	for (size_t i = 0; i < d->n; i++) {
		diag_format(&d->v[i], buf, sizeof(buf));
		diag_format(&d->v[i], tiny, sizeof(tiny));
		fuzz_assert_one_line("diagnostic", buf);
		if (!d->v[i].msg || !d->v[i].msg[0])
			fuzz_fail("diagnostic %zu has an empty message", i);
	}
}

/* The compiled DAG agrees with itself. */
static void
check_pipeline(const struct pipeline *p)
{
	bool *seen = calloc(p->n_steps + 1, sizeof(bool));
	size_t *pos = calloc(p->n_steps + 1, sizeof(size_t));
	size_t edges = 0;

	if (!seen || !pos)
		abort();
	if (p->n_steps == 0)
		fuzz_fail("pipeline '%s' compiled without steps", p->name);
	for (size_t k = 0; k < p->n_steps; k++) {
		size_t i = p->order[k];

		if (i >= p->n_steps || seen[i])
			fuzz_fail("pipeline '%s': order is not a permutation", p->name);
		seen[i] = true;
		pos[i] = k;
	}
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct step *s = &p->steps[i];

		if (pipeline_find_step(p, s->id) != (long)i)
			fuzz_fail("pipeline '%s': step '%s' is not found at its index", p->name,
			          s->id);
		if (s->level >= p->n_levels)
			fuzz_fail("pipeline '%s': step '%s' beyond the last level", p->name, s->id);
		if (s->n_pred == 0 && s->level != 0)
			fuzz_fail("pipeline '%s': root step '%s' not on level 0", p->name, s->id);
		if (s->enabled && !s->type)
			fuzz_fail("pipeline '%s': enabled step '%s' has no stage type", p->name,
			          s->id);
		for (size_t k = 0; k < s->n_pred; k++) {
			const struct step *pr = &p->steps[s->pred[k]];

			if (s->pred[k] >= p->n_steps || pos[s->pred[k]] >= pos[i] ||
			    pr->level >= s->level)
				fuzz_fail("pipeline '%s': edge %s -> %s breaks the order", p->name,
				          pr->id, s->id);
		}
		edges += s->n_succ;
	}
	if (edges != p->n_edges)
		fuzz_fail("pipeline '%s': %zu edges counted, %zu recorded", p->name, edges,
		          p->n_edges);
	free(seen);
	free(pos);
}

/* describe() of every created step, as a dry run would, with some context. */
static void
describe_steps(const struct pipeline *p)
{
	struct run_ctx *ctx = ctx_new();

	if (!ctx)
		abort();
	(void)ctx_set(ctx, "kernel", "Linux 6.1");
	(void)ctx_set(ctx, "usage", "12%");
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct step *s = &p->steps[i];
		struct gini_handle h;

		if (!s->created || !s->type->desc->describe)
			continue;
		handle_init(&h);
		h.pipeline = p->name;
		h.step = s->id;
		h.stage = s->type->id;
		h.ctx = ctx;
		(void)s->type->desc->describe(&host_services, &h, s->instance);
		handle_done(&h);
	}
	ctx_free(ctx);
}

#define FILES_MAX 4

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[FILES_MAX] = {
		"/etc/gini/gini.conf",
		"/etc/gini/pipelines.d/10-a.conf",
		"/etc/gini/pipelines.d/20-b.conf",
		"/etc/gini/pipelines.d/30-c.conf",
	};
	struct config_text files[FILES_MAX];
	struct gini_config *cfg = NULL;
	struct diags d = { 0 };
	size_t n = 0;
	char *text;

	/*
	 * libconfig's @include reads whatever file it names, from the real
	 * file system: neither in memory nor repeatable. Not fuzzed here.
	 */
	if (memmem(data, size, "@include", 8))
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	/* Split at NUL bytes: the main file, then up to three include files. */
	for (char *p = text; n < FILES_MAX;) {
		files[n].name = names[n];
		files[n].text = p;
		n++;
		p += strlen(p);
		if (p == text + size)
			break;
		p++;
	}
	if (config_load_texts(&files[0], files + 1, n - 1, NULL, &cfg, &d) < 0)
		goto out;
	for (size_t i = 0; i < cfg->n_pipelines; i++) {
		struct pipeline *p = NULL;

		if (pipeline_compile(&cfg->pipelines[i], reg, &p, &d) == 0) {
			check_pipeline(p);
			describe_steps(p);
			p = pipeline_free(p);
		}
	}
	check_diags(&d);
out:
	diags_done(&d);
	config_free(cfg);
	free(text);
	return 0;
}
