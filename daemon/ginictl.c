/* SPDX-License-Identifier: MIT */
/*
 * ginictl: the operator's client for a running ginid, over the control
 * socket (protocol in proto.h), plus `inspect`, which needs no daemon. One
 * command table drives dispatch and help. Output is a table sized to the
 * terminal, or the daemon's JSON with --json. Exit codes: 0 ok, 1 the
 * operation failed, 2 usage, 3 cannot reach the daemon, 4 permission denied.
 */
#include "loader.h"
#include "proto.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GINI_CONTROL_SOCKET
#define GINI_CONTROL_SOCKET "/run/gini/ginid.sock"
#endif
#ifndef GINI_LIBEXEC_DIR
#define GINI_LIBEXEC_DIR "/usr/libexec/gini"
#endif

#define REPLY_TIMEOUT_MS 120000
#define PROBE_TIMEOUT_MS 5000

extern char **environ;

struct ctl {
	const char *socket;
	bool json;
	int fd;
	char *buf;
	size_t len;
	int width;       /* terminal columns, 0: do not truncate */
	bool text_lines; /* the reply is multi-line text: newlines stay as they are */
};

struct verb {
	const char *name;
	const char *usage;
	const char *summary;
	const char *help;
	int (*fn)(struct ctl *c, int argc, char **argv);
};

static const struct verb *find_verb(const char *name);

static void
verb_help(const struct verb *v, FILE *f)
{
	fprintf(f, "Usage: ginictl [-s SOCKET] [--json] %s%s%s\n\n%s.\n%s", v->name,
	        v->usage[0] ? " " : "", v->usage, v->summary, v->help);
}

/*
 * Text from the daemon (step messages, command output, file names) may hold
 * terminal escape sequences that would retitle, clear or worse the
 * operator's terminal. Human output shows every control character escaped:
 * \n \r \t as such, other C0 characters and DEL as \xNN, C1 characters
 * (U+0080 to U+009F) as \uNNNN. --json output is JSON, escaped by its rules.
 * keep_newlines: for text made of lines (metrics), where they are harmless.
 */
static char *
escape_text(const char *s, bool keep_newlines)
{
	const unsigned char *p = (const unsigned char *)s;
	char *buf = malloc(strlen(s) * 6 + 1), *o = buf;

	if (!buf)
		return NULL;
	for (; *p; p++) {
		if (*p == '\n' && keep_newlines) {
			*o++ = '\n';
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			*o++ = '\\';
			*o++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			o += sprintf(o, "\\u%04x", p[1]);
			p++;
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return buf;
}

/* Escapes every string in v, in place, for human output. */
static void
defang(json_t *v, bool keep_newlines)
{
	const char *key;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		char *safe = escape_text(json_string_value(v), keep_newlines);

		if (safe && !streq(safe, json_string_value(v)))
			json_string_set(v, safe);
		free(safe);
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, e)
		{
			defang(e, keep_newlines);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			defang(e, keep_newlines);
		}
	}
}

/* Connection. */

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
	char *text = json_dumps(req, JSON_COMPACT);
	size_t len = strlen(text), off = 0;
	int r = 0;

	json_decref(req);
	{
		char *nt = text ? realloc(text, len + 2) : NULL;

		if (!nt) {
			free(text);
			fprintf(stderr, "ginictl: out of memory\n");
			return CTL_EXIT_FAILED;
		}
		text = nt;
	}
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

/*
 * Sends one request and returns the result object of its reply (a new
 * reference), or NULL with *ret_exit set. Event lines before the reply go to
 * on_event.
 */
static json_t *
request(struct ctl *c, const char *cmd, json_t *args, int timeout_ms,
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
			defang(json_object_get(msg, "error"), false);
		else
			defang(msg, c->text_lines);
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

static void
print_json(json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text)
		printf("%s\n", text);
	free(text);
}

/* Tables. */

#define TABLE_COLS 10

struct table {
	const char *head[TABLE_COLS];
	size_t ncols;
	char **cells; /* rows * ncols */
	size_t rows;
	bool right[TABLE_COLS];
};

static void
table_add(struct table *t, ...)
{
	va_list ap;

	{
		char **nc = realloc(t->cells, (t->rows + 1) * t->ncols * sizeof(char *));

		if (!nc)
			return; /* out of memory: the row is left out */
		t->cells = nc;
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->rows * t->ncols + i] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->rows++;
}

/* Prints with column widths from the content; the last column is cut to the
 * terminal's width. */
static void
table_print(struct ctl *c, struct table *t)
{
	size_t w[TABLE_COLS] = { 0 }, used = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		w[i] = strlen(t->head[i]);
		for (size_t r = 0; r < t->rows; r++)
			w[i] = MAX(w[i], strlen(t->cells[r * t->ncols + i]));
	}
	for (size_t i = 0; i + 1 < t->ncols; i++)
		used += w[i] + 2;
	for (size_t r = 0; r <= t->rows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = r == 0 ? t->head[i] : t->cells[(r - 1) * t->ncols + i];

			if (i + 1 < t->ncols) {
				printf(t->right[i] ? "%*s  " : "%-*s  ", (int)w[i], s);
			} else if (c->width > 0 && used + strlen(s) > (size_t)c->width &&
			           (size_t)c->width > used + 4) {
				printf("%.*s...", (int)((size_t)c->width - used - 3), s);
			} else {
				printf("%s", s);
			}
		}
		printf("\n");
	}
	for (size_t k = 0; k < t->rows * t->ncols; k++)
		free(t->cells[k]);
	free(t->cells);
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static char *
jdur(json_t *o, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return strcpy(buf, "-");
	return format_elapsed((uint64_t)json_integer_value(v), buf, size);
}

static char *
jint(json_t *o, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return strcpy(buf, "-");
	snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	return buf;
}

/* ISO 8601 "2026-11-26T02:00:00+01:00" as "2026-11-26 02:00:00". */
static char *
jtime(json_t *o, const char *key, char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (!s)
		return strcpy(buf, "-");
	snprintf(buf, size, "%.10s %.8s", s, strlen(s) > 11 ? s + 11 : "");
	return buf;
}

