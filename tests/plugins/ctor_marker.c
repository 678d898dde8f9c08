/* SPDX-License-Identifier: MIT */
/*
 * Bad-plugin corpus: an ordinary library (no stage_descriptor) whose
 * constructor writes the file named by $GINI_TEST_MARKER. The loader's ELF
 * pre-check must refuse it without ever running that constructor.
 */
/* expect: does not export stage_descriptor */
#include <gini/stage.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

GINI_EXPORT int some_library_function(void);

__attribute__((constructor)) static void
leave_marker(void)
{
	const char *path = getenv("GINI_TEST_MARKER");
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, "constructor ran\n", 16) < 0)
			unlink(path);
		close(fd);
	}
}

GINI_EXPORT int
some_library_function(void)
{
	return 1;
}
