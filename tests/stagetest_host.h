/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The inside of the stand-alone test host of stagetest.h, shared by its two
 * halves: stagetest.c (loading a plugin, the params of a step, the calls
 * and the threads they run on) and stagetest_host.c (the struct gini_host
 * table a plugin calls back into: log, messages, run context, typed params,
 * cancellation). Tests use stagetest.h, never this.
 */
#include "stagetest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum param_type { P_STRING, P_INT, P_BOOL, P_STRV, P_DOUBLE };

/* One param; owned by the params array. */
struct param {
	char *name;
	enum param_type type;
	char *string;
	int64_t integer;
	double number;
	char **strv; /* NULL-terminated */
	size_t n;
	bool read;
};

struct gini_params {
	struct stagetest *t;
	struct param *v;
	size_t n;
};

enum call_kind { CALL_LOAD, CALL_CREATE, CALL_RUN, CALL_DESCRIBE, CALL_CHECK, CALL_OTHER };

/*
 * Cancellation of one call. efd is readable once fired; it is never read,
 * so it stays readable, as the ABI promises.
 */
struct cancel {
	atomic_bool fired;
	int efd;
	uint64_t deadline;
};

/* The handle of one callback; lives on the caller's stack. */
struct gini_handle {
	struct stagetest *t;
	enum call_kind kind;
	struct cancel *cancel;
	char *message;    /* set_message(), guarded by t->lock */
	char *type_error; /* the host's own message for a mistyped param */
	char **graveyard; /* context values replaced during the call */
	size_t n_graveyard;
};

struct log_line {
	int level;
	char *text;
};

struct stagetest {
	void *dl;
	const struct gini_stage_descriptor *desc;
	void *instance;
	bool has_instance;

	pthread_mutex_t lock;
	struct gini_params params;
	char **ctx_keys; /* sorted; values in ctx_values at the same index */
	char **ctx_values;
	size_t n_ctx;
	struct log_line *log;
	size_t n_log;
	char *message;

	/* Cancellation requested for the next run. */
	unsigned cancel_ms;
	char *cancel_path;
};

/* The host table every callback receives. */
extern const struct gini_host stagetest_host;
/* The handle of the create() running on this thread, for the host's own
 * message about a param of the wrong type. */
extern _Thread_local struct gini_handle *stagetest_creating;

/* calloc/strdup that fail the test instead of returning NULL. */
void *stagetest_xmalloc(size_t size);
char *stagetest_xstrdup(const char *s);
uint64_t stagetest_monotonic_usec(void);
/* The context, t->lock held: the index of key (or where it would go), and
 * setting a key (value NULL removes it; h NULL: from the test, not a call). */
size_t stagetest_ctx_find_locked(struct stagetest *t, const char *key, bool *found);
int stagetest_ctx_set_locked(struct stagetest *t, struct gini_handle *h, const char *key,
                             const char *value);
