/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the daemon and ginictl: time, durations, signal
 * names, spelling suggestions, paths and atomic file writes. Nothing here
 * keeps state.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t
now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* The units format_duration() writes, largest last. */
static const struct {
	const char *suffix;
	uint64_t usec;
} duration_units[] = {
	{ "us", 1 },
	{ "ms", USEC_PER_MSEC },
	{ "s", USEC_PER_SEC },
	{ "m", USEC_PER_MINUTE },
	{ "h", USEC_PER_HOUR },
	{ "d", USEC_PER_DAY },
};

#define USEC_PER_WEEK (7 * USEC_PER_DAY)
/* systemd's month and year: an average Gregorian one (30.44 and 365.25 days). */
#define USEC_PER_MONTH (2629800 * USEC_PER_SEC)
#define USEC_PER_YEAR  (31557600 * USEC_PER_SEC)

/*
 * The units parse_duration() reads: systemd.time(7)'s time span units, in
 * the order systemd's own parser tries them, since the first prefix that
 * matches wins ("ms" before "m", "months" before "m", "M" is a month).
 */
static const struct {
	const char *name;
	uint64_t usec;
} span_units[] = {
	{ "seconds", USEC_PER_SEC },
	{ "second", USEC_PER_SEC },
	{ "sec", USEC_PER_SEC },
	{ "s", USEC_PER_SEC },
	{ "minutes", USEC_PER_MINUTE },
	{ "minute", USEC_PER_MINUTE },
	{ "min", USEC_PER_MINUTE },
	{ "months", USEC_PER_MONTH },
	{ "month", USEC_PER_MONTH },
	{ "M", USEC_PER_MONTH },
	{ "msec", USEC_PER_MSEC },
	{ "ms", USEC_PER_MSEC },
	{ "m", USEC_PER_MINUTE },
	{ "hours", USEC_PER_HOUR },
	{ "hour", USEC_PER_HOUR },
	{ "hr", USEC_PER_HOUR },
	{ "h", USEC_PER_HOUR },
	{ "days", USEC_PER_DAY },
	{ "day", USEC_PER_DAY },
	{ "d", USEC_PER_DAY },
	{ "weeks", USEC_PER_WEEK },
	{ "week", USEC_PER_WEEK },
	{ "w", USEC_PER_WEEK },
	{ "years", USEC_PER_YEAR },
	{ "year", USEC_PER_YEAR },
	{ "y", USEC_PER_YEAR },
	{ "usec", 1 },
	{ "us", 1 },
	{ "\xce\xbcs", 1 },
	{ "\xc2\xb5s", 1 }, /* Greek mu, micro sign */
};

#define DURATION_MAX (100 * 366 * USEC_PER_DAY)

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * systemd's time span syntax (systemd.time(7), its parse_sec()): groups of
 * a number, optionally with a decimal fraction, and a unit, with optional
 * whitespace between and around them; a group without a unit counts
 * seconds ("1h 30" is 1h30s). "infinity" is refused: nothing here can wait
 * forever. The total is capped at DURATION_MAX (-ERANGE), and a fraction
 * finer than a microsecond is dropped, as systemd does.
 */
int
parse_duration(const char *s, uint64_t *ret_usec)
{
	uint64_t total = 0;
	const char *p = s;
	bool something = false;

	if (!s)
		return -EINVAL;
	for (;;) {
		uint64_t n = 0, unit = USEC_PER_SEC, frac_unit;
		const char *frac = NULL, *u;
		bool matched = false;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > DURATION_MAX)
				return -ERANGE;
		}
		if (*p == '.') {
			frac = ++p;
			while (isdigit((unsigned char)*p))
				p++;
			/* "3." and "." are not numbers; ".5" is, as in systemd. */
			if (p == frac)
				return -EINVAL;
		}
		u = p;
		while (is_space(*u))
			u++;
		for (size_t i = 0; i < ARRAY_SIZE(span_units); i++) {
			size_t l = strlen(span_units[i].name);

			if (!strncmp(u, span_units[i].name, l)) {
				unit = span_units[i].usec;
				matched = true;
				u += l;
				break;
			}
		}
		if (matched)
			p = u;
		else if (*p && !is_space(*p))
			return -EINVAL; /* "5x", "1.2.3" */
		if (n > DURATION_MAX / unit || total + n * unit > DURATION_MAX)
			return -ERANGE;
		total += n * unit;
		frac_unit = unit / 10;
		for (const char *f = frac; f && isdigit((unsigned char)*f); f++, frac_unit /= 10)
			total += (uint64_t)(*f - '0') * frac_unit;
		if (total > DURATION_MAX)
			return -ERANGE;
		something = true;
	}
	if (!something)
		return -EINVAL;
	*ret_usec = total;
	return 0;
}

