/* SPDX-License-Identifier: MIT */
/*
 * Tests for cron.c, the parser: every accepted form, every message, the
 * flags that decide day matching and daylight saving. The next fire times
 * are check_cron_next.c's.
 */
#include "tests.h"

#include "cron.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL_MINUTES ((UINT64_C(1) << 60) - 1)
#define ALL_HOURS   ((UINT32_C(1) << 24) - 1)
#define ALL_DOMS    (((UINT32_C(1) << 31) - 1) << 1)
#define ALL_MONTHS  ((uint16_t)0x1ffe)
#define ALL_DOWS    ((uint8_t)0x7f)

static struct cron
parse_ok(const char *expr)
{
	struct cron c;
	char err[512] = "";
	int r = cron_parse(expr, &c, err, sizeof(err));

	ck_assert_msg(r == 0, "cron_parse(\"%s\") = %d: %s", expr, r, err);
	return c;
}

static void
parse_fails(const char *expr, const char *message)
{
	struct cron c, orig;
	char err[512] = "";
	int r;

	memset(&c, 0xa5, sizeof(c));
	orig = c;
	r = cron_parse(expr, &c, err, sizeof(err));
	ck_assert_msg(r == -EINVAL, "cron_parse(\"%s\") = %d, expected -EINVAL", expr, r);
	ck_assert_msg(streq(err, message), "cron_parse(\"%s\"): got \"%s\", expected \"%s\"", expr,
	              err, message);
	/* Member by member: the padding of struct cron is not compared. */
	ck_assert_msg(c.minute == orig.minute && c.hour == orig.hour && c.dom == orig.dom &&
	                      c.month == orig.month && c.dow == orig.dow &&
	                      c.dom_star == orig.dom_star && c.dow_star == orig.dow_star &&
	                      c.fixed_time == orig.fixed_time,
	              "cron_parse(\"%s\") wrote *ret", expr);
}

static bool
same_cron(const struct cron *a, const struct cron *b)
{
	return a->minute == b->minute && a->hour == b->hour && a->dom == b->dom &&
	       a->month == b->month && a->dow == b->dow && a->dom_star == b->dom_star &&
	       a->dow_star == b->dow_star && a->fixed_time == b->fixed_time;
}

static void
assert_same(const char *a, const char *b)
{
	struct cron ca = parse_ok(a), cb = parse_ok(b);

	ck_assert_msg(same_cron(&ca, &cb), "\"%s\" and \"%s\" differ", a, b);
}

