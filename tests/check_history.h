/* SPDX-License-Identifier: MIT */
/* What the history suites share: limits, a run to record, a look at the database. */
#pragma once

#include "history.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct history_limits defaults = {
	.max_runs = HISTORY_DEFAULT_MAX_RUNS,
	.max_age_usec = HISTORY_DEFAULT_MAX_AGE,
	.output_max = HISTORY_DEFAULT_OUTPUT_MAX,
};

/* An ended run of pipeline p with one step "s" that said text. */
static inline struct history_run *
ended_run(uint64_t id, const char *p, const char *result, int64_t started, const char *text)
{
	struct history_run *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	r->id = id;
	r->pipeline = strdup(p);
	r->generation = 1;
	r->trigger = strdup("schedule");
	r->started_usec = started;
	r->ended_usec = started + 1000;
	r->result = result;
	r->n_steps = 1;
	r->steps = calloc(1, sizeof(*r->steps));
	r->steps[0].id = strdup("s");
	r->steps[0].stage = strdup("log");
	r->steps[0].result = result;
	r->steps[0].attempts = 1;
	if (text && asprintf(&r->steps[0].output, "%lld 6 %s\n", (long long)started, text) > 0)
		r->steps[0].output_len = strlen(r->steps[0].output);
	return r;
}

static inline long long
db_int(const char *dir, const char *sql)
{
	char *path = path_join(dir, "history.db");
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return v;
}

/* The history suite's TCase "format" (check_history_format.c). */
void history_format_tcase(Suite *s);
/* The history suite's TCase "start" (check_history_start.c). */
void history_start_tcase(Suite *s);
/* The history suite's TCase "open" (check_history_open.c). */
void history_open_tcase(Suite *s);
/* The history suite's TCase "hold" (check_history_hold.c). */
void history_hold_tcase(Suite *s);
