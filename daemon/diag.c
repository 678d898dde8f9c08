/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: a list of located error messages. The config compiler adds
 * to it and carries on, so an operator sees every mistake of a broken config
 * at once; whoever decides the outcome prints or logs the list.
 */
#include "diag.h"

#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool
has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

void
diags_add(struct diags *d, const char *file, int line, const char *fmt, ...)
{
	struct diag *v;
	va_list ap;
	char *m;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	/*
	 * Messages quote what the files say, and libconfig strings may hold
	 * any character: escape control characters, so that each diagnostic
	 * stays one "FILE:LINE: message" line (found by fuzz_config).
	 */
	if (m && has_control(m)) {
		size_t size = strlen(m) * 4 + 1;
		char *e = malloc(size);

		if (e)
			str_escape(m, e, size);
		free(m);
		m = e;
	}
	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v || !m) {
		/* Out of memory: keep what we have; the count still says "failed". */
		free(m);
		if (v)
			d->v = v;
		return;
	}
	d->v = v;
	v[d->n].file = file ? strdup(file) : NULL;
	v[d->n].line = line;
	v[d->n].msg = m;
	d->n++;
}

void
diags_done(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

void
diags_move(struct diags *to, struct diags *from)
{
	struct diag *v;

	if (from->n == 0)
		return;
	v = realloc(to->v, (to->n + from->n) * sizeof(*v));
	if (!v)
		return;
	memcpy(v + to->n, from->v, from->n * sizeof(*v));
	to->v = v;
	to->n += from->n;
	free(from->v);
	from->v = NULL;
	from->n = 0;
}

const char *
diag_format(const struct diag *e, char *buf, size_t size)
{
	if (e->file && e->line > 0)
		snprintf(buf, size, "%s:%d: %s", e->file, e->line, e->msg);
	else if (e->file)
		snprintf(buf, size, "%s: %s", e->file, e->msg);
	else
		snprintf(buf, size, "%s", e->msg);
	return buf;
}

void
diags_print(const struct diags *d, FILE *f)
{
	char buf[4096];

	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s\n", diag_format(&d->v[i], buf, sizeof(buf)));
}
