/* SPDX-License-Identifier: MIT */
/*
 * Files and executables, for the bundled plugins: naming a file's type in
 * messages, and finding a command the way a shell would, with a message that
 * says exactly why a command cannot be run.
 */
#pragma once

#include "buf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Used when the daemon's environment has no PATH. Wider than the
 * _CS_PATH "/bin:/usr/bin" because the daemon usually runs as root, whose
 * tools live in the sbin directories.
 */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The type of a file as a word for messages ("/x: is a directory"). */
static inline const char *
file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	default:
		return "file of unknown type";
	}
}

/*
 * Whether path is a regular file we may execute. Returns 0, or a negative
 * errno value with a message naming the path in err.
 */
static inline int
executable_check(const char *path, char *err, size_t err_size)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int r = -errno;

		snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "%s: is a %s, not an executable file", path,
		         file_type_name(st.st_mode));
		return S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
	}
	/* Effective ids, as execve() checks; root needs an x bit too. */
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0) {
		int r = -errno;

		if (r == -EACCES)
			snprintf(err, err_size, "%s: not executable (mode %04o)", path,
			         (unsigned)(st.st_mode & 07777));
		else
			snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

/*
 * Finds command: a name containing '/' is checked as it is; any other name
 * is looked up in each directory of search_path (DEFAULT_PATH when NULL),
 * where an empty entry means the current directory, as in the shell. On
 * success *ret_path is a malloc'ed path (transferred to the caller).
 * Returns 0, -ENOENT with "NAME: not found in PATH", or another negative
 * errno value, each with a message in err.
 */
static inline int
executable_find(const char *command, const char *search_path, char **ret_path, char *err,
                size_t err_size)
{
	const char *p;
	char *copy;
	int r;

	if (!*command) {
		snprintf(err, err_size, "empty command name");
		return -EINVAL;
	}
	if (strchr(command, '/')) {
		r = executable_check(command, err, err_size);
		if (r < 0)
			return r;
		copy = strdup(command);
		if (!copy)
			return -ENOMEM;
		*ret_path = copy;
		return 0;
	}
	p = search_path ? search_path : DEFAULT_PATH;
	for (;;) {
		size_t len = strcspn(p, ":");
		struct buf b = { 0 };
		char ignored[8];

		r = buf_printf(&b, "%.*s%s%s", (int)(len ? len : 1), len ? p : ".",
		               len && p[len - 1] == '/' ? "" : "/", command);
		if (r < 0) {
			buf_done(&b);
			snprintf(err, err_size, "%s: %s", command, strerror(-r));
			return r;
		}
		if (executable_check(b.data, ignored, sizeof(ignored)) == 0) {
			*ret_path = b.data;
			return 0;
		}
		buf_done(&b);
		if (!p[len])
			break;
		p += len + 1;
	}
	snprintf(err, err_size, "%s: not found in PATH", command);
	return -ENOENT;
}
