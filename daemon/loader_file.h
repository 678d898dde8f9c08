/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Identifies one version of a file: a change to any field is a new version. */
struct file_key {
	uint64_t dev;
	uint64_t ino;
	int64_t size;
	int64_t mtime_ns;
};

static inline bool
file_key_equal(const struct file_key *a, const struct file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

/* Plugin files larger than this are refused before being read. */
#define PLUGIN_FILE_MAX (256LL << 20)

/* A plugin directory, checked once per scan; loader_dir_done() frees it. */
struct loader_dir {
	const char *path; /* borrowed */
	char *real;       /* owned: its realpath, for the symlink check */
	int dir_ok;       /* 0, or the refusal that applies to every file in it */
	char dir_reason[256];
};

/* 0, or -errno when path is not a directory that can be scanned. */
int loader_dir_open(struct loader_dir *d, const char *path);
void loader_dir_done(struct loader_dir *d);
/*
 * The file checks for path in d (type, symlink, owner, mode, size): an open
 * fd on the file and its key, or a negative errno value and the reason.
 */
int loader_file_check(const struct loader_dir *d, const char *path, int *ret_fd,
                      struct file_key *ret_key, char *reason, size_t size);
/*
 * loader_file_check() for one file outside a scan: opens and checks the
 * file's directory, then the file. A directory that cannot be opened is
 * "directory DIR: ERROR" in reason.
 */
int loader_file_check_path(const char *path, int *ret_fd, struct file_key *ret_key, char *reason,
                           size_t size);
/*
 * Copies the file open at fd, which loader_file_check() described as key,
 * into a new memfd named "gini:NAME.so" and seals it (write, grow, shrink,
 * seal); returns the memfd. -EAGAIN when the file changed meanwhile.
 */
int loader_file_seal(int fd, const char *path, const struct file_key *key, char *reason,
                     size_t size);
/*
 * The checks of loader_file_check_path(), then the sealed copy of
 * loader_file_seal(), for one file outside a scan: returns the memfd and the
 * file's key in ret_key. With expect, a file whose key differs is refused
 * with -ESTALE before anything is copied ("the plugin file changed since
 * ginid SINCE; reload ginid").
 */
int loader_file_seal_path(const char *path, const struct file_key *expect, const char *since,
                          struct file_key *ret_key, char *reason, size_t size);
