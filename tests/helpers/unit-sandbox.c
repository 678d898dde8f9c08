/* SPDX-License-Identifier: MIT */
/*
 * unit-sandbox UNIT PROGRAM [ARG...]: runs PROGRAM under the system call
 * filter, capability bounding set and NoNewPrivileges= of the systemd unit
 * file UNIT, the way systemd would, for the tests of tests/check_unit.c on
 * machines where systemd is not PID 1.
 *
 * SystemCallFilter= lines are read with systemd's semantics: the first
 * non-empty one decides whether the set is an allow-list (then @default is
 * added, as systemd does) or a deny-list ("~"); later lines add to or take
 * from it; an empty assignment resets. Groups (@system-service, ...) are
 * expanded with `systemd-analyze syscall-filter` of this machine, so the
 * groups mean what this systemd version means by them. A denied call fails
 * with SystemCallErrorNumber= (EPERM, ...), or kills the process when that
 * is not set. Other sandbox settings (ProtectSystem=, PrivateTmp=, ...) are
 * not emulated.
 *
 * Exit status: PROGRAM's (exec), 77 when systemd-analyze is missing (the
 * test skips), 125 on any other failure of this helper.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

#define NAMES_MAX 4096

struct names {
	char *v[NAMES_MAX];
	size_t n;
};

/* A syscall-filter group of systemd-analyze: "@name" and its members. */
struct group {
	char *name;
	struct names members;
};

static struct group groups[128];
static size_t n_groups;

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("unit-sandbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(125);
}

static bool
has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return true;
	return false;
}

static void
add(struct names *s, const char *name)
{
	if (has(s, name))
		return;
	if (s->n == NAMES_MAX)
		die("too many names");
	s->v[s->n++] = strdup(name);
}

static void
del(struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0) {
			free(s->v[i]);
			s->v[i] = s->v[--s->n];
			return;
		}
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static void
load_groups(void)
{
	FILE *f;
	char line[512];
	struct group *g = NULL;

	if (access("/usr/bin/systemd-analyze", X_OK) != 0 &&
	    access("/bin/systemd-analyze", X_OK) != 0) {
		fprintf(stderr, "unit-sandbox: systemd-analyze is not installed\n");
		exit(77);
	}
	f = popen("systemd-analyze syscall-filter --no-pager 2>/dev/null", "r");
	if (!f)
		die("cannot run systemd-analyze: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *t = trim(line);

		if (line[0] == '@') {
			if (n_groups == sizeof(groups) / sizeof(groups[0]))
				die("too many syscall groups");
			g = &groups[n_groups++];
			g->name = strdup(t);
		} else if (!*t) {
			g = NULL;
		} else if (g && *t != '#') {
			add(&g->members, t);
		}
	}
	if (pclose(f) != 0 || n_groups == 0)
		die("systemd-analyze syscall-filter failed");
}

/* Adds (or with remove, takes away) a name or a group, recursively. */
static void
apply(struct names *set, const char *item, bool remove, int depth)
{
	if (depth > 16)
		die("syscall groups nest too deeply");
	if (item[0] != '@') {
		if (remove)
			del(set, item);
		else
			add(set, item);
		return;
	}
	for (size_t i = 0; i < n_groups; i++)
		if (strcmp(groups[i].name, item) == 0) {
			for (size_t j = 0; j < groups[i].members.n; j++)
				apply(set, groups[i].members.v[j], remove, depth + 1);
			return;
		}
	die("unknown syscall group %s", item);
}

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

static int
cap_number(const char *name)
{
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (strcasecmp(cap_names[i], name) == 0)
			return (int)i;
	die("unknown capability %s", name);
}

struct unit {
	struct names syscalls;
	bool filter_set, allow_list;
	int errnum; /* 0: kill */
	bool nnp;
	bool caps_set;
	unsigned long long caps;
};

