/* SPDX-License-Identifier: MIT */
/*
 * The times that ginictl's options take (history --since/--until): a
 * duration ago, or an ISO 8601 date and time with or without a zone.
 */
#include "when.h"

#include "util.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

long long
when_parse(const char *s, time_t now)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
		                            "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d" };
	uint64_t usec;

	if (parse_duration(s, &usec) == 0)
		return (long long)now - (long long)(usec / USEC_PER_SEC);
	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
		struct tm tm = { .tm_isdst = -1 };
		const char *end = strptime(s, fmts[i], &tm);
		long long t;

		if (!end)
			continue;
		if (*end == '.') /* fractions of a second are ignored */
			for (end++; *end >= '0' && *end <= '9'; end++)
				;
		if (*end == 0) {
			t = (long long)mktime(&tm);
		} else if (streq(end, "Z")) {
			t = (long long)timegm(&tm);
		} else if ((*end == '+' || *end == '-') && strlen(end) == 6 && end[3] == ':') {
			int hh, mm;

			/* "+HH:MM": two digits, a colon, two digits. */
			if (!isdigit((unsigned char)end[1]) || !isdigit((unsigned char)end[2]) ||
			    !isdigit((unsigned char)end[4]) || !isdigit((unsigned char)end[5]))
				continue;
			hh = (end[1] - '0') * 10 + (end[2] - '0');
			mm = (end[4] - '0') * 10 + (end[5] - '0');
			t = (long long)timegm(&tm) - (*end == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
		} else {
			continue;
		}
		return t < 0 ? -1 : t;
	}
	return -1;
}
