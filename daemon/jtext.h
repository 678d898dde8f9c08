/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>

/*
 * A JSON string of s (NULL: null) that is valid UTF-8 whatever s holds: each
 * byte that does not begin a valid UTF-8 sequence becomes U+FFFD. For every
 * string of outside origin put into a reply.
 */
json_t *jtext(const char *s);
