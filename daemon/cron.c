/* SPDX-License-Identifier: MIT */
/*
 * Cron expressions, the parser for `schedule = "..."`: five fields or a
 * macro into a struct cron of bitsets, with a message naming the field and
 * the token for every mistake. cron_next.c answers when a parsed expression
 * fires; the scheduler (scheduler.c) owns when to ask. Neither holds state,
 * takes locks or reads the clock.
 *
 * Syntax and day matching follow Vixie cron (and cronie, which kept them):
 * five fields, '*', numbers, three-letter names, lists, ranges and steps, and
 * a day matches when either the day-of-month or the day-of-week field matches
 * if both are restricted, otherwise when both do. "Restricted" is decided the
 * way Vixie's entry.c decides it, by the field's first character: a field
 * beginning with '*' ("*", or "*" with a step) is unrestricted, anything else
 * ("1-31", "0-6") is restricted. So a day-of-month of "*" stepped by 2 with a
 * day-of-week of "mon" means odd days that are Mondays, while "0 0 1-31/2 *
 * mon" means odd days and also every Monday. That is surprising, but it is
 * what crontabs in the wild were written against (cronie and croniter agree).
 */
#include "cron.h"

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

/* Parsing */

struct field {
	const char *name;
	int lo, hi;
	/* Three-letter names for lo, lo + 1, ...; NULL if the field has none. */
	const char *const *names;
	size_t n_names;
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};

static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, N_FIELDS };

static const struct field fields[N_FIELDS] = {
	[F_MINUTE] = { "minute", 0, 59, NULL, 0 },
	[F_HOUR] = { "hour", 0, 23, NULL, 0 },
	[F_DOM] = { "day-of-month", 1, 31, NULL, 0 },
	[F_MONTH] = { "month", 1, 12, month_names, ARRAY_SIZE(month_names) },
	/* 0-7: both 0 and 7 are Sunday, as in every cron since V7. */
	[F_DOW] = { "day-of-week", 0, 7, dow_names, ARRAY_SIZE(dow_names) },
};

struct macro {
	const char *name;
	const char *expansion;
};

