/* SPDX-License-Identifier: MIT */
/*
 * The binary frames of the isolation protocol (daemon/isolate_frame.c),
 * without a daemon: what is written reads back the same, and a payload cut
 * short anywhere, or with a length or count that lies, is refused without a
 * read past its end (ASan checks that part) or an allocation to match the
 * lie: the daemon reads what a worker, which runs plugin code, wrote.
 */
#include "check_isolation.h"

#include "context.h"
#include "isolate_frame.h"
#include "params.h"

/* A FRAME_RUN as the daemon writes it, with params of every type. */
static void
sample_run(struct frame *f, struct run_ctx *ctx, struct gini_params *p)
{
	struct param *v;

	ck_assert_int_eq(params_add_string(p, "s", "text"), 0);
	ck_assert_ptr_nonnull(v = params_append(p, "i"));
	v->type = PARAM_INT;
	v->i = -42;
	ck_assert_ptr_nonnull(v = params_append(p, "b"));
	v->type = PARAM_BOOL;
	v->i = 1;
	ck_assert_ptr_nonnull(v = params_append(p, "f"));
	v->type = PARAM_FLOAT;
	v->f = 2.5;
	ck_assert_ptr_nonnull(v = params_append(p, "l"));
	v->type = PARAM_STRV;
	v->strv = calloc(3, sizeof(char *));
	ck_assert_ptr_nonnull(v->strv);
	v->strv[0] = strdup("x");
	v->strv[1] = strdup("");
	v->n = 2;
	ck_assert_int_eq(ctx_set(ctx, "k1", "v1"), 0);
	ck_assert_int_eq(ctx_set(ctx, "k2", ""), 0);
	frame_begin(f, FRAME_RUN);
	frame_put_u64(f, 77);
	frame_put_str(f, "pipe");
	frame_put_str(f, NULL);
	frame_put_params(f, p);
	frame_put_ctx(f, ctx);
	ck_assert_int_eq(frame_end(f), 0);
}

/* Reads a sample_run() payload; whether it was whole. */
static bool
read_run(const char *p, size_t n, struct run_ctx *ctx)
{
	struct frame_reader r = { p, n, false };
	struct gini_params *params;
	bool ok;

	(void)frame_get_u8(&r);
	(void)frame_get_u64(&r);
	(void)frame_get_str(&r);
	(void)frame_get_str(&r);
	params = frame_get_params(&r);
	frame_get_ctx(&r, ctx, NULL);
	ok = !r.bad && params && r.left == 0;
	params_free(params);
	return ok;
}

START_TEST(frame_round_trip)
{
	struct gini_params *p = params_new_empty(), *q;
	struct run_ctx *ctx = ctx_new(), *back = ctx_new();
	struct frame f = { 0 };
	struct frame_reader r;
	uint32_t len;

	ck_assert_ptr_nonnull(p);
	sample_run(&f, ctx, p);
	ck_assert_int_eq(f.data[0], FRAME_MAGIC);
	memcpy(&len, f.data + 1, sizeof(len));
	ck_assert_uint_eq(len, f.len - FRAME_HEADER);
	ck_assert_int_eq(frame_size(f.data, f.len, 1u << 20), (ssize_t)f.len);
	ck_assert_int_eq(frame_size(f.data, f.len - 1, 1u << 20), 0);
	ck_assert_int_eq(frame_size(f.data, 3, 1u << 20), 0);
	ck_assert_int_eq(frame_size(f.data, f.len, len - 1), -1);

	r = (struct frame_reader){ f.data + FRAME_HEADER, f.len - FRAME_HEADER, false };
	ck_assert_int_eq(frame_get_u8(&r), FRAME_RUN);
	ck_assert_uint_eq(frame_get_u64(&r), 77);
	ck_assert_str_eq(frame_get_str(&r), "pipe");
	ck_assert_ptr_null(frame_get_str(&r));
	ck_assert(!r.bad);
	q = frame_get_params(&r);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->n, 5);
	ck_assert_int_eq(q->v[0].type, PARAM_STRING);
	ck_assert_str_eq(q->v[0].s, "text");
	ck_assert_int_eq(q->v[1].type, PARAM_INT);
	ck_assert_int_eq(q->v[1].i, -42);
	ck_assert_int_eq(q->v[2].type, PARAM_BOOL);
	ck_assert_int_eq(q->v[2].i, 1);
	ck_assert_int_eq(q->v[3].type, PARAM_FLOAT);
	ck_assert(q->v[3].f == 2.5);
	ck_assert_int_eq(q->v[4].type, PARAM_STRV);
	ck_assert_uint_eq(q->v[4].n, 2);
	ck_assert_str_eq(q->v[4].strv[0], "x");
	ck_assert_str_eq(q->v[4].strv[1], "");
	ck_assert_ptr_null(q->v[4].strv[2]);
	frame_get_ctx(&r, back, NULL);
	ck_assert(!r.bad);
	ck_assert_uint_eq(r.left, 0);
	ck_assert_str_eq(ctx_get(back, "k1"), "v1");
	ck_assert_str_eq(ctx_get(back, "k2"), "");
	params_free(q);
	params_free(p);
	ctx_free(ctx);
	ctx_free(back);
	frame_done(&f);
}
END_TEST

