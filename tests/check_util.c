/* SPDX-License-Identifier: MIT */
/* Helpers: durations, signal names, suggestions, paths, atomic writes, the
 * hash map, params and the run context. */
#include "tests.h"

#include "context.h"
#include "hashmap.h"
#include "params.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(durations)
{
	static const struct {
		const char *s;
		uint64_t usec;
	} ok[] = {
		/* gini's own short forms, as before. */
		{ "500ms", 500 * USEC_PER_MSEC },
		{ "30s", 30 * USEC_PER_SEC },
		{ "5m", 5 * USEC_PER_MINUTE },
		{ "2h", 2 * USEC_PER_HOUR },
		{ "1d", USEC_PER_DAY },
		{ "1h30m", 90 * USEC_PER_MINUTE },
		{ "250us", 250 },
		{ "45", 45 * USEC_PER_SEC },
		{ "0s", 0 },
		/* systemd.time(7)'s examples of time spans. */
		{ "2 h", 2 * USEC_PER_HOUR },
		{ "2hours", 2 * USEC_PER_HOUR },
		{ "48hr", 48 * USEC_PER_HOUR },
		{ "1y 12month", 31557600 * USEC_PER_SEC + 12 * 2629800 * USEC_PER_SEC },
		{ "55s500ms", 55500 * USEC_PER_MSEC },
		{ "300ms20s 5day", 300 * USEC_PER_MSEC + 20 * USEC_PER_SEC + 5 * USEC_PER_DAY },
		/* Every unit name systemd knows. */
		{ "1usec", 1 },
		{ "1\xce\xbcs", 1 },
		{ "1msec", USEC_PER_MSEC },
		{ "1second", USEC_PER_SEC },
		{ "2seconds", 2 * USEC_PER_SEC },
		{ "1sec", USEC_PER_SEC },
		{ "1min", USEC_PER_MINUTE },
		{ "1minute", USEC_PER_MINUTE },
		{ "3minutes", 3 * USEC_PER_MINUTE },
		{ "1hour", USEC_PER_HOUR },
		{ "1day", USEC_PER_DAY },
		{ "2 days", 2 * USEC_PER_DAY },
		{ "1w", 7 * USEC_PER_DAY },
		{ "1week", 7 * USEC_PER_DAY },
		{ "2weeks", 14 * USEC_PER_DAY },
		{ "1M", 2629800 * USEC_PER_SEC },
		{ "1month", 2629800 * USEC_PER_SEC },
		{ "1months", 2629800 * USEC_PER_SEC },
		{ "1y", 31557600 * USEC_PER_SEC },
		{ "1year", 31557600 * USEC_PER_SEC },
		{ "2years", 2 * 31557600 * USEC_PER_SEC },
		/* Spaces, fractions and unitless groups, as systemd reads them. */
		{ "5min", 5 * USEC_PER_MINUTE },
		{ "1h 30m", 90 * USEC_PER_MINUTE },
		{ "  1h  30m  ", 90 * USEC_PER_MINUTE },
		{ "5 m", 5 * USEC_PER_MINUTE },
		{ "1.5s", 1500 * USEC_PER_MSEC },
		{ "1.5", 1500 * USEC_PER_MSEC },
		{ ".5s", 500 * USEC_PER_MSEC },
		{ "0.25h", 15 * USEC_PER_MINUTE },
		{ "1.0000001s", USEC_PER_SEC }, /* below a microsecond: dropped */
		{ "1h 30", USEC_PER_HOUR + 30 * USEC_PER_SEC },
		{ "1 2", 3 * USEC_PER_SEC },
		{ "12.34s.56", 12340 * USEC_PER_MSEC + 560 * USEC_PER_MSEC },
		{ "36600d", 36600 * USEC_PER_DAY },
	};
	static const struct {
		const char *s;
		int r;
	} bad[] = {
		{ "", -EINVAL },
		{ "   ", -EINVAL },
		{ "s", -EINVAL },
		{ "5x", -EINVAL },
		{ "5 x", -EINVAL },
		{ "-5s", -EINVAL },
		{ "+5s", -EINVAL },
		{ "ms", -EINVAL },
		{ "5mss", -EINVAL },
		{ "5secs", -EINVAL },
		{ "3.", -EINVAL },
		{ "3.s", -EINVAL },
		{ ".", -EINVAL },
		{ "1.2.3", -EINVAL },
		{ "5S", -EINVAL },
		{ "5 hours ago", -EINVAL },
		{ "infinity", -EINVAL },
		{ "1h,30m", -EINVAL },
		{ "99999999999999999999s", -ERANGE },
		{ "36600d1s", -ERANGE },
		{ "101y", -ERANGE },
		{ "18446744073709551615us", -ERANGE },
		{ "100y 1y", -ERANGE },
	};
	char buf[64];
	uint64_t u;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		u = UINT64_MAX;
		ck_assert_msg(parse_duration(ok[i].s, &u) == 0, "'%s' rejected", ok[i].s);
		ck_assert_msg(u == ok[i].usec, "'%s': %llu, not %llu", ok[i].s,
		              (unsigned long long)u, (unsigned long long)ok[i].usec);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		u = 42;
		ck_assert_msg(parse_duration(bad[i].s, &u) == bad[i].r, "'%s': %d, not %d",
		              bad[i].s, parse_duration(bad[i].s, &u), bad[i].r);
		ck_assert_uint_eq(u, 42); /* untouched on failure */
	}
	ck_assert_str_eq(format_duration(90 * USEC_PER_MINUTE, buf, sizeof(buf)), "1h30m");
	ck_assert_str_eq(format_duration(250 * USEC_PER_MSEC, buf, sizeof(buf)), "250ms");
	ck_assert_str_eq(format_duration(0, buf, sizeof(buf)), "0s");
	ck_assert_str_eq(format_duration(USEC_PER_DAY + 1, buf, sizeof(buf)), "1d1us");
}
END_TEST