/* Commands. */

/*
 * Parses getopt-style options of a verb, and the global -s/--socket and
 * --json too, which may come after the command; returns optind, -1 on a
 * usage error or -2 when help was printed.
 */
static int
verb_getopt(struct ctl *c, const struct verb *v, int argc, char **argv, const char *shortopts,
            const struct option *longopts, int (*on_opt)(int opt, const char *arg, void *ud),
            void *ud)
{
	struct option all[16];
	char sopts[32];
	size_t n = 0;
	int o;

	for (; n < ARRAY_SIZE(all) - 3 && longopts[n].name; n++)
		all[n] = longopts[n];
	all[n++] = (struct option){ "socket", required_argument, NULL, 's' };
	all[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	all[n] = (struct option){ 0 };
	snprintf(sopts, sizeof(sopts), "%ss:", shortopts);
	/* 0, not 1: glibc then starts afresh, permuting options again. */
	optind = 0;
	opterr = 1;
	while ((o = getopt_long(argc, argv, sopts, all, NULL)) != -1) {
		if (o == 's') {
			c->socket = optarg;
			continue;
		}
		if (o == 'j') {
			c->json = true;
			continue;
		}
		if (o == 'h') {
			verb_help(v, stdout);
			return -2;
		}
		if (o == '?' || on_opt(o, optarg, ud) < 0) {
			fprintf(stderr, "Try 'ginictl %s --help'.\n", v->name);
			return -1;
		}
	}
	return optind;
}

static int
no_opt(int opt, const char *arg, void *ud)
{
	(void)opt;
	(void)arg;
	(void)ud;
	return -1;
}

static const struct option help_only[] = { { "help", no_argument, NULL, 'h' }, { 0 } };

/* For verbs without arguments. */
static int
simple_args(struct ctl *c, const char *name, int argc, char **argv)
{
	const struct verb *v = find_verb(name);
	int k = verb_getopt(c, v, argc, argv, "h", help_only, no_opt, NULL);

	if (k == -2)
		return -2;
	if (k < 0)
		return CTL_EXIT_USAGE;
	if (k < argc) {
		fprintf(stderr, "ginictl %s: unexpected argument '%s'\n", name, argv[k]);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

static int
cmd_status(struct ctl *c, int argc, char **argv)
{
	json_t *r, *reload;
	char b1[64], b2[64];
	int x = simple_args(c, "status", argc, argv);

	if (x)
		return x == -2 ? 0 : x;
	r = request(c, "status", NULL, REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	if (c->json) {
		print_json(r);
		json_decref(r);
		return 0;
	}
	printf("ginid %s (pid %s), up %s, protocol %s\n", jstr(r, "version"),
	       jint(r, "pid", b1, sizeof(b1)),
	       format_elapsed((uint64_t)(json_real_value(json_object_get(r, "uptime_sec")) * 1e6),
	                      b2, sizeof(b2)),
	       jint(r, "protocol", b1 + 32, 32));
	printf("generation:     %s\n", jint(r, "generation", b1, sizeof(b1)));
	printf("stage types:    %s\n", jint(r, "stage_types", b1, sizeof(b1)));
	printf("pipelines:      %s\n", jint(r, "pipelines", b1, sizeof(b1)));
	printf("runs in flight: %s\n", jint(r, "runs_in_flight", b1, sizeof(b1)));
	printf("workers:        %s\n", jint(r, "workers", b1, sizeof(b1)));
	if (json_integer_value(json_object_get(r, "workers_abandoned")) > 0)
		printf("abandoned:      %s worker%s stuck in a stage that ignored cancellation\n",
		       jint(r, "workers_abandoned", b1, sizeof(b1)),
		       json_integer_value(json_object_get(r, "workers_abandoned")) == 1 ? "" : "s");
	reload = json_object_get(r, "disabled");
	if (json_array_size(reload)) {
		printf("disabled:      ");
		for (size_t i = 0; i < json_array_size(reload); i++)
			printf(" %s", json_string_value(json_array_get(reload, i)));
		printf("\n");
	}
	reload = json_object_get(r, "last_reload");
	if (json_is_object(reload)) {
		json_t *errors = json_object_get(reload, "errors");

		printf("last reload:    %s, %s\n", jtime(reload, "time", b1, sizeof(b1)),
		       json_is_true(json_object_get(reload, "ok")) ? "ok" : "FAILED");
		for (size_t i = 0; i < json_array_size(errors); i++)
			printf("  %s\n", json_string_value(json_array_get(errors, i)));
	} else {
		printf("last reload:    never\n");
	}
	reload = json_object_get(r, "refused_plugins");
	if (json_array_size(reload)) {
		printf("refused plugin files (%zu):\n", json_array_size(reload));
		for (size_t i = 0; i < json_array_size(reload); i++) {
			json_t *e = json_array_get(reload, i);

			printf("  %s: %s\n", jstr(e, "path"), jstr(e, "reason"));
		}
	}
	json_decref(r);
	return 0;
}

struct stages_opts {
	json_t *args;
	bool paged; /* --offset or --limit given: one page only */
};

static int
stages_opt(int opt, const char *arg, void *ud)
{
	struct stages_opts *o = ud;
	char *end;
	long long n;

	switch (opt) {
	case 'c':
		json_object_set_new(o->args, "category", json_string(arg));
		return 0;
	case 'f':
		json_object_set_new(o->args, "filter", json_string(arg));
		return 0;
	case 'o':
	case 'l':
		n = strtoll(arg, &end, 10);
		if (*end || n < (opt == 'l' ? 1 : 0)) {
			fprintf(stderr, "ginictl stages: invalid number '%s'\n", arg);
			return -1;
		}
		json_object_set_new(o->args, opt == 'o' ? "offset" : "limit", json_integer(n));
		o->paged = true;
		return 0;
	}
	return -1;
}

static int
cmd_stages(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "category", required_argument, NULL, 'c' },
		{ "filter", required_argument, NULL, 'f' },
		{ "offset", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct stages_opts o = { .args = json_object() };
	struct table t = { .head = { "ID", "VERSION", "CATEGORY", "RUNS", "FAILED", "CRASHED",
		                     "MEAN", "MAX", "FILE" },
		           .ncols = 9,
		           .right = {
		                   [3] = true, [4] = true, [5] = true, [6] = true, [7] = true } };
	json_t *all = json_array();
	long long offset = 0, total = 0;
	int k, x = 0;

	k = verb_getopt(c, find_verb("stages"), argc, argv, "h", opts, stages_opt, &o);
	if (k < 0 || k < argc) {
		if (k >= 0)
			fprintf(stderr, "ginictl stages: unexpected argument '%s'\n", argv[k]);
		json_decref(o.args);
		json_decref(all);
		return k == -2 ? 0 : CTL_EXIT_USAGE;
	}
	/* Without --offset/--limit: every page, 1000 at a time
	 * ($GINICTL_PAGE_SIZE, for tests, makes pages smaller). */
	if (!o.paged) {
		const char *ps = getenv("GINICTL_PAGE_SIZE");
		long page = ps ? strtol(ps, NULL, 10) : 1000;

		json_object_set_new(o.args, "limit",
		                    json_integer(page >= 1 && page <= 10000 ? page : 1000));
	}
	for (;;) {
		json_t *r, *items;

		if (!o.paged)
			json_object_set_new(o.args, "offset", json_integer(offset));
		r = request(c, "stages", json_incref(o.args), REPLY_TIMEOUT_MS, NULL, &x);
		if (!r)
			break;
		items = json_object_get(r, "items");
		total = json_integer_value(json_object_get(r, "total"));
		size_t got = json_array_size(items);

		json_array_extend(all, items);
		offset += (long long)got;
		/* items is borrowed from r: done with both now. */
		json_decref(r);
		if (o.paged || got == 0 || offset >= total)
			break;
	}
	json_decref(o.args);
	if (x) {
		json_decref(all);
		return x;
	}
	if (c->json) {
		json_t *out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", all);

		print_json(out);
		json_decref(out);
		return 0;
	}
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *s = json_array_get(all, i);
		char runs[32], failed[32], crashed[32], mean[32], max[32];

		table_add(&t, jstr(s, "id"), jstr(s, "version"), jstr(s, "category"),
		          jint(s, "runs", runs, sizeof(runs)),
		          jint(s, "failures", failed, sizeof(failed)),
		          jint(s, "crashes", crashed, sizeof(crashed)),
		          jdur(s, "mean_usec", mean, sizeof(mean)),
		          jdur(s, "max_usec", max, sizeof(max)), jstr(s, "file"));
	}
	table_print(c, &t);
	printf("%zu of %lld stage types\n", json_array_size(all), total);
	json_decref(all);
	return 0;
}

static void
triggers_text(json_t *t, char *buf, size_t size)
{
	json_t *sigs = json_object_get(t, "signals");
	size_t off = 0;

	buf[0] = 0;
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (off < size)                                                                    \
			off += (size_t)snprintf(buf + off, size - off, __VA_ARGS__);               \
	} while (0)
	for (size_t i = 0; i < json_array_size(sigs); i++)
		ADD("%s%s", off ? ", " : "", json_string_value(json_array_get(sigs, i)));
	if (json_is_string(json_object_get(t, "every")))
		ADD("%severy %s", off ? ", " : "", jstr(t, "every"));
	if (json_is_string(json_object_get(t, "schedule")))
		ADD("%s\"%s\"%s", off ? ", " : "", jstr(t, "schedule"),
		    json_is_true(json_object_get(t, "persistent")) ? " persistent" : "");
	if (json_is_true(json_object_get(t, "on_start")))
		ADD("%son start", off ? ", " : "");
	if (!off)
		ADD("on request");
#undef ADD
}

static int
cmd_pipelines(struct ctl *c, int argc, char **argv)
{
	struct table t = { .head = { "NAME", "NEXT", "LAST", "RESULT", "RUNNING", "TRIGGERS" },
		           .ncols = 6,
		           .right = { [4] = true } };
	json_t *r, *items;
	int x = simple_args(c, "pipelines", argc, argv);

	if (x)
		return x == -2 ? 0 : x;
	r = request(c, "pipelines", NULL, REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	if (c->json) {
		print_json(r);
		json_decref(r);
		return 0;
	}
	items = json_object_get(r, "items");
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *p = json_array_get(items, i);
		char next[40], last[40], running[32], trig[256];

		snprintf(running, sizeof(running), "%lld%s",
		         (long long)json_integer_value(json_object_get(p, "running")),
		         json_is_true(json_object_get(p, "queued")) ? "+1 queued" : "");
		triggers_text(json_object_get(p, "triggers"), trig, sizeof(trig));
		if (json_is_false(json_object_get(p, "enabled"))) {
			char t2[sizeof(trig)];

			snprintf(t2, sizeof(t2), "DISABLED: %s", trig);
			memcpy(trig, t2, sizeof(trig));
		}
		table_add(&t, jstr(p, "name"), jtime(p, "next", next, sizeof(next)),
		          jtime(p, "last", last, sizeof(last)), jstr(p, "last_result"), running,
		          trig);
	}
	table_print(c, &t);
	printf("%zu pipelines\n", json_array_size(items));
	json_decref(r);
	return 0;
}

static void
print_step_event(struct ctl *c, json_t *ev)
{
	json_t *s = json_object_get(ev, "step");
	char d[32];

	if (c->json) {
		char *text = json_dumps(ev, JSON_COMPACT);

		printf("%s\n", text);
		free(text);
	} else {
		printf("  %-20s %-14s %-9s %3lld  %8s  %s\n", jstr(s, "id"), jstr(s, "stage"),
		       jstr(s, "result"),
		       (long long)json_integer_value(json_object_get(s, "attempts")),
		       jdur(s, "duration_usec", d, sizeof(d)),
		       json_is_string(json_object_get(s, "message")) ? jstr(s, "message") : "");
	}
	fflush(stdout);
}

struct run_opts {
	bool dry, wait, force;
};

static int
run_opt(int opt, const char *arg, void *ud)
{
	struct run_opts *o = ud;

	(void)arg;
	if (opt == 'd')
		o->dry = true;
	else if (opt == 'w')
		o->wait = true;
	else if (opt == 'f')
		o->force = true;
	else
		return -1;
	return 0;
}

static int
cmd_run(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'd' },
		{ "wait", no_argument, NULL, 'w' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct run_opts o = { 0 };
	json_t *r, *args, *params;
	char d[32];
	int k, x;

	k = verb_getopt(c, find_verb("run"), argc, argv, "h", opts, run_opt, &o);
	if (k == -2)
		return 0;
	if (k < 0)
		return CTL_EXIT_USAGE;
	if (argc - k < 1) {
		fprintf(stderr, "ginictl run: a PIPELINE is expected\nTry 'ginictl run "
		                "--help'.\n");
		return CTL_EXIT_USAGE;
	}
	/* KEY=VALUE: the value is everything after the first '=', as it is. */
	params = json_object();
	for (int i = k + 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		char *key;

		if (!eq || eq == argv[i]) {
			fprintf(stderr,
			        "ginictl run: '%s' is not KEY=VALUE\nTry 'ginictl run --help'.\n",
			        argv[i]);
			json_decref(params);
			return CTL_EXIT_USAGE;
		}
		key = strndup(argv[i], (size_t)(eq - argv[i]));
		if (!key || json_object_get(params, key)) {
			fprintf(stderr, "ginictl run: param '%s' given twice\n", key ? key : "");
			free(key);
			json_decref(params);
			return CTL_EXIT_USAGE;
		}
		json_object_set_new(params, key, json_string(eq + 1));
		free(key);
	}
	args = json_pack("{s:s, s:b, s:b}", "pipeline", argv[k], "dry_run", o.dry, "wait", o.wait);
	/* Only when given: a daemon before params would refuse the argument. */
	if (json_object_size(params))
		json_object_set(args, "params", params);
	json_decref(params);
	if (o.force)
		json_object_set_new(args, "force", json_true());
	if (o.wait && !c->json)
		printf("  %-20s %-14s %-9s %3s  %8s  %s\n", "STEP", "STAGE", "RESULT", "TRY",
		       "DURATION", "MESSAGE");
	r = request(c, "run", args, o.wait ? -1 : REPLY_TIMEOUT_MS, print_step_event, &x);
	if (!r)
		return x;
	if (c->json) {
		print_json(r);
	} else if (o.dry) {
		json_t *levels = json_object_get(r, "levels");

		printf("Dry run of pipeline '%s': nothing is executed; steps on one level may run "
		       "in "
		       "parallel.\n",
		       jstr(r, "pipeline"));
		if (o.wait)
			printf("\n");
		for (size_t l = 0; l < json_array_size(levels); l++) {
			json_t *steps = json_array_get(levels, l);

			for (size_t i = 0; i < json_array_size(steps); i++) {
				json_t *s = json_array_get(steps, i);
				char label[32] = "";

				if (i == 0)
					snprintf(label, sizeof(label), "level %zu:", l + 1);
				printf("  %-10s %-20s [%s]  %s\n", label, jstr(s, "step"),
				       jstr(s, "stage"), jstr(s, "description"));
			}
		}
	} else if (o.wait) {
		printf("run %s: %s in %s%s%s\n", jint(r, "run_id", d, sizeof(d)), jstr(r, "result"),
		       jdur(r, "duration_usec", d + 16, 16),
		       json_is_string(json_object_get(r, "failed_step")) ? ", first failure: step "
		                                                         : "",
		       json_is_string(json_object_get(r, "failed_step")) ? jstr(r, "failed_step")
		                                                         : "");
	} else if (streq(jstr(r, "outcome"), "queued")) {
		printf("queued: pipeline '%s' is running; it runs again when that run ends\n",
		       argv[k]);
	} else {
		printf("started run %s of pipeline '%s'\n", jint(r, "run_id", d, sizeof(d)),
		       argv[k]);
	}
	/* --wait: the run failed; --dry-run: a step's health check failed. */
	x = (o.wait || o.dry) && !streq(jstr(r, "result"), "success") ? CTL_EXIT_FAILED : 0;
	json_decref(r);
	return x;
}

struct history_opts {
	json_t *args;
};

/*
 * WHEN for --since and --until: a duration ago ("2h", "30m", "1d") or an
 * ISO 8601 date or time ("2026-12-01", "2026-12-01T08:00", "...:00Z",
 * "...+01:00"); without a zone, local time. Seconds since the epoch, -1 if
 * invalid.
 */
static long long
parse_when(const char *s)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
		                            "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d" };
	uint64_t usec;

	if (parse_duration(s, &usec) == 0) {
		long long now = (long long)time(NULL);

		return now - (long long)(usec / USEC_PER_SEC);
	}
	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
		struct tm tm = { .tm_isdst = -1 };
		const char *end = strptime(s, fmts[i], &tm);
		long long t;

		if (!end)
			continue;
		if (*end == '.') /* fractions of a second are ignored */
			for (end++; *end >= '0' && *end <= '9'; end++)
				;
		if (*end == 0) {
			t = (long long)mktime(&tm);
		} else if (streq(end, "Z")) {
			t = (long long)timegm(&tm);
		} else if ((*end == '+' || *end == '-') && strlen(end) == 6 && end[3] == ':') {
			int hh, mm;

			/* "+HH:MM": two digits, a colon, two digits. */
			if (!isdigit((unsigned char)end[1]) || !isdigit((unsigned char)end[2]) ||
			    !isdigit((unsigned char)end[4]) || !isdigit((unsigned char)end[5]))
				continue;
			hh = (end[1] - '0') * 10 + (end[2] - '0');
			mm = (end[4] - '0') * 10 + (end[5] - '0');
			t = (long long)timegm(&tm) - (*end == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
		} else {
			continue;
		}
		return t < 0 ? -1 : t;
	}
	return -1;
}

