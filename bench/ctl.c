/* SPDX-License-Identifier: MIT */
/*
 * Case 9: the control socket under load. A load thread keeps N clients
 * (100 in full) busy in a closed loop, each sending {"cmd":"status"} and
 * sending again as soon as its reply line is complete, and records every
 * round-trip; meanwhile the main thread runs the real `ginictl status`
 * again and again and times each (process start included). The floor is
 * gini-floor's echo server, a Unix stream socket in epoll answering each
 * line with a short reply, under the same load; next to `ginictl status`
 * runs `ginictl --version`, the program's own start-up.
 */
#include "bench.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REQUEST   "{\"v\":1,\"cmd\":\"status\"}\n"
#define REPLY_MAX (1u << 20)

struct client {
	int fd;
	uint64_t sent;
	char *buf;
	size_t len;
};

struct load {
	const char *path;
	unsigned n_clients;
	uint64_t duration_ns;
	double *lat; /* µs */
	size_t n, cap;
	char error[256];
};

static int
client_send(struct client *c)
{
	c->sent = mono_ns();
	return send(c->fd, REQUEST, sizeof(REQUEST) - 1, MSG_NOSIGNAL) ==
	                       (ssize_t)sizeof(REQUEST) - 1
	               ? 0
	               : -1;
}

static void
record(struct load *l, double usec)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		double *v = realloc(l->lat, cap * sizeof(*v));

		if (!v)
			return;
		l->lat = v;
		l->cap = cap;
	}
	l->lat[l->n++] = usec;
}

/* Reads what c has; for each complete reply, records it and asks again. */
static int
client_read(struct load *l, struct client *c)
{
	ssize_t k = read(c->fd, c->buf + c->len, REPLY_MAX - c->len);
	char *nl;

	if (k < 0 && errno == EAGAIN)
		return 0;
	if (k <= 0)
		return -1;
	c->len += (size_t)k;
	while ((nl = memchr(c->buf, '\n', c->len))) {
		size_t used = (size_t)(nl + 1 - c->buf);

		record(l, (double)(mono_ns() - c->sent) / 1000);
		if (strncmp(c->buf, "{", 1) || !memmem(c->buf, used, "\"ok\":true", 9)) {
			snprintf(l->error, sizeof(l->error), "unexpected reply: %.100s", c->buf);
			return -1;
		}
		memmove(c->buf, nl + 1, c->len - used);
		c->len -= used;
		if (client_send(c) < 0)
			return -1;
	}
	return c->len == REPLY_MAX ? -1 : 0;
}