static void
parse_filter(struct unit *u, char *value)
{
	bool invert = false;
	char *save = NULL;

	if (!*value) {
		for (size_t i = 0; i < u->syscalls.n; i++)
			free(u->syscalls.v[i]);
		u->syscalls.n = 0;
		u->filter_set = false;
		return;
	}
	if (*value == '~') {
		invert = true;
		value++;
	}
	if (!u->filter_set) {
		u->filter_set = true;
		u->allow_list = !invert;
		if (u->allow_list)
			apply(&u->syscalls, "@default", false, 0);
	}
	for (char *t = strtok_r(value, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		char *colon = strchr(t, ':');

		if (colon) /* a per-call errno: the unit's one is used */
			*colon = 0;
		/* allow-list: "~" takes away; deny-list: "~" adds a denial. */
		apply(&u->syscalls, t, u->allow_list ? invert : !invert, 0);
	}
}

static void
parse_caps(struct unit *u, char *value)
{
	bool invert = false;
	unsigned long long set = 0;
	char *save = NULL;

	if (!*value) {
		u->caps_set = false;
		return;
	}
	if (*value == '~') {
		invert = true;
		value++;
	}
	for (char *t = strtok_r(value, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		set |= 1ULL << cap_number(t);
	if (invert)
		set = ~set;
	u->caps = u->caps_set ? u->caps | set : set;
	u->caps_set = true;
}

static int
errno_number(const char *name)
{
	static const struct {
		const char *name;
		int value;
	} map[] = { { "EPERM", EPERM }, { "EACCES", EACCES }, { "ENOSYS", ENOSYS } };

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, name) == 0)
			return map[i].value;
	if (atoi(name) > 0)
		return atoi(name);
	die("unsupported SystemCallErrorNumber=%s", name);
}

static void
parse_unit(const char *path, struct unit *u)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	bool service = false;

	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *t = trim(line), *eq;

		if (*t == '[') {
			service = strcmp(t, "[Service]") == 0;
			continue;
		}
		eq = strchr(t, '=');
		if (!service || *t == '#' || *t == ';' || !eq)
			continue;
		*eq = 0;
		if (strcmp(t, "SystemCallFilter") == 0)
			parse_filter(u, trim(eq + 1));
		else if (strcmp(t, "SystemCallErrorNumber") == 0)
			u->errnum = errno_number(trim(eq + 1));
		else if (strcmp(t, "NoNewPrivileges") == 0)
			u->nnp = strcmp(trim(eq + 1), "yes") == 0 ||
			         strcmp(trim(eq + 1), "true") == 0;
		else if (strcmp(t, "CapabilityBoundingSet") == 0)
			parse_caps(u, trim(eq + 1));
	}
	fclose(f);
}

static void
install(const struct unit *u)
{
	uint32_t deny = u->errnum ? SCMP_ACT_ERRNO((uint32_t)u->errnum) : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int r;

	if (u->caps_set)
		for (int c = 0; c < 64; c++)
			if (!(u->caps & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
			    errno != EINVAL)
				die("cannot drop capability %d: %s", c, strerror(errno));
	if (u->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("cannot set no_new_privs: %s", strerror(errno));
	if (!u->filter_set)
		return;
	ctx = seccomp_init(u->allow_list ? deny : SCMP_ACT_ALLOW);
	if (!ctx)
		die("seccomp_init failed");
	/* Without NoNewPrivileges=, systemd (root) loads the filter anyway. */
	if (!u->nnp)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; i < u->syscalls.n; i++) {
		int nr = seccomp_syscall_resolve_name(u->syscalls.v[i]);

		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue; /* not a call of this architecture */
		r = seccomp_rule_add(ctx, u->allow_list ? SCMP_ACT_ALLOW : deny, nr, 0);
		if (r < 0 && r != -EEXIST)
			die("seccomp rule for %s: %s", u->syscalls.v[i], strerror(-r));
	}
	r = seccomp_load(ctx);
	if (r < 0)
		die("cannot load the filter: %s", strerror(-r));
	seccomp_release(ctx);
}

int
main(int argc, char **argv)
{
	static struct unit u;

	if (argc < 3) {
		fprintf(stderr, "Usage: unit-sandbox UNIT PROGRAM [ARG...]\n");
		return 125;
	}
	load_groups();
	parse_unit(argv[1], &u);
	install(&u);
	execv(argv[2], argv + 2);
	fprintf(stderr, "unit-sandbox: %s: %s\n", argv[2], strerror(errno));
	return 125;
}
