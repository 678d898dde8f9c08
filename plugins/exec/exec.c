/* SPDX-License-Identifier: MIT */
/*
 * The "exec" stage: runs a program (argv) or a shell command line (shell,
 * through /bin/sh -c) and succeeds when it exits with status 0.
 *
 * The child is started and watched by the child supervisor that the daemon
 * uses too (plugins/lib/child.c, compiled into this plugin): posix_spawn()
 * or clone3() (never fork(), whose child would inherit a copy of locks held
 * by other threads of the daemon), an empty signal mask and default
 * dispositions, a process group of its own so that a cancellation reaches
 * everything it started. Every descriptor we create is O_CLOEXEC, so
 * children that other steps spawn at the same moment never inherit our pipe
 * ends (a leaked write end would keep our reads from ever seeing
 * end-of-file); the child's 0, 1 and 2 are set for it, and anything above 2
 * is closed in it.
 *
 * One thread, one poll() loop (child_wait()): it reads stdout and stderr,
 * feeds stdin from the run context, and watches a pidfd for the child's exit
 * and the host's cancel_fd. Output lines are logged through the host
 * (stdout at info, stderr at warning) unless stdout is captured into the run
 * context.
 *
 * Where the daemon may create cgroups (cgroup v2, see plugins/lib/proc.h),
 * the child is started directly inside a cgroup of its own (clone3 with
 * CLONE_INTO_CGROUP, so not even its first fork can escape), and that cgroup
 * is what "the child" means from then on: on cancellation everything in it
 * gets SIGTERM, and whatever is still there after kill_grace is killed with
 * cgroup.kill, setsid() or not. When the leader exits on its own, what it
 * left behind in the background gets SIGTERM and, after kill_grace, SIGKILL:
 * the step ends when the last of its processes has, and the cgroup is
 * removed. Without a cgroup the child is started with posix_spawn() and
 * signals go to its process group and to every descendant a walk of the
 * process tree finds; background processes of a leader that exited on its
 * own are then left to the daemon, a child subreaper, which ends them at
 * shutdown. Either way the leader is reaped only after it was signalled, so
 * its pid, which is also the group id, cannot be reused meanwhile.
 *
 * Writing stdin to a child that stopped reading raises SIGPIPE in the
 * writing thread; the host runs stage code with all signals blocked, so
 * the write fails with EPIPE and we stop feeding, which is all we want.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gini/stage.h>

#include "../lib/buf.h"
#include "../lib/env.h"
#include "../lib/params.h"
#include "../lib/path.h"
#include "../lib/child.h"
#include "../lib/subst.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* stdout captured into the run context is capped; past that the step fails. */
#define CAPTURE_MAX ((size_t)1024 * 1024)
/* Longer log lines are cut, marked, and the rest of the line dropped. */
#define LOG_LINE_MAX       ((size_t)4096)
#define KILL_GRACE_DEFAULT (5 * USEC_PER_SEC)
#define KILL_GRACE_MAX     (3600 * USEC_PER_SEC)
/*
 * After the leader exits we read what it left in the pipes; a background
 * process still writing could keep that going forever, hence a bound.
 */
#define DRAIN_MAX ((size_t)4 * 1024 * 1024)

/*
 * One step. Owned by the host between create() and destroy(); all strings
 * and arrays are borrowed from params, which outlive the instance.
 */
struct exec_step {
	const char *const *argv;   /* params' argv, or shell_argv */
	const char *shell_argv[4]; /* "/bin/sh", "-c", shell, NULL */
	const char *shell;         /* NULL in argv mode */
	const char *const *env;    /* "NAME=VALUE" entries, or NULL */
	size_t n_env;
	bool templated;         /* some argv entry has a ${key} or a $$ */
	const char *env_file;   /* absolute, or NULL */
	bool env_file_optional; /* written with a leading '-': may be missing */
	const char *cwd;        /* absolute, or NULL */
	const char *stdin_key;  /* context key, or NULL for /dev/null */
	const char *capture;    /* context key, or NULL to log stdout */
	uint64_t kill_grace;    /* usec */
};

static void
signal_name(int sig, char *buf, size_t size)
{
	const char *abbrev;

	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		if (sig == SIGRTMIN)
			snprintf(buf, size, "SIGRTMIN");
		else
			snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
		return;
	}
	abbrev = sigabbrev_np(sig);
	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else
		snprintf(buf, size, "signal %d", sig);
}

