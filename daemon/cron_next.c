/* SPDX-License-Identifier: MIT */
/*
 * Cron expressions, the calculator: the first instant strictly after a
 * given one at which a parsed expression (cron.c) fires. Pure: no state, no
 * lock, no clock.
 *
 * Time is local time, and daylight saving is where the work is. The search
 * runs over wall-clock minutes ("local seconds": the local date and time
 * counted as if they were UTC), which makes the calendar part plain integer
 * arithmetic, and maps each matching wall-clock minute back to instants with
 * UTC offset queries alone (localtime_r(), or cron_tz.c for a schedule with
 * a time zone of its own):
 *  - a minute that exists once maps to one instant;
 *  - a minute that does not exist (clocks went forward) maps, for a fixed-time
 *    job, to the first instant after the gap, and for a wildcard job to none;
 *  - a minute that exists twice (clocks went back) maps to its first
 *    occurrence for a fixed-time job and to both for a wildcard job.
 * This is what Vixie cron does when it notices the clock jump (cron.c, "DST
 * begins" / "DST ends"), made exact. mktime() is not used: with tm_isdst = -1
 * glibc resolves an ambiguous time from a hint left by earlier calls, and
 * isdst cannot tell apart two offsets that are both standard time (Moscow
 * 2014) or both summer time (Apia 2011).
 *
 * The mapping assumes at most one offset change within a day either side of
 * a candidate, which holds for every zone in tzdata since the 1970s. Where it
 * does not, results are still never at or before `after`, always an instant
 * whose wall clock matches (or the end of a gap), and the search is bounded.
 */
#include "cron.h"

#include "cron_calendar.h"
#include "cron_tz.h"
#include "util.h"

#include <errno.h>

#define DAY INT64_C(86400)

/*
 * Searching 400 years is always enough for an expression cron_parse()
 * accepts: the Gregorian calendar repeats every 400 years. The longest real
 * gap is 40 years: Feb 29 on one given weekday (day-of-month 29, month 2,
 * day-of-week "*" stepped by 7, hence the AND rule) across a century year
 * that is not a leap year.
 */
#define SEARCH_YEARS 400

/*
 * How far ahead of `after` to look for clocks going back, which lets a
 * wildcard job fire again in the repeated hour. Covers every shift in tzdata
 * (the largest, a date-line move, is a day).
 */
#define FALLBACK_LOOKAHEAD (DAY + 3600)

#define MINUTE_MASK ((UINT64_C(1) << 60) - 1)
#define HOUR_MASK   ((UINT32_C(1) << 24) - 1)
#define DOM_MASK    (((UINT32_C(1) << 31) - 1) << 1)
#define MONTH_MASK  ((uint16_t)(((1u << 12) - 1) << 1))
#define DOW_MASK    CRON_DOW_MASK

/* The calendar */

/*
 * Whether the expression matches at least one minute of some year. With the
 * OR rule it always does (every month has every weekday). With the AND rule
 * it does if some selected month has a selected day: over the 400-year cycle
 * every date, Feb 29 included, falls on every weekday.
 */
bool
cron_can_fire(const struct cron *c)
{
	uint32_t dom = c->dom & DOM_MASK;

	if (!(c->minute & MINUTE_MASK) || !(c->hour & HOUR_MASK) || !dom ||
	    !(c->month & MONTH_MASK) || !(c->dow & DOW_MASK))
		return false;
	if (!c->dom_star && !c->dow_star)
		return true;
	for (unsigned m = 1; m <= 12; m++)
		if ((c->month >> m & 1) && (unsigned)__builtin_ctz(dom) <= days_in_month(2000, m))
			return true;
	return false;
}

/* Calendar arithmetic on "local seconds" (wall-clock time counted as UTC) */

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t days)
{
	return (int)(days + 4 - floor_div(days + 4, 7) * 7);
}

/* The lowest set bit at or above `from`, or -1. */
static int
next_bit(uint64_t mask, int from)
{
	if (from >= 64)
		return -1;
	mask &= ~UINT64_C(0) << from;
	return mask ? __builtin_ctzll(mask) : -1;
}

/*
 * The first wall-clock minute at or after `from` (local seconds) that the
 * expression matches, if it is not after `limit`. Pure arithmetic: no time
 * zone is involved. The bitsets must be masked to their valid bits.
 */
