/* SPDX-License-Identifier: MIT */
/*
 * The registry cache (see loader_regcache.h): the registrable part of each
 * accepted plugin's descriptor by file key (device, inode, size, mtime), in
 * memory and in STATE_DIR/registry-cache, a JSON document:
 *
 *   {"format": "gini-registry-cache", "version": 1, "abi": [MAJOR, MINOR],
 *    "entries": [{"key": "DEV INO SIZE MTIME_NS", "id": ..., "version": ...,
 *                 "summary": ..., "category": ..., "flags": N,
 *                 "requires": [...], "probed": BOOL}, ...]}
 *
 * "probed" says the file passed a probe process too; a scan that probes
 * does not take an entry that did not.
 *
 * It is only ever trusted whole: a file that does not parse, is of another
 * format, version or host ABI, or holds one entry that does not validate is
 * ignored with one warning, and the scan loads every file as it would
 * without a cache. An entry only says what a file that passed every check
 * described; the file's key must still match it, and loading the plugin
 * for a step runs every check again (loader_lazy.c).
 */
#include "loader_regcache.h"

#include "hashmap.h"
#include "loader_file.h"
#include "log.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGCACHE_FORMAT  "gini-registry-cache"
#define REGCACHE_VERSION 1

struct reg_entry {
	char *key;
	char *id, *version, *summary, *category;
	char **requires_ids; /* NULL-terminated, never NULL */
	uint32_t flags;
	bool probed; /* a probe process accepted it */
	bool used;   /* by the current scan */
};

static struct hashmap cache;
static char *cache_path;
static bool dirty;

static void
entry_free(struct reg_entry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->id);
	free(e->version);
	free(e->summary);
	free(e->category);
	strv_free(e->requires_ids);
	free(e);
}

static void
format_key(const struct file_key *k, char *buf, size_t size)
{
	snprintf(buf, size, "%llu %llu %lld %lld", (unsigned long long)k->dev,
	         (unsigned long long)k->ino, (long long)k->size, (long long)k->mtime_ns);
}

static void
clear(void)
{
	struct reg_entry *e;

	for (size_t i = 0; hashmap_next(&cache, &i, NULL, (void **)&e);)
		entry_free(e);
	hashmap_done(&cache);
	hashmap_init(&cache);
}

void
loader_regcache_reset(void)
{
	clear();
	free(cache_path);
	cache_path = NULL;
	dirty = false;
}

static int
put_entry(const char *key, const char *id, const char *version, const char *summary,
          const char *category, uint32_t flags, const char *const *requires_ids, bool probed)
{
	struct reg_entry *e = calloc(1, sizeof(*e)), *old = NULL;
	size_t n = 0;

	if (!e)
		return -ENOMEM;
	e->key = strdup(key);
	e->id = strdup(id);
	e->version = strdup(version);
	e->summary = strdup(summary);
	e->category = strdup(category);
	e->requires_ids = calloc(1, sizeof(char *));
	e->flags = flags;
	e->probed = probed;
	e->used = true;
	if (!e->key || !e->id || !e->version || !e->summary || !e->category || !e->requires_ids)
		goto fail;
	for (const char *const *p = requires_ids; p && *p; p++)
		if (strv_push(&e->requires_ids, &n, *p) < 0)
			goto fail;
	if (hashmap_replace(&cache, e->key, e, (void **)&old) < 0)
		goto fail;
	entry_free(old);
	return 0;
fail:
	entry_free(e);
	return -ENOMEM;
}

static bool
text_ok(const char *s, size_t max)
{
	return s && strlen(s) <= max && !strpbrk(s, "\n\r");
}

/* One entry of the file into the cache; false with why if it is not valid. */
static bool
parse_entry(json_t *o, const char **why)
{
	const char *key = NULL, *id = NULL, *version = NULL, *summary = NULL, *category = NULL;
	json_int_t flags = -1;
	json_t *req = NULL, *v;
	int probed = 0;
	const char **ids = NULL;
	unsigned long long dev, ino;
	long long size, mtime;
	char canon[128];
	size_t i, n;
	int used = 0;
	bool ok = false;

	if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:b !}", "key", &key, "id", &id,
	                "version", &version, "summary", &summary, "category", &category, "flags",
	                &flags, "requires", &req, "probed", &probed) != 0) {
		*why = "an entry lacks a field or has one too many";
		return false;
	}
	/* NOLINTNEXTLINE(cert-err34-c) */
	if (sscanf(key, "%llu %llu %lld %lld%n", &dev, &ino, &size, &mtime, &used) != 4 ||
	    (size_t)used != strlen(key)) {
		*why = "an entry's key does not parse";
		return false;
	}
	snprintf(canon, sizeof(canon), "%llu %llu %lld %lld", dev, ino, size, mtime);
	if (!streq(canon, key) || !stage_id_valid(id) || !text_ok(version, 64) ||
	    !text_ok(summary, 200) || !text_ok(category, 64) || flags < 0 ||
	    (flags & ~(json_int_t)(GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT)) ||
	    !json_is_array(req)) {
		*why = "an entry does not validate";
		return false;
	}
	n = json_array_size(req);
	ids = calloc(n + 1, sizeof(*ids));
	if (!ids) {
		*why = "out of memory";
		return false;
	}
	json_array_foreach(req, i, v)
	{
		ids[i] = json_string_value(v);
		if (!stage_id_valid(ids[i])) {
			*why = "an entry requires an invalid stage id";
			goto out;
		}
	}
	if (hashmap_get(&cache, key)) {
		*why = "a key appears twice";
		goto out;
	}
	if (put_entry(key, id, version, summary, category, (uint32_t)flags, ids, probed) < 0) {
		*why = "out of memory";
		goto out;
	}
	((struct reg_entry *)hashmap_get(&cache, key))->used = false;
	ok = true;