static int
exec_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *params,
            void **ret_instance)
{
	struct params_reader pr = PARAMS_READER_INIT(host, h, params);
	const char *const *argv = NULL, *const *env = NULL;
	const char *shell = NULL, *cwd = NULL, *stdin_key = NULL, *capture = NULL;
	const char *env_file = NULL;
	bool templated = false;
	uint64_t kill_grace = KILL_GRACE_DEFAULT;
	size_t argc = 0, n_env = 0;
	int has_argv, has_shell;
	struct exec_step *s;

	has_argv = params_strv(&pr, "argv", &argv, &argc);
	has_shell = params_string(&pr, "shell", &shell);
	params_strv(&pr, "env", &env, &n_env);
	params_string(&pr, "env_file", &env_file);
	params_abs_path(&pr, "cwd", &cwd);
	params_ctx_key(&pr, "stdin_key", &stdin_key);
	params_ctx_key(&pr, "capture", &capture);
	params_duration(&pr, "kill_grace", &kill_grace);

	if (has_argv > 0 && has_shell > 0)
		params_fail(&pr, -EINVAL, "params 'argv' and 'shell': give one of them, not both");
	else if (has_argv == 0 && has_shell == 0)
		params_fail(&pr, -EINVAL, "params 'argv' and 'shell': one of them is required");
	if (has_argv > 0 && argc == 0)
		params_fail(&pr, -EINVAL, "param 'argv': must not be empty");
	else if (has_argv > 0 && !*argv[0])
		params_fail(&pr, -EINVAL, "param 'argv': the program name (first entry) is empty");
	if (has_shell > 0 && !*shell)
		params_fail(&pr, -EINVAL, "param 'shell': must not be empty");
	/* Which program runs is the config's to say, never a run's params. */
	if (has_argv > 0 && argc > 0 && strchr(argv[0], '$'))
		params_fail(&pr, -EINVAL,
		            "param 'argv': the program name (first entry) cannot hold '$': "
		            "substitution is for arguments only");
	for (size_t i = 1; has_argv > 0 && i < argc; i++) {
		char err[256];

		if (subst_check(argv[i], err, sizeof(err)) < 0)
			params_fail(&pr, -EINVAL, "param 'argv': entry %zu: %s", i + 1, err);
		templated = templated || strchr(argv[i], '$');
	}
	if (env_file) {
		const char *path = env_file[0] == '-' ? env_file + 1 : env_file;

		if (path[0] != '/')
			params_fail(
			        &pr, -EINVAL,
			        "param 'env_file': '%.200s' is not an absolute path (a leading '-' "
			        "makes a missing file no error)",
			        env_file);
	}
	for (size_t i = 0; i < n_env; i++) {
		const char *eq = strchr(env[i], '=');

		if (!eq || eq == env[i])
			params_fail(&pr, -EINVAL,
			            "param 'env': entry %zu, '%.80s', is not NAME=VALUE", i + 1,
			            env[i]);
	}
	if (kill_grace > KILL_GRACE_MAX)
		params_fail(&pr, -EINVAL, "param 'kill_grace': must be at most 1h");
	if (pr.error < 0)
		return pr.error;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (shell) {
		s->shell = shell;
		s->shell_argv[0] = "/bin/sh";
		s->shell_argv[1] = "-c";
		s->shell_argv[2] = shell;
		s->argv = s->shell_argv;
	} else {
		s->argv = argv;
	}
	s->env = env;
	s->n_env = n_env;
	s->templated = templated;
	if (env_file) {
		s->env_file_optional = env_file[0] == '-';
		s->env_file = env_file + s->env_file_optional;
	}
	s->cwd = cwd;
	s->stdin_key = stdin_key;
	s->capture = capture;
	s->kill_grace = kill_grace;
	*ret_instance = s;
	return 0;
}

static void
exec_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

