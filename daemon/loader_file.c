/* SPDX-License-Identifier: MIT */
/*
 * The plugin file checks, steps 1 and the copy of loading a plugin (see
 * loader.c): a candidate must be a regular file, not a symlink that leaves
 * its directory, owned by root or the daemon's user, and neither it nor its
 * directory writable by group or others; its bytes are then copied into a
 * sealed memfd, which is what everything after (the ELF check, the probe,
 * dlopen) sees, so a file rewritten in place cannot change what is loaded.
 * Only files and memory here: no ELF, no dlopen, no logging.
 */
#include "loader_file.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef MFD_EXEC
#define LOADER_MFD_EXEC MFD_EXEC
#else
#define LOADER_MFD_EXEC 0x0010U /* <linux/memfd.h>, Linux 6.3 */
#endif

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

int
loader_dir_open(struct loader_dir *d, const char *path)
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

void
loader_dir_done(struct loader_dir *d)
{
	free(d->real);
	d->real = NULL;
}

/*
 * Step 1 and 2 for dir/name: returns an open fd on the file and its key, or
 * a refusal.
 */
int
loader_file_check(const struct loader_dir *d, const char *path, int *ret_fd,
                  struct file_key *ret_key, char *reason, size_t size)
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

int
loader_file_check_path(const char *path, int *ret_fd, struct file_key *ret_key, char *reason,
                       size_t size)
{
	_cleanup_free_ char *dir = path_dirname(path);
	struct loader_dir d;
	int r;

	if (!dir) {
		snprintf(reason, size, "out of memory");
		return -ENOMEM;
	}
	r = loader_dir_open(&d, dir);
	if (r < 0) {
		loader_dir_done(&d);
		snprintf(reason, size, "directory %s: %s", dir, strerror(-r));
		return r;
	}
	r = loader_file_check(&d, path, ret_fd, ret_key, reason, size);
	loader_dir_done(&d);
	return r;
}

int
loader_file_seal_path(const char *path, const struct file_key *expect, const char *since,
                      struct file_key *ret_key, char *reason, size_t size)
{
	int fd = -1, r;

	r = loader_file_check_path(path, &fd, ret_key, reason, size);
	if (r < 0)
		return r;
	/* Before anything is mapped: a different file runs none of its code. */
	if (expect && !file_key_equal(expect, ret_key)) {
		close(fd);
		snprintf(reason, size, "the plugin file changed since ginid %s; reload ginid",
		         since);
		return -ESTALE;
	}
	r = loader_file_seal(fd, path, ret_key, reason, size);
	close(fd);
	return r;
}

/*
 * Copies the file open at fd, which loader_file_check() described as key, into a
 * new memfd and seals it; returns the memfd. The copy is refused when the
 * file changed meanwhile (someone is writing it): its size or mtime no
 * longer match key, or it ended early.
 */
int
loader_file_seal(int fd, const char *path, const struct file_key *key, char *reason, size_t size)
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
