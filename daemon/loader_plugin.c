/* SPDX-License-Identifier: MIT */
/*
 * One loaded plugin, steps 2 to 5 of loading (see loader.c): the ELF check
 * of the sealed copy, an optional look before dlopen() (the scan's probe),
 * dlopen(RTLD_NOW | RTLD_LOCAL) of /proc/self/fd/N, the descriptor copied
 * into the host (loader_desc.c), and the plugin's load hook; and at the end,
 * its unload hook and dlclose(). The registry releases a plugin through
 * plugin_close() as the callback the loader gives it, without knowing this
 * file.
 *
 * glibc finds an already loaded object by the name given to dlopen(), so
 * the descriptor stays open for as long as the object is loaded: its name
 * stays unique. An object that survives dlclose() (a plugin marked NODELETE)
 * keeps its descriptor for good.
 */
#include "loader_plugin.h"

#include "elfcheck.h"
#include "host.h"
#include "loader_desc.h"
#include "log.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct plugin {
	void *dl;
	/* The sealed copy behind dlname ("/proc/self/fd/N"), or -1. */
	int fd;
	char *dlname;
	char *path;
	struct file_key key;
	/*
	 * The host's copy of the plugin's descriptor (see descriptor_copy()),
	 * or NULL before it was taken. Nothing reads the plugin's own object
	 * after that: desc points at copy.
	 */
	const struct gini_stage_descriptor *desc;
	struct gini_stage_descriptor copy;
	bool hooked; /* load() succeeded: unload() is owed */
	/* How a lazy plugin is vetted when it is loaded (loader_lazy.c). */
	bool probe;
	uint64_t probe_timeout_usec;
	char *cache_path;
};

const struct gini_stage_descriptor *
plugin_descriptor(const struct plugin *p)
{
	return p->desc;
}

const char *
plugin_path(const struct plugin *p)
{
	return p->path;
}

const struct file_key *
plugin_key(const struct plugin *p)
{
	return &p->key;
}

int
plugin_fd(const struct plugin *p)
{
	return p->fd;
}