/* The PATH that the env param sets, if it does (its last PATH= entry). */
static const char *
env_param_path(const struct exec_step *s)
{
	const char *path = NULL;

	for (size_t i = 0; i < s->n_env; i++)
		if (strncmp(s->env[i], "PATH=", 5) == 0)
			path = s->env[i] + 5;
	return path;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Hands an fd over: returns it and marks the variable closed. */
static int
steal_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

static void
close_pipe(int p[2])
{
	close_fd(&p[0]);
	close_fd(&p[1]);
}

static int
make_pipe(int p[2], int nonblock_end)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* Only our end: a non-blocking stdout would surprise the child. */
	if (fcntl(p[nonblock_end], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		close_pipe(p);
		return r;
	}
	return 0;
}

/*
 * One of the child's output pipes, as the supervisor's stream callback sees
 * it. Logged output keeps only the current partial line in data; captured
 * output keeps everything, up to CAPTURE_MAX.
 */
struct stream {
	const struct gini_host *host;
	struct gini_handle *h;
	int level;
	int capturing;
	struct buf data;
	int truncated; /* the current line passed LOG_LINE_MAX */
	int overflow;  /* captured output passed CAPTURE_MAX */
	int error;     /* negative errno value: capturing ran out of memory */
};

static void
stream_emit(struct stream *s)
{
	size_t len = s->data.len;

	if (len > 0 && s->data.data[len - 1] == '\r')
		len--;
	if (len > 0 || s->truncated) {
		/* The host takes C strings; a NUL would cut the line short. */
		for (size_t i = 0; i < len; i++)
			if (s->data.data[i] == 0)
				s->data.data[i] = '?';
		s->host->log(s->h, s->level, "%.*s%s", (int)len, s->data.data,
		             s->truncated ? " [line truncated]" : "");
	}
	s->data.len = 0;
	s->truncated = 0;
}

/* child_stream callback: a chunk of output, or (n == 0) its end. */
static int
stream_feed(void *userdata, const char *p, size_t n)
{
	struct stream *s = userdata;

	if (n == 0) {
		if (!s->capturing)
			stream_emit(s);
		return 0;
	}
	if (s->capturing) {
		int r;

		if (s->overflow || s->error)
			return 0;
		r = buf_append(&s->data, p, n);
		if (r == -E2BIG)
			s->overflow = 1;
		else if (r < 0)
			s->error = r;
		return 0;
	}
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;
		size_t room = LOG_LINE_MAX - s->data.len;

		size_t take = len > room ? room : len;

		/* Out of memory for a log line: drop the rest of it, as if it were long. */
		if (buf_append(&s->data, p, take) < 0 || take < len)
			s->truncated = 1;
		if (!nl)
			break;
		stream_emit(s);
		p = nl + 1;
		n -= len + 1;
	}
	return 0;
}

/*
 * Finds the program to run. What posix_spawn() could only report as an
 * errno, without saying whether it was about the cwd or the program (and
 * what some environments, valgrind for one, report only as exit status 127),
 * is checked here first: that cwd is a directory we may enter, and that the
 * program is an executable regular file. A name with a '/' is relative to
 * cwd; a bare name is searched in search_path. On success *ret_path is the
 * malloc'ed path to spawn; on failure msg says what is wrong.
 */
static int
resolve_program(const struct exec_step *s, const char *search_path, char **ret_path,
                struct buf *msg)
{
	const char *name = s->argv[0];
	struct buf joined = { 0 };
	char err[512];
	struct stat st;
	int r = 0;

	if (s->cwd) {
		if (stat(s->cwd, &st) < 0)
			r = -errno;
		else if (!S_ISDIR(st.st_mode))
			r = -ENOTDIR;
		else if (faccessat(AT_FDCWD, s->cwd, X_OK, AT_EACCESS) < 0)
			r = -errno;
		if (r < 0) {
			buf_printf(msg, "cwd %s: %s", s->cwd, strerror(-r));
			return r;
		}
	}
	if (s->cwd && name[0] != '/' && strchr(name, '/')) {
		r = buf_printf(&joined, "%s/%s", s->cwd, name);
		if (r < 0) {
			buf_printf(msg, "%s: %s", name, strerror(-r));
			return r;
		}
		name = joined.data;
	}
	r = executable_find(name, search_path, ret_path, err, sizeof(err));
	if (r < 0)
		buf_puts(msg, err);
	buf_done(&joined);
	return r;
}

/*
 * Why the spawn failed, in the operator's terms, when resolve_program() saw
 * nothing wrong (something changed since, or the kernel refused the exec).
 * posix_spawn() reports a failed chdir() with the same errno as a failed
 * exec, so the cwd is checked again to tell them apart.
 */
