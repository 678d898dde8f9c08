/* SPDX-License-Identifier: MIT */
/*
 * The history store's gini_history_* metrics (history_metrics.c): the
 * counters behind them follow the database through inserts, replacements,
 * retention, a restart and a refused write, and the Prometheus text has
 * each family with its HELP and TYPE.
 */
#include "tests.h"

#include "check_history.h"

#include "history.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- metrics ---- */

/* Runs sql on the database with a connection of the test's own. */
static void
db_exec(const char *dir, const char *sql)
{
	char *path = path_join(dir, "history.db");
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
	              sqlite3_errmsg(db));
	sqlite3_close(db);
	free(path);
}

static void
check_histogram(const struct history_stats *st)
{
	uint64_t sum = 0;

	for (size_t b = 0; b < HISTORY_WRITE_BUCKETS; b++)
		sum += st->write_buckets[b];
	ck_assert_uint_eq(sum, st->write_count);
}

/*
 * The counters behind gini_history_*: rows follow inserts, replacements
 * and retention (and are counted again at the next start), writes count
 * committed records, a transaction the database refuses is an error whose
 * records are not counted, and every transaction lands in one bucket.
 */
START_TEST(stats_follow_the_database)
{
	char *dir = test_tmpdir("history-stats");
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	struct history_limits lim = defaults;
	struct history_stats st;
	struct history *h;

	lim.max_runs = 2;
	h = history_new(dir, &lim, NULL);
	ck_assert_ptr_null(history_disabled(h));
	for (uint64_t i = 1; i <= 3; i++)
		history_record(h, ended_run(i, "p", "success", now, "x"));
	ck_assert_int_eq(history_flush(h), 0);
	history_stats(h, &st);
	ck_assert(st.enabled);
	/* Three inserted, the oldest deleted by retention (max_runs = 2). */
	ck_assert_uint_eq(st.rows, 2);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 2);
	ck_assert_uint_eq(st.writes, 3);
	ck_assert_uint_eq(st.write_errors, 0);
	ck_assert_uint_eq(st.queue_depth, 0);
	ck_assert_uint_gt(st.bytes, 0);
	ck_assert_uint_ge(st.write_count, history_batches(h));
	ck_assert_uint_ge(st.write_count, 1);
	check_histogram(&st);

	/* A record that replaces its run's row adds none. */
	history_record(h, ended_run(3, "p", "failed", now, "y"));
	ck_assert_int_eq(history_flush(h), 0);
	history_stats(h, &st);
	ck_assert_uint_eq(st.rows, 2);
	ck_assert_uint_eq(st.writes, 4);

	/* A database that refuses the insert: an error, nothing counted. */
	db_exec(dir, "CREATE TRIGGER refuse BEFORE INSERT ON runs "
	             "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
	test_log_capture_start();
	history_record(h, ended_run(4, "p", "success", now, NULL));
	ck_assert_int_eq(history_flush(h), 0);
	test_log_capture_stop();
	ck_assert_ptr_nonnull(test_log_find("refused by the test"));
	history_stats(h, &st);
	ck_assert_uint_eq(st.write_errors, 1);
	ck_assert_uint_eq(st.writes, 4);
	ck_assert_uint_eq(st.rows, 2);
	check_histogram(&st);
	db_exec(dir, "DROP TRIGGER refuse");
	history_record(h, ended_run(5, "p", "success", now, NULL));
	ck_assert_int_eq(history_flush(h), 0);
	history_stats(h, &st);
	ck_assert_uint_eq(st.writes, 5);
	ck_assert_uint_eq(st.rows, 2);
	history_free(h);

	/* Counted again at the next start. */
	lim.max_runs = 100;
	h = history_new(dir, &lim, NULL);
	history_record(h, ended_run(6, "p", "success", now, NULL));
	ck_assert_int_eq(history_flush(h), 0);
	history_stats(h, &st);
	ck_assert_uint_eq(st.rows, 3);
	ck_assert_uint_eq(st.writes, 1);
	ck_assert_uint_eq(st.write_errors, 0);
	history_free(h);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 3);
	test_rmtree(dir);
	free(dir);
}
END_TEST

static char *
metrics_text(const struct history *h)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(history_metrics(h, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static void
expect_line(const char *text, const char *line)
{
	char *want = NULL;

	ck_assert_int_gt(asprintf(&want, "\n%s\n", line), 0);
	ck_assert_msg(strstr(text, want), "no line '%s' in:\n%s", line, text);
	free(want);
}

/* The Prometheus text: each family with HELP and TYPE, and its value. */
START_TEST(metrics_text_format)
{
	static const char *const families[][2] = {
		{ "gini_history_enabled", "gauge" },
		{ "gini_history_rows", "gauge" },
		{ "gini_history_database_bytes", "gauge" },
		{ "gini_history_writes_total", "counter" },
		{ "gini_history_write_errors_total", "counter" },
		{ "gini_history_queue_depth", "gauge" },
		{ "gini_history_write_duration_seconds", "histogram" },
	};
	char *dir = test_tmpdir("history-metrics");
	char *file = path_join(dir, "not-a-dir");
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	struct history_stats st;
	struct history *h = history_new(dir, &defaults, NULL);
	char *text, line[256];

	for (uint64_t i = 1; i <= 4; i++)
		history_record(h, ended_run(i, "p", "success", now, NULL));
	ck_assert_int_eq(history_flush(h), 0);
	text = metrics_text(h);
	history_stats(h, &st);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(line, sizeof(line), "# TYPE %s %s", families[i][0], families[i][1]);
		expect_line(text, line);
		snprintf(line, sizeof(line), "# HELP %s ", families[i][0]);
		ck_assert_msg(strstr(text, line), "no '%s' in:\n%s", line, text);
	}
	expect_line(text, "gini_history_enabled 1");
	expect_line(text, "gini_history_rows 4");
	expect_line(text, "gini_history_writes_total 4");
	expect_line(text, "gini_history_write_errors_total 0");
	expect_line(text, "gini_history_queue_depth 0");
	ck_assert_ptr_nonnull(
	        strstr(text, "\ngini_history_write_duration_seconds_bucket{le=\"0.001\"} "));
	ck_assert_ptr_nonnull(
	        strstr(text, "\ngini_history_write_duration_seconds_bucket{le=\"2.5\"} "));
	snprintf(line, sizeof(line), "gini_history_write_duration_seconds_bucket{le=\"+Inf\"} %llu",
	         (unsigned long long)st.write_count);
	expect_line(text, line);
	snprintf(line, sizeof(line), "gini_history_write_duration_seconds_count %llu",
	         (unsigned long long)st.write_count);
	expect_line(text, line);
	free(text);
	history_free(h);

	/* A history that could not be opened says so, and counts nothing. */
	test_write_file(file, "", 0644);
	test_log_capture_start();
	h = history_new(file, &defaults, NULL);
	test_log_capture_stop();
	ck_assert_ptr_nonnull(history_disabled(h));
	history_stats(h, &st);
	ck_assert(!st.enabled);
	text = metrics_text(h);
	expect_line(text, "gini_history_enabled 0");
	expect_line(text, "gini_history_rows 0");
	expect_line(text, "gini_history_database_bytes 0");
	free(text);
	history_free(h);
	test_rmtree(dir);
	free(dir);
	free(file);
}
END_TEST

Suite *
history_metrics_suite(void)
{
	Suite *s = suite_create("history_metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, stats_follow_the_database);
	tcase_add_test(tc, metrics_text_format);
	suite_add_tcase(s, tc);
	return s;
}
