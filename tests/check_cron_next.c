/* SPDX-License-Identifier: MIT */
/*
 * Tests for cron_next.c: cron_next() against hand-computed UTC instants,
 * including daylight-saving changes in several zones, and against a
 * brute-force reference that walks instants minute by minute around every
 * offset change of a year.
 *
 * Each test sets TZ itself; Check runs every test in its own process, so the
 * setting does not leak.
 */
#include "tests.h"

#include "cron.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALL_MINUTES ((UINT64_C(1) << 60) - 1)
#define ALL_HOURS   ((UINT32_C(1) << 24) - 1)
#define ALL_DOMS    (((UINT32_C(1) << 31) - 1) << 1)
#define ALL_MONTHS  ((uint16_t)0x1ffe)
#define ALL_DOWS    ((uint8_t)0x7f)
#define DAY_SECONDS 86400

/*
 * For hot loops: Check records the location of every passing ck_assert (a
 * write to its pipe), which made the year-long loops take seconds.
 */
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
		.tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi,
	};

	return timegm(&tm);
}

/* A local time that exists exactly once (tests only use such inputs). */
static time_t
local(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
		.tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi,
		.tm_isdst = -1,
	};

	return mktime(&tm);
}

/* "2026-03-29 01:00:00Z (03:00:00 +0200)", in one of a few rotating buffers. */
static const char *
fmt(time_t t)
{
	static char bufs[4][80];
	static unsigned n;
	char *b = bufs[n++ % 4];
	struct tm u, l;
	size_t len;

	if (!gmtime_r(&t, &u) || !localtime_r(&t, &l)) {
		snprintf(b, sizeof(bufs[0]), "(time %lld)", (long long)t);
		return b;
	}
	len = strftime(b, sizeof(bufs[0]), "%Y-%m-%d %H:%M:%SZ", &u);
	strftime(b + len, sizeof(bufs[0]) - len, " (%a %d %H:%M:%S %z)", &l);
	return b;
}

static struct cron
parse_ok(const char *expr)
{
	struct cron c;
	char err[512] = "";
	int r = cron_parse(expr, &c, err, sizeof(err));

	ck_assert_msg(r == 0, "cron_parse(\"%s\") = %d: %s", expr, r, err);
	return c;
}

static bool
same_cron(const struct cron *a, const struct cron *b)
{
	return a->minute == b->minute && a->hour == b->hour && a->dom == b->dom &&
	       a->month == b->month && a->dow == b->dow && a->dom_star == b->dom_star &&
	       a->dow_star == b->dow_star && a->fixed_time == b->fixed_time;
}

/* 7 and 0 are both Sunday: the same set, so the same fire times. */
static void
assert_same(const char *a, const char *b)
{
	struct cron ca = parse_ok(a), cb = parse_ok(b);

	ck_assert_msg(same_cron(&ca, &cb), "\"%s\" and \"%s\" differ", a, b);
}

/* Asserts the fire times that follow `after`, in order. */
static void
assert_fires(const char *expr, time_t after, const time_t *want, size_t n)
{
	struct cron c = parse_ok(expr);

	for (size_t i = 0; i < n; i++) {
		time_t t = 0;
		int r = cron_next(&c, after, &t);

		ck_assert_msg(r == 0, "\"%s\" after %s: %d", expr, fmt(after), r);
		ck_assert_msg(t == want[i], "\"%s\" after %s: fire %zu is %s, expected %s", expr,
		              fmt(after), i, fmt(t), fmt(want[i]));
		after = t;
	}
}
#define FIRES(expr, after, ...)                                                                    \
	do {                                                                                       \
		const time_t want_[] = { __VA_ARGS__ };                                            \
		assert_fires((expr), (after), want_, ARRAY_SIZE(want_));                           \
	} while (0)

static long
offset_at(time_t t)
{
	struct tm tm;

	CHECK(localtime_r(&t, &tm), "localtime_r(%lld) failed", (long long)t);
	return tm.tm_gmtoff;
}

