/* SPDX-License-Identifier: MIT */
#pragma once

#include <time.h>

/*
 * WHEN for --since and --until: a duration ago ("2h", "30m", "1d") or an
 * ISO 8601 date or time ("2026-12-01", "2026-12-01T08:00", "...:00Z",
 * "...+01:00"); without a zone, local time. Seconds since the epoch from
 * now, -1 if invalid.
 */
long long when_parse(const char *s, time_t now);
