/* SPDX-License-Identifier: MIT */
/*
 * Generated plugins for the loading and scale cases. Compiling 10,000
 * plugins would take minutes, so the template stages/benchgen.so is built
 * once and each copy gets its own id by rewriting the digits of the id
 * literal in its read-only data. Every copy is then a distinct file with a
 * distinct id, a real ELF object that passes every loader check and costs
 * dlopen() exactly what a compiled minimal plugin costs (same segments,
 * relocations and symbols); only the bytes of the id differ. The set is
 * cached in bench_dir/plugins-N and remade when the template changes.
 */
#include "gen.h"

#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER "benchgen-000000"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
gen_list_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int
gen_list(const char *dir, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l <= 3 || strcmp(de->d_name + l - 3, ".so") || de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof(*v));

			if (!nv)
				goto oom;
			v = nv;
		}
		if (asprintf(&v[n], "%s/%s", dir, de->d_name) < 0)
			goto oom;
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	closedir(d);
	gen_list_free(v, n);
	return -ENOMEM;
}

static int
read_all(const char *path, char **ret, size_t *ret_size, struct stat *ret_st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	ssize_t k;

	if (fd < 0)
		return -errno;
	if (fstat(fd, ret_st) < 0 || !(buf = malloc((size_t)ret_st->st_size + 1))) {
		close(fd);
		return -EIO;
	}
	k = read(fd, buf, (size_t)ret_st->st_size);
	close(fd);
	if (k != ret_st->st_size) {
		free(buf);
		return -EIO;
	}
	*ret = buf;
	*ret_size = (size_t)k;
	return 0;
}

static int
write_all(const char *path, const char *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ssize_t k;

	if (fd < 0)
		return -errno;
	k = write(fd, data, size);
	/* The umask may have narrowed the mode; the loader wants exactly this. */
	if (k != (ssize_t)size || fchmod(fd, 0755) < 0) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

char *
gen_plugins(struct bench *b, size_t n)
{
	char *tmpl = bench_path(b, "template/benchgen.so");
	char *dir = NULL, *stamp_path = NULL, *want = NULL, *have = NULL, *data = NULL, *tmp = NULL;
	size_t size, *at = NULL, n_at = 0;
	struct stat st;
	char name[64];
	int r;

	if (n > GEN_MAX) {
		bench_fail(b, "cannot generate %zu plugins (at most %d)", n, GEN_MAX);
		goto fail;
	}
	snprintf(name, sizeof(name), "plugins-%zu", n);
	dir = bench_path(b, name);
	if (asprintf(&stamp_path, "%s/.stamp", dir) < 0)
		goto fail;
	r = read_all(tmpl, &data, &size, &st);
	if (r < 0) {
		bench_fail(b, "%s: %s", tmpl, strerror(-r));
		goto fail;
	}
	if (asprintf(&want, "%s %lld %lld.%09ld %zu\n", MARKER, (long long)st.st_size,
	             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, n) < 0)
		goto fail;
	{
		struct stat sst;
		size_t hs;

		if (read_all(stamp_path, &have, &hs, &sst) == 0 && hs == strlen(want) &&
		    memcmp(have, want, hs) == 0)
			goto done; /* cached */
	}
	/* Every occurrence of the marker (the id literal; -g may copy it). */
	for (size_t i = 0; i + sizeof(MARKER) - 1 <= size; i++)
		if (memcmp(data + i, MARKER, sizeof(MARKER) - 1) == 0) {
			size_t *na = realloc(at, (n_at + 1) * sizeof(*at));

			if (!na)
				goto fail;
			at = na;
			at[n_at++] = i;
		}
	if (n_at == 0) {
		bench_fail(b, "%s: no '%s' to rewrite", tmpl, MARKER);
		goto fail;
	}
	bench_log(b, "generating %zu plugins in %s", n, dir);
	/* Made aside and renamed into place, so a concurrent run never sees
	 * half a set. */
	if (asprintf(&tmp, "%s.tmp.%d", dir, (int)getpid()) < 0)
		goto fail;
	rmtree(tmp);
	if (mkdir(tmp, 0755) < 0 || chmod(tmp, 0755) < 0) {
		bench_fail(b, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		char id[32], path[4096];

		snprintf(id, sizeof(id), GEN_ID_FMT, i);
		for (size_t k = 0; k < n_at; k++)
			memcpy(data + at[k], id, sizeof(MARKER) - 1);
		snprintf(path, sizeof(path), "%s/%s.so", tmp, id);
		r = write_all(path, data, size);
		if (r < 0) {
			bench_fail(b, "%s: %s", path, strerror(-r));
			goto fail;
		}
	}
	{
		char *tmp_stamp = NULL;

		if (asprintf(&tmp_stamp, "%s/.stamp", tmp) < 0 || write_text(tmp_stamp, want) < 0) {
			bench_fail(b, "%s: cannot write the stamp", tmp);
			free(tmp_stamp);
			goto fail;
		}
		free(tmp_stamp);
	}
	/*
	 * Into place. If a set is there (another run was quicker, or a stale
	 * one), ours goes only if that one's stamp is not ours; a stale set is
	 * moved aside first, so the rename itself stays atomic.
	 */
	for (int tries = 0; rename(tmp, dir) < 0; tries++) {
		struct stat sst;
		size_t hs;
		char *old = NULL;

		free(have);
		have = NULL;
		if (read_all(stamp_path, &have, &hs, &sst) == 0 && hs == strlen(want) &&
		    memcmp(have, want, hs) == 0) {
			rmtree(tmp); /* the same bytes are in place */
			break;
		}
		if (tries > 0 || asprintf(&old, "%s.old.%d", dir, (int)getpid()) < 0 ||
		    rename(dir, old) < 0) {
			bench_fail(b, "%s: cannot put the generated plugins in place: %s", dir,
			           strerror(errno));
			free(old);
			goto fail;
		}
		rmtree(old);
		free(old);
	}
done:
	free(tmpl);
	free(tmp);
	free(stamp_path);
	free(want);
	free(have);
	free(data);
	free(at);
	return dir;
fail:
	if (!b->error)
		bench_fail(b, "generating %zu plugins: out of memory", n);
	if (tmp)
		rmtree(tmp);
	free(tmp);
	free(tmpl);
	free(dir);
	free(stamp_path);
	free(want);
	free(have);
	free(data);
	free(at);
	return NULL;
}