/* Every prefix of a payload is refused, each copied to a buffer of its
 * own size so that ASan sees any read past it. */
START_TEST(frame_cut_short)
{
	struct gini_params *p = params_new_empty();
	struct run_ctx *ctx = ctx_new();
	struct frame f = { 0 };
	size_t n;

	sample_run(&f, ctx, p);
	n = f.len - FRAME_HEADER;
	for (size_t k = 0; k < n; k++) {
		char *copy = malloc(k ? k : 1);
		struct run_ctx *back = ctx_new();

		memcpy(copy, f.data + FRAME_HEADER, k);
		ck_assert_msg(!read_run(copy, k, back), "a payload cut at %zu of %zu was read", k,
		              n);
		ctx_free(back);
		free(copy);
	}
	params_free(p);
	ctx_free(ctx);
	frame_done(&f);
}
END_TEST

/* Lengths and counts that lie, and a string without its NUL. */
START_TEST(frame_lies)
{
	static const uint32_t counts[] = { 3, 1000, FRAME_STRINGS_MAX + 1, UINT32_MAX };
	struct frame f = { 0 };
	struct frame_reader r;
	char text[8];
	uint32_t n = 3;

	/* A string whose length runs past the end, or has no NUL. */
	frame_begin(&f, FRAME_DONE);
	frame_put_u32(&f, 100);
	ck_assert_int_eq(frame_end(&f), 0);
	r = (struct frame_reader){ f.data + FRAME_HEADER + 1, f.len - FRAME_HEADER - 1, false };
	ck_assert_ptr_null(frame_get_str(&r));
	ck_assert(r.bad);
	memcpy(text, &n, sizeof(n));
	memcpy(text + 4, "abc", 3);
	r = (struct frame_reader){ text, 7, false }; /* "abc" without its NUL */
	ck_assert_ptr_null(frame_get_str(&r));
	ck_assert(r.bad);
	/* Params and context counts larger than what follows them. */
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		struct run_ctx *ctx = ctx_new();

		frame_begin(&f, FRAME_RUN);
		frame_put_u32(&f, counts[i]);
		frame_put_str(&f, "k");
		frame_put_str(&f, "v");
		ck_assert_int_eq(frame_end(&f), 0);
		r = (struct frame_reader){ f.data + FRAME_HEADER + 1, f.len - FRAME_HEADER - 1,
			                   false };
		ck_assert_ptr_null(frame_get_params(&r));
		ck_assert(r.bad);
		r = (struct frame_reader){ f.data + FRAME_HEADER + 1, f.len - FRAME_HEADER - 1,
			                   false };
		frame_get_ctx(&r, ctx, NULL);
		ck_assert(r.bad);
		ck_assert_ptr_null(ctx_get(ctx, "k"));
		ctx_free(ctx);
	}
	/* A param of no known type. */
	frame_begin(&f, FRAME_RUN);
	frame_put_u32(&f, 1);
	frame_put_str(&f, "p");
	frame_put_u32(&f, 0x0909); /* type 9, then junk */
	frame_put_u64(&f, 0);
	ck_assert_int_eq(frame_end(&f), 0);
	r = (struct frame_reader){ f.data + FRAME_HEADER + 1, f.len - FRAME_HEADER - 1, false };
	ck_assert_ptr_null(frame_get_params(&r));
	frame_done(&f);
}
END_TEST

/* A FRAME_DONE's changes: set and unset, as the worker writes them. */
START_TEST(frame_changes_applied)
{
	struct run_ctx *ctx = ctx_new(), *set = ctx_new();
	struct frame f = { 0 };
	size_t at;

	ck_assert_int_eq(ctx_set(ctx, "old", "1"), 0);
	ck_assert_int_eq(ctx_set(ctx, "keep", "2"), 0);
	ck_assert_int_eq(ctx_set(set, "new", "3"), 0);
	ck_assert_int_eq(ctx_set(set, "keep", "4"), 0);
	frame_begin(&f, FRAME_DONE);
	frame_put_ctx(&f, set);
	at = frame_mark(&f);
	frame_put_str(&f, "old");
	frame_patch_u32(&f, at, 1);
	ck_assert_int_eq(frame_end(&f), 0);
	frame_apply_changes(f.data + FRAME_HEADER + 1, f.len - FRAME_HEADER - 1, ctx);
	ck_assert_ptr_null(ctx_get(ctx, "old"));
	ck_assert_str_eq(ctx_get(ctx, "keep"), "4");
	ck_assert_str_eq(ctx_get(ctx, "new"), "3");
	/* Cut short: what was whole before the cut is applied, no more. */
	frame_apply_changes(f.data + FRAME_HEADER + 1, 3, ctx);
	ctx_free(ctx);
	ctx_free(set);
	frame_done(&f);
}
END_TEST

void
isolation_frame_add_tcases(Suite *s)
{
	TCase *tc = tcase_create("frame");

	tcase_add_test(tc, frame_round_trip);
	tcase_add_test(tc, frame_cut_short);
	tcase_add_test(tc, frame_lies);
	tcase_add_test(tc, frame_changes_applied);
	suite_add_tcase(s, tc);
}