static const struct macro macros[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* Writes the message for a -EINVAL return; err may be NULL. */
static int fail(char *err, size_t errsize, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (err && errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A token as the user wrote it, for messages: text and length. */
struct token {
	const char *s;
	int len;
};

/*
 * Reads the value token at *p (a maximal run of letters and digits) and
 * converts it: a number, or a name if the field has names.
 */
static int
parse_value(const struct field *f, const char **p, const char *end, struct token elem, int *ret,
            struct token *ret_tok, char *err, size_t errsize)
{
	const char *s = *p;
	const char *q = s;
	bool digits = true, letters = true;
	int n = 0;

	while (q < end && (is_digit(*q) || is_alpha(*q))) {
		digits = digits && is_digit(*q);
		letters = letters && is_alpha(*q);
		q++;
	}
	if (q == s) {
		/* Only after a '-': an element is never empty here. */
		if (q == end)
			return fail(err, errsize, "%s field: missing value after '-' in '%.*s'",
			            f->name, elem.len, elem.s);
		return fail(err, errsize, "%s field: unexpected '%c' in '%.*s'", f->name, *q,
		            elem.len, elem.s);
	}
	*ret_tok = (struct token){ s, (int)(q - s) };
	if (digits) {
		/* Saturate: anything past four digits is out of range anyway. */
		for (const char *d = s; d < q; d++)
			n = n < 10000 ? n * 10 + (*d - '0') : n;
		if (n < f->lo || n > f->hi)
			return fail(err, errsize, "%s field: value %.*s out of range %d-%d",
			            f->name, (int)(q - s), s, f->lo, f->hi);
	} else if (letters && f->names) {
		size_t i;

		for (i = 0; i < f->n_names; i++)
			if (q - s == 3 && strncasecmp(s, f->names[i], 3) == 0)
				break;
		if (i == f->n_names)
			return fail(err, errsize, "%s field: unknown name '%.*s'", f->name,
			            (int)(q - s), s);
		n = f->lo + (int)i;
	} else
		return fail(err, errsize, "%s field: invalid value '%.*s'", f->name, (int)(q - s),
		            s);
	*ret = n;
	*p = q;
	return 0;
}

/* "a" or "a-b", for the suggestion that follows a reversed range. */
static const char *
span_str(char *buf, size_t size, int a, int b)
{
	if (a == b)
		snprintf(buf, size, "%d", a);
	else
		snprintf(buf, size, "%d-%d", a, b);
	return buf;
}

/* "hour field: reversed range 22-2; ranges do not wrap, write 22-23,0-2" */
static int
reversed_range(const struct field *f, struct token t1, struct token t2, int lo, int hi, char *err,
               size_t errsize)
{
	/* The field's top value for the suggestion: 6 for Saturday, not 7. */
	int top = f == &fields[F_DOW] ? 6 : f->hi;
	char a[16], b[16];

	return fail(err, errsize,
	            "%s field: reversed range %.*s-%.*s; ranges do not wrap, write %s,%s", f->name,
	            t1.len, t1.s, t2.len, t2.s, span_str(a, sizeof(a), lo, top),
	            span_str(b, sizeof(b), f->lo, hi));
}

/* One list element: "*", "N", "N-M", each optionally followed by "/STEP". */
static int
parse_element(const struct field *f, struct token elem, uint64_t *bits, char *err, size_t errsize)
{
	const char *p = elem.s, *end = elem.s + elem.len;
	int lo = 0, hi = 0, step = 1;
	struct token t1 = { 0 }, t2 = { 0 };
	int r;

	if (elem.len == 0)
		return -EINVAL; /* reported by the caller, which has the whole field */

	if (*p == '*') {
		lo = f->lo;
		hi = f->hi;
		p++;
	} else {
		r = parse_value(f, &p, end, elem, &lo, &t1, err, errsize);
		if (r < 0)
			return r;
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			r = parse_value(f, &p, end, elem, &hi, &t2, err, errsize);
			if (r < 0)
				return r;
			/* "fri-sun" means what it says: "sun" closing a range is 7. */
			if (f == &fields[F_DOW] && hi == 0 && lo > 0 && is_alpha(t2.s[0]))
				hi = 7;
			if (hi < lo)
				return reversed_range(f, t1, t2, lo, hi, err, errsize);
		} else if (p < end && *p == '/')
			/* "5/10" is "5-max/10", as in cronie and most later crons. */
			hi = f->hi;
	}

	if (p < end && *p == '/') {
		const char *s = ++p;
		int span = f->hi - f->lo + 1;

		step = 0;
		while (p < end && is_digit(*p)) {
			step = step < 10000 ? step * 10 + (*p - '0') : step;
			p++;
		}
		if (p == s) {
			if (p == end)
				return fail(err, errsize,
				            "%s field: missing step after '/' in '%.*s'", f->name,
				            elem.len, elem.s);
			return fail(err, errsize, "%s field: invalid step in '%.*s'", f->name,
			            elem.len, elem.s);
		}
		if (step < 1 || step > span)
			return fail(err, errsize, "%s field: step %.*s out of range 1-%d", f->name,
			            (int)(p - s), s, span);
	}

	if (p < end)
		return fail(err, errsize, "%s field: unexpected '%c' in '%.*s'", f->name, *p,
		            elem.len, elem.s);

	for (int v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

static int
parse_field(const struct field *f, struct token field, uint64_t *ret, char *err, size_t errsize)
{
	const char *p = field.s, *end = field.s + field.len;
	uint64_t bits = 0;

	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		struct token elem = { p, (int)((comma ? comma : end) - p) };
		int r;

		if (elem.len == 0)
			return fail(err, errsize, "%s field: empty list element in '%.*s'", f->name,
			            field.len, field.s);
		r = parse_element(f, elem, &bits, err, errsize);
		if (r < 0)
			return r;
		if (!comma)
			break;
		p = comma + 1;
	}
	*ret = bits;
	return 0;
}

static int
parse_fields(struct token tok[N_FIELDS], struct cron *ret, char *err, size_t errsize)
{
	struct cron c = { 0 };
	uint64_t bits[N_FIELDS];
	int r;

	for (int i = 0; i < N_FIELDS; i++) {
		r = parse_field(&fields[i], tok[i], &bits[i], err, errsize);
		if (r < 0)
			return r;
	}
	c.minute = bits[F_MINUTE];
	c.hour = (uint32_t)bits[F_HOUR];
	c.dom = (uint32_t)bits[F_DOM];
	c.month = (uint16_t)bits[F_MONTH];
	c.dow = (uint8_t)((bits[F_DOW] | bits[F_DOW] >> 7) & CRON_DOW_MASK);
	c.dom_star = tok[F_DOM].s[0] == '*';
	c.dow_star = tok[F_DOW].s[0] == '*';
	c.fixed_time = tok[F_MINUTE].s[0] != '*' && tok[F_HOUR].s[0] != '*';
	if (!cron_can_fire(&c))
		return fail(err, errsize, "never fires (no such date)");
	*ret = c;
	return 0;
}

static int
parse_macro(struct token name, int n_tokens, struct cron *ret, char *err, size_t errsize)
{
	const char *names[ARRAY_SIZE(macros) + 1];
	char word[CRON_EXPR_MAX + 1];
	const char *hint;

	for (size_t i = 0; i < ARRAY_SIZE(macros); i++) {
		const char *e;
		struct token tok[N_FIELDS];

		names[i] = macros[i].name;
		if ((size_t)name.len != strlen(macros[i].name) ||
		    strncasecmp(name.s, macros[i].name, (size_t)name.len) != 0)
			continue;
		if (n_tokens > 1)
			return fail(err, errsize, "unexpected text after '%.*s'", name.len, name.s);
		e = macros[i].expansion;
		for (int f = 0; f < N_FIELDS; f++) {
			tok[f] = (struct token){ e, 1 };
			e += 2;
		}
		return parse_fields(tok, ret, err, errsize);
	}
	if (name.len == 7 && strncasecmp(name.s, "@reboot", 7) == 0)
		return fail(err, errsize, "'@reboot' is not supported; use on_start = true");

	names[ARRAY_SIZE(macros)] = "@reboot";
	snprintf(word, sizeof(word), "%.*s", name.len, name.s);
	for (char *w = word; *w; w++)
		if (*w >= 'A' && *w <= 'Z')
			*w = (char)(*w - 'A' + 'a');
	hint = closest_match(word, names, ARRAY_SIZE(names));
	if (hint)
		return fail(err, errsize, "unknown macro '%.*s'; did you mean '%s'?", name.len,
		            name.s, hint);
	return fail(err, errsize, "unknown macro '%.*s'", name.len, name.s);
}

int
cron_parse(const char *expr, struct cron *ret, char *err, size_t errsize)
{
	struct token tok[N_FIELDS];
	int n = 0;
	size_t len;

	if (!expr)
		expr = "";
	len = strnlen(expr, CRON_EXPR_MAX + 1);
	if (len > CRON_EXPR_MAX)
		return fail(err, errsize, "expression too long (more than %d characters)",
		            CRON_EXPR_MAX);
	/* Only printable ASCII goes into messages (and so into logs) below. */
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)expr[i];

		if ((ch < 0x21 || ch > 0x7e) && !is_blank((char)ch))
			return fail(err, errsize, "invalid character 0x%02X at column %zu", ch,
			            i + 1);
	}

	for (const char *p = expr;;) {
		const char *s;

		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && !is_blank(*p))
			p++;
		if (n < N_FIELDS)
			tok[n] = (struct token){ s, (int)(p - s) };
		n++;
	}

	if (n == 0)
		return fail(err, errsize, "empty expression");
	if (tok[0].s[0] == '@')
		return parse_macro(tok[0], n, ret, err, errsize);
	if (n != N_FIELDS)
		return fail(err, errsize, "expected 5 fields, got %d", n);
	return parse_fields(tok, ret, err, errsize);
}
