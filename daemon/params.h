/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <jansson.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>

enum param_type {
	PARAM_STRING,
	PARAM_INT,
	PARAM_BOOL,
	PARAM_FLOAT,
	PARAM_STRV,
};

struct param {
	char *name;
	enum param_type type;
	char *s;
	int64_t i;
	double f;
	char **strv; /* NULL-terminated */
	size_t n;
	int line;
	bool used; /* read by create(); written only before the set is frozen */
};

/*
 * The params of one step, owned by the compiled step. create() runs on the
 * main thread while the set is not yet frozen, and the accessors record which
 * params it read and the message of a type mismatch. After params_freeze()
 * the set is read-only, so run() may read it from any thread.
 */
struct gini_params {
	struct param *v;
	size_t n;
	char *error;
	/* Every name create() asked for, present or not: the vocabulary for
	 * "did you mean" when a param is unknown. */
	char **asked;
	size_t n_asked;
	bool frozen;
};

/*
 * Copies a libconfig group of scalars and lists of strings. On a value of
 * another shape, returns -EINVAL with the reason in err and the line in
 * *ret_line. In params_setting.c.
 */
int params_from_setting(const config_setting_t *group, struct gini_params **ret, char *err,
                        size_t errsize, int *ret_line);
struct gini_params *params_new_empty(void);
/* A new param of that name, zero-filled but for the name; NULL: no memory. */
struct param *params_append(struct gini_params *p, const char *name);
/* Adds a param (for tests, benches and the isolation protocol). */
int params_add_string(struct gini_params *p, const char *name, const char *value);
struct gini_params *params_free(struct gini_params *p);
/*
 * The params as a JSON object (name -> string, integer, boolean, real or
 * array of strings), and back: how an isolated step's params reach its
 * worker process. params_from_json() returns NULL on anything else.
 */
json_t *params_to_json(const struct gini_params *p);
struct gini_params *params_from_json(json_t *o);
void params_freeze(struct gini_params *p);
/* Whether a param of that name was given. */
bool params_has(const struct gini_params *p, const char *name);
/* The first param create() never read, or NULL. */
const struct param *params_first_unused(const struct gini_params *p);
/* The names of all params, for spelling suggestions. */
const char *params_type_name(enum param_type t);

int params_get_string(const struct gini_params *p, const char *name, const char **ret);
int params_get_int(const struct gini_params *p, const char *name, int64_t *ret);
int params_get_bool(const struct gini_params *p, const char *name, int32_t *ret);
/* ABI 1.1: a number with a fraction, or an integer. */
int params_get_double(const struct gini_params *p, const char *name, double *ret);
int params_get_duration(const struct gini_params *p, const char *name, uint64_t *ret_usec);
int params_get_strv(const struct gini_params *p, const char *name, const char *const **ret,
                    size_t *ret_n);
