/* SPDX-License-Identifier: MIT */
/*
 * <gini/stage.h> - the gini stage plugin ABI, version 1.1.
 *
 * This header is the whole contract between ginid and a stage plugin. A
 * plugin is a shared object that exports exactly one symbol,
 * stage_descriptor(), which returns a pointer to a constant descriptor. The
 * descriptor names the stage type and carries the callbacks the host calls.
 * Everything the plugin needs from the host (logging, parameters, the run
 * context, cancellation) arrives as a const function table, struct gini_host,
 * passed to every callback: a plugin never links against the daemon, so a
 * test harness can drive it by providing its own table.
 *
 * A minimal plugin:
 *
 *	#include <gini/stage.h>
 *
 *	static int
 *	hello_run(const struct gini_host *host, struct gini_handle *h, void *instance)
 *	{
 *		(void)instance;
 *		host->log(h, GINI_LOG_INFO, "hello from %s", "my plugin");
 *		return GINI_SUCCESS;
 *	}
 *
 *	static const struct gini_stage_descriptor hello = {
 *		GINI_DESCRIPTOR_HEADER,
 *		.id = "hello",
 *		.version = "1.0.0",
 *		.summary = "Say hello",
 *		.category = "notify",
 *		.run = hello_run,
 *	};
 *
 *	GINI_STAGE(hello)
 *
 * Build it with
 *	cc $(pkg-config --cflags gini) -shared -fPIC -fvisibility=hidden -o hello.so hello.c
 *
 * Versioning rules. The descriptor and the host table both open with the ABI
 * major and minor they were built for and their own size. This header is
 * append-only: a field is never moved, resized, removed or given another
 * meaning, and a callback's signature never changes; a later minor adds
 * fields at the end of a struct, and says so with "@since 1.N" (every field
 * carries its tag, and tests/check_abi.c pins every offset and size of ABI
 * 1.0 and 1.1). A breaking change would bump the major.
 *
 * The host copies the plugin's descriptor, at load, into a zero-filled
 * descriptor of its own size, taking min(struct_size, its size) bytes, and
 * never reads the plugin's object again: a field appended after the
 * plugin's minor reads as absent (NULL or 0), so a plugin built against an
 * older minor keeps loading and behaves as it always did. A host refuses a
 * plugin with a different major, or with a newer minor than its own, with a
 * message naming both versions.
 *
 * Symmetrically, a plugin that calls a host function added after minor 0
 * must first check that the host it runs on has it:
 *
 *	if (GINI_HOST_HAS(host, param_double))
 *		r = host->param_double(params, "ratio", &ratio);
 *	else
 *		(use a default, or refuse with a message naming host->abi_minor)
 *
 * GINI_HOST_HAS() compares the host table's struct_size with the end of the
 * field, so it is right on every host, older or newer.
 *
 * Conventions used below:
 *  - "borrowed" pointers stay owned by whoever passed them, and are valid for
 *    the stated time only; "transferred" pointers become the receiver's to
 *    free.
 *  - Integer returns are 0 (or a count) on success and a negative errno
 *    value on failure, unless a callback says otherwise.
 *  - Each field says, with "@since", the ABI version that added it; each
 *    callback says which thread calls it, whether it may block and what it
 *    may run concurrently with. "Main thread" is the daemon's main thread,
 *    which runs its event loop: a plugin that blocks there for long holds
 *    up timers, signals and the control socket.
 *  - Plugins never call exit(), never change signal dispositions or the
 *    process's signal mask, and leave no thread running after their unload
 *    hook returns: that is what makes dlclose() safe.
 *  - Every callback runs with all signals blocked (the daemon reads the ones
 *    it handles on its main thread; on its worker threads the fault signals
 *    SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT stay unblocked so that a
 *    crash is reported with the step that caused it, after which the daemon
 *    dies of that signal), and SIGPIPE is ignored, so a write to a
 *    closed pipe fails with EPIPE. A child process a plugin starts inherits
 *    that mask unless the plugin resets it (posix_spawn's
 *    POSIX_SPAWN_SETSIGMASK and POSIX_SPAWN_SETSIGDEF).
 *  - Plugins are loaded with dlopen(RTLD_NOW | RTLD_LOCAL) and should be
 *    built with -fvisibility=hidden, so only stage_descriptor is exported.
 */
#ifndef GINI_STAGE_H
#define GINI_STAGE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. */
#define GINI_ABI_MAJOR 1
#define GINI_ABI_MINOR 1

#if defined(__GNUC__) || defined(__clang__)
#define GINI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define GINI_EXPORT            __attribute__((visibility("default")))
#else
#define GINI_PRINTF(fmt, args)
#define GINI_EXPORT
#endif

