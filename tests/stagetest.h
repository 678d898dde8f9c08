/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A stand-alone host for driving one stage plugin from a test, built on
 * <gini/stage.h> alone: it shares no code with the daemon, which is the
 * point. It shows that a plugin needs nothing but the public header and a
 * struct gini_host, and it lets the bundled stages be tested without a
 * config, a registry or an executor.
 *
 * A struct stagetest holds one loaded plugin, the params of one step, at
 * most one instance created from them, a run context, the log lines and the
 * message of the last callback. Callbacks that the daemon would call on a
 * worker thread (run, check) and describe are called on a fresh thread with
 * every signal blocked, as in the daemon; create and destroy on the test's
 * thread. Setup failures (missing .so, bad descriptor) fail the test at
 * once; the plugin's own results are returned for the test to assert.
 */

#include <gini/stage.h>

#include <stddef.h>
#include <stdint.h>

struct stagetest;

/* dlopen()s path (RTLD_NOW | RTLD_LOCAL) and calls the plugin's load hook. */
struct stagetest *stagetest_open(const char *so_path);
/* Destroys the instance, calls the unload hook, dlclose()s. Accepts NULL. */
void stagetest_close(struct stagetest *t);
const struct gini_stage_descriptor *stagetest_descriptor(struct stagetest *t);

/*
 * Params of the step, set before stagetest_create(). Setting a name again
 * replaces it. A duration is a string ("250ms"), as in a config file, and an
 * integer param also reads as a duration in seconds.
 */
void stagetest_param_string(struct stagetest *t, const char *name, const char *value);
void stagetest_param_int(struct stagetest *t, const char *name, int64_t value);
void stagetest_param_bool(struct stagetest *t, const char *name, int value);
void stagetest_param_double(struct stagetest *t, const char *name, double value);
void stagetest_param_duration(struct stagetest *t, const char *name, const char *text);
/* A list of strings: the values follow name, ending with NULL. */
void stagetest_param_strv(struct stagetest *t, const char *name, ...) __attribute__((sentinel));
/*
 * The first param (in the order they were set) that create() never asked
 * for, or NULL when it read them all.
 */
const char *stagetest_param_unread(struct stagetest *t);

/*
 * Calls create() with the params. Returns its result; on success the
 * instance is kept for run/describe/check, replacing (destroying) any
 * earlier one.
 */
int stagetest_create(struct stagetest *t);
/* Calls destroy() on the instance, if there is one. */
void stagetest_destroy(struct stagetest *t);

/* The run context, as the steps before this one would have left it. */
void stagetest_ctx_set(struct stagetest *t, const char *key, const char *value);
/* Borrowed; valid until the next call that changes the context. */
const char *stagetest_ctx_get(struct stagetest *t, const char *key);

/*
 * Cancellation of the next run(): after ms milliseconds, or as soon as path
 * exists (checked every few milliseconds; a hang guard cancels anyway after
 * a minute). The deadline() a plugin sees is set only by cancel_after.
 */
void stagetest_cancel_after(struct stagetest *t, unsigned ms);
void stagetest_cancel_when_exists(struct stagetest *t, const char *path);

/* Call run(), describe() or check() on the instance; return their result. */
int stagetest_run(struct stagetest *t);
int stagetest_describe(struct stagetest *t);
int stagetest_check(struct stagetest *t);

/*
 * The message of the last callback: what it set, or for a create() that
 * failed without one, the host's own message about a param of the wrong
 * type. NULL when there is none. Valid until the next callback.
 */
const char *stagetest_message(struct stagetest *t);

/*
 * Captured log lines. level -1 matches any level; needle NULL matches any
 * line. find returns the first match (valid until the log is cleared).
 */
size_t stagetest_log_count(struct stagetest *t, int level, const char *needle);
const char *stagetest_log_find(struct stagetest *t, int level, const char *needle);
void stagetest_log_clear(struct stagetest *t);
