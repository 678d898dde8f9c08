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
 * glibc finds an already loaded object by the name given to dlopen(), so
 * the descriptor stays open for as long as the object is loaded: its name
 * stays unique. An object that survives dlclose() (a plugin marked NODELETE)
 * keeps its descriptor for good.
 */
#include "loader.h"

#include "elfcheck.h"
#include "hashmap.h"
#include "host.h"
#include "log.h"
#include "registry.h"
#include "util.h"

#include <dirent.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#ifdef MFD_EXEC
#define LOADER_MFD_EXEC MFD_EXEC
#else
#define LOADER_MFD_EXEC 0x0010U /* <linux/memfd.h>, Linux 6.3 */
#endif

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
	free(p);
}

static bool
semver_valid(const char *v)
{
	const char *p = v;

	if (!v || strlen(v) > 64)
		return false;
	for (int part = 0; part < 3; part++) {
		if (part > 0 && *p++ != '.')
			return false;
		if (*p < '0' || *p > '9')
			return false;
		if (*p == '0' && p[1] >= '0' && p[1] <= '9')
			return false; /* no leading zeros */
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == '-' || *p == '+') {
		if (!p[1])
			return false;
		for (p++; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
			      (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '.' || *p == '+'))
				return false;
	}
	return *p == 0;
}