static bool
next_wall(const struct cron *c, int64_t from, int64_t limit, int64_t *ret)
{
	bool and_rule = c->dom_star || c->dow_star;
	int64_t days, y;
	unsigned mon, mday;
	int hour, minute, sod;

	from = floor_div(from + 59, 60) * 60;
	days = floor_div(from, DAY);
	sod = (int)(from - days * DAY);
	hour = sod / 3600;
	minute = sod % 3600 / 60;
	civil_from_days(days, &y, &mon, &mday);

	for (;;) {
		unsigned mdays;
		bool dm, wm;
		int h, mi;

		if (days * DAY > limit)
			return false;
		if (!(c->month >> mon & 1)) {
			int m = next_bit(c->month, (int)mon + 1);

			if (m < 0) {
				y++;
				m = next_bit(c->month, 1);
				if (m < 0)
					return false; /* no month: can_fire() rules it out */
			}
			mon = (unsigned)m;
			mday = 1;
			days = days_from_civil(y, mon, 1);
			hour = minute = 0;
			continue;
		}
		mdays = days_in_month(y, mon);
		if (mday > mdays) {
			if (++mon > 12) {
				mon = 1;
				y++;
			}
			mday = 1;
			days = days_from_civil(y, mon, 1);
			hour = minute = 0;
			continue;
		}

		dm = c->dom >> mday & 1;
		wm = c->dow >> weekday(days) & 1;
		if (and_rule ? dm && wm : dm || wm) {
			h = next_bit(c->hour, hour);
			mi = h == hour ? next_bit(c->minute, minute) : next_bit(c->minute, 0);
			if (h >= 0 && mi < 0) {
				h = next_bit(c->hour, h + 1);
				mi = next_bit(c->minute, 0);
			}
			if (h >= 0) {
				int64_t w = days * DAY + h * 3600 + mi * 60;

				if (w > limit)
					return false;
				*ret = w;
				return true;
			}
		}

		hour = minute = 0;
		if (and_rule) {
			/* Only days in the day-of-month set can match: go straight there. */
			int d = next_bit(c->dom, (int)mday + 1);

			if (d < 0)
				d = (int)mdays + 1;
			days += d - (int)mday;
			mday = (unsigned)d;
		} else {
			days++;
			mday++;
		}
	}
}

/* Local time zone queries */

/* The UTC offset in force at instant t, in zone z (NULL: local time). */
static int
offset_at(const struct cron_tz *z, int64_t t, long *ret)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (z)
		return cron_tz_offset(z, t, ret);

	if ((int64_t)tt != t || !localtime_r(&tt, &tm))
		return -ERANGE;
	*ret = tm.tm_gmtoff;
	return 0;
}

/*
 * The first instant in (lo, hi] whose offset differs from lo's; the offsets at
 * lo and hi must differ. Bisection: about 12 steps for an hour.
 */
static int
find_transition(const struct cron_tz *z, int64_t lo, int64_t hi, int64_t *ret)
{
	long olo, o;
	int r;

	r = offset_at(z, lo, &olo);
	if (r < 0)
		return r;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		r = offset_at(z, mid, &o);
		if (r < 0)
			return r;
		if (o == olo)
			lo = mid;
		else
			hi = mid;
	}
	*ret = hi;
	return 0;
}

enum wall_kind {
	WALL_NONE,  /* no sense could be made of it (several changes within a day) */
	WALL_ONCE,  /* first */
	WALL_TWICE, /* first and second, clocks went back in between */
	WALL_GAP,   /* skipped; first is the instant the gap ends, at wall clock gap_end */
};

struct wall {
	enum wall_kind kind;
	int64_t first;
	int64_t second;
	int64_t gap_end;
};

/*
 * The instants at which the wall clock reads w. The offsets a day either side
 * are the only candidates (an offset is never more than 15 hours, so the
 * instants lie well inside that window); each candidate is verified.
 */
static int
resolve_wall(const struct cron_tz *z, int64_t w, struct wall *ret)
{
	long oa, ob, o;
	int64_t ta, tb;
	bool va, vb = false;
	int r;

	r = offset_at(z, w - DAY, &oa);
	if (r >= 0)
		r = offset_at(z, w + DAY, &ob);
	if (r < 0)
		return r;
	ta = w - oa;
	tb = w - ob;
	r = offset_at(z, ta, &o);
	if (r < 0)
		return r;
	va = o == oa;
	if (ob != oa) {
		r = offset_at(z, tb, &o);
		if (r < 0)
			return r;
		vb = o == ob;
	}

	if (va && vb) {
		*ret = (struct wall){ WALL_TWICE, MIN(ta, tb), MAX(ta, tb), 0 };
	} else if (va || vb) {
		*ret = (struct wall){ WALL_ONCE, va ? ta : tb, 0, 0 };
	} else if (oa < ob) {
		/* Clocks went forward: off(tb) is oa and off(ta) is ob. */
		int64_t t;

		r = find_transition(z, tb, ta, &t);
		if (r >= 0)
			r = offset_at(z, t, &o);
		if (r < 0)
			return r;
		*ret = (struct wall){ WALL_GAP, t, 0, t + o };
	} else
		*ret = (struct wall){ WALL_NONE, 0, 0, 0 };
	return 0;
}

