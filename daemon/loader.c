/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader turns plugin directories into registered stage types
 * without trusting anything it finds there. For each candidate, in order:
 *
 *  1. the file checks: a regular file named *.so; a symlink only if it points
 *     at a file in the same directory; owned by root or the daemon's user;
 *     neither it nor its directory writable by group or others;
 *  2. the ELF pre-check (elfcheck.c): its dynamic symbol table must define
 *     stage_descriptor, so a library that is not a plugin is never dlopen()ed
 *     and its constructors never run;
 *  3. dlopen(RTLD_NOW | RTLD_LOCAL), dlsym("stage_descriptor"), the call;
 *  4. descriptor validation (ABI version, size, id, version, flags,
 *     callbacks);
 *  5. the plugin's load hook, which may refuse;
 *  6. registration, which refuses a duplicate id naming both files.
 *
 * A refused file costs one log line and the scan goes on.
 *
 * What is dlopen()ed is never the file itself but a private, sealed copy:
 * the loader copies the bytes of the file it opened and checked into a memfd,
 * seals it against any change (F_SEAL_WRITE, _GROW, _SHRINK, _SEAL), runs
 * the ELF pre-check and the probe on that copy, and dlopen()s it as
 * /proc/self/fd/N. A plugin file overwritten in place (cp, an editor, a
 * half-finished download) can therefore never change the code of a loaded
 * plugin under a running step, nor slip different bytes in between the
 * checks and dlopen(). The file key (device, inode, size, mtime) is still
 * the original file's, so "unchanged since the last scan" and the probe
 * cache mean what they did; a file that changes while it is being copied is
 * refused for this scan. The memfd is named "gini:NAME.so", which is what
 * /proc/PID/maps shows; dladdr() and backtraces show /proc/self/fd/N, and
 * every log line names the original path.
 *
 * With a registry cache (loader_regcache.c), a file that passes the file
 * checks and whose key the cache holds is registered from the cache without
 * being copied, probed or dlopen()ed; its plugin is loaded, with every check
 * again, only when a step is bound to it (loader_lazy.c). A file the cache
 * does not know, or knows under another key, is loaded as above and
 * recorded. At a reload, an unchanged file's type is taken over from the
 * previous registry if that one loaded it, and registered anew, unloaded,
 * if not (see lazy_again()).
 *
 * The steps live in files of their own: the file checks and the sealed copy
 * in loader_file.c, the ELF check in elfcheck.c, dlopen and the hooks in
 * loader_plugin.c, descriptor validation in loader_desc.c, the probe client
 * in loader_probe.c and its cache in loader_cache.c. This file is the scan
 * that puts them together and registers what passes. The registry frees a
 * plugin through the release callback given here (plugin_close), so it
 * needs none of these files.
 */
#include "loader.h"

#include "elfcheck.h"
#include "hashmap.h"
#include "log.h"
#include "registry.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How the scan vets a sealed copy before dlopen(): the probe, if asked for. */
struct vet {
	const struct loader_options *opts;
	bool probed; /* the probe refused it */
};

static int
vet_probe(const char *path, int mfd, const struct file_key *key, void *userdata, char *reason,
          size_t size)
{
	struct vet *v = userdata;
	int r;

	/* Only a file that a probe process survived is loaded here: the probe
	 * loads this very copy. */
	r = loader_cache_probe(path, mfd, key, v->opts->cache_path, v->opts->probe_timeout_usec,
	                       reason, size);
	v->probed = r < 0;
	return r;
}

/* Steps 2 to 5 on a file that passed loader_file_check(). Takes ownership of fd. */
static int
open_plugin(const char *path, int fd, const struct file_key *key, const struct loader_options *opts,
            bool *ret_probed, struct plugin **ret, char *reason, size_t size)
{
	struct vet v = { .opts = opts };
	int mfd = loader_file_seal(fd, path, key, reason, size), r;

	close(fd);
	if (mfd < 0)
		return mfd;
	r = plugin_open_sealed(path, mfd, key, true, false, opts && opts->probe ? vet_probe : NULL,
	                       &v, ret, reason, size);
	*ret_probed = v.probed;
	return r;
}

