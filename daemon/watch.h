/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct sched_clock;

/* The file system watch of one pipeline's `watch` trigger. */
struct watch;

/* At most this many distinct changed paths, and bytes of them, reach one run. */
#define WATCH_CHANGED_MAX       1000
#define WATCH_CHANGED_BYTES_MAX (64 * 1024)

struct watch_config {
	sd_event *e;                     /* inotify's fd is read on this loop */
	const struct sched_clock *clock; /* for the settle delay; borrowed */
	char *const *paths;              /* absolute; directories or files */
	size_t n_paths;
	uint32_t events;      /* WATCH_* of triggers.h */
	uint64_t settle_usec; /* quiet time that ends a burst */
	/*
	 * A burst ended: changed holds the distinct changed paths, one per
	 * line, in the order they first changed (at most WATCH_CHANGED_MAX of
	 * them and WATCH_CHANGED_BYTES_MAX bytes; dropped says how many more
	 * there were). Loop thread.
	 */
	void (*on_burst)(void *data, const char *changed, size_t dropped);
	void *data;
};

/*
 * Watches cfg's paths with inotify. A changed path is an entry of a
 * watched directory, or the watched path itself (a watched file changed, a
 * watched path appeared or went away, or the kernel's queue overflowed and
 * the details are lost). A path that does not exist yet is picked up when
 * it appears: its nearest existing ancestor is watched until then.
 *
 * A burst ends when no change came for settle_usec, or, under a steady
 * stream of changes, max(10 * settle, 1 minute) after it began. Returns 0
 * or -errno (-EMFILE: the inotify instance limit). Loop thread.
 */
int watch_new(const struct watch_config *cfg, struct watch **ret);
/* Accepts NULL; returns NULL. A burst in progress is dropped. */
struct watch *watch_free(struct watch *w);
