/* SPDX-License-Identifier: MIT */
/*
 * How the run history keeps a run's steps and their output in its two
 * blobs (runs.steps and output.data), both ways: the encoder that whoever
 * records a run feeds one step at a time (the loop, as the run ends, so no
 * copy of the steps is ever made), and the decoders the reader uses.
 *
 * Steps, version 2 (schema 2 and later): "=2 N\n"; N lines of names,
 *   ID [\t STAGE] \n
 * (STAGE left out: the previous step's; "-": none), the same for every run
 * of a pipeline in one generation, so the encoder copies them from a cache
 * (struct history_names); then N lines of values,
 *   DURATION_US [\t RESULT [\t ATTEMPTS [\t MSGLEN [\t FIRST_SEQ
 *   [\t TRUNCATED]]]]] \n
 * each followed by MSGLEN bytes of message. A value left empty, or left out
 * at the end of the line, is its default: RESULT "success", ATTEMPTS 1, the
 * others 0. A step that succeeded at once and said nothing costs "s12\n"
 * and "3\n".
 * Steps, version 1 (schema 1 wrote only these; still read): per step
 *   ID \t STAGE \t RESULT \t ATTEMPTS \t DURATION_US \t FIRST_SEQ \t TRUNCATED
 *   \t MSGLEN \n and MSGLEN bytes of message.
 * Ids and stage ids are identifiers (config.c), never holding a tab or a
 * newline, and never starting with '=' or '-'.
 * Output: per step that has some, "#INDEX LEN\n" and LEN bytes of
 * output_serialize() records.
 */
#include "history_internal.h"

#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define STEPS_V2_MAGIC "=2 "

static bool
buf_grow(struct history_buf *b, size_t more)
{
	size_t cap;
	char *p;

	cap = b->cap ? b->cap : 256;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			return false;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return false;
	b->data = p;
	b->cap = cap;
	return true;
}

/* Room for more bytes in b: inline, as it is asked for every step. */
static inline bool
buf_reserve(struct history_buf *b, size_t more)
{
	return (b->data && b->cap - b->len >= more) || buf_grow(b, more);
}

/* Appends the decimal digits of v at q; returns the end. */
static char *
put_u64(char *q, unsigned long long v)
{
	char tmp[24];
	size_t n = 0;

	/* Most durations of short steps, and most counts. */
	if (v < 10) {
		*q++ = (char)('0' + v);
		return q;
	}

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*q++ = tmp[--n];
	return q;
}

/* a and b are equal; inline, for the short strings of one step. */
static inline bool
short_eq(const char *a, const char *b)
{
	if (a == b)
		return true;
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* The names section of n steps, name(userdata, k, ...) giving step k's. */
static bool
encode_names(struct history_buf *b, size_t n, history_step_name_fn name, void *userdata)
{
	const char *prev = "";

	for (size_t k = 0; k < n; k++) {
		const char *id, *stage;
		size_t idl, stl;

		name(userdata, k, &id, &stage);
		stage = stage ? stage : "";
		idl = strlen(id);
		stl = short_eq(stage, prev) ? 0 : strlen(stage);
		if (!buf_reserve(b, idl + stl + 3))
			return false;
		memcpy(b->data + b->len, id, idl);
		b->len += idl;
		if (!short_eq(stage, prev)) {
			b->data[b->len++] = '\t';
			if (stl) {
				memcpy(b->data + b->len, stage, stl);
				b->len += stl;
			} else {
				b->data[b->len++] = '-';
			}
		}
		b->data[b->len++] = '\n';
		prev = stage;
	}
	return true;
}

/* The cache of names sections (struct history_names): h->names_lock. */
static const struct history_names *
names_find(struct history *h, const void *key, uint64_t generation, size_t n)
{
	for (size_t i = 0; i < HISTORY_NAMES_CACHED; i++) {
		const struct history_names *c = &h->names[i];

		if (c->data && c->key == key && c->generation == generation && c->n == n)
			return c;
	}
	return NULL;
}

static void
names_keep(struct history *h, const void *key, uint64_t generation, size_t n, const char *data,
           size_t len)
{
	struct history_names *c = &h->names[h->names_next];
	char *copy = malloc(len);

	if (!copy)
		return;
	memcpy(copy, data, len);
	free(c->data);
	*c = (struct history_names){
		.key = key, .generation = generation, .n = n, .data = copy, .len = len
	};
	h->names_next = (h->names_next + 1) % HISTORY_NAMES_CACHED;
}

void
history_names_done(struct history *h)
{
	for (size_t i = 0; i < HISTORY_NAMES_CACHED; i++) {
		free(h->names[i].data);
		h->names[i] = (struct history_names){ 0 };
	}
	for (size_t i = 0; i < HISTORY_SPARES; i++) {
		free(h->spares[i].data);
		h->spares[i] = (struct history_spare){ 0 };
	}
}

void
history_run_recycle(struct history *h, struct history_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_steps; i++) {
		free(r->steps[i].id);
		free(r->steps[i].stage);
		free(r->steps[i].message);
		free(r->steps[i].output);
	}
	if (r->steps_data && r->steps_data_cap && r->steps_data_cap <= HISTORY_SPARE_MAX_CAP) {
		pthread_mutex_lock(&h->names_lock);
		for (size_t i = 0; i < HISTORY_SPARES; i++)
			if (!h->spares[i].data) {
				h->spares[i] = (struct history_spare){ .data = r->steps_data,
					                               .cap = r->steps_data_cap };
				r->steps_data = NULL;
				break;
			}
		pthread_mutex_unlock(&h->names_lock);
	}
	r->n_steps = 0;
	history_run_free(r);
}

