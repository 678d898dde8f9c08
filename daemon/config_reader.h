/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Private to the configuration reader (config.c, config_pipeline.c): the
 * state of reading one file and the typed getters. Every getter reports its
 * problems as diagnostics naming the file and line the user wrote. Unless
 * said otherwise a getter returns 1 and sets *ret when the key is present
 * and valid, 0 when it is absent, and -1 when it is invalid (reported).
 */

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diags;
struct gini_config;
struct source;

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
