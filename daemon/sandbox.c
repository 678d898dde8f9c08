/* SPDX-License-Identifier: MIT */
/*
 * What the service's sandbox lets ginid do, asked before a feature relies on
 * it. Under systemd, a capability bounding set and a seccomp system call
 * filter (CapabilityBoundingSet=, SystemCallFilter=) can take away what a
 * documented feature needs: an isolated step's rlimits, user and group, or
 * handing the control socket to control_group. Neither shows from the
 * outside, so each check makes the very system calls the feature will make,
 * with the same arguments, in a throwaway child; capget() then tells a
 * missing capability from a filter. The child does raw system calls, writes
 * to a pipe and _exit()s, nothing else, which is what makes fork() safe in
 * this threaded daemon. Start-up, reloads and `ginid -t` run these checks,
 * so a configuration that cannot work is refused with the missing
 * permission named, never downgraded in silence.
 */
#include "sandbox.h"

#include "cleanup.h"

#include "config.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum op_kind {
	OP_RLIMIT,
	OP_SETGROUPS,
	OP_SETGID,
	OP_SETUID,
	OP_FCHOWN,
};

struct op {
	enum op_kind kind;
	int resource; /* OP_RLIMIT */
	struct rlimit rl;
	const char *key; /* OP_RLIMIT: the config key */
	uid_t uid;
	gid_t gid;
	bool drop_groups; /* OP_SETGROUPS: setgroups(0, NULL) */
};

/* What the child reports: op index, then errno (0 before the call). */
struct report {
	int index;
	int err;
};

#define OPS_MAX 8

static bool
have_cap(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d) < 0)
		return true; /* cannot tell; blame the filter, the likelier cause */
	return d[cap / 32].effective & (1u << (cap % 32));
}

static const char *
op_syscall(const struct op *o)
{
	switch (o->kind) {
	case OP_RLIMIT:
		return "setrlimit";
	case OP_SETGROUPS:
		return "setgroups";
	case OP_SETGID:
		return "setgid";
	case OP_SETUID:
		return "setuid";
	case OP_FCHOWN:
		return "chown";
	}
	return "?";
}

static const char *
op_filter_group(const struct op *o)
{
	/* The systemd syscall-filter group that holds the call. */
	switch (o->kind) {
	case OP_RLIMIT:
		return "setrlimit and prlimit64";
	case OP_SETGROUPS:
	case OP_SETGID:
	case OP_SETUID:
		return "@setuid";
	case OP_FCHOWN:
		return "@chown";
	}
	return "?";
}

/* The call itself, raw, as gini-worker's or control.c's libc calls make it. */
static long
op_do(const struct op *o, int fd)
{
	switch (o->kind) {
	case OP_RLIMIT:
		return syscall(SYS_prlimit64, 0, o->resource, &o->rl, NULL);
	case OP_SETGROUPS:
		return o->drop_groups ? syscall(SYS_setgroups, 0, NULL)
		                      : syscall(SYS_setgroups, 1, &o->gid);
	case OP_SETGID:
		return syscall(SYS_setgid, o->gid);
	case OP_SETUID:
		return syscall(SYS_setuid, o->uid);
	case OP_FCHOWN:
		return syscall(SYS_fchownat, fd, "", (uid_t)-1, o->gid, AT_EMPTY_PATH);
	}
	return -1;
}

static void
explain(const struct op *o, int errnum, bool killed, char *err, size_t size)
{
	char what[128];
	const char *call = op_syscall(o);
	int cap = -1;
	const char *cap_name = NULL;

	switch (o->kind) {
	case OP_RLIMIT:
		snprintf(what, sizeof(what), "cannot apply %s = %llu", o->key,
		         (unsigned long long)o->rl.rlim_cur);
		{
			struct rlimit now;

			/* Only raising the hard limit needs a capability. */
			if (getrlimit(o->resource, &now) == 0 && o->rl.rlim_max > now.rlim_max) {
				cap = CAP_SYS_RESOURCE;
				cap_name = "CAP_SYS_RESOURCE";
			}
		}
		break;
	case OP_SETGROUPS:
	case OP_SETGID:
		snprintf(what, sizeof(what), "cannot switch to group %u", (unsigned)o->gid);
		cap = CAP_SETGID;
		cap_name = "CAP_SETGID";
		break;
	case OP_SETUID:
		snprintf(what, sizeof(what), "cannot switch to user %u", (unsigned)o->uid);
		cap = CAP_SETUID;
		cap_name = "CAP_SETUID";
		break;
	case OP_FCHOWN:
		snprintf(what, sizeof(what), "cannot give files to group %u", (unsigned)o->gid);
		cap = CAP_CHOWN;
		cap_name = "CAP_CHOWN";
		break;
	}
	if (killed)
		snprintf(err, size,
		         "%s: %s() kills the process (a seccomp system call filter; systemd's "
		         "SystemCallFilter= must allow %s)",
		         what, call, op_filter_group(o));
	else if (errnum != EPERM)
		snprintf(err, size, "%s: %s(): %s", what, call, strerror(errnum));
	else if (cap >= 0 && !have_cap(cap))
		snprintf(err, size,
		         "%s: %s() needs the %s capability, which ginid lacks (systemd's "
		         "CapabilityBoundingSet= must include it)",
		         what, call, cap_name);
	else
		snprintf(err, size,
		         "%s: %s() is denied by a seccomp system call filter (systemd's "
		         "SystemCallFilter= must allow %s)",
		         what, call, op_filter_group(o));
}

