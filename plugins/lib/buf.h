/* SPDX-License-Identifier: MIT */
/*
 * A growable, always NUL-terminated byte buffer for the bundled plugins, with
 * the few formatters they share (durations, shell quoting).
 *
 * The helpers under plugins/lib/ are header-only on purpose: every bundled
 * stage stays one self-contained .so that needs nothing from the daemon or
 * from another library, exactly like a third-party plugin built against
 * <gini/stage.h>. Everything here is static inline, so a plugin that does
 * not use a helper does not carry it. Define _GNU_SOURCE before including (the Makefile does).
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC  UINT64_C(1000000)

/*
 * data is owned by the buffer and freed by buf_done(). It is NULL until the
 * first append, and NUL-terminated afterwards. max, when non-zero, caps len:
 * an append that would pass it fails with -E2BIG and changes nothing, so a
 * buffer fed from user input can never grow without bound.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

static inline void
buf_done(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static inline int
buf_reserve(struct buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (b->max && (extra > b->max || b->len > b->max - extra))
		return -E2BIG;
	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

static inline int
buf_append(struct buf *b, const char *s, size_t n)
{
	int r = buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

static inline int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static inline int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

static inline int buf_printf(struct buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static inline int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* The contents as a string: "" for a buffer that never received a byte. */
static inline const char *
buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

/*
 * Appends a duration the way configs write them, exactly and shortest
 * first: "0s", "250ms", "1m30s", "2h", "1d12h".
 */
static inline int
buf_put_duration(struct buf *b, uint64_t usec)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		{ "d", 86400 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC },
		{ "m", 60 * USEC_PER_SEC },    { "s", USEC_PER_SEC },
		{ "ms", USEC_PER_MSEC },       { "us", 1 },
	};
	int r = 0;

	if (usec == 0)
		return buf_puts(b, "0s");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && usec && r == 0; i++) {
		uint64_t n = usec / units[i].usec;

		if (!n)
			continue;
		usec -= n * units[i].usec;
		r = buf_printf(b, "%llu%s", (unsigned long long)n, units[i].suffix);
	}
	return r;
}

/*
 * Appends s so that a POSIX shell would read it back as one word: unchanged
 * when it is made of characters no shell treats specially, otherwise in
 * single quotes with each ' written as '\''. Used for one-line
 * descriptions an operator may paste into a terminal.
 */
static inline int
buf_put_quoted(struct buf *b, const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                           "0123456789_@%+=:,./-";
	int r;

	if (*s && strspn(s, safe) == strlen(s))
		return buf_puts(b, s);
	r = buf_putc(b, '\'');
	for (; *s && r == 0; s++)
		r = *s == '\'' ? buf_puts(b, "'\\''") : buf_putc(b, *s);
	return r < 0 ? r : buf_putc(b, '\'');
}