void
plugin_close(struct plugin *p)
{
	if (!p)
		return;
	if (p->hooked && p->desc && p->desc->unload) {
		struct gini_handle h;

		handle_init(&h);
		h.plugin = p->path;
		h.stage = p->desc->id;
		p->desc->unload(&host_services, &h);
		handle_done(&h);
	}
	if (p->dl) {
		void *again;

		dlclose(p->dl);
		/* Still resident (NODELETE, or another handle)? Then the name must
		 * stay reserved: keep the fd for good. */
		again = dlopen(p->dlname, RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
		if (again) {
			dlclose(again);
			log_debug("plugin %s: still resident after dlclose", p->path);
			p->fd = -1;
		}
	}
	if (p->fd >= 0)
		close(p->fd);
	free(p->dlname);
	free(p->path);
	free(p->cache_path);
	free(p);
}

struct plugin *
plugin_new_unloaded(const char *path, const struct file_key *key, bool probe,
                    uint64_t probe_timeout_usec, const char *cache_path)
{
	struct plugin *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fd = -1;
	p->key = *key;
	p->probe = probe;
	p->probe_timeout_usec = probe_timeout_usec;
	p->path = strdup(path);
	p->cache_path = cache_path ? strdup(cache_path) : NULL;
	if (!p->path || (cache_path && !p->cache_path)) {
		plugin_close(p);
		return NULL;
	}
	return p;
}

bool
plugin_vet_options(const struct plugin *p, uint64_t *ret_timeout_usec, const char **ret_cache_path)
{
	*ret_timeout_usec = p->probe_timeout_usec;
	*ret_cache_path = p->cache_path;
	return p->probe;
}

void
plugin_adopt(struct plugin *into, struct plugin *from)
{
	into->dl = from->dl;
	into->fd = from->fd;
	free(into->dlname);
	into->dlname = from->dlname;
	into->copy = from->copy;
	into->desc = from->desc ? &into->copy : NULL;
	into->hooked = from->hooked;
	from->dl = NULL;
	from->fd = -1;
	from->dlname = NULL;
	from->hooked = false;
	plugin_close(from);
}

int
plugin_open_sealed(const char *path, int mfd, const struct file_key *key, bool hooks,
                   bool elf_vetted, plugin_vet_fn *vet, void *userdata, struct plugin **ret,
                   char *reason, size_t size)
{
	const struct gini_stage_descriptor *(*entry)(void);
	struct plugin *p;
	int r;

	r = elf_vetted ? 0 : elf_check_export(mfd, "stage_descriptor", reason, size);
	if (r < 0) {
		close(mfd);
		return r;
	}
	/* The scan's probe loads this very copy, before we do. */
	if (vet) {
		r = vet(path, mfd, key, userdata, reason, size);
		if (r < 0) {
			close(mfd);
			return r;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(mfd);
		snprintf(reason, size, "out of memory");
		return -ENOMEM;
	}
	p->fd = mfd;
	p->key = *key;
	p->path = strdup(path);
	if (asprintf(&p->dlname, "/proc/self/fd/%d", mfd) < 0)
		p->dlname = NULL;
	if (!p->path || !p->dlname) {
		plugin_close(p);
		snprintf(reason, size, "out of memory");
		return -ENOMEM;
	}
	dlerror();
	p->dl = dlopen(p->dlname, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		const char *e = dlerror();
		size_t l = strlen(p->dlname);

		/* The message names the copy: name the file instead. */
		if (e && !strncmp(e, p->dlname, l) && e[l] == ':')
			snprintf(reason, size, "dlopen failed: %s%s", path, e + l);
		else
			snprintf(reason, size, "dlopen failed: %s", e ? e : "unknown error");
		plugin_close(p);
		return -ENOEXEC;
	}
	*(void **)&entry = dlsym(p->dl, "stage_descriptor");
	if (!entry) {
		snprintf(reason, size, "dlsym(stage_descriptor) failed");
		plugin_close(p);
		return -ENOEXEC;
	}
	{
		const struct gini_stage_descriptor *d = entry();

		if (!d) {
			snprintf(reason, size, "stage_descriptor() returned NULL");
			plugin_close(p);
			return -ENOEXEC;
		}
		r = descriptor_copy(d, &p->copy, reason, size);
		if (r < 0) {
			plugin_close(p);
			return r;
		}
		p->desc = &p->copy;
	}
	if (hooks && p->desc->load) {
		struct gini_handle h;

		handle_init(&h);
		h.plugin = p->path;
		h.stage = p->desc->id;
		r = p->desc->load(&host_services, &h);
		if (r != 0) {
			snprintf(reason, size, "load hook failed: %s",
			         h.message ? h.message : strerror(r < 0 ? -r : EIO));
			handle_done(&h);
			plugin_close(p);
			return r < 0 ? r : -EIO;
		}
		handle_done(&h);
		p->hooked = true;
	}
	*ret = p;
	return 0;
}

int
loader_open_file(const char *path, unsigned flags, const struct file_key *expect,
                 struct plugin **ret, char *reason, size_t size)
{
	struct file_key key = { 0 };
	int r;

	r = loader_file_seal_path(path, expect, "loaded it", &key, reason, size);
	if (r < 0)
		return r;
	r = plugin_open_sealed(path, r, &key, !(flags & LOADER_NO_HOOKS), false, NULL, NULL, ret,
	                       reason, size);
	elf_check_release();
	return r;
}

int
loader_open_sealed(int fd, const char *path, unsigned flags, struct plugin **ret, char *reason,
                   size_t size)
{
	const int need = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;
	struct file_key key = { 0 };
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS), r;

	if (seals < 0 || (seals & need) != need || fstat(fd, &st) < 0) {
		snprintf(reason, size, "descriptor %d is not a sealed copy of a plugin", fd);
		close(fd);
		return -EBADF;
	}
	key.dev = st.st_dev;
	key.ino = st.st_ino;
	key.size = st.st_size;
	r = plugin_open_sealed(path, fd, &key, !(flags & LOADER_NO_HOOKS),
	                       flags & LOADER_ELF_VETTED, NULL, NULL, ret, reason, size);
	elf_check_release();
	return r;
}
