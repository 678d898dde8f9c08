/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A malloc'ed copy of s with every control character escaped for a
 * terminal (see format.c); NULL on ENOMEM.
 */
char *fmt_escape(const char *s, bool keep_newlines);
/* Escapes every string in v, in place, for human output. */
void fmt_defang(json_t *v, bool keep_newlines);
/* v as indented JSON on stdout. */
void fmt_json(json_t *v);

/*
 * A member of the object o for a table or a line: "-" when it is missing or
 * of another type. Those with a buffer write into it and return it; each
 * call needs its own buffer (or its own part of one) in a single printf.
 */
const char *fmt_str(json_t *o, const char *key);
char *fmt_int(json_t *o, const char *key, char *buf, size_t size);
/* Microseconds for people: "850us", "4.20s", "3m05s". */
char *fmt_dur(json_t *o, const char *key, char *buf, size_t size);
/* ISO 8601 "2026-11-26T02:00:00+01:00" as "2026-11-26 02:00:00". */
char *fmt_time(json_t *o, const char *key, char *buf, size_t size);
