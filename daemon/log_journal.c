/* SPDX-License-Identifier: MIT */
/*
 * Logging to the journal: log_open() finds out whether stderr is the
 * journal's stream (JOURNAL_STREAM) and, if so, hands log.c the sender
 * below, which writes each line with sd_journal_sendv() and its fields. In
 * a file of its own so that only the programs that call log_open() (ginid)
 * link libsystemd for it; helpers such as gini-worker log through a sink.
 */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

/* The native journal protocol; 0, or negative errno (then use stderr). */
static int
journal_send(int level, const struct log_fields *f, const char *msg)
{
	char prio[16], run[48], gen[48], *p = NULL, *step = NULL, *stage = NULL;
	struct iovec iov[8];
	int n = 0, r = -ENOMEM;

	snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
	iov[n++] = (struct iovec){ (void *)msg, strlen(msg) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ (void *)"SYSLOG_IDENTIFIER=ginid", 23 };
	if (f && f->pipeline) {
		if (asprintf(&p, "GINI_PIPELINE=%s", f->pipeline) < 0)
			goto out;
		iov[n++] = (struct iovec){ p, strlen(p) };
	}
	if (f && f->run) {
		snprintf(run, sizeof(run), "GINI_RUN=%llu", (unsigned long long)f->run);
		iov[n++] = (struct iovec){ run, strlen(run) };
	}
	if (f && f->step) {
		if (asprintf(&step, "GINI_STEP=%s", f->step) < 0)
			goto out;
		iov[n++] = (struct iovec){ step, strlen(step) };
	}
	if (f && f->stage) {
		if (asprintf(&stage, "GINI_STAGE=%s", f->stage) < 0)
			goto out;
		iov[n++] = (struct iovec){ stage, strlen(stage) };
	}
	if (f && f->generation) {
		snprintf(gen, sizeof(gen), "GINI_GENERATION=%llu",
		         (unsigned long long)f->generation);
		iov[n++] = (struct iovec){ gen, strlen(gen) };
	}
	r = sd_journal_sendv(iov, n);
out:
	free(p);
	free(step);
	free(stage);
	return r;
}

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream journald handed us. */
static bool
parse_journal_stream(const char *s, unsigned long long *ret_dev, unsigned long long *ret_ino)
{
	unsigned long long dev, ino;
	char *end;

	errno = 0;
	dev = strtoull(s, &end, 10);
	if (errno || end == s || *end != ':')
		return false;
	s = end + 1;
	ino = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*ret_dev = dev;
	*ret_ino = ino;
	return true;
}

void
log_open(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e && parse_journal_stream(e, &dev, &ino) && fstat(STDERR_FILENO, &st) == 0 &&
	    st.st_dev == dev && st.st_ino == ino)
		log_set_journal(journal_send);
}