START_TEST(signals)
{
	char buf[32];

	ck_assert_int_eq(signal_from_string("SIGUSR1"), SIGUSR1);
	ck_assert_int_eq(signal_from_string("USR2"), SIGUSR2);
	ck_assert_int_eq(signal_from_string("SIGRTMIN"), SIGRTMIN);
	ck_assert_int_eq(signal_from_string("SIGRTMIN+3"), SIGRTMIN + 3);
	ck_assert_int_eq(signal_from_string("SIGRTMIN+99"), -EINVAL);
	ck_assert_int_eq(signal_from_string("SIGRTMIN-1"), -EINVAL);
	ck_assert_int_eq(signal_from_string("SIGFOO"), -EINVAL);
	ck_assert_int_eq(signal_from_string("sigusr1"), -EINVAL);
	ck_assert_str_eq(signal_to_string(SIGSEGV, buf, sizeof(buf)), "SIGSEGV");
	ck_assert_str_eq(signal_to_string(SIGRTMIN + 2, buf, sizeof(buf)), "SIGRTMIN+2");
}
END_TEST

START_TEST(escapes)
{
	char buf[64], tiny[8];

	ck_assert_str_eq(str_escape("plain text", buf, sizeof(buf)), "plain text");
	ck_assert_str_eq(str_escape("a\nb\tc\rd\001e\177", buf, sizeof(buf)),
	                 "a\\nb\\tc\\rd\\x01e\\x7f");
	/* UTF-8 passes through. */
	ck_assert_str_eq(str_escape("caf\xc3\xa9", buf, sizeof(buf)), "caf\xc3\xa9");
	/* Cut with an ellipsis, never overflowing. */
	ck_assert_str_eq(str_escape("abcdefghij", tiny, sizeof(tiny)), "abcd...");
	ck_assert_str_eq(str_escape("abcdefg", tiny, sizeof(tiny)), "abcdefg");
	ck_assert_str_eq(str_escape("\n\n\n\n", tiny, sizeof(tiny)), "\\n\\n...");
	ck_assert_str_eq(str_escape("abc", tiny, 2), "");
}
END_TEST

