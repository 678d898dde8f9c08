/* SPDX-License-Identifier: MIT */
/*
 * A JSON string for text that came from files, plugins or commands, and so
 * may be any bytes: jansson refuses invalid UTF-8 (json_string() returns
 * NULL and the value silently vanishes from its object), so every byte that
 * does not start a valid UTF-8 sequence becomes U+FFFD. NULL gives null.
 * Every string of a reply that the daemon did not write itself goes through
 * here. The control replies and the health report use it.
 */
#include "jtext.h"

#include <stdlib.h>
#include <string.h>

static size_t
utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

json_t *
jtext(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *v;
	char *buf, *o;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	buf = malloc(strlen(s) * 3 + 1);
	if (!buf)
		return json_null();
	for (o = buf; *p;) {
		size_t n = utf8_seq_len(p);

		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	v = json_string(buf);
	free(buf);
	return v ? v : json_null();
}
