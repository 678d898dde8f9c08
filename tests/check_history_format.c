/* SPDX-License-Identifier: MIT */
/*
 * How the run history keeps steps (daemon/history_codec.c): every field of
 * a step survives the compact encoding, defaults and all, and a database
 * written by schema 1 (the first encoding) is migrated and still reads the
 * same, in-process and through a real ginid's `ginictl history` and
 * `ginictl logs`. Part of the history suite (check_history.c).
 */
#include "tests.h"

#include "check_history.h"

#include "daemon.h"
#include "history.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Steps that exercise every field and default of the encoding. */
static const struct {
	const char *id, *stage, *result, *message, *output;
	uint64_t duration, first_seq;
	unsigned attempts;
	bool truncated;
} cases[] = {
	{ "a", "exec", "success", NULL, NULL, 7, 0, 1, false },
	{ "b", "exec", "success", NULL, NULL, 0, 0, 1, false }, /* all defaults */
	{ "c", "log", "failed", "it broke\nbadly\ttoo", NULL, 1234567, 0, 3, false },
	{ "d", "", "skipped", NULL, NULL, 0, 0, 0, false }, /* no stage */
	{ "e", "", "success", NULL, NULL, 5, 0, 1, false }, /* none, again */
	{ "f", "exec", "timed-out", NULL, "1700000000000000 6 tail\n", 99, 41, 2, true },
	{ "g", "exec", "success", NULL, "1700000000000001 3 x\n", 18446744073709551615ULL, 7, 1,
	  false },
	{ "h", "noop", "success", "", NULL, 1, 0, 1, false }, /* empty message */
};

static struct history_run *
case_run(uint64_t id)
{
	struct history_run *r =
	        ended_run(id, "fmt", "failed", (int64_t)now_usec(CLOCK_REALTIME), NULL);

	free(r->steps[0].id);
	free(r->steps[0].stage);
	free(r->steps);
	r->n_steps = ARRAY_SIZE(cases);
	r->steps = calloc(r->n_steps, sizeof(*r->steps));
	ck_assert_ptr_nonnull(r->steps);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct history_step *s = &r->steps[i];

		s->id = strdup(cases[i].id);
		s->stage = strdup(cases[i].stage);
		s->result = cases[i].result;
		s->message = cases[i].message ? strdup(cases[i].message) : NULL;
		s->attempts = cases[i].attempts;
		s->duration_usec = cases[i].duration;
		s->output_first_seq = cases[i].first_seq;
		s->output_truncated = cases[i].truncated;
		if (cases[i].output) {
			s->output = strdup(cases[i].output);
			s->output_len = strlen(s->output);
		}
	}
	return r;
}

static void
check_case_run(const struct history_run *got)
{
	ck_assert_uint_eq(got->n_steps, ARRAY_SIZE(cases));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct history_step *s = &got->steps[i];

		ck_assert_str_eq(s->id, cases[i].id);
		ck_assert_str_eq(s->stage, cases[i].stage);
		ck_assert_str_eq(s->result, cases[i].result);
		if (cases[i].message && *cases[i].message)
			ck_assert_str_eq(s->message, cases[i].message);
		else
			ck_assert_ptr_null(s->message);
		ck_assert_uint_eq(s->attempts, cases[i].attempts);
		ck_assert_uint_eq(s->duration_usec, cases[i].duration);
		ck_assert_uint_eq(s->output_first_seq, cases[i].first_seq);
		ck_assert_int_eq(s->output_truncated, cases[i].truncated);
		if (cases[i].output)
			ck_assert_str_eq(s->output, cases[i].output);
		else
			ck_assert_ptr_null(s->output);
	}
}

