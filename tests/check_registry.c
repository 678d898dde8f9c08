/* SPDX-License-Identifier: MIT */
/* The registry: index operations, listing, reference counting, counters,
 * and concurrent use (run under SANITIZE=thread to prove the locking). */
#include "tests.h"
#include "test_stages.h"

#include "registry.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define DESC(ident, cat, sum)                                                                      \
	{                                                                                          \
		GINI_DESCRIPTOR_HEADER, .id = (ident), .version = "1.0.0", .summary = (sum),       \
		                        .category = (cat), .run = test_noop_run,                   \
	}

static const struct gini_stage_descriptor descs[] = {
	DESC("exec", "exec", "Run a command"),
	DESC("log", "notify", "Write a log line"),
	DESC("check-path", "check", "Check that a path exists"),
	DESC("check-command", "check", "Check that a command is on PATH"),
	DESC("write", "io", "Write a file atomically"),
};

static struct registry *
filled(void)
{
	struct registry *r = registry_new();

	for (size_t i = 0; i < ARRAY_SIZE(descs); i++) {
		struct stage_type *t = stage_type_new(&descs[i], NULL, NULL);

		ck_assert_int_eq(registry_add(r, t), 0);
		stage_type_unref(t);
	}
	return r;
}

START_TEST(add_lookup_remove)
{
	struct registry *r = filled();
	struct stage_type *t, *dup;
	char err[256];

	ck_assert_uint_eq(registry_count(r), ARRAY_SIZE(descs));
	t = registry_acquire(r, "write");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->summary, "Write a file atomically");
	ck_assert_str_eq(t->path, "(builtin)");
	ck_assert_ptr_null(registry_acquire(r, "wr1te"));

	dup = stage_type_new(&descs[4], NULL, NULL);
	ck_assert_int_eq(registry_add(r, dup), -EEXIST);
	stage_type_unref(dup);

	ck_assert_int_eq(registry_remove(r, "write"), 0);
	ck_assert_int_eq(registry_remove(r, "write"), -ENOENT);
	ck_assert_ptr_null(registry_acquire(r, "write"));
	/* The removed type lives on while referenced. */
	ck_assert_str_eq(t->id, "write");
	ck_assert_uint_eq(atomic_load(&t->refs), 1);
	stage_type_unref(t);
	ck_assert_uint_eq(registry_count(r), ARRAY_SIZE(descs) - 1);
	ck_assert_int_eq(registry_check(r, err, sizeof(err)), 0);
	registry_free(r);
}
END_TEST

START_TEST(replace_hands_back_old)
{
	static const struct gini_stage_descriptor v2 = {
		GINI_DESCRIPTOR_HEADER, .id = "log",
		.version = "2.0.0",     .summary = "Write a log line, better",
		.category = "notify",   .run = test_noop_run,
	};
	struct registry *r = filled();
	struct stage_type *nt = stage_type_new(&v2, NULL, NULL), *old = NULL, *cur;

	ck_assert_int_eq(registry_replace(r, nt, &old), 0);
	ck_assert_ptr_nonnull(old);
	ck_assert_str_eq(old->version, "1.0.0");
	cur = registry_acquire(r, "log");
	ck_assert_ptr_eq(cur, nt);
	ck_assert_str_eq(cur->version, "2.0.0");
	ck_assert_uint_eq(registry_count(r), ARRAY_SIZE(descs));
	stage_type_unref(cur);
	stage_type_unref(old);
	stage_type_unref(nt);
	registry_free(r);
}
END_TEST