START_TEST(suggestions)
{
	static const char *const keys[] = { "steps", "stage", "triggers", "timeout", "retries" };

	ck_assert_uint_eq(edit_distance("stepz", "steps"), 1);
	ck_assert_uint_eq(edit_distance("", "abc"), 3);
	ck_assert_str_eq(closest_match("stepz", keys, ARRAY_SIZE(keys)), "steps");
	ck_assert_str_eq(closest_match("trigers", keys, ARRAY_SIZE(keys)), "triggers");
	ck_assert_str_eq(closest_match("Timeout", keys, ARRAY_SIZE(keys)), "timeout");
	ck_assert_ptr_null(closest_match("completely", keys, ARRAY_SIZE(keys)));
	ck_assert_ptr_null(closest_match("steps", keys, ARRAY_SIZE(keys)));
}
END_TEST

START_TEST(paths)
{
	_cleanup_free_ char *a = path_join("/etc/gini", "pipelines.d");
	_cleanup_free_ char *b = path_join("/etc/gini/", "x");
	_cleanup_free_ char *c = path_join("/etc/gini", "/abs");
	_cleanup_free_ char *d = path_dirname("/etc/gini/gini.conf");
	_cleanup_free_ char *e = path_dirname("gini.conf");
	_cleanup_free_ char *f = path_dirname("/gini.conf");

	ck_assert_str_eq(a, "/etc/gini/pipelines.d");
	ck_assert_str_eq(b, "/etc/gini/x");
	ck_assert_str_eq(c, "/abs");
	ck_assert_str_eq(d, "/etc/gini");
	ck_assert_str_eq(e, ".");
	ck_assert_str_eq(f, "/");
}
END_TEST

START_TEST(atomic_write)
{
	_cleanup_free_ char *dir = test_tmpdir("util");
	_cleanup_free_ char *path = path_join(dir, "state");
	_cleanup_free_ char *text = NULL;
	struct stat st;

	ck_assert_int_eq(write_file_atomic(path, "one\n", 4, 0600), 0);
	ck_assert_int_eq(write_file_atomic(path, "two\n", 4, 0640), 0);
	ck_assert_int_eq(read_file(path, 100, &text, NULL), 0);
	ck_assert_str_eq(text, "two\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	free(steal_ptr(text));
	ck_assert_int_eq(read_file(path, 2, &text, NULL), -EFBIG);
	ck_assert_int_lt(write_file_atomic("/nonexistent/dir/file", "x", 1, 0600), 0);
	test_rmtree(dir);
}
END_TEST

START_TEST(hashmap_ops)
{
	struct hashmap m;
	char keys[2000][8];
	void *old;
	size_t n = 0;
	const char *k;

	hashmap_init(&m);
	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		ck_assert_int_eq(hashmap_put(&m, keys[i], (void *)(uintptr_t)(i + 1)), 0);
	}
	ck_assert_int_eq(hashmap_put(&m, "k5", NULL), -EEXIST);
	for (int i = 0; i < 2000; i += 2)
		ck_assert_ptr_eq(hashmap_remove(&m, keys[i]), (void *)(uintptr_t)(i + 1));
	ck_assert_uint_eq(m.n, 1000);
	for (int i = 0; i < 2000; i++)
		ck_assert_ptr_eq(hashmap_get(&m, keys[i]),
		                 i % 2 ? (void *)(uintptr_t)(i + 1) : NULL);
	ck_assert_int_eq(hashmap_replace(&m, "k1", (void *)7, &old), 0);
	ck_assert_ptr_eq(old, (void *)2);
	for (size_t i = 0; hashmap_next(&m, &i, &k, NULL);)
		n++;
	ck_assert_uint_eq(n, 1000);
	/* Churn through tombstones without growing without bound. */
	for (int round = 0; round < 100000; round++) {
		ck_assert_int_eq(hashmap_put(&m, keys[0], NULL), 0);
		ck_assert_ptr_null(hashmap_remove(&m, keys[0]));
	}
	ck_assert_uint_le(m.cap, 4096);
	hashmap_done(&m);
}
END_TEST

