/* SPDX-License-Identifier: MIT */
/*
 * The typed getters of the configuration reader (config.c): each reads one
 * key of a libconfig group as a string, integer, boolean, duration, size,
 * path, list or enum, and turns every problem into a "FILE:LINE: message"
 * diagnostic with the file and line the user wrote (through the origins of
 * config_source.c), then returns so that reading goes on.
 */
#include "config_internal.h"

#include "diag.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
reader_map_line(const struct reader *rd, int line)
{
	const struct origin *o = line > 0 ? source_origin(rd->src, line) : NULL;

	return o ? o->line + (line - o->first) : line;
}

int
reader_line(const struct reader *rd, const config_setting_t *s)
{
	return s ? reader_map_line(rd, (int)config_setting_source_line(s)) : 0;
}

/* The file a setting came from: the one read, or one it @include'd. */
const char *
reader_file(const struct reader *rd, const config_setting_t *s)
{
	const struct origin *o =
	        s ? source_origin(rd->src, (int)config_setting_source_line(s)) : NULL;

	return o ? o->file : rd->file;
}

const char *
reader_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number with a fraction";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "something else";
	}
}

/* "pipeline 'p': step 's': " prefixes, in a caller's buffer. */
const char *
reader_where(char *buf, size_t size, const char *pipeline, const char *step)
{
	if (pipeline && step)
		snprintf(buf, size, "pipeline '%s': step '%s': ", pipeline, step);
	else if (pipeline)
		snprintf(buf, size, "pipeline '%s': ", pipeline);
	else
		buf[0] = 0;
	return buf;
}

/* Reports every member of group that is not in keys. */
void
reader_check_keys(struct reader *rd, const config_setting_t *group, const char *const *keys,
                  size_t n, const char *prefix, const char *const *elsewhere, size_t n_elsewhere)
{
	int len = config_setting_length(group);

	for (int i = 0; i < len; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const char *hint;
		bool known = false;

		if (!name)
			continue;
		for (size_t k = 0; k < n && !known; k++)
			known = streq(name, keys[k]);
		if (known)
			continue;
		for (size_t k = 0; k < n_elsewhere && !known; k++)
			known = streq(name, elsewhere[k]);
		if (known) {
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%skey '%s' is only allowed in the main configuration file",
			          prefix, name);
			continue;
		}
		hint = closest_match(name, keys, n);
		if (hint)
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%sunknown key '%s'; did you mean '%s'?", prefix, name, hint);
		else
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%sunknown key '%s'", prefix, name);
	}
}

const char *
reader_string(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix)
{
	config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'%s': expected a string, got %s", prefix, key, reader_type_name(s));
		return NULL;
	}
	return config_setting_get_string(s);
}

/* 1 and *ret if present and valid, 0 if absent, -1 if invalid (reported). */
int
reader_int(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
           long long lo, long long hi, long long *ret)
{
	config_setting_t *s = config_setting_get_member(group, key);
	long long v;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'%s': expected an integer, got %s", prefix, key, reader_type_name(s));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'%s': %lld is out of range %lld-%lld", prefix, key, v, lo, hi);
		return -1;
	}
	*ret = v;
	return 1;
}

int
reader_bool(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
            bool *ret)
{
	config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'%s': expected a boolean (true or false), got %s", prefix, key,
		          reader_type_name(s));
		return -1;
	}
	*ret = config_setting_get_bool(s);
	return 1;
}

/* Durations: a string such as "30s", or an integer number of seconds. */
int
reader_duration(struct reader *rd, const config_setting_t *group, const char *key,
                const char *prefix, uint64_t *ret)
{
	config_setting_t *s = config_setting_get_member(group, key);
	long long i;

	if (!s)
		return 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		switch (parse_duration(config_setting_get_string(s), ret)) {
		case 0:
			return 1;
		case -ERANGE:
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'%s': duration '%s' is too long (at most 100 years)", prefix,
			          key, config_setting_get_string(s));
			return -1;
		default:
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'%s': invalid duration '%s' (use e.g. 500ms, 30s, 5min, 1h "
			          "30m, 2 days)",
			          prefix, key, config_setting_get_string(s));
			return -1;
		}
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		i = config_setting_get_int64(s);
		if (i < 0 || i > 100LL * 366 * 86400) {
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'%s': invalid duration %lld: %s", prefix, key, i,
			          i < 0 ? "must not be negative" : "too long (at most 100 years)");
			return -1;
		}
		*ret = (uint64_t)i * USEC_PER_SEC;
		return 1;
	default:
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'%s': expected a duration such as \"30s\", got %s", prefix, key,
		          reader_type_name(s));
		return -1;
	}
}

