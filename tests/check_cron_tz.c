/* SPDX-License-Identifier: MIT */
/*
 * Tests for cron_tz.c, the zone file reader behind per-schedule time zones,
 * and for cron_next_tz(). glibc is the oracle: with TZ set to a zone (which
 * only a test may do: the daemon is threaded), localtime_r() must give the
 * same UTC offsets as cron_tz_offset(), and cron_next() the same fire times
 * as cron_next_tz() with the zone loaded while TZ says something else. The
 * POSIX TZ rules of zone file footers are checked the same way, with zone
 * files written by the test (no transitions, only a footer) against glibc
 * reading the same rule from TZ.
 */
#include "tests.h"

#include "cron.h"
#include "cron_tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* As in check_cron.c: Check's passing asserts are slow in hot loops. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg(__VA_ARGS__);                                                 \
	} while (0)

static void
set_tz(const char *tz)
{
	ck_assert_int_eq(setenv("TZ", tz, 1), 0);
	tzset();
}

static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi
	};

	return timegm(&tm);
}

static struct cron_tz *
load(const char *name)
{
	struct cron_tz *z = NULL;
	char err[512];

	ck_assert_msg(cron_tz_load(name, &z, err, sizeof(err)) == 0, "%s: %s", name, err);
	ck_assert_str_eq(cron_tz_name(z), name);
	return z;
}

/* Every offset from 1902 to 2100 (past the tables of fat files), sampled. */
static void
compare_offsets(const char *zone)
{
	struct cron_tz *z = load(zone);
	/* Just under 5 hours, so the samples drift through every hour of the day. */
	const int64_t step = 17987;

	set_tz(zone);
	for (int64_t t = utc(1902, 1, 1, 0, 0); t < utc(2100, 1, 1, 0, 0); t += step) {
		time_t tt = (time_t)t;
		struct tm tm;
		long o;

		CHECK(localtime_r(&tt, &tm), "localtime_r");
		CHECK(cron_tz_offset(z, t, &o) == 0, "%s: no offset at %lld", zone, (long long)t);
		CHECK(o == tm.tm_gmtoff, "%s: offset at %lld: %ld, glibc says %ld", zone,
		      (long long)t, o, tm.tm_gmtoff);
	}
	cron_tz_unref(z);
}

START_TEST(test_offsets_match_glibc)
{
	static const char *const zones[] = {
		"UTC",           "Europe/Berlin",     "America/New_York",    "Australia/Sydney",
		"Asia/Kolkata",  "America/St_Johns",  "Australia/Lord_Howe", "Pacific/Apia",
		"Europe/Moscow", "America/Sao_Paulo", "Africa/Casablanca",   "Pacific/Chatham",
	};

	compare_offsets(zones[_i]);
	(void)zones;
}
END_TEST

/* A zone file with no transitions and the given footer, in dir/name. */
static void
write_rule_zone(const char *dir, const char *name, const char *rule)
{
	static const unsigned char magic[5] = { 'T', 'Z', 'i', 'f', '2' };
	unsigned char buf[512];
	size_t n = 0;
	char path[4096];
	FILE *f;

	/* Version 1 header and an empty block with one type, then version 2. */
	for (int v = 0; v < 2; v++) {
		memset(buf + n, 0, 44);
		memcpy(buf + n, magic, sizeof(magic));
		buf[n + 39] = 1; /* typecnt */
		buf[n + 43] = 4; /* charcnt */
		n += 44;
		memset(buf + n, 0, 6); /* utoff 0, isdst 0, desigidx 0 */
		n += 6;
		memcpy(buf + n, "UTC", 4);
		n += 4;
	}
	n += (size_t)snprintf((char *)buf + n, sizeof(buf) - n, "\n%s\n", rule);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* POSIX rules: every form of rule date, southern zones, odd offsets. */
START_TEST(test_footer_rules)
{
	static const char *const rules[] = {
		"CET-1CEST,M3.5.0,M10.5.0/3",
		"EST5EDT,M3.2.0,M11.1.0",
		"AEST-10AEDT,M10.1.0,M4.1.0/3",
		"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		"NZST-12NZDT,M9.5.0,M4.1.0/3",
		"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
		"IST-1GMT0,M10.5.0,M3.5.0/1",
		"XST3XDT,J60/1,J300/1",
		"YST4YDT,59/0:30,299/23:59:59",
		"<+0545>-5:45",
		"EST5EDT",
		"<-01>1<+00>,M3.5.0/0,M10.5.0/1",
	};
	char *dir = test_tmpdir("tzdir");

	ck_assert_int_eq(setenv("TZDIR", dir, 1), 0);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct cron_tz *z;

		write_rule_zone(dir, "Test", rules[i]);
		z = load("Test");
		set_tz(rules[i]);
		for (int64_t t = utc(1990, 1, 1, 0, 0); t < utc(2060, 1, 1, 0, 0); t += 7919) {
			time_t tt = (time_t)t;
			struct tm tm;
			long o;

			CHECK(localtime_r(&tt, &tm), "localtime_r");
			CHECK(cron_tz_offset(z, t, &o) == 0, "no offset");
			CHECK(o == tm.tm_gmtoff, "'%s': offset at %lld: %ld, glibc says %ld",
			      rules[i], (long long)t, o, tm.tm_gmtoff);
		}
		cron_tz_unref(z);
	}
	unsetenv("TZDIR");
	test_rmtree(dir);
	free(dir);
}
END_TEST

