/* SPDX-License-Identifier: MIT */
/*
 * The binary frames of the isolation protocol: a warm worker's request and
 * every run's answer, written and read here for both ends (isolate.c in
 * the daemon, gini-worker). JSON stays for what is rare (a worker's first
 * request, log lines, cancel); a warm step's two messages were each about
 * 10,000 instructions of jansson on each side (callgrind), where these cost
 * a few hundred. Reading checks every length against what is left: the
 * daemon reads what a worker, which runs plugin code, wrote.
 */
#include "isolate_frame.h"

#include "context.h"
#include "params.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
put(struct frame *f, const void *p, size_t n)
{
	if (f->oom)
		return;
	if (f->len + n > f->cap) {
		size_t cap = MAX(f->cap * 2, MAX(f->len + n, (size_t)256));
		char *d = realloc(f->data, cap);

		if (!d) {
			f->oom = true;
			return;
		}
		f->data = d;
		f->cap = cap;
	}
	memcpy(f->data + f->len, p, n);
	f->len += n;
}

void
frame_begin(struct frame *f, char kind)
{
	const char head[FRAME_HEADER] = { FRAME_MAGIC };

	f->len = 0;
	f->oom = false;
	put(f, head, sizeof(head));
	put(f, &kind, 1);
}

void
frame_put_u32(struct frame *f, uint32_t v)
{
	put(f, &v, sizeof(v));
}

void
frame_put_u64(struct frame *f, uint64_t v)
{
	put(f, &v, sizeof(v));
}

void
frame_put_str(struct frame *f, const char *s)
{
	size_t n = s ? strlen(s) + 1 : 0;

	if (n >= FRAME_NULL_STR) {
		f->oom = true;
		return;
	}
	frame_put_u32(f, s ? (uint32_t)n : FRAME_NULL_STR);
	if (s)
		put(f, s, n);
}

void
frame_put_params(struct frame *f, const struct gini_params *p)
{
	frame_put_u32(f, p ? (uint32_t)p->n : 0);
	for (size_t i = 0; p && i < p->n; i++) {
		const struct param *v = &p->v[i];
		uint8_t type = (uint8_t)v->type;

		frame_put_str(f, v->name);
		put(f, &type, 1);
		switch (v->type) {
		case PARAM_STRING:
			frame_put_str(f, v->s);
			break;
		case PARAM_INT:
		case PARAM_BOOL:
			frame_put_u64(f, (uint64_t)v->i);
			break;
		case PARAM_FLOAT:
			put(f, &v->f, sizeof(v->f));
			break;
		case PARAM_STRV:
			frame_put_u32(f, (uint32_t)v->n);
			for (size_t k = 0; k < v->n; k++)
				frame_put_str(f, v->strv[k]);
			break;
		}
	}
}

struct ctx_count {
	struct frame *f;
	uint32_t n;
};

static int
put_var(const char *k, const char *v, void *userdata)
{
	struct ctx_count *c = userdata;

	frame_put_str(c->f, k);
	frame_put_str(c->f, v);
	c->n++;
	return 0;
}

void
frame_put_ctx(struct frame *f, struct run_ctx *ctx)
{
	struct ctx_count c = { f, 0 };
	size_t at = frame_mark(f);

	if (ctx)
		(void)ctx_foreach(ctx, put_var, &c);
	frame_patch_u32(f, at, c.n);
}

size_t
frame_mark(struct frame *f)
{
	size_t at = f->len;

	frame_put_u32(f, 0);
	return at;
}

void
frame_patch_u32(struct frame *f, size_t at, uint32_t v)
{
	if (!f->oom && at + sizeof(v) <= f->len)
		memcpy(f->data + at, &v, sizeof(v));
}

int
frame_end(struct frame *f)
{
	uint32_t n;

	if (f->oom || f->len - FRAME_HEADER >= UINT32_MAX)
		return -ENOMEM;
	n = (uint32_t)(f->len - FRAME_HEADER);
	memcpy(f->data + 1, &n, sizeof(n));
	return 0;
}

void
frame_done(struct frame *f)
{
	free(f->data);
	*f = (struct frame){ 0 };
}

