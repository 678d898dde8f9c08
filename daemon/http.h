/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

struct http;

/* A parsed metrics_listen value. */
struct http_listen {
	struct sockaddr_storage addr;
	socklen_t len;
};

/*
 * Parses "IPV4:PORT", "[IPV6]:PORT" (numeric addresses, port 0-65535) or an
 * absolute path of a unix socket. 0 and *ret (may be NULL), or -EINVAL with
 * the reason in err.
 */
int http_parse_listen(const char *s, struct http_listen *ret, char *err, size_t size);

/*
 * Answers GET (or HEAD) of path, on the loop thread: returns the HTTP status
 * and, for 200 and 503, the body (malloc'ed, taken) and its content type
 * (static). Anything else gets a short body of http.c's own.
 */
typedef int (*http_get_fn)(const char *path, char **ret_body, const char **ret_type,
                           void *userdata);

/*
 * Listens on listen (see http_parse_listen) and serves HTTP there with
 * libmicrohttpd, driven from the loop (no thread of its own): GET and HEAD
 * only, no request bodies, bounded connections. Logs what fails. Loop
 * thread.
 */
int http_new(sd_event *e, const char *listen, http_get_fn get, void *userdata, struct http **ret);
/* Closes every connection and the socket (and removes a unix socket's path). */
struct http *http_free(struct http *h);
