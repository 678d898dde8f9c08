/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes cron.c and the small parsers of util.c. The input is text: the
 * first line is a cron expression; an optional second line is
 * "ZONE [START...]": ZONE a number (an index into the zones below), a zone
 * name from that list, or a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0",
 * and each START a time_t to search from (a few instants around 2024's
 * daylight-saving changes when none is given).
 *
 * For an expression that parses, cron_next() is called from every start and
 * again from each result, and must keep its contract:
 *  - in the zones of the list, it succeeds for any start between 1653 and
 *    5138 (a malformed TZ string may leave it no sense to make);
 *  - the result is strictly later, and at most 401 years later;
 *  - the result is a fire: the local wall clock matches the expression, or,
 *    for a fixed-time job, the instant ends a daylight-saving gap that
 *    swallowed a matching minute;
 *  - in real zones (tzdata) between 1970 and 2100, when the result is at
 *    most a day and a bit away, no instant in between is a fire (a
 *    brute-force walk, minute by minute), where a fixed-time job's repeated
 *    wall-clock minute is a fire the first time only;
 *  - under libFuzzer, each call takes less than two seconds of CPU.
 * The first line is also parsed as a duration and as a signal name, and
 * what parses must survive a round trip through the formatter.
 */
#include "fuzz.h"

#include "cron.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Zones with every kind of change: none, ±1h, 30 min, date-line moves,
 * negative DST (Dublin, Casablanca), 2h (Troll), odd offsets. */
static const char *const zones[] = {
	"UTC",
	"Europe/Berlin",
	"America/New_York",
	"Australia/Lord_Howe",
	"Pacific/Apia",
	"Europe/Moscow",
	"Asia/Kolkata",
	"America/St_Johns",
	"Africa/Casablanca",
	"Antarctica/Troll",
	"Pacific/Chatham",
	"America/Santiago",
	"Europe/Dublin",
	"Pacific/Kiritimati",
	"Asia/Kathmandu",
	"America/Havana",
};

#define STARTS_MAX 4
#define CHAIN      3
#define DAY        INT64_C(86400)

static bool
matches(const struct cron *c, const struct tm *tm)
{
	bool dm, wm;

	if (!(c->minute >> tm->tm_min & 1) || !(c->hour >> tm->tm_hour & 1) ||
	    !(c->month >> (tm->tm_mon + 1) & 1))
		return false;
	dm = c->dom >> tm->tm_mday & 1;
	wm = c->dow >> tm->tm_wday & 1;
	return c->dom_star || c->dow_star ? dm && wm : dm || wm;
}

static bool
local(time_t t, struct tm *tm)
{
	return localtime_r(&t, tm) != NULL;
}

static long
offset(time_t t)
{
	struct tm tm;

	return local(t, &tm) ? tm.tm_gmtoff : LONG_MIN;
}

/* A matching wall-clock minute in [from, to) (local seconds)? */
static bool
gap_matches(const struct cron *c, int64_t from, int64_t to)
{
	/* The first whole minute at or after from; C division truncates toward 0. */
	int64_t first = from / 60 * 60 + (from % 60 > 0 ? 60 : 0);

	for (int64_t m = first; m < to; m += 60) {
		time_t tt = (time_t)m;
		struct tm tm;

		if (gmtime_r(&tt, &tm) && matches(c, &tm))
			return true;
	}
	return false;
}

/*
 * Whether the job fires at t. strict: also apply the first-occurrence rule
 * of fixed-time jobs, which needs sane zone data.
 */
