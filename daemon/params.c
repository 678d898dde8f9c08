/* SPDX-License-Identifier: MIT */
/*
 * Step params: a copy of a step's "params" group, handed to the stage's
 * create() through the typed accessors of the host table. Copying (rather
 * than keeping libconfig's tree) lets the compiled pipeline outlive the
 * parsed config and lets the same set be rebuilt elsewhere. The accessors
 * also keep the books that make config errors honest: which params create()
 * read, so the rest can be reported as unknown, and what type mismatch made
 * create() fail.
 */
#include "params.h"

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
params_type_name(enum param_type t)
{
	switch (t) {
	case PARAM_STRING:
		return "a string";
	case PARAM_INT:
		return "an integer";
	case PARAM_BOOL:
		return "a boolean";
	case PARAM_FLOAT:
		return "a number with a fraction";
	case PARAM_STRV:
		return "a list of strings";
	}
	return "?";
}

struct gini_params *
params_new_empty(void)
{
	return calloc(1, sizeof(struct gini_params));
}

struct gini_params *
params_free(struct gini_params *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].s);
		strv_free(p->v[i].strv);
	}
	free(p->v);
	free(p->error);
	strv_free(p->asked);
	free(p);
	return NULL;
}

struct param *
params_append(struct gini_params *p, const char *name)
{
	struct param *v = realloc(p->v, (p->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	p->v = v;
	v = &p->v[p->n];
	memset(v, 0, sizeof(*v));
	v->name = strdup(name);
	if (!v->name)
		return NULL;
	p->n++;
	return v;
}

int
params_add_string(struct gini_params *p, const char *name, const char *value)
{
	struct param *v = params_append(p, name);

	if (!v)
		return -ENOMEM;
	v->type = PARAM_STRING;
	v->s = strdup(value);
	return v->s ? 0 : -ENOMEM;
}

json_t *
params_to_json(const struct gini_params *p)
{
	json_t *o = json_object();

	for (size_t i = 0; o && p && i < p->n; i++) {
		const struct param *v = &p->v[i];
		json_t *x = NULL;

		switch (v->type) {
		case PARAM_STRING:
			x = json_string(v->s);
			break;
		case PARAM_INT:
			x = json_integer((json_int_t)v->i);
			break;
		case PARAM_BOOL:
			x = json_boolean(v->i);
			break;
		case PARAM_FLOAT:
			x = json_real(v->f);
			break;
		case PARAM_STRV:
			x = json_array();
			for (size_t k = 0; x && k < v->n; k++)
				json_array_append_new(x, json_string(v->strv[k]));
			break;
		}
		json_object_set_new(o, v->name, x ? x : json_null());
	}
	return o;
}

struct gini_params *
params_from_json(json_t *o)
{
	struct gini_params *p;
	const char *name;
	json_t *x;

	if (!json_is_object(o) || !(p = params_new_empty()))
		return NULL;
	json_object_foreach(o, name, x)
	{
		struct param *v = params_append(p, name);

		if (!v)
			return params_free(p);
		if (json_is_string(x)) {
			v->type = PARAM_STRING;
			if (!(v->s = strdup(json_string_value(x))))
				return params_free(p);
		} else if (json_is_integer(x)) {
			v->type = PARAM_INT;
			v->i = json_integer_value(x);
		} else if (json_is_boolean(x)) {
			v->type = PARAM_BOOL;
			v->i = json_is_true(x);
		} else if (json_is_real(x)) {
			v->type = PARAM_FLOAT;
			v->f = json_real_value(x);
		} else if (json_is_array(x)) {
			v->type = PARAM_STRV;
			v->strv = calloc(json_array_size(x) + 1, sizeof(char *));
			if (!v->strv)
				return params_free(p);
			for (size_t k = 0; k < json_array_size(x); k++) {
				json_t *e = json_array_get(x, k);

				if (!json_is_string(e) ||
				    !(v->strv[k] = strdup(json_string_value(e))))
					return params_free(p);
				v->n++;
			}
		} else {
			return params_free(p);
		}
	}
	return p;
}

void
params_freeze(struct gini_params *p)
{
	p->frozen = true;
}

bool
params_has(const struct gini_params *p, const char *name)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (streq(p->v[i].name, name))
			return true;
	return false;
}

const struct param *
params_first_unused(const struct gini_params *p)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (!p->v[i].used)
			return &p->v[i];
	return NULL;
}

