/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "hashmap.h"

/* Limits on what one run's context may hold (the README documents them). */
#define CTX_KEY_MAX   64
#define CTX_MAX_KEYS  1024
#define CTX_MAX_BYTES (16u << 20)

struct ctx_entry;

/*
 * The context of one run: string values shared by its steps. Thread-safe.
 * A value handed out by ctx_get() stays valid until the context is freed,
 * even if a step replaces it meanwhile: replaced entries are kept on a list
 * rather than freed, and count against the byte limit. That is what lets the
 * plugin ABI hand out borrowed strings without copies.
 */
struct run_ctx {
	pthread_mutex_t lock;
	struct hashmap map; /* key -> live struct ctx_entry */
	struct ctx_entry *all;
	size_t bytes;
};

struct run_ctx *ctx_new(void);
struct run_ctx *ctx_free(struct run_ctx *c);
bool ctx_key_valid(const char *key);
const char *ctx_get(struct run_ctx *c, const char *key);
/* value NULL removes the key. -EINVAL bad key, -E2BIG over a limit. */
int ctx_set(struct run_ctx *c, const char *key, const char *value);
/* Calls fn for each key in key order; stops at and returns a non-zero value. */
int ctx_foreach(struct run_ctx *c, int (*fn)(const char *key, const char *value, void *userdata),
                void *userdata);
size_t ctx_count(struct run_ctx *c);
