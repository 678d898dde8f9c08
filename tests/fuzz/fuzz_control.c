/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the control protocol: the request parser and every command's
 * dispatcher, in a real manager with its event loop, exactly as a client
 * reaches them. Each input is one client session on a socketpair adopted by
 * control_attach_fd():
 *
 *   byte 0       who the client is: bit 0 clear, root (every command); set,
 *                an unprivileged stranger (every command must be refused)
 *   byte 1       chunk size, 1 to 256: the rest of the input is written in
 *                chunks of that many bytes, the loop turning between them, so
 *                lines arrive split at arbitrary points
 *   the rest     what the client sends
 *
 * Invariants, checked on every input: each reply line the daemon sends is
 * one JSON object with "v": 1 and either "ok" or "event"; a stranger never
 * gets an ok reply; when the client hangs up, the daemon frees the
 * connection; the daemon itself never crashes, hangs or leaks.
 *
 * The manager runs once per process, on a configuration written to a
 * directory of its own ($GINI_FUZZ_TMP, default build/), with the bundled
 * stages of $GINI_FUZZ_STAGES (default build/stages) when they are there:
 * then "run" has pipelines to start, wait for, queue and dry-run.
 */
#include "fuzz.h"

#include "control.h"
#include "diag.h"
#include "generation.h"
#include "manager.h"
#include "proto.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct manager *m;
static struct control *ctl;

/* Turns the loop until nothing is left to do right now. */
static void
spin(void)
{
	for (int i = 0; i < 64; i++)
		if (sd_event_run(manager_event(m), 0) <= 0)
			break;
}

static void
check_reply(const char *line, size_t len, bool stranger)
{
	json_error_t err;
	json_t *r = json_loadb(line, len, 0, &err), *ok;

	if (!json_is_object(r))
		fuzz_fail("reply is not a JSON object: %.*s", (int)MIN(len, 200), line);
	if (json_integer_value(json_object_get(r, "v")) != PROTO_VERSION)
		fuzz_fail("reply without \"v\": 1: %.*s", (int)MIN(len, 200), line);
	ok = json_object_get(r, "ok");
	if (!json_is_boolean(ok) && !json_object_get(r, "event"))
		fuzz_fail("reply with neither \"ok\" nor \"event\": %.*s", (int)MIN(len, 200),
		          line);
	if (stranger && json_is_true(ok))
		fuzz_fail("a stranger got an ok reply: %.*s", (int)MIN(len, 200), line);
	json_decref(r);
}

