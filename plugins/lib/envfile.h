/* SPDX-License-Identifier: MIT */
/*
 * Environment files in the syntax of systemd's EnvironmentFile=, the subset
 * systemd documents (systemd.exec(5)):
 *
 *   - one KEY=VALUE assignment per line; KEY is [A-Za-z_][A-Za-z0-9_]*;
 *     whitespace before the key, around the '=' and (unquoted) at the end of
 *     the value is dropped;
 *   - empty lines, and lines whose first non-blank character is '#' or ';',
 *     are comments (a '#' inside a value is part of it);
 *   - VALUE in single quotes is taken literally, up to the closing quote,
 *     newlines included; in double quotes, a backslash escapes '"', '\\',
 *     '`' and '$', and removes a following newline; other backslashes stay;
 *   - unquoted, a backslash takes the next character literally, and a
 *     backslash at the end of a line continues the value on the next line;
 *   - quoted and unquoted parts may follow each other: A="x"'y'z is "xyz".
 *
 * Not supported: systemd's specifier and variable expansion (it does none in
 * EnvironmentFile= either) and the "export" keyword. A line that is not an
 * assignment is an error naming the line, where systemd would only log it:
 * a typo in a file of secrets should fail the step, not run it without.
 */
#pragma once

#include "buf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Called for each assignment; a negative return stops the parse and is returned. */
typedef int (*envfile_fn)(const char *key, const char *value, void *userdata);

static inline bool
envfile_key_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static inline void
envfile_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

/*
 * Parses text (NUL-terminated; a NUL byte ends it). Returns 0, a callback's
 * error, -ENOMEM, or -EINVAL with "LINE: reason" in err.
 */
static inline int
envfile_parse(const char *text, envfile_fn fn, void *userdata, char *err, size_t err_size)
{
	const char *p = text;
	unsigned line = 1;
	struct buf key = { 0 }, value = { 0 };
	int r = 0;

	while (*p && r == 0) {
		unsigned at = line;
		size_t trailing = 0; /* unquoted blanks at the end of value so far */

		envfile_reset(&key);
		envfile_reset(&value);
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\n') {
			p++;
			line++;
			continue;
		}
		if (*p == '#' || *p == ';') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (!envfile_key_char(*p, true)) {
			snprintf(err, err_size,
			         "%u: not KEY=VALUE (a key is a letter or '_', then "
			         "letters, digits or '_')",
			         at);
			r = -EINVAL;
			break;
		}
		while (envfile_key_char(*p, false) && r == 0)
			r = buf_putc(&key, *p++);
		while (*p == ' ' || *p == '\t')
			p++;
		if (r == 0 && *p != '=') {
			snprintf(err, err_size, "%u: not KEY=VALUE (no '=' after '%.64s')", at,
			         buf_str(&key));
			r = -EINVAL;
			break;
		}
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p && *p != '\n' && r == 0) {
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');

				if (!end) {
					snprintf(err, err_size, "%u: unterminated single quote",
					         at);
					r = -EINVAL;
					break;
				}
				for (const char *q = p + 1; q < end; q++)
					line += *q == '\n';
				r = buf_append(&value, p + 1, (size_t)(end - p - 1));
				p = end + 1;
				trailing = 0;
			} else if (*p == '"') {
				for (p++; *p && *p != '"' && r == 0; p++) {
					if (*p == '\\' && p[1] == '\n') {
						p++;
						line++;
					} else if (*p == '\\' && p[1] && strchr("\"\\`$", p[1])) {
						r = buf_putc(&value, *++p);
					} else {
						line += *p == '\n';
						r = buf_putc(&value, *p);
					}
				}
				if (r == 0 && *p != '"') {
					snprintf(err, err_size, "%u: unterminated double quote",
					         at);
					r = -EINVAL;
					break;
				}
				p++;
				trailing = 0;
			} else if (*p == '\\' && p[1] == '\n') {
				p += 2;
				line++;
			} else if (*p == '\\' && p[1]) {
				r = buf_putc(&value, p[1]);
				p += 2;
				trailing = 0;
			} else {
				trailing = *p == ' ' || *p == '\t' || *p == '\r' ? trailing + 1 : 0;
				r = buf_putc(&value, *p++);
			}
		}
		if (r < 0)
			break;
		value.len -= trailing;
		if (value.data)
			value.data[value.len] = 0;
		r = fn(buf_str(&key), buf_str(&value), userdata);
	}
	buf_done(&key);
	buf_done(&value);
	return r;
}
