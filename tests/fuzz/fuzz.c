/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz harnesses (see fuzz.h). */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: invariant violated: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void
fuzz_assert_one_line(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fuzz_fail("%s: control character 0x%02x at offset %zu in \"%s\"", what, *p,
			          (size_t)(p - (const unsigned char *)s), s);
}