void
loader_report_done(struct loader_report *r)
{
	for (size_t i = 0; i < r->n_refusals; i++) {
		free(r->refusals[i].path);
		free(r->refusals[i].reason);
	}
	free(r->refusals);
	strv_free(r->warnings);
	memset(r, 0, sizeof(*r));
}

static int
refuse(struct loader_report *rep, const char *path, const char *reason)
{
	struct loader_refusal *v;

	log_warn("plugin %s: refused: %s", path, reason);
	v = realloc(rep->refusals, (rep->n_refusals + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	rep->refusals = v;
	v[rep->n_refusals].path = strdup(path);
	v[rep->n_refusals].reason = strdup(reason);
	if (!v[rep->n_refusals].path || !v[rep->n_refusals].reason) {
		free(v[rep->n_refusals].path);
		free(v[rep->n_refusals].reason);
		return -ENOMEM;
	}
	rep->n_refusals++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.so names in a directory, sorted. */
static int
list_candidates(const char *dir, char ***ret, size_t *ret_n)
{
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l <= 3 || strcmp(de->d_name + l - 3, ".so") != 0 || de->d_name[0] == '.')
			continue;
		r = strv_push(&v, &n, de->d_name);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r < 0) {
		strv_free(v);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Path -> stage type of the previous registry, to find unchanged files. */
static int
index_previous(struct registry *previous, struct hashmap *by_path, struct stage_type ***ret_list,
               size_t *ret_n)
{
	int r;

	hashmap_init(by_path);
	*ret_list = NULL;
	*ret_n = 0;
	if (!previous)
		return 0;
	r = registry_list(previous, NULL, 0, 0, ret_list, ret_n, NULL);
	if (r < 0)
		return r;
	for (size_t i = 0; i < *ret_n; i++)
		if ((*ret_list)[i]->plugin) {
			r = hashmap_put(by_path, (*ret_list)[i]->path, (*ret_list)[i]);
			if (r < 0 && r != -EEXIST)
				return r;
		}
	return 0;
}

static int
register_type(struct registry *into, struct stage_type *t, struct loader_report *rep)
{
	char reason[PATH_MAX + 128];
	struct stage_type *other;
	int r = registry_add(into, t);

	if (r != -EEXIST)
		return r;
	other = registry_acquire(into, t->id);
	snprintf(reason, sizeof(reason), "duplicate stage id '%s', already provided by %s", t->id,
	         other ? other->path : "another plugin");
	stage_type_unref(other);
	return refuse(rep, t->path, reason);
}

/*
 * A new unloaded type for an unchanged file that the previous generation
 * never loaded. Not the same object: a step of the new generation may load
 * it, and the generation that is live must not change under its workers, nor
 * keep a plugin loaded by a reload that failed. (A type the previous
 * generation did load is shared, with its counters.)
 */
static struct stage_type *
lazy_again(const struct stage_type *prev, const struct file_key *key,
           const struct loader_options *opts)
{
	const struct gini_stage_descriptor info = {
		.flags = prev->flags,
		.id = prev->id,
		.version = prev->version,
		.summary = prev->summary,
		.category = prev->category,
		.requires_ids = (const char *const *)prev->requires_ids,
	};
	struct plugin *p = plugin_new_unloaded(prev->path, key, opts && opts->probe,
	                                       opts ? opts->probe_timeout_usec : 0,
	                                       opts ? opts->cache_path : NULL);

	return p ? stage_type_new_lazy(&info, p, plugin_close, plugin_load, prev->path) : NULL;
}

static int
scan_one_dir(const char *dir, struct registry *into, struct hashmap *prev_by_path,
             const struct loader_options *opts, struct loader_report *rep)
{
	char **names = NULL;
	size_t n = 0;
	struct loader_dir d;
	int r;

	r = loader_dir_open(&d, dir);
	if (r >= 0)
		r = list_candidates(dir, &names, &n);
	if (r < 0) {
		log_warn_errno(r, "plugin directory %s: cannot scan: %m, ignoring", dir);
		loader_dir_done(&d);
		return 0;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *path = path_join(dir, names[i]);
		char reason[PATH_MAX + 256];
		struct gini_stage_descriptor info;
		struct stage_type *t, *prev;
		struct plugin *p = NULL;
		struct file_key key = { 0 };
		bool probed = false;
		int fd = -1;

		if (!path) {
			r = -ENOMEM;
			break;
		}
		if (loader_file_check(&d, path, &fd, &key, reason, sizeof(reason)) < 0) {
			r = refuse(rep, path, reason);
			continue;
		}
		prev = hashmap_get(prev_by_path, path);
		if (prev && file_key_equal(plugin_key(prev->plugin), &key)) {
			/* Unchanged since the last scan: not reopened, not re-initialised. */
			close(fd);
			if (opts && opts->registry_cache_path)
				(void)loader_regcache_lookup(&key, false, &info); /* in use */
			t = prev->desc ? stage_type_ref(prev) : lazy_again(prev, &key, opts);
			if (!t) {
				r = -ENOMEM;
				break;
			}
			r = register_type(into, t, rep);
			stage_type_unref(t);
			rep->reused++;
			continue;
		}
		if (opts && opts->registry_cache_path &&
		    loader_regcache_lookup(&key, opts->probe, &info)) {
			/* Vetted before under this very key: register, load later. */
			close(fd);
			p = plugin_new_unloaded(path, &key, opts->probe, opts->probe_timeout_usec,
			                        opts->cache_path);
			t = p ? stage_type_new_lazy(&info, p, plugin_close, plugin_load, path)
			      : NULL;
			if (!t) {
				r = -ENOMEM;
				break;
			}
			rep->cached++;
			r = register_type(into, t, rep);
			stage_type_unref(t);
			continue;
		}
		if (open_plugin(path, fd, &key, opts, &probed, &p, reason, sizeof(reason)) < 0) {
			r = refuse(rep, path, reason);
			if (r >= 0)
				rep->refusals[rep->n_refusals - 1].probed = probed;
			continue;
		}
		rep->loaded++;
		if (opts && opts->registry_cache_path)
			loader_regcache_put(&key, plugin_descriptor(p), opts->probe);
		t = stage_type_new_plugin(plugin_descriptor(p), p, plugin_close, path);
		if (!t) {
			r = -ENOMEM;
			break;
		}
		r = register_type(into, t, rep);
		stage_type_unref(t);
	}
	strv_free(names);
	loader_dir_done(&d);
	return r;
}

/* Reports stage types whose requires_ids are not registered. */
static int
check_requires(struct registry *into, struct loader_report *rep)
{
	struct stage_type **list;
	size_t n;
	int r = registry_list(into, NULL, 0, 0, &list, &n, NULL);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++)
		for (char **q = list[i]->requires_ids; *q && r >= 0; q++) {
			struct stage_type *dep = registry_acquire(into, *q);
			_cleanup_free_ char *w = NULL;

			if (dep) {
				stage_type_unref(dep);
				continue;
			}
			if (asprintf(&w,
			             "plugin %s: stage '%s' requires stage '%s', which is not "
			             "registered",
			             list[i]->path, list[i]->id, *q) < 0) {
				r = -ENOMEM;
				break;
			}
			log_warn("%s", w);
			r = strv_push(&rep->warnings, &rep->n_warnings, w);
		}
	registry_list_free(list, n);
	return r;
}

int
loader_scan(char *const *dirs, size_t n_dirs, struct registry *into, struct registry *previous,
            struct loader_report *report)
{
	return loader_scan_with(dirs, n_dirs, into, previous, NULL, report);
}

int
loader_scan_with(char *const *dirs, size_t n_dirs, struct registry *into, struct registry *previous,
                 const struct loader_options *opts, struct loader_report *report)
{
	struct stage_type **prev_list;
	struct hashmap prev_by_path;
	size_t prev_n;
	int r;

	r = index_previous(previous, &prev_by_path, &prev_list, &prev_n);
	if (opts && opts->registry_cache_path)
		loader_regcache_begin(opts->registry_cache_path);
	for (size_t i = 0; i < n_dirs && r >= 0; i++)
		r = scan_one_dir(dirs[i], into, &prev_by_path, opts, report);
	loader_cache_flush();
	/* The scan's checks are over: libelf goes until the next cache miss. */
	elf_check_release();
	if (r >= 0 && opts && opts->registry_cache_path)
		loader_regcache_flush();
	if (r >= 0)
		r = check_requires(into, report);
	hashmap_done(&prev_by_path);
	registry_list_free(prev_list, prev_n);
	return r;
}
