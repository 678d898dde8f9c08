/* SPDX-License-Identifier: MIT */
/*
 * The "exec" stage: runs a program (argv) or a shell command line (shell,
 * through /bin/sh -c) and succeeds when it exits with status 0.
 *
 * The daemon is multi-threaded and blocks every signal in every thread, so
 * the child is started with posix_spawn() (never fork(), whose child would
 * inherit a copy of locks held by other threads), with an empty signal mask
 * and default dispositions, in a process group of its own so that a
 * cancellation reaches everything it started. Every descriptor we create is
 * O_CLOEXEC, so children that other steps spawn at the same moment never
 * inherit our pipe ends (a leaked write end would keep our reads from ever
 * seeing end-of-file); the child's 0, 1 and 2 are set by file actions, and
 * anything above 2 is closed in it.
 *
 * One thread, one poll() loop: it reads stdout and stderr, feeds stdin from
 * the run context, and watches a pidfd for the child's exit and the host's
 * cancel_fd. Output lines are logged through the host (stdout at info,
 * stderr at warning) unless stdout is captured into the run context.
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
#include "../lib/envfile.h"
#include "../lib/params.h"
#include "../lib/path.h"
#include "../lib/proc.h"
#include "../lib/subst.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_ADDCLOSEFROM 1
#endif

extern char **environ;

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
/* Without a pidfd (Linux before 5.3) the loop looks for the exit this often. */
#define EXIT_POLL_MS   50
#define CTX_ENV_PREFIX "GINI_CTX_"
/* An env_file is configuration, not data: it is read whole, up to this. */
#define ENV_FILE_MAX ((size_t)1024 * 1024)

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

static uint64_t
monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

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

/*
 * The child's environment: a NULL-terminated array of owned "NAME=VALUE"
 * strings. Later settings replace earlier ones of the same name.
 */
struct envv {
	char **v;
	size_t n, cap;
};

static void
envv_done(struct envv *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

/* Takes ownership of entry, also on failure. */
static int
envv_put(struct envv *e, char *entry)
{
	size_t name_len = strcspn(entry, "=") + 1;

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], entry, name_len) == 0) {
			free(e->v[i]);
			e->v[i] = entry;
			return 0;
		}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		char **v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			free(entry);
			return -ENOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
	return 0;
}

static int
envv_put_copy(struct envv *e, const char *entry)
{
	char *copy = strdup(entry);

	return copy ? envv_put(e, copy) : -ENOMEM;
}

static const char *
envv_get(const struct envv *e, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=')
			return e->v[i] + len + 1;
	return NULL;
}

/*
 * Context values exported to the child. The kernel refuses a single
 * environment string longer than MAX_ARG_STRLEN (32 pages) and an argv plus
 * environment past ARG_MAX (a quarter of the stack limit, usually 2 MiB) with
 * E2BIG, which would fail the exec for the sake of variables the program may
 * not even read. So a value that does not fit is left out, with a debug line:
 * large data belongs on stdin (stdin_key).
 */
#define CTX_ENV_ENTRY_MAX ((size_t)32 * 4096)
#define CTX_ENV_TOTAL_MAX ((size_t)1024 * 1024)

struct ctx_export {
	struct envv *env;
	size_t total;       /* bytes exported so far */
	struct buf skipped; /* keys left out, logged once the iteration is over */
};

/* ctx_foreach() callback: key "run.id" becomes GINI_CTX_RUN_ID. */
static int
envv_put_ctx(const char *key, const char *value, void *userdata)
{
	struct ctx_export *x = userdata;
	struct buf b = { 0 };
	size_t size = strlen(CTX_ENV_PREFIX) + strlen(key) + 1 + strlen(value) + 1;
	int r;

	if (size > CTX_ENV_ENTRY_MAX || x->total + size > CTX_ENV_TOTAL_MAX) {
		/* Only a debug line depends on it: a failure here changes nothing. */
		if (x->skipped.len < 1024)
			buf_printf(&x->skipped, "%s'%s' (%zu bytes)", x->skipped.len ? ", " : "",
			           key, strlen(value));
		return 0;
	}
	r = buf_puts(&b, CTX_ENV_PREFIX);
	for (const char *p = key; *p && r == 0; p++) {
		char c = *p;

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		r = buf_putc(&b, c);
	}
	if (r == 0)
		r = buf_printf(&b, "=%s", value);
	if (r < 0) {
		buf_done(&b);
		return r;
	}
	x->total += size;
	return envv_put(x->env, b.data);
}

