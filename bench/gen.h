/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

struct bench;

/* The id of the i-th generated stage type. */
#define GEN_ID_FMT "benchgen-%06zu"
#define GEN_MAX    1000000

/*
 * Returns bench_dir/plugins-N (malloc'ed), holding N generated plugin files
 * benchgen-000000.so ... with the ids GEN_ID_FMT, 0755 in a 0755 directory.
 * Generated once and kept while the template is unchanged. NULL on failure
 * (recorded with bench_fail).
 */
char *gen_plugins(struct bench *b, size_t n);
/* The *.so files of dir, as full paths in sorted order (what the loader sees). */
int gen_list(const char *dir, char ***ret, size_t *ret_n);
void gen_list_free(char **v, size_t n);