void
history_encoder_init(struct history_encoder *e, struct history *h, const void *key,
                     uint64_t generation, size_t n_steps, history_step_name_fn name, void *userdata)
{
	char head[32], *q;
	size_t start;
	bool ok;

	*e = (struct history_encoder){ 0 };
	q = stpcpy(head, STEPS_V2_MAGIC);
	q = put_u64(q, n_steps);
	*q++ = '\n';
	/* The buffer of a run already written, if one is large enough. */
	if (h) {
		size_t want = (size_t)(q - head) + n_steps * 16;

		pthread_mutex_lock(&h->names_lock);
		for (size_t i = 0; i < HISTORY_SPARES; i++)
			if (h->spares[i].data && h->spares[i].cap >= want) {
				e->steps = (struct history_buf){ .data = h->spares[i].data,
					                         .cap = h->spares[i].cap };
				h->spares[i] = (struct history_spare){ 0 };
				break;
			}
		pthread_mutex_unlock(&h->names_lock);
	}
	/* A step that said nothing takes its id and a few bytes. */
	if (!buf_reserve(&e->steps, (size_t)(q - head) + n_steps * 16)) {
		e->nomem = true;
		return;
	}
	memcpy(e->steps.data, head, (size_t)(q - head));
	e->steps.len = start = (size_t)(q - head);
	if (!h || !key) {
		e->nomem = !encode_names(&e->steps, n_steps, name, userdata);
		return;
	}
	pthread_mutex_lock(&h->names_lock);
	{
		const struct history_names *c = names_find(h, key, generation, n_steps);

		if (c) {
			ok = buf_reserve(&e->steps, c->len);
			if (ok) {
				memcpy(e->steps.data + start, c->data, c->len);
				e->steps.len += c->len;
			}
		} else {
			ok = encode_names(&e->steps, n_steps, name, userdata);
			if (ok)
				names_keep(h, key, generation, n_steps, e->steps.data + start,
				           e->steps.len - start);
		}
	}
	pthread_mutex_unlock(&h->names_lock);
	e->nomem = !ok;
}

void
history_encoder_add_ok(struct history_encoder *e, uint64_t duration_usec)
{
	char *q;

	if (e->nomem || !buf_reserve(&e->steps, 22)) {
		e->nomem = true;
		return;
	}
	q = put_u64(e->steps.data + e->steps.len, duration_usec);
	*q++ = '\n';
	e->steps.len = (size_t)(q - e->steps.data);
	e->n++;
}

/* This runs on the loop for every step of every run: no call it can avoid. */
void
history_encoder_add(struct history_encoder *e, const struct history_step *s)
{
	bool success = !s->result || short_eq(s->result, "success");
	size_t ml = s->message ? strlen(s->message) : 0;
	size_t rl = success ? 0 : strlen(s->result);
	/* How many optional values (after the duration) the line needs. */
	unsigned nf = s->output_truncated   ? 5
	              : s->output_first_seq ? 4
	              : ml                  ? 3
	              : s->attempts != 1    ? 2
	              : !success            ? 1
	                                    : 0;
	char *q;

	if (e->nomem || !buf_reserve(&e->steps, rl + ml + 4 * 21 + 8)) {
		e->nomem = true;
		return;
	}
	q = e->steps.data + e->steps.len;
	q = put_u64(q, s->duration_usec);
	if (nf >= 1) {
		*q++ = '\t';
		if (!success) {
			memcpy(q, s->result, rl);
			q += rl;
		}
	}
	if (nf >= 2) {
		*q++ = '\t';
		if (s->attempts != 1)
			q = put_u64(q, s->attempts);
	}
	if (nf >= 3) {
		*q++ = '\t';
		if (ml)
			q = put_u64(q, ml);
	}
	if (nf >= 4) {
		*q++ = '\t';
		if (s->output_first_seq)
			q = put_u64(q, s->output_first_seq);
	}
	if (nf >= 5) {
		*q++ = '\t';
		*q++ = '1';
	}
	*q++ = '\n';
	if (ml) {
		memcpy(q, s->message, ml);
		q += ml;
	}
	e->steps.len = (size_t)(q - e->steps.data);
	if (s->output_len) {
		char head[48];
		size_t hl;

		q = head;
		*q++ = '#';
		q = put_u64(q, e->n);
		*q++ = ' ';
		q = put_u64(q, s->output_len);
		*q++ = '\n';
		hl = (size_t)(q - head);
		if (!buf_reserve(&e->output, hl + s->output_len)) {
			e->nomem = true;
			return;
		}
		memcpy(e->output.data + e->output.len, head, hl);
		memcpy(e->output.data + e->output.len + hl, s->output, s->output_len);
		e->output.len += hl + s->output_len;
	}
	e->n++;
}