/*
 * Variables that address the service manager on the daemon's behalf. A step
 * must not be able to tell systemd "READY=1" or ping the watchdog for the
 * daemon, nor take over sockets passed to it.
 */
static const char *const service_vars[] = {
	"NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC=",
	"LISTEN_FDS=",    "LISTEN_PID=",   "LISTEN_FDNAMES=",
};

static int
inheritable(const char *var)
{
	if (strncmp(var, CTX_ENV_PREFIX, strlen(CTX_ENV_PREFIX)) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(service_vars) / sizeof(service_vars[0]); i++)
		if (strncmp(var, service_vars[i], strlen(service_vars[i])) == 0)
			return 0;
	return 1;
}

/*
 * Inherited environment, minus GINI_CTX_* (so a daemon started from a step
 * does not pass its own run's values on) and the service manager's
 * variables, then the run context, then the env_file, then the step's env
 * param, which has the last word. -EINVAL: the env_file is bad (msg says
 * how). Keys that map to the same name ("a.b" and "a_b") leave the
 * value of the last in key order.
 */
static int
env_file_put(const char *key, const char *value, void *userdata)
{
	struct envv *e = userdata;
	char *entry = NULL;

	if (asprintf(&entry, "%s=%s", key, value) < 0)
		return -ENOMEM;
	return envv_put(e, entry);
}

/*
 * Reads the step's env_file into e, at each run, so that an edit needs no
 * reload. A regular file only (a FIFO must not hang the step), at most
 * ENV_FILE_MAX. On -EINVAL (or a missing file that is not optional) msg
 * says why.
 */
static int
read_env_file(const struct exec_step *s, struct envv *e, struct buf *msg)
{
	struct buf text = { .max = ENV_FILE_MAX };
	char err[256], chunk[8192];
	struct stat st;
	int fd, r = 0;

	fd = open(s->env_file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && s->env_file_optional)
			return 0;
		r = -errno;
		buf_printf(msg, "env_file %s: %s", s->env_file, strerror(-r));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_printf(msg, "env_file %s: not a regular file", s->env_file);
		close(fd);
		return -EINVAL;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			buf_printf(msg, "env_file %s: %s", s->env_file, strerror(-r));
			break;
		}
		if (n == 0)
			break;
		r = buf_append(&text, chunk, (size_t)n);
		if (r < 0) {
			buf_printf(msg, "env_file %s: %s", s->env_file,
			           r == -E2BIG ? "larger than 1 MiB" : strerror(-r));
			break;
		}
	}
	close(fd);
	if (r == 0 && memchr(buf_str(&text), 0, text.len)) {
		buf_printf(msg, "env_file %s: holds a NUL byte", s->env_file);
		r = -EINVAL;
	}
	if (r == 0) {
		r = envfile_parse(buf_str(&text), env_file_put, e, err, sizeof(err));
		if (r == -EINVAL)
			buf_printf(msg, "env_file %s:%s", s->env_file, err);
	}
	buf_done(&text);
	return r < 0 ? -EINVAL : 0;
}

static int
build_env(const struct gini_host *host, struct gini_handle *h, const struct exec_step *s,
          struct envv *e, struct buf *msg)
{
	struct ctx_export x = { .env = e };
	int r = 0;

	for (char **p = environ; p && *p && r == 0; p++)
		if (inheritable(*p))
			r = envv_put_copy(e, *p);
	if (r == 0)
		r = host->ctx_foreach(h, envv_put_ctx, &x);
	/* Logged here rather than in the callback, where the host may hold a lock. */
	if (x.skipped.len)
		host->log(h, GINI_LOG_DEBUG,
		          "context values too large for the environment, not exported: %s",
		          buf_str(&x.skipped));
	buf_done(&x.skipped);
	if (r == 0 && s->env_file)
		r = read_env_file(s, e, msg);
	for (size_t i = 0; i < s->n_env && r == 0; i++)
		r = envv_put_copy(e, s->env[i]);
	/* Programs the child runs by name need a PATH, even if we had none. */
	if (r == 0 && !envv_get(e, "PATH"))
		r = envv_put_copy(e, "PATH=" DEFAULT_PATH);
	return r;
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
 * Starts path in a new process group with stdin from stdin_fd (or
 * /dev/null when negative), stdout and stderr to the given pipe ends.
 * Returns 0 or a negative errno value (exec failures included: glibc's
 * posix_spawn reports them).
 */
static int
spawn_child(const char *path, const char *const *argv, char *const *envp, const char *cwd,
            int stdin_fd, int stdout_fd, int stderr_fd, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid = 0;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawnattr_init(&attr);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	if (cwd)
		r = posix_spawn_file_actions_addchdir_np(&fa, cwd);
	if (!r)
		r = stdin_fd >= 0 ? posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO)
		                  : posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
		                                                     O_RDONLY, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, stdout_fd, STDOUT_FILENO);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, stderr_fd, STDERR_FILENO);
