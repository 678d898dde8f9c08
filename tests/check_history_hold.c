/* SPDX-License-Identifier: MIT */
/*
 * A run's start record waits for its end (daemon/history_writer.c,
 * hold_starts()): a run that ends within HISTORY_START_DELAY_USEC is
 * written once, at its end, and its start costs the loop no wake-up of the
 * writer; a longer one still gets its "running" row, by the writer's own
 * deadline, so kill -9 leaves it "interrupted"; a flush (every query) writes
 * what is held. In-process, then a real ginid killed during a long run.
 * Part of the history suite (check_history.c).
 */
#include "tests.h"

#include "check_history.h"

#include "daemon.h"
#include "history.h"
/* For the writer's lock, to make it take one large batch. */
#include "history_internal.h"
#include "util.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The start record of run id, begun at started (no steps, as the loop's). */
static struct history_run *
start_record(uint64_t id, int64_t started)
{
	struct history_run *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	*r = (struct history_run){ .id = id,
		                   .pipeline = strdup("p"),
		                   .generation = 1,
		                   .trigger = strdup("schedule"),
		                   .started_usec = started,
		                   .result = "running" };
	return r;
}

/* Polls (the test's timeout bounds it) until sql on dir's history says want. */
static void
db_wait(const char *dir, const char *sql, long long want)
{
	while (db_int(dir, sql) != want)
		usleep(10000);
}

START_TEST(start_waits_for_its_end)
{
	char *dir = test_tmpdir("history-hold");
	struct history *h = history_new(dir, &defaults, NULL);
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	struct history_stats st;

	ck_assert_ptr_null(history_disabled(h));
	/*
	 * Run 1 started "an hour from now" (as after the clock stepped back),
	 * so the writer's own deadline for it cannot come during the test
	 * however slow the machine. Run 2's end is written at once; run 1's
	 * start, queued before it, is still held when run 2 can be read.
	 */
	history_record(h, start_record(1, now + 3600 * (int64_t)USEC_PER_SEC));
	history_record(h, ended_run(2, "p", "success", now, NULL));
	db_wait(dir, "SELECT count(*) FROM runs WHERE id = 2", 1);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs WHERE id = 1"), 0);
	/* Its end comes: one row, written once, never "running". */
	history_record(h, ended_run(1, "p", "failed", now, NULL));
	ck_assert_int_eq(history_flush(h), 0);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 2);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs WHERE result = 'failed'"), 1);
	history_stats(h, &st);
	ck_assert_uint_eq(st.writes, 2);
	ck_assert_uint_eq(st.queue_depth, 0);

	/*
	 * A held start whose end comes far behind it, past many other runs,
	 * in one batch: its "running" row is never written over its end. The
	 * writer is kept (by the lock it takes to hand a written run's buffer
	 * back) from taking the queue until all of it is there.
	 */
	pthread_mutex_lock(&h->names_lock);
	history_record(h, start_record(10, now + 3600 * (int64_t)USEC_PER_SEC));
	history_record(h, ended_run(11, "p", "success", now, NULL));
	db_wait(dir, "SELECT count(*) FROM runs WHERE id = 11", 1);
	for (uint64_t id = 12; id < 311; id++)
		history_record(h, ended_run(id, "p", "success", now, NULL));
	history_record(h, ended_run(10, "p", "failed", now, NULL));
	pthread_mutex_unlock(&h->names_lock);
	db_wait(dir, "SELECT count(*) FROM runs WHERE id = 10", 1);
	/* A flush writes what is held: a start written after its end would
	 * show now. */
	ck_assert_int_eq(history_flush(h), 0);
	ck_assert_int_eq(
	        db_int(dir, "SELECT count(*) FROM runs WHERE id = 10 AND result = 'failed'"), 1);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 303);

	/* A flush (as before every query) writes a held start at once. */
	history_record(h, start_record(3, now + 3600 * (int64_t)USEC_PER_SEC));
	ck_assert_int_eq(history_flush(h), 0);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs WHERE result = 'running'"), 1);

	/* With no end and no flush, the writer writes it by its deadline. */
	history_record(h, start_record(4, now - (int64_t)USEC_PER_SEC / 2));
	db_wait(dir, "SELECT count(*) FROM runs WHERE id = 4 AND result = 'running'", 1);
	history_free(h);
	test_rmtree(dir);
	free(dir);
}
END_TEST

#define HOLD_CONF                                                                                  \
	"pipelines = (\n"                                                                          \
	"  { name = \"long\"; steps = (\n"                                                         \
	"      { id = \"wait\"; stage = \"exec\"; params = { shell = \"echo waiting; "             \
	"while [ ! -e %s ]; do sleep 0.05; done\"; }; } ); }\n"                                    \
	");\n"

/* kill -9 during a run longer than the delay: it is "interrupted" after. */
START_TEST(long_run_interrupted_after_kill9)
{
	struct daemon d;
	char *out = NULL, *err = NULL, *text = NULL, *state;
	json_t *j;

	daemon_init(&d, "history-hold", "");
	ck_assert_int_ne(asprintf(&text, HOLD_CONF, daemon_path(&d, "go")), -1);
	daemon_write(&d, "gini.conf", text);
	free(text);
	daemon_start(&d);
	state = strdup(daemon_path(&d, "state"));
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "long", NULL), 0);
	free(out);
	free(err);
	/* Read behind the daemon's back: nothing asks the writer to flush. */
	db_wait(state, "SELECT count(*) FROM runs WHERE id = 1 AND result = 'running'", 1);
	daemon_signal(&d, SIGKILL);
	daemon_wait_exit(&d, 30000);
	daemon_restart(&d);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "--json", "history", NULL), 0);
	j = json_loads(out, 0, NULL);
	ck_assert_msg(j, "not JSON: %s / %s", out, err);
	free(out);
	free(err);
	ck_assert_uint_eq(json_array_size(j), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "result")),
	                 "interrupted");
	json_decref(j);
	free(state);
	daemon_done(&d);
}
END_TEST

void
history_hold_tcase(Suite *s)
{
	TCase *tc = tcase_create("hold");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, start_waits_for_its_end);
	tcase_add_test(tc, long_run_interrupted_after_kill9);
	suite_add_tcase(s, tc);
}
