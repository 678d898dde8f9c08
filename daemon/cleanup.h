/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Cleanup attributes for what the daemon opens, as systemd has them: a
 * variable declared with one is released when it goes out of scope, so an
 * error path is a plain return. Hand a resource over explicitly with
 * steal_ptr() (util.h) or steal_fd(). A variable uses either its cleanup
 * attribute or one `goto out`, never both. _cleanup_free_ and steal_ptr()
 * live in util.h.
 *
 * clang-tidy 14's analyzer does not model the cleanup attribute: a
 * _cleanup_free_ pointer whose last use is a call taking it as const (a
 * bind, a write) looks to it like a leak. Use `goto out` there instead.
 */

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "util.h"

/* Closes fd if open, keeping errno; returns -1 for `fd = safe_close(fd);`. */
static inline int
safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void
closep(int *fd)
{
	*fd = safe_close(*fd);
}

/* Both ends of a pipe2() or socketpair(), each -1 when not open. */
static inline void
close_pairp(int (*p)[2])
{
	(*p)[0] = safe_close((*p)[0]);
	(*p)[1] = safe_close((*p)[1]);
}

static inline void
fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void
closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static inline void
strv_freep(char ***v)
{
	strv_free(*v);
}

/* json_decrefp() is jansson's own (2.14, the json_auto_t of GCC builds). */
#define _cleanup_close_      _cleanup_(closep)
#define _cleanup_close_pair_ _cleanup_(close_pairp)
#define _cleanup_fclose_     _cleanup_(fclosep)
#define _cleanup_closedir_   _cleanup_(closedirp)
#define _cleanup_json_       _cleanup_(json_decrefp)
#define _cleanup_strv_free_  _cleanup_(strv_freep)

/* Hands an fd over: returns it and leaves -1 behind. */
#define steal_fd(fd)                                                                               \
	({                                                                                         \
		int _stolen = (fd);                                                                \
		(fd) = -1;                                                                         \
		_stolen;                                                                           \
	})