static void
spawn_failure_message(const struct exec_step *s, const char *path, int error, struct buf *msg)
{
	struct stat st;

	if (s->cwd && stat(s->cwd, &st) < 0)
		buf_printf(msg, "cwd %s: %s", s->cwd, strerror(errno));
	else if (s->cwd && !S_ISDIR(st.st_mode))
		buf_printf(msg, "cwd %s: %s", s->cwd, strerror(ENOTDIR));
	else if (s->cwd && access(s->cwd, X_OK) < 0)
		buf_printf(msg, "cwd %s: %s", s->cwd, strerror(errno));
	else if (error == -E2BIG)
		buf_printf(msg, "%s: arguments and environment too large for exec: %s", path,
		           strerror(-error));
	else
		buf_printf(msg, "%s: %s", path, strerror(-error));
}

static char **
argv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
	return NULL;
}

/*
 * The argv of one run: each entry with its ${key}s replaced from the run
 * context, and each stays one entry, whatever the values hold (spaces,
 * quotes, newlines): nothing is split and no shell reads it. An unset key
 * fails the step, naming it. Leaves *ret empty when nothing is templated.
 */
static int
expand_argv(const struct gini_host *host, struct gini_handle *h, const struct exec_step *s,
            char ***ret, struct buf *msg)
{
	char missing[CTX_KEY_MAX + 1];
	size_t n = 0;
	char **v;
	int r = 0;

	if (!s->templated)
		return 0;
	while (s->argv[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct buf b = { 0 };

		r = subst_expand_checked(host, h, s->argv[i], &b, missing);
		if (r == -ENOKEY)
			buf_printf(msg, "argv entry %zu: context key '%s' is not set", i + 1,
			           missing);
		else if (r < 0)
			buf_printf(msg, "argv entry %zu: %s", i + 1, strerror(-r));
		if (r == 0 && !b.data)
			r = buf_append(&b, "", 0);
		if (r == 0)
			v[i] = b.data;
		else
			buf_done(&b);
	}
	if (r < 0) {
		argv_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

/* Stores captured stdout in the run context; the step's result, updated. */
static int
store_capture(const struct gini_host *host, struct gini_handle *h, const struct exec_step *s,
              struct stream *c, int result, struct buf *msg)
{
	int r;

	while (c->data.len > 0 && c->data.data[c->data.len - 1] == '\n')
		c->data.data[--c->data.len] = 0;
	if (c->overflow)
		r = -E2BIG;
	else if (c->error)
		r = c->error;
	else if (memchr(buf_str(&c->data), 0, c->data.len))
		r = -EBADMSG;
	else
		r = host->ctx_set(h, s->capture, buf_str(&c->data));
	if (r < 0 && result == GINI_SUCCESS) {
		result = GINI_FAILURE;
		if (c->overflow)
			buf_printf(msg, "capture '%s': output exceeds 1 MiB", s->capture);
		else if (r == -EBADMSG)
			buf_printf(msg, "capture '%s': output contains a NUL byte", s->capture);
		else if (r == -E2BIG)
			buf_printf(msg, "capture '%s': output too large for the run context",
			           s->capture);
		else
			buf_printf(msg, "capture '%s': %s", s->capture, strerror(-r));
	}
	return result;
}

static bool
run_cancelled(void *userdata)
{
	struct stream *s = userdata;

	return s->host->cancelled(s->h);
}

static int
exec_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct exec_step *s = instance;
	struct stream out = { .host = host,
		              .h = h,
		              .level = GINI_LOG_INFO,
		              .capturing = s->capture != NULL },
	              err = { .host = host, .h = h, .level = GINI_LOG_WARNING };
	struct child_stream streams[2] = {
		{ .fd = -1, .on_data = stream_feed, .userdata = &out },
		{ .fd = -1, .on_data = stream_feed, .userdata = &err },
	};
	struct child_loop loop = {
		.streams = streams,
		.n_streams = 2,
		.in_fd = -1,
		.cancelled = run_cancelled,
		.userdata = &out,
		.grace_usec = s->kill_grace,
	};
	struct child_spec spec = { .n_fds = 3, .cgroup = "exec" };
	struct child c = { .pid = 0, .pidfd = -1, .cgfd = -1 };
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, in_pipe[2] = { -1, -1 };
	int result = GINI_FAILURE, r, failed_errno = 0, rest_killed = 0;
	struct envv env = { 0 };
	char **argv = NULL;
	struct buf msg = { 0 };
	char *path = NULL, sig[32];
	int status;

	out.data.max = CAPTURE_MAX;
	if (host->cancelled(h)) {
		host->set_message(h, "cancelled before start");
		return GINI_FAILURE;
	}

	r = envv_build(host, h, s->env, s->n_env, s->env_file, s->env_file_optional, &env, &msg);
	if (r == -EINVAL)
		goto out;
	if (r < 0) {
		buf_printf(&msg, "cannot build the environment: %s", strerror(-r));
		goto out;
	}
	r = expand_argv(host, h, s, &argv, &msg);
	if (r < 0) {
		if (!msg.len)
			buf_printf(&msg, "cannot build the arguments: %s", strerror(-r));
		goto out;
	}
	/* A bare name is looked up in the PATH the child will have. */
	r = resolve_program(s, envv_get(&env, "PATH"), &path, &msg);
	if (r < 0)
		goto out;

	if (s->stdin_key) {
		loop.in_data = host->ctx_get(h, s->stdin_key);
		if (!loop.in_data)
			host->log(h, GINI_LOG_DEBUG, "context key '%s' is unset, stdin is empty",
			          s->stdin_key);
		loop.in_len = loop.in_data ? strlen(loop.in_data) : 0;
	}
	r = make_pipe(out_pipe, 0);
	if (r == 0)
		r = make_pipe(err_pipe, 0);
	if (r == 0 && s->stdin_key)
		r = make_pipe(in_pipe, 1);
	if (r < 0) {
		buf_printf(&msg, "cannot create pipes: %s", strerror(-r));
		goto out;
	}
	spec.path = path;
	spec.argv = argv ? (const char *const *)argv : s->argv;
	spec.envp = env.v;
	spec.cwd = s->cwd;
	spec.fds[0] = in_pipe[0] >= 0 ? in_pipe[0] : CHILD_FD_NULL;
	spec.fds[1] = out_pipe[1];
	spec.fds[2] = err_pipe[1];
	r = child_spawn(&c, &spec);
	if (r < 0) {
		spawn_failure_message(s, s->argv[0], r, &msg);
		goto out;
	}
	/* The child has its copies; ours would keep the pipes from ever closing. */
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[1]);
	close_fd(&in_pipe[0]);
	streams[0].fd = steal_fd(&out_pipe[0]);
	streams[1].fd = steal_fd(&err_pipe[0]);
	loop.in_fd = steal_fd(&in_pipe[1]);
	if (loop.in_fd >= 0 && loop.in_len == 0)
		close_fd(&loop.in_fd);
	loop.cancel_fd = host->cancel_fd(h);

	r = child_wait(&c, &loop);
	if (r < 0) {
		/* We cannot watch the child any more: stop it rather than leak it. */
		failed_errno = -r;
		loop.cancelling = loop.killed = true;
		child_signal(&c, SIGKILL);
	} else if (c.cgfd >= 0) {
		/* What the leader left behind ends with the step, given the grace. */
		if (!loop.cancelling && child_has_strays(&c)) {
			host->log(h, GINI_LOG_INFO,
			          "the program left processes running; stopping them (SIGTERM, "
			          "SIGKILL after kill_grace)");
			child_signal(&c, SIGTERM);
			loop.kill_at = child_now_usec() + s->kill_grace;
		}
		if (loop.kill_at && !loop.killed &&
		    child_wait_empty(&c, loop.kill_at, loop.cancelling ? -1 : loop.cancel_fd) ==
		            0) {
			child_signal(&c, SIGKILL);
			rest_killed = 1;
		}
	} else if (loop.cancelling) {
		/* The leader is gone but not reaped, so the group id is still ours. */
		child_signal(&c, SIGKILL);
	}
	child_drain(&streams[0], DRAIN_MAX);
	child_drain(&streams[1], DRAIN_MAX);
	close_fd(&loop.in_fd);
	child_reap(&c);
	status = c.status;

	if (failed_errno) {
		buf_printf(&msg, "poll failed, child killed: %s", strerror(failed_errno));
	} else if (loop.cancelling) {
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && loop.killed) {
			buf_puts(&msg, "cancelled: killed with SIGKILL after ");
			buf_put_duration(&msg, s->kill_grace);
			buf_puts(&msg, " grace");
		} else if (WIFSIGNALED(status)) {
			signal_name(WTERMSIG(status), sig, sizeof(sig));
			buf_printf(&msg, "cancelled: killed with %s", sig);
		} else {
			buf_printf(&msg, "cancelled: exited with status %d after SIGTERM",
			           WEXITSTATUS(status));
		}
		if (rest_killed) {
			buf_puts(&msg, "; processes it started were killed with SIGKILL after ");
			buf_put_duration(&msg, s->kill_grace);
			buf_puts(&msg, " grace");
		}
	} else if (WIFSIGNALED(status)) {
		signal_name(WTERMSIG(status), sig, sizeof(sig));
		buf_printf(&msg, "killed by signal %s%s", sig,
		           WCOREDUMP(status) ? " (core dumped)" : "");
	} else if (WEXITSTATUS(status) != 0) {
		buf_printf(&msg, "exit status %d", WEXITSTATUS(status));
	} else {
		result = GINI_SUCCESS;
		if (rest_killed)
			host->log(h, GINI_LOG_WARNING,
			          "processes the program left running ignored SIGTERM: killed "
			          "them with SIGKILL");
	}

	/* Output is stored whatever the exit status: it may explain a failure. */
	if (s->capture && !loop.cancelling)
		result = store_capture(host, h, s, &out, result, &msg);

out:
	if (msg.len)
		host->set_message(h, "%s", buf_str(&msg));
	if ((r = child_done(&c)) < 0)
		host->log(h, GINI_LOG_WARNING, "cannot remove cgroup %s: %s", c.cgpath,
		          strerror(-r));
	close_pipe(out_pipe);
	close_pipe(err_pipe);
	close_pipe(in_pipe);
	close_fd(&streams[0].fd);
	close_fd(&streams[1].fd);
	close_fd(&loop.in_fd);
	buf_done(&out.data);
	buf_done(&err.data);
	buf_done(&msg);
	envv_done(&env);
	argv_free(argv);
	free(path);
	return result;
}

