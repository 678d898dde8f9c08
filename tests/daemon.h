/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * A real ginid process for integration tests: its own directory under the
 * build tree (config, pipelines.d, state, output files), stderr captured to
 * a file, and a test-owned NOTIFY_SOCKET that collects what it tells
 * "systemd".
 */
struct daemon {
	pid_t pid;
	char *dir;
	char *conf;   /* dir/gini.conf */
	char *log;    /* dir/ginid.log */
	char *socket; /* dir/ctl.sock (control socket) */
	int notify_fd;
	char *notify_path;
	char *notified; /* every notification so far, newline-separated */
	size_t notified_len;
	int status; /* wait status once exited */
	bool exited;
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
/* Resident set size of a process in KiB. */
long proc_rss_kib(pid_t pid);

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
