/* SPDX-License-Identifier: MIT */
/*
 * Time zones for schedules (`timezone = "Europe/Berlin"`, `CRON_TZ=`): a
 * reader of the system's zone database, so that the daemon can compute fire
 * times in a zone other than its own. glibc has no per-call zone API (only
 * the process-wide TZ, which a threaded daemon must not switch), so, as
 * systemd does for calendar specs, the daemon reads the zone file itself.
 *
 * The format is TZif, documented in tzfile(5) and RFC 8536: a table of
 * transition instants, each naming a local time type (a UTC offset), and a
 * footer with a POSIX TZ string (e.g. "CET-1CEST,M3.5.0,M10.5.0/3") that
 * gives the rule for instants after the last transition. Only the version 2+
 * data block (64-bit times) and the footer are used; version 1 files, and
 * files with leap-second records ("right/" zones), are refused with a
 * message. The zone is decoded once, at load, into a sorted array and a
 * parsed rule; queries are a binary search or a little calendar arithmetic,
 * without locks or allocation.
 */
#include "cron_tz.h"

#include "cron_calendar.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZIF_MAX        (1u << 20)
#define TZIF_HEADER     44
#define TRANSITIONS_MAX 100000
#define TYPES_MAX       256
#define DAY             INT64_C(86400)
/* RFC 8536 allows rule times of -167 to 167 hours; offsets stay within a day. */
#define RULE_TIME_MAX (167 * 3600)
#define OFFSET_MAX    (25 * 3600)

/* One end of daylight saving time in a POSIX TZ rule. */
struct rule_date {
	char kind; /* 'J' (1-365, no Feb 29), 'N' (0-365), 'M' (month.week.day) */
	int day;   /* J, N: the day; M: weekday 0-6 (Sunday 0) */
	int week;  /* M: 1-5, 5 is the last */
	int month; /* M: 1-12 */
	long time; /* seconds after local midnight, local time in force before it */
};

/* The footer's rule: a fixed offset, or standard and daylight time. */
struct rule {
	bool valid;
	long std_off; /* east positive */
	bool has_dst;
	long dst_off;
	struct rule_date start, end; /* of daylight time */
};

struct cron_tz {
	atomic_uint refs;
	char *name;
	int64_t *times; /* transition instants, ascending */
	long *offsets;  /* offset from each transition on */
	size_t n;
	long first_off; /* before the first transition */
	struct rule rule;
};