/* The expression's rule, written independently of cron.c, on broken-down time. */
static bool
tm_matches(const struct cron *c, const struct tm *tm)
{
	bool dom = c->dom >> tm->tm_mday & 1, dow = c->dow >> tm->tm_wday & 1;

	if (!(c->minute >> tm->tm_min & 1) || !(c->hour >> tm->tm_hour & 1) ||
	    !(c->month >> (tm->tm_mon + 1) & 1))
		return false;
	return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

/* Whether the expression matches wall-clock time w (local time counted as UTC). */
static bool
wall_matches(const struct cron *c, time_t w)
{
	struct tm tm;

	CHECK(gmtime_r(&w, &tm), "gmtime_r(%lld) failed", (long long)w);
	return tm.tm_sec == 0 && tm_matches(c, &tm);
}

/*
 * The reference: whether the expression fires at instant t (a whole UTC
 * minute), by the rules of cron.h, decided from this instant alone.
 */
static bool
oracle_fires(const struct cron *c, time_t t)
{
	long o = offset_at(t), o_prev = offset_at(t - 1);

	/* Clocks jumped forward at t: a fixed-time job due in the gap fires now. */
	if (c->fixed_time && o > o_prev)
		for (time_t w = t + o_prev; w < t + o; w += 60)
			if (wall_matches(c, w))
				return true;
	if (!wall_matches(c, t + o))
		return false;
	if (!c->fixed_time)
		return true;
	/*
	 * A fixed-time job fires at the first occurrence only: look for the same
	 * wall-clock time at an earlier instant, which needs a larger offset,
	 * among the offsets of the last 26 hours (none lasts under 15 minutes).
	 */
	for (time_t s = t - 26 * 3600; s < t; s += 900) {
		long os = offset_at(s);
		time_t e = t + o - os;

		if (os > o && e < t && offset_at(e) == os)
			return false;
	}
	return true;
}

/*
 * Compares cron_next() with oracle_fires() over [start, end): the sequence of
 * fires, and the answer from many points in between (every 7 min 13 s).
 */
static void
compare_with_oracle(const char *expr, time_t start, time_t end)
{
	struct cron c = parse_ok(expr);
	time_t *fires = NULL;
	size_t n = 0, cap = 0, k = 0;
	time_t after, t;

	start = start / 60 * 60;
	for (t = start; t < end; t += 60) {
		if (!oracle_fires(&c, t))
			continue;
		if (n == cap) {
			time_t *more;

			cap = cap ? 2 * cap : 64;
			more = realloc(fires, cap * sizeof(*fires));
			CHECK(more, "out of memory");
			fires = more;
		}
		fires[n++] = t;
	}

	after = start - 1;
	for (size_t i = 0; i < n; i++) {
		CHECK(cron_next(&c, after, &t) == 0 && t == fires[i],
		      "%s: \"%s\" after %s: got %s, expected %s", getenv("TZ"), expr, fmt(after),
		      fmt(t), fmt(fires[i]));
		after = t;
	}
	ck_assert_int_eq(cron_next(&c, after, &t), 0);
	ck_assert_msg(t >= end, "%s: \"%s\" after %s: extra fire %s", getenv("TZ"), expr,
	              fmt(after), fmt(t));

	for (after = start; after < end; after += 433) {
		while (k < n && fires[k] <= after)
			k++;
		if (k == n)
			break;
		CHECK(cron_next(&c, after, &t) == 0 && t == fires[k],
		      "%s: \"%s\" after %s: got %s, expected %s", getenv("TZ"), expr, fmt(after),
		      fmt(t), fmt(fires[k]));
	}
	free(fires);
}

/* Next fire time: the calendar */

START_TEST(test_next_basic)
{
	set_tz("UTC");
	FIRES("* * * * *", utc(2026, 6, 10, 12, 0), utc(2026, 6, 10, 12, 1),
	      utc(2026, 6, 10, 12, 2));
	FIRES("* * * * *", utc(2026, 6, 10, 12, 0) + 30, utc(2026, 6, 10, 12, 1));
	FIRES("* * * * *", utc(2026, 6, 10, 12, 0) - 1, utc(2026, 6, 10, 12, 0));
	FIRES("*/5 * * * *", utc(2026, 6, 10, 12, 3), utc(2026, 6, 10, 12, 5),
	      utc(2026, 6, 10, 12, 10));
	FIRES("0 * * * *", utc(2026, 6, 10, 12, 0), utc(2026, 6, 10, 13, 0));
	FIRES("59 23 * * *", utc(2026, 12, 31, 23, 59), utc(2027, 1, 1, 23, 59));
	FIRES("0 0 1 1 *", utc(2026, 6, 10, 0, 0), utc(2027, 1, 1, 0, 0), utc(2028, 1, 1, 0, 0));
	FIRES("59 23 31 12 *", utc(2026, 12, 31, 23, 59), utc(2027, 12, 31, 23, 59));
	FIRES("15 10 * 3 *", utc(2026, 3, 31, 10, 15), utc(2027, 3, 1, 10, 15));
	FIRES("0 0 1 1 *", utc(1960, 6, 1, 0, 0), utc(1961, 1, 1, 0, 0));
	FIRES("30 4 * * *", utc(1969, 12, 31, 23, 59), utc(1970, 1, 1, 4, 30));
	FIRES("0 0 1 1 *", utc(2999, 6, 1, 0, 0), utc(3000, 1, 1, 0, 0));

	set_tz("Europe/Berlin");
	FIRES("30 2 * * *", local(2026, 6, 10, 2, 30), local(2026, 6, 11, 2, 30));
	FIRES("0 9 * * mon-fri", local(2026, 6, 12, 9, 0), utc(2026, 6, 15, 7, 0),
	      utc(2026, 6, 16, 7, 0));
	FIRES("0 9 * * mon-fri", utc(2026, 1, 9, 8, 0), utc(2026, 1, 12, 8, 0));
	FIRES("@yearly", utc(2026, 6, 1, 0, 0), utc(2026, 12, 31, 23, 0));
	/* Past the end of the zone file's table: glibc uses its POSIX TZ rule. */
	FIRES("0 0 1 1 *", utc(2200, 6, 1, 0, 0), utc(2200, 12, 31, 23, 0));
	FIRES("30 2 1 7 *", utc(2200, 6, 1, 0, 0), utc(2200, 7, 1, 0, 30));

	set_tz("Asia/Kathmandu"); /* +05:45 */
	FIRES("0 9 * * *", utc(2026, 6, 10, 0, 0), utc(2026, 6, 10, 3, 15));
	set_tz("America/St_Johns"); /* -02:30 in summer */
	FIRES("0 9 * * *", utc(2026, 6, 10, 0, 0), utc(2026, 6, 10, 11, 30));
}
END_TEST

START_TEST(test_next_month_ends)
{
	set_tz("UTC");
	FIRES("0 0 31 * *", utc(2026, 1, 31, 0, 0), utc(2026, 3, 31, 0, 0), utc(2026, 5, 31, 0, 0),
	      utc(2026, 7, 31, 0, 0), utc(2026, 8, 31, 0, 0), utc(2026, 10, 31, 0, 0),
	      utc(2026, 12, 31, 0, 0), utc(2027, 1, 31, 0, 0));
	FIRES("0 0 30 * *", utc(2026, 1, 30, 0, 0), utc(2026, 3, 30, 0, 0));
	FIRES("0 0 29 * *", utc(2027, 1, 29, 0, 0), utc(2027, 3, 29, 0, 0));
	FIRES("0 0 29 * *", utc(2028, 1, 29, 0, 0), utc(2028, 2, 29, 0, 0));
	FIRES("0 12 31 2,4,6,8 *", utc(2026, 1, 1, 0, 0), utc(2026, 8, 31, 12, 0),
	      utc(2027, 8, 31, 12, 0));
	FIRES("0 0 1 * *", utc(2026, 12, 31, 23, 59), utc(2027, 1, 1, 0, 0));
	FIRES("0 0 28-31 2 *", utc(2027, 2, 27, 0, 0), utc(2027, 2, 28, 0, 0),
	      utc(2028, 2, 28, 0, 0), utc(2028, 2, 29, 0, 0), utc(2029, 2, 28, 0, 0));
}
END_TEST

START_TEST(test_next_leap_years)
{
	set_tz("UTC");
	FIRES("0 0 29 2 *", utc(2026, 1, 1, 0, 0), utc(2028, 2, 29, 0, 0), utc(2032, 2, 29, 0, 0));
	FIRES("0 0 29 2 *", utc(2028, 2, 29, 0, 0) - 1, utc(2028, 2, 29, 0, 0));
	/* 2100 is not a leap year; 2000 was. */
	FIRES("0 0 29 2 *", utc(2096, 2, 29, 0, 0), utc(2104, 2, 29, 0, 0));
	FIRES("0 0 29 2 *", utc(1999, 3, 1, 0, 0), utc(2000, 2, 29, 0, 0));
	FIRES("0 0 29 2 *", utc(1896, 3, 1, 0, 0), utc(1904, 2, 29, 0, 0));
	/* Feb 29 that is a Sunday (AND rule): 40 years apart across 2100. */
	FIRES("0 0 29 2 */7", utc(2088, 3, 1, 0, 0), utc(2128, 2, 29, 0, 0),
	      utc(2156, 2, 29, 0, 0));
	FIRES("0 0 29 2 */7", utc(2680, 3, 1, 0, 0), utc(2720, 2, 29, 0, 0));

	set_tz("Europe/Berlin");
	FIRES("0 2 29 2 *", utc(2026, 1, 1, 0, 0), utc(2028, 2, 29, 1, 0), utc(2032, 2, 29, 1, 0));
	FIRES("0 0 29 2 *", utc(2096, 2, 28, 23, 0), utc(2104, 2, 28, 23, 0));
}
END_TEST

START_TEST(test_next_dom_dow)
{
	set_tz("UTC");
	/* Both restricted: the 13th, and every Friday. */
	FIRES("0 0 13 * fri", utc(2026, 5, 9, 0, 0), utc(2026, 5, 13, 0, 0), utc(2026, 5, 15, 0, 0),
	      utc(2026, 5, 22, 0, 0), utc(2026, 5, 29, 0, 0), utc(2026, 6, 5, 0, 0),
	      utc(2026, 6, 12, 0, 0), utc(2026, 6, 13, 0, 0), utc(2026, 6, 19, 0, 0));
	/* One is '*': only the other counts. */
	FIRES("0 0 13 * *", utc(2026, 5, 9, 0, 0), utc(2026, 5, 13, 0, 0), utc(2026, 6, 13, 0, 0));
	FIRES("0 0 * * fri", utc(2026, 5, 9, 0, 0), utc(2026, 5, 15, 0, 0), utc(2026, 5, 22, 0, 0));
	/* A day-of-month beginning with '*' counts as '*' (Vixie): odd days that are Mondays. */
	FIRES("0 0 */2 * mon", utc(2026, 5, 31, 0, 0), utc(2026, 6, 1, 0, 0),
	      utc(2026, 6, 15, 0, 0), utc(2026, 6, 29, 0, 0), utc(2026, 7, 13, 0, 0),
	      utc(2026, 7, 27, 0, 0));
	/* The same set of days written as a range is restricted: odd days, and Mondays. */
	FIRES("0 0 1-31/2 * mon", utc(2026, 6, 1, 0, 0), utc(2026, 6, 3, 0, 0),
	      utc(2026, 6, 5, 0, 0), utc(2026, 6, 7, 0, 0), utc(2026, 6, 8, 0, 0),
	      utc(2026, 6, 9, 0, 0));
	/* The 1st, when it is a Sunday, Tuesday, Thursday or Saturday. */
	FIRES("0 0 1 * */2", utc(2026, 1, 1, 0, 0), utc(2026, 2, 1, 0, 0), utc(2026, 3, 1, 0, 0),
	      utc(2026, 8, 1, 0, 0), utc(2026, 9, 1, 0, 0));
	/* OR rule with a month restriction: still only that month. */
	FIRES("0 0 30 2 mon", utc(2026, 1, 1, 0, 0), utc(2026, 2, 2, 0, 0), utc(2026, 2, 9, 0, 0),
	      utc(2026, 2, 16, 0, 0), utc(2026, 2, 23, 0, 0), utc(2027, 2, 1, 0, 0));
}
END_TEST

START_TEST(test_next_sunday)
{
	set_tz("UTC");
	assert_same("0 0 * * 0", "0 0 * * 7");
	assert_same("0 0 * * 0", "0 0 * * sun");
	assert_same("0 0 * * 0", "0 0 * * 0,7");
	assert_same("0 0 * * 5-7", "0 0 * * 0,5,6");
	assert_same("0 0 * * 0-7", "0 0 * * 0-6");
	/* 2026-06-13 is a Saturday. */
	FIRES("0 0 * * 7", utc(2026, 6, 13, 0, 0), utc(2026, 6, 14, 0, 0), utc(2026, 6, 21, 0, 0));
	FIRES("0 0 * * 0", utc(2026, 6, 13, 0, 0), utc(2026, 6, 14, 0, 0), utc(2026, 6, 21, 0, 0));
	FIRES("0 0 * * 5-7", utc(2026, 6, 11, 0, 0), utc(2026, 6, 12, 0, 0), utc(2026, 6, 13, 0, 0),
	      utc(2026, 6, 14, 0, 0), utc(2026, 6, 19, 0, 0));
	FIRES("0 0 * * fri-sun", utc(2026, 6, 11, 0, 0), utc(2026, 6, 12, 0, 0),
	      utc(2026, 6, 13, 0, 0), utc(2026, 6, 14, 0, 0), utc(2026, 6, 19, 0, 0));
	FIRES("@weekly", utc(2026, 6, 13, 0, 0), utc(2026, 6, 14, 0, 0));
}
END_TEST

/* Next fire time: daylight saving */

START_TEST(test_dst_berlin)
{
	set_tz("Europe/Berlin");

	/* 2026-03-29 01:00Z: 02:00 CET becomes 03:00 CEST. */
	FIRES("30 2 * * *", utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0),
	      utc(2026, 3, 30, 0, 30));
	FIRES("0 2 * * *", utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 0));
	FIRES("15,45 2 * * *", utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0),
	      utc(2026, 3, 30, 0, 15), utc(2026, 3, 30, 0, 45));
	FIRES("0 2,3 * * *", utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0),
	      utc(2026, 3, 30, 0, 0), utc(2026, 3, 30, 1, 0));
	FIRES("0 3 * * *", utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 1, 0));
	FIRES("59 1 * * *", utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 0, 59));
	FIRES("30 2 * * *", utc(2026, 3, 29, 1, 0) - 1, utc(2026, 3, 29, 1, 0));
	FIRES("30 2 * * *", utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30));
	FIRES("@daily", utc(2026, 3, 28, 12, 0), utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0));
	/* Wildcard jobs have nothing in the missing hour. */
	FIRES("30 * * * *", utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 0, 30),
	      utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2, 30));
	FIRES("*/15 * * * *", utc(2026, 3, 29, 0, 40), utc(2026, 3, 29, 0, 45),
	      utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 15));
	FIRES("* 2 * * *", utc(2026, 3, 28, 12, 0), utc(2026, 3, 30, 0, 0));
	FIRES("@hourly", utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0));

	/* 2026-10-25 01:00Z: 03:00 CEST becomes 02:00 CET. */
	FIRES("30 2 * * *", utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 0, 30),
	      utc(2026, 10, 26, 1, 30));
	FIRES("0 2 * * *", utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 0, 0),
	      utc(2026, 10, 26, 1, 0));
	FIRES("0 3 * * *", utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 2, 0));
	FIRES("0-59/20 2 * * *", utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 0, 0),
	      utc(2026, 10, 25, 0, 20), utc(2026, 10, 25, 0, 40), utc(2026, 10, 26, 1, 0));
	/* After its first occurrence has fired, a fixed-time job waits for tomorrow. */
	FIRES("45 2 * * *", utc(2026, 10, 25, 0, 50), utc(2026, 10, 26, 1, 45));
	FIRES("15 2 * * *", utc(2026, 10, 25, 1, 5), utc(2026, 10, 26, 1, 15));
	FIRES("0-59 2 * * *", utc(2026, 10, 25, 1, 5), utc(2026, 10, 26, 1, 0));
	/* Wildcard jobs fire in both passes of the repeated hour. */
	FIRES("*/30 2 * * *", utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 0, 0),
	      utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 1, 30),
	      utc(2026, 10, 26, 1, 0));
	FIRES("30 * * * *", utc(2026, 10, 24, 23, 45), utc(2026, 10, 25, 0, 30),
	      utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 2, 30));
	/* From late in the first pass, the second pass comes before 03:00. */
	FIRES("*/15 * * * *", utc(2026, 10, 25, 0, 50), utc(2026, 10, 25, 1, 0),
	      utc(2026, 10, 25, 1, 15), utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 1, 45),
	      utc(2026, 10, 25, 2, 0));
	FIRES("*/15 * * * *", utc(2026, 10, 25, 0, 40), utc(2026, 10, 25, 0, 45),
	      utc(2026, 10, 25, 1, 0));
	FIRES("5 * * * *", utc(2026, 10, 25, 0, 50), utc(2026, 10, 25, 1, 5),
	      utc(2026, 10, 25, 2, 5));
	FIRES("* 2 * * *", utc(2026, 10, 25, 1, 5), utc(2026, 10, 25, 1, 6));
	FIRES("@hourly", utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 0),
	      utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 2, 0));
}
END_TEST