/* Reads what the daemon sent and checks each complete line. */
static void
drain(int fd, char **buf, size_t *len, bool stranger)
{
	char tmp[65536];
	ssize_t n;

	while ((n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0) {
		char *nb = realloc(*buf, *len + (size_t)n + 1), *nl;

		if (!nb) {
			fuzz_fail("out of memory");
			return; /* not reached; for the analysers */
		}
		*buf = nb;
		memcpy(*buf + *len, tmp, (size_t)n);
		*len += (size_t)n;
		while ((nl = memchr(*buf, '\n', *len))) {
			size_t l = (size_t)(nl - *buf);

			check_reply(*buf, l, stranger);
			memmove(*buf, nl + 1, *len - l - 1);
			*len -= l + 1;
		}
	}
}

static int
noop_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor noop = {
	GINI_DESCRIPTOR_HEADER, .id = "noop",
	.version = "1.0.0",     .summary = "does nothing",
	.category = "test",     .flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.run = noop_run,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("GINI_FUZZ_TMP"), *stages = getenv("GINI_FUZZ_STAGES");
	char dir[1024], conf[1200], text[16384], probe[1200];
	char *stages_abs, *base_abs;
	bool have_stages;
	struct diags d = { 0 };
	struct stage_type *t;
	sigset_t set;

	(void)argc;
	(void)argv;
	/* The loop reads these from a signalfd: blocked, as in ginid. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(&set, s);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Absolute: relative paths in the config resolve against its directory. */
	base_abs = realpath(base ? base : "build", NULL);
	if (!base_abs) {
		fuzz_fail("%s: %s", base ? base : "build", strerror(errno));
		return 1; /* not reached; for the analysers */
	}
	snprintf(dir, sizeof(dir), "%s/fuzz-control.XXXXXX", base_abs);
	free(base_abs);
	if (!mkdtemp(dir))
		fuzz_fail("mkdtemp %s: %s", dir, strerror(errno));
	if (!stages)
		stages = "build/stages";
	snprintf(probe, sizeof(probe), "%s/sleep.so", stages);
	have_stages = access(probe, R_OK) == 0;
	/* Relative paths in the config resolve against its own directory. */
	stages_abs = have_stages ? realpath(stages, NULL) : NULL;
	have_stages = stages_abs != NULL;
	snprintf(conf, sizeof(conf), "%s/gini.conf", dir);
	snprintf(text, sizeof(text),
	         "plugin_dirs = [ \"%s\" ];\n"
	         "control_socket = \"%s/ctl.sock\";\n"
	         "state_dir = \"%s\";\n"
	         "workers = 2;\n"
	         "log_level = \"error\";\n"
	         "probe_plugins = false;\n"
	         "%s",
	         have_stages ? stages_abs : dir, dir, dir,
	         have_stages ? "pipelines = (\n"
	                       "  { name = \"p\"; overlap = \"queue\"; steps = (\n"
	                       "    { id = \"a\"; stage = \"sleep\"; params = { duration = "
	                       "\"2ms\"; }; },\n"
	                       "    { id = \"b\"; stage = \"fail\"; after = \"a\"; } ); },\n"
	                       "  { name = \"q\"; steps = ( { id = \"x\"; stage = \"sleep\"; "
	                       "params = { duration = \"1ms\"; }; } ); }\n"
	                       ");\n"
	                     : "");
	free(stages_abs);
	if (write_file_atomic(conf, text, strlen(text), 0644) < 0)
		fuzz_fail("cannot write %s", conf);
	if (manager_new(conf, NULL, &m, &d) < 0)
		fuzz_fail("manager_new failed (%zu config errors)", d.n);
	diags_done(&d);
	/* A stage type for "stages" and "metrics" to list. */
	t = stage_type_new(&noop, NULL, NULL);
	if (!t || registry_add(manager_generation(m)->registry, t) < 0)
		fuzz_fail("cannot register the noop stage");
	stage_type_unref(t);
	if (manager_start(m) < 0 || control_new(m, manager_event(m), &ctl) < 0 ||
	    manager_ready(m) < 0)
		fuzz_fail("manager_start failed");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucred stranger = { .pid = 1, .uid = 4242, .gid = 4242 };
	size_t chunk, off, before = control_connections(ctl), len = 0;
	bool is_stranger;
	char *buf = NULL;
	int sv[2];

	if (size < 2)
		return 0;
	is_stranger = data[0] & 1;
	chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %s", strerror(errno));
	(void)fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (control_attach_fd(ctl, sv[0], is_stranger ? &stranger : NULL) < 0)
		fuzz_fail("control_attach_fd failed");
	for (off = 0; off < size;) {
		size_t n = MIN(chunk, size - off);
		ssize_t w = send(sv[1], data + off, n, MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN)
			break; /* the daemon closed the connection: fine */
		if (w > 0)
			off += (size_t)w;
		spin();
		drain(sv[1], &buf, &len, is_stranger);
	}
	/* Hang up; the daemon must notice and forget the connection. */
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 100 && control_connections(ctl) > before; i++) {
		spin();
		drain(sv[1], &buf, &len, is_stranger);
		if (control_connections(ctl) > before)
			(void)sd_event_run(manager_event(m), 1000);
	}
	close(sv[1]);
	spin();
	if (control_connections(ctl) > before) {
		/* A run --wait in flight keeps it until the run ends. */
		for (int i = 0; i < 1000 && control_connections(ctl) > before; i++)
			(void)sd_event_run(manager_event(m), 1000);
		if (control_connections(ctl) > before)
			fuzz_fail("a closed connection was not freed (%zu open)",
			          control_connections(ctl));
	}
	free(buf);
	return 0;
}
