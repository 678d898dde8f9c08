/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Private to the configuration reader, the files of one module: config.c
 * (loading, globals), config_source.c (the text libconfig parses),
 * config_reader.c (typed getters) and config_pipeline.c (pipelines). One
 * header for all three so that no file of the module includes the header
 * of another that includes its own. Other modules use config.h only.
 */

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diags;
struct gini_config;

/* ---- config_source.c ---- */

/*
 * @include, done here rather than by libconfig: libconfig 1.5 (Debian 12)
 * opens included files itself with a blocking fopen() and has no hook to
 * replace it, so a FIFO named by an @include would freeze `ginid -t` and a
 * reload on the event loop. Instead every file is read by read_file() (a
 * regular file, non-blocking open, size cap) and its @include directives
 * are replaced by the included text; libconfig parses the result and is
 * given an include directory under which nothing can ever be opened.
 * INCLUDE_DEPTH_MAX is libconfig's own nesting limit.
 */
#define INCLUDE_GUARD_DIR "/dev/null" /* "/dev/null/x" is always ENOTDIR */

/* A run of lines of the expanded text that came from one file. */
struct origin {
	int first;        /* its first line in the expanded text */
	const char *file; /* borrowed from struct source.files, or the file read */
	int line;         /* the line of that file it starts at */
};

/* One file with its @include directives expanded: what libconfig parses. */
struct source {
	char *text; /* owned, NUL-terminated */
	size_t len, cap;
	int line; /* line of the expanded text being written, from 1 */
	struct origin *v;
	size_t n;
	char **files; /* the included files' paths, owned */
	size_t n_files;
};

/* The origin of line (of the expanded text); NULL if unknown. */
const struct origin *source_origin(const struct source *src, int line);
/*
 * Checks a file's text and appends it to src with its @include directives
 * replaced by the files they name. depth: 0 for a file read on its own.
 * -1: a problem, reported; the file is not parsed.
 */
int source_expand(struct source *src, struct diags *diags, const char *file, const char *text,
                  size_t len, int depth);
void source_done(struct source *src);
/* Why read_file() failed; -EBADFD wants path_type_name() and ")" after it. */
const char *source_read_error(int r);

/* ---- config_reader.c ---- */

/*
 * Private to the configuration reader (config.c, config_pipeline.c): the
 * state of reading one file and the typed getters. Every getter reports its
 * problems as diagnostics naming the file and line the user wrote. Unless
 * said otherwise a getter returns 1 and sets *ret when the key is present
 * and valid, 0 when it is absent, and -1 when it is invalid (reported).
 */

/* State of reading one file. */
struct reader {
	struct gini_config *c;
	struct diags *diags;
	const char *file; /* as reported in diagnostics */
	char *dir;        /* for relative paths */
	bool is_main;
	const struct source *src; /* where each line came from */
};

/* The line of the file a user wrote, for a line of the expanded text. */
int reader_map_line(const struct reader *rd, int line);
/* The line of a setting in the file a user wrote; 0 for NULL. */
int reader_line(const struct reader *rd, const config_setting_t *s);
/* The file a setting came from: the one read, or one it @include'd. */
const char *reader_file(const struct reader *rd, const config_setting_t *s);
/* "an integer", "a string", ...: for "expected X, got Y" messages. */
const char *reader_type_name(const config_setting_t *s);
/* "pipeline 'p': step 's': " prefixes, in a caller's buffer. */
const char *reader_where(char *buf, size_t size, const char *pipeline, const char *step);
/*
 * Reports every member of group that is not in keys, with a suggestion;
 * those in elsewhere as allowed only in the main file.
 */
void reader_check_keys(struct reader *rd, const config_setting_t *group, const char *const *keys,
                       size_t n, const char *prefix, const char *const *elsewhere,
                       size_t n_elsewhere);

/* The string, NULL if absent or not a string (reported). */
const char *reader_string(struct reader *rd, const config_setting_t *group, const char *key,
                          const char *prefix);
int reader_int(struct reader *rd, const config_setting_t *group, const char *key,
               const char *prefix, long long lo, long long hi, long long *ret);
int reader_bool(struct reader *rd, const config_setting_t *group, const char *key,
                const char *prefix, bool *ret);
/* Durations: a string such as "30s", or an integer number of seconds. */
int reader_duration(struct reader *rd, const config_setting_t *group, const char *key,
                    const char *prefix, uint64_t *ret);
/* A size: a string such as "64M", or an integer number of bytes. */
int reader_size(struct reader *rd, const config_setting_t *group, const char *key,
                const char *prefix, uint64_t *ret);
/*
 * A string, or a list/array of strings (s itself, not a member), appended
 * to *v. Returns the number of strings, or -1 if invalid (reported).
 */
int reader_strings(struct reader *rd, const config_setting_t *s, const char *key,
                   const char *prefix, char ***v, size_t *n);
/* Paths, relative ones resolved against the directory of the file. */
int reader_path_list(struct reader *rd, const config_setting_t *root, const char *key, char ***v,
                     size_t *n);
int reader_path(struct reader *rd, const config_setting_t *root, const char *key, char **ret);
/* An enum value (the index in names), with a suggestion on a miss. */
int reader_enum(struct reader *rd, const config_setting_t *group, const char *key,
                const char *prefix, const char *const *names, size_t n, int *ret);

/* ---- config_pipeline.c ---- */

/* Reads root's 'pipelines' list, appending to rd->c->pipelines. */
void config_pipelines_read(struct reader *rd, const config_setting_t *root);

/* ---- config_triggers.c ---- */

struct pipeline_def;
/* Reads the triggers group g of pipeline p. */
void config_triggers_read(struct reader *rd, const config_setting_t *g, struct pipeline_def *p,
                          const char *prefix);
/*
 * The checks across pipelines, once all are read: every after_pipeline
 * names a pipeline, and no chain of them is a cycle.
 */
void config_triggers_check(struct gini_config *c, struct diags *diags);

/* ---- config_flow.c ---- */

struct pipeline_def;
struct step_def;

/* A step's `when` (after its `after` was read). */
void config_flow_step(struct reader *rd, const config_setting_t *g, struct step_def *st,
                      const char *prefix);
/* A pipeline's `timeout`, `on_failure_run` and `concurrency_group`. */
void config_flow_pipeline(struct reader *rd, const config_setting_t *g, struct pipeline_def *p,
                          const char *prefix);
/* The main file's `concurrency_groups`. */
void config_flow_globals(struct reader *rd, const config_setting_t *root);
/* Once every file is read: what refers to other pipelines and groups. */
void config_flow_check(struct gini_config *c, struct diags *diags);