START_TEST(test_dst_new_york)
{
	set_tz("America/New_York");

	/* 2026-03-08 07:00Z: 02:00 EST becomes 03:00 EDT. */
	FIRES("30 2 * * *", utc(2026, 3, 7, 12, 0), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30));
	FIRES("0 2 * * *", utc(2026, 3, 7, 12, 0), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 0));
	FIRES("30 1 * * *", utc(2026, 3, 7, 12, 0), utc(2026, 3, 8, 6, 30));
	FIRES("30 * * * *", utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30));
	FIRES("*/20 * * * *", utc(2026, 3, 8, 6, 45), utc(2026, 3, 8, 7, 0),
	      utc(2026, 3, 8, 7, 20));

	/* 2026-11-01 06:00Z: 02:00 EDT becomes 01:00 EST. */
	FIRES("30 1 * * *", utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 5, 30),
	      utc(2026, 11, 2, 6, 30));
	FIRES("0 1 * * *", utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 5, 0),
	      utc(2026, 11, 2, 6, 0));
	FIRES("0 2 * * *", utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 7, 0));
	FIRES("30 * * * *", utc(2026, 11, 1, 4, 45), utc(2026, 11, 1, 5, 30),
	      utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 7, 30));
	FIRES("*/20 * * * *", utc(2026, 11, 1, 5, 50), utc(2026, 11, 1, 6, 0),
	      utc(2026, 11, 1, 6, 20), utc(2026, 11, 1, 6, 40), utc(2026, 11, 1, 7, 0));
	FIRES("*/20 1 * * *", utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 5, 0),
	      utc(2026, 11, 1, 5, 20), utc(2026, 11, 1, 5, 40), utc(2026, 11, 1, 6, 0),
	      utc(2026, 11, 1, 6, 20), utc(2026, 11, 1, 6, 40), utc(2026, 11, 2, 6, 0));
	FIRES("0,20,40 1 * * *", utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 5, 0),
	      utc(2026, 11, 1, 5, 20), utc(2026, 11, 1, 5, 40), utc(2026, 11, 2, 6, 0));
}
END_TEST

