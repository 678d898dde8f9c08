/* SPDX-License-Identifier: MIT */
/*
 * The `watch` trigger's eyes: inotify on the event loop. One inotify
 * instance per watching pipeline, one watch per configured path. A path that
 * does not exist (yet, or any more) is replaced by a watch on its nearest
 * existing ancestor for entries being created or moved in; each such event
 * retries the real path, so a directory created later, even several levels
 * deep, is picked up, and the appearance itself counts as a change.
 *
 * Changes come in bursts (a copy of a thousand files); this file turns a
 * burst into one report: the distinct changed paths, in order, bounded, once
 * the burst has settled. The scheduler makes that a run. Loop thread only.
 */
#include "watch.h"

#include "hashmap.h"
#include "log.h"
#include "sched_clock.h"
#include "triggers.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* Ancestor watches: what makes a missing path appear. */
#define ANCESTOR_MASK (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)
/* A watched path going away: fall back to its ancestor. */
#define SELF_MASK (IN_DELETE_SELF | IN_MOVE_SELF)

struct target {
	char *path;
	int wd;            /* -1: none */
	bool on_ancestor;  /* wd watches an ancestor of path, which is missing */
	char *watched_dir; /* the ancestor, when on_ancestor */
};

struct watch {
	int fd;
	sd_event_source *src;
	uint32_t mask; /* inotify events of the configured WATCH_* */
	struct target *targets;
	size_t n_targets;
	struct watch_config cfg; /* paths not kept */
	/* The burst in progress. */
	struct sched_timer *settle;
	uint64_t burst_start; /* CLOCK_MONOTONIC; 0: no burst */
	struct hashmap seen;  /* changed paths of the burst -> NULL */
	char *changed;        /* them, one per line */
	size_t changed_len;
	size_t n_changed, dropped;
};

static uint64_t
mono(const struct watch *w)
{
	return w->cfg.clock->now(w->cfg.clock->userdata, CLOCK_MONOTONIC);
}

static void
burst_reset(struct watch *w)
{
	const char *key;

	void *v;

	(void)key;
	for (size_t i = 0; hashmap_next(&w->seen, &i, &key, &v);)
		free(v);
	hashmap_done(&w->seen);
	hashmap_init(&w->seen);
	free(w->changed);
	w->changed = NULL;
	w->changed_len = w->n_changed = w->dropped = 0;
	w->burst_start = 0;
}

static void
on_settled(void *data)
{
	struct watch *w = data;
	_cleanup_free_ char *changed = steal_ptr(w->changed);
	size_t dropped = w->dropped;

	burst_reset(w);
	w->cfg.on_burst(w->cfg.data, changed ? changed : "", dropped);
}

/* One changed path: remembered once, and the settle timer pushed back. */
static void
changed(struct watch *w, const char *path)
{
	uint64_t now = mono(w), cap = MAX(10 * w->cfg.settle_usec, 60 * USEC_PER_SEC);
	size_t len = strlen(path);

	if (!w->burst_start)
		w->burst_start = now;
	if (!hashmap_get(&w->seen, path)) {
		char *key = NULL, *grown = NULL;

		/* The value is the key itself: never NULL, freed by burst_reset(). */
		if (w->n_changed < WATCH_CHANGED_MAX &&
		    w->changed_len + len + 2 <= WATCH_CHANGED_BYTES_MAX && (key = strdup(path)) &&
		    (grown = realloc(w->changed, w->changed_len + len + 2)) &&
		    hashmap_put(&w->seen, key, key) >= 0) {
			w->changed = grown;
			if (w->changed_len)
				w->changed[w->changed_len++] = '\n';
			memcpy(w->changed + w->changed_len, path, len + 1);
			w->changed_len += len;
			w->n_changed++;
		} else {
			if (grown)
				w->changed = grown;
			free(key);
			w->dropped++;
		}
	}
	w->cfg.clock->timer_set(w->settle, MIN(now + w->cfg.settle_usec, w->burst_start + cap));
}

static uint32_t
inotify_mask(uint32_t events)
{
	uint32_t m = 0;

	m |= events & WATCH_CREATE ? IN_CREATE : 0;
	m |= events & WATCH_CLOSE_WRITE ? IN_CLOSE_WRITE : 0;
	m |= events & WATCH_MOVED_TO ? IN_MOVED_TO : 0;
	m |= events & WATCH_DELETE ? IN_DELETE : 0;
	m |= events & WATCH_MOVED_FROM ? IN_MOVED_FROM : 0;
	m |= events & WATCH_MODIFY ? IN_MODIFY : 0;
	m |= events & WATCH_ATTRIB ? IN_ATTRIB : 0;
	return m;
}

/* Whether another target still uses wd (inotify gives one wd per inode). */
static bool
wd_shared(const struct watch *w, const struct target *self, int wd)
{
	for (size_t i = 0; i < w->n_targets; i++)
		if (&w->targets[i] != self && w->targets[i].wd == wd)
			return true;
	return false;
}

