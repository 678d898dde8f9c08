/* SPDX-License-Identifier: MIT */
/*
 * The opt-in metrics endpoint (metrics_listen): GET /metrics (the Prometheus
 * text of `ginictl metrics`) and GET /health (the JSON of `ginictl health`,
 * 200 when healthy, 503 when not), over HTTP on a TCP or unix socket.
 *
 * libmicrohttpd parses the protocol; this file never looks at raw bytes.
 * It runs without a thread of its own ("external polling"): MHD's epoll fd
 * is an I/O source of the daemon's sd-event loop and its connection
 * timeouts a timer there, so MHD_run() and the request handler run on the
 * loop thread, which owns the state they report; nothing is shared with
 * another thread. MHD's sockets are non-blocking, so a slow client holds
 * a connection slot, never the loop.
 *
 * libmicrohttpd is loaded (dlopen) when an endpoint is configured, not
 * linked: it brings ten libraries (GnuTLS and its own dependencies) whose
 * pages were 590 kB of the idle daemon's 2887 kB PSS and whose loading and
 * relocation every start paid, for a feature that is off by default. Its
 * soname comes from the build (GINI_MHD_SONAME); the functions used are
 * looked up once and called through pointers of their own prototypes'
 * types, so the compiler still checks every call against <microhttpd.h>.
 *
 * Limits: HTTP_CONNS_MAX connections in all, HTTP_CONNS_PER_IP from one
 * address (TCP only), HTTP_IDLE_SEC without progress closes a connection,
 * and a request's headers must fit in HTTP_MEMORY_MAX bytes. Only GET and
 * HEAD are served (405 otherwise), requests with a body are refused (413
 * with a length, 400 with a transfer coding), paths other than /metrics and
 * /health get 404.
 */
#include "http.h"

#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef GINI_MHD_SONAME
#define GINI_MHD_SONAME "libmicrohttpd.so.12"
#endif

/* The libmicrohttpd functions this file calls, set by mhd_load(). */
static __typeof__(MHD_add_response_header) *p_MHD_add_response_header;
static __typeof__(MHD_create_response_from_buffer) *p_MHD_create_response_from_buffer;
static __typeof__(MHD_destroy_response) *p_MHD_destroy_response;
static __typeof__(MHD_get_daemon_info) *p_MHD_get_daemon_info;
static __typeof__(MHD_get_timeout) *p_MHD_get_timeout;
static __typeof__(MHD_lookup_connection_value) *p_MHD_lookup_connection_value;
static __typeof__(MHD_queue_response) *p_MHD_queue_response;
static __typeof__(MHD_run) *p_MHD_run;
static __typeof__(MHD_start_daemon) *p_MHD_start_daemon;
static __typeof__(MHD_stop_daemon) *p_MHD_stop_daemon;

static const struct {
	const char *name;
	void **fn;
} mhd_functions[] = {
	{ "MHD_add_response_header", (void **)&p_MHD_add_response_header },
	{ "MHD_create_response_from_buffer", (void **)&p_MHD_create_response_from_buffer },
	{ "MHD_destroy_response", (void **)&p_MHD_destroy_response },
	{ "MHD_get_daemon_info", (void **)&p_MHD_get_daemon_info },
	{ "MHD_get_timeout", (void **)&p_MHD_get_timeout },
	{ "MHD_lookup_connection_value", (void **)&p_MHD_lookup_connection_value },
	{ "MHD_queue_response", (void **)&p_MHD_queue_response },
	{ "MHD_run", (void **)&p_MHD_run },
	{ "MHD_start_daemon", (void **)&p_MHD_start_daemon },
	{ "MHD_stop_daemon", (void **)&p_MHD_stop_daemon },
};

/* From here on, each call goes through the loaded pointer. */
#define MHD_add_response_header         (*p_MHD_add_response_header)
#define MHD_create_response_from_buffer (*p_MHD_create_response_from_buffer)
#define MHD_destroy_response            (*p_MHD_destroy_response)
#define MHD_get_daemon_info             (*p_MHD_get_daemon_info)
#define MHD_get_timeout                 (*p_MHD_get_timeout)
#define MHD_lookup_connection_value     (*p_MHD_lookup_connection_value)
#define MHD_queue_response              (*p_MHD_queue_response)
#define MHD_run                         (*p_MHD_run)
#define MHD_start_daemon                (*p_MHD_start_daemon)
#define MHD_stop_daemon                 (*p_MHD_stop_daemon)

/*
 * Loads libmicrohttpd and its functions once (kept loaded: an endpoint
 * may come back with a reload). 0, or -ENOENT with the reason in err.
 * Loop thread.
 */
