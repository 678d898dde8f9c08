/* SPDX-License-Identifier: MIT */
/*
 * Readiness and status for systemd (Type=notify): READY=1 once the first
 * generation is live, RELOADING=1 with the monotonic timestamp systemd 253+
 * expects around a reload, STOPPING=1 on shutdown, and STATUS= kept current.
 * The watchdog pings come from sd-event itself (sd_event_set_watchdog), so
 * they stop when the loop stops turning.
 *
 * The messages go out on a non-blocking datagram socket of our own rather
 * than through sd_notify(), which blocks when the receiver's queue is full:
 * the loop thread must never wait on the service manager. A STATUS= update
 * that cannot be sent now is dropped (the next one replaces it anyway), and
 * one equal to the last sent is not sent again. The state changes (READY,
 * RELOADING, STOPPING) are retried briefly.
 */
#include "notify.h"

#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int notify_fd = -2; /* -2: not opened yet; -1: no NOTIFY_SOCKET */
static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static char *last_status;

static void
notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	notify_fd = -1;
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(notify_addr.sun_path))
		return;
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, len);
	if (path[0] == '@')
		notify_addr.sun_path[0] = 0; /* abstract namespace */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

bool
notify_wanted(void)
{
	if (notify_fd == -2)
		notify_open();
	return notify_fd >= 0;
}

/* Returns 0, or -EAGAIN when the receiver's queue is full. */
static int
send_message(const char *msg)
{
	if (notify_fd == -2)
		notify_open();
	if (notify_fd < 0)
		return 0;
	if (sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT,
	           (struct sockaddr *)&notify_addr, notify_len) < 0)
		return -errno;
	return 0;
}

/* State changes matter: a few short retries before giving up. */
static void
send_state(const char *msg)
{
	for (int i = 0; i < 50 && send_message(msg) == -EAGAIN; i++) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

void
notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	send_state(msg);
	free(last_status);
	last_status = strdup(status);
}

void
notify_reloading(void)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)now_usec(CLOCK_MONOTONIC));
	send_state(msg);
}

void
notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=stopping");
	free(last_status);
	last_status = strdup("stopping");
}

void
notify_status(const char *status)
{
	char msg[512];

	if (streq_ptr(status, last_status))
		return;
	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	if (send_message(msg) < 0)
		return; /* the next update replaces it */
	free(last_status);
	last_status = strdup(status);
}

void
notify_done(void)
{
	if (notify_fd >= 0)
		close(notify_fd);
	notify_fd = -2;
	free(last_status);
	last_status = NULL;
}