START_TEST(test_dst_other_zones)
{
	/* 30-minute shifts. Clocks go back 02:00 +11 -> 01:30 +1030 on 2026-04-05. */
	set_tz("Australia/Lord_Howe");
	FIRES("45 1 * * *", utc(2026, 4, 4, 0, 0), utc(2026, 4, 4, 14, 45),
	      utc(2026, 4, 5, 15, 15));
	FIRES("45 * * * *", utc(2026, 4, 4, 14, 30), utc(2026, 4, 4, 14, 45),
	      utc(2026, 4, 4, 15, 15), utc(2026, 4, 4, 16, 15));
	/* Forward 02:00 +1030 -> 02:30 +11 on 2026-10-04. */
	FIRES("15 2 * * *", utc(2026, 10, 3, 0, 0), utc(2026, 10, 3, 15, 30),
	      utc(2026, 10, 4, 15, 15));
	FIRES("*/20 * * * *", utc(2026, 10, 3, 15, 25), utc(2026, 10, 3, 15, 40));

	/* Changes at midnight. Forward 24:00 -04 -> 01:00 -03 on 2026-09-06. */
	set_tz("America/Santiago");
	FIRES("0 0 * * *", utc(2026, 9, 5, 12, 0), utc(2026, 9, 6, 4, 0), utc(2026, 9, 7, 3, 0));
	FIRES("30 0 * * *", utc(2026, 9, 5, 12, 0), utc(2026, 9, 6, 4, 0), utc(2026, 9, 7, 3, 30));
	/* Back 24:00 -03 -> 23:00 -04 on 2026-04-04: Saturday 23:xx happens twice. */
	FIRES("30 23 * * *", utc(2026, 4, 4, 12, 0), utc(2026, 4, 5, 2, 30),
	      utc(2026, 4, 6, 3, 30));
	FIRES("30 * * * *", utc(2026, 4, 5, 2, 0), utc(2026, 4, 5, 2, 30), utc(2026, 4, 5, 3, 30),
	      utc(2026, 4, 5, 4, 30));
	FIRES("30 23 * * sat", utc(2026, 4, 4, 12, 0), utc(2026, 4, 5, 2, 30),
	      utc(2026, 4, 12, 3, 30));

	/* Back 01:00 CDT -> 00:00 CST on 2026-11-01: the date itself repeats. */
	set_tz("America/Havana");
	FIRES("0 0 * * *", utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 4, 0),
	      utc(2026, 11, 2, 5, 0));
	FIRES("0 0 1 * *", utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 4, 0),
	      utc(2026, 12, 1, 5, 0));
	FIRES("*/30 0 * * *", utc(2026, 11, 1, 3, 0), utc(2026, 11, 1, 4, 0),
	      utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 5, 30),
	      utc(2026, 11, 2, 5, 0));
	/* Forward 00:00 CST -> 01:00 CDT on 2026-03-08. */
	FIRES("0 0 * * *", utc(2026, 3, 7, 12, 0), utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0));

	/* Two-hour shifts. */
	set_tz("Antarctica/Troll");
	FIRES("30 1 * * *", utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0),
	      utc(2026, 3, 29, 23, 30));
	FIRES("0 1,2 * * *", utc(2026, 10, 24, 12, 0), utc(2026, 10, 24, 23, 0),
	      utc(2026, 10, 25, 0, 0), utc(2026, 10, 26, 1, 0));
	FIRES("0 * * * *", utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 0),
	      utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 3, 0));

	/* A whole day skipped: Samoa went from -10 to +14 after 2011-12-29. */
	set_tz("Pacific/Apia");
	FIRES("0 12 * * *", utc(2011, 12, 29, 12, 0), utc(2011, 12, 29, 22, 0),
	      utc(2011, 12, 30, 10, 0), utc(2011, 12, 30, 22, 0));
	FIRES("0 0 30 12 *", utc(2011, 12, 1, 0, 0), utc(2011, 12, 30, 10, 0),
	      utc(2012, 12, 29, 10, 0));
	FIRES("0 * 30 12 *", utc(2011, 12, 1, 0, 0), utc(2012, 12, 29, 10, 0));
}
END_TEST

