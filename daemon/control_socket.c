/* SPDX-License-Identifier: MIT */
/*
 * The control socket as a file: its directory, a stale socket left by a
 * crash (replaced) or a live daemon's (refused), its group and mode, or the
 * socket systemd passed (socket activation); and whether control_group can
 * be applied, which `ginid -t` checks too.
 * The connections on it are control.c's.
 */
#include "control_socket.h"

#include "config.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* Creates the socket's directory (one level) if missing, refusing odd ones. */
static int
prepare_dir(const char *path)
{
	_cleanup_free_ char *dir = path_dirname(path);
	struct stat st;

	if (!dir)
		return log_err_errno(-ENOMEM, "control socket %s: %m", path);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return log_err_errno(-errno, "control socket directory %s: %m", dir);
	if (lstat(dir, &st) < 0)
		return log_err_errno(-errno, "control socket directory %s: %m", dir);
	if (!S_ISDIR(st.st_mode))
		return log_err_errno(-ENOTDIR, "control socket directory %s: not a directory", dir);
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		return log_err_errno(-EPERM,
		                     "control socket directory %s is world-writable without the "
		                     "sticky bit; refusing",
		                     dir);
	return 0;
}

/* A socket file left by a crash is replaced; a live daemon's is not. */
static int
remove_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : log_err_errno(-errno, "control socket %s: %m", path);
	if (!S_ISSOCK(st.st_mode))
		return log_err_errno(-EEXIST,
		                     "control socket %s exists and is not a socket; refusing "
		                     "to replace it",
		                     path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_err_errno(-errno, "control socket %s: socket: %m", path);
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0)
		return log_err_errno(
		        -EADDRINUSE,
		        "control socket %s belongs to a running daemon; is ginid already "
		        "running with this configuration?",
		        path);
	log_info("control socket %s: removing a stale socket", path);
	if (unlink(path) < 0)
		return log_err_errno(-errno, "control socket %s: cannot remove it: %m", path);
	return 0;
}

/*
 * Gives the socket to control_group, or to root's group without one. A
 * control_group that cannot be applied is an error: its members would be
 * locked out while the configuration promises them access.
 */
static int
set_socket_group(const struct gini_config *cfg, const struct control_groups *g, const char *path)
{
	gid_t gid = g->have_group ? g->group : 0;
	struct stat st;
	char why[512];

	if (stat(path, &st) == 0 && st.st_gid == gid)
		return 0;
	if (chown(path, (uid_t)-1, gid) == 0)
		return 0;
	sandbox_explain_chown(errno, gid, why, sizeof(why));
	if (!g->have_group) {
		log_warn("control socket %s: %s, ignoring", path, why);
		return 0;
	}
	return log_err_errno(-EPERM, "control_group '%s': control socket %s: %s",
	                     cfg->control_group, path, why);
}

/*
 * What `ginid -t` can tell about the control socket without creating it:
 * control_group could be applied (sandbox.c). config.c resolved the groups.
 */
int
control_check(const struct gini_config *cfg, char *err, size_t size)
{
	char why[512];

	if (cfg->control_group && sandbox_check_chown(cfg->control_gid, why, sizeof(why)) < 0) {
		snprintf(err, size, "control_group '%s': %s", cfg->control_group, why);
		return -EPERM;
	}
	return 0;
}

void
control_groups_of(const struct gini_config *cfg, struct control_groups *ret)
{
	/* Resolved by config.c: an unknown group never gets this far. */
	*ret = (struct control_groups){
		.have_group = cfg->control_group != NULL,
		.group = cfg->control_gid,
		.have_ro_group = cfg->control_readonly_group != NULL,
		.ro_group = cfg->control_readonly_gid,
	};
}

/* The socket systemd passed: checked, and its group and mode applied. */
static int
open_activated(const struct gini_config *cfg, const struct control_groups *g, int n, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sa) - 1;
	int fd = SD_LISTEN_FDS_START, r;

	if (n != 1 || sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
		log_err("systemd passed %d file descriptors; expected one listening Unix "
		        "stream "
		        "socket",
		        n);
		return -EINVAL;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		sa.sun_path[0] = 0;
	/* The read-only group's members must be able to connect (see below). */
	if (g->have_ro_group && sa.sun_path[0] && chmod(sa.sun_path, 0666) < 0)
		log_warn("control socket %s: cannot open it to control_readonly_group: %s",
		         sa.sun_path, strerror(errno));
	/* control_group holds for systemd's socket too, whatever its
	 * SocketGroup= says; without one, the socket unit decides. */
	if (g->have_group && sa.sun_path[0]) {
		r = set_socket_group(cfg, g, sa.sun_path);
		if (r < 0)
			return r;
	}
	*ret_fd = fd;
	return 0;
}

int
control_socket_open(const struct gini_config *cfg, const struct control_groups *g, int *ret_fd,
                    char **ret_path, bool *ret_activated)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *path = NULL;
	int n = sd_listen_fds(1), fd, r;

	if (n > 0) {
		r = open_activated(cfg, g, n, ret_fd);
		if (r < 0)
			return r;
		*ret_path = NULL;
		*ret_activated = true;
		return 0;
	}
	if (strlen(cfg->control_socket) >= sizeof(sa.sun_path))
		return log_err_errno(-ENAMETOOLONG, "control socket path %s is too long",
		                     cfg->control_socket);
	strcpy(sa.sun_path, cfg->control_socket);
	path = strdup(cfg->control_socket);
	if (!path)
		return log_err_errno(-ENOMEM, "control socket %s: %m", cfg->control_socket);
	r = prepare_dir(path);
	if (r >= 0)
		r = remove_stale(path, &sa);
	if (r < 0)
		return r; /* NOLINT(clang-analyzer-unix.Malloc): _cleanup_free_ frees it */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_err_errno(-errno, "control socket %s: %m", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = log_err_errno(-errno, "control socket %s: %m", path);
		close(fd);
		return r;
	}
	if (listen(fd, 128) < 0) {
		r = log_err_errno(-errno, "control socket %s: %m", path);
		goto fail;
	}
	/* Members of control_readonly_group must be able to connect, too;
	 * then the peer credentials alone decide. */
	if (chmod(path, g->have_ro_group ? 0666 : 0660) < 0)
		log_warn("control socket %s: cannot set its mode: %s", path, strerror(errno));
	r = set_socket_group(cfg, g, path);
	if (r < 0)
		goto fail;
	*ret_fd = fd;
	*ret_path = steal_ptr(path);
	*ret_activated = false;
	return 0;
fail:
	close(fd);
	unlink(path);
	return r;
}
