/* SPDX-License-Identifier: MIT */
/*
 * ginictl's rendering of what the daemon says for a person: escaping the
 * control characters of text it did not write, JSON pretty-printing, and
 * the fields of a reply as table cells (counts, durations, times).
 */
#include "format.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Text from the daemon (step messages, command output, file names) may hold
 * terminal escape sequences that would retitle, clear or worse the
 * operator's terminal. Human output shows every control character escaped:
 * \n \r \t as such, other C0 characters and DEL as \xNN, C1 characters
 * (U+0080 to U+009F) as \uNNNN. --json output is JSON, escaped by its rules.
 * keep_newlines: for text made of lines (metrics), where they are harmless.
 */
char *
fmt_escape(const char *s, bool keep_newlines)
{
	const unsigned char *p = (const unsigned char *)s;
	char *buf = malloc(strlen(s) * 6 + 1), *o = buf;

	if (!buf)
		return NULL;
	for (; *p; p++) {
		if (*p == '\n' && keep_newlines) {
			*o++ = '\n';
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			*o++ = '\\';
			*o++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			o += sprintf(o, "\\u%04x", p[1]);
			p++;
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return buf;
}

void
fmt_defang(json_t *v, bool keep_newlines)
{
	const char *key;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		char *safe = fmt_escape(json_string_value(v), keep_newlines);

		if (safe && !streq(safe, json_string_value(v)))
			json_string_set(v, safe);
		free(safe);
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, e)
		{
			fmt_defang(e, keep_newlines);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			fmt_defang(e, keep_newlines);
		}
	}
}

void
fmt_json(json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text)
		printf("%s\n", text);
	free(text);
}

const char *
fmt_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

char *
fmt_dur(json_t *o, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return strcpy(buf, "-");
	return format_elapsed((uint64_t)json_integer_value(v), buf, size);
}

char *
fmt_int(json_t *o, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return strcpy(buf, "-");
	snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	return buf;
}

char *
fmt_time(json_t *o, const char *key, char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (!s)
		return strcpy(buf, "-");
	snprintf(buf, size, "%.10s %.8s", s, strlen(s) > 11 ? s + 11 : "");
	return buf;
}
