/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The bench harness shared by the case files: options, the result table,
 * statistics, clocks and a few helpers. Every case measures gini and its
 * baselines side by side in the same repetition, so both see the same
 * machine noise; the table reports medians over repetitions with their
 * min/max, and the ratio gini/baseline of the medians.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bench {
	bool quick; /* BENCH_QUICK: smaller sizes, under a minute in all */
	bool smoke; /* `make check`: tiny sizes, one repetition, no targets */
	unsigned reps;
	unsigned cores;
	char *build_dir; /* absolute: build/, where ginid and the stages are */
	char *bench_dir; /* build/bench: our programs, plugins, generated files */
	/* /tmp/gini-bench.XXXXXX: this run's scratch, removed after. Short and
	 * outside the checkout, whose path may be too long for a socket's. */
	char *work_dir;
	struct row **rows;
	size_t n_rows;
	int current_case;
	char *error; /* the failure of the current case, if any */
};

/* Several measurements of one quantity, one per repetition. */
struct series {
	double *v;
	size_t n;
};

void series_add(struct series *s, double x);
double series_median(const struct series *s);
double series_min(const struct series *s);
double series_max(const struct series *s);
/* The q-quantile (0..1, nearest rank) of an unsorted array; sorts it. */
double quantile(double *v, size_t n, double q);

/* How a row's target is judged, on the medians. */
enum target_kind {
	TARGET_NONE,
	TARGET_GINI_LE,  /* gini <= limit (absolute) */
	TARGET_RATIO_LE, /* gini / baseline <= limit */
	TARGET_RATIO_GE, /* gini / baseline >= limit */
	TARGET_DIFF_LE,  /* gini - baseline <= limit */
};

/* One line of the table. Owned by struct bench. */
struct row {
	int case_no;
	char *what;     /* the measurement */
	char *unit;     /* of gini and baseline */
	char *baseline; /* what gini is compared to, NULL: nothing */
	struct series gini, base;
	enum target_kind kind;
	double limit;
	char *target;   /* the target as written in the table, or NULL */
	char *note;     /* shown instead of numbers: "pending: ...", or NULL */
	bool signed_ok; /* may be negative (an exponent), even in the smoke test */
};

/* Adds a row to the current case. */
struct row *bench_row(struct bench *b, const char *what, const char *unit, const char *baseline);
void row_target(struct row *r, enum target_kind kind, double limit, const char *text);
/* A row that says why a case has no numbers (pending, not installed). */
void bench_note(struct bench *b, const char *what, const char *note);
/* Records the case's failure (first one wins); returns -1 for `return`. */
int bench_fail(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Progress on stderr; the table alone goes to stdout. */
void bench_log(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sizes by mode: smoke, quick, full. */
static inline size_t
bench_size(const struct bench *b, size_t smoke, size_t quick, size_t full)
{
	return b->smoke ? smoke : b->quick ? quick : full;
}

/* Clocks, in µs (double) and ns. */
uint64_t mono_ns(void);
double mono_usec(void);
void sleep_usec(uint64_t usec);

/* bench_dir/name, or work_dir/name; the result is malloc'ed. */
char *bench_path(const struct bench *b, const char *name);
char *work_path(const struct bench *b, const char *name);
/* Creates work_dir/name (0755), after removing what was there. */
char *work_subdir(const struct bench *b, const char *name);
/* rm -rf, without following symlinks. */
int rmtree(const char *path);
/* Writes text to path (mode 0644). */
int write_text(const char *path, const char *text);

/* Shared by the loading and scale cases (loading.c): ms, or NAN on failure. */
double time_loader_scan(struct bench *b, const char *dir, size_t n);
double time_dlopen_loop(struct bench *b, char *const *files, size_t n, bool keep_open);

/* µs per fork+exec (or posix_spawn) of /bin/true, waited for (dispatch.c). */
double time_processes(struct bench *b, bool use_spawn, unsigned n);

/* The cases. Each runs its repetitions, adds its rows, returns 0 or -1. */
int case_linear(struct bench *b);
int case_fanout(struct bench *b);
int case_loading(struct bench *b);
int case_trigger(struct bench *b);
int case_schedule(struct bench *b);
int case_idle(struct bench *b);
int case_scale(struct bench *b);
int case_isolated(struct bench *b);
int case_control(struct bench *b);
int case_incumbent(struct bench *b);
int case_history(struct bench *b);
