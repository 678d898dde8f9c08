/* SPDX-License-Identifier: MIT */
/*
 * The layout rules that keep the daemon's modules readable, checked on the
 * sources at test time (as check_docs.c checks the manual):
 *
 *  - no include cycle between .c modules: daemon/A.c including "B.h"
 *    (with a daemon/B.c) is an edge A -> B, and no chain of edges leads
 *    back to where it started. A cycle is a sign that one of the modules
 *    owns too much; pass a callback or split the module instead.
 *
 * Every cycle found is printed with its path, not just the first. The
 * layout suite (CK_RUN_SUITE=layout) runs it.
 */
#include "tests.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODULES_MAX 256
#define EDGES_MAX   64

struct module {
	char name[128];
	size_t edges[EDGES_MAX];
	size_t n_edges;
	int color; /* 0 unvisited, 1 on the path, 2 done */
};

static struct module mods[MODULES_MAX];
static size_t n_mods;

static size_t
find_module(const char *name)
{
	for (size_t i = 0; i < n_mods; i++)
		if (!strcmp(mods[i].name, name))
			return i;
	return SIZE_MAX;
}

static void
read_modules(void)
{
	char dir[2048];
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/daemon", test_source_dir());
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	n_mods = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0 ||
		    len - 2 >= sizeof(mods[0].name))
			continue;
		ck_assert_uint_lt(n_mods, MODULES_MAX);
		memset(&mods[n_mods], 0, sizeof(mods[n_mods]));
		memcpy(mods[n_mods].name, e->d_name, len - 2);
		n_mods++;
	}
	closedir(d);
	for (size_t i = 0; i < n_mods; i++) {
		char path[4096], line[1024];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%.127s.c", dir, mods[i].name);
		f = fopen(path, "re");
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f)) {
			char *start, *end;
			size_t j;

			if (strncmp(line, "#include \"", 10) != 0)
				continue;
			start = line + 10;
			end = strstr(start, ".h\"");
			if (!end || memchr(start, '/', (size_t)(end - start)))
				continue;
			*end = '\0';
			j = find_module(start);
			if (j == SIZE_MAX || j == i)
				continue;
			ck_assert_uint_lt(mods[i].n_edges, EDGES_MAX);
			mods[i].edges[mods[i].n_edges++] = j;
		}
		fclose(f);
	}
}

/* Depth-first; an edge back to a module on the path closes a cycle. */
static size_t
visit(size_t v, size_t *path, size_t depth)
{
	size_t found = 0;

	mods[v].color = 1;
	path[depth] = v;
	for (size_t k = 0; k < mods[v].n_edges; k++) {
		size_t w = mods[v].edges[k];

		if (mods[w].color == 1) {
			size_t from = depth;

			/* w is on the path (colour 1): this stops there. */
			while (from > 0 && path[from] != w)
				from--;
			fprintf(stderr, "include cycle:");
			for (size_t i = from; i <= depth; i++)
				fprintf(stderr, " daemon/%s.c ->", mods[path[i]].name);
			fprintf(stderr, " daemon/%s.c\n", mods[w].name);
			found++;
		} else if (mods[w].color == 0) {
			found += visit(w, path, depth + 1);
		}
	}
	mods[v].color = 2;
	return found;
}

START_TEST(no_include_cycles)
{
	size_t path[MODULES_MAX], found = 0;

	read_modules();
	ck_assert_uint_gt(n_mods, 10);
	ck_assert_uint_ne(find_module("control"), SIZE_MAX);
	for (size_t v = 0; v < n_mods; v++)
		if (mods[v].color == 0)
			found += visit(v, path, 0);
	ck_assert_msg(found == 0, "%zu include cycle(s) between daemon modules, see above", found);
}
END_TEST

Suite *
layout_suite(void)
{
	Suite *s = suite_create("layout");
	TCase *tc = tcase_create("includes");

	tcase_add_test(tc, no_include_cycles);
	suite_add_tcase(s, tc);
	return s;
}