START_TEST(test_dst_oracle)
{
	static const char *const zones[] = {
		"Europe/Berlin",       "America/New_York",
		"Australia/Lord_Howe", "America/Santiago",
		"America/Havana",      "Antarctica/Troll",
		"Europe/Dublin",       "Asia/Tehran",
		"Pacific/Apia",        "UTC",
	};
	static const char *const exprs[] = {
		"30 2 * * *",   "0 2 * * *",  "15,45 1-3 * * *", "0-59/10 2 * * *",
		"*/15 * * * *", "30 * * * *", "* 2 * * *",       "0 0 * * *",
		"30 23 * * *",  "45 1 * * *", "0 1,2 * * *",     "*/20 0-3 * * 0",
		"@hourly",      "0 12 * * *", "*/7 */2 * * *",   "0 0,12 29-31 * *",
	};

	for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
		/* Apia's interesting year is 2011; Tehran dropped DST in 2022. */
		int year = streq(zones[z], "Pacific/Apia")  ? 2011
		           : streq(zones[z], "Asia/Tehran") ? 2021
		                                            : 2026;
		time_t t = utc(year, 1, 1, 0, 0), end = utc(year + 1, 1, 1, 0, 0);
		long o;
		int windows = 0;

		set_tz(zones[z]);
		/* Four days around every offset change of the year (an hourly scan finds them). */
		o = offset_at(t);
		for (; t < end; t += 3600) {
			long o2 = offset_at(t);

			if (o2 == o)
				continue;
			o = o2;
			windows++;
			for (size_t e = 0; e < ARRAY_SIZE(exprs); e++)
				compare_with_oracle(exprs[e], t - 2 * DAY_SECONDS,
				                    t + 2 * DAY_SECONDS);
		}
		ck_assert(windows >= (streq(zones[z], "UTC") ? 0 : 2));
		if (windows == 0)
			for (size_t e = 0; e < ARRAY_SIZE(exprs); e++)
				compare_with_oracle(exprs[e], utc(year, 6, 1, 0, 0),
				                    utc(year, 6, 5, 0, 0));
	}
}
END_TEST

