/* SPDX-License-Identifier: MIT */
/*
 * Readiness and status for systemd (Type=notify): READY=1 once the first
 * generation is live, RELOADING=1 with the monotonic timestamp systemd 253+
 * expects around a reload, STOPPING=1 on shutdown, and STATUS= kept current.
 * The watchdog pings come from sd-event itself (sd_event_set_watchdog), so
 * they stop when the loop stops turning.
 */
#include "notify.h"

#include "util.h"

#include <systemd/sd-daemon.h>

void
notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	           (unsigned long long)now_usec(CLOCK_MONOTONIC));
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void
notify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}