int
history_encoder_finish(struct history_encoder *e, struct history_run *r)
{
	if (e->nomem) {
		history_encoder_done(e);
		return -ENOMEM;
	}
	free(r->steps_data);
	free(r->output_data);
	r->steps_data = e->steps.data;
	r->steps_data_len = e->steps.len;
	r->steps_data_cap = e->steps.cap;
	r->output_data = e->output.data;
	r->output_data_len = e->output.len;
	*e = (struct history_encoder){ 0 };
	return 0;
}

void
history_encoder_done(struct history_encoder *e)
{
	free(e->steps.data);
	free(e->output.data);
	*e = (struct history_encoder){ 0 };
}

static void
run_step_name(void *userdata, size_t k, const char **ret_id, const char **ret_stage)
{
	const struct history_run *r = userdata;

	*ret_id = r->steps[k].id;
	*ret_stage = r->steps[k].stage;
}

int
history_encode_run(struct history_run *r)
{
	struct history_encoder e;

	history_encoder_init(&e, NULL, NULL, 0, r->n_steps, run_step_name, r);
	for (size_t i = 0; i < r->n_steps; i++)
		history_encoder_add(&e, &r->steps[i]);
	return history_encoder_finish(&e, r);
}

const char *
history_static_result(const char *s)
{
	static const char *const known[] = { "running",   "success",     "failed",
		                             "cancelled", "interrupted", "pending",
		                             "skipped",   "timed-out",   "abandoned" };

	for (size_t i = 0; s && i < ARRAY_SIZE(known); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	/* A run cut short by its pipeline's timeout (executor_run.h). */
	if (s && strcmp(s, "timeout") == 0)
		return "timeout";
	return "unknown";
}

/*
 * The decimal number at s (digits only, before end), into *ret. Returns the
 * first character after it, or NULL when there is none or it overflows.
 * Not sscanf(): that accepts blanks and signs, and cannot report overflow.
 */
static const char *
parse_decimal(const char *s, const char *end, unsigned long long *ret)
{
	unsigned long long v = 0;
	const char *start = s;

	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (ULLONG_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (s == start)
		return NULL;
	*ret = v;
	return s;
}

/* A whole NUL-terminated field as a decimal number; empty: dflt. */
static bool
field_decimal(const char *f, unsigned long long dflt, bool empty_ok, unsigned long long *ret)
{
	const char *end = f + strlen(f);

	if (!*f && empty_ok) {
		*ret = dflt;
		return true;
	}
	return parse_decimal(f, end, ret) == end;
}

static struct history_step *
new_step(struct history_run *r, size_t *cap)
{
	if (r->n_steps == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct history_step *v = realloc(r->steps, c * sizeof(*v));

		if (!v)
			return NULL;
		r->steps = v;
		*cap = c;
	}
	return &r->steps[r->n_steps++];
}

/* Splits a line (NUL-terminated, in place) at tabs into at most max fields. */
static size_t
split(char *line, char **f, size_t max, bool *ret_more)
{
	char *q = line;
	size_t k;

	for (k = 0; k < max && q; k++)
		f[k] = strsep(&q, "\t");
	*ret_more = q != NULL;
	return k;
}

/* The line at *p (before end) into line[size]; moves *p past it. */
static bool
take_line(const char **p, const char *end, char *line, size_t size)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl || (size_t)(nl - *p) >= size)
		return false;
	memcpy(line, *p, (size_t)(nl - *p));
	line[nl - *p] = 0;
	*p = nl + 1;
	return true;
}

