/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The fixture that the configuration suites share (check_config*.c): a
 * fresh directory per test, a registry of stage types built into the test
 * binary, and helpers that load a config or compile a pipeline and assert
 * its diagnostics to the letter, file and line. Every TCase of those suites
 * is made with ct_tcase(), which installs ct_setup() and ct_teardown().
 */
#include "tests.h"

#include "config.h"
#include "diag.h"
#include "generation.h"

/* A step that is valid on its own, for pipelines whose steps are not the point. */
#define STEPS "steps = ( { id = \"a\"; stage = \"noop\"; } );"

extern char *ct_dir;               /* this test's directory, removed by teardown */
extern struct diags ct_diags;      /* what the last load or compile reported */
extern struct gini_config *ct_cfg; /* the last load */
extern struct registry *ct_reg;    /* builtin stage types */
extern struct generation *ct_gen;  /* the last ct_build() */
extern int ct_live;                /* instances made by create() and not destroyed */
/* What failure messages of ct_expect_diags() name instead of the caller\'s line
 * (a data file); NULL after setup. */
extern const char *ct_context;

/*
 * The builtin stage types, all of category "test": "noop", "check-path" and
 * "check-command" take no params; "exec" reads a typed param of every kind
 * and fails on the first of the wrong type; "strict" refuses every param
 * with a message of its own; "silent" fails without one.
 */

/* A new TCase of s with the fixture. */
TCase *ct_tcase(Suite *s, const char *name);

/* DIR/rel (rel as it is when absolute), in one of a ring of static buffers. */
const char *ct_at(const char *rel);
/* printf into one of a ring of static buffers (expected messages with paths). */
const char *ct_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
void ct_make_dir(const char *rel);
/* Writes DIR/rel, making its parent directories. */
void ct_put(const char *rel, const char *text);
/* Loads DIR/rel (with overrides) into ct_cfg; the diagnostics go to ct_diags. */
void ct_load_ov(const char *rel, const struct config_overrides *ov);
void ct_load(const char *rel);
/* Writes DIR/gini.conf and loads it. */
void ct_load_main(const char *text);
/* The pipeline_def called name in ct_cfg. */
struct pipeline_def *ct_def(const char *name);
/* Compiles the pipeline called name against the builtin registry. */
int ct_compile(const char *name);
/* cron_parse()'s own message for expr, which a config message must carry. */
const char *ct_cron_error(const char *expr);
/* The real test plugins good-a and good-b in DIR/plug, for generation_build. */
void ct_plugins(void);
/* Builds a generation from DIR/gini.conf into ct_gen (freed by teardown). */
struct generation *ct_build(void);

struct want {
	const char *file; /* relative to DIR (or absolute); NULL: none */
	int line;
	const char *msg;
};

/* Asserts that ct_diags holds exactly w, in order, then empties it.
 * at_line: the caller's line. */
void ct_expect_diags(const struct want *w, size_t n, int at_line);

#define expect(...)                                                                                \
	do {                                                                                       \
		const struct want w_[] = { __VA_ARGS__ };                                          \
		ct_expect_diags(w_, sizeof(w_) / sizeof(w_[0]), __LINE__);                         \
	} while (0)
#define expect_none() ct_expect_diags(NULL, 0, __LINE__)