/*
 * A year of fires from 2026-01-01: strictly increasing, each at a matching
 * local time (or, for a fixed-time job, at the end of a gap in which it was
 * due), and as many as the calendar says.
 */
static void
check_year(const char *expr, size_t expected)
{
	struct cron c = parse_ok(expr);
	time_t after = local(2026, 1, 1, 0, 0) - 1, end = local(2027, 1, 1, 0, 0), t;
	size_t n = 0;

	for (;;) {
		struct tm tm;

		CHECK(cron_next(&c, after, &t) == 0 && t > after, "%s: \"%s\" after %s: %s",
		      getenv("TZ"), expr, fmt(after), fmt(t));
		if (t >= end)
			break;
		CHECK(localtime_r(&t, &tm), "localtime_r failed");
		if (!(tm.tm_sec == 0 && tm_matches(&c, &tm)))
			CHECK(c.fixed_time && offset_at(t - 1) < offset_at(t),
			      "%s: \"%s\" fired at %s", getenv("TZ"), expr, fmt(t));
		n++;
		after = t;
	}
	ck_assert_msg(n == expected, "%s: \"%s\" fired %zu times in 2026, expected %zu",
	              getenv("TZ"), expr, n, expected);
}

START_TEST(test_sequence)
{
	static const char *const zones[] = { "Europe/Berlin", "America/New_York",
		                             "Australia/Lord_Howe", "UTC" };

	for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
		bool half = streq(zones[z], "Australia/Lord_Howe");

		set_tz(zones[z]);
		/* Fixed-time jobs: exactly once a day, DST or not. */
		check_year("30 2 * * *", 365);
		check_year("30 1 * * *", 365);
		check_year("0 0 * * *", 365);
		check_year("0 9 * * mon-fri", 261);
		/* Wildcard jobs: the hour lost in spring comes back in autumn. */
		check_year("0 * * * *", half ? 365 * 24 - 1 : 365 * 24);
		check_year("*/5 * * * *", 365 * 24 * 12);
		check_year("* * * * *", 365 * 24 * 60);
		/* Lord Howe's changes are half an hour: 02:00-02:29 is lost, 01:30-01:59 repeats.
		 */
		check_year("15 2 * * *", 365);
		check_year("15 * * * *", half ? 365 * 24 - 1 : 365 * 24);
		check_year("45 1 * * *", 365);
		check_year("45 * * * *", half ? 365 * 24 + 1 : 365 * 24);
		check_year("0 0 29 2 *", 0);
		check_year("0 0 31 * *", 7);
	}
}
END_TEST