/* Every field back as it went in; a step of defaults costs its id and duration. */
START_TEST(steps_round_trip)
{
	char *dir = test_tmpdir("history-format");
	struct history *h = history_new(dir, &defaults, NULL);
	struct history_run *got = NULL;
	char err[128];

	ck_assert_ptr_null(history_disabled(h));
	history_record(h, case_run(1));
	ck_assert_int_eq(history_flush(h), 0);
	ck_assert_int_eq(history_get(h, 1, &got, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(got);
	check_case_run(got);
	history_run_free(got);
	history_free(h);
	/* The names first ("b" shares the stage of "a"), then the values ("b"
	 * is all defaults but its duration). */
	ck_assert_int_eq(db_int(dir,
	                        "SELECT substr(CAST(steps AS TEXT), 1, 20) = '=2 8' || char(10) "
	                        "|| 'a' || char(9) || 'exec' || char(10) || 'b' || char(10) || "
	                        "'c' || char(9) || 'log' || char(10) AND "
	                        "instr(CAST(steps AS TEXT), char(10, 55, 10, 48, 10)) > 0 "
	                        "FROM runs"),
	                 1);
	test_rmtree(dir);
	free(dir);
}
END_TEST

static void
two_names(void *userdata, size_t k, const char **ret_id, const char **ret_stage)
{
	(void)userdata;
	*ret_id = k == 0 ? "quick" : "slow";
	*ret_stage = "exec";
}

/* The loop's short cut for a step that succeeded at once and said nothing
 * reads back as such a step, next to one encoded in full. */
START_TEST(quiet_step_short_cut)
{
	char *dir = test_tmpdir("history-quiet");
	struct history *h = history_new(dir, &defaults, NULL);
	struct history_run *r = calloc(1, sizeof(*r));
	struct history_run *got = NULL;
	struct history_encoder e;
	char err[128];

	ck_assert_ptr_nonnull(r);
	*r = (struct history_run){ .id = 1,
		                   .pipeline = strdup("p"),
		                   .trigger = strdup("t"),
		                   .started_usec = (int64_t)now_usec(CLOCK_REALTIME),
		                   .result = "failed" };
	r->ended_usec = r->started_usec + 10;
	history_encoder_init(&e, h, r, 1, 2, two_names, NULL);
	history_encoder_add_ok(&e, 12);
	history_encoder_add(&e, &(struct history_step){ .result = "failed",
	                                                .attempts = 2,
	                                                .duration_usec = 345,
	                                                .message = (char *)"no" });
	ck_assert_int_eq(history_encoder_finish(&e, r), 0);
	history_record(h, r);
	ck_assert_int_eq(history_flush(h), 0);
	ck_assert_int_eq(history_get(h, 1, &got, err, sizeof(err)), 0);
	ck_assert_uint_eq(got->n_steps, 2);
	ck_assert_str_eq(got->steps[0].id, "quick");
	ck_assert_str_eq(got->steps[0].stage, "exec");
	ck_assert_str_eq(got->steps[0].result, "success");
	ck_assert_uint_eq(got->steps[0].attempts, 1);
	ck_assert_uint_eq(got->steps[0].duration_usec, 12);
	ck_assert_ptr_null(got->steps[0].message);
	ck_assert_str_eq(got->steps[1].id, "slow");
	ck_assert_str_eq(got->steps[1].stage, "exec");
	ck_assert_str_eq(got->steps[1].result, "failed");
	ck_assert_uint_eq(got->steps[1].attempts, 2);
	ck_assert_uint_eq(got->steps[1].duration_usec, 345);
	ck_assert_str_eq(got->steps[1].message, "no");
	history_run_free(got);
	history_free(h);
	test_rmtree(dir);
	free(dir);
}
END_TEST

static void
many_names(void *userdata, size_t k, const char **ret_id, const char **ret_stage)
{
	static char ids[100][8];

	(void)userdata;
	snprintf(ids[k], sizeof(ids[k]), "s%zu", k);
	*ret_id = ids[k];
	*ret_stage = "noop";
}

/* The loop encodes a run's steps into the buffer of a run the writer has
 * written, not into a fresh allocation (whose pages fault in at every
 * run), however short the encoded steps are next to what the encoder
 * reserves. */
START_TEST(steps_buffers_are_reused)
{
	char *dir = test_tmpdir("history-spares");
	struct history *h = history_new(dir, &defaults, NULL);
	struct history_run *got = NULL;
	uintptr_t first = 0;
	char err[128];

	for (uint64_t id = 1; id <= 3; id++) {
		struct history_run *r = calloc(1, sizeof(*r));
		struct history_encoder e;

		ck_assert_ptr_nonnull(r);
		*r = (struct history_run){ .id = id,
			                   .pipeline = strdup("p"),
			                   .trigger = strdup("t"),
			                   .started_usec = (int64_t)now_usec(CLOCK_REALTIME),
			                   .result = "success" };
		r->ended_usec = r->started_usec + 10;
		history_encoder_init(&e, h, h, 1, 100, many_names, NULL);
		if (id > 1)
			ck_assert_uint_eq((uintptr_t)e.steps.data, first);
		for (size_t k = 0; k < 100; k++)
			history_encoder_add_ok(&e, k % 3);
		ck_assert_int_eq(history_encoder_finish(&e, r), 0);
		if (id == 1)
			first = (uintptr_t)r->steps_data;
		history_record(h, r);
		/* The writer has given the buffer back once this returns. */
		ck_assert_int_eq(history_flush(h), 0);
	}
	/* What manager_run_record() returns when out of memory: nothing. */
	history_record(h, NULL);
	ck_assert_int_eq(history_flush(h), 0);
	ck_assert_int_eq(history_get(h, 3, &got, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->n_steps, 100);
	ck_assert_str_eq(got->steps[99].id, "s99");
	ck_assert_str_eq(got->steps[99].stage, "noop");
	ck_assert_uint_eq(got->steps[98].duration_usec, 2);
	history_run_free(got);
	history_free(h);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* Schema 1, as the first ginid with a history wrote it. */
static const char *const schema_v1 =
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, pipeline TEXT NOT NULL,"
        " generation INTEGER NOT NULL, trigger TEXT NOT NULL, started INTEGER NOT NULL,"
        " ended INTEGER, result TEXT NOT NULL, failed_step TEXT, message TEXT);"
        "CREATE INDEX runs_pipeline ON runs (pipeline, id);"
        "CREATE INDEX runs_started ON runs (started);"
        "ALTER TABLE runs ADD COLUMN steps BLOB;"
        "CREATE TABLE output (run_id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
        "PRAGMA journal_mode = WAL;"
        "PRAGMA user_version = 1;";

/* A version 1 steps value: "ID\tSTAGE\tRESULT\tATTEMPTS\tDUR\tFIRST\tTRUNC\tMSGLEN\n" MSG. */
static const char v1_steps[] = "hello\tlog\tsuccess\t1\t1500\t0\t0\t0\n"
                               "boom\tfail\tfailed\t2\t30\t3\t1\t10\non purpose";
static const char v1_output[] = "#0 22\n1700000000000100 6 hi\n"
                                "#1 30\n1700000000000200 3 went wrong\n";

/* dir/history.db as schema 1 left it: run 1 of "ok", two steps with output. */
static void
write_v1_database(const char *dir)
{
	char *path = path_join(dir, "history.db");
	sqlite3 *db;
	sqlite3_stmt *st;

	ck_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "INSERT INTO runs VALUES (1, 'ok', 1, 'schedule', "
	                                    "?2, ?2 + 1000, 'failed', 'boom', 'on purpose', ?1)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_blob(st, 1, v1_steps, sizeof(v1_steps) - 1, SQLITE_STATIC);
	/* Recent: older than history_max_age, it would be deleted at once. */
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now_usec(CLOCK_REALTIME) - 1000000);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO output VALUES (1, ?1)", -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_blob(st, 1, v1_output, sizeof(v1_output) - 1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
}

static void
check_v1_run(const struct history_run *got)
{
	ck_assert_str_eq(got->pipeline, "ok");
	ck_assert_str_eq(got->result, "failed");
	ck_assert_uint_eq(got->n_steps, 2);
	ck_assert_str_eq(got->steps[0].id, "hello");
	ck_assert_str_eq(got->steps[0].stage, "log");
	ck_assert_uint_eq(got->steps[0].duration_usec, 1500);
	ck_assert_str_eq(got->steps[1].id, "boom");
	ck_assert_str_eq(got->steps[1].result, "failed");
	ck_assert_uint_eq(got->steps[1].attempts, 2);
	ck_assert_uint_eq(got->steps[1].output_first_seq, 3);
	ck_assert(got->steps[1].output_truncated);
	ck_assert_str_eq(got->steps[1].message, "on purpose");
	ck_assert_str_eq(got->steps[0].output, "1700000000000100 6 hi\n");
	ck_assert_str_eq(got->steps[1].output, "1700000000000200 3 went wrong\n");
}

/* A schema 1 database is migrated in place: its runs read as before. */
START_TEST(old_database_still_reads)
{
	char *dir = test_tmpdir("history-v1");
	struct history_run *got = NULL;
	struct history *h;
	char err[128];

	write_v1_database(dir);
	h = history_new(dir, &defaults, NULL);
	ck_assert_ptr_null(history_disabled(h));
	ck_assert_uint_eq(history_next_id(h), 2);
	ck_assert_int_eq(history_get(h, 1, &got, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(got);
	check_v1_run(got);
	history_run_free(got);
	/* New runs in the new encoding, next to the old. */
	history_record(h, case_run(2));
	ck_assert_int_eq(history_flush(h), 0);
	ck_assert_int_eq(history_get(h, 2, &got, err, sizeof(err)), 0);
	check_case_run(got);
	history_run_free(got);
	history_free(h);
	ck_assert_int_eq(db_int(dir, "PRAGMA user_version"), 2);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 2);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* The same through ginid: `ginictl history` and `logs` show the old run. */
START_TEST(old_database_through_ginictl)
{
	struct daemon d;
	char *out = NULL, *err = NULL;
	json_t *j, *run, *steps;

	daemon_init(&d, "history-v1-daemon",
	            "pipelines = ( { name = \"ok\"; steps = ( { id = \"hello\"; stage = \"log\"; "
	            "params = { message = \"hi\"; }; } ); } );\n");
	write_v1_database(daemon_path(&d, "state"));
	daemon_start(&d);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "ok", "--wait", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "run 2:"));
	free(out);
	free(err);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "--json", "history", NULL), 0);
	j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_array_size(j), 2);
	run = json_array_get(j, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(run, "id")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(run, "result")), "failed");
	ck_assert_int_eq(json_integer_value(json_object_get(run, "duration_ms")), 1);
	steps = json_object_get(run, "steps");
	ck_assert_uint_eq(json_array_size(steps), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 1), "id")),
	                 "boom");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 1), "message")),
	                 "on purpose");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(steps, 1), "attempts")),
	                 2);
	/* And the new run, in the new encoding. */
	steps = json_object_get(json_array_get(j, 0), "steps");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 0), "id")),
	                 "hello");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 0), "stage")),
	                 "log");
	json_decref(j);
	free(out);
	free(err);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "logs", "1", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, " hello info: hi\n"));
	ck_assert_ptr_nonnull(strstr(out, " boom err: went wrong\n"));
	ck_assert_ptr_nonnull(strstr(out, "output truncated"));
	free(out);
	free(err);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "logs", "2", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, " hello info: hi\n"));
	free(out);
	free(err);
	daemon_done(&d);
}
END_TEST

