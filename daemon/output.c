/* SPDX-License-Identifier: MIT */
/*
 * Step output capture (see output.h): a byte-bounded queue of time-stamped
 * lines per step that keeps the tail, and the flat record format in which
 * history.c stores it ("TS LEVEL TEXT\n", one line per record, so a reader
 * needs no schema for it and a truncated blob still parses up to the cut).
 */
#include "output.h"

#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
output_init(struct output *o, size_t max)
{
	*o = (struct output){ .max = max };
	pthread_mutex_init(&o->lock, NULL);
}

void
output_done(struct output *o)
{
	for (size_t i = o->head; i < o->n; i++)
		free(o->v[i]);
	free(o->v);
	o->v = NULL;
	o->head = o->n = o->cap = 0;
	pthread_mutex_destroy(&o->lock);
}

static void
drop_head_locked(struct output *o)
{
	o->bytes -= o->v[o->head]->len;
	free(o->v[o->head]);
	o->head++;
	o->truncated = true;
}

void
output_add(struct output *o, int level, const char *text)
{
	size_t len = strlen(text);
	struct output_line *l;
	bool cut = false;

	if (!o || o->max == 0)
		return;
	if (len > o->max) {
		cut = true;
		/* One line longer than the whole budget: keep its end. */
		text += len - o->max;
		len = o->max;
	}
	l = malloc(sizeof(*l) + len + 1);
	if (!l)
		return;
	l->ts_usec = (int64_t)now_usec(CLOCK_REALTIME);
	l->level = level;
	l->len = len;
	for (size_t i = 0; i < len; i++)
		l->text[i] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
	l->text[len] = 0;
	pthread_mutex_lock(&o->lock);
	if (cut)
		o->truncated = true;
	while (o->head < o->n && o->bytes + len > o->max)
		drop_head_locked(o);
	if (o->head > 0 && o->head >= o->n / 2) {
		memmove(o->v, o->v + o->head, (o->n - o->head) * sizeof(*o->v));
		o->n -= o->head;
		o->head = 0;
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct output_line **v = realloc(o->v, cap * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&o->lock);
			free(l);
			return;
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = l;
	o->bytes += len;
	o->total++;
	atomic_store_explicit(&o->any, true, memory_order_release);
	pthread_mutex_unlock(&o->lock);
}

char *
output_serialize(struct output *o, size_t *ret_len, uint64_t *ret_first_seq, bool *ret_truncated)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	*ret_len = 0;
	/* Most steps say nothing: no lock for them. */
	if (!atomic_load_explicit(&o->any, memory_order_acquire)) {
		*ret_first_seq = 0;
		*ret_truncated = false;
		return NULL;
	}
	pthread_mutex_lock(&o->lock);
	*ret_first_seq = o->total - (o->n - o->head);
	*ret_truncated = o->truncated;
	if (o->n > o->head && (f = open_memstream(&buf, &size))) {
		for (size_t i = o->head; i < o->n; i++)
			fprintf(f, "%lld %d %s\n", (long long)o->v[i]->ts_usec, o->v[i]->level,
			        o->v[i]->text);
		if (fclose(f) != 0) {
			free(buf);
			buf = NULL;
			size = 0;
		}
	}
	pthread_mutex_unlock(&o->lock);
	*ret_len = size;
	return buf;
}

uint64_t
output_foreach(struct output *o, uint64_t from,
               void (*fn)(uint64_t seq, int64_t ts_usec, int level, const char *text,
                          void *userdata),
               void *userdata, bool *ret_truncated)
{
	uint64_t seq, end;

	pthread_mutex_lock(&o->lock);
	seq = o->total - (o->n - o->head);
	end = o->total;
	for (size_t i = o->head; i < o->n; i++, seq++)
		if (seq >= from)
			fn(seq, o->v[i]->ts_usec, o->v[i]->level, o->v[i]->text, userdata);
	if (ret_truncated)
		*ret_truncated = o->truncated;
	pthread_mutex_unlock(&o->lock);
	return end;
}

void
output_parse(const char *buf, size_t len,
             void (*fn)(int64_t ts_usec, int level, const char *text, void *userdata),
             void *userdata)
{
	const char *p = buf, *end = buf + len;
	char *scratch = NULL;
	size_t scratch_size = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		long long ts;
		long level;
		char *e, *text;
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - p);
		if (n >= scratch_size) {
			char *s = realloc(scratch, n + 1);

			if (!s)
				break;
			scratch = s;
			scratch_size = n + 1;
		}
		memcpy(scratch, p, n);
		scratch[n] = 0;
		/* "TS LEVEL TEXT": strtoll() and strtol(), which say where each
		 * number ends and whether it fits, as sscanf() does not. */
		errno = 0;
		ts = strtoll(scratch, &e, 10);
		if (e == scratch || *e != ' ' || errno)
			break;
		text = e + 1;
		level = strtol(text, &e, 10);
		if (e == text || *e != ' ' || errno || level < INT_MIN || level > INT_MAX)
			break;
		fn((int64_t)ts, (int)level, e + 1, userdata);
		p = nl + 1;
	}
	free(scratch);
}