START_TEST(params_typed_access)
{
	struct gini_params *p = params_new_empty();
	const char *s;
	int64_t i;
	uint64_t d;

	ck_assert_int_eq(params_add_string(p, "path", "/x"), 0);
	ck_assert_int_eq(params_add_string(p, "delay", "1m30s"), 0);
	ck_assert_int_eq(params_add_string(p, "unused", "y"), 0);
	ck_assert_int_eq(params_get_string(p, "path", &s), 0);
	ck_assert_str_eq(s, "/x");
	ck_assert_int_eq(params_get_int(p, "path", &i), -EINVAL);
	ck_assert_str_eq(p->error, "param 'path': expected an integer, got a string");
	ck_assert_int_eq(params_get_duration(p, "delay", &d), 0);
	ck_assert_uint_eq(d, 90 * USEC_PER_SEC);
	ck_assert_int_eq(params_get_string(p, "absent", &s), -ENOENT);
	ck_assert_str_eq(params_first_unused(p)->name, "unused");
	params_freeze(p);
	/* Frozen: reads do not mark, errors are not recorded. */
	ck_assert_int_eq(params_get_string(p, "unused", &s), 0);
	ck_assert_str_eq(params_first_unused(p)->name, "unused");
	params_free(p);
}
END_TEST

static int
collect(const char *key, const char *value, void *userdata)
{
	char *buf = userdata;

	strcat(buf, key);
	strcat(buf, "=");
	strcat(buf, value);
	strcat(buf, ";");
	return 0;
}

START_TEST(context_ops)
{
	struct run_ctx *c = ctx_new();
	const char *v1;
	char buf[256] = "";
	char *big = malloc(CTX_MAX_BYTES);

	ck_assert_int_eq(ctx_set(c, "b", "2"), 0);
	ck_assert_int_eq(ctx_set(c, "a", "1"), 0);
	v1 = ctx_get(c, "a");
	ck_assert_int_eq(ctx_set(c, "a", "one"), 0);
	/* A borrowed value outlives its replacement. */
	ck_assert_str_eq(v1, "1");
	ck_assert_str_eq(ctx_get(c, "a"), "one");
	ck_assert_int_eq(ctx_set(c, "bad key", "x"), -EINVAL);
	ck_assert_int_eq(ctx_set(c, "", "x"), -EINVAL);
	ck_assert_int_eq(ctx_foreach(c, collect, buf), 0);
	ck_assert_str_eq(buf, "a=one;b=2;");
	ck_assert_int_eq(ctx_set(c, "b", NULL), 0);
	ck_assert_ptr_null(ctx_get(c, "b"));
	ck_assert_uint_eq(ctx_count(c), 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', CTX_MAX_BYTES - 1);
	big[CTX_MAX_BYTES - 1] = 0;
	ck_assert_int_eq(ctx_set(c, "big", big), -E2BIG);
	free(big);
	ctx_free(c);
}
END_TEST

Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, durations);
	tcase_add_test(tc, signals);
	tcase_add_test(tc, suggestions);
	tcase_add_test(tc, escapes);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, paths);
	tcase_add_test(tc, atomic_write);
	suite_add_tcase(s, tc);

	tc = tcase_create("containers");
	tcase_add_test(tc, hashmap_ops);
	tcase_add_test(tc, params_typed_access);
	tcase_add_test(tc, context_ops);
	suite_add_tcase(s, tc);
	return s;
}
