/* SPDX-License-Identifier: MIT */
/*
 * A step's params (daemon/params.c) as the host table hands them to
 * plugins: every getter reports its outcome in its return value alone.
 */
#include "tests.h"

#include "host.h"
#include "params.h"

#include <errno.h>
#include <gini/stage.h>

/*
 * Regression: lookup() returned NULL for a NULL name or set without setting
 * errno, and every getter returned -errno: with errno 0 that was success,
 * with the output left unset. errno is cleared first so that the old code
 * fails here every time.
 */
START_TEST(params_no_errno_side_channel)
{
	struct gini_params *p = params_new_empty();
	const struct gini_host *h = &host_services;
	const struct gini_params *sets[] = { p, NULL };
	static const char sentinel[] = "untouched";

	ck_assert_int_eq(params_add_string(p, "path", "/x"), 0);
	for (size_t k = 0; k < 2; k++) {
		for (int named = 0; named < 2; named++) {
			const char *name = named ? "absent" : NULL;
			int want = name ? -ENOENT : -EINVAL;
			const char *s = sentinel;
			const char *const *v = (const char *const *)&sentinel;
			size_t n = 42;
			int64_t i = 42;
			int32_t b = 42;
			uint64_t d = 42;
			double f = 42;

			errno = 0;
			ck_assert_int_eq(h->param_string(sets[k], name, &s), want);
			errno = 0;
			ck_assert_int_eq(h->param_int(sets[k], name, &i), want);
			errno = 0;
			ck_assert_int_eq(h->param_bool(sets[k], name, &b), want);
			errno = 0;
			ck_assert_int_eq(h->param_duration(sets[k], name, &d), want);
			errno = 0;
			ck_assert_int_eq(h->param_strv(sets[k], name, &v, &n), want);
			errno = 0;
			ck_assert_int_eq(h->param_double(sets[k], name, &f), want);
			ck_assert_ptr_eq(s, sentinel);
			ck_assert_ptr_eq(v, (const char *const *)&sentinel);
			ck_assert_uint_eq(n, 42);
			ck_assert_int_eq(i, 42);
			ck_assert_int_eq(b, 42);
			ck_assert_uint_eq(d, 42);
			ck_assert(f == 42);
		}
	}
	params_free(p);
}
END_TEST

/*
 * A stale errno must not leak into the answer either: the fallbacks (an
 * integer read as a duration or a number, a string as a list) key on the
 * first lookup's own result.
 */
START_TEST(params_stale_errno_ignored)
{
	struct gini_params *p = params_new_empty();
	const char *const *v;
	size_t n;
	uint64_t d;
	double f;
	const char *s;

	ck_assert_int_eq(params_add_string(p, "path", "/x"), 0);
	errno = EINVAL;
	ck_assert_int_eq(params_get_string(p, "absent", &s), -ENOENT);
	errno = EINVAL;
	ck_assert_int_eq(params_get_duration(p, "absent", &d), -ENOENT);
	errno = ENOENT;
	ck_assert_int_eq(params_get_strv(p, "path", &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0], "/x");
	errno = ENOMEM;
	ck_assert_int_eq(params_get_double(p, "path", &f), -EINVAL);
	ck_assert_str_eq(p->error, "param 'path': expected a number, got a string");
	params_free(p);
}
END_TEST

Suite *
params_suite(void)
{
	Suite *s = suite_create("params");
	TCase *tc = tcase_create("errors");

	tcase_add_test(tc, params_no_errno_side_channel);
	tcase_add_test(tc, params_stale_errno_ignored);
	suite_add_tcase(s, tc);
	return s;
}