static void
load_fails(const char *name, int expect_r, const char *expect_msg)
{
	struct cron_tz *z = NULL;
	char err[512] = "";
	int r = cron_tz_load(name, &z, err, sizeof(err));

	ck_assert_msg(r == expect_r, "'%s': %d, expected %d (%s)", name, r, expect_r, err);
	ck_assert_ptr_null(z);
	ck_assert_msg(strstr(err, expect_msg), "'%s': message '%s' lacks '%s'", name, err,
	              expect_msg);
}

START_TEST(test_load_errors)
{
	char *dir = test_tmpdir("tzdir");
	char path[4096];

	load_fails("Europe/Nowhere", -ENOENT, "unknown time zone 'Europe/Nowhere'");
	load_fails("../../etc/passwd", -EINVAL, "invalid time zone name '../../etc/passwd'");
	load_fails("/etc/localtime", -EINVAL, "invalid time zone name");
	load_fails("Europe/./Berlin", -EINVAL, "invalid time zone name");
	load_fails("Europe//Berlin", -EINVAL, "invalid time zone name");
	load_fails("", -EINVAL, "invalid time zone name");
	load_fails("Europe/Berlin ", -EINVAL, "invalid time zone name");
	load_fails("Europe", -EISDIR, "time zone 'Europe'");
	if (access("/usr/share/zoneinfo/right/UTC", R_OK) == 0)
		load_fails("right/UTC", -EINVAL, "zones with leap seconds");

	ck_assert_int_eq(setenv("TZDIR", dir, 1), 0);
	snprintf(path, sizeof(path), "%s/Text", dir);
	test_write_file(path, "not a zone file\n", 0644);
	load_fails("Text", -EINVAL, "not a TZif file");
	write_rule_zone(dir, "BadRule", "CET-1CEST,M3.5.0");
	load_fails("BadRule", -EINVAL, "unsupported rule 'CET-1CEST,M3.5.0'");
	snprintf(path, sizeof(path), "%s/Short", dir);
	test_write_file(path, "TZif2", 0644);
	load_fails("Short", -EINVAL, "not a TZif file");
	unsetenv("TZDIR");
	test_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * cron_next_tz() in a zone, with the process in another, is cron_next()
 * with the process in that zone: the same DST rules, fire for fire, across
 * both changes of a year.
 */
static void
compare_next(const char *zone, const char *expr, int year)
{
	struct cron_tz *z = load(zone);
	struct cron c;
	char err[256];
	time_t a, b, after = utc(year, 1, 1, 0, 0), end = utc(year + 1, 1, 1, 0, 0);
	int n = 0;

	ck_assert_msg(cron_parse(expr, &c, err, sizeof(err)) == 0, "%s", err);
	while (after < end) {
		set_tz(zone);
		CHECK(cron_next(&c, after, &a) == 0, "cron_next");
		set_tz("Asia/Tokyo");
		CHECK(cron_next_tz(&c, z, after, &b) == 0, "cron_next_tz");
		CHECK(a == b, "%s \"%s\" after %lld: local %lld, in zone %lld", zone, expr,
		      (long long)after, (long long)a, (long long)b);
		after = a;
		n++;
	}
	ck_assert_int_gt(n, 0);
	cron_tz_unref(z);
}

START_TEST(test_next_in_zone)
{
	static const char *const zones[] = { "Europe/Berlin", "America/New_York",
		                             "Australia/Sydney", "Australia/Lord_Howe" };
	static const char *const exprs[] = { "30 2 * * *", "*/20 1-3 * * *", "0 * * * sun",
		                             "15 0,2 1 * *" };

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		for (size_t j = 0; j < sizeof(exprs) / sizeof(exprs[0]); j++)
			compare_next(zones[i], exprs[j], 2023);
	/* Past the table of a fat file: the footer's rule. */
	compare_next("Europe/Berlin", "30 2 * * *", 2045);
}
END_TEST

/* The hand-computed instants of check_cron.c's Berlin case, with TZ=UTC. */
START_TEST(test_next_berlin_from_utc)
{
	struct cron_tz *z;
	struct cron c;
	time_t t;

	set_tz("UTC");
	z = load("Europe/Berlin");
	ck_assert_int_eq(cron_parse("30 2 * * *", &c, NULL, 0), 0);
	/* Spring: 02:30 does not exist; once, at 03:00 CEST = 01:00 UTC. */
	ck_assert_int_eq(cron_next_tz(&c, z, utc(2021, 3, 27, 12, 0), &t), 0);
	ck_assert_int_eq(t, utc(2021, 3, 28, 1, 0));
	/* Autumn: 02:30 twice; the first, 02:30 CEST = 00:30 UTC, only. */
	ck_assert_int_eq(cron_next_tz(&c, z, utc(2021, 10, 30, 12, 0), &t), 0);
	ck_assert_int_eq(t, utc(2021, 10, 31, 0, 30));
	ck_assert_int_eq(cron_next_tz(&c, z, t, &t), 0);
	ck_assert_int_eq(t, utc(2021, 11, 1, 1, 30));
	cron_tz_unref(cron_tz_ref(z));
	cron_tz_unref(z);
}
END_TEST

Suite *
cron_tz_suite(void)
{
	Suite *s = suite_create("cron_tz");
	TCase *tc;

	tc = tcase_create("offsets");
	tcase_add_loop_test(tc, test_offsets_match_glibc, 0, 12);
	suite_add_tcase(s, tc);

	tc = tcase_create("footer");
	tcase_add_test(tc, test_footer_rules);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_load_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("next");
	tcase_add_test(tc, test_next_in_zone);
	tcase_add_test(tc, test_next_berlin_from_utc);
	suite_add_tcase(s, tc);
	return s;
}