/*
 * Results of run() and check(). A failure or skip should come with a message
 * set through host->set_message(); the host records it with the step result.
 */
#define GINI_SUCCESS 0
#define GINI_FAILURE 1
#define GINI_SKIPPED 2

/* Log levels, equal to the syslog priorities journald understands. */
#define GINI_LOG_ERR     3
#define GINI_LOG_WARNING 4
#define GINI_LOG_NOTICE  5
#define GINI_LOG_INFO    6
#define GINI_LOG_DEBUG   7

/*
 * Descriptor flags.
 *
 * GINI_STAGE_DRY_RUN: describe() gives a faithful account of what run()
 * would do; without it a dry-run prints a generic line for the step.
 *
 * GINI_STAGE_CONCURRENT: run() may be called on one instance from several
 * threads at once (pipelines with overlap = "parallel"). Without it the host
 * serialises calls to run() per instance.
 */
#define GINI_STAGE_DRY_RUN    UINT32_C(0x1)
#define GINI_STAGE_CONCURRENT UINT32_C(0x2)

/*
 * Opaque host objects. A struct gini_handle identifies the call in progress
 * (plugin load, step creation, or one attempt of one step in one run); the
 * host uses it to tag log lines, find the run context and the cancellation
 * state, and store the message. It is borrowed and valid only until the
 * callback that received it returns. A struct gini_params is the parameter
 * group of one step.
 */
struct gini_handle;
struct gini_params;

/*
 * Services the host offers to plugins. The table is const, owned by the host,
 * and valid until the plugin's unload hook returns. All functions are
 * thread-safe and may be called from any callback that received a handle,
 * unless noted.
 */
struct gini_host {
	/*
	 * @since 1.0. Size of this table as the host built it, and the host's
	 * ABI; reserved is 0. A 1.0 host's table ends after sleep(): test
	 * GINI_HOST_HAS() before using a later field.
	 */
	uint32_t struct_size;
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t reserved;

	/*
	 * @since 1.0. Log a line at a GINI_LOG_* level. The host adds the
	 * stage, pipeline, step and run id, ends the line, and rate-limits
	 * floods. Any thread, from any callback; never blocks for long.
	 */
	void (*log)(struct gini_handle *h, int level, const char *fmt, ...) GINI_PRINTF(3, 4);
	void (*logv)(struct gini_handle *h, int level, const char *fmt, va_list ap)
	        GINI_PRINTF(3, 0);

	/*
	 * @since 1.0. Any callback, on its thread; does not block. Sets the
	 * message that goes with the result of the current callback:
	 * the reason of a failure or skip, the refusal of create() or load(),
	 * or the description produced by describe(). The host copies the
	 * text; a later call replaces an earlier one.
	 */
	void (*set_message)(struct gini_handle *h, const char *fmt, ...) GINI_PRINTF(2, 3);

	/*
	 * @since 1.0. From run() and describe(), on their thread; they never
	 * block for long.
	 * The run context: string values shared by the steps of one run. A
	 * value set by a step is seen by the steps that run after it. Keys
	 * match [A-Za-z0-9_.-]{1,64}. Only meaningful inside run() and
	 * describe(); elsewhere ctx_get() returns NULL and ctx_set() -EPERM.
	 *
	 * ctx_get() returns a borrowed string valid until the current callback
	 * returns, or NULL if the key is unset. ctx_set() copies both strings;
	 * value NULL removes the key. It returns -EINVAL for a bad key and
	 * -E2BIG past the host's limits (see the README).
	 *
	 * ctx_foreach() calls fn for every key, in key order, with borrowed
	 * strings valid during the call; it stops early and returns fn's value
	 * if fn returns non-zero. fn may call log() and ctx_get(), but not
	 * ctx_set(): the set of keys it walks is a snapshot.
	 */
	const char *(*ctx_get)(struct gini_handle *h, const char *key);
	int (*ctx_set)(struct gini_handle *h, const char *key, const char *value);
	int (*ctx_foreach)(struct gini_handle *h,
	                   int (*fn)(const char *key, const char *value, void *userdata),
	                   void *userdata);