START_TEST(list_filters_and_pages)
{
	struct registry *r = filled();
	struct registry_filter checks = { .category = "check" };
	struct registry_filter text = { .text = "atomic" };
	struct stage_type **v;
	size_t n, total;

	ck_assert_int_eq(registry_list(r, NULL, 0, 0, &v, &n, &total), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(total, 5);
	/* Sorted by id. */
	ck_assert_str_eq(v[0]->id, "check-command");
	ck_assert_str_eq(v[1]->id, "check-path");
	ck_assert_str_eq(v[2]->id, "exec");
	ck_assert_str_eq(v[4]->id, "write");
	registry_list_free(v, n);

	ck_assert_int_eq(registry_list(r, &checks, 0, 0, &v, &n, &total), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0]->id, "check-command");
	registry_list_free(v, n);

	ck_assert_int_eq(registry_list(r, &text, 0, 0, &v, &n, &total), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0]->id, "write");
	registry_list_free(v, n);

	ck_assert_int_eq(registry_list(r, NULL, 1, 2, &v, &n, &total), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(total, 5);
	ck_assert_str_eq(v[0]->id, "check-path");
	ck_assert_str_eq(v[1]->id, "exec");
	registry_list_free(v, n);

	ck_assert_int_eq(registry_list(r, NULL, 10, 2, &v, &n, &total), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(total, 5);
	registry_list_free(v, n);
	registry_free(r);
}
END_TEST

START_TEST(id_syntax)
{
	ck_assert(stage_id_valid("exec"));
	ck_assert(stage_id_valid("0day.check_v2-x"));
	ck_assert(!stage_id_valid(""));
	ck_assert(!stage_id_valid("-lead"));
	ck_assert(!stage_id_valid("Exec"));
	ck_assert(!stage_id_valid("a b"));
	ck_assert(
	        stage_id_valid("a234567890123456789012345678901234567890123456789012345678901234"));
	ck_assert(!stage_id_valid(
	        "a2345678901234567890123456789012345678901234567890123456789012345"));
}
END_TEST

START_TEST(counters_account)
{
	struct stage_type *t = stage_type_new(&descs[0], NULL, NULL);

	stage_type_account(t, 100, false, false);
	stage_type_account(t, 300, true, true);
	stage_type_account(t, 2000000, false, false);
	ck_assert_uint_eq(atomic_load(&t->counters.runs), 3);
	ck_assert_uint_eq(atomic_load(&t->counters.failures), 1);
	ck_assert_uint_eq(atomic_load(&t->counters.timeouts), 1);
	ck_assert_uint_eq(atomic_load(&t->counters.total_usec), 2000400);
	ck_assert_uint_eq(atomic_load(&t->counters.max_usec), 2000000);
	/* Buckets: <= 1ms holds two, <= 10s holds one. */
	ck_assert_uint_eq(atomic_load(&t->counters.buckets[0]), 2);
	ck_assert_uint_eq(atomic_load(&t->counters.buckets[4]), 1);
	stage_type_unref(t);
}
END_TEST

/*
 * Readers acquire and release while a writer keeps adding, replacing and
 * removing, and workers account runs. Proves the lock and the reference
 * counts under TSan, and that a type held by a reader is never freed.
 */
#define STRESS_IDS    32
#define STRESS_ROUNDS 20000

struct stress {
	struct registry *r;
	struct gini_stage_descriptor descs[STRESS_IDS];
	char ids[STRESS_IDS][16];
	atomic_bool stop;
	atomic_ulong acquired;
};

static void *
reader(void *arg)
{
	struct stress *s = arg;
	unsigned seed = (unsigned)(uintptr_t)pthread_self();

	while (!atomic_load(&s->stop)) {
		const char *id = s->ids[rand_r(&seed) % STRESS_IDS];
		struct stage_type *t = registry_acquire(s->r, id);

		if (t) {
			/* The type must stay intact while held. */
			ck_assert_str_eq(t->id, id);
			stage_type_account(t, 1, false, false);
			atomic_fetch_add(&s->acquired, 1);
			stage_type_unref(t);
		}
		if (rand_r(&seed) % 64 == 0) {
			struct stage_type **v;
			size_t n;

			ck_assert_int_eq(registry_list(s->r, NULL, 0, 8, &v, &n, NULL), 0);
			for (size_t i = 1; i < n; i++)
				ck_assert_int_lt(strcmp(v[i - 1]->id, v[i]->id), 0);
			registry_list_free(v, n);
		}
	}
	return NULL;
}

START_TEST(concurrent_readers_and_writer)
{
	struct stress *s = calloc(1, sizeof(*s));
	pthread_t threads[4];
	char err[256];

	s->r = registry_new();
	for (int i = 0; i < STRESS_IDS; i++) {
		snprintf(s->ids[i], sizeof(s->ids[i]), "stage-%02d", i);
		s->descs[i] = (struct gini_stage_descriptor){
			GINI_DESCRIPTOR_HEADER, .id = s->ids[i],    .version = "1.0.0",
			.summary = "stress",    .category = "test", .run = test_noop_run,
		};
	}
	for (size_t i = 0; i < ARRAY_SIZE(threads); i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, reader, s), 0);
	for (int round = 0; round < STRESS_ROUNDS; round++) {
		int i = round % STRESS_IDS;
		struct stage_type *t = stage_type_new(&s->descs[i], NULL, NULL), *old = NULL;

		switch (round % 3) {
		case 0:
			(void)registry_add(s->r, t);
			break;
		case 1:
			ck_assert_int_eq(registry_replace(s->r, t, &old), 0);
			stage_type_unref(old);
			break;
		default:
			(void)registry_remove(s->r, s->ids[(i + 7) % STRESS_IDS]);
			break;
		}
		stage_type_unref(t);
	}
	atomic_store(&s->stop, true);
	for (size_t i = 0; i < ARRAY_SIZE(threads); i++)
		pthread_join(threads[i], NULL);
	ck_assert_uint_gt(atomic_load(&s->acquired), 0);
	ck_assert_int_eq(registry_check(s->r, err, sizeof(err)), 0);
	registry_free(s->r);
	free(s);
}
END_TEST