out:
	free(ids);
	return ok;
}

/* Reads path into the cache, all or nothing. */
static void
load(const char *path)
{
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	const char *format = NULL, *why = NULL;
	json_int_t version = 0, major = 0, minor = 0;
	json_t *doc, *entries = NULL, *e;
	size_t size = 0, i;
	int r = read_file(path, 256u << 20, &text, &size);

	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warn_errno(r, "registry cache %s: cannot read it (%m), ignoring it", path);
		return;
	}
	doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		log_warn("registry cache %s: line %d: %s; ignoring it and loading every plugin",
		         path, jerr.line, jerr.text);
		return;
	}
	if (json_unpack(doc, "{s:s, s:I, s:[II], s:o}", "format", &format, "version", &version,
	                "abi", &major, &minor, "entries", &entries) != 0 ||
	    !streq(format, REGCACHE_FORMAT) || !json_is_array(entries))
		why = "not a gini registry cache";
	else if (version != REGCACHE_VERSION || major != GINI_ABI_MAJOR || minor != GINI_ABI_MINOR)
		why = "written by another version of ginid";
	json_array_foreach(entries, i, e)
	{
		if (why)
			break;
		if (!parse_entry(e, &why))
			break;
	}
	if (why) {
		log_warn("registry cache %s: %s; ignoring it and loading every plugin", path, why);
		clear();
		dirty = true;
	}
	json_decref(doc);
}

void
loader_regcache_begin(const char *path)
{
	struct reg_entry *e;

	if (path && !streq_ptr(path, cache_path)) {
		clear();
		free(cache_path);
		cache_path = strdup(path);
		dirty = false;
		load(path);
	}
	for (size_t i = 0; hashmap_next(&cache, &i, NULL, (void **)&e);)
		e->used = false;
}

bool
loader_regcache_lookup(const struct file_key *key, bool probed, struct gini_stage_descriptor *info)
{
	struct reg_entry *e;
	char k[128];

	format_key(key, k, sizeof(k));
	e = hashmap_get(&cache, k);
	if (!e || (probed && !e->probed))
		return false;
	e->used = true;
	*info = (struct gini_stage_descriptor){
		.flags = e->flags,
		.id = e->id,
		.version = e->version,
		.summary = e->summary,
		.category = e->category,
		.requires_ids = (const char *const *)e->requires_ids,
	};
	return true;
}

void
loader_regcache_put(const struct file_key *key, const struct gini_stage_descriptor *d, bool probed)
{
	char k[128];

	format_key(key, k, sizeof(k));
	if (put_entry(k, d->id, d->version ? d->version : "0.0.0", d->summary ? d->summary : "",
	              d->category ? d->category : "", d->flags, d->requires_ids, probed) == 0)
		dirty = true;
}

/* Write and rename, without fsync: a torn cache is ignored when read. */
static int
write_replace(const char *path, const char *data, size_t size)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		data += n;
		size -= (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

void
loader_regcache_flush(void)
{
	struct reg_entry *e;
	json_t *doc, *entries;
	char *text;
	int r;

	/* An entry no scan used any more goes: the file tracks the directories. */
	for (size_t i = 0; hashmap_next(&cache, &i, NULL, (void **)&e);)
		if (!e->used) {
			dirty = true;
			break;
		}
	if (!cache_path || !dirty)
		return;
	entries = json_array();
	for (size_t i = 0; entries && hashmap_next(&cache, &i, NULL, (void **)&e);) {
		json_t *req;

		if (!e->used)
			continue;
		req = json_array();
		for (char **q = e->requires_ids; *q; q++)
			json_array_append_new(req, json_string(*q));
		json_array_append_new(entries,
		                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:b}", "key",
		                                e->key, "id", e->id, "version", e->version,
		                                "summary", e->summary, "category", e->category,
		                                "flags", (json_int_t)e->flags, "requires", req,
		                                "probed", e->probed));
	}
	doc = json_pack("{s:s, s:i, s:[ii], s:o}", "format", REGCACHE_FORMAT, "version",
	                REGCACHE_VERSION, "abi", GINI_ABI_MAJOR, GINI_ABI_MINOR, "entries",
	                entries);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		log_debug("registry cache %s: out of memory, not written", cache_path);
		return;
	}
	r = write_replace(cache_path, text, strlen(text));
	if (r < 0)
		log_full_errno(LOG_DEBUG, r, "registry cache %s: cannot write it: %m, ignoring",
		               cache_path);
	else
		dirty = false;
	free(text);
}