static int fail(char *err, size_t errsize, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errsize, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* The POSIX TZ string of the footer. */

/* "CET", or "<+0330>": a zone abbreviation, skipped. */
static bool
skip_abbrev(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		while (*s && *s != '>')
			s++;
		if (*s != '>')
			return false;
		*p = s + 1;
		return true;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	if (s - *p < 3)
		return false;
	*p = s;
	return true;
}

/* [+-]hh[:mm[:ss]], hours up to max_hours. */
static bool
parse_hms(const char **p, long max_hours, long *ret)
{
	const char *s = *p;
	long sign = 1, v[3] = { 0, 0, 0 };
	int n = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (;;) {
		const char *d = s;

		while (*s >= '0' && *s <= '9' && s - d < 3)
			v[n] = v[n] * 10 + (*s++ - '0');
		if (s == d || (n > 0 && v[n] > 59))
			return false;
		if (++n == 3 || *s != ':')
			break;
		s++;
	}
	if (v[0] > max_hours)
		return false;
	*ret = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	*p = s;
	return true;
}

static bool
parse_number(const char **p, int lo, int hi, int *ret)
{
	const char *s = *p;
	int v = 0;

	while (*s >= '0' && *s <= '9' && s - *p < 4)
		v = v * 10 + (*s++ - '0');
	if (s == *p || v < lo || v > hi)
		return false;
	*ret = v;
	*p = s;
	return true;
}

/* Jn, n or Mm.w.d, then an optional /time. */
static bool
parse_rule_date(const char **p, struct rule_date *ret)
{
	struct rule_date d = { .time = 2 * 3600 };

	if (**p == 'J') {
		(*p)++;
		d.kind = 'J';
		if (!parse_number(p, 1, 365, &d.day))
			return false;
	} else if (**p == 'M') {
		(*p)++;
		d.kind = 'M';
		if (!parse_number(p, 1, 12, &d.month) || *(*p)++ != '.' ||
		    !parse_number(p, 1, 5, &d.week) || *(*p)++ != '.' ||
		    !parse_number(p, 0, 6, &d.day))
			return false;
	} else {
		d.kind = 'N';
		if (!parse_number(p, 0, 365, &d.day))
			return false;
	}
	if (**p == '/') {
		(*p)++;
		if (!parse_hms(p, 167, &d.time))
			return false;
	}
	*ret = d;
	return true;
}

/*
 * "std offset [dst [offset] [,start[/time],end[/time]]]". POSIX offsets are
 * west positive; they are stored east positive. An empty string (a zone
 * whose future is unknown) leaves the rule invalid: the last transition's
 * offset then stays in force.
 */
static bool
parse_rule(const char *s, struct rule *ret)
{
	struct rule r = { 0 };
	long off;

	if (!*s) {
		*ret = r;
		return true;
	}
	if (!skip_abbrev(&s) || !parse_hms(&s, 24, &off))
		return false;
	r.std_off = -off;
	r.dst_off = r.std_off + 3600;
	if (*s) {
		r.has_dst = true;
		if (!skip_abbrev(&s))
			return false;
		if (*s && *s != ',') {
			if (!parse_hms(&s, 24, &off))
				return false;
			r.dst_off = -off;
		}
		/* No rule: POSIX leaves it to the implementation; tzcode says M3.2.0,M11.1.0. */
		if (!*s) {
			r.start = (struct rule_date){ 'M', 0, 2, 3, 2 * 3600 };
			r.end = (struct rule_date){ 'M', 0, 1, 11, 2 * 3600 };
		} else if (*s++ != ',' || !parse_rule_date(&s, &r.start) || *s++ != ',' ||
		           !parse_rule_date(&s, &r.end))
			return false;
	}
	if (*s)
		return false;
	r.valid = true;
	*ret = r;
	return true;
}

/* Local seconds (wall clock counted as UTC) at which d happens in year y. */
static int64_t
rule_local(const struct rule_date *d, int64_t y)
{
	int64_t days;

	switch (d->kind) {
	case 'J':
		days = days_from_civil(y, 1, 1) + d->day - 1 + (is_leap(y) && d->day >= 60);
		break;
	case 'N':
		days = days_from_civil(y, 1, 1) + d->day;
		break;
	default: {
		int64_t first = days_from_civil(y, (unsigned)d->month, 1);
		/* 1970-01-01 was a Thursday (4). */
		int wd_first = (int)(first + 4 - floor_div(first + 4, 7) * 7);
		int mday = 1 + (d->day - wd_first + 7) % 7 + (d->week - 1) * 7;

		while (mday > (int)days_in_month(y, (unsigned)d->month))
			mday -= 7;
		days = first + mday - 1;
	}
	}
	return days * DAY + d->time;
}

static long
rule_offset(const struct rule *r, int64_t t)
{
	int64_t y, start, end;
	unsigned m, d;
	bool dst;

	if (!r->has_dst)
		return r->std_off;
	civil_from_days(floor_div(t + r->std_off, DAY), &y, &m, &d);
	/* The start is in standard time, the end in daylight time. */
	start = rule_local(&r->start, y) - r->std_off;
	end = rule_local(&r->end, y) - r->dst_off;
	if (start < end)
		dst = t >= start && t < end;
	else
		dst = !(t >= end && t < start);
	return dst ? r->dst_off : r->std_off;
}

/* TZif. */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static bool
read_header(const unsigned char *p, size_t size, struct counts *ret)
{
	if (size < TZIF_HEADER || memcmp(p, "TZif", 4) != 0)
		return false;
	*ret = (struct counts){ be32(p + 20), be32(p + 24), be32(p + 28),
		                be32(p + 32), be32(p + 36), be32(p + 40) };
	return true;
}

/* Bytes of a data block whose times are tsize bytes wide. */
static uint64_t
block_size(const struct counts *c, unsigned tsize)
{
	return (uint64_t)c->time * (tsize + 1) + (uint64_t)c->type * 6 + c->chars +
	       (uint64_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

static int
parse_tzif(struct cron_tz *z, const unsigned char *data, size_t size, char *err, size_t errsize)
{
	struct counts c;
	const unsigned char *p, *end = data + size;
	const unsigned char *times, *idx, *types;
	uint64_t skip;

	if (!read_header(data, size, &c))
		return fail(err, errsize, -EINVAL, "not a TZif file");
	if (data[4] < '2')
		return fail(err, errsize, -EINVAL, "TZif version 1 files are not supported");
	skip = TZIF_HEADER + block_size(&c, 4);
	if (skip >= size || !read_header(data + skip, size - skip, &c))
		return fail(err, errsize, -EINVAL, "truncated TZif file");
	p = data + skip + TZIF_HEADER;
	if (c.leap)
		return fail(err, errsize, -EINVAL,
		            "zones with leap seconds (\"right/\") are not supported");
	if (c.type == 0 || c.type > TYPES_MAX || c.time > TRANSITIONS_MAX ||
	    block_size(&c, 8) > (uint64_t)(end - p))
		return fail(err, errsize, -EINVAL, "truncated or oversized TZif file");
	times = p;
	idx = times + (size_t)c.time * 8;
	types = idx + c.time;
	p += block_size(&c, 8);

	z->times = calloc(c.time ? c.time : 1, sizeof(*z->times));
	z->offsets = calloc(c.time ? c.time : 1, sizeof(*z->offsets));
	if (!z->times || !z->offsets)
		return fail(err, errsize, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < c.time; i++) {
		int32_t off;

		if (idx[i] >= c.type)
			return fail(err, errsize, -EINVAL, "bad local time type in TZif file");
		off = (int32_t)be32(types + (size_t)idx[i] * 6);
		z->times[i] = be64(times + (size_t)i * 8);
		z->offsets[i] = off;
		if ((i > 0 && z->times[i] <= z->times[i - 1]) || off < -OFFSET_MAX ||
		    off > OFFSET_MAX)
			return fail(err, errsize, -EINVAL, "bad transition in TZif file");
	}
	z->n = c.time;
	z->first_off = (int32_t)be32(types);
	if (z->first_off < -OFFSET_MAX || z->first_off > OFFSET_MAX)
		return fail(err, errsize, -EINVAL, "bad offset in TZif file");

	/* The footer: "\nTZ\n". */
	if (p < end) {
		const unsigned char *nl;
		char rule[256];

		if (*p != '\n' || !(nl = memchr(p + 1, '\n', (size_t)(end - p - 1))) ||
		    (size_t)(nl - p - 1) >= sizeof(rule))
			return fail(err, errsize, -EINVAL, "bad footer in TZif file");
		memcpy(rule, p + 1, (size_t)(nl - p - 1));
		rule[nl - p - 1] = '\0';
		if (!parse_rule(rule, &z->rule))
			return fail(err, errsize, -EINVAL, "unsupported rule '%s' in TZif file",
			            rule);
	}
	return 0;
}

static bool
name_valid(const char *name)
{
	size_t len = strnlen(name, CRON_TZ_NAME_MAX + 1);

	if (len == 0 || len > CRON_TZ_NAME_MAX || name[0] == '/')
		return false;
	for (const char *s = name; *s; s++) {
		bool ok = (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		          (*s >= '0' && *s <= '9') || strchr("/_+-.", *s);

		if (!ok)
			return false;
		/* No "." or ".." component, no empty one. */
		if (*s == '/' && (s[1] == '/' || s[1] == '\0'))
			return false;
		if ((s == name || s[-1] == '/') && s[0] == '.')
			return false;
	}
	return true;
}

int
cron_tz_load(const char *name, struct cron_tz **ret, char *err, size_t errsize)
{
	const char *dir = getenv("TZDIR");
	_cleanup_free_ char *path = NULL, *data = NULL;
	struct cron_tz *z;
	size_t size;
	int r;

	if (!name || !name_valid(name))
		return fail(err, errsize, -EINVAL,
		            "invalid time zone name '%.*s' (expected a name like "
		            "\"Europe/Berlin\")",
		            CRON_TZ_NAME_MAX, name ? name : "");
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	path = path_join(dir, name);
	if (!path)
		return fail(err, errsize, -ENOMEM, "out of memory");
	r = read_file(path, TZIF_MAX, &data, &size);
	if (r == -ENOENT)
		return fail(err, errsize, r, "unknown time zone '%s' (no %s)", name, path);
	if (r < 0)
		return fail(err, errsize, r, "time zone '%s': %s: %s", name, path, strerror(-r));
	z = calloc(1, sizeof(*z));
	if (!z || !(z->name = strdup(name))) {
		free(z);
		return fail(err, errsize, -ENOMEM, "out of memory");
	}
	atomic_init(&z->refs, 1);
	{
		char why[200];

		r = parse_tzif(z, (const unsigned char *)data, size, why, sizeof(why));
		if (r < 0) {
			cron_tz_unref(z);
			return fail(err, errsize, r, "time zone '%s': %s: %s", name, path, why);
		}
	}
	*ret = z;
	return 0;
}

struct cron_tz *
cron_tz_ref(struct cron_tz *z)
{
	if (z)
		atomic_fetch_add_explicit(&z->refs, 1, memory_order_relaxed);
	return z;
}

struct cron_tz *
cron_tz_unref(struct cron_tz *z)
{
	if (!z || atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) != 1)
		return NULL;
	free(z->name);
	free(z->times);
	free(z->offsets);
	free(z);
	return NULL;
}

const char *
cron_tz_name(const struct cron_tz *z)
{
	return z->name;
}

int
cron_tz_offset(const struct cron_tz *z, int64_t t, long *ret)
{
	size_t lo = 0, hi = z->n;

	if (t < -INT64_C(3200000000000) || t > INT64_C(3200000000000))
		return -ERANGE;
	if (z->rule.valid && (z->n == 0 || t >= z->times[z->n - 1])) {
		*ret = rule_offset(&z->rule, t);
		return 0;
	}
	if (z->n == 0 || t < z->times[0]) {
		*ret = z->first_off;
		return 0;
	}
	/* The last transition at or before t. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	*ret = z->offsets[lo];
	return 0;
}

char *
cron_tz_format(const struct cron_tz *z, int64_t t, char *buf, size_t size)
{
	int64_t y, local, days;
	unsigned m, d;
	long off, sod;

	if (cron_tz_offset(z, t, &off) < 0) {
		snprintf(buf, size, "@%lld", (long long)t);
		return buf;
	}
	local = t + off;
	days = floor_div(local, DAY);
	sod = (long)(local - days * DAY);
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02u-%02uT%02ld:%02ld:%02ld%c%02ld:%02ld", (long long)y, m, d,
	         sod / 3600, sod % 3600 / 60, sod % 60, off < 0 ? '-' : '+', labs(off) / 3600,
	         labs(off) % 3600 / 60);
	return buf;
}
