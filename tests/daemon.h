/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon_proc.h"

/*
 * A real ginid process for integration tests: its own directory under the
 * build tree (config, pipelines.d, state, output files), stderr captured to
 * a file, and a test-owned NOTIFY_SOCKET that collects what it tells
 * "systemd". The process itself is a struct daemon_proc (daemon_proc.h,
 * shared with bench/), whose fields are also reachable by their own names
 * (d->pid, d->notified, ...). The functions below fail the test on a
 * set-up error instead of returning one.
 */
struct daemon {
	union {
		struct daemon_proc proc;
		struct {
			DAEMON_PROC_FIELDS
		};
	};
	char *dir;
	char *conf;                /* dir/gini.conf */
	char *socket;              /* dir/ctl.sock (control socket) */
	const char *watchdog_usec; /* WATCHDOG_USEC for the daemon, or NULL */
	/* A command that execs ginid's command line given after its own
	 * (NULL-terminated, e.g. the unit sandbox of check_unit.c), or NULL. */
	const char *const *wrap;
};

/* Creates the directory and writes gini.conf with text (its plugin_dirs,
 * state_dir and control_socket are given on the command line). */
void daemon_init(struct daemon *d, const char *tag, const char *conf_text);
/* Path of name inside the daemon's directory (static buffer, rotates). */
const char *daemon_path(const struct daemon *d, const char *name);
void daemon_write(const struct daemon *d, const char *name, const char *text);
/* Starts ginid with extra arguments (NULL-terminated, may be NULL) and, if
 * plugin_dir is NULL, the build tree's bundled stages. */
void daemon_spawn(struct daemon *d, const char *plugin_dir, const char *const *extra);
/* Forgets the notifications received so far (a later wait sees only new ones). */
void daemon_forget_notified(struct daemon *d);
/* After the daemon exited: starts it again, as daemon_spawn(d, NULL, NULL),
 * and waits up to 30 s for its READY=1. */
void daemon_restart(struct daemon *d);
/* Starts and waits for READY=1. */
void daemon_start(struct daemon *d);
/* Waits (up to ms) until a notification containing text arrived; true if so. */
bool daemon_wait_notify(struct daemon *d, const char *text, int ms);
/* Waits until the log contains text at least count times. */
bool daemon_wait_log(struct daemon *d, const char *text, size_t count, int ms);
size_t daemon_log_count(struct daemon *d, const char *text);
void daemon_signal(struct daemon *d, int sig);
/* Waits for exit (up to ms); returns the exit status, or -1 on timeout. */
int daemon_wait_exit(struct daemon *d, int ms);
/* Sends SIGTERM if still running, waits, kills if needed; frees everything. */
void daemon_done(struct daemon *d);

/* Waits until file exists and contains text (NULL: exists); true if so. */
bool wait_file(const char *path, const char *text, int ms);
/* Counts the lines of a file that contain text (0 if missing). */
size_t file_count(const char *path, const char *text);

/*
 * Runs a command (argv[0] a path), capturing stdout and stderr; returns the
 * wait status. *ret_out and *ret_err (may be NULL) get malloc'ed texts.
 */
int run_command(char *const *argv, char **ret_out, char **ret_err, int timeout_ms);
/*
 * `ginictl -s SOCKET ARGS...` against d (ARGS end with NULL, at most 20),
 * its output in *ret_out and *ret_err; fails the test unless it exited, and
 * returns its exit status.
 */
int daemon_ginictl(const struct daemon *d, char **ret_out, char **ret_err, ...)
        __attribute__((sentinel));

/* `ginid -t` on d's configuration, with the bundled stages and d's state
 * directory: output and errors as run_command's; returns the exit status. */
int daemon_check(const struct daemon *d, char **ret_out, char **ret_err);
/* Runs fn in a child with uid, gid and the supplementary groups; returns
 * fn's value (99 when the identity could not be taken). */
int run_as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n, int (*fn)(void));

/*
 * A client of d's control socket, speaking the wire protocol itself (not
 * through ginictl): daemon_connect() fails the test if it cannot connect;
 * daemon_send_all() is false if the daemon hung up first;
 * daemon_read_reply() returns one reply line parsed, or NULL on EOF or
 * after ms; daemon_call() sends {"v": 1, "id": 7, "cmd": CMD, "args": ARGS}
 * (ARGS a JSON text, NULL: {}) and returns the reply, failing the test if
 * there is none within 10 s; reply_error_code() is the error code of a
 * reply, or "" if it is not an error.
 */
struct json_t;
int daemon_connect(const struct daemon *d);
bool daemon_send_all(int fd, const char *text, size_t len);
struct json_t *daemon_read_reply(int fd, int ms);
struct json_t *daemon_call(int fd, const char *cmd, const char *args);
const char *reply_error_code(struct json_t *r);
