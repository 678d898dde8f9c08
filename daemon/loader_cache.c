/* SPDX-License-Identifier: MIT */
/*
 * The probe cache: the verdicts of gini-probe (loader_probe.c) by file key
 * (device, inode, size, mtime), so that an unchanged file is not probed
 * again, and a refused one not retried, until it changes. Shared by all
 * scans of the process (generations come and go, the files stay), guarded
 * by probe_lock, and mirrored in STATE_DIR's cache file, written atomically
 * once per scan; a line of it that does not parse is skipped.
 */
#include "loader_cache.h"

#include "hashmap.h"
#include "loader_file.h"
#include "loader_probe.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Probe results by file key: "dev ino size mtime_ns" -> entry. Shared by all
 * scans of the process (generations come and go, the files stay), guarded
 * by probe_lock, and mirrored in the cache file when one is given.
 */
struct probe_entry {
	char *key;
	bool ok;
	char *reason;
};

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap probe_cache;
static char *probe_cache_path;
static bool probe_cache_dirty;

static void
probe_key(const struct file_key *k, char *buf, size_t size)
{
	snprintf(buf, size, "%llu %llu %lld %lld", (unsigned long long)k->dev,
	         (unsigned long long)k->ino, (long long)k->size, (long long)k->mtime_ns);
}

static void
probe_entry_free(struct probe_entry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->reason);
	free(e);
}

static int
probe_put_locked(const char *key, bool ok, const char *reason)
{
	struct probe_entry *e = calloc(1, sizeof(*e)), *old = NULL;

	if (!e || !(e->key = strdup(key)) || (reason && !(e->reason = strdup(reason)))) {
		probe_entry_free(e);
		return -ENOMEM;
	}
	e->ok = ok;
	if (hashmap_replace(&probe_cache, e->key, e, (void **)&old) < 0) {
		probe_entry_free(e);
		return -ENOMEM;
	}
	probe_entry_free(old);
	return 0;
}

void
loader_probe_cache_reset(void)
{
	struct probe_entry *e;

	pthread_mutex_lock(&probe_lock);
	for (size_t i = 0; hashmap_next(&probe_cache, &i, NULL, (void **)&e);)
		probe_entry_free(e);
	hashmap_done(&probe_cache);
	free(probe_cache_path);
	probe_cache_path = NULL;
	pthread_mutex_unlock(&probe_lock);
}

/* Loads the cache file once per path: "KEY ok" or "KEY refused REASON" lines. */
static void
probe_cache_open_locked(const char *path)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;

	if (!path || streq_ptr(path, probe_cache_path))
		return;
	free(probe_cache_path);
	probe_cache_path = strdup(path);
	if (read_file(path, 16 << 20, &text, NULL) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long dev, ino;
		long long size, mtime;
		char key[128];
		int n = 0;

		/* The cache is the daemon's own file; a line that does not parse is skipped. */
		if (line[0] == '#' ||
		    /* NOLINTNEXTLINE(cert-err34-c) */
		    sscanf(line, "%llu %llu %lld %lld %n", &dev, &ino, &size, &mtime, &n) != 4 ||
		    !n)
			continue;
		snprintf(key, sizeof(key), "%llu %llu %lld %lld", dev, ino, size, mtime);
		if (streq(line + n, "ok"))
			(void)probe_put_locked(key, true, NULL);
		else if (!strncmp(line + n, "refused ", 8))
			(void)probe_put_locked(key, false, line + n + 8);
	}
}

static void
probe_cache_save_locked(void)
{
	struct probe_entry *e;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if (!probe_cache_path || !(f = open_memstream(&buf, &size)))
		return;
	fprintf(f, "# gini plugin probe results by device inode size mtime; safe to delete\n");
	for (size_t i = 0; hashmap_next(&probe_cache, &i, NULL, (void **)&e);)
		fprintf(f, "%s %s%s%s\n", e->key, e->ok ? "ok" : "refused", e->ok ? "" : " ",
		        e->ok ? "" : e->reason);
	if (fclose(f) == 0 && write_file_atomic(probe_cache_path, buf, size, 0644) < 0)
		log_debug("probe cache %s: cannot write, ignoring", probe_cache_path);
	free(buf);
}

void
loader_cache_flush(void)
{
	pthread_mutex_lock(&probe_lock);
	if (probe_cache_dirty)
		probe_cache_save_locked();
	probe_cache_dirty = false;
	pthread_mutex_unlock(&probe_lock);
}

/*
 * The probe's verdict on a file, from the cache or a fresh probe. 0 if it
 * may be loaded; else the refusal.
 */
int
loader_cache_probe(const char *path, int fd, const struct file_key *key, const char *cache_path,
                   uint64_t timeout_usec, char *reason, size_t size)
{
	char k[128];
	struct probe_entry *e;
	int r;

	probe_key(key, k, sizeof(k));
	pthread_mutex_lock(&probe_lock);
	probe_cache_open_locked(cache_path);
	e = hashmap_get(&probe_cache, k);
	if (e) {
		r = e->ok ? 0 : -EPERM;
		if (!e->ok)
			snprintf(reason, size,
			         "%s (remembered from an earlier probe; retried when the "
			         "file changes)",
			         e->reason ? e->reason : "refused");
		pthread_mutex_unlock(&probe_lock);
		return r;
	}
	pthread_mutex_unlock(&probe_lock);
	r = loader_probe_fd(NULL, path, fd, true, timeout_usec, reason, size, NULL);
	/* Only the plugin's verdict is remembered: a probe that could not even
	 * be started (no helper, no memory, no fds) says nothing about it. */
	if (r == 0 || r == -ETIMEDOUT || r == -ECHILD || r == -EPROTO || r == -ENOEXEC) {
		pthread_mutex_lock(&probe_lock);
		(void)probe_put_locked(k, r == 0, r == 0 ? NULL : reason);
		/* Written once at the end of the scan: loader_cache_flush(). */
		probe_cache_dirty = true;
		pthread_mutex_unlock(&probe_lock);
	}
	return r;
}