static int
mhd_load(char *err, size_t size)
{
	static void *lib;
	void *l;

	if (lib)
		return 0;
	l = dlopen(GINI_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!l) {
		snprintf(err, size, "cannot load %s (Debian: libmicrohttpd12): %s", GINI_MHD_SONAME,
		         dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(mhd_functions); i++) {
		*mhd_functions[i].fn = dlsym(l, mhd_functions[i].name);
		if (!*mhd_functions[i].fn) {
			snprintf(err, size, "%s has no %s", GINI_MHD_SONAME, mhd_functions[i].name);
			dlclose(l);
			return -ENOENT;
		}
	}
	lib = l;
	return 0;
}

#define HTTP_CONNS_MAX    32
#define HTTP_CONNS_PER_IP 8
#define HTTP_IDLE_SEC     10
#define HTTP_MEMORY_MAX   (16 * 1024)

struct http {
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer;
	http_get_fn get;
	void *userdata;
	char *unix_path; /* removed at the end; NULL for TCP */
};

static int
fail(char *err, size_t size, const char *fmt, const char *s)
{
	snprintf(err, size, fmt, s);
	return -EINVAL;
}

int
http_parse_listen(const char *s, struct http_listen *ret, char *err, size_t size)
{
	struct http_listen l = { 0 };
	char host[64];
	const char *port_s;
	size_t hlen;
	char *end;
	unsigned long port;

	if (s[0] == '/') {
		struct sockaddr_un *sa = (struct sockaddr_un *)&l.addr;
		size_t n = strlen(s);

		if (n >= sizeof(sa->sun_path))
			return fail(err, size, "unix socket path '%.200s' is too long", s);
		sa->sun_family = AF_UNIX;
		memcpy(sa->sun_path, s, n + 1);
		l.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
		goto out;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return fail(err, size,
			            "'%.200s': expected [IPV6]:PORT, e.g. \"[::1]:9464\"", s);
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			return fail(err, size, "'%.200s': invalid IPv6 address", s);
		memcpy(host, s + 1, hlen);
		host[hlen] = 0;
		port_s = close + 2;
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&l.addr;

		sa->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
			return fail(err, size, "'%.200s': invalid IPv6 address", s);
		l.len = sizeof(*sa);
	} else {
		const char *colon = strrchr(s, ':');
		struct sockaddr_in *sa = (struct sockaddr_in *)&l.addr;

		if (!colon)
			return fail(err, size,
			            "'%.200s': expected ADDRESS:PORT (\"127.0.0.1:9464\", "
			            "\"[::1]:9464\") or the absolute path of a unix socket",
			            s);
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return fail(err, size, "'%.200s': invalid IPv4 address", s);
		memcpy(host, s, hlen);
		host[hlen] = 0;
		port_s = colon + 1;
		sa->sin_family = AF_INET;
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return fail(err, size,
			            "'%.200s': the address must be a numeric IPv4 address, or an "
			            "IPv6 one in brackets",
			            s);
		l.len = sizeof(*sa);
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || end == port_s || *end || port > 65535 || port_s[0] == '-' || port_s[0] == '+')
		return fail(err, size, "'%.200s': invalid port (0-65535)", s);
	if (l.addr.ss_family == AF_INET)
		((struct sockaddr_in *)&l.addr)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&l.addr)->sin6_port = htons((uint16_t)port);
out:
	if (ret)
		*ret = l;
	return 0;
}

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, char *body, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
respond_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	char *body = strdup(text);

	return body ? respond(c, status, body, "text/plain; charset=utf-8") : MHD_NO;
}

/* MHD calls this first when a request's headers are in, then per body chunk. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http *h = cls;
	const char *len, *type = NULL;
	char *body = NULL;
	int status;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (*upload_data_size)
		return MHD_NO; /* a body despite the checks below: drop the connection */
	if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return respond_text(c, MHD_HTTP_BAD_REQUEST, "a request may not have a body\n");
	len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (len && !streq(len, "0"))
		return respond_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
		                    "a request may not have a body\n");
	if (!streq(url, "/metrics") && !streq(url, "/health"))
		return respond_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /health\n");
	status = h->get(url, &body, &type, h->userdata);
	if ((status != 200 && status != 503) || !body) {
		free(body);
		return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
	}
	return respond(c, (unsigned)status, body, type);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Client mistakes land here too: keep them out of the log by default. */
	log_debug("metrics_listen: %s", msg);
}

static void arm(struct http *h);

static int
on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	(void)s;
	(void)fd;
	(void)revents;
	arm(userdata);
	return 0;
}

static int
on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)s;
	(void)usec;
	arm(userdata);
	return 0;
}

/* Lets MHD do what is ready, then sets the timer to its next deadline. */
static unsigned
connections(struct http *h)
{
	const union MHD_DaemonInfo *i =
	        MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return i ? i->num_connections : 0;
}

