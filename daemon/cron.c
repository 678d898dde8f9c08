/* SPDX-License-Identifier: MIT */
/*
 * Cron expressions: the parser for `schedule = "..."` and the calculator of
 * the next fire time. The scheduler (sched.c) owns when to ask; this file only
 * answers "when, strictly after this instant, does this expression fire next",
 * so it holds no state, takes no locks and never reads the clock.
 *
 * Syntax and day matching follow Vixie cron (and cronie, which kept them):
 * five fields, '*', numbers, three-letter names, lists, ranges and steps, and
 * a day matches when either the day-of-month or the day-of-week field matches
 * if both are restricted, otherwise when both do. "Restricted" is decided the
 * way Vixie's entry.c decides it, by the field's first character: a field
 * beginning with '*' ("*", or "*" with a step) is unrestricted, anything else
 * ("1-31", "0-6") is restricted. So a day-of-month of "*" stepped by 2 with a
 * day-of-week of "mon" means odd days that are Mondays, while "0 0 1-31/2 *
 * mon" means odd days and also every Monday. That is surprising, but it is
 * what crontabs in the wild were written against (cronie and croniter agree).
 *
 * Time is local time, and daylight saving is where the work is. The search
 * runs over wall-clock minutes ("local seconds": the local date and time
 * counted as if they were UTC), which makes the calendar part plain integer
 * arithmetic, and maps each matching wall-clock minute back to instants with
 * localtime_r() alone:
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

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

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
#define DOW_MASK    ((uint8_t)((1u << 7) - 1))

/* Parsing */

struct field {
	const char *name;
	int lo, hi;
	/* Three-letter names for lo, lo + 1, ...; NULL if the field has none. */
	const char *const *names;
	size_t n_names;
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};

static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, N_FIELDS };

static const struct field fields[N_FIELDS] = {
	[F_MINUTE] = { "minute", 0, 59, NULL, 0 },
	[F_HOUR] = { "hour", 0, 23, NULL, 0 },
	[F_DOM] = { "day-of-month", 1, 31, NULL, 0 },
	[F_MONTH] = { "month", 1, 12, month_names, ARRAY_SIZE(month_names) },
	/* 0-7: both 0 and 7 are Sunday, as in every cron since V7. */
	[F_DOW] = { "day-of-week", 0, 7, dow_names, ARRAY_SIZE(dow_names) },
};

struct macro {
	const char *name;
	const char *expansion;
};