START_TEST(test_never_fires)
{
	struct cron c;
	time_t t = 12345;

	set_tz("Europe/Berlin");
	/* cron_parse() refuses these; a hand-built struct gets -ERANGE, not a hang. */
	c = parse_ok("0 0 * 2 *");
	c.dom = 1u << 30;
	ck_assert_int_eq(cron_next(&c, utc(2026, 1, 1, 0, 0), &t), -ERANGE);
	ck_assert_int_eq(t, 12345);
	c = parse_ok("0 0 * * *");
	c.minute = 0;
	ck_assert_int_eq(cron_next(&c, utc(2026, 1, 1, 0, 0), &t), -ERANGE);
	c = parse_ok("0 0 * * *");
	c.month = 1; /* bit 0 is no month */
	ck_assert_int_eq(cron_next(&c, utc(2026, 1, 1, 0, 0), &t), -ERANGE);
	ck_assert_int_eq(t, 12345);

	/* Beyond what struct tm can hold. */
	c = parse_ok("* * * * *");
	ck_assert_int_eq(cron_next(&c, INT64_MAX, &t), -ERANGE);
	ck_assert_int_eq(t, 12345);
}
END_TEST

START_TEST(test_robustness)
{
	/* Zones with odd histories: local mean time, date-line moves, double summer time. */
	static const char *const zones[] = {
		"Europe/Berlin",    "Europe/London",       "Europe/Moscow",   "Pacific/Kwajalein",
		"Pacific/Apia",     "America/Juneau",      "Asia/Manila",     "Africa/Casablanca",
		"Pacific/Chatham",  "Australia/Lord_Howe", "America/Caracas", "Asia/Kolkata",
		"Antarctica/Casey", "Pacific/Kiritimati",
	};
	static const char *const exprs[] = { "*/30 * * * *", "30 2 * * *", "0 0 * * *",
		                             "* 1-3 * * *" };
	static const int starts[] = { 1840, 1890, 1916, 1940, 1969, 1993, 2011, 2030, 2090 };

	for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
		set_tz(zones[z]);
		for (size_t e = 0; e < ARRAY_SIZE(exprs); e++) {
			struct cron c = parse_ok(exprs[e]);

			for (size_t s = 0; s < ARRAY_SIZE(starts); s++) {
				time_t after = utc(starts[s], 1, 1, 0, 0), t;

				for (int i = 0; i < 400; i++) {
					CHECK(cron_next(&c, after, &t) == 0 && t > after &&
					              t - after <= 3 * DAY_SECONDS,
					      "%s: \"%s\": %s after %s", zones[z], exprs[e], fmt(t),
					      fmt(after));
					after = t;
				}
			}
		}
	}

	/* The far edges of time_t and struct tm: an answer or -ERANGE, never a crash. */
	set_tz("Europe/Berlin");
	{
		static const time_t edges[] = {
			(time_t)INT64_C(67767976233316800),
			(time_t)INT64_C(67768036191676799) - 60,
			(time_t)INT64_C(-67768040609740800),
			(time_t)INT64_MIN,
			(time_t)INT64_MAX - 1,
		};
		struct cron c = parse_ok("* * * * *");

		for (size_t i = 0; i < ARRAY_SIZE(edges); i++) {
			time_t t;
			int r = cron_next(&c, edges[i], &t);

			ck_assert(r == -ERANGE || (r == 0 && t > edges[i]));
		}
	}
}
END_TEST