#ifdef HAVE_ADDCLOSEFROM
	/* Descriptors some library opened without O_CLOEXEC stop here. */
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif

	/* The daemon blocks every signal and may ignore some; the child must not. */
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (!r)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
		                                            POSIX_SPAWN_SETPGROUP);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (!r)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (!r)
		r = posix_spawn(&pid, path, &fa, &attr, (char *const *)argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	*ret_pid = pid;
	return 0;
}

/*
 * What the child of spawn_into_cgroup() does between clone3() and execve().
 * It is a fork() of a multi-threaded process, so it may only make system
 * calls: everything below goes through syscall() directly (even the libc
 * wrappers could be intercepted by a sanitizer runtime whose locks another
 * thread held at the fork). On failure it writes errno to err_fd.
 */
struct child_setup {
	const char *path;
	char *const *argv, *const *envp;
	const char *cwd;
	int stdin_fd, stdout_fd, stderr_fd, err_fd;
};

/* The kernel's struct sigaction for rt_sigaction(). */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static void
child_fd(int from, int to, int *err)
{
	if (*err)
		return;
	if (from == to) {
		/* Same number: only the close-on-exec flag must go. */
		if (syscall(SYS_fcntl, to, F_SETFD, 0) < 0)
			*err = errno;
	} else if (syscall(SYS_dup3, from, to, 0) < 0) {
		*err = errno;
	}
}

__attribute__((noreturn)) static void
child_exec(const struct child_setup *c)
{
	struct kernel_sigaction dfl = { .handler = SIG_DFL };
	uint64_t none = 0;
	int err = 0, null_fd = -1;

	/* The daemon blocks every signal and may ignore some; the child must not. */
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(uint64_t));
	if (syscall(SYS_setpgid, 0, 0) < 0)
		err = errno;
	if (!err && c->cwd && syscall(SYS_chdir, c->cwd) < 0)
		err = errno;
	if (!err && c->stdin_fd < 0) {
		null_fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
		if (null_fd < 0)
			err = errno;
	}
	child_fd(c->stdin_fd >= 0 ? c->stdin_fd : null_fd, STDIN_FILENO, &err);
	child_fd(c->stdout_fd, STDOUT_FILENO, &err);
	child_fd(c->stderr_fd, STDERR_FILENO, &err);
	if (!err) {
		/* Everything but 0-2 and the error pipe (close-on-exec) goes. */
		if (c->err_fd > 3)
			(void)syscall(SYS_close_range, 3, c->err_fd - 1, 0);
		(void)syscall(SYS_close_range, c->err_fd + 1, ~0U, 0);
		syscall(SYS_execve, c->path, c->argv, c->envp);
		err = errno;
	}
	(void)syscall(SYS_write, c->err_fd, &err, sizeof(err));
	syscall(SYS_exit_group, 127);
	__builtin_unreachable();
}

/*
 * Like spawn_child(), but the child starts inside the cgroup cgfd, and its
 * pidfd comes with it. 1 when clone3() itself failed (before Linux 5.7, a
 * seccomp filter that refuses it, ...): the caller then falls back to
 * spawn_child(), which reports any failure they share. Negative errno when
 * the exec failed.
 */