static const struct macro macros[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* Writes the message for a -EINVAL return; err may be NULL. */
static int fail(char *err, size_t errsize, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (err && errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A token as the user wrote it, for messages: text and length. */
struct token {
	const char *s;
	int len;
};

/*
 * Reads the value token at *p (a maximal run of letters and digits) and
 * converts it: a number, or a name if the field has names.
 */
static int
parse_value(const struct field *f, const char **p, const char *end, struct token elem, int *ret,
            struct token *ret_tok, char *err, size_t errsize)
{
	const char *s = *p;
	const char *q = s;
	bool digits = true, letters = true;
	int n = 0;

	while (q < end && (is_digit(*q) || is_alpha(*q))) {
		digits = digits && is_digit(*q);
		letters = letters && is_alpha(*q);
		q++;
	}
	if (q == s) {
		/* Only after a '-': an element is never empty here. */
		if (q == end)
			return fail(err, errsize, "%s field: missing value after '-' in '%.*s'",
			            f->name, elem.len, elem.s);
		return fail(err, errsize, "%s field: unexpected '%c' in '%.*s'", f->name, *q,
		            elem.len, elem.s);
	}
	*ret_tok = (struct token){ s, (int)(q - s) };
	if (digits) {
		/* Saturate: anything past four digits is out of range anyway. */
		for (const char *d = s; d < q; d++)
			n = n < 10000 ? n * 10 + (*d - '0') : n;
		if (n < f->lo || n > f->hi)
			return fail(err, errsize, "%s field: value %.*s out of range %d-%d",
			            f->name, (int)(q - s), s, f->lo, f->hi);
	} else if (letters && f->names) {
		size_t i;

		for (i = 0; i < f->n_names; i++)
			if (q - s == 3 && strncasecmp(s, f->names[i], 3) == 0)
				break;
		if (i == f->n_names)
			return fail(err, errsize, "%s field: unknown name '%.*s'", f->name,
			            (int)(q - s), s);
		n = f->lo + (int)i;
	} else
		return fail(err, errsize, "%s field: invalid value '%.*s'", f->name, (int)(q - s),
		            s);
	*ret = n;
	*p = q;
	return 0;
}

/* "a" or "a-b", for the suggestion that follows a reversed range. */
static const char *
span_str(char *buf, size_t size, int a, int b)
{
	if (a == b)
		snprintf(buf, size, "%d", a);
	else
		snprintf(buf, size, "%d-%d", a, b);
	return buf;
}

/* "hour field: reversed range 22-2; ranges do not wrap, write 22-23,0-2" */
static int
reversed_range(const struct field *f, struct token t1, struct token t2, int lo, int hi, char *err,
               size_t errsize)
{
	/* The field's top value for the suggestion: 6 for Saturday, not 7. */
	int top = f == &fields[F_DOW] ? 6 : f->hi;
	char a[16], b[16];

	return fail(err, errsize,
	            "%s field: reversed range %.*s-%.*s; ranges do not wrap, write %s,%s", f->name,
	            t1.len, t1.s, t2.len, t2.s, span_str(a, sizeof(a), lo, top),
	            span_str(b, sizeof(b), f->lo, hi));
}

/* One list element: "*", "N", "N-M", each optionally followed by "/STEP". */
static int
parse_element(const struct field *f, struct token elem, uint64_t *bits, char *err, size_t errsize)
{
	const char *p = elem.s, *end = elem.s + elem.len;
	int lo = 0, hi = 0, step = 1;
	struct token t1 = { 0 }, t2 = { 0 };
	int r;

	if (elem.len == 0)
		return -EINVAL; /* reported by the caller, which has the whole field */

	if (*p == '*') {
		lo = f->lo;
		hi = f->hi;
		p++;
	} else {
		r = parse_value(f, &p, end, elem, &lo, &t1, err, errsize);
		if (r < 0)
			return r;
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			r = parse_value(f, &p, end, elem, &hi, &t2, err, errsize);
			if (r < 0)
				return r;
			/* "fri-sun" means what it says: "sun" closing a range is 7. */
			if (f == &fields[F_DOW] && hi == 0 && lo > 0 && is_alpha(t2.s[0]))
				hi = 7;
			if (hi < lo)
				return reversed_range(f, t1, t2, lo, hi, err, errsize);
		} else if (p < end && *p == '/')
			/* "5/10" is "5-max/10", as in cronie and most later crons. */
			hi = f->hi;
	}

	if (p < end && *p == '/') {
		const char *s = ++p;
		int span = f->hi - f->lo + 1;

		step = 0;
		while (p < end && is_digit(*p)) {
			step = step < 10000 ? step * 10 + (*p - '0') : step;
			p++;
		}
		if (p == s) {
			if (p == end)
				return fail(err, errsize,
				            "%s field: missing step after '/' in '%.*s'", f->name,
				            elem.len, elem.s);
			return fail(err, errsize, "%s field: invalid step in '%.*s'", f->name,
			            elem.len, elem.s);
		}
		if (step < 1 || step > span)
			return fail(err, errsize, "%s field: step %.*s out of range 1-%d", f->name,
			            (int)(p - s), s, span);
	}

	if (p < end)
		return fail(err, errsize, "%s field: unexpected '%c' in '%.*s'", f->name, *p,
		            elem.len, elem.s);

	for (int v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

static int
parse_field(const struct field *f, struct token field, uint64_t *ret, char *err, size_t errsize)
{
	const char *p = field.s, *end = field.s + field.len;
	uint64_t bits = 0;

	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		struct token elem = { p, (int)((comma ? comma : end) - p) };
		int r;

		if (elem.len == 0)
			return fail(err, errsize, "%s field: empty list element in '%.*s'", f->name,
			            field.len, field.s);
		r = parse_element(f, elem, &bits, err, errsize);
		if (r < 0)
			return r;
		if (!comma)
			break;
		p = comma + 1;
	}
	*ret = bits;
	return 0;
}

static bool
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const uint8_t days[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m];
}

/*
 * Whether the expression matches at least one minute of some year. With the
 * OR rule it always does (every month has every weekday). With the AND rule
 * it does if some selected month has a selected day: over the 400-year cycle
 * every date, Feb 29 included, falls on every weekday.
 */
static bool
can_fire(const struct cron *c)
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

static int
parse_fields(struct token tok[N_FIELDS], struct cron *ret, char *err, size_t errsize)
{
	struct cron c = { 0 };
	uint64_t bits[N_FIELDS];
	int r;

	for (int i = 0; i < N_FIELDS; i++) {
		r = parse_field(&fields[i], tok[i], &bits[i], err, errsize);
		if (r < 0)
			return r;
	}
	c.minute = bits[F_MINUTE];
	c.hour = (uint32_t)bits[F_HOUR];
	c.dom = (uint32_t)bits[F_DOM];
	c.month = (uint16_t)bits[F_MONTH];
	c.dow = (uint8_t)((bits[F_DOW] | bits[F_DOW] >> 7) & DOW_MASK);
	c.dom_star = tok[F_DOM].s[0] == '*';
	c.dow_star = tok[F_DOW].s[0] == '*';
	c.fixed_time = tok[F_MINUTE].s[0] != '*' && tok[F_HOUR].s[0] != '*';
	if (!can_fire(&c))
		return fail(err, errsize, "never fires (no such date)");
	*ret = c;
	return 0;
}

static int
parse_macro(struct token name, int n_tokens, struct cron *ret, char *err, size_t errsize)
{
	const char *names[ARRAY_SIZE(macros) + 1];
	char word[CRON_EXPR_MAX + 1];
	const char *hint;

	for (size_t i = 0; i < ARRAY_SIZE(macros); i++) {
		const char *e;
		struct token tok[N_FIELDS];

		names[i] = macros[i].name;
		if ((size_t)name.len != strlen(macros[i].name) ||
		    strncasecmp(name.s, macros[i].name, (size_t)name.len) != 0)
			continue;
		if (n_tokens > 1)
			return fail(err, errsize, "unexpected text after '%.*s'", name.len, name.s);
		e = macros[i].expansion;
		for (int f = 0; f < N_FIELDS; f++) {
			tok[f] = (struct token){ e, 1 };
			e += 2;
		}
		return parse_fields(tok, ret, err, errsize);
	}
	if (name.len == 7 && strncasecmp(name.s, "@reboot", 7) == 0)
		return fail(err, errsize, "'@reboot' is not supported; use on_start = true");

	names[ARRAY_SIZE(macros)] = "@reboot";
	snprintf(word, sizeof(word), "%.*s", name.len, name.s);
	for (char *w = word; *w; w++)
		if (*w >= 'A' && *w <= 'Z')
			*w = (char)(*w - 'A' + 'a');
	hint = closest_match(word, names, ARRAY_SIZE(names));
	if (hint)
		return fail(err, errsize, "unknown macro '%.*s'; did you mean '%s'?", name.len,
		            name.s, hint);
	return fail(err, errsize, "unknown macro '%.*s'", name.len, name.s);
}

int
cron_parse(const char *expr, struct cron *ret, char *err, size_t errsize)
{
	struct token tok[N_FIELDS];
	int n = 0;
	size_t len;

	if (!expr)
		expr = "";
	len = strnlen(expr, CRON_EXPR_MAX + 1);
	if (len > CRON_EXPR_MAX)
		return fail(err, errsize, "expression too long (more than %d characters)",
		            CRON_EXPR_MAX);
	/* Only printable ASCII goes into messages (and so into logs) below. */
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)expr[i];

		if ((ch < 0x21 || ch > 0x7e) && !is_blank((char)ch))
			return fail(err, errsize, "invalid character 0x%02X at column %zu", ch,
			            i + 1);
	}

	for (const char *p = expr;;) {
		const char *s;

		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && !is_blank(*p))
			p++;
		if (n < N_FIELDS)
			tok[n] = (struct token){ s, (int)(p - s) };
		n++;
	}

	if (n == 0)
		return fail(err, errsize, "empty expression");
	if (tok[0].s[0] == '@')
		return parse_macro(tok[0], n, ret, err, errsize);
	if (n != N_FIELDS)
		return fail(err, errsize, "expected 5 fields, got %d", n);
	return parse_fields(tok, ret, err, errsize);
}