static void set_error(const struct gini_params *cp, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
set_error(const struct gini_params *cp, const char *fmt, ...)
{
	struct gini_params *p = (struct gini_params *)cp;
	va_list ap;

	if (p->frozen)
		return;
	free(p->error);
	va_start(ap, fmt);
	if (vasprintf(&p->error, fmt, ap) < 0)
		p->error = NULL;
	va_end(ap);
}

/*
 * Finds name and checks its type: 0 and *ret, -ENOENT when absent (or no
 * set at all), -EINVAL when of another type (or no name). The result is returned,
 * never left in errno: the strv_push() and set_error() on the way may change
 * errno, and a NULL set or name used to return without setting it, so that
 * a caller's "return -errno" could report success with *ret unset. The const
 * is cast away only before the set is frozen, when create() on the main
 * thread is the only reader.
 */
static int
lookup(const struct gini_params *cp, const char *name, enum param_type want, const char *what,
       struct param **ret)
{
	struct gini_params *p = (struct gini_params *)cp;

	if (!name)
		return -EINVAL;
	if (!p)
		return -ENOENT;
	if (!p->frozen) {
		bool seen = false;

		for (size_t i = 0; i < p->n_asked && !seen; i++)
			seen = streq(p->asked[i], name);
		if (!seen)
			(void)strv_push(&p->asked, &p->n_asked, name);
	}
	for (size_t i = 0; i < p->n; i++) {
		struct param *v = &p->v[i];

		if (!streq(v->name, name))
			continue;
		if (!p->frozen)
			v->used = true;
		if (v->type != want) {
			set_error(p, "param '%s': expected %s, got %s", name, what,
			          params_type_name(v->type));
			return -EINVAL;
		}
		*ret = v;
		return 0;
	}
	return -ENOENT;
}

int
params_get_string(const struct gini_params *p, const char *name, const char **ret)
{
	struct param *v;
	int r = lookup(p, name, PARAM_STRING, "a string", &v);

	if (r < 0)
		return r;
	*ret = v->s;
	return 0;
}

int
params_get_int(const struct gini_params *p, const char *name, int64_t *ret)
{
	struct param *v;
	int r = lookup(p, name, PARAM_INT, "an integer", &v);

	if (r < 0)
		return r;
	*ret = v->i;
	return 0;
}

int
params_get_bool(const struct gini_params *p, const char *name, int32_t *ret)
{
	struct param *v;
	int r = lookup(p, name, PARAM_BOOL, "a boolean (true or false)", &v);

	if (r < 0)
		return r;
	*ret = v->i ? 1 : 0;
	return 0;
}

/* An integer reads as a number too: "ratio = 1" means 1.0. */
int
params_get_double(const struct gini_params *p, const char *name, double *ret)
{
	struct param *v;
	int r = lookup(p, name, PARAM_FLOAT, "a number", &v);

	if (r == -EINVAL && lookup(p, name, PARAM_INT, "a number", &v) == 0) {
		if (!p->frozen) {
			/* The float lookup's complaint no longer applies. */
			free(((struct gini_params *)p)->error);
			((struct gini_params *)p)->error = NULL;
		}
		*ret = (double)v->i;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = v->f;
	return 0;
}

int
params_get_duration(const struct gini_params *p, const char *name, uint64_t *ret_usec)
{
	struct param *v;
	uint64_t d;
	int r = lookup(p, name, PARAM_STRING, "a duration", &v);

	/* A duration is a string with units, or a bare integer of seconds. */
	if (r == -EINVAL && lookup(p, name, PARAM_INT, "a duration", &v) == 0) {
		if (v->i < 0 || (uint64_t)v->i > UINT64_MAX / USEC_PER_SEC) {
			set_error(p, "param '%s': %lld is not a valid duration", name,
			          (long long)v->i);
			return -EINVAL;
		}
		/* The string lookup's complaint no longer applies. */
		if (!p->frozen) {
			free(((struct gini_params *)p)->error);
			((struct gini_params *)p)->error = NULL;
		}
		*ret_usec = (uint64_t)v->i * USEC_PER_SEC;
		return 0;
	}
	if (r < 0)
		return r;
	if (parse_duration(v->s, &d) < 0) {
		set_error(p,
		          "param '%s': invalid duration '%s' (use e.g. 500ms, 30s, 5min, 1h 30m, 2 "
		          "days)",
		          name, v->s);
		return -EINVAL;
	}
	*ret_usec = d;
	return 0;
}

int
params_get_strv(const struct gini_params *p, const char *name, const char *const **ret,
                size_t *ret_n)
{
	struct param *v;
	int r = lookup(p, name, PARAM_STRV, "a list of strings", &v);

	/* A single string is a list of one, as everywhere in the config. */
	if (r == -EINVAL && (r = lookup(p, name, PARAM_STRING, "a list of strings", &v)) == 0) {
		if (!v->strv) {
			if (p->frozen)
				return -EINVAL; /* create() never asked: cannot happen */
			v->strv = calloc(2, sizeof(char *));
			if (!v->strv || !(v->strv[0] = strdup(v->s))) {
				free(v->strv);
				v->strv = NULL;
				return -ENOMEM;
			}
			v->n = 1;
		}
		if (!p->frozen) {
			free(((struct gini_params *)p)->error);
			((struct gini_params *)p)->error = NULL;
		}
	}
	if (r < 0)
		return r;
	*ret = (const char *const *)v->strv;
	if (ret_n)
		*ret_n = v->n;
	return 0;
}