static int
decode_v1(struct history_run *r, const char *p, const char *end)
{
	size_t cap = 0;

	while (p < end) {
		char line[1024], *f[8];
		unsigned long long attempts, dur, first, trunc, ml;
		struct history_step *s;
		bool more;

		if (!take_line(&p, end, line, sizeof(line)) || split(line, f, 8, &more) < 8 ||
		    more || !*f[0] || !field_decimal(f[3], 0, false, &attempts) ||
		    !field_decimal(f[4], 0, false, &dur) ||
		    !field_decimal(f[5], 0, false, &first) ||
		    !field_decimal(f[6], 0, false, &trunc) || !field_decimal(f[7], 0, false, &ml) ||
		    ml > (size_t)(end - p))
			break;
		s = new_step(r, &cap);
		if (!s)
			return -ENOMEM;
		*s = (struct history_step){ .id = strdup(f[0]),
			                    .stage = strdup(f[1]),
			                    .result = history_static_result(f[2]),
			                    .attempts = (unsigned)attempts,
			                    .duration_usec = dur,
			                    .output_first_seq = first,
			                    .output_truncated = trunc != 0,
			                    .message = ml ? strndup(p, ml) : NULL };
		if (!s->id || !s->stage)
			return -ENOMEM;
		p += ml;
	}
	return 0;
}

static int
decode_v2(struct history_run *r, const char *p, const char *end)
{
	unsigned long long n;
	const char *q, *prev = "";
	size_t cap = 0, named;
	char line[1024], *f[6];
	bool more;

	/* "=2 N\n": every step takes at least two lines of two bytes. */
	if (!take_line(&p, end, line, sizeof(line)) ||
	    !(q = parse_decimal(line, line + strlen(line), &n)) || *q || n > (size_t)(end - p) / 4)
		return 0;
	while (r->n_steps < n) {
		struct history_step *s;
		size_t k;

		if (!take_line(&p, end, line, sizeof(line)) || (k = split(line, f, 2, &more)) < 1 ||
		    more || !*f[0])
			break;
		s = new_step(r, &cap);
		if (!s)
			return -ENOMEM;
		*s = (struct history_step){ .id = strdup(f[0]),
			                    .stage = strdup(k < 2 || !*f[1]          ? prev
			                                    : strcmp(f[1], "-") == 0 ? ""
			                                                             : f[1]),
			                    .result = "success",
			                    .attempts = 1 };
		if (!s->id || !s->stage)
			return -ENOMEM;
		prev = s->stage;
	}
	named = r->n_steps;
	if (named < n) {
		/* The values would not line up with the names. */
		history_run_done(r);
		r->steps = NULL;
		r->n_steps = 0;
		return 0;
	}
	for (size_t i = 0; i < named; i++) {
		struct history_step *s = &r->steps[i];
		unsigned long long dur, attempts, ml, first, trunc;
		size_t k;

		/* DUR [RESULT [ATTEMPTS [MSGLEN [FIRST [TRUNC]]]]] */
		if (!take_line(&p, end, line, sizeof(line)) || (k = split(line, f, 6, &more)) < 1 ||
		    more || !field_decimal(f[0], 0, false, &dur) ||
		    !field_decimal(k > 2 ? f[2] : "", 1, true, &attempts) ||
		    !field_decimal(k > 3 ? f[3] : "", 0, true, &ml) ||
		    !field_decimal(k > 4 ? f[4] : "", 0, true, &first) ||
		    !field_decimal(k > 5 ? f[5] : "", 0, true, &trunc) || ml > (size_t)(end - p)) {
			/* The steps without values are not shown half-read. */
			for (size_t j = i; j < named; j++) {
				free(r->steps[j].id);
				free(r->steps[j].stage);
			}
			r->n_steps = i;
			break;
		}
		s->result = history_static_result(k > 1 && *f[1] ? f[1] : "success");
		s->attempts = (unsigned)attempts;
		s->duration_usec = dur;
		s->output_first_seq = first;
		s->output_truncated = trunc != 0;
		if (ml) {
			s->message = strndup(p, ml);
			if (!s->message)
				return -ENOMEM;
		}
		p += ml;
	}
	return 0;
}

int
history_decode_steps(struct history_run *r, const char *p, size_t len)
{
	if (len >= sizeof(STEPS_V2_MAGIC) - 1 &&
	    memcmp(p, STEPS_V2_MAGIC, sizeof(STEPS_V2_MAGIC) - 1) == 0)
		return decode_v2(r, p + sizeof(STEPS_V2_MAGIC) - 1, p + len);
	return decode_v1(r, p, p + len);
}

void
history_decode_output(struct history_run *r, const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		unsigned long long idx, n;
		const char *q;

		/* "#INDEX LEN\n" */
		if (!nl || *p != '#' || !(q = parse_decimal(p + 1, nl, &idx)) || *q != ' ' ||
		    parse_decimal(q + 1, nl, &n) != nl)
			break;
		p = nl + 1;
		if (n > (size_t)(end - p))
			break;
		if (idx < r->n_steps && !r->steps[idx].output) {
			r->steps[idx].output = malloc(n + 1);
			if (r->steps[idx].output) {
				memcpy(r->steps[idx].output, p, n);
				r->steps[idx].output[n] = 0;
				r->steps[idx].output_len = n;
			}
		}
		p += n;
	}
}