/* Calendar arithmetic on "local seconds" (wall-clock time counted as UTC) */

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*ret_d = doy - (153 * mp + 2) / 5 + 1;
	*ret_m = mp < 10 ? mp + 3 : mp - 9;
	*ret_y = (int64_t)yoe + era * 400 + (*ret_m <= 2);
}

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

/* The UTC offset in force at instant t. */
static int
offset_at(int64_t t, long *ret)
{
	time_t tt = (time_t)t;
	struct tm tm;

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
find_transition(int64_t lo, int64_t hi, int64_t *ret)
{
	long olo, o;
	int r;

	r = offset_at(lo, &olo);
	if (r < 0)
		return r;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		r = offset_at(mid, &o);
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
resolve_wall(int64_t w, struct wall *ret)
{
	long oa, ob, o;
	int64_t ta, tb;
	bool va, vb = false;
	int r;

	r = offset_at(w - DAY, &oa);
	if (r >= 0)
		r = offset_at(w + DAY, &ob);
	if (r < 0)
		return r;
	ta = w - oa;
	tb = w - ob;
	r = offset_at(ta, &o);
	if (r < 0)
		return r;
	va = o == oa;
	if (ob != oa) {
		r = offset_at(tb, &o);
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

		r = find_transition(tb, ta, &t);
		if (r >= 0)
			r = offset_at(t, &o);
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
second_pass(const struct cron *c, int64_t after, long o_after, int64_t from, int64_t *best)
{
	int64_t probe = MIN(*best, after + FALLBACK_LOOKAHEAD);
	int64_t t, w;
	long o, o_before, o_check;

	/* Failures only happen at the edge of time_t; the first pass stands. */
	if (offset_at(probe, &o) < 0 || o >= o_after)
		return;
	if (find_transition(after, probe, &t) < 0 || offset_at(t - 1, &o_before) < 0 ||
	    offset_at(t, &o) < 0 || o >= o_before)
		return;
	/* The wall clock repeats [t + o, t + o_before). */
	if (!next_wall(c, t + o, MIN(from, t + o_before) - 1, &w))
		return;
	if (offset_at(w - o, &o_check) < 0 || o_check != o)
		return;
	if (w - o > after && w - o < *best)
		*best = w - o;
}

int
cron_next(const struct cron *c, time_t after, time_t *ret)
{
	struct cron m = *c;
	int64_t today, now_wall, from, limit, best = INT64_MAX;
	struct tm tm;
	int r;

	m.minute &= MINUTE_MASK;
	m.hour &= HOUR_MASK;
	m.dom &= DOM_MASK;
	m.month &= MONTH_MASK;
	m.dow &= DOW_MASK;
	if (!can_fire(&m))
		return -ERANGE;
	if (!localtime_r(&after, &tm))
		return -ERANGE;
	/* A leap second (23:59:60 in a "right/" zone) still belongs to its minute. */
	today = days_from_civil(tm.tm_year + INT64_C(1900), (unsigned)tm.tm_mon + 1,
	                        (unsigned)tm.tm_mday);
	now_wall = today * DAY + tm.tm_hour * 3600 + tm.tm_min * 60 + MIN(tm.tm_sec, 59);
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
		r = resolve_wall(w, &v);
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
				r = find_transition(v.first, v.second, &t);
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
		second_pass(&m, after, tm.tm_gmtoff, from, &best);

	if (best == INT64_MAX || (int64_t)(time_t)best != best)
		return -ERANGE;
	*ret = (time_t)best;
	return 0;
}