static int
exec_describe(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct exec_step *s = instance;
	struct buf b = { 0 }, why = { 0 };
	const char *sep = " (";
	char **argv = NULL;
	int r;

	/* A dry run has its params in the context: show what would run. */
	if (expand_argv(host, h, s, &argv, &why) < 0)
		argv = NULL;
	r = buf_puts(&b, "would run:");
	for (const char *const *a = argv ? (const char *const *)argv : s->argv; *a && r == 0; a++) {
		r = buf_putc(&b, ' ');
		if (r == 0)
			r = buf_put_quoted(&b, *a);
	}
	if (r == 0 && s->cwd) {
		r = buf_printf(&b, "%scwd ", sep);
		if (r == 0)
			r = buf_put_quoted(&b, s->cwd);
		sep = ", ";
	}
	if (r == 0 && s->env_file) {
		r = buf_printf(&b, "%senv_file %s%s", sep, s->env_file_optional ? "-" : "",
		               s->env_file);
		sep = ", ";
	}
	if (r == 0 && why.len) {
		r = buf_printf(&b, "%sunexpanded: %s", sep, buf_str(&why));
		sep = ", ";
	}
	if (r == 0 && s->stdin_key) {
		r = buf_printf(&b, "%sstdin from '%s'", sep, s->stdin_key);
		sep = ", ";
	}
	if (r == 0 && s->capture) {
		r = buf_printf(&b, "%sstdout into '%s'", sep, s->capture);
		sep = ", ";
	}
	if (r == 0 && sep[0] == ',')
		r = buf_putc(&b, ')');
	if (r == 0)
		host->set_message(h, "%s", buf_str(&b));
	buf_done(&b);
	buf_done(&why);
	argv_free(argv);
	return r;
}

/* Health probe: can the program be found, and does the cwd exist? */
static int
exec_check(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct exec_step *s = instance;
	const char *search = env_param_path(s);
	struct buf msg = { 0 };
	char *found = NULL;

	if (resolve_program(s, search ? search : getenv("PATH"), &found, &msg) < 0) {
		host->set_message(h, "%s", buf_str(&msg));
		buf_done(&msg);
		return GINI_FAILURE;
	}
	host->set_message(h, "found %s", found);
	buf_done(&msg);
	free(found);
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor exec_stage = {
	GINI_DESCRIPTOR_HEADER,
	.flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT,
	.id = "exec",
	.version = "1.0.0",
	.summary = "Run a program or a shell command; succeed when it exits with status 0",
	.category = "exec",
	.create = exec_create,
	.destroy = exec_destroy,
	.run = exec_run,
	.describe = exec_describe,
	.check = exec_check,
};

GINI_STAGE(exec_stage)