static uint64_t
bits(const int *v, size_t n)
{
	uint64_t b = 0;

	for (size_t i = 0; i < n; i++)
		b |= UINT64_C(1) << v[i];
	return b;
}
#define BITS(...)                                                                                  \
	bits((const int[]){ __VA_ARGS__ }, sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

/* Parsing */

START_TEST(test_parse_forms)
{
	struct cron c;

	c = parse_ok("* * * * *");
	ck_assert_uint_eq(c.minute, ALL_MINUTES);
	ck_assert_uint_eq(c.hour, ALL_HOURS);
	ck_assert_uint_eq(c.dom, ALL_DOMS);
	ck_assert_uint_eq(c.month, ALL_MONTHS);
	ck_assert_uint_eq(c.dow, ALL_DOWS);
	ck_assert(c.dom_star && c.dow_star && !c.fixed_time);

	c = parse_ok("0 2 * * *");
	ck_assert_uint_eq(c.minute, 1);
	ck_assert_uint_eq(c.hour, 1u << 2);
	ck_assert(c.dom_star && c.dow_star && c.fixed_time);

	/* Blanks of any kind and number between fields, and around them. */
	assert_same("0 2 * * *", "  0\t2 *  *\t\t*  ");
	assert_same("0 2 * * *", "\t0 2 * * *\t");
	/* Leading zeros. */
	assert_same("07 02 01 01 00", "7 2 1 1 0");

	c = parse_ok("5,10 1-3 1,15 6 1-5");
	ck_assert_uint_eq(c.minute, BITS(5, 10));
	ck_assert_uint_eq(c.hour, BITS(1, 2, 3));
	ck_assert_uint_eq(c.dom, BITS(1, 15));
	ck_assert_uint_eq(c.month, BITS(6));
	ck_assert_uint_eq(c.dow, BITS(1, 2, 3, 4, 5));
	ck_assert(!c.dom_star && !c.dow_star && c.fixed_time);

	c = parse_ok("0-59 0-23 1-31 1-12 0-7");
	ck_assert_uint_eq(c.minute, ALL_MINUTES);
	ck_assert_uint_eq(c.hour, ALL_HOURS);
	ck_assert_uint_eq(c.dom, ALL_DOMS);
	ck_assert_uint_eq(c.month, ALL_MONTHS);
	ck_assert_uint_eq(c.dow, ALL_DOWS);
	ck_assert(!c.dom_star && !c.dow_star && c.fixed_time);

	/* An expression of exactly the maximum length. */
	{
		char buf[CRON_EXPR_MAX + 1];

		memset(buf, ' ', CRON_EXPR_MAX);
		memcpy(buf, "0 2 * * *", 9);
		buf[CRON_EXPR_MAX] = '\0';
		assert_same(buf, "0 2 * * *");
	}

	/* No error buffer, or a short one. */
	ck_assert_int_eq(cron_parse("0 0 * * *", &c, NULL, 0), 0);
	ck_assert_int_eq(cron_parse("61 0 * * *", &c, NULL, 0), -EINVAL);
	{
		char small[8];

		ck_assert_int_eq(cron_parse("61 0 * * *", &c, small, sizeof(small)), -EINVAL);
		ck_assert_str_eq(small, "minute ");
	}
}
END_TEST

START_TEST(test_parse_flags)
{
	struct cron c;

	/* Fixed-time: neither minute nor hour begins with '*' (Vixie's MIN_STAR/HR_STAR). */
	ck_assert(parse_ok("30 2 * * *").fixed_time);
	ck_assert(parse_ok("0-59 2 * * *").fixed_time);
	ck_assert(parse_ok("0 0,12 * * *").fixed_time);
	ck_assert(parse_ok("0/15 2 * * *").fixed_time);
	ck_assert(!parse_ok("*/15 2 * * *").fixed_time);
	ck_assert(!parse_ok("30 * * * *").fixed_time);
	ck_assert(!parse_ok("30 */2 * * *").fixed_time);
	ck_assert(!parse_ok("* * * * *").fixed_time);

	/* Day fields: unrestricted when they begin with '*', whatever follows. */
	c = parse_ok("0 0 */2 * mon");
	ck_assert(c.dom_star && !c.dow_star);
	c = parse_ok("0 0 1-31/2 * mon");
	ck_assert(!c.dom_star && !c.dow_star);
	c = parse_ok("0 0 1 * */1");
	ck_assert(!c.dom_star && c.dow_star);
	c = parse_ok("0 0 1-31 * 0-7");
	ck_assert(!c.dom_star && !c.dow_star);
}
END_TEST

START_TEST(test_parse_errors)
{
	char longer[CRON_EXPR_MAX + 2];

	parse_fails("", "empty expression");
	parse_fails(" \t ", "empty expression");
	parse_fails(NULL, "empty expression");
	parse_fails("* * * *", "expected 5 fields, got 4");
	parse_fails("*", "expected 5 fields, got 1");
	parse_fails("* * * * * *", "expected 5 fields, got 6");
	parse_fails("0 0 * * * /bin/true", "expected 5 fields, got 6");

	memset(longer, ' ', sizeof(longer) - 1);
	memcpy(longer, "0 2 * * *", 9);
	longer[sizeof(longer) - 1] = '\0';
	parse_fails(longer, "expression too long (more than 256 characters)");

	parse_fails("60 * * * *", "minute field: value 60 out of range 0-59");
	parse_fails("* 24 * * *", "hour field: value 24 out of range 0-23");
	parse_fails("* * 0 * *", "day-of-month field: value 0 out of range 1-31");
	parse_fails("* * 32 * *", "day-of-month field: value 32 out of range 1-31");
	parse_fails("* * * 0 *", "month field: value 0 out of range 1-12");
	parse_fails("* * * 13 *", "month field: value 13 out of range 1-12");
	parse_fails("* * * * 8", "day-of-week field: value 8 out of range 0-7");
	parse_fails("1-60 * * * *", "minute field: value 60 out of range 0-59");
	parse_fails("99999999999999999999 * * * *",
	            "minute field: value 99999999999999999999 out of range 0-59");

	parse_fails("* * * * fry", "day-of-week field: unknown name 'fry'");
	parse_fails("* * * * monday", "day-of-week field: unknown name 'monday'");
	parse_fails("* * * * jan", "day-of-week field: unknown name 'jan'");
	parse_fails("* * * janu *", "month field: unknown name 'janu'");
	parse_fails("* * * mon *", "month field: unknown name 'mon'");
	parse_fails("mon * * * *", "minute field: invalid value 'mon'");
	parse_fails("0 0 L * *", "day-of-month field: invalid value 'L'");
	parse_fails("5x * * * *", "minute field: invalid value '5x'");
	parse_fails("* * * * 1st", "day-of-week field: invalid value '1st'");

	parse_fails("5-1 * * * *", "minute field: reversed range 5-1; ranges do not wrap, "
	                           "write 5-59,0-1");
	parse_fails("* 22-2 * * *", "hour field: reversed range 22-2; ranges do not wrap, "
	                            "write 22-23,0-2");
	parse_fails("* 23-0 * * *", "hour field: reversed range 23-0; ranges do not wrap, "
	                            "write 23,0");
	parse_fails("* * * dec-feb *", "month field: reversed range dec-feb; ranges do not wrap, "
	                               "write 12,1-2");
	parse_fails("* * * * sat-mon", "day-of-week field: reversed range sat-mon; ranges do not "
	                               "wrap, write 6,0-1");

	parse_fails("*/0 * * * *", "minute field: step 0 out of range 1-60");
	parse_fails("*/61 * * * *", "minute field: step 61 out of range 1-60");
	parse_fails("* */25 * * *", "hour field: step 25 out of range 1-24");
	parse_fails("* * 1-10/0 * *", "day-of-month field: step 0 out of range 1-31");
	parse_fails("* * * 1/13 *", "month field: step 13 out of range 1-12");
	parse_fails("* * * * */9", "day-of-week field: step 9 out of range 1-8");
	parse_fails("*/ * * * *", "minute field: missing step after '/' in '*/'");
	parse_fails("*/x * * * *", "minute field: invalid step in '*/x'");
	parse_fails("*/-1 * * * *", "minute field: invalid step in '*/-1'");
	parse_fails("*/5x * * * *", "minute field: unexpected 'x' in '*/5x'");
	parse_fails("*/5/2 * * * *", "minute field: unexpected '/' in '*/5/2'");

	parse_fails("1- * * * *", "minute field: missing value after '-' in '1-'");
	parse_fails("-1 * * * *", "minute field: unexpected '-' in '-1'");
	parse_fails("1-5-7 * * * *", "minute field: unexpected '-' in '1-5-7'");
	parse_fails("*-5 * * * *", "minute field: unexpected '-' in '*-5'");
	parse_fails("** * * * *", "minute field: unexpected '*' in '**'");
	parse_fails("? * * * *", "minute field: unexpected '?' in '?'");
	parse_fails("0 0 * * 5#3", "day-of-week field: unexpected '#' in '5#3'");
	parse_fails("0 0 * * 5L", "day-of-week field: invalid value '5L'");

	parse_fails("1,,2 * * * *", "minute field: empty list element in '1,,2'");
	parse_fails("1, * * * *", "minute field: empty list element in '1,'");
	parse_fails(",1 * * * *", "minute field: empty list element in ',1'");
	parse_fails("* * * * ,", "day-of-week field: empty list element in ','");

	/*
	 * Not a blank: a copy-pasted en dash, a newline, a non-breaking space.
	 * (The literals are split so that "\x93" is not read as "\x93f".)
	 */
	parse_fails("0 0 * * mon\xe2\x80\x93"
	            "fri",
	            "invalid character 0xE2 at column 12");
	parse_fails("0 0 * * *\n", "invalid character 0x0A at column 10");
	parse_fails("0\xc2\xa0"
	            "0 * * *",
	            "invalid character 0xC2 at column 2");

	parse_fails("@reboot", "'@reboot' is not supported; use on_start = true");
	parse_fails("@dialy", "unknown macro '@dialy'; did you mean '@daily'?");
	parse_fails("@hourlyy", "unknown macro '@hourlyy'; did you mean '@hourly'?");
	parse_fails("@foo", "unknown macro '@foo'");
	parse_fails("@", "unknown macro '@'");
	parse_fails("@daily 5", "unexpected text after '@daily'");
	parse_fails("@daily @hourly", "unexpected text after '@daily'");
	parse_fails("0 @daily * * *", "hour field: unexpected '@' in '@daily'");
}
END_TEST

START_TEST(test_parse_never_fires)
{
	parse_fails("0 0 30 2 *", "never fires (no such date)");
	parse_fails("0 0 31 2 *", "never fires (no such date)");
	parse_fails("0 0 31 4,6,9,11 *", "never fires (no such date)");
	parse_fails("0 0 30,31 feb *", "never fires (no such date)");
	/* The AND rule applies: day-of-week begins with '*'. */
	parse_fails("0 0 30 2 */2", "never fires (no such date)");

	/* Feb 29 exists; the 31st exists in some selected month. */
	parse_ok("0 0 29 2 *");
	parse_ok("0 0 31 2,3 *");
	parse_ok("0 0 31 */2 *");
	/* The OR rule: every Monday of February, whatever the 30th does. */
	parse_ok("0 0 30 2 mon");
	/* Feb 29 that is a Sunday: rare (up to 40 years apart), but it happens. */
	parse_ok("0 0 29 2 */7");
}
END_TEST

START_TEST(test_parse_macros)
{
	assert_same("@yearly", "0 0 1 1 *");
	assert_same("@annually", "0 0 1 1 *");
	assert_same("@monthly", "0 0 1 * *");
	assert_same("@weekly", "0 0 * * 0");
	assert_same("@daily", "0 0 * * *");
	assert_same("@midnight", "0 0 * * *");
	assert_same("@hourly", "0 * * * *");
	assert_same("@DAILY", "0 0 * * *");
	assert_same("  @Weekly\t", "0 0 * * 0");

	/* As in Vixie cron: @hourly is a wildcard job, the others fixed-time. */
	ck_assert(!parse_ok("@hourly").fixed_time);
	ck_assert(parse_ok("@daily").fixed_time);
	ck_assert(parse_ok("@weekly").dom_star);
	ck_assert(!parse_ok("@weekly").dow_star);
}
END_TEST

START_TEST(test_parse_names)
{
	struct cron c;

	assert_same("* * * jan-mar *", "* * * 1-3 *");
	assert_same("* * * JAN,Feb,mAr *", "* * * 1,2,3 *");
	assert_same("* * * jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec *", "* * * 1-12 *");
	assert_same("* * * * sun,mon,tue,wed,thu,fri,sat", "* * * * 0-6");
	assert_same("* * * * mon-fri", "* * * * 1-5");
	assert_same("* * * * MON-Fri", "* * * * 1-5");
	assert_same("* * * * sun-sat", "* * * * 0-6");
	assert_same("* * * * mon,wed-fri", "* * * * 1,3-5");
	assert_same("* * * * mon-fri/2", "* * * * 1,3,5");
	assert_same("* * * jan/3 *", "* * * 1,4,7,10 *");
	assert_same("* * * jan-6 *", "* * * 1-6 *");

	/* "sun" closing a range is the 7 of "5-7". */
	c = parse_ok("* * * * fri-sun");
	ck_assert_uint_eq(c.dow, BITS(0, 5, 6));
	c = parse_ok("* * * * sat-sun");
	ck_assert_uint_eq(c.dow, BITS(0, 6));
	c = parse_ok("* * * * sun-sun");
	ck_assert_uint_eq(c.dow, BITS(0));
	c = parse_ok("* * * * sun");
	ck_assert_uint_eq(c.dow, BITS(0));
}
END_TEST

START_TEST(test_parse_steps)
{
	struct cron c;

	ck_assert_uint_eq(parse_ok("*/15 * * * *").minute, BITS(0, 15, 30, 45));
	ck_assert_uint_eq(parse_ok("1-30/5 * * * *").minute, BITS(1, 6, 11, 16, 21, 26));
	ck_assert_uint_eq(parse_ok("5/10 * * * *").minute, BITS(5, 15, 25, 35, 45, 55));
	ck_assert_uint_eq(parse_ok("*/60 * * * *").minute, BITS(0));
	ck_assert_uint_eq(parse_ok("*/59 * * * *").minute, BITS(0, 59));
	ck_assert_uint_eq(parse_ok("0 */7 * * *").hour, BITS(0, 7, 14, 21));
	ck_assert_uint_eq(parse_ok("0 0 */10 * *").dom, BITS(1, 11, 21, 31));
	ck_assert_uint_eq(parse_ok("0 0 */31 * *").dom, BITS(1));
	ck_assert_uint_eq(parse_ok("0 0 * */4 *").month, BITS(1, 5, 9));
	ck_assert_uint_eq(parse_ok("0 0 * 2/5 *").month, BITS(2, 7, 12));
	ck_assert_uint_eq(parse_ok("0 0 * * */2").dow, BITS(0, 2, 4, 6));
	/* 0-7 stepped by 7 is {0, 7}: Sunday. */
	ck_assert_uint_eq(parse_ok("0 0 * * */7").dow, BITS(0));
	ck_assert_uint_eq(parse_ok("0 0 * * 0-7/7").dow, BITS(0));
	ck_assert_uint_eq(parse_ok("10-10/5 * * * *").minute, BITS(10));
	assert_same("*/1 * * * *", "* * * * *");
	c = parse_ok("0/30 0/12 1/15 1/6 1/3");
	ck_assert_uint_eq(c.minute, BITS(0, 30));
	ck_assert_uint_eq(c.hour, BITS(0, 12));
	ck_assert_uint_eq(c.dom, BITS(1, 16, 31));
	ck_assert_uint_eq(c.month, BITS(1, 7));
	ck_assert_uint_eq(c.dow, BITS(1, 4, 0));
}
END_TEST

START_TEST(test_parse_lists)
{
	ck_assert_uint_eq(parse_ok("1,5,10 * * * *").minute, BITS(1, 5, 10));
	ck_assert_uint_eq(parse_ok("1-3,10-12,20 * * * *").minute, BITS(1, 2, 3, 10, 11, 12, 20));
	ck_assert_uint_eq(parse_ok("5,5,1-10 * * * *").minute, BITS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
	ck_assert_uint_eq(parse_ok("*/20,7 * * * *").minute, BITS(0, 7, 20, 40));
	ck_assert_uint_eq(parse_ok("0 0 * * 7,1").dow, BITS(0, 1));
	ck_assert_uint_eq(parse_ok("0 0 * jan,6-8,dec *").month, BITS(1, 6, 7, 8, 12));
	/* Vixie: a list is unrestricted only if it begins with '*'. */
	ck_assert(parse_ok("0 0 *,1 * mon").dom_star);
	ck_assert(!parse_ok("0 0 1,* * mon").dom_star);
}
END_TEST

Suite *
cron_suite(void)
{
	Suite *s = suite_create("cron");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_forms);
	tcase_add_test(tc, test_parse_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_errors");
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_parse_never_fires);
	suite_add_tcase(s, tc);

	tc = tcase_create("macros");
	tcase_add_test(tc, test_parse_macros);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_parse_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("steps");
	tcase_add_test(tc, test_parse_steps);
	suite_add_tcase(s, tc);

	tc = tcase_create("lists");
	tcase_add_test(tc, test_parse_lists);
	suite_add_tcase(s, tc);

	return s;
}