/*
 * A string, or a list/array of strings, appended to *v. Returns the number
 * of strings, or -1 if invalid (reported).
 */
int
reader_strings(struct reader *rd, const config_setting_t *s, const char *key, const char *prefix,
               char ***v, size_t *n)
{
	int len;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return strv_push(v, n, config_setting_get_string(s)) < 0 ? -1 : 1;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'%s': expected a string or a list of strings, got %s", prefix, key,
		          reader_type_name(s));
		return -1;
	}
	len = config_setting_length(s);
	for (int i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			diags_add(rd->diags, reader_file(rd, e), reader_line(rd, e),
			          "%s'%s': element %d: expected a string, got %s", prefix, key,
			          i + 1, reader_type_name(e));
			return -1;
		}
		if (strv_push(v, n, config_setting_get_string(e)) < 0)
			return -1;
	}
	return len;
}

/* Relative paths resolve against the directory of the file that names them. */
static char *
resolve(struct reader *rd, const char *path)
{
	return path_join(rd->dir, path);
}

int
reader_path_list(struct reader *rd, const config_setting_t *root, const char *key, char ***v,
                 size_t *n)
{
	config_setting_t *s = config_setting_get_member(root, key);
	char **raw = NULL;
	size_t nraw = 0;
	int r;

	if (!s)
		return 0;
	r = reader_strings(rd, s, key, "", &raw, &nraw);
	if (r >= 0) {
		strv_free(*v);
		*v = calloc(1, sizeof(char *));
		*n = 0;
		for (size_t i = 0; i < nraw && *v; i++) {
			_cleanup_free_ char *p = NULL;

			if (!raw[i][0]) {
				diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
				          "'%s': empty path", key);
				continue;
			}
			p = resolve(rd, raw[i]);
			if (!p || strv_push(v, n, p) < 0)
				r = -1;
		}
	}
	strv_free(raw);
	return r;
}

int
reader_path(struct reader *rd, const config_setting_t *root, const char *key, char **ret)
{
	const char *s = reader_string(rd, root, key, "");

	if (!s)
		return 0;
	if (!*s) {
		diags_add(rd->diags, reader_file(rd, config_setting_get_member(root, key)),
		          reader_line(rd, config_setting_get_member(root, key)), "'%s': empty path",
		          key);
		return -1;
	}
	free(*ret);
	*ret = resolve(rd, s);
	return 1;
}

/* An enum value from a string, with a suggestion on a miss. -1: invalid. */
int
reader_enum(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
            const char *const *names, size_t n, int *ret)
{
	const char *v = reader_string(rd, group, key, prefix);
	const char *hint;

	if (!v)
		return config_setting_get_member(group, key) ? -1 : 0;
	for (size_t i = 0; i < n; i++)
		if (streq(v, names[i])) {
			*ret = (int)i;
			return 1;
		}
	hint = closest_match(v, names, n);
	/* "a or b", "a, b or c" */
	{
		char list[128];
		size_t off = 0;

		list[0] = 0;
		for (size_t i = 0; i < n && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
			                        i == 0       ? ""
			                        : i == n - 1 ? " or "
			                                     : ", ",
			                        names[i]);
		diags_add(rd->diags, reader_file(rd, config_setting_get_member(group, key)),
		          reader_line(rd, config_setting_get_member(group, key)),
		          "%s'%s': invalid value '%s'%s%s%s (expected %s)", prefix, key, v,
		          hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "", list);
	}
	return -1;
}

/* A size: a string such as "64M", or an integer number of bytes. */
int
reader_size(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
            uint64_t *ret)
{
	config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		long long v = config_setting_get_int64(s);

		if (v <= 0) {
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'%s': %lld is not a size; it must be positive", prefix, key,
			          v);
			return -1;
		}
		*ret = (uint64_t)v;
		return 1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    parse_size(config_setting_get_string(s), ret) < 0 || *ret == 0) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'%s': expected a size such as \"512M\" (K, M, G, T) or a number of "
		          "bytes",
		          prefix, key);
		return -1;
	}
	return 1;
}