int
parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	uint64_t n = 0, mult = 1;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (uint64_t)(*p++ - '0');
		if (n > (UINT64_C(1) << 50))
			return -ERANGE;
	}
	if (*p) {
		const char *u = strchr(units, *p);

		if (!u || !*u)
			return -EINVAL;
		for (const char *q = units; q <= u; q++)
			mult *= 1024;
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
		if (*p)
			return -EINVAL;
	}
	if (n > (UINT64_C(1) << 50) / mult)
		return -ERANGE;
	*ret = n * mult;
	return 0;
}

#ifndef GINI_LIBEXEC_DIR
#define GINI_LIBEXEC_DIR "/usr/libexec/gini"
#endif

char *
helper_path(const char *name)
{
	const char *dir = getenv("GINI_HELPER_DIR");
	char self[4096], *slash, *r;
	ssize_t n;

	if (dir && *dir)
		return path_join(dir, name);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			r = path_join(self, name);
			if (r && access(r, X_OK) == 0)
				return r;
			free(r);
		}
	}
	return path_join(GINI_LIBEXEC_DIR, name);
}

char *
format_duration(uint64_t usec, char *buf, size_t size)
{
	size_t off = 0;

	if (size == 0)
		return buf;
	buf[0] = 0;
	if (usec == 0) {
		snprintf(buf, size, "0s");
		return buf;
	}
	for (size_t i = ARRAY_SIZE(duration_units); i-- > 0 && usec;) {
		uint64_t n = usec / duration_units[i].usec;

		if (!n)
			continue;
		usec -= n * duration_units[i].usec;
		int w = snprintf(buf + off, size - off, "%llu%s", (unsigned long long)n,
		                 duration_units[i].suffix);
		if (w < 0 || (size_t)w >= size - off)
			break;
		off += (size_t)w;
	}
	return buf;
}

char *
format_elapsed(uint64_t usec, char *buf, size_t size)
{
	if (usec < USEC_PER_MSEC)
		snprintf(buf, size, "%lluus", (unsigned long long)usec);
	else if (usec < USEC_PER_SEC)
		snprintf(buf, size, "%llums", (unsigned long long)(usec / USEC_PER_MSEC));
	else if (usec < USEC_PER_MINUTE)
		snprintf(buf, size, "%llu.%02llus", (unsigned long long)(usec / USEC_PER_SEC),
		         (unsigned long long)(usec % USEC_PER_SEC / 10000));
	else if (usec < USEC_PER_HOUR)
		snprintf(buf, size, "%llum%02llus", (unsigned long long)(usec / USEC_PER_MINUTE),
		         (unsigned long long)(usec % USEC_PER_MINUTE / USEC_PER_SEC));
	else
		snprintf(buf, size, "%lluh%02llum", (unsigned long long)(usec / USEC_PER_HOUR),
		         (unsigned long long)(usec % USEC_PER_HOUR / USEC_PER_MINUTE));
	return buf;
}

char *
format_iso8601(time_t t, char *buf, size_t size)
{
	struct tm tm;
	long off;

	if (!localtime_r(&t, &tm)) {
		snprintf(buf, size, "@%lld", (long long)t);
		return buf;
	}
	off = tm.tm_gmtoff;
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	         labs(off) / 3600, labs(off) % 3600 / 60);
	return buf;
}

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },   { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "BUS", SIGBUS },     { "FPE", SIGFPE },
	{ "KILL", SIGKILL },     { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },   { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },     { "ALRM", SIGALRM }, { "TERM", SIGTERM },   { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT },     { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },   { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU },     { "URG", SIGURG },   { "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR },       { "SYS", SIGSYS },
};