static int
spawn_into_cgroup(int cgfd, const char *path, const char *const *argv, char *const *envp,
                  const char *cwd, int stdin_fd, int stdout_fd, int stderr_fd, pid_t *ret_pid,
                  int *ret_pidfd)
{
	struct child_setup c = {
		.path = path,
		.argv = (char *const *)argv,
		.envp = envp,
		.cwd = cwd,
		.stdin_fd = stdin_fd,
		.stdout_fd = stdout_fd,
		.stderr_fd = stderr_fd,
	};
	int errpipe[2], pidfd = -1, err = 0, status;
	struct clone_args args = {
		.flags = CLONE_INTO_CGROUP | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgfd,
	};
	ssize_t n;
	long pid;

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	c.err_fd = errpipe[1];
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		child_exec(&c);
	close(errpipe[1]);
	if (pid < 0) {
		close(errpipe[0]);
		return 1;
	}
	/* End of file: the exec happened. Anything else: why it did not. */
	while ((n = read(errpipe[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(err) && err) {
		while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR)
			;
		if (pidfd >= 0)
			close(pidfd);
		return -err;
	}
	*ret_pid = (pid_t)pid;
	*ret_pidfd = pidfd;
	return 0;
}

/*
 * One of the child's output pipes. Logged output keeps only the current
 * partial line in data; captured output keeps everything, up to CAPTURE_MAX.
 */
struct stream {
	int fd; /* our read end, non-blocking; -1 once closed */
	int level;
	int capturing;
	struct buf data;
	int truncated; /* the current line passed LOG_LINE_MAX */
	int overflow;  /* captured output passed CAPTURE_MAX */
	int error;     /* negative errno value: capturing ran out of memory */
};

struct child_io {
	const struct gini_host *host;
	struct gini_handle *h;
	struct stream out, err;
	int in_fd;           /* our end of the stdin pipe, -1 once closed */
	const char *in_data; /* borrowed from the run context */
	size_t in_len, in_off;
};

static void
stream_emit(struct child_io *run, struct stream *s)
{
	size_t len = s->data.len;

	if (len > 0 && s->data.data[len - 1] == '\r')
		len--;
	if (len > 0 || s->truncated) {
		/* The host takes C strings; a NUL would cut the line short. */
		for (size_t i = 0; i < len; i++)
			if (s->data.data[i] == 0)
				s->data.data[i] = '?';
		run->host->log(run->h, s->level, "%.*s%s", (int)len, s->data.data,
		               s->truncated ? " [line truncated]" : "");
	}
	s->data.len = 0;
	s->truncated = 0;
}

static void
stream_feed(struct child_io *run, struct stream *s, const char *p, size_t n)
{
	if (s->capturing) {
		int r;

		if (s->overflow || s->error)
			return;
		r = buf_append(&s->data, p, n);
		if (r == -E2BIG)
			s->overflow = 1;
		else if (r < 0)
			s->error = r;
		return;
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
		stream_emit(run, s);
		p = nl + 1;
		n -= len + 1;
	}
}

/*
 * Reads once from s. Returns 1 after reading data, 0 at end-of-file (the
 * stream is then closed), -EAGAIN when there was nothing to read.
 */
static int
stream_read(struct child_io *run, struct stream *s)
{
	char chunk[16384];
	ssize_t n;

	n = read(s->fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (n > 0) {
		stream_feed(run, s, chunk, (size_t)n);
		return 1;
	}
	/* End-of-file, or an error that makes it one. */
	if (!s->capturing)
		stream_emit(run, s);
	close_fd(&s->fd);
	return 0;
}

/* Reads what is already in the pipe, without waiting for more. */
static void
stream_drain(struct child_io *run, struct stream *s)
{
	size_t total = 0;

	while (s->fd >= 0 && total < DRAIN_MAX) {
		if (stream_read(run, s) != 1)
			break;
		total += 16384;
	}
	if (s->fd >= 0 && !s->capturing)
		stream_emit(run, s);
	close_fd(&s->fd);
}

static void
feed_stdin(struct child_io *run)
{
	size_t left = run->in_len - run->in_off;
	ssize_t n;

	if (left > 0) {
		n = write(run->in_fd, run->in_data + run->in_off, left > 65536 ? 65536 : left);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EPIPE: the child closed its stdin, which is its right. */
		if (n > 0)
			run->in_off += (size_t)n;
		else
			run->in_off = run->in_len;
	}
	if (run->in_off == run->in_len)
		close_fd(&run->in_fd);
}

static int
has_exited(pid_t pid, int pidfd, const struct pollfd *pfd)
{
	siginfo_t si;

	if (pidfd >= 0)
		return pfd && (pfd->revents & (POLLIN | POLLHUP | POLLERR));
	/* WNOWAIT: the zombie keeps the pid and group id reserved until we reap. */
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Milliseconds from now until at, rounded up, for poll(). */
static int
ms_until(uint64_t at)
{
	uint64_t now = monotonic_usec();

	if (at <= now)
		return 0;
	return (int)((at - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
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

/*
 * Signals everything the child started: its cgroup, or, without one, its
 * process group and every descendant still linked to it (a setsid()
 * grandchild leaves the group, not the tree). SIGKILL through a cgroup is
 * cgroup.kill.
 */
static void
signal_child(pid_t pid, int cgfd, int sig)
{
	if (cgfd >= 0) {
		if (sig == SIGKILL)
			proc_cgroup_kill(cgfd);
		else
			proc_cgroup_signal(cgfd, sig);
		return;
	}
	proc_tree_signal(pid, sig);
	killpg(pid, sig);
}

/*
 * Waits until the cgroup is empty (1) or until the monotonic time at (0);
 * a cancellation seen on cancel_fd (if not negative) also ends the wait (0).
 */
static int
wait_cgroup_empty(int cgfd, uint64_t at, int cancel_fd)
{
	int efd = openat(cgfd, "cgroup.events", O_RDONLY | O_CLOEXEC), r;

	if (efd < 0)
		return 0;
	while ((r = proc_cgroup_events_populated(efd)) > 0) {
		struct pollfd p[2] = { { efd, POLLPRI, 0 }, { cancel_fd, POLLIN, 0 } };
		int t = ms_until(at);

		if (t == 0)
			break;
		/* Bounded: a missed event costs a second, not a hang. */
		if (poll(p, 2, t > 1000 ? 1000 : t) > 0 && p[1].revents)
			break;
	}
	close(efd);
	return r == 0;
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

static int
exec_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	const struct exec_step *s = instance;
	struct child_io run = {
		.host = host,
		.h = h,
		.out = { .fd = -1, .level = GINI_LOG_INFO, .capturing = s->capture != NULL },
		.err = { .fd = -1, .level = GINI_LOG_WARNING },
		.in_fd = -1,
	};
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, in_pipe[2] = { -1, -1 };
	int pidfd = -1, cancel_fd, status = 0, result = GINI_FAILURE, r;
	int cancelling = 0, killed = 0, failed_errno = 0, cgfd = -1, rest_killed = 0;
	char cgpath[PATH_MAX];
	struct envv env = { 0 };
	char **argv = NULL;
	const char *const *cargv;
	struct buf msg = { 0 };
	char *path = NULL, sig[32];
	uint64_t kill_at = 0;
	pid_t pid = 0;

	run.out.data.max = CAPTURE_MAX;
	if (host->cancelled(h)) {
		host->set_message(h, "cancelled before start");
		return GINI_FAILURE;
	}

	r = build_env(host, h, s, &env, &msg);
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
		run.in_data = host->ctx_get(h, s->stdin_key);
		if (!run.in_data)
			host->log(h, GINI_LOG_DEBUG, "context key '%s' is unset, stdin is empty",
			          s->stdin_key);
		run.in_len = run.in_data ? strlen(run.in_data) : 0;
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
	/* A cgroup of its own where we may have one; the process tree where not. */
	cargv = argv ? (const char *const *)argv : s->argv;
	if (proc_cgroup_new("exec", cgpath, sizeof(cgpath), &cgfd) == 0) {
		r = spawn_into_cgroup(cgfd, path, cargv, env.v, s->cwd, in_pipe[0], out_pipe[1],
		                      err_pipe[1], &pid, &pidfd);
		if (r == 1)
			(void)proc_cgroup_free(steal_fd(&cgfd), cgpath);
	} else {
		r = 1;
	}
	if (r == 1)
		r = spawn_child(path, cargv, env.v, s->cwd, in_pipe[0], out_pipe[1], err_pipe[1],
		                &pid);
	if (r < 0) {
		spawn_failure_message(s, s->argv[0], r, &msg);
		goto out;
	}
	/* The child has its copies; ours would keep the pipes from ever closing. */
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[1]);
	close_fd(&in_pipe[0]);
	run.out.fd = steal_fd(&out_pipe[0]);
	run.err.fd = steal_fd(&err_pipe[0]);
	run.in_fd = steal_fd(&in_pipe[1]);
	if (run.in_fd >= 0 && run.in_len == 0)
		close_fd(&run.in_fd);

	/* pidfd_open() is Linux 5.3; older kernels fall back to polling waitid(). */
	if (pidfd < 0)
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cancel_fd = host->cancel_fd(h);

	for (;;) {
		struct pollfd pfd[5];
		int n = 0, i_out = -1, i_err = -1, i_in = -1, i_pid = -1, i_cancel = -1;
		int timeout = -1;

		if (run.out.fd >= 0) {
			i_out = n;
			pfd[n++] = (struct pollfd){ .fd = run.out.fd, .events = POLLIN };
		}
		if (run.err.fd >= 0) {
			i_err = n;
			pfd[n++] = (struct pollfd){ .fd = run.err.fd, .events = POLLIN };
		}
		if (run.in_fd >= 0) {
			i_in = n;
			pfd[n++] = (struct pollfd){ .fd = run.in_fd, .events = POLLOUT };
		}
		if (pidfd >= 0) {
			i_pid = n;
			pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		} else {
			timeout = EXIT_POLL_MS;
		}
		if (!cancelling && cancel_fd >= 0) {
			i_cancel = n;
			pfd[n++] = (struct pollfd){ .fd = cancel_fd, .events = POLLIN };
		} else if (!cancelling) {
			timeout = EXIT_POLL_MS;
		}
		if (cancelling && !killed) {
			int t = ms_until(kill_at);

			timeout = timeout < 0 || t < timeout ? t : timeout;
		}

		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			failed_errno = errno;
			break;
		}
		if (i_out >= 0 && pfd[i_out].revents)
			stream_read(&run, &run.out);
		if (i_err >= 0 && pfd[i_err].revents)
			stream_read(&run, &run.err);
		if (i_in >= 0 && (pfd[i_in].revents & (POLLERR | POLLHUP)))
			close_fd(&run.in_fd);
		else if (i_in >= 0 && pfd[i_in].revents)
			feed_stdin(&run);

		/* An exit that raced with the cancellation keeps its own result. */
		if (has_exited(pid, pidfd, i_pid >= 0 ? &pfd[i_pid] : NULL))
			break;
		if (!cancelling && ((i_cancel >= 0 && pfd[i_cancel].revents) ||
		                    (cancel_fd < 0 && host->cancelled(h)))) {
			cancelling = 1;
			signal_child(pid, cgfd, SIGTERM);
			kill_at = monotonic_usec() + s->kill_grace;
		}
		if (cancelling && !killed && monotonic_usec() >= kill_at) {
			killed = 1;
			signal_child(pid, cgfd, SIGKILL);
		}
	}

	if (failed_errno) {
		/* We cannot watch the child any more: stop it rather than leak it. */
		cancelling = killed = 1;
		signal_child(pid, cgfd, SIGKILL);
	} else if (cgfd >= 0) {
		/* What the leader left behind ends with the step, given the grace. */
		if (!cancelling && proc_cgroup_populated(cgfd) > 0) {
			host->log(h, GINI_LOG_INFO,
			          "the program left processes running; stopping them (SIGTERM, "
			          "SIGKILL after kill_grace)");
			proc_cgroup_signal(cgfd, SIGTERM);
			kill_at = monotonic_usec() + s->kill_grace;
		}
		if (kill_at && !killed &&
		    wait_cgroup_empty(cgfd, kill_at, cancelling ? -1 : cancel_fd) == 0) {
			proc_cgroup_kill(cgfd);
			rest_killed = 1;
		}
	} else if (cancelling) {
		/* The leader is gone but not reaped, so the group id is still ours. */
		signal_child(pid, cgfd, SIGKILL);
	}
	stream_drain(&run, &run.out);
	stream_drain(&run, &run.err);
	close_fd(&run.in_fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;

	if (failed_errno) {
		buf_printf(&msg, "poll failed, child killed: %s", strerror(failed_errno));
	} else if (cancelling) {
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && killed) {
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
	if (s->capture && !cancelling) {
		struct stream *c = &run.out;

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
				buf_printf(&msg, "capture '%s': output exceeds 1 MiB", s->capture);
			else if (r == -EBADMSG)
				buf_printf(&msg, "capture '%s': output contains a NUL byte",
				           s->capture);
			else if (r == -E2BIG)
				buf_printf(&msg,
				           "capture '%s': output too large for the run context",
				           s->capture);
			else
				buf_printf(&msg, "capture '%s': %s", s->capture, strerror(-r));
		}
	}

out:
	if (msg.len)
		host->set_message(h, "%s", buf_str(&msg));
	if (cgfd >= 0 && (r = proc_cgroup_free(cgfd, cgpath)) < 0)
		host->log(h, GINI_LOG_WARNING, "cannot remove cgroup %s: %s", cgpath, strerror(-r));
	if (pidfd >= 0)
		close(pidfd);
	close_pipe(out_pipe);
	close_pipe(err_pipe);
	close_pipe(in_pipe);
	close_fd(&run.out.fd);
	close_fd(&run.err.fd);
	close_fd(&run.in_fd);
	buf_done(&run.out.data);
	buf_done(&run.err.data);
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