static void *
load_main(void *arg)
{
	struct load *l = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct client *cs = calloc(l->n_clients, sizeof(*cs));
	int efd = epoll_create1(EPOLL_CLOEXEC);
	uint64_t end;

	if (!cs || efd < 0 || strlen(l->path) >= sizeof(sa.sun_path)) {
		snprintf(l->error, sizeof(l->error), "cannot set up the clients");
		goto out;
	}
	strcpy(sa.sun_path, l->path);
	for (unsigned i = 0; i < l->n_clients; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		struct client *c = &cs[i];

		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		c->buf = malloc(REPLY_MAX);
		if (c->fd < 0 || !c->buf ||
		    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0 ||
		    epoll_ctl(efd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			snprintf(l->error, sizeof(l->error), "client %u: cannot connect to %s: %s",
			         i, l->path, strerror(errno));
			goto out;
		}
	}
	for (unsigned i = 0; i < l->n_clients; i++)
		if (client_send(&cs[i]) < 0) {
			snprintf(l->error, sizeof(l->error), "cannot send: %s", strerror(errno));
			goto out;
		}
	end = mono_ns() + l->duration_ns;
	while (mono_ns() < end) {
		struct epoll_event evs[64];
		int n = epoll_wait(efd, evs, 64, 100);

		for (int i = 0; i < n; i++)
			if (client_read(l, &cs[evs[i].data.u32]) < 0) {
				if (!l->error[0])
					snprintf(l->error, sizeof(l->error),
					         "client %u: connection lost", evs[i].data.u32);
				goto out;
			}
	}
out:
	for (unsigned i = 0; cs && i < l->n_clients; i++) {
		if (cs[i].fd > 0)
			close(cs[i].fd);
		free(cs[i].buf);
	}
	free(cs);
	if (efd >= 0)
		close(efd);
	return NULL;
}

struct ctl_rows {
	struct row *p50, *p99, *rate, *cli50, *cli99;
};

/*
 * One repetition against one server: the load for the duration and, while
 * it runs, k runs of argv. Adds to the gini or the base side of the rows.
 */
static int
measure(struct bench *b, const char *sock, unsigned clients, uint64_t duration_ns,
        char *const *argv, unsigned k, struct ctl_rows *rows, bool base)
{
	struct load l = { .path = sock, .n_clients = clients, .duration_ns = duration_ns };
	double *cli = calloc(k, sizeof(double));
	pthread_t t;
	int r = -1;

	if (!cli || pthread_create(&t, NULL, load_main, &l) != 0) {
		free(cli);
		return bench_fail(b, "cannot start the load thread");
	}
	/* Let the clients connect and get going first. */
	sleep_usec(duration_ns / 1000 / 10);
	for (unsigned i = 0; i < k && !b->error; i++)
		run_timed(b, argv, &cli[i]);
	pthread_join(t, NULL);
	if (l.error[0]) {
		bench_fail(b, "%s", l.error);
		goto out;
	}
	if (b->error || l.n == 0) {
		bench_fail(b, "no round-trips on %s", sock);
		goto out;
	}
	series_add(base ? &rows->p50->base : &rows->p50->gini, quantile(l.lat, l.n, 0.50));
	series_add(base ? &rows->p99->base : &rows->p99->gini, quantile(l.lat, l.n, 0.99));
	series_add(base ? &rows->rate->base : &rows->rate->gini,
	           (double)l.n / ((double)duration_ns / 1e9));
	series_add(base ? &rows->cli50->base : &rows->cli50->gini, quantile(cli, k, 0.50));
	series_add(base ? &rows->cli99->base : &rows->cli99->gini, quantile(cli, k, 0.99));
	r = 0;
out:
	free(l.lat);
	free(cli);
	return r;
}

int
case_control(struct bench *b)
{
	unsigned clients = (unsigned)bench_size(b, 5, 100, 100);
	uint64_t duration = bench_size(b, 200, 1000, 3000) * 1000000ull;
	unsigned k = (unsigned)bench_size(b, 2, 15, 40);
	char *bundled = NULL, *conf = NULL, *gsock = NULL, *fsock = NULL, *ginictl = NULL;
	struct ctl_rows rows;
	struct rig g;
	char what[128];
	int r = -1;

	if (rig_init(b, &g, "control") < 0 || asprintf(&bundled, "%s/stages", b->build_dir) < 0 ||
	    asprintf(&gsock, "%s/ctl.sock", g.dir) < 0 ||
	    asprintf(&fsock, "%s/echo.sock", g.dir) < 0 ||
	    asprintf(&ginictl, "%s/ginictl", b->build_dir) < 0)
		goto out;
	{
		/* Twenty pipelines, so status has something to say. */
		size_t len = 0;
		FILE *f = open_memstream(&conf, &len);

		if (!f)
			goto out;
		fprintf(f, "# case 9: twenty hourly pipelines.\npipelines = (\n");
		for (int i = 0; i < 20; i++)
			fprintf(f,
			        "{ name = \"p%d\"; triggers = { every = \"1h\"; }; steps = ({ id = "
			        "\"say\"; stage = \"log\"; params = { message = \"hello\"; }; }); "
			        "}%s\n",
			        i, i < 19 ? "," : "");
		fprintf(f, ");\n");
		if (fclose(f) != 0)
			goto out;
	}
	{
		const char *dirs[] = { bundled };

		if (rig_start_gini(b, &g, conf, dirs, 1) < 0)
			goto out;
	}
	if (rig_start_floor(b, &g, "echo", fsock, NULL) < 0)
		goto out;

	snprintf(what, sizeof(what), "status round-trip p50, %u clients in a closed loop", clients);
	rows.p50 = bench_row(b, what, "us", "echo server, same load");
	snprintf(what, sizeof(what), "status round-trip p99, %u clients in a closed loop", clients);
	rows.p99 = bench_row(b, what, "us", "echo server, same load");
	snprintf(what, sizeof(what), "status requests served, %u clients", clients);
	rows.rate = bench_row(b, what, "req/s", "echo server, same load");
	row_target(rows.rate, TARGET_RATIO_GE, 1.0 / 3, ">= 1/3 of the echo server");
	snprintf(what, sizeof(what), "ginictl status p50, under that load");
	rows.cli50 = bench_row(b, what, "ms", "ginictl --version, same load");
	snprintf(what, sizeof(what), "ginictl status p99, under that load");
	rows.cli99 = bench_row(b, what, "ms", "ginictl --version, same load");

	for (unsigned rep = 0; rep < b->reps; rep++) {
		char *status[] = { ginictl, "-s", gsock, "status", NULL };
		char *version[] = { ginictl, "--version", NULL };

		if (measure(b, gsock, clients, duration, status, k, &rows, false) < 0 ||
		    measure(b, fsock, clients, duration, version, k, &rows, true) < 0)
			goto out;
		/* The daemon's notifications, queued meanwhile. */
		proc_drain(&g.gini);
	}
	r = 0;
out:
	rig_done(&g);
	free(bundled);
	free(conf);
	free(gsock);
	free(fsock);
	free(ginictl);
	return r;
}