static bool
category_valid(const char *c)
{
	size_t n = 0;

	if (!c || !*c)
		return false;
	for (; *c; c++, n++)
		if (n >= 32 || !((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	return true;
}

/* The ABI version and size: nothing else is read before they pass. */
static int
header_check(const struct gini_stage_descriptor *d, char *reason, size_t size)
{
	if (d->abi_major != GINI_ABI_MAJOR) {
		snprintf(reason, size, "ABI major %u is not supported (host ABI %d.%d)",
		         d->abi_major, GINI_ABI_MAJOR, GINI_ABI_MINOR);
		return -EINVAL;
	}
	if (d->abi_minor > GINI_ABI_MINOR) {
		snprintf(reason, size, "built for ABI %u.%u, newer than the host's ABI %d.%d",
		         d->abi_major, d->abi_minor, GINI_ABI_MAJOR, GINI_ABI_MINOR);
		return -EINVAL;
	}
	if (d->struct_size < DESCRIPTOR_SIZE_V1_0 || d->struct_size > DESCRIPTOR_SIZE_MAX) {
		snprintf(reason, size,
		         "descriptor size %u is implausible (ABI %u.%u needs %zu to %u bytes)",
		         d->struct_size, d->abi_major, d->abi_minor, (size_t)DESCRIPTOR_SIZE_V1_0,
		         DESCRIPTOR_SIZE_MAX);
		return -EINVAL;
	}
	return 0;
}

static int
validate(const struct gini_stage_descriptor *d, char *reason, size_t size)
{
	const uint32_t known_flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT;
	size_t n;
	int r;

	r = header_check(d, reason, size);
	if (r < 0)
		return r;
	if (!d->id) {
		snprintf(reason, size, "descriptor has no id");
		return -EINVAL;
	}
	if (!stage_id_valid(d->id)) {
		snprintf(reason, size,
		         "invalid id '%.80s': must match [a-z0-9][a-z0-9_.-]* and be at most 64 "
		         "characters",
		         d->id);
		return -EINVAL;
	}
	if (!semver_valid(d->version)) {
		snprintf(reason, size,
		         "stage '%s': invalid version '%.80s': not a semantic version "
		         "(MAJOR.MINOR.PATCH)",
		         d->id, d->version ? d->version : "(none)");
		return -EINVAL;
	}
	if (!d->summary || !*d->summary || strlen(d->summary) > 200 ||
	    strpbrk(d->summary, "\n\r\t")) {
		snprintf(reason, size,
		         "stage '%s': summary must be one line of 1 to 200 characters", d->id);
		return -EINVAL;
	}
	if (!category_valid(d->category)) {
		snprintf(reason, size,
		         "stage '%s': invalid category '%.40s': one short lower-case word expected",
		         d->id, d->category ? d->category : "(none)");
		return -EINVAL;
	}
	if (d->flags & ~known_flags) {
		snprintf(reason, size, "stage '%s': unknown flags 0x%x", d->id,
		         d->flags & ~known_flags);
		return -EINVAL;
	}
	if (!d->run) {
		snprintf(reason, size, "stage '%s': no run callback", d->id);
		return -EINVAL;
	}
	n = 0;
	for (const char *const *p = d->requires_ids; p && *p; p++, n++) {
		if (n >= 64) {
			snprintf(reason, size, "stage '%s': requires more than 64 stage types",
			         d->id);
			return -EINVAL;
		}
		if (!stage_id_valid(*p)) {
			snprintf(reason, size, "stage '%s': requires an invalid stage id '%.80s'",
			         d->id, *p);
			return -EINVAL;
		}
	}
	return 0;
}

int
descriptor_copy(const struct gini_stage_descriptor *d, struct gini_stage_descriptor *ret,
                char *reason, size_t size)
{
	struct gini_stage_descriptor copy = { 0 };
	int r;

	/*
	 * The header (the first three fields) is the one part every descriptor
	 * has: check it before trusting struct_size for the copy, which takes no
	 * more than the plugin declared nor more than this host knows. Fields
	 * appended after the plugin's minor stay zero: absent.
	 */
	r = header_check(d, reason, size);
	if (r < 0)
		return r;
	memcpy(&copy, d, d->struct_size < sizeof(copy) ? d->struct_size : sizeof(copy));
	r = descriptor_validate(&copy, reason, size);
	if (r < 0)
		return r;
	*ret = copy;
	return 0;
}

int
descriptor_validate(const struct gini_stage_descriptor *d, char *reason, size_t size)
{
	char raw[1024];
	int r;

	/*
	 * The reason quotes the plugin's own strings, which may hold anything:
	 * escaped, so a refusal stays one log line (found by fuzz_elf).
	 */
	r = validate(d, raw, sizeof(raw));
	if (r < 0)
		str_escape(raw, reason, size);
	return r;
}

static const char *
file_type_name(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

/* Owner and mode rules shared by plugin files and their directories. */
static int
check_owner_mode(const struct stat *st, const char *what, char *reason, size_t size)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(reason, size,
		         "%s is owned by uid %u; only root or the daemon's user (uid %u) may own "
		         "plugins",
		         what, (unsigned)st->st_uid, (unsigned)me);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(reason, size, "%s is %s-writable (mode %04o)", what,
		         st->st_mode & S_IWOTH ? "world" : "group",
		         (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* A plugin directory, checked once per scan. */
struct scan_dir {
	const char *path;
	char *real; /* realpath, for symlink checks */
	int dir_ok; /* 0, or the refusal that applies to every file in it */
	char dir_reason[256];
};

static int
scan_dir_open(struct scan_dir *d, const char *path)
{
	struct stat st;

	memset(d, 0, sizeof(*d));
	d->path = path;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	d->real = realpath(path, NULL);
	if (!d->real)
		return -errno;
	d->dir_ok = check_owner_mode(&st, "its directory", d->dir_reason, sizeof(d->dir_reason));
	return 0;
}

static void
scan_dir_done(struct scan_dir *d)
{
	free(d->real);
	d->real = NULL;
}

/*
 * Step 1 and 2 for dir/name: returns an open fd on the file and its key, or
 * a refusal.
 */
static int
check_file(const struct scan_dir *d, const char *path, int *ret_fd, struct file_key *ret_key,
           char *reason, size_t size)
{
	struct stat lst, st;
	int fd, r;

	if (d->dir_ok < 0) {
		snprintf(reason, size, "%s", d->dir_reason);
		return d->dir_ok;
	}
	if (lstat(path, &lst) < 0) {
		snprintf(reason, size, "cannot stat: %s", strerror(errno));
		return -errno;
	}
	if (S_ISLNK(lst.st_mode)) {
		_cleanup_free_ char *target = realpath(path, NULL);
		_cleanup_free_ char *tdir = NULL;

		if (!target) {
			snprintf(reason, size, "dangling symlink: %s", strerror(errno));
			return -ENOENT;
		}
		tdir = path_dirname(target);
		if (!tdir || !d->real || !streq(tdir, d->real)) {
			snprintf(reason, size, "symlink leaves the plugin directory (-> %s)",
			         target);
			return -EPERM;
		}
	}
	/* O_NONBLOCK: a FIFO named x.so must not hang the scan. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(reason, size, "cannot open: %s", strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(reason, size, "cannot stat: %s", strerror(errno));
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(reason, size, "%s, not a regular file", file_type_name(st.st_mode));
		close(fd);
		return -EISDIR;
	}
	r = check_owner_mode(&st, "the file", reason, size);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (st.st_size == 0) {
		snprintf(reason, size, "empty file");
		close(fd);
		return -ENOEXEC;
	}
	if (st.st_size > PLUGIN_FILE_MAX) {
		snprintf(reason, size, "file is %lld bytes, larger than the %lld byte limit",
		         (long long)st.st_size, (long long)PLUGIN_FILE_MAX);
		close(fd);
		return -EFBIG;
	}
	*ret_key = (struct file_key){
		.dev = st.st_dev,
		.ino = st.st_ino,
		.size = st.st_size,
		.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
	};
	*ret_fd = fd;
	return 0;
}

/*
 * Copies the file open at fd, which check_file() described as key, into a
 * new memfd and seals it; returns the memfd. The copy is refused when the
 * file changed meanwhile (someone is writing it): its size or mtime no
 * longer match key, or it ended early.
 */
static int
seal_copy(int fd, const char *path, const struct file_key *key, char *reason, size_t size)
{
	const char *base = strrchr(path, '/');
	char name[128];
	struct stat st;
	off_t off = 0;
	int mfd, r;

	snprintf(name, sizeof(name), "gini:%s", base ? base + 1 : path);
	/* Executable on purpose: where vm.memfd_noexec makes memfds
	 * non-executable by default, MFD_EXEC asks otherwise; kernels before
	 * 6.3 do not know the flag. */
	mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | LOADER_MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0) {
		r = -errno;
		snprintf(reason, size, "cannot make a private copy: memfd_create: %s",
		         strerror(-r));
		return r;
	}
	while (off < key->size) {
		ssize_t n = sendfile(mfd, fd, &off, (size_t)(key->size - off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(reason, size, "cannot read: %s", strerror(-r));
			close(mfd);
			return r;
		}
		if (n == 0)
			break;
	}
	if (off != key->size || fstat(fd, &st) < 0 || st.st_size != key->size ||
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != key->mtime_ns) {
		snprintf(reason, size,
		         "the file changed while it was being read (is it being "
		         "written?); it is retried at the next reload");
		close(mfd);
		return -EAGAIN;
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		r = -errno;
		snprintf(reason, size, "cannot seal the private copy: %s", strerror(-r));
		close(mfd);
		return r;
	}
	return mfd;
}

static int probe_file(const char *path, int fd, const struct file_key *key,
                      const struct loader_options *opts, char *reason, size_t size);

/*
 * Steps 2 to 5 on a sealed copy (see seal_copy()) of path, which is what
 * gets mapped; key is the original file's. Takes ownership of mfd.
 */
static int
open_sealed(const char *path, int mfd, const struct file_key *key, bool hooks,
            const struct loader_options *opts, bool *ret_probed, struct plugin **ret, char *reason,
            size_t size)
{
	const struct gini_stage_descriptor *(*entry)(void);
	struct plugin *p;
	int r;

	r = elf_check_export(mfd, "stage_descriptor", reason, size);
	if (r < 0) {
		close(mfd);
		return r;
	}
	/* Only a file that a probe process survived is loaded here: the
	 * probe loads this very copy. */
	if (opts && opts->probe) {
		r = probe_file(path, mfd, key, opts, reason, size);
		if (r < 0) {
			if (ret_probed)
				*ret_probed = true;
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

/* Steps 2 to 5 on a file that passed check_file(). Takes ownership of fd. */
static int
open_plugin(const char *path, int fd, const struct file_key *key, bool hooks,
            const struct loader_options *opts, bool *ret_probed, struct plugin **ret, char *reason,
            size_t size)
{
	int mfd = seal_copy(fd, path, key, reason, size);

	close(fd);
	if (mfd < 0)
		return mfd;
	return open_sealed(path, mfd, key, hooks, opts, ret_probed, ret, reason, size);
}

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

/*
 * clang-tidy 14's analyzer does not model __attribute__((cleanup)), so it
 * takes the _cleanup_free_ buffers below for leaks on every early return.
 */
/* NOLINTBEGIN(clang-analyzer-unix.Malloc) */
/* The probe of path, or with fd >= 0, of the sealed copy open at fd. */
static int
probe_spawn(const char *probe_exe, const char *path, int fd, bool hooks, uint64_t timeout_usec,
            char *reason, size_t size, char **ret_answer)
{
	_cleanup_free_ char *probe = probe_exe ? strdup(probe_exe) : helper_path("gini-probe");
	_cleanup_free_ char *out = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[6], d[32];
	size_t len = 0, n_argv = 0;
	int pfd[2], st = 0, k;
	bool eof = false, exited = false, timed_out = false;
	siginfo_t si;
	uint64_t start = now_usec(CLOCK_MONOTONIC);
	int pidfd = -1;
	pid_t pid;
	json_t *r;

	if (!probe) {
		snprintf(reason, size, "cannot probe: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(reason, size, "cannot probe: %s", strerror(errno));
		return -errno;
	}
	argv[n_argv++] = probe;
	if (hooks)
		argv[n_argv++] = "--hooks";
	if (fd >= 0) {
		argv[n_argv++] = "--fd";
		argv[n_argv++] = "3";
	}
	argv[n_argv++] = (char *)path;
	argv[n_argv] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	/* The copy the daemon is about to load, not the file: the verdict is
	 * on the same bytes (glibc clears FD_CLOEXEC even when fd is 3). */
	if (fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd, 3);
	spawnattr_init_child(&attr);
	k = posix_spawn(&pid, probe, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pfd[1]);
	if (k != 0) {
		close(pfd[0]);
		snprintf(reason, size, "cannot run the probe %s: %s", probe, strerror(k));
		return -k;
	}
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	/* Its exit wakes the poll below; without a pidfd, poll in short naps. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	while (!exited) {
		struct pollfd p[2] = { { .fd = eof ? -1 : pfd[0], .events = POLLIN },
			               { .fd = pidfd, .events = POLLIN } };
		uint64_t now = now_usec(CLOCK_MONOTONIC);
		uint64_t left_ms;
		char buf[4096];
		ssize_t n = -1;

		if (now - start >= timeout_usec) {
			/* The whole group: the plugin may have started children. */
			(void)kill(-pid, SIGKILL);
			(void)waitpid(pid, &st, 0);
			timed_out = true;
			break;
		}
		left_ms = (timeout_usec - (now - start)) / 1000 + 1;
		(void)poll(p, 2, (int)(pidfd >= 0 ? MIN(left_ms, 60000) : MIN(left_ms, 10)));
		while (!eof && (n = read(pfd[0], buf, sizeof(buf))) != 0) {
			if (n < 0) {
				eof = errno != EAGAIN && errno != EINTR;
				break;
			}
			if (len < (1u << 20)) {
				char *nb = realloc(out, len + (size_t)n + 1);

				if (!nb)
					break;
				out = nb;
				memcpy(out + len, buf, (size_t)n);
				len += (size_t)n;
				out[len] = 0;
			}
		}
		if (n == 0)
			eof = true;
		/* Reaped below, after its group: until then its pid, which is
		 * also the group id, cannot be reused. */
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			exited = true;
	}
	close(pfd[0]);
	if (pidfd >= 0)
		close(pidfd);
	if (!timed_out) {
		(void)kill(-pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (timed_out) {
		snprintf(reason, size, "timed out after %s during load (probe killed)",
		         format_duration(timeout_usec, d, sizeof(d)));
		return -ETIMEDOUT;
	}
	if (WIFSIGNALED(st)) {
		char sig[32];

		snprintf(reason, size, "crashed with %s during load%s",
		         signal_to_string(WTERMSIG(st), sig, sizeof(sig)),
		         WCOREDUMP(st) ? " (core dumped)" : "");
		return -ECHILD;
	}
	r = out ? json_loads(out, 0, NULL) : NULL;
	if (!json_is_object(r)) {
		json_decref(r);
		snprintf(reason, size, "the probe exited with status %d without an answer%s",
		         WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		         WIFEXITED(st) && WEXITSTATUS(st) == 0 ? " (did the plugin call exit()?)"
		                                               : "");
		return -EPROTO;
	}
	if (ret_answer)
		*ret_answer = steal_ptr(out);
	if (!json_is_true(json_object_get(r, "ok"))) {
		const char *why = json_string_value(json_object_get(r, "reason"));

		snprintf(reason, size, "%s", why ? why : "refused by the probe");
		json_decref(r);
		return -ENOEXEC;
	}
	json_decref(r);
	return 0;
}
/* NOLINTEND(clang-analyzer-unix.Malloc) */

int
loader_probe(const char *probe_exe, const char *path, bool hooks, uint64_t timeout_usec,
             char *reason, size_t size, char **ret_answer)
{
	return probe_spawn(probe_exe, path, -1, hooks, timeout_usec, reason, size, ret_answer);
}

/*
 * The probe's verdict on a file, from the cache or a fresh probe. 0 if it
 * may be loaded; else the refusal.
 */
static int
probe_file(const char *path, int fd, const struct file_key *key, const struct loader_options *opts,
           char *reason, size_t size)
{
	char k[128];
	struct probe_entry *e;
	int r;

	probe_key(key, k, sizeof(k));
	pthread_mutex_lock(&probe_lock);
	probe_cache_open_locked(opts->cache_path);
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
	r = probe_spawn(NULL, path, fd, true, opts->probe_timeout_usec, reason, size, NULL);
	/* Only the plugin's verdict is remembered: a probe that could not even
	 * be started (no helper, no memory, no fds) says nothing about it. */
	if (r == 0 || r == -ETIMEDOUT || r == -ECHILD || r == -EPROTO || r == -ENOEXEC) {
		pthread_mutex_lock(&probe_lock);
		(void)probe_put_locked(k, r == 0, r == 0 ? NULL : reason);
		/* Written once at the end of the scan: see loader_scan_with(). */
		probe_cache_dirty = true;
		pthread_mutex_unlock(&probe_lock);
	}
	return r;
}

int
loader_open_file(const char *path, unsigned flags, const struct file_key *expect,
                 struct plugin **ret, char *reason, size_t size)
{
	_cleanup_free_ char *dir = path_dirname(path);
	struct scan_dir d;
	struct file_key key = { 0 };
	int fd = -1, r;

	if (!dir) {
		snprintf(reason, size, "out of memory");
		return -ENOMEM;
	}
	r = scan_dir_open(&d, dir);
	if (r < 0) {
		snprintf(reason, size, "directory %s: %s", dir, strerror(-r));
		return r;
	}
	r = check_file(&d, path, &fd, &key, reason, size);
	scan_dir_done(&d);
	if (r < 0)
		return r;
	/* Before anything is mapped: a different file runs none of its code. */
	if (expect && !file_key_equal(expect, &key)) {
		close(fd);
		snprintf(reason, size,
		         "the plugin file changed since ginid loaded it; reload ginid");
		return -ESTALE;
	}
	return open_plugin(path, fd, &key, !(flags & LOADER_NO_HOOKS), NULL, NULL, ret, reason,
	                   size);
}

int
loader_open_sealed(int fd, const char *path, unsigned flags, struct plugin **ret, char *reason,
                   size_t size)
{
	const int need = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;
	struct file_key key = { 0 };
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & need) != need || fstat(fd, &st) < 0) {
		snprintf(reason, size, "descriptor %d is not a sealed copy of a plugin", fd);
		close(fd);
		return -EBADF;
	}
	key.dev = st.st_dev;
	key.ino = st.st_ino;
	key.size = st.st_size;
	return open_sealed(path, fd, &key, !(flags & LOADER_NO_HOOKS), NULL, NULL, ret, reason,
	                   size);
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

static int
scan_one_dir(const char *dir, struct registry *into, struct hashmap *prev_by_path,
             const struct loader_options *opts, struct loader_report *rep)
{
	char **names = NULL;
	size_t n = 0;
	struct scan_dir d;
	int r;

	r = scan_dir_open(&d, dir);
	if (r >= 0)
		r = list_candidates(dir, &names, &n);
	if (r < 0) {
		log_warn_errno(r, "plugin directory %s: cannot scan: %m, ignoring", dir);
		scan_dir_done(&d);
		return 0;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *path = path_join(dir, names[i]);
		char reason[PATH_MAX + 256];
		struct stage_type *t, *prev;
		struct plugin *p = NULL;
		struct file_key key = { 0 };
		bool probed = false;
		int fd = -1;

		if (!path) {
			r = -ENOMEM;
			break;
		}
		if (check_file(&d, path, &fd, &key, reason, sizeof(reason)) < 0) {
			r = refuse(rep, path, reason);
			continue;
		}
		prev = hashmap_get(prev_by_path, path);
		if (prev && file_key_equal(plugin_key(prev->plugin), &key)) {
			/* Unchanged since the last scan: not reopened, not re-initialised. */
			close(fd);
			r = register_type(into, prev, rep);
			rep->reused++;
			continue;
		}
		if (open_plugin(path, fd, &key, true, opts, &probed, &p, reason, sizeof(reason)) <
		    0) {
			r = refuse(rep, path, reason);
			if (r >= 0)
				rep->refusals[rep->n_refusals - 1].probed = probed;
			continue;
		}
		rep->loaded++;
		t = stage_type_new(plugin_descriptor(p), p, path);
		if (!t) {
			r = -ENOMEM;
			break;
		}
		r = register_type(into, t, rep);
		stage_type_unref(t);
	}
	strv_free(names);
	scan_dir_done(&d);
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
	for (size_t i = 0; i < n_dirs && r >= 0; i++)
		r = scan_one_dir(dirs[i], into, &prev_by_path, opts, report);
	pthread_mutex_lock(&probe_lock);
	if (probe_cache_dirty)
		probe_cache_save_locked();
	probe_cache_dirty = false;
	pthread_mutex_unlock(&probe_lock);
	if (r >= 0)
		r = check_requires(into, report);
	hashmap_done(&prev_by_path);
	registry_list_free(prev_list, prev_n);
	return r;
}
