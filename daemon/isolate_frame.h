/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct gini_params;
struct run_ctx;

/*
 * The binary frames of the isolation protocol (isolate.c documents where
 * they go): FRAME_MAGIC, the payload's length (uint32_t, host order: both
 * ends are on one host), the payload. A payload is a kind byte, then
 * fields in an order fixed by the kind: integers in host order, strings as
 * a uint32_t length (0xffffffff: NULL) and that many bytes, the last of
 * them a NUL. No JSON line starts with FRAME_MAGIC.
 */
#define FRAME_MAGIC       0x1e
#define FRAME_HEADER      5
#define FRAME_RUN         'R' /* daemon -> pooled worker: one more run */
#define FRAME_DONE        'D' /* worker -> daemon: a run's result */
#define FRAME_NULL_STR    UINT32_MAX
#define FRAME_STRINGS_MAX 100000u /* entries in one list: params, context */

/* A frame being written; owned by its writer. */
struct frame {
	char *data;
	size_t len, cap;
	bool oom;
};

void frame_begin(struct frame *f, char kind);
void frame_put_u32(struct frame *f, uint32_t v);
void frame_put_u64(struct frame *f, uint64_t v);
void frame_put_str(struct frame *f, const char *s);
/* Every param of p, with its type and value (NULL: none). */
void frame_put_params(struct frame *f, const struct gini_params *p);
/* The count of ctx's variables, then each name and value (ctx NULL: none). */
void frame_put_ctx(struct frame *f, struct run_ctx *ctx);
/* Where a count goes that is known only later, and putting it there. */
size_t frame_mark(struct frame *f);
void frame_patch_u32(struct frame *f, size_t at, uint32_t v);
/* Sets the payload's length: the frame is data[0..len). 0, or -ENOMEM. */
int frame_end(struct frame *f);
void frame_done(struct frame *f);

/* Reading a payload; any field past its end or malformed sets bad. */
struct frame_reader {
	const char *p;
	size_t left;
	bool bad;
};

uint8_t frame_get_u8(struct frame_reader *r);
uint32_t frame_get_u32(struct frame_reader *r);
uint64_t frame_get_u64(struct frame_reader *r);
/* Borrowed from the payload; NULL for a NULL string, or when bad. */
const char *frame_get_str(struct frame_reader *r);
/* A count of entries of at least min_bytes each, checked against what is left. */
uint32_t frame_get_count(struct frame_reader *r, size_t min_bytes);
/* Params as frame_put_params() wrote them (owned), or NULL (then bad). */
struct gini_params *frame_get_params(struct frame_reader *r);

/* What frame_put_ctx() wrote, set in a and (if not NULL) in b. */
void frame_get_ctx(struct frame_reader *r, struct run_ctx *a, struct run_ctx *b);
/*
 * The changes of a run's context at r (what FRAME_DONE ends with: the
 * variables set, as frame_put_ctx() writes them, then the count of those
 * unset and their names), applied to ctx; what is malformed is left out.
 */
void frame_apply_changes(const char *p, size_t n, struct run_ctx *ctx);
/*
 * The size of the frame at p (n bytes there, p[0] == FRAME_MAGIC): 0 while
 * incomplete, -1 when its payload would pass max bytes.
 */
ssize_t frame_size(const char *p, size_t n, size_t max);