static bool
get(struct frame_reader *r, void *p, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		memset(p, 0, n);
		return false;
	}
	memcpy(p, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

uint8_t
frame_get_u8(struct frame_reader *r)
{
	uint8_t v;

	(void)get(r, &v, sizeof(v));
	return v;
}

uint32_t
frame_get_u32(struct frame_reader *r)
{
	uint32_t v;

	(void)get(r, &v, sizeof(v));
	return v;
}

uint64_t
frame_get_u64(struct frame_reader *r)
{
	uint64_t v;

	(void)get(r, &v, sizeof(v));
	return v;
}

const char *
frame_get_str(struct frame_reader *r)
{
	uint32_t n = frame_get_u32(r);
	const char *s = r->p;

	if (r->bad || n == FRAME_NULL_STR)
		return NULL;
	/* At least the NUL, which must be there. */
	if (n == 0 || n > r->left || s[n - 1] != 0) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return s;
}

uint32_t
frame_get_count(struct frame_reader *r, size_t min_bytes)
{
	uint32_t n = frame_get_u32(r);

	if (!r->bad && (n > FRAME_STRINGS_MAX || (size_t)n * min_bytes > r->left))
		r->bad = true;
	return r->bad ? 0 : n;
}

struct gini_params *
frame_get_params(struct frame_reader *r)
{
	/* A name, a type, a value: 4 + 1 + 4 bytes at the least. */
	uint32_t n = frame_get_count(r, 9);
	struct gini_params *p = r->bad ? NULL : params_new_empty();

	for (uint32_t i = 0; p && i < n && !r->bad; i++) {
		const char *name = frame_get_str(r), *s;
		uint8_t type = frame_get_u8(r);
		struct param *v;
		uint32_t k;

		if (!name || !(v = params_append(p, name))) {
			r->bad = true;
			break;
		}
		v->type = (enum param_type)type;
		switch (type) {
		case PARAM_STRING:
			if (!(s = frame_get_str(r)) || !(v->s = strdup(s)))
				r->bad = true;
			break;
		case PARAM_INT:
		case PARAM_BOOL:
			v->i = (int64_t)frame_get_u64(r);
			break;
		case PARAM_FLOAT:
			(void)get(r, &v->f, sizeof(v->f));
			break;
		case PARAM_STRV:
			k = frame_get_count(r, 5);
			v->strv = r->bad ? NULL : calloc((size_t)k + 1, sizeof(char *));
			if (!v->strv)
				r->bad = true;
			for (; !r->bad && v->n < k; v->n++)
				if (!(s = frame_get_str(r)) || !(v->strv[v->n] = strdup(s)))
					r->bad = true;
			break;
		default:
			r->bad = true;
		}
	}
	if (r->bad)
		p = params_free(p);
	return p;
}

void
frame_get_ctx(struct frame_reader *r, struct run_ctx *a, struct run_ctx *b)
{
	/* Two strings: 2 x (4 + 1) bytes at the least. */
	uint32_t n = frame_get_count(r, 10);

	for (uint32_t i = 0; i < n && !r->bad; i++) {
		const char *k = frame_get_str(r), *v = frame_get_str(r);

		if (k && v) {
			(void)ctx_set(a, k, v);
			if (b)
				(void)ctx_set(b, k, v);
		}
	}
}

void
frame_apply_changes(const char *p, size_t n, struct run_ctx *ctx)
{
	struct frame_reader r = { p, n, false };
	uint32_t k;

	frame_get_ctx(&r, ctx, NULL);
	k = frame_get_count(&r, 5);
	for (uint32_t i = 0; i < k && !r.bad; i++) {
		const char *name = frame_get_str(&r);

		if (name)
			(void)ctx_set(ctx, name, NULL);
	}
}

ssize_t
frame_size(const char *p, size_t n, size_t max)
{
	uint32_t len;

	if (n < FRAME_HEADER)
		return 0;
	memcpy(&len, p + 1, sizeof(len));
	if (len > max)
		return -1;
	return n < FRAME_HEADER + (size_t)len ? 0 : (ssize_t)(FRAME_HEADER + len);
}
