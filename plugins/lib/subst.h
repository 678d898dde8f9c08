/* SPDX-License-Identifier: MIT */
/*
 * ${key} substitution in templates, for the bundled plugins.
 *
 * "${key}" is replaced by the run context's value of key, or by nothing when
 * the key is unset; "$$" is a literal "$". A "$" followed by anything else
 * is kept as it is, so "costs $5" needs no escaping. Keys are context keys,
 * [A-Za-z0-9_.-]{1,64}. A malformed "${" (unterminated, empty, or with a
 * character no key can have) is a config error: create() finds it with
 * subst_check(), so run() never meets one.
 */
#pragma once

#include "buf.h"
#include "params.h"

#include <gini/stage.h>

/* Results of substitution are capped: a template is not a bulk-data path. */
#define SUBST_MAX ((size_t)16 * 1024 * 1024)

/*
 * Checks the syntax of tmpl. Returns 0, or -EINVAL with a description of
 * the first error written to err.
 */
static inline int
subst_check(const char *tmpl, char *err, size_t err_size)
{
	for (const char *p = tmpl; *p; p++) {
		const char *end;

		if (p[0] != '$')
			continue;
		if (p[1] == '$') {
			p++;
			continue;
		}
		if (p[1] != '{')
			continue;
		end = strchr(p + 2, '}');
		if (!end) {
			snprintf(err, err_size, "unterminated '${' at offset %zu",
			         (size_t)(p - tmpl));
			return -EINVAL;
		}
		if (!ctx_key_valid(p + 2, (size_t)(end - p - 2))) {
			snprintf(err, err_size,
			         "'${%.*s}' at offset %zu: not a valid context key "
			         "(1 to 64 of A-Z a-z 0-9 _ . -)",
			         (int)((end - p - 2) > 80 ? 80 : (end - p - 2)), p + 2,
			         (size_t)(p - tmpl));
			return -EINVAL;
		}
		p = end;
	}
	return 0;
}

/* Reads a template param and checks its syntax. */
static inline int
params_template(struct params_reader *pr, const char *name, const char **ret)
{
	const char *s = NULL;
	char err[256];
	int r = params_string(pr, name, &s);

	if (r <= 0)
		return r;
	if (subst_check(s, err, sizeof(err)) < 0)
		return params_fail(pr, -EINVAL, "param '%s': %s", name, err);
	*ret = s;
	return 1;
}

/*
 * Appends tmpl, expanded against the run context of h, to b. Only for
 * run() and describe(), where the context exists, and only for a template
 * that passed subst_check(). Returns 0, -ENOMEM, or -E2BIG when the result
 * would pass SUBST_MAX (or b's own cap, if lower). With missing non-NULL an
 * unset key is an error instead of nothing: -ENOKEY, its name in missing
 * (at least CTX_KEY_MAX + 1 bytes).
 */
static inline int
subst_expand_checked(const struct gini_host *host, struct gini_handle *h, const char *tmpl,
                     struct buf *b, char *missing)
{
	size_t saved_max = b->max;
	const char *p = tmpl;
	int r = 0;

	if (!b->max || b->max > SUBST_MAX)
		b->max = SUBST_MAX;
	while (*p && r == 0) {
		const char *dollar = strchr(p, '$'), *end, *value;
		char key[CTX_KEY_MAX + 1];
		size_t len;

		if (!dollar) {
			r = buf_puts(b, p);
			break;
		}
		r = buf_append(b, p, (size_t)(dollar - p));
		if (r < 0)
			break;
		if (dollar[1] == '$') {
			r = buf_putc(b, '$');
			p = dollar + 2;
			continue;
		}
		end = dollar[1] == '{' ? strchr(dollar + 2, '}') : NULL;
		len = end ? (size_t)(end - dollar - 2) : 0;
		if (!end || !ctx_key_valid(dollar + 2, len)) {
			/* Unchecked template: keep the text rather than guess. */
			r = buf_putc(b, '$');
			p = dollar + 1;
			continue;
		}
		memcpy(key, dollar + 2, len);
		key[len] = 0;
		value = host->ctx_get(h, key);
		if (value) {
			r = buf_puts(b, value);
		} else if (missing) {
			memcpy(missing, key, len + 1);
			r = -ENOKEY;
		}
		p = end + 1;
	}
	b->max = saved_max;
	return r;
}

/* The same, an unset key expanding to nothing. */
static inline int
subst_expand(const struct gini_host *host, struct gini_handle *h, const char *tmpl, struct buf *b)
{
	return subst_expand_checked(host, h, tmpl, b, NULL);
}