static bool
fires(const struct cron *c, time_t t, bool strict)
{
	struct tm tm;
	long o, before;

	if (!local(t, &tm))
		return false;
	o = tm.tm_gmtoff;
	if (tm.tm_sec == 0 && matches(c, &tm)) {
		if (!c->fixed_time || !strict)
			return true;
		/* A fixed-time job fires at the first of two occurrences only. */
		long cands[2] = { offset(t - DAY), offset(t + DAY) };

		for (int i = 0; i < 2; i++) {
			time_t t2 = (time_t)((int64_t)t + o - cands[i]);

			if (cands[i] != o && cands[i] != LONG_MIN && t2 < t &&
			    offset(t2) == cands[i])
				return false;
		}
		return true;
	}
	/* The end of a gap that swallowed a matching minute. */
	before = offset(t - 1);
	return c->fixed_time && before != LONG_MIN && before < o &&
	       gap_matches(c, (int64_t)t + before, (int64_t)t + o);
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
check_next(const struct cron *c, const char *expr, const char *zone, bool real_zone, time_t after,
           time_t *ret)
{
	double t0 = cpu_seconds(), spent;
	time_t next = 0;
	int r = cron_next(c, after, &next);

	spent = cpu_seconds() - t0;
#ifdef GINI_FUZZ_ENGINE
	if (spent > 2.0)
		fuzz_fail("'%s' in %s from %lld: cron_next took %.1fs", expr, zone,
		          (long long)after, spent);
#else
	(void)spent;
#endif
	if (getenv("GINI_FUZZ_VERBOSE"))
		fprintf(stderr, "'%s' in %s from %lld: %d, %lld\n", expr, zone, (long long)after, r,
		        (long long)next);
	*ret = 0;
	if (r < 0) {
		if (r != -ERANGE)
			fuzz_fail("'%s' in %s from %lld: cron_next returned %d", expr, zone,
			          (long long)after, r);
		/*
		 * Only in real zones: glibc makes no sense of a malformed TZ
		 * string ("Ariri3*" gives offsets that depend on the order of
		 * calls), and "no such time" is then an honest answer.
		 */
		if (real_zone && after >= -INT64_C(10000000000) && after <= INT64_C(100000000000))
			fuzz_fail("'%s' in %s from %lld: no next fire time", expr, zone,
			          (long long)after);
		return;
	}
	if (next <= after)
		fuzz_fail("'%s' in %s from %lld: next %lld is not later", expr, zone,
		          (long long)after, (long long)next);
	if ((int64_t)next - (int64_t)after > 401 * 366 * DAY)
		fuzz_fail("'%s' in %s from %lld: next %lld is more than 401 years later", expr,
		          zone, (long long)after, (long long)next);
	if (!fires(c, next, false))
		fuzz_fail("'%s' in %s from %lld: next %lld does not match", expr, zone,
		          (long long)after, (long long)next);
	/* The brute-force walk, where offsets are whole minutes. */
	if (real_zone && after >= 0 && next <= INT64_C(4102444800) &&
	    next - after <= DAY + 2 * 3600 && offset(after) % 60 == 0 && offset(next) % 60 == 0) {
		if (!fires(c, next, true))
			fuzz_fail("'%s' in %s from %lld: next %lld is a repeated minute", expr,
			          zone, (long long)after, (long long)next);
		long prev = offset((after / 60) * 60);

		/* One localtime_r() a minute; the full test only where it can fire. */
		for (time_t t = (after / 60 + 1) * 60; t < next; t += 60) {
			struct tm tm;

			if (!local(t, &tm))
				break;
			if ((matches(c, &tm) || tm.tm_gmtoff != prev) && fires(c, t, true))
				fuzz_fail(
				        "'%s' in %s from %lld: next is %lld, but it fires at %lld",
				        expr, zone, (long long)after, (long long)next,
				        (long long)t);
			prev = tm.tm_gmtoff;
		}
	}
	*ret = next;
}

static void
check_duration(const char *s)
{
	uint64_t v, again;
	char buf[128], buf2[64];

	if (parse_duration(s, &v) < 0)
		return;
	if (v > UINT64_C(100) * 366 * USEC_PER_DAY)
		fuzz_fail("duration '%s' parsed to %" PRIu64 ", beyond the cap", s, v);
	format_duration(v, buf, sizeof(buf));
	if (parse_duration(buf, &again) < 0 || again != v)
		fuzz_fail("duration '%s' = %" PRIu64
		          "us formats as '%s', which does not parse back",
		          s, v, buf);
	format_elapsed(v, buf2, sizeof(buf2));
	format_duration(v, buf2, 5); /* truncation must be safe */
}

static void
check_signal(const char *s)
{
	char buf[32];
	int sig = signal_from_string(s), again;

	if (sig < 0)
		return;
	signal_to_string(sig, buf, sizeof(buf));
	again = signal_from_string(buf);
	if (again != sig)
		fuzz_fail("signal '%s' = %d formats as '%s', which parses to %d", s, sig, buf,
		          again);
}

static void
set_zone(const char *tz)
{
	static char current[128];

	if (strcmp(current, tz) == 0)
		return;
	snprintf(current, sizeof(current), "%s", tz);
	setenv("TZ", tz, 1);
	tzset();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 2024 around the EU and US changes, a leap day, and the 32-bit edge. */
	static const time_t defaults[] = {
		1711846800, /* 2024-03-31T01:00Z */
		1729985400, /* 2024-10-26T23:30Z */
		1710050400, /* 2024-03-10T06:00Z */
		951782400,  /* 2000-02-29T00:00Z */
		2147483000, /* 2038-01-19 */
	};
	char *text = malloc(size + 1), *line2, *tok, *save = NULL;
	time_t starts[STARTS_MAX + ARRAY_SIZE(defaults)];
	size_t n_starts = 0;
	const char *zone;
	bool real_zone = true;
	struct cron c;
	char err[256];
	unsigned h = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	line2 = strchr(text, '\n');
	if (line2)
		*line2++ = 0;

	check_duration(text);
	check_signal(text);

	if (cron_parse(text, &c, err, sizeof(err)) < 0) {
		fuzz_assert_one_line("cron error", err);
		if (!err[0])
			fuzz_fail("'%s': rejected without a message", text);
		goto out;
	}

	for (const char *p = text; *p; p++)
		h = h * 31 + (unsigned char)*p;
	zone = zones[h % ARRAY_SIZE(zones)];
	tok = line2 ? strtok_r(line2, " \t\n", &save) : NULL;
	if (tok) {
		char *end;
		long idx = strtol(tok, &end, 10);

		if (!*end) {
			zone = zones[(unsigned long)idx % ARRAY_SIZE(zones)];
		} else {
			zone = tok;
			real_zone = false;
			for (size_t i = 0; i < ARRAY_SIZE(zones); i++)
				real_zone = real_zone || strcmp(tok, zones[i]) == 0;
			/* No paths: only names from the list, or POSIX TZ rules. */
			if (!real_zone && (strchr(tok, '/') || strchr(tok, '.') || tok[0] == ':' ||
			                   strlen(tok) > 100))
				goto out;
		}
		while ((tok = strtok_r(NULL, " \t\n", &save)) && n_starts < STARTS_MAX) {
			check_duration(tok);
			check_signal(tok);
			errno = 0;
			starts[n_starts++] = (time_t)strtoll(tok, NULL, 10);
		}
	}
	if (n_starts == 0)
		for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
			starts[n_starts++] = defaults[i];
	set_zone(zone);

	for (size_t i = 0; i < n_starts; i++) {
		time_t t = starts[i];

		for (int k = 0; k < CHAIN; k++) {
			time_t next;

			check_next(&c, text, zone, real_zone, t, &next);
			if (!next)
				break;
			t = next;
		}
	}
out:
	free(text);
	return 0;
}
