/* SPDX-License-Identifier: MIT */
/*
 * The event loop. sd-event carries the sources (signals through a signalfd,
 * timers through timerfds, the control socket, the watchdog pings); this file
 * adds the one thing it lacks, a way for worker threads to hand work to the
 * loop thread: a locked FIFO of intrusive messages and an eventfd that makes
 * the loop drain it. Nothing here polls: with no message, no due timer and no
 * signal, the loop sleeps in epoll_wait.
 */
#include "loop.h"

#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

static int
on_posted(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct loop *l = userdata;
	struct loop_msg *m;
	eventfd_t v;

	(void)s;
	(void)revents;
	(void)eventfd_read(fd, &v);
	pthread_mutex_lock(&l->lock);
	m = l->head;
	l->head = NULL;
	l->tail = &l->head;
	pthread_mutex_unlock(&l->lock);
	while (m) {
		struct loop_msg *next = m->next;

		/* fn may free the object holding m: read next first. */
		m->fn(m->data);
		m = next;
	}
	return 0;
}

int
loop_new(struct loop **ret)
{
	struct loop *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->tail = &l->head;
	l->efd = -1;
	r = sd_event_new(&l->e);
	if (r < 0)
		goto fail;
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->efd < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(l->e, &l->efd_src, l->efd, EPOLLIN, on_posted, l);
	if (r < 0)
		goto fail;
	*ret = l;
	return 0;
fail:
	loop_free(l);
	return r;
}

struct loop *
loop_free(struct loop *l)
{
	if (!l)
		return NULL;
	sd_event_source_disable_unref(l->efd_src);
	if (l->efd >= 0)
		close(l->efd);
	sd_event_unref(l->e);
	pthread_mutex_destroy(&l->lock);
	free(l);
	return NULL;
}

void
loop_post(struct loop *l, struct loop_msg *msg, void (*fn)(void *data), void *data)
{
	msg->next = NULL;
	msg->fn = fn;
	msg->data = data;
	pthread_mutex_lock(&l->lock);
	*l->tail = msg;
	l->tail = &msg->next;
	pthread_mutex_unlock(&l->lock);
	(void)eventfd_write(l->efd, 1);
}

struct signals {
	void (*fn)(int sig, void *userdata);
	void *userdata;
};

static int
on_signals(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct signals *w = userdata;
	struct signalfd_siginfo si[16];
	ssize_t n;

	(void)src;
	(void)revents;
	while ((n = read(fd, si, sizeof(si))) > 0)
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
			w->fn((int)si[i].ssi_signo, w->userdata);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("reading signals: %s", strerror(errno));
	return 0;
}

int
loop_add_signals(sd_event *e, sd_event_source **ret, const sigset_t *mask,
                 void (*fn)(int sig, void *userdata), void *userdata)
{
	struct signals *w = malloc(sizeof(*w));
	sd_event_source *src = NULL;
	int fd, r;

	if (!w)
		return -ENOMEM;
	*w = (struct signals){ fn, userdata };
	fd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(w);
		return r;
	}
	r = sd_event_add_io(e, &src, fd, EPOLLIN, on_signals, w);
	if (r < 0) {
		close(fd);
		free(w);
		return r;
	}
	/* The source owns the signalfd and w from here on. */
	(void)sd_event_source_set_io_fd_own(src, true);
	(void)sd_event_source_set_destroy_callback(src, free);
	*ret = src;
	return 0;
}