	/*
	 * @since 1.0 (param_double @since 1.1, below). Typed access to a step's
	 * params, in create(): on the daemon's main thread, or in an isolated
	 * step's worker process. They do not block. Each returns 0 and fills
	 * *ret when the param is present and of the right type, -ENOENT
	 * (leaving *ret alone) when it is absent, and -EINVAL when it has
	 * another type; in that case the host remembers a message naming the
	 * param and both types, used if create() fails without setting one. Any param that
	 * create() never asks for is reported to the operator as unknown.
	 *
	 * Returned strings and arrays are borrowed from params and stay valid
	 * until destroy() of the instance created from them, so an instance
	 * may keep them without copying.
	 *
	 * Durations are systemd time spans, "500ms", "5min", "1h 30m" (a bare
	 * integer means seconds), and returned in microseconds. Booleans are
	 * returned as 0 or 1. A list of strings is returned as an array of
	 * *ret_n pointers followed by a NULL; a single string is accepted as a
	 * list of one.
	 */
	int (*param_string)(const struct gini_params *p, const char *name, const char **ret);
	int (*param_int)(const struct gini_params *p, const char *name, int64_t *ret);
	int (*param_bool)(const struct gini_params *p, const char *name, int32_t *ret);
	int (*param_duration)(const struct gini_params *p, const char *name, uint64_t *ret_usec);
	int (*param_strv)(const struct gini_params *p, const char *name, const char *const **ret,
	                  size_t *ret_n);

	/*
	 * @since 1.0. Cancellation, for run(), on its thread (sleep() blocks
	 * until the time passes or the step is cancelled; the others do not
	 * block). A step is cancelled when its timeout
	 * expires, when on_failure = "stop" ends its run, or when the daemon
	 * shuts down. run() should notice and return promptly; the host
	 * reports a step that keeps running past its deadline as overrunning,
	 * and 5 seconds after the deadline abandons it: the step ends
	 * "abandoned", its run goes on without it, and the thread is left to
	 * run(), whose instance, run context and plugin stay valid until it
	 * returns.
	 *
	 * cancelled() returns 1 once the step is cancelled, else 0. deadline()
	 * returns the step's deadline on CLOCK_MONOTONIC in microseconds, or 0
	 * if it has none. cancel_fd() returns a file descriptor, owned by the
	 * host and valid until run() returns, that becomes readable when the
	 * step is cancelled (for poll()); never read from or close it. It may
	 * fail with a negative errno value (no descriptors left, or a host that
	 * cannot offer one): then poll cancelled() instead. sleep() waits for
	 * usec microseconds and returns 0, or returns -ECANCELED as soon as the
	 * step is cancelled.
	 */
	int32_t (*cancelled)(struct gini_handle *h);
	uint64_t (*deadline)(struct gini_handle *h);
	int (*cancel_fd)(struct gini_handle *h);
	int (*sleep)(struct gini_handle *h, uint64_t usec);

	/*
	 * @since 1.1: test GINI_HOST_HAS(host, param_double) first; a 1.0
	 * host does not have it. Reads a number param, written with a
	 * fraction (0.75, 1e-3) or as an integer (3 reads as 3.0), like the
	 * others above: 0 and *ret, -ENOENT when absent, -EINVAL for another
	 * type. Same threads as the other param_* functions; does not block.
	 */
	int (*param_double)(const struct gini_params *p, const char *name, double *ret);
};

/* True when the host table h provides the function or field named field. */
#define GINI_HOST_HAS(h, field)                                                                    \
	((h)->struct_size >= offsetof(struct gini_host, field) + sizeof((h)->field))

/*
 * The descriptor of a stage type. It must stay valid and unchanged for as
 * long as the plugin is loaded; a static const object is the usual choice.
 */
struct gini_stage_descriptor {
	/*
	 * @since 1.0. Fill with GINI_DESCRIPTOR_HEADER. struct_size must be at
	 * least the size of a 1.0 descriptor; the host reads no more of the
	 * plugin's object than struct_size says.
	 */
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t struct_size;

	/* @since 1.0. GINI_STAGE_* flags; unknown bits are refused. */
	uint32_t flags;

	/*
	 * @since 1.0. Unique stage type id, matching [a-z0-9][a-z0-9_.-]* and at most 64
	 * characters; pipelines name it in a step's "stage" key.
	 */
	const char *id;
	/* @since 1.0. Semantic version of the plugin, "MAJOR.MINOR.PATCH[-pre][+build]". */
	const char *version;
	/* @since 1.0. One line, no newline, at most 200 characters. */
	const char *summary;
	/* @since 1.0. A short lower-case word: "exec", "check", "io", "notify", ... */
	const char *category;
	/*
	 * @since 1.0. Optional NULL-terminated list of stage type ids this stage needs
	 * (say, because its steps are meant to follow them); the host reports
	 * any that are not registered. NULL when there are none.
	 */
	const char *const *requires_ids;

