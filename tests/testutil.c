/* SPDX-License-Identifier: MIT */
/* Helpers shared by the test suites: paths in the build tree, temporary
 * directories, and capture of the daemon's log lines. */
#include "tests.h"

#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
test_build_dir(void)
{
	const char *e = getenv("GINI_TEST_BUILD_DIR");

	return e ? e : GINI_BUILD_DIR;
}

const char *
test_source_dir(void)
{
	return GINI_SOURCE_DIR;
}

char *
test_build_path(const char *rel)
{
	static char buf[8][4096];
	static unsigned next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", test_build_dir(), rel);
	return b;
}

char *
test_tmpdir(const char *tag)
{
	char *path;
	char base[4096];

	snprintf(base, sizeof(base), "%s/tmp", test_build_dir());
	mkdir(base, 0755);
	ck_assert_int_ne(asprintf(&path, "%s/%s.XXXXXX", base, tag), -1);
	ck_assert_ptr_nonnull(mkdtemp(path));
	ck_assert_int_eq(chmod(path, 0755), 0);
	return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void
test_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
test_copy_file(const char *from, const char *to, unsigned mode)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out;

	ck_assert_msg(in >= 0, "open %s: %s", from, strerror(errno));
	unlink(to);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(out >= 0, "open %s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(fchmod(out, mode), 0);
	close(in);
	close(out);
}

void
test_write_file(const char *path, const char *text, unsigned mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Log lines may come from worker threads; capture_lock guards both. */
static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
static char **captured;
static size_t n_captured;

static void
capture(int level, const char *msg, void *userdata)
{
	(void)level;
	(void)userdata;
	pthread_mutex_lock(&capture_lock);
	strv_push(&captured, &n_captured, msg);
	pthread_mutex_unlock(&capture_lock);
}

void
test_log_capture_start(void)
{
	strv_free(captured);
	captured = NULL;
	n_captured = 0;
	log_set_sink(capture, NULL);
}

void
test_log_capture_stop(void)
{
	log_set_sink(NULL, NULL);
}

const char *
test_log_find(const char *needle)
{
	const char *found = NULL;

	pthread_mutex_lock(&capture_lock);
	for (size_t i = 0; i < n_captured && !found; i++)
		if (strstr(captured[i], needle))
			found = captured[i];
	pthread_mutex_unlock(&capture_lock);
	return found;
}

size_t
test_log_count(const char *needle)
{
	size_t n = 0;

	pthread_mutex_lock(&capture_lock);
	for (size_t i = 0; i < n_captured; i++)
		if (strstr(captured[i], needle))
			n++;
	pthread_mutex_unlock(&capture_lock);
	return n;
}

static int
is_plugin_source(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 2 && streq(e->d_name + n - 2, ".c");
}

/* Reads the expectation line of one fixture into b; false if it has none. */
static bool
read_bad_plugin(const char *dir, const char *name, struct test_bad_plugin *b)
{
	static const char *const keys[] = { "/* expect: ", "/* expect-load: " };
	char path[4096 + 256], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	for (unsigned lineno = 1; !found && fgets(line, sizeof(line), f); lineno++)
		for (size_t k = 0; k < ARRAY_SIZE(keys) && !found; k++) {
			size_t klen = strlen(keys[k]), len;

			if (strncmp(line, keys[k], klen) != 0)
				continue;
			line[strcspn(line, "\n")] = 0;
			len = strlen(line);
			ck_assert_msg(len > klen + 3 && streq(line + len - 3, " */"),
			              "%s:%u: expected \"%sREASON */\"", path, lineno, keys[k]);
			snprintf(b->file, sizeof(b->file), "%.*s.so", (int)(strlen(name) - 2),
			         name);
			snprintf(b->reason, sizeof(b->reason), "%.*s", (int)(len - klen - 3),
			         line + klen);
			b->load_only = k == 1;
			found = true;
		}
	fclose(f);
	return found;
}

size_t
test_bad_plugins(struct test_bad_plugin **ret_v)
{
	char dir[4096];
	struct dirent **names = NULL;
	struct test_bad_plugin *v;
	size_t n = 0;
	int m;

	snprintf(dir, sizeof(dir), "%s/tests/plugins", test_source_dir());
	m = scandir(dir, &names, is_plugin_source, alphasort);
	ck_assert_msg(m > 0, "%s: no plugin sources", dir);
	v = calloc((size_t)m, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	for (int i = 0; i < m; i++) {
		if (read_bad_plugin(dir, names[i]->d_name, &v[n]))
			n++;
		free(names[i]);
	}
	free(names);
	ck_assert_msg(n > 0, "%s: no fixture says what it expects", dir);
	*ret_v = v;
	return n;
}
