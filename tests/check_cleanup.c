/* SPDX-License-Identifier: MIT */
/*
 * The cleanup attributes of daemon/cleanup.h: each releases what its
 * variable holds when the scope ends, and nothing once it was handed over.
 */
#include "tests.h"

#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

START_TEST(fds_closed_at_scope_end)
{
	int kept, seen, pair[2];

	{
		_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		ck_assert_int_ge(fd, 0);
		seen = fd;
	}
	ck_assert(!fd_open(seen));
	{
		_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		ck_assert_int_ge(fd, 0);
		kept = steal_fd(fd);
		ck_assert_int_eq(fd, -1);
	}
	ck_assert(fd_open(kept));
	{
		_cleanup_close_pair_ int p[2] = { -1, -1 };

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		pair[0] = p[0];
		pair[1] = p[1];
	}
	ck_assert(!fd_open(pair[0]));
	ck_assert(!fd_open(pair[1]));
	/* Closing keeps errno: an error path can close, then return -errno. */
	errno = ENOSPC;
	ck_assert_int_eq(safe_close(kept), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert(!fd_open(kept));
	/* Nothing open: nothing to do. */
	{
		_cleanup_close_ int none = -1;
		_cleanup_close_pair_ int nones[2] = { -1, -1 };

		(void)none;
		(void)nones;
	}
}
END_TEST

START_TEST(files_dirs_json_strv_released)
{
	json_t *shared = json_object();
	int fd;

	{
		_cleanup_fclose_ FILE *f = fopen("/dev/null", "re");

		ck_assert_ptr_nonnull(f);
		fd = fileno(f);
	}
	ck_assert(!fd_open(fd));
	{
		_cleanup_closedir_ DIR *d = opendir("/");

		ck_assert_ptr_nonnull(d);
		fd = dirfd(d);
	}
	ck_assert(!fd_open(fd));
	{
		_cleanup_json_ json_t *ref = json_incref(shared);

		ck_assert_uint_eq(shared->refcount, 2);
		(void)ref;
	}
	ck_assert_uint_eq(shared->refcount, 1);
	{
		/* Freed at the end (ASan and valgrind see a leak otherwise). */
		_cleanup_strv_free_ char **v = calloc(3, sizeof(char *));

		ck_assert_ptr_nonnull(v);
		v[0] = strdup("a");
		v[1] = strdup("b");
	}
	{
		_cleanup_fclose_ FILE *f = NULL;
		_cleanup_closedir_ DIR *d = NULL;
		_cleanup_json_ json_t *j = NULL;
		_cleanup_strv_free_ char **v = NULL;

		(void)f;
		(void)d;
		(void)j;
		(void)v;
	}
	json_decref(shared);
}
END_TEST

Suite *
cleanup_suite(void)
{
	Suite *s = suite_create("cleanup");
	TCase *tc = tcase_create("attributes");

	tcase_add_test(tc, fds_closed_at_scope_end);
	tcase_add_test(tc, files_dirs_json_strv_released);
	suite_add_tcase(s, tc);
	return s;
}