static void
target_unwatch(struct watch *w, struct target *t)
{
	if (t->wd >= 0 && !wd_shared(w, t, t->wd))
		(void)inotify_rm_watch(w->fd, t->wd);
	t->wd = -1;
	t->on_ancestor = false;
	free(t->watched_dir);
	t->watched_dir = NULL;
}

/*
 * Watches t's path, or else its nearest existing ancestor. Returns true if
 * the path itself is watched now.
 */
static bool
target_arm(struct watch *w, struct target *t)
{
	_cleanup_free_ char *dir = NULL;
	int wd;

	target_unwatch(w, t);
	wd = inotify_add_watch(w->fd, t->path, w->mask | SELF_MASK | IN_MASK_ADD);
	if (wd >= 0) {
		t->wd = wd;
		return true;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		log_warn("watch %s: %s, ignoring", t->path, strerror(errno));
		return false;
	}
	dir = strdup(t->path);
	while (dir) {
		char *slash = strrchr(dir, '/');

		if (!slash)
			break;
		*(slash == dir ? slash + 1 : slash) = '\0';
		wd = inotify_add_watch(w->fd, dir, ANCESTOR_MASK | SELF_MASK | IN_MASK_ADD);
		if (wd >= 0) {
			t->wd = wd;
			t->on_ancestor = true;
			t->watched_dir = steal_ptr(dir);
			return false;
		}
		if ((errno != ENOENT && errno != ENOTDIR) || streq(dir, "/"))
			break;
	}
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_free_ frees dir */
	log_warn("watch %s: no existing ancestor to watch, ignoring", t->path);
	return false;
}

static void
on_target_event(struct watch *w, struct target *t, const struct inotify_event *ev)
{
	char *path;

	if (t->on_ancestor) {
		/* Something appeared in the ancestor: maybe the path, or a step towards it. */
		if (ev->mask & (IN_IGNORED | ANCESTOR_MASK | SELF_MASK) && target_arm(w, t))
			changed(w, t->path);
		return;
	}
	if (ev->mask & (IN_IGNORED | SELF_MASK)) {
		/* The path went away (or was moved): reported, then waited for. */
		if (ev->mask & IN_IGNORED)
			t->wd = -1;
		if (ev->mask & SELF_MASK && w->mask & (IN_DELETE | IN_MOVED_FROM))
			changed(w, t->path);
		if (ev->mask & (IN_IGNORED | IN_MOVE_SELF) && target_arm(w, t))
			changed(w, t->path);
		return;
	}
	if (!(ev->mask & w->mask))
		return;
	if (ev->len == 0 || ev->name[0] == '\0') {
		changed(w, t->path);
		return;
	}
	path = path_join(t->path, ev->name);
	if (!path) {
		changed(w, t->path);
		return;
	}
	changed(w, path);
	free(path);
}

static int
on_inotify(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct watch *w = userdata;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)src;
	(void)revents;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				log_warn("watch: %s, ignoring", strerror(errno));
			if (n < 0 && errno == EINTR)
				continue;
			return 0;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Details lost: every watched path counts as changed. */
				for (size_t i = 0; i < w->n_targets; i++)
					changed(w, w->targets[i].path);
				continue;
			}
			for (size_t i = 0; i < w->n_targets; i++)
				if (w->targets[i].wd == ev->wd)
					on_target_event(w, &w->targets[i], ev);
		}
	}
}

int
watch_new(const struct watch_config *cfg, struct watch **ret)
{
	struct watch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->cfg = *cfg;
	w->cfg.paths = NULL;
	w->mask = inotify_mask(cfg->events);
	hashmap_init(&w->seen);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		r = -errno;
		watch_free(w);
		return r;
	}
	r = cfg->clock->timer_new(cfg->clock->userdata, CLOCK_MONOTONIC, on_settled, w, &w->settle);
	if (r < 0) {
		watch_free(w);
		return r;
	}
	w->targets = calloc(cfg->n_paths ? cfg->n_paths : 1, sizeof(*w->targets));
	if (!w->targets) {
		watch_free(w);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_paths; i++) {
		struct target *t = &w->targets[w->n_targets];

		t->wd = -1;
		t->path = strdup(cfg->paths[i]);
		if (!t->path) {
			watch_free(w);
			return -ENOMEM;
		}
		w->n_targets++;
		(void)target_arm(w, t);
	}
	r = sd_event_add_io(cfg->e, &w->src, w->fd, EPOLLIN, on_inotify, w);
	if (r < 0) {
		watch_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

struct watch *
watch_free(struct watch *w)
{
	if (!w)
		return NULL;
	sd_event_source_disable_unref(w->src);
	for (size_t i = 0; w->targets && i < w->n_targets; i++) {
		free(w->targets[i].path);
		free(w->targets[i].watched_dir);
	}
	free(w->targets);
	if (w->fd >= 0)
		close(w->fd);
	if (w->settle)
		w->cfg.clock->timer_free(w->settle);
	burst_reset(w);
	hashmap_done(&w->seen);
	free(w);
	return NULL;
}
