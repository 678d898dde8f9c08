/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The longest expression cron_parse() accepts, in bytes. */
#define CRON_EXPR_MAX 256

/* The valid bits of struct cron's dow. */
#define CRON_DOW_MASK ((uint8_t)((1u << 7) - 1))

/*
 * A parsed five-field cron expression (plain value, no pointers; copy it
 * freely). Bit n of a set means value n matches.
 */
struct cron {
	uint64_t minute; /* bits 0-59 */
	uint32_t hour;   /* bits 0-23 */
	uint32_t dom;    /* bits 1-31 */
	uint16_t month;  /* bits 1-12 */
	uint8_t dow;     /* bits 0-6, Sunday = 0 (a 7 in the expression is folded into 0) */
	/*
	 * The day-of-month / day-of-week field began with '*' ("*" or a stepped "*").
	 * When neither did, a day matches if either field matches; otherwise
	 * both must (Vixie cron's rule, see cron.c).
	 */
	bool dom_star;
	bool dow_star;
	/*
	 * Neither the minute nor the hour field began with '*' (Vixie cron's
	 * "fixed-time" job). Decides what happens at daylight-saving changes:
	 * a fixed-time job fires once for a skipped or repeated time, a
	 * wildcard job follows the wall clock. See cron_next().
	 */
	bool fixed_time;
};

/*
 * Parses five fields separated by spaces or tabs (minute hour day-of-month month
 * day-of-week) with '*', numbers, names (jan-dec, sun-sat), lists, ranges and
 * steps, or one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly,
 * @annually. Rejects an expression that can never fire.
 *
 * Returns 0, or -EINVAL with a one-line message (no trailing period) in err
 * (if err is not NULL); *ret is written only on success.
 */
int cron_parse(const char *expr, struct cron *ret, char *err, size_t errsize);

/*
 * Whether the expression matches at least one minute of some year
 * (cron_parse() refuses those that do not).
 */
bool cron_can_fire(const struct cron *c);

/*
 * The first time strictly after `after` at which the expression fires, in the
 * local time zone (TZ, as last read by tzset()). Daylight-saving changes:
 *  - a local time that does not exist (clocks go forward): a fixed-time job
 *    due then fires once, at the first instant after the gap; a wildcard job
 *    has no fires there;
 *  - a local time that occurs twice (clocks go back): a fixed-time job fires
 *    at the first occurrence only; a wildcard job fires at both.
 *
 * Returns 0, or -ERANGE if there is no such time (an expression that never
 * fires, or one beyond what time_t and struct tm can represent); *ret is
 * written only on success. Thread-safe (localtime_r() only).
 */
int cron_next(const struct cron *c, time_t after, time_t *ret);

struct cron_tz;
/*
 * The same in zone z (cron_tz.h) instead of the local time zone, with the
 * same daylight-saving rules; z NULL is local time. Thread-safe: it never
 * reads or sets TZ.
 */
int cron_next_tz(const struct cron *c, const struct cron_tz *z, time_t after, time_t *ret);