int
signal_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	if (!strncmp(s, "RTMIN", 5)) {
		const char *p = s + 5;
		int n = 0;

		if (*p == 0)
			return SIGRTMIN;
		if (*p++ != '+' || !isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p++ - '0');
			if (n > SIGRTMAX - SIGRTMIN)
				return -EINVAL;
		}
		return *p ? -EINVAL : SIGRTMIN + n;
	}
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (streq(s, signal_names[i].name))
			return signal_names[i].sig;
	return -EINVAL;
}

const char *
signal_to_string(int sig, char *buf, size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (signal_names[i].sig == sig) {
			snprintf(buf, size, "SIG%s", signal_names[i].name);
			return buf;
		}
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		if (sig == SIGRTMIN)
			snprintf(buf, size, "SIGRTMIN");
		else
			snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
	} else {
		snprintf(buf, size, "signal %d", sig);
	}
	return buf;
}

char *
str_escape(const char *s, char *buf, size_t size)
{
	size_t off = 0;

	if (size == 0)
		return buf;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[5];
		size_t len;

		if (*p == '\n' || *p == '\t' || *p == '\r') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
			esc[2] = 0;
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
		} else {
			esc[0] = (char)*p;
			esc[1] = 0;
		}
		len = strlen(esc);
		if (off + len >= size) {
			/* Cut, leaving room for the ellipsis. */
			off = size > 4 ? MIN(off, size - 4) : 0;
			snprintf(buf + off, size - off, "%s", size > 4 ? "..." : "");
			return buf;
		}
		memcpy(buf + off, esc, len);
		off += len;
	}
	buf[off] = 0;
	return buf;
}

unsigned
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned rows[3][65], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	/*
	 * Optimal string alignment distance: insertions, deletions,
	 * substitutions and swaps of two neighbours each cost 1, so "stgae" is
	 * one typo away from "stage". Case is ignored. Longer words are never
	 * worth suggesting against; that also bounds the work.
	 */
	if (la > 64 || lb > 64)
		return 255;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned *t;

		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]),
			    cb = tolower((unsigned char)b[j - 1]);
			unsigned cost = ca == cb ? 0 : 1;

			cur[j] = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb)
				cur[j] = MIN(cur[j], prev2[j - 2] + 1);
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return MIN(prev[lb], 255u);
}

const char *
closest_match(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	unsigned best_d = 255, limit = (unsigned)MAX(strlen(word) / 3, 1);

	for (size_t i = 0; i < n; i++) {
		unsigned d = edit_distance(word, candidates[i]);

		/* Distance 0 means a case-only difference: still worth saying. */
		if (strcmp(word, candidates[i]) != 0 && d <= limit && d < best_d) {
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}

char *
path_join(const char *dir, const char *name)
{
	char *r;

	if (name[0] == '/' || !dir || !*dir)
		return strdup(name);
	if (asprintf(&r, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return r;
}

char *
path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int
write_file_atomic(const char *path, const void *data, size_t size, unsigned mode)
{
	_cleanup_free_ char *tmp = NULL;
	const char *p = data;
	char *dir;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	while (size > 0) {
		ssize_t w = write(fd, p, size);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		p += w;
		size -= (size_t)w;
	}
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	dir = path_dirname(path);
	if (dir) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	return 0;
}

int
read_file(const char *path, size_t max, char **ret, size_t *ret_size)
{
	size_t size = 0, cap = 4096;
	struct stat st = { 0 };
	char *buf = NULL;
	int fd, r = 0;

	/* O_NONBLOCK: opening a FIFO without a writer must not wait for one. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
		close(fd);
		return r;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (cap - size < 2) {
			char *nb;

			if (cap >= max + 1) {
				r = -EFBIG;
				break;
			}
			cap = MIN(cap * 2, max + 1);
			nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + size, cap - size - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > max) {
			r = -EFBIG;
			break;
		}
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[size] = 0;
	*ret = buf;
	if (ret_size)
		*ret_size = size;
	return 0;
}

const char *
path_type_name(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return "a file that is gone";
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	default:
		return "not a regular file";
	}
}

void
strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t
strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int
strv_push(char ***v, size_t *n, const char *s)
{
	char **nv;
	char *copy = strdup(s);

	if (!copy)
		return -ENOMEM;
	nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	nv[(*n)++] = copy;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}