static void
arm(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	unsigned before = connections(h);

	(void)MHD_run(h->mhd);
	/* At HTTP_CONNS_MAX, MHD takes the listening socket out of its epoll
	 * set, and puts it back only at the start of the MHD_run() after the
	 * one that closed a connection: nothing would wake us for that one, so
	 * run it now, or waiting clients stay unaccepted. */
	if (connections(h) < before)
		(void)MHD_run(h->mhd);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		(void)sd_event_source_set_time_relative(h->timer, (uint64_t)ms * 1000);
		(void)sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
	} else {
		(void)sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
	}
}

/* A path's stale socket (nobody listening) is removed; anything else stays. */
static int
remove_stale(const char *path, const struct sockaddr *sa, socklen_t len)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, sa, len) == 0 ? -EADDRINUSE : errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	if (r == 0 && unlink(path) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

static void
describe(const struct sockaddr_storage *ss, const char *path, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sa = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sa->sin_addr, a, sizeof(a));
		snprintf(buf, size, "http://%s:%u", a, ntohs(sa->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sa->sin6_addr, a, sizeof(a));
		snprintf(buf, size, "http://[%s]:%u", a, ntohs(sa->sin6_port));
	} else {
		snprintf(buf, size, "unix socket %s", path);
	}
}

int
http_new(sd_event *e, const char *listen_s, http_get_fn get, void *userdata, struct http **ret)
{
	struct http_listen l;
	struct sockaddr_storage bound = { 0 };
	socklen_t blen = sizeof(bound);
	const union MHD_DaemonInfo *info;
	struct http *h;
	char err[256], where[128];
	int fd = -1, r;

	if (http_parse_listen(listen_s, &l, err, sizeof(err)) < 0)
		return log_err_errno(-EINVAL, "metrics_listen: %s", err);
	r = mhd_load(err, sizeof(err));
	if (r < 0)
		return log_err_errno(r, "metrics_listen %s: %s", listen_s, err);
	h = calloc(1, sizeof(*h));
	if (!h)
		return log_err_errno(-ENOMEM, "metrics_listen: out of memory");
	h->get = get;
	h->userdata = userdata;
	fd = socket(l.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = log_err_errno(-errno, "metrics_listen %s: cannot create a socket: %m",
		                  listen_s);
		goto fail;
	}
	if (l.addr.ss_family == AF_UNIX) {
		r = remove_stale(listen_s, (struct sockaddr *)&l.addr, l.len);
		if (r < 0) {
			log_err_errno(r, "metrics_listen %s: %s", listen_s,
			              r == -EADDRINUSE ? "another process listens there"
			              : r == -EEXIST   ? "exists and is not a socket"
			                               : "cannot remove the old socket: %m");
			goto fail;
		}
	} else {
		int one = 1;

		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l.addr.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&l.addr, l.len) < 0) {
		r = log_err_errno(-errno, "metrics_listen %s: cannot bind: %m", listen_s);
		goto fail;
	}
	if (l.addr.ss_family == AF_UNIX) {
		h->unix_path = strdup(listen_s);
		/* Read-only data, like a port on localhost: anyone local may ask. */
		if (!h->unix_path || chmod(listen_s, 0666) < 0) {
			r = log_err_errno(-errno, "metrics_listen %s: %m", listen_s);
			goto fail;
		}
	}
	if (listen(fd, 64) < 0 || getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
		r = log_err_errno(-errno, "metrics_listen %s: cannot listen: %m", listen_s);
		goto fail;
	}
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
	                          MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNS_MAX,
	                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_CONNS_PER_IP,
	                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_SEC,
	                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_MAX,
	                          MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
	if (!h->mhd) {
		r = log_err_errno(-EIO, "metrics_listen %s: cannot start the HTTP server",
		                  listen_s);
		goto fail;
	}
	fd = -1; /* MHD's now */
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		r = log_err_errno(-EIO, "metrics_listen %s: no epoll descriptor", listen_s);
		goto fail;
	}
	r = sd_event_add_io(e, &h->io, info->epoll_fd, EPOLLIN, on_io, h);
	if (r >= 0)
		r = sd_event_add_time_relative(e, &h->timer, CLOCK_MONOTONIC, 0, 0, on_timer, h);
	if (r < 0) {
		log_err_errno(r, "metrics_listen %s: %m", listen_s);
		goto fail;
	}
	(void)sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
	describe(&bound, listen_s, where, sizeof(where));
	log_info("metrics: serving /metrics and /health on %s", where);
	*ret = h;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	http_free(h);
	return r;
}

struct http *
http_free(struct http *h)
{
	if (!h)
		return NULL;
	sd_event_source_disable_unref(h->io);
	sd_event_source_disable_unref(h->timer);
	if (h->mhd)
		MHD_stop_daemon(h->mhd); /* closes the listening socket too */
	if (h->unix_path)
		unlink(h->unix_path);
	free(h->unix_path);
	free(h);
	return NULL;
}