Suite *
cron_next_suite(void)
{
	Suite *s = suite_create("cron_next");
	TCase *tc;

	tc = tcase_create("next");
	tcase_add_test(tc, test_next_basic);
	suite_add_tcase(s, tc);

	tc = tcase_create("month_ends");
	tcase_add_test(tc, test_next_month_ends);
	suite_add_tcase(s, tc);

	tc = tcase_create("leap_years");
	tcase_add_test(tc, test_next_leap_years);
	suite_add_tcase(s, tc);

	tc = tcase_create("dom_dow");
	tcase_add_test(tc, test_next_dom_dow);
	suite_add_tcase(s, tc);

	tc = tcase_create("sunday");
	tcase_add_test(tc, test_next_sunday);
	suite_add_tcase(s, tc);

	tc = tcase_create("dst");
	tcase_add_test(tc, test_dst_berlin);
	tcase_add_test(tc, test_dst_new_york);
	tcase_add_test(tc, test_dst_other_zones);
	suite_add_tcase(s, tc);

	tc = tcase_create("dst_oracle");
	tcase_add_test(tc, test_dst_oracle);
	suite_add_tcase(s, tc);

	tc = tcase_create("sequence");
	tcase_add_test(tc, test_sequence);
	suite_add_tcase(s, tc);

	tc = tcase_create("never_fires");
	tcase_add_test(tc, test_never_fires);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_test(tc, test_robustness);
	suite_add_tcase(s, tc);

	return s;
}
