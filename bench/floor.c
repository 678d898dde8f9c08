/* SPDX-License-Identifier: MIT */
/*
 * gini-floor: the bare processes the daemon is measured against. Each is
 * the least a program can do for the job, written the way a careful daemon
 * would, and linked against nothing but libc:
 *
 *   gini-floor signalfd FIFO   SIGUSR1 read from a signalfd in epoll; on each
 *                              one, the CLOCK_MONOTONIC time of the wake-up
 *                              goes to FIFO (8 bytes, ns)
 *   gini-floor timerfd FIFO START_NS PERIOD_NS
 *                              a CLOCK_MONOTONIC timerfd due at START_NS and
 *                              every PERIOD_NS after; each wake-up stamped
 *   gini-floor idle FIFO       an epoll loop with nothing to do
 *   gini-floor echo FIFO SOCKET
 *                              a Unix stream server in epoll answering each
 *                              request line with one short reply line, the
 *                              floor of a line-based control protocol
 *   gini-floor notify          the bare daemon: an epoll loop with nothing to
 *                              do that says READY=1 on $NOTIFY_SOCKET once
 *                              set up, as a Type=notify service does
 *
 * Each first writes a zero stamp to FIFO once it is set up (the bench waits
 * for it before it signals), or for notify sends READY=1, and exits on
 * SIGTERM, which it also reads from the signalfd, so nothing runs in signal
 * context.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
stamp(int fd, uint64_t ns)
{
	return write(fd, &ns, sizeof(ns)) == (ssize_t)sizeof(ns) ? 0 : -1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: gini-floor signalfd FIFO\n"
	                "       gini-floor timerfd FIFO START_NS PERIOD_NS\n"
	                "       gini-floor idle FIFO\n"
	                "       gini-floor echo FIFO SOCKET\n"
	                "       gini-floor notify\n");
	return 2;
}

/* One connection of the echo floor: a partial request line. */
struct conn {
	int fd;
	size_t len;
	char buf[65536];
};

/* The echo floor's connections, by descriptor. */
#define CONNS_MAX 4096
static struct conn *conns[CONNS_MAX];

/* Answers every complete line in c; -1 when the connection is done. */
static int
echo_serve(struct conn *c)
{
	static const char reply[] = "{\"v\":1,\"ok\":true,\"result\":{}}\n";
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	char *start = c->buf, *nl;

	if (n <= 0)
		return n < 0 && errno == EAGAIN ? 0 : -1;
	c->len += (size_t)n;
	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
		if (send(c->fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(reply) - 1)
			return -1;
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	return c->len == sizeof(c->buf) ? -1 : 0;
}

static int
echo_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0)
		return -1;
	return fd;
}

/* The sd_notify datagram, from a socket that is not kept. */
static int
notify_ready(void)
{
	static const char msg[] = "READY=1";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t len;
	int fd, r;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) ==
	                    (ssize_t)sizeof(msg) - 1
	            ? 0
	            : -1;
	close(fd);
	return r;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	int out, sfd, efd, tfd = -1, lfd = -1;
	bool timer, echo, notify;

	if (argc < 2)
		return usage();
	timer = strcmp(argv[1], "timerfd") == 0;
	echo = strcmp(argv[1], "echo") == 0;
	notify = strcmp(argv[1], "notify") == 0;
	if (timer    ? argc != 5
	    : echo   ? argc != 4
	    : notify ? argc != 2
	             : argc != 3 || (strcmp(argv[1], "signalfd") && strcmp(argv[1], "idle")))
		return usage();
	out = notify ? -1 : open(argv[2], O_WRONLY | O_CLOEXEC);
	if (out < 0 && !notify) {
		fprintf(stderr, "gini-floor: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	if (strcmp(argv[1], "signalfd") == 0)
		sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || efd < 0)
		return 1;
	ev.data.fd = sfd;
	if (epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev) < 0)
		return 1;
	if (timer) {
		uint64_t start = strtoull(argv[3], NULL, 10), period = strtoull(argv[4], NULL, 10);
		struct itimerspec its = {
			.it_value = { (time_t)(start / 1000000000u), (long)(start % 1000000000u) },
			.it_interval = { (time_t)(period / 1000000000u),
			                 (long)(period % 1000000000u) },
		};

		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (tfd < 0 || period == 0 ||
		    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
			return 1;
		ev.data.fd = tfd;
		if (epoll_ctl(efd, EPOLL_CTL_ADD, tfd, &ev) < 0)
			return 1;
	}
	if (echo) {
		lfd = echo_listen(argv[3]);
		ev.data.fd = lfd;
		if (lfd < 0 || epoll_ctl(efd, EPOLL_CTL_ADD, lfd, &ev) < 0)
			return 1;
	}
	if (notify ? notify_ready() < 0 : stamp(out, 0) < 0)
		return 1;
	for (;;) {
		struct epoll_event got;
		int n = epoll_wait(efd, &got, 1, -1);
		uint64_t now = mono_ns();

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		if (echo && got.data.fd == lfd) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			struct conn *k;

			if (c < 0)
				continue;
			k = calloc(1, sizeof(*k));
			if (!k) {
				close(c);
				continue;
			}
			k->fd = c;
			ev.data.fd = c;
			if (c >= CONNS_MAX || epoll_ctl(efd, EPOLL_CTL_ADD, c, &ev) < 0) {
				close(c);
				free(k);
				continue;
			}
			conns[c] = k;
			continue;
		}
		if (echo && got.data.fd != sfd) {
			struct conn *k = conns[got.data.fd];

			if (k && echo_serve(k) < 0) {
				conns[k->fd] = NULL;
				close(k->fd);
				free(k);
			}
			continue;
		}
		if (got.data.fd == tfd) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				return 1;
			if (stamp(out, now) < 0)
				return 1;
		} else {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGTERM)
					return 0;
				if (stamp(out, now) < 0)
					return 1;
			}
		}
	}
}
