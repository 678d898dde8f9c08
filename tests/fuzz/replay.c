/* SPDX-License-Identifier: MIT */
/*
 * A main() for the fuzz harnesses without libFuzzer: runs the harness once
 * on every file named on the command line, and on every file in every
 * directory named there (not recursively, in sorted order). `make check`
 * runs it on the seed corpus and the regression cases of each harness, with
 * whatever compiler and sanitizers the build uses, so every input that ever
 * found a bug keeps being replayed.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Weak, so harnesses without an initialiser link too. */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (cap - size < 4096) {
			uint8_t *nd = realloc(data, cap = cap * 2 + 4096);

			if (!nd) {
				fclose(f);
				free(data);
				return -1;
			}
			data = nd;
		}
		n = fread(data + size, 1, cap - size, f);
		size += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so ASan sees reads past the end of the input. */
	{
		uint8_t *exact = malloc(size ? size : 1);

		if (!exact) {
			free(data);
			return -1;
		}
		memcpy(exact, data, size);
		free(data);
		LLVMFuzzerTestOneInput(exact, size);
		free(exact);
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir; returns the number run, or -1. */
static int
run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int ran = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char **nv;

		if (de->d_name[0] == '.')
			continue;
		nv = realloc(names, (n + 1) * sizeof(*names));
		if (!nv || !(nv[n] = strdup(de->d_name))) {
			free(nv ? nv : names);
			closedir(d);
			return -1;
		}
		names = nv;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) < 0)
				ran = -1;
			else if (ran >= 0)
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int
main(int argc, char **argv)
{
	int total = 0, failed = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (stat(argv[i], &st) < 0 && errno == ENOENT)
			r = 0; /* a harness without regression cases has no directory */
		else if (S_ISDIR(st.st_mode))
			r = run_dir(argv[i]);
		else
			r = run_file(argv[i]) < 0 ? -1 : 1;
		if (r < 0)
			failed = 1;
		else
			total += r;
	}
	fprintf(stderr, "%s: %d inputs replayed\n", argv[0], total);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