/*
 * Second occurrences that phase 1 of cron_next() cannot see: clocks go back
 * at T, shortly after `after`, repeating wall-clock times at or before
 * `after`'s own (those later than it were scanned as candidates already).
 * For a wildcard job, their second occurrence, at or after T, may come
 * before everything else. `from` is where phase 1 started.
 */
static void
second_pass(const struct cron_tz *z, const struct cron *c, int64_t after, long o_after,
            int64_t from, int64_t *best)
{
	int64_t probe = MIN(*best, after + FALLBACK_LOOKAHEAD);
	int64_t t, w;
	long o, o_before, o_check;

	/* Failures only happen at the edge of time_t; the first pass stands. */
	if (offset_at(z, probe, &o) < 0 || o >= o_after)
		return;
	if (find_transition(z, after, probe, &t) < 0 || offset_at(z, t - 1, &o_before) < 0 ||
	    offset_at(z, t, &o) < 0 || o >= o_before)
		return;
	/* The wall clock repeats [t + o, t + o_before). */
	if (!next_wall(c, t + o, MIN(from, t + o_before) - 1, &w))
		return;
	if (offset_at(z, w - o, &o_check) < 0 || o_check != o)
		return;
	if (w - o > after && w - o < *best)
		*best = w - o;
}

int
cron_next(const struct cron *c, time_t after, time_t *ret)
{
	return cron_next_tz(c, NULL, after, ret);
}

int
cron_next_tz(const struct cron *c, const struct cron_tz *z, time_t after, time_t *ret)
{
	struct cron m = *c;
	int64_t now_wall, from, limit, best = INT64_MAX;
	long o_after;
	int r;

	m.minute &= MINUTE_MASK;
	m.hour &= HOUR_MASK;
	m.dom &= DOM_MASK;
	m.month &= MONTH_MASK;
	m.dow &= DOW_MASK;
	if (!cron_can_fire(&m))
		return -ERANGE;
	if (z) {
		/* cron_tz refuses zones with leap seconds: the wall clock is plain. */
		r = cron_tz_offset(z, after, &o_after);
		if (r < 0)
			return r;
		now_wall = (int64_t)after + o_after;
	} else {
		struct tm tm;
		int64_t today;

		if (!localtime_r(&after, &tm))
			return -ERANGE;
		/* A leap second (23:59:60 in a "right/" zone) still belongs to its minute. */
		today = days_from_civil(tm.tm_year + INT64_C(1900), (unsigned)tm.tm_mon + 1,
		                        (unsigned)tm.tm_mday);
		now_wall = today * DAY + tm.tm_hour * 3600 + tm.tm_min * 60 + MIN(tm.tm_sec, 59);
		o_after = tm.tm_gmtoff;
	}
	from = floor_div(now_wall, 60) * 60 + 60;
	limit = from + (SEARCH_YEARS + 1) * 366 * DAY;

	/*
	 * Phase 1: wall-clock minutes after `after`'s, in order. Mapped to the
	 * instant at which they fire first (the instant itself, the end of a gap
	 * for a fixed-time job, the first of two occurrences), they are
	 * non-decreasing, so the first that lands after `after` is the answer
	 * of this phase. Only when `after` lies in a repeated hour do earlier
	 * first occurrences turn up; those are skipped (a fixed-time job) or
	 * give way to the second occurrence (a wildcard job).
	 */
	for (int64_t scan = from; best == INT64_MAX;) {
		struct wall v;
		int64_t w, t;

		if (!next_wall(&m, scan, limit, &w))
			break;
		r = resolve_wall(z, w, &v);
		if (r < 0)
			return r;
		scan = w + 60;
		switch (v.kind) {
		case WALL_ONCE:
			if (v.first > after)
				best = v.first;
			break;
		case WALL_TWICE:
			if (v.first > after)
				best = v.first;
			else if (!m.fixed_time && v.second > after)
				best = v.second;
			else if (m.fixed_time) {
				/* Skip the rest of the repeated hour: it fired the first time. */
				r = find_transition(z, v.first, v.second, &t);
				if (r < 0)
					return r;
				scan = MAX(scan, t + (w - v.first));
			}
			break;
		case WALL_GAP:
			if (m.fixed_time && v.first > after)
				best = v.first;
			else
				scan = MAX(scan, v.gap_end);
			break;
		case WALL_NONE:
			break;
		}
	}

	/* Phase 2: the hour about to repeat, for a wildcard job. */
	if (!m.fixed_time)
		second_pass(z, &m, after, o_after, from, &best);

	if (best == INT64_MAX || (int64_t)(time_t)best != best)
		return -ERANGE;
	*ret = (time_t)best;
	return 0;
}