	/*
	 * @since 1.0. Optional plugin-wide hooks, called once on the daemon's main thread
	 * (which runs its event loop) after the descriptor was validated and
	 * before the plugin is unloaded. load() returns 0, or a negative errno value with a message
	 * set to refuse the plugin (unload() is then not called). They may
	 * block briefly; no step of this stage runs before load() returns or
	 * after unload() is called.
	 *
	 * Each process that loads the plugin calls them: before the daemon
	 * loads a new plugin file, a short-lived probe process loads it and
	 * runs load() and unload() once, so that a crash or hang there costs
	 * the probe, not the daemon; and every isolated step's worker process
	 * runs them around its create() and run(), on their main threads. So
	 * they must not have effects that cannot be repeated.
	 */
	int (*load)(const struct gini_host *host, struct gini_handle *h);
	void (*unload)(const struct gini_host *host, struct gini_handle *h);

	/*
	 * @since 1.0. Optional. Called on the daemon's main thread when a
	 * configuration is compiled (start-up and every reload), once per step
	 * that uses the stage. During a reload, run(), describe() and check()
	 * of the running configuration's steps go on meanwhile on worker
	 * threads, also for steps of this very stage, so plugin-wide state
	 * needs locking here too. It may block briefly (it holds up the event
	 * loop, and the reload with it). For an isolated step it is called instead in a
	 * worker process, on its main thread: once at compile time and again
	 * before each run(). Read the params through
	 * the host; return 0 and store any instance state in *ret_instance
	 * (it may stay NULL), or return a negative errno value with a message
	 * explaining what is wrong with the params. The instance is
	 * transferred to the host, which hands it back to run(), describe(),
	 * check() and finally destroy(). A stage without create() takes no
	 * params, and its instance is NULL.
	 */
	int (*create)(const struct gini_host *host, struct gini_handle *h,
	              const struct gini_params *params, void **ret_instance);
	/*
	 * @since 1.0. Optional. Frees an instance that create() returned, on
	 * the daemon's main thread, when no run uses it any more (for an
	 * isolated step, in its worker process): never concurrently with
	 * run(), describe() or check() of that instance. Called only after a
	 * successful create(), also with a NULL instance. Should not block.
	 */
	void (*destroy)(const struct gini_host *host, struct gini_handle *h, void *instance);

	/*
	 * @since 1.0. Required. Does the step's work, on a worker thread of
	 * the daemon (never its main thread), or on the main thread of the
	 * worker process of an isolated step; it may block, and should honour
	 * cancellation (see struct gini_host). Returns GINI_SUCCESS,
	 * GINI_FAILURE or GINI_SKIPPED. A negative return is a failure whose
	 * cause is that errno value: the host shows it with strerror(), after
	 * the message if one was set ("cannot reach the server: Connection
	 * refused" for -ECONNREFUSED). Any other value is a failure, shown as
	 * "stage returned N". Called concurrently on one instance only if the
	 * stage has GINI_STAGE_CONCURRENT; on different instances, and with
	 * create() of other steps during a reload, at any time.
	 */
	int (*run)(const struct gini_host *host, struct gini_handle *h, void *instance);

	/*
	 * @since 1.0. Optional. For a dry run: sets, through set_message(), one line
	 * saying what run() would do, without side effects. Returns 0, or a
	 * negative errno value. Called on a worker thread of the daemon, in a
	 * dry run, for a stage with GINI_STAGE_DRY_RUN; never for an isolated
	 * step. May block briefly. It may run concurrently with run() and
	 * check() of the same instance (a dry run while a real run is going
	 * on), whatever the flags: it must only read the instance.
	 */
	int (*describe)(const struct gini_host *host, struct gini_handle *h, void *instance);

	/*
	 * @since 1.0. Optional. A health probe for the step, without side
	 * effects: returns GINI_SUCCESS or GINI_FAILURE with a message. Called
	 * in a dry run, after describe(), on a worker thread of the daemon;
	 * never for an isolated step. May block briefly. Like describe(), it
	 * may run concurrently with run() of the same instance, whatever the
	 * flags: it must only read the instance.
	 */
	int (*check)(const struct gini_host *host, struct gini_handle *h, void *instance);
};

/* Opens a descriptor initialiser with the ABI version and size. */
#define GINI_DESCRIPTOR_HEADER                                                                     \
	.abi_major = GINI_ABI_MAJOR, .abi_minor = GINI_ABI_MINOR,                                  \
	.struct_size = (uint32_t)sizeof(struct gini_stage_descriptor)

/*
 * The entry point every plugin exports. It takes no arguments, has no side
 * effects, and returns a pointer to a descriptor that stays valid while the
 * plugin is loaded. GINI_STAGE(name) defines it for a descriptor object.
 */
GINI_EXPORT const struct gini_stage_descriptor *stage_descriptor(void);

#define GINI_STAGE(descriptor)                                                                     \
	GINI_EXPORT const struct gini_stage_descriptor *stage_descriptor(void)                     \
	{                                                                                          \
		return &(descriptor);                                                              \
	}

#ifdef __cplusplus
}
#endif

#endif /* GINI_STAGE_H */
