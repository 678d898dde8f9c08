/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The longest zone name cron_tz_load() accepts, in bytes. */
#define CRON_TZ_NAME_MAX 128

/*
 * A time zone read from the system's zone database (a TZif file), for
 * schedules in a zone other than the daemon's. Immutable once loaded, so
 * any thread may query it; reference-counted (atomically), since a
 * configuration and the pipelines compiled from it share it.
 */
struct cron_tz;

/*
 * Loads zone name ("Europe/Berlin", "UTC") from $TZDIR, else
 * /usr/share/zoneinfo. Names are relative, of letters, digits and "/_+-",
 * with no "." or ".." component. Returns 0, or a negative errno with a
 * one-line message (no trailing period) in err; *ret is written only on
 * success.
 */
int cron_tz_load(const char *name, struct cron_tz **ret, char *err, size_t errsize);
struct cron_tz *cron_tz_ref(struct cron_tz *z);
/* Accepts NULL; returns NULL. */
struct cron_tz *cron_tz_unref(struct cron_tz *z);
/* The name it was loaded by. */
const char *cron_tz_name(const struct cron_tz *z);
/*
 * The UTC offset in seconds (east positive, like tm_gmtoff) in force in z
 * at instant t. 0, or -ERANGE beyond what the zone can say (never for
 * instants between years -100000 and 100000).
 */
int cron_tz_offset(const struct cron_tz *z, int64_t t, long *ret);
/*
 * t as ISO 8601 in z's local time with its offset
 * ("2024-05-02T02:00:00+02:00"), in buf; "@T" if z cannot say.
 */
char *cron_tz_format(const struct cron_tz *z, int64_t t, char *buf, size_t size);