static int
history_opt(int opt, const char *arg, void *ud)
{
	struct history_opts *o = ud;
	char *end;
	long long n;

	switch (opt) {
	case 'n':
		n = strtoll(arg, &end, 10);
		if (*end || n < 1 || n > 10000) {
			fprintf(stderr, "ginictl history: invalid count '%s' (1 to 10000)\n", arg);
			return -1;
		}
		json_object_set_new(o->args, "limit", json_integer(n));
		return 0;
	case 'p':
		json_object_set_new(o->args, "pipeline", json_string(arg));
		return 0;
	case 'r':
		json_object_set_new(o->args, "result", json_string(arg));
		return 0;
	case 'S':
	case 'U':
		n = parse_when(arg);
		if (n < 0) {
			fprintf(stderr,
			        "ginictl history: invalid time '%s' (use a duration ago such as "
			        "2h, or ISO 8601 such as 2026-12-01T08:00)\n",
			        arg);
			return -1;
		}
		json_object_set_new(o->args, opt == 'S' ? "since" : "until", json_integer(n));
		return 0;
	default:
		return -1;
	}
}

static int
cmd_history(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lines", required_argument, NULL, 'n' },
		{ "limit", required_argument, NULL, 'n' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "result", required_argument, NULL, 'r' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct history_opts o = { .args = json_object() };
	struct table t = { .head = { "RUN", "PIPELINE", "START", "DURATION", "RESULT", "TRIGGER",
		                     "FAILED STEP" },
		           .ncols = 7,
		           .right = { [0] = true, [3] = true } };
	json_t *r, *items;
	int k, x;

	k = verb_getopt(c, find_verb("history"), argc, argv, "n:h", opts, history_opt, &o);
	if (k < 0 || argc - k > 1) {
		if (k >= 0)
			fprintf(stderr, "ginictl history: at most one PIPELINE expected\n");
		json_decref(o.args);
		return k == -2 ? 0 : CTL_EXIT_USAGE;
	}
	if (k < argc)
		json_object_set_new(o.args, "pipeline", json_string(argv[k]));
	/* The table shows no steps: do not have the daemon read them. */
	if (!c->json)
		json_object_set_new(o.args, "steps", json_false());
	r = request(c, "history", o.args, REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	items = json_object_get(r, "items");
	if (c->json) {
		print_json(items);
		json_decref(r);
		return 0;
	}
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *h = json_array_get(items, i);
		char id[32], start[40], dur[32], failed[512];

		if (json_is_string(json_object_get(h, "failed_step")))
			snprintf(failed, sizeof(failed), "%s%s%s", jstr(h, "failed_step"),
			         json_is_string(json_object_get(h, "message")) ? ": " : "",
			         json_is_string(json_object_get(h, "message")) ? jstr(h, "message")
			                                                       : "");
		else
			strcpy(failed, "-");
		table_add(&t, jint(h, "run_id", id, sizeof(id)), jstr(h, "pipeline"),
		          jtime(h, "start", start, sizeof(start)),
		          jdur(h, "duration_usec", dur, sizeof(dur)), jstr(h, "result"),
		          jstr(h, "trigger"), failed);
	}
	table_print(c, &t);
	json_decref(r);
	return 0;
}

struct logs_opts {
	bool follow;
};

static int
logs_opt(int opt, const char *arg, void *ud)
{
	struct logs_opts *o = ud;

	(void)arg;
	if (opt != 'f')
		return -1;
	o->follow = true;
	return 0;
}

/* How often --follow asks for what a running run said since. */
#define FOLLOW_POLL_MS 200

/* Prints the lines of a logs reply (unless quiet); remembers where each step got to. */
static void
print_log_lines(json_t *r, json_t *from, bool quiet)
{
	json_t *steps = json_object_get(r, "steps");

	for (size_t i = 0; i < json_array_size(steps); i++) {
		json_t *s = json_array_get(steps, i), *lines = json_object_get(s, "lines");

		for (size_t j = 0; !quiet && j < json_array_size(lines); j++) {
			json_t *l = json_array_get(lines, j);

			printf("%s %s %s: %s\n", jstr(l, "ts"), jstr(s, "id"), jstr(l, "level"),
			       jstr(l, "text"));
		}
		while (json_array_size(from) <= i)
			json_array_append_new(from, json_integer(0));
		json_array_set_new(from, i,
		                   json_integer(json_integer_value(json_object_get(s, "next"))));
	}
	fflush(stdout);
}

static void
print_log_summary(json_t *r)
{
	json_t *steps = json_object_get(r, "steps");
	char id[32];

	printf("run %s (pipeline '%s'): %s\n", jint(r, "run_id", id, sizeof(id)),
	       jstr(r, "pipeline"), jstr(r, "result"));
	for (size_t i = 0; i < json_array_size(steps); i++) {
		json_t *s = json_array_get(steps, i);
		char d[32];

		printf("  step '%s': %s, %s attempt%s, %s ms%s%s%s\n", jstr(s, "id"),
		       jstr(s, "result"), jint(s, "attempts", id, sizeof(id)),
		       json_integer_value(json_object_get(s, "attempts")) == 1 ? "" : "s",
		       jint(s, "duration_ms", d, sizeof(d)),
		       json_is_string(json_object_get(s, "message")) ? ": " : "",
		       json_is_string(json_object_get(s, "message")) ? jstr(s, "message") : "",
		       json_is_true(json_object_get(s, "output_truncated"))
		               ? " (output truncated: the first lines were dropped)"
		               : "");
	}
}

static int
cmd_logs(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct logs_opts o = { 0 };
	json_t *from = json_array(), *r;
	long long run_id;
	char *end;
	int k, x = 0;

	k = verb_getopt(c, find_verb("logs"), argc, argv, "fh", opts, logs_opt, &o);
	if (k < 0 || argc - k < 1 || argc - k > 2) {
		if (k >= 0)
			fprintf(stderr, "ginictl logs: RUN and at most one STEP expected\nTry "
			                "'ginictl logs --help'.\n");
		json_decref(from);
		return k == -2 ? 0 : CTL_EXIT_USAGE;
	}
	run_id = strtoll(argv[k], &end, 10);
	if (*end || run_id < 1) {
		fprintf(stderr, "ginictl logs: invalid run id '%s'\n", argv[k]);
		json_decref(from);
		return CTL_EXIT_USAGE;
	}
	for (;;) {
		json_t *args = json_pack("{s:I, s:O}", "run_id", (json_int_t)run_id, "from", from);

		if (k + 1 < argc)
			json_object_set_new(args, "step", json_string(argv[k + 1]));
		r = request(c, "logs", args, REPLY_TIMEOUT_MS, NULL, &x);
		if (!r)
			break;
		if (c->json) {
			char *text = json_dumps(r, o.follow ? JSON_COMPACT : JSON_INDENT(2));

			printf("%s\n", text);
			free(text);
		}
		print_log_lines(r, from, c->json);
		if (!o.follow || !json_is_true(json_object_get(r, "running"))) {
			if (!c->json)
				print_log_summary(r);
			json_decref(r);
			break;
		}
		json_decref(r);
		poll(NULL, 0, FOLLOW_POLL_MS);
	}
	json_decref(from);
	return x;
}

static int
cmd_cancel(struct ctl *c, int argc, char **argv)
{
	const struct verb *v = find_verb("cancel");
	long long id;
	char *end;
	json_t *r;
	int k = verb_getopt(c, v, argc, argv, "h", help_only, no_opt, NULL), x;

	if (k == -2)
		return 0;
	if (k < 0)
		return CTL_EXIT_USAGE;
	if (argc - k != 1) {
		fprintf(stderr, "ginictl cancel: exactly one RUN id expected\nTry 'ginictl cancel "
		                "--help'.\n");
		return CTL_EXIT_USAGE;
	}
	errno = 0;
	id = strtoll(argv[k], &end, 10);
	if (errno || end == argv[k] || *end || id < 1) {
		fprintf(stderr, "ginictl cancel: invalid run id '%s'\n", argv[k]);
		return CTL_EXIT_USAGE;
	}
	r = request(c, "cancel", json_pack("{s:I}", "run_id", (json_int_t)id), REPLY_TIMEOUT_MS,
	            NULL, &x);
	if (!r)
		return x;
	if (c->json)
		print_json(r);
	else
		printf("run %lld: cancelling\n", id);
	json_decref(r);
	return 0;
}

static int
switch_pipeline(struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r;
	int k = verb_getopt(c, find_verb(verb), argc, argv, "h", help_only, no_opt, NULL), x;

	if (k == -2)
		return 0;
	if (k < 0)
		return CTL_EXIT_USAGE;
	if (argc - k != 1) {
		fprintf(stderr,
		        "ginictl %s: exactly one PIPELINE expected\nTry 'ginictl %s "
		        "--help'.\n",
		        verb, verb);
		return CTL_EXIT_USAGE;
	}
	r = request(c, verb, json_pack("{s:s}", "pipeline", argv[k]), REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	if (c->json)
		print_json(r);
	else
		printf("pipeline '%s': %s%s\n", argv[k],
		       json_is_true(json_object_get(r, "enabled")) ? "enabled" : "disabled",
		       json_is_true(json_object_get(r, "changed")) ? "" : " (it already was)");
	json_decref(r);
	return 0;
}

static int
cmd_enable(struct ctl *c, int argc, char **argv)
{
	return switch_pipeline(c, "enable", argc, argv);
}

static int
cmd_disable(struct ctl *c, int argc, char **argv)
{
	return switch_pipeline(c, "disable", argc, argv);
}

static int
cmd_reload(struct ctl *c, int argc, char **argv)
{
	json_t *r;
	char b[3][32];
	int x = simple_args(c, "reload", argc, argv);

	if (x)
		return x == -2 ? 0 : x;
	r = request(c, "reload", NULL, REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	if (c->json)
		print_json(r);
	else
		printf("reloaded: generation %s, %s stage types (%s plugin files loaded anew), %s "
		       "pipelines\n",
		       jint(r, "generation", b[0], sizeof(b[0])),
		       jint(r, "stage_types", b[1], sizeof(b[1])),
		       jint(r, "plugins_loaded", b[2], sizeof(b[2])),
		       jint(r, "pipelines", b[0] + 16, 16));
	json_decref(r);
	return 0;
}

static int
cmd_metrics(struct ctl *c, int argc, char **argv)
{
	json_t *r;
	int x = simple_args(c, "metrics", argc, argv);

	if (x)
		return x == -2 ? 0 : x;
	c->text_lines = true;
	r = request(c, "metrics", NULL, REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	if (c->json)
		print_json(r);
	else
		fputs(jstr(r, "text"), stdout);
	json_decref(r);
	return 0;
}

/* health: exit 1 when the daemon or a pipeline is unhealthy, saying why. */
static int
cmd_health(struct ctl *c, int argc, char **argv)
{
	struct table t = { .head = { "PIPELINE", "HEALTH", "LAST RUN", "RESULT", "LAST SUCCESS",
		                     "FAILURES", "REASON" },
		           .ncols = 7 };
	json_t *r, *pipelines, *reasons;
	bool healthy;
	int x = simple_args(c, "health", argc, argv);

	if (x)
		return x == -2 ? 0 : x;
	r = request(c, "health", NULL, REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	healthy = json_is_true(json_object_get(r, "healthy"));
	pipelines = json_object_get(r, "pipelines");
	reasons = json_object_get(r, "reasons");
	if (c->json) {
		print_json(r);
	} else {
		for (size_t i = 0; i < json_array_size(pipelines); i++) {
			json_t *p = json_array_get(pipelines, i),
			       *why = json_object_get(p, "reasons");
			char b[3][64], why_s[512] = "";
			size_t off = 0;

			for (size_t k = 0; k < json_array_size(why) && off < sizeof(why_s); k++)
				off += (size_t)snprintf(why_s + off, sizeof(why_s) - off, "%s%s",
				                        k ? "; " : "",
				                        json_string_value(json_array_get(why, k)));
			table_add(&t, jstr(p, "name"),
			          json_is_true(json_object_get(p, "healthy")) ? "ok" : "UNHEALTHY",
			          jtime(p, "last_run", b[0], sizeof(b[0])),
			          json_is_string(json_object_get(p, "last_result"))
			                  ? jstr(p, "last_result")
			                  : "-",
			          jtime(p, "last_success", b[1], sizeof(b[1])),
			          jint(p, "consecutive_failures", b[2], sizeof(b[2])),
			          off ? why_s : "-");
		}
		table_print(c, &t);
		for (size_t i = 0; i < json_array_size(reasons); i++)
			printf("daemon: UNHEALTHY: %s\n",
			       json_string_value(json_array_get(reasons, i)));
		printf("%s: %s\n", healthy ? "healthy" : "unhealthy", jstr(r, "summary"));
	}
	json_decref(r);
	return healthy ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}

/* inspect: the probe helper loads the file, so nothing it does reaches us. */

/* $GINI_PROBE, else where the daemon finds its helpers (util.c). */
static char *
probe_path(void)
{
	const char *env = getenv("GINI_PROBE");

	return env && *env ? strdup(env) : helper_path("gini-probe");
}

static void
print_descriptor(const char *path, json_t *d)
{
	json_t *fl = json_object_get(d, "flags"), *rq = json_object_get(d, "requires");
	json_t *cb = json_object_get(d, "callbacks");

	printf("file:      %s\nid:        %s\nversion:   %s\nabi:       %s (descriptor %lld "
	       "bytes)\ncategory:  %s\nsummary:   %s\n",
	       path, jstr(d, "id"), jstr(d, "version"), jstr(d, "abi"),
	       (long long)json_integer_value(json_object_get(d, "struct_size")),
	       jstr(d, "category"), jstr(d, "summary"));
	printf("flags:    ");
	for (size_t i = 0; i < json_array_size(fl); i++)
		printf(" %s", json_string_value(json_array_get(fl, i)));
	printf("%s\nrequires: ", json_array_size(fl) ? "" : " none");
	for (size_t i = 0; i < json_array_size(rq); i++)
		printf(" %s", json_string_value(json_array_get(rq, i)));
	printf("%s\ncallbacks:", json_array_size(rq) ? "" : " none");
	for (size_t i = 0; i < json_array_size(cb); i++)
		printf(" %s", json_string_value(json_array_get(cb, i)));
	printf("\n");
}

static int
cmd_inspect(struct ctl *c, int argc, char **argv)
{
	const struct verb *v = find_verb("inspect");
	char *probe = NULL, *answer = NULL, *file = NULL, reason[4096];
	json_t *r = NULL;
	int k, ret;

	k = verb_getopt(c, v, argc, argv, "h", help_only, no_opt, NULL);
	if (k == -2)
		return 0;
	if (k < 0 || argc - k != 1) {
		if (k >= 0)
			fprintf(stderr, "ginictl inspect: exactly one FILE expected\n");
		return CTL_EXIT_USAGE;
	}
	/* A bare "hello.so" means the file here: dlopen() would search the
	 * library path for a name without a slash. */
	if (!strchr(argv[k], '/') && asprintf(&file, "./%s", argv[k]) < 0) {
		fprintf(stderr, "ginictl: out of memory\n");
		return CTL_EXIT_FAILED;
	}
	/* The daemon's own probe, without hooks: the checks and the descriptor. */
	probe = probe_path();
	ret = loader_probe(probe, file ? file : argv[k], false, PROBE_TIMEOUT_MS * USEC_PER_MSEC,
	                   reason, sizeof(reason), &answer) < 0
	              ? CTL_EXIT_FAILED
	              : 0;
	r = answer ? json_loads(answer, 0, NULL) : NULL;
	if (c->json && r) {
		print_json(r);
	} else if (ret) {
		char *safe = escape_text(reason, false);

		fprintf(stderr, "%s: refused: %s\n", argv[k], safe ? safe : reason);
		free(safe);
	} else {
		defang(r, false);
		print_descriptor(argv[k], json_object_get(r, "descriptor"));
	}
	json_decref(r);
	free(answer);
	free(probe);
	free(file);
	return ret;
}

static const struct verb verbs[] = {
	{ "status", "", "Show the daemon's version, uptime, generation, counts and last reload", "",
	  cmd_status },
	{ "stages", "[--category C] [--filter TEXT] [--offset N] [--limit N]",
	  "List the registered stage types with their counters",
	  "\nWithout --offset or --limit every stage type is listed (fetched 1000 at a time).\n"
	  "  --category C     only stage types of category C\n"
	  "  --filter TEXT    only those whose id or summary contains TEXT\n"
	  "  --offset N       skip the first N matches\n"
	  "  --limit N        show at most N (1 to 10000)\n",
	  cmd_stages },
	{ "pipelines", "",
	  "List the pipelines with their triggers, next and last fire, and last result", "",
	  cmd_pipelines },
	{ "run", "PIPELINE [KEY=VALUE ...] [--dry-run] [--wait] [--force]",
	  "Start a run of PIPELINE through its overlap policy",
	  "\nKEY=VALUE sets one of the params the pipeline declares (the others keep their\n"
	  "defaults); an undeclared KEY or a VALUE that does not match is refused (exit 2).\n"
	  "  --dry-run   show what each step would do and run its health check, executing\n"
	  "              nothing; exits 1 if a health check fails\n"
	  "  --wait      follow the run: print each step as it finishes, exit 0 only if the\n"
	  "              run succeeded\n"
	  "  --force     run it even if it is disabled\n",
	  cmd_run },
	{ "cancel", "RUN", "Cancel run RUN: its steps are told to stop, its programs killed",
	  "\nExec steps get SIGTERM, then SIGKILL after their kill_grace; the run ends\n"
	  "'cancelled'.\n",
	  cmd_cancel },
	{ "enable", "PIPELINE", "Let PIPELINE's triggers start it again", "", cmd_enable },
	{ "disable", "PIPELINE", "Make PIPELINE ignore its triggers; a forced run still runs it",
	  "\nKept across reloads and restarts, in the state directory.\n", cmd_disable },
	{ "history",
	  "[PIPELINE] [--pipeline P] [--result R] [--since WHEN] [--until WHEN] [--limit N]",
	  "Show recorded runs, newest first",
	  "\nRuns are kept in STATE_DIR/history.db across restarts.\n"
	  "  --pipeline P       only runs of pipeline P (as the PIPELINE argument)\n"
	  "  --result R         only runs that ended R: success, failed, cancelled, interrupted,\n"
	  "                     or still running\n"
	  "  --since WHEN       only runs started at or after WHEN: a duration ago (2h, 1d) or\n"
	  "                     ISO 8601 (2026-12-01, 2026-12-01T08:00, ...Z, ...+01:00)\n"
	  "  --until WHEN       only runs started before WHEN\n"
	  "  -n, --limit N      show N runs (default 20, at most 10000)\n"
	  "With --json: an array of runs with their steps.\n",
	  cmd_history },
	{ "logs", "RUN [STEP] [--follow]", "Show what a run's steps logged, with timestamps",
	  "\nThe output of each step (its log lines, and the stdout and stderr of exec steps),\n"
	  "up to history_output_max bytes per step, the last lines kept.\n"
	  "  -f, --follow   stream a run in progress until it ends\n",
	  cmd_logs },
	{ "reload", "", "Reload configuration and plugins, as SIGHUP does, and show the outcome",
	  "\nA reload with errors changes nothing; every error is printed.\n", cmd_reload },
	{ "metrics", "", "Print the metrics in the Prometheus text format (version 0.0.4)", "",
	  cmd_metrics },
	{ "health", "",
	  "Show whether the daemon and each pipeline are healthy; exit 1 if any is not",
	  "\nA pipeline is unhealthy when its last run failed, or when its health = { ... }\n"
	  "limits are exceeded: no success within max_age, or max_failures failures in a row.\n"
	  "The daemon is unhealthy when its last reload was refused, or a plugin file that a\n"
	  "step needs was refused.\n",
	  cmd_health },
	{ "inspect", "FILE.so", "Check a plugin file and print its descriptor, without a daemon",
	  "\nThe file is loaded by the gini-probe helper in a child process, so a crashing or\n"
	  "hanging plugin cannot harm ginictl; it is refused with the reason ginid would give\n"
	  "if it ran as you (the owner must be root or you).\n",
	  cmd_inspect },
};

static const struct verb *
find_verb(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (streq(name, verbs[i].name))
			return &verbs[i];
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "Usage: ginictl [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
	        "Ask a running ginid what it does, run pipelines, reload it.\n\n"
	        "Options:\n"
	        "  -s, --socket PATH   control socket (default %s)\n"
	        "      --json          print the daemon's replies as JSON\n"
	        "  -h, --help          show this help; COMMAND --help for a command's\n"
	        "  -V, --version       show the version\n\n"
	        "Commands:\n",
	        GINI_CONTROL_SOCKET);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nExit status: 0 ok, 1 the operation failed, 2 usage error, 3 cannot reach "
	           "the daemon,\n4 permission denied. See ginictl(1).\n");
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct ctl c = { .socket = GINI_CONTROL_SOCKET, .fd = -1 };
	const struct verb *v;
	struct winsize ws;
	int o, r;

	while ((o = getopt_long(argc, argv, "+s:hV", options, NULL)) != -1) {
		switch (o) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ginictl %s (control protocol %d)\n", GINI_VERSION, PROTO_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'ginictl --help'.\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	v = find_verb(argv[optind]);
	if (!v) {
		const char *names[ARRAY_SIZE(verbs)];
		const char *hint;

		for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
			names[i] = verbs[i].name;
		hint = closest_match(argv[optind], names, ARRAY_SIZE(verbs));
		fprintf(stderr, "ginictl: unknown command '%s'%s%s%s\nTry 'ginictl --help'.\n",
		        argv[optind], hint ? "; did you mean '" : "", hint ? hint : "",
		        hint ? "'?" : "");
		return CTL_EXIT_USAGE;
	}
	/* The protocol carries UTF-8 only: jansson would refuse another
	 * argument, which then went missing from the request without a word.
	 * inspect talks to no daemon, and a socket path is no argument. */
	for (int i = optind + 1; v->fn != cmd_inspect && i < argc; i++) {
		json_t *t;

		if (streq(argv[i - 1], "-s") || streq(argv[i - 1], "--socket") ||
		    strncmp(argv[i], "--socket=", 9) == 0 || strncmp(argv[i], "-s", 2) == 0)
			continue;
		t = json_string(argv[i]);
		if (!t) {
			fprintf(stderr, "ginictl %s: argument '", v->name);
			for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
				fprintf(stderr, *p < 0x20 || *p >= 0x7f ? "\\x%02x" : "%c", *p);
			fprintf(stderr, "' is not valid UTF-8\n");
			return CTL_EXIT_USAGE;
		}
		json_decref(t);
	}
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		c.width = ws.ws_col;
	signal(SIGPIPE, SIG_IGN);
	r = v->fn(&c, argc - optind, argv + optind);
	if (c.fd >= 0)
		close(c.fd);
	free(c.buf);
	return r;
}