START_TEST(many_types_scale)
{
	enum { N = 10000 };
	struct gini_stage_descriptor *d = calloc(N, sizeof(*d));
	char(*ids)[16] = calloc(N, 16);
	struct registry *r = registry_new();
	struct stage_type **v;
	size_t n, total, seen = 0;
	char err[256];

	for (int i = 0; i < N; i++) {
		struct stage_type *t;

		/* Reverse order, so the sorted view has real work to do. */
		snprintf(ids[i], 16, "t%05d", N - 1 - i);
		d[i] = (struct gini_stage_descriptor){
			GINI_DESCRIPTOR_HEADER, .id = ids[i],       .version = "1.0.0",
			.summary = "s",         .category = "test", .run = test_noop_run
		};
		t = stage_type_new(&d[i], NULL, NULL);
		ck_assert_int_eq(registry_add(r, t), 0);
		stage_type_unref(t);
	}
	for (size_t off = 0;; off += 1000) {
		ck_assert_int_eq(registry_list(r, NULL, off, 1000, &v, &n, &total), 0);
		for (size_t i = 0; i < n; i++) {
			char expect[16];

			snprintf(expect, sizeof(expect), "t%05zu", seen++);
			ck_assert_str_eq(v[i]->id, expect);
		}
		registry_list_free(v, n);
		if (n == 0)
			break;
	}
	ck_assert_uint_eq(seen, N);
	ck_assert_uint_eq(total, N);
	ck_assert_int_eq(registry_check(r, err, sizeof(err)), 0);
	registry_free(r);
	free(d);
	free(ids);
}
END_TEST

/* The loader's callback frees a type's plugin, once, with the last reference. */
static int released;
static struct plugin *released_plugin;

static void
count_release(struct plugin *p)
{
	released++;
	released_plugin = p;
}

START_TEST(release_callback_frees_plugin)
{
	struct plugin *fake = (struct plugin *)&released; /* never dereferenced */
	struct registry *r = registry_new();
	struct stage_type *t = stage_type_new_plugin(&descs[0], fake, count_release, "/x/a.so"), *u;
	char err[256];

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(registry_add(r, t), 0);
	u = registry_acquire(r, descs[0].id);
	ck_assert_ptr_eq(u, t);
	ck_assert_int_eq(registry_check(r, err, sizeof(err)), 0);
	stage_type_unref(t);
	ck_assert_int_eq(registry_remove(r, descs[0].id), 0);
	ck_assert_int_eq(released, 0); /* u still holds it */
	stage_type_unref(u);
	ck_assert_int_eq(released, 1);
	ck_assert_ptr_eq(released_plugin, fake);
	registry_free(r);
	ck_assert_int_eq(released, 1);

	/* A plugin without a way to release it is a broken entry. */
	t = stage_type_new(&descs[1], fake, "/x/b.so");
	r = registry_new();
	ck_assert_int_eq(registry_add(r, t), 0);
	ck_assert_int_eq(registry_check(r, err, sizeof(err)), -EUCLEAN);
	ck_assert_msg(strstr(err, "no way to release it") != NULL, "%s", err);
	stage_type_unref(t);
	registry_free(r);
}
END_TEST

Suite *
registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc;

	tc = tcase_create("index");
	tcase_add_test(tc, add_lookup_remove);
	tcase_add_test(tc, replace_hands_back_old);
	tcase_add_test(tc, id_syntax);
	suite_add_tcase(s, tc);

	tc = tcase_create("list");
	tcase_add_test(tc, list_filters_and_pages);
	tcase_add_test(tc, many_types_scale);
	suite_add_tcase(s, tc);

	tc = tcase_create("counters");
	tcase_add_test(tc, counters_account);
	suite_add_tcase(s, tc);

	tc = tcase_create("release");
	tcase_add_test(tc, release_callback_frees_plugin);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_test(tc, concurrent_readers_and_writer);
	suite_add_tcase(s, tc);
	return s;
}