/*
 * Runs ops in order in a throwaway child until one fails. 0 if all
 * succeeded, else -errno (-EPERM for a killing filter) with the reason in
 * err.
 */
static int
probe(const struct op *ops, size_t n, char *err, size_t size)
{
	_cleanup_close_pair_ int p[2] = { -1, -1 }, chown_fd[2] = { -1, -1 };
	struct report rep, last = { -1, 0 };
	int status;
	pid_t pid;
	ssize_t k;

	if (n == 0)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, size, "cannot check permissions: pipe: %s", strerror(errno));
		return -errno;
	}
	/* Something of the child's own to chown: a pipe is always at hand. */
	for (size_t i = 0; i < n; i++)
		if (ops[i].kind == OP_FCHOWN && chown_fd[0] < 0 && pipe2(chown_fd, O_CLOEXEC) < 0)
			chown_fd[0] = chown_fd[1] = -1;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		snprintf(err, size, "cannot check permissions: fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		/* Async-signal-safe calls only from here on (the child leaves
		 * by _exit(), so no cleanup attribute runs in it). */
		close(p[0]);
		for (size_t i = 0; i < n; i++) {
			rep = (struct report){ (int)i, 0 };
			if (write(p[1], &rep, sizeof(rep)) < 0)
				_exit(2);
			if (op_do(&ops[i], chown_fd[0]) < 0) {
				rep.err = errno;
				if (write(p[1], &rep, sizeof(rep)) < 0)
					_exit(2);
				_exit(1);
			}
		}
		_exit(0);
	}
	/* Our write end closed, the child's alone keeps the pipe open. */
	p[1] = safe_close(p[1]);
	close_pairp(&chown_fd);
	while ((k = read(p[0], &rep, sizeof(rep))) == (ssize_t)sizeof(rep) ||
	       (k < 0 && errno == EINTR))
		if (k > 0)
			last = rep;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, size, "cannot check permissions: waitpid: %s",
			         strerror(errno));
			return -errno;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (last.index < 0 || (size_t)last.index >= n) {
		snprintf(err, size, "cannot check permissions: the check process failed");
		return -EIO;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		explain(&ops[last.index], 0, true, err, size);
		return -EPERM;
	}
	if (!last.err) {
		snprintf(err, size, "cannot check permissions: the check process failed");
		return -EIO;
	}
	explain(&ops[last.index], last.err, false, err, size);
	return -last.err;
}

int
sandbox_check_worker(const struct isolation *iso, bool set_uid, uid_t uid, bool set_gid, gid_t gid,
                     char *err, size_t size)
{
	struct op ops[OPS_MAX];
	size_t n = 0;

	/* In gini-worker's order: limits, then group, then user. */
	if (iso && iso->memory_max)
		ops[n++] = (struct op){ .kind = OP_RLIMIT,
			                .resource = RLIMIT_AS,
			                .key = "memory_max",
			                .rl = { iso->memory_max, iso->memory_max } };
	if (iso && iso->cpu_max_sec)
		ops[n++] = (struct op){ .kind = OP_RLIMIT,
			                .resource = RLIMIT_CPU,
			                .key = "cpu_max",
			                .rl = { iso->cpu_max_sec, iso->cpu_max_sec + 1 } };
	if (iso && iso->nofile)
		ops[n++] = (struct op){ .kind = OP_RLIMIT,
			                .resource = RLIMIT_NOFILE,
			                .key = "nofile",
			                .rl = { iso->nofile, iso->nofile } };
	if (set_gid) {
		ops[n++] = (struct op){ .kind = OP_SETGROUPS, .gid = gid };
		ops[n++] = (struct op){ .kind = OP_SETGID, .gid = gid };
	}
	if (set_uid) {
		if (!set_gid)
			ops[n++] = (struct op){ .kind = OP_SETGROUPS, .drop_groups = true };
		ops[n++] = (struct op){ .kind = OP_SETUID, .uid = uid };
	}
	return probe(ops, n, err, size);
}

int
sandbox_check_chown(gid_t gid, char *err, size_t size)
{
	const struct op op = { .kind = OP_FCHOWN, .gid = gid };

	return probe(&op, 1, err, size);
}

void
sandbox_explain_chown(int errnum, gid_t gid, char *err, size_t size)
{
	const struct op op = { .kind = OP_FCHOWN, .gid = gid };

	explain(&op, errnum, false, err, size);
}