/* The steps' id of run id's first step, from `ginictl --json history`. */
static char *
first_step(struct daemon *d, long long id, size_t *ret_n)
{
	char *out = NULL, *err = NULL, *ret = NULL;
	json_t *j;
	size_t i;
	json_t *run;

	ck_assert_int_eq(daemon_ginictl(d, &out, &err, "--json", "history", NULL), 0);
	j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	json_array_foreach(j, i, run)
	{
		json_t *steps = json_object_get(run, "steps");

		if (json_integer_value(json_object_get(run, "id")) != id)
			continue;
		*ret_n = json_array_size(steps);
		ret = strdup(json_string_value(json_object_get(json_array_get(steps, 0), "id")));
		break;
	}
	ck_assert_ptr_nonnull(ret);
	json_decref(j);
	free(out);
	free(err);
	return ret;
}

/* The names of a pipeline's steps are kept per generation: a reload that
 * renames them is seen in the next run's record. */
START_TEST(names_follow_a_reload)
{
	struct daemon d;
	char *out = NULL, *err = NULL, *id;
	size_t n;

	daemon_init(&d, "history-names",
	            "pipelines = ( { name = \"p\"; steps = ( { id = \"one\"; stage = \"log\"; "
	            "params = { message = \"hi\"; }; } ); } );\n");
	daemon_start(&d);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "p", "--wait", NULL), 0);
		free(out);
		free(err);
	}
	daemon_write(&d, "gini.conf",
	             "pipelines = ( { name = \"p\"; steps = ( { id = \"first\"; stage = \"log\"; "
	             "params = { message = \"hi\"; }; }, { id = \"second\"; stage = \"log\"; "
	             "after = [ \"first\" ]; params = { message = \"ho\"; }; } ); } );\n");
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "reload", NULL), 0);
	free(out);
	free(err);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "p", "--wait", NULL), 0);
	free(out);
	free(err);
	id = first_step(&d, 2, &n);
	ck_assert_str_eq(id, "one");
	ck_assert_uint_eq(n, 1);
	free(id);
	id = first_step(&d, 3, &n);
	ck_assert_str_eq(id, "first");
	ck_assert_uint_eq(n, 2);
	free(id);
	daemon_done(&d);
}
END_TEST

void
history_format_tcase(Suite *s)
{
	TCase *tc = tcase_create("format");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, steps_round_trip);
	tcase_add_test(tc, quiet_step_short_cut);
	tcase_add_test(tc, steps_buffers_are_reused);
	tcase_add_test(tc, old_database_still_reads);
	tcase_add_test(tc, old_database_through_ginictl);
	tcase_add_test(tc, names_follow_a_reload);
	suite_add_tcase(s, tc);
}
