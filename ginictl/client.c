/* SPDX-License-Identifier: MIT */
/*
 * ginictl's side of the control protocol (proto.h): the connection to
 * ginid's socket, one request line out, reply lines in (events first, then
 * the reply), and the daemon's error codes as ginictl's exit codes. The
 * replies are defanged here, once, before any command prints them.
 */
#include "client.h"

#include "format.h"
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
ctl_connect(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ginictl: socket path %s is too long\n", c->socket);
		return CTL_EXIT_USAGE;
	}
	strcpy(sa.sun_path, c->socket);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (e == EACCES || e == EPERM) {
			fprintf(stderr,
			        "ginictl: permission denied: %s (ask to be added to the "
			        "daemon's control_group)\n",
			        c->socket);
			return CTL_EXIT_PERMISSION;
		}
		fprintf(stderr,
		        "ginictl: cannot reach ginid at %s: %s (is it running? use -s "
		        "SOCKET for another path)\n",
		        c->socket, strerror(e));
		return CTL_EXIT_UNREACHABLE;
	}
	return 0;
}

static int
ctl_send(struct ctl *c, const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:i, s:s, s:o}", "v", PROTO_VERSION, "cmd", cmd, "args",
	                        args ? args : json_object());
	char *text = json_dumps(req, JSON_COMPACT), *nt;
	size_t len, off = 0;
	int r = 0;

	json_decref(req);
	/* NULL when out of memory, or when a string in args is not UTF-8. */
	if (!text) {
		fprintf(stderr, "ginictl: cannot encode the '%s' request\n", cmd);
		return CTL_EXIT_FAILED;
	}
	len = strlen(text);
	nt = realloc(text, len + 2);
	if (!nt) {
		free(text);
		fprintf(stderr, "ginictl: out of memory\n");
		return CTL_EXIT_FAILED;
	}
	text = nt;
	text[len++] = '\n';
	while (off < len) {
		ssize_t n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ginictl: sending to %s: %s\n", c->socket, strerror(errno));
			r = CTL_EXIT_UNREACHABLE;
			break;
		}
		off += (size_t)n;
	}
	free(text);
	return r;
}

/* Reads one reply line; NULL (and *ret_exit) if the daemon went away. */
static json_t *
ctl_read(struct ctl *c, int timeout_ms, int *ret_exit)
{
	for (;;) {
		char *nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		json_error_t err;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - c->buf);
			json_t *msg = json_loadb(c->buf, l, 0, &err);

			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			if (!msg) {
				fprintf(stderr, "ginictl: malformed reply from the daemon: %s\n",
				        err.text);
				*ret_exit = CTL_EXIT_FAILED;
			}
			return msg;
		}
		if (poll(&pfd, 1, timeout_ms) == 0) {
			fprintf(stderr, "ginictl: no reply from ginid within %d s\n",
			        timeout_ms / 1000);
			*ret_exit = CTL_EXIT_UNREACHABLE;
			return NULL;
		}
		{
			char *nb = realloc(c->buf, c->len + 65536 + 1);

			if (!nb) {
				fprintf(stderr, "ginictl: out of memory\n");
				*ret_exit = CTL_EXIT_FAILED;
				return NULL;
			}
			c->buf = nb;
		}
		n = recv(c->fd, c->buf + c->len, 65536, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "ginictl: ginid closed the connection%s%s\n",
			        n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			*ret_exit = CTL_EXIT_UNREACHABLE;
			return NULL;
		}
		c->len += (size_t)n;
	}
}

static int
error_exit(json_t *reply)
{
	const char *code = "", *message = "unknown error";
	json_t *errors;

	json_unpack(json_object_get(reply, "error"), "{s?s, s?s}", "code", &code, "message",
	            &message);
	fprintf(stderr, "ginictl: %s\n", message);
	errors = json_object_get(json_object_get(reply, "error"), "errors");
	for (size_t i = 0; i < json_array_size(errors); i++)
		fprintf(stderr, "  %s\n", json_string_value(json_array_get(errors, i)));
	if (streq(code, PROTO_E_PERMISSION))
		return CTL_EXIT_PERMISSION;
	if (streq(code, PROTO_E_BAD_ARGUMENT) || streq(code, PROTO_E_UNKNOWN_COMMAND) ||
	    streq(code, PROTO_E_VERSION) || streq(code, PROTO_E_BAD_REQUEST))
		return CTL_EXIT_USAGE;
	if (streq(code, PROTO_E_OVERLOADED))
		return CTL_EXIT_UNREACHABLE;
	return CTL_EXIT_FAILED;
}

json_t *
client_request(struct ctl *c, const char *cmd, json_t *args, int timeout_ms,
               void (*on_event)(struct ctl *c, json_t *event), int *ret_exit)
{
	int r;

	*ret_exit = 0;
	if (c->fd < 0 && (r = ctl_connect(c)) != 0) {
		json_decref(args);
		*ret_exit = r;
		return NULL;
	}
	r = ctl_send(c, cmd, args);
	if (r) {
		*ret_exit = r;
		return NULL;
	}
	for (;;) {
		json_t *msg = ctl_read(c, timeout_ms, ret_exit), *result;

		if (!msg)
			return NULL;
		/* Error messages go to the terminal even with --json. */
		if (c->json)
			fmt_defang(json_object_get(msg, "error"), false);
		else
			fmt_defang(msg, c->text_lines);
		if (json_object_get(msg, "event")) {
			if (on_event)
				on_event(c, msg);
			json_decref(msg);
			continue;
		}
		if (!json_is_true(json_object_get(msg, "ok"))) {
			*ret_exit = error_exit(msg);
			json_decref(msg);
			return NULL;
		}
		result = json_incref(json_object_get(msg, "result"));
		json_decref(msg);
		return result;
	}
}

void
client_done(struct ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
}
