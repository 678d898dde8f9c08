/* SPDX-License-Identifier: MIT */
/*
 * gini-bench: `make bench`. Runs each case of issue 6 several times, each
 * repetition measuring gini and its baselines side by side, and prints one
 * table (medians, ratio gini/baseline, min..max over repetitions, the
 * issue's target and whether it is met); the same goes to a JSON file.
 *
 *   gini-bench [--quick | --smoke] [--reps N] [--cases 1,3,...] [--json FILE]
 *
 * --quick is BENCH_QUICK=1 (under a minute); --smoke is the `make check`
 * guard: every case once at tiny size, checked only for having produced
 * sane numbers, never for speed.
 *
 * A case that cannot run yet sits in the case table with the reason instead
 * of a function, and shows as a "pending" row; adding a case is a function
 * and a line there.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct bench_case {
	int no;
	const char *name;
	int (*run)(struct bench *b);
	const char *pending; /* why it cannot run yet, or NULL */
};

static const struct bench_case cases[] = {
	{ 1, "dispatch, linear", case_linear, NULL },
	{ 2, "dispatch, fan-out", case_fanout, NULL },
	{ 3, "plugin loading", case_loading, NULL },
	{ 4, "trigger latency", case_trigger, NULL },
	{ 5, "schedule accuracy", case_schedule, NULL },
	{ 6, "idle cost", case_idle, NULL },
	{ 7, "scale", case_scale, NULL },
	{ 8, "isolated steps", case_isolated, NULL },
	{ 9, "control round-trip", case_control, NULL },
	{ 10, "the incumbent, side by side", case_incumbent, NULL },
	{ 11, "run history", case_history, NULL },
};

/* Statistics. */

void
series_add(struct series *s, double x)
{
	double *v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (!v)
		return;
	s->v = v;
	s->v[s->n++] = x;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
quantile(double *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	/* Nearest rank: the smallest value with at least q of them at or below. */
	k = (size_t)ceil(q * (double)n);
	return v[k > 0 ? k - 1 : 0];
}

double
series_median(const struct series *s)
{
	double *c;
	double m;

	if (s->n == 0)
		return NAN;
	c = malloc(s->n * sizeof(*c));
	if (!c)
		return NAN;
	memcpy(c, s->v, s->n * sizeof(*c));
	qsort(c, s->n, sizeof(*c), cmp_double);
	m = s->n % 2 ? c[s->n / 2] : (c[s->n / 2 - 1] + c[s->n / 2]) / 2;
	free(c);
	return m;
}

double
series_min(const struct series *s)
{
	double m = NAN;

	for (size_t i = 0; i < s->n; i++)
		if (isnan(m) || s->v[i] < m)
			m = s->v[i];
	return m;
}

double
series_max(const struct series *s)
{
	double m = NAN;

	for (size_t i = 0; i < s->n; i++)
		if (isnan(m) || s->v[i] > m)
			m = s->v[i];
	return m;
}

/* Clocks and files. */

uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double
mono_usec(void)
{
	return (double)mono_ns() / 1000.0;
}

void
sleep_usec(uint64_t usec)
{
	struct timespec ts = { (time_t)(usec / 1000000u), (long)(usec % 1000000u) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

char *
bench_path(const struct bench *b, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", b->bench_dir, name) < 0 ? NULL : p;
}

char *
work_path(const struct bench *b, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", b->work_dir, name) < 0 ? NULL : p;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int
rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

char *
work_subdir(const struct bench *b, const char *name)
{
	char *p = work_path(b, name);

	if (!p)
		return NULL;
	rmtree(p);
	if (mkdir(p, 0755) < 0 || chmod(p, 0755) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

int
write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(text);
	ssize_t k;

	if (fd < 0)
		return -1;
	k = write(fd, text, n);
	if (close(fd) < 0 || k != (ssize_t)n)
		return -1;
	return 0;
}

/* Rows. */

struct row *
bench_row(struct bench *b, const char *what, const char *unit, const char *baseline)
{
	struct row *r = calloc(1, sizeof(*r));
	struct row **v = realloc(b->rows, (b->n_rows + 1) * sizeof(*v));

	if (!r || !v) {
		/* Out of memory at this size is not a result worth keeping. */
		fprintf(stderr, "gini-bench: out of memory\n");
		exit(EXIT_FAILURE);
	}
	b->rows = v;
	r->case_no = b->current_case;
	r->what = strdup(what);
	r->unit = strdup(unit);
	r->baseline = baseline ? strdup(baseline) : NULL;
	b->rows[b->n_rows++] = r;
	return r;
}

void
row_target(struct row *r, enum target_kind kind, double limit, const char *text)
{
	r->kind = kind;
	r->limit = limit;
	free(r->target);
	r->target = strdup(text);
}

void
bench_note(struct bench *b, const char *what, const char *note)
{
	struct row *r = bench_row(b, what, "", NULL);

	r->note = strdup(note);
}

int
bench_fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (b->error)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) >= 0)
		b->error = msg;
	va_end(ap);
	return -1;
}

void
bench_log(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->smoke)
		return; /* make check stays quiet unless something breaks */
	fprintf(stderr, "bench: case %d: ", b->current_case);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
row_free(struct row *r)
{
	free(r->what);
	free(r->unit);
	free(r->baseline);
	free(r->gini.v);
	free(r->base.v);
	free(r->target);
	free(r->note);
	free(r);
}

static double
row_ratio(const struct row *r)
{
	double g = series_median(&r->gini), bm = series_median(&r->base);

	return r->base.n && bm != 0 ? g / bm : NAN;
}

/* 1 met, 0 missed, -1 no target or nothing to judge. */
static int
row_met(const struct bench *b, const struct row *r)
{
	double g = series_median(&r->gini), bm = series_median(&r->base), ratio = row_ratio(r);

	if (b->smoke || r->note || isnan(g))
		return -1;
	switch (r->kind) {
	case TARGET_GINI_LE:
		return g <= r->limit;
	case TARGET_RATIO_LE:
		return isnan(ratio) ? -1 : ratio <= r->limit;
	case TARGET_RATIO_GE:
		return isnan(ratio) ? -1 : ratio >= r->limit;
	case TARGET_DIFF_LE:
		return isnan(bm) ? -1 : g - bm <= r->limit;
	case TARGET_NONE:
		break;
	}
	return -1;
}

/* Numbers for people: 3 significant digits, no exponent for everyday sizes. */
static const char *
fmt_num(double x, char *buf, size_t size)
{
	double a = fabs(x);

	if (isnan(x))
		snprintf(buf, size, "-");
	else if (a == 0)
		snprintf(buf, size, "0");
	else if (a >= 1e6 || a < 1e-3)
		snprintf(buf, size, "%.2e", x);
	else if (a >= 100)
		snprintf(buf, size, "%.0f", x);
	else if (a >= 10)
		snprintf(buf, size, "%.1f", x);
	else if (a >= 1)
		snprintf(buf, size, "%.2f", x);
	else
		snprintf(buf, size, "%.3g", x);
	return buf;
}

/* A ratio far below 1 reads better as "1/N" (gini N times less). */
static const char *
fmt_ratio(double x, char *buf, size_t size)
{
	if (isnan(x))
		snprintf(buf, size, "-");
	else if (x > 0 && x < 0.1)
		snprintf(buf, size, "1/%.0f", 1 / x);
	else
		snprintf(buf, size, "%.2f", x);
	return buf;
}

static const char *
fmt_spread(const struct series *s, char *buf, size_t size)
{
	char a[32], c[32];

	if (s->n == 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%s..%s", fmt_num(series_min(s), a, sizeof(a)),
		         fmt_num(series_max(s), c, sizeof(c)));
	return buf;
}

static void
print_table(const struct bench *b, FILE *f)
{
	int ww = 11, wu = 4, wb = 8;
	char n1[32], n2[32], n3[32], s1[64], s2[64];

	for (size_t i = 0; i < b->n_rows; i++) {
		const struct row *r = b->rows[i];

		ww = MAX(ww, (int)strlen(r->what));
		wu = MAX(wu, (int)strlen(r->unit));
		wb = MAX(wb, r->baseline ? (int)strlen(r->baseline) : 1);
	}
	fprintf(f, "%-2s  %-*s  %-*s  %9s  %-*s  %9s  %7s  %-17s  %-17s  %s\n", "#", ww,
	        "measurement", wu, "unit", "gini", wb, "baseline", "base", "ratio", "gini min..max",
	        "base min..max", "target");
	for (size_t i = 0; i < b->n_rows; i++) {
		const struct row *r = b->rows[i];
		int met = row_met(b, r);

		if (r->note) {
			fprintf(f, "%-2d  %-*s  %s\n", r->case_no, ww, r->what, r->note);
			continue;
		}
		fprintf(f, "%-2d  %-*s  %-*s  %9s  %-*s  %9s  %7s  %-17s  %-17s  %s%s%s\n",
		        r->case_no, ww, r->what, wu, r->unit,
		        fmt_num(series_median(&r->gini), n1, sizeof(n1)), wb,
		        r->baseline ? r->baseline : "-",
		        fmt_num(series_median(&r->base), n2, sizeof(n2)),
		        fmt_ratio(row_ratio(r), n3, sizeof(n3)),
		        fmt_spread(&r->gini, s1, sizeof(s1)), fmt_spread(&r->base, s2, sizeof(s2)),
		        r->target ? r->target : "",
		        met < 0     ? ""
		        : r->target ? "  "
		                    : "",
		        met < 0 ? ""
		        : met   ? "met"
		                : "MISSED");
	}
}

/* The 1, 5 and 15 minute load averages: a busy machine skews everything. */
static char *
loadavg(void)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/loadavg", "re");
	double a = 0, b = 0, c = 0;

	if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", a, b, c);
	if (f)
		fclose(f);
	return strdup(buf);
}

/* Machine description: for the JSON and RESULTS.md. */
static char *
cpu_model(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	char *model = NULL;

	while (f && !model && fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');

			if (v) {
				v += strspn(v + 1, " \t") + 1;
				v[strcspn(v, "\n")] = 0;
				model = strdup(v);
			}
		}
	if (f)
		fclose(f);
	return model ? model : strdup("unknown");
}

static json_t *
num_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *
series_json(const struct series *s)
{
	json_t *o = json_object(), *a = json_array();

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, num_or_null(s->v[i]));
	json_object_set_new(o, "median", num_or_null(series_median(s)));
	json_object_set_new(o, "min", num_or_null(series_min(s)));
	json_object_set_new(o, "max", num_or_null(series_max(s)));
	json_object_set_new(o, "samples", a);
	return o;
}

static json_t *
pending_json(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cases[i].pending)
			json_array_append_new(a, json_pack("{s:i,s:s,s:s}", "case", cases[i].no,
			                                   "name", cases[i].name, "reason",
			                                   cases[i].pending));
	return a;
}

static int
write_json(const struct bench *b, const char *path, const char *date, double elapsed,
           const char *load_start, const char *load_end)
{
	struct utsname u;
	json_t *rows = json_array(), *root;
	char *model = cpu_model();
	int r;

	uname(&u);
	for (size_t i = 0; i < b->n_rows; i++) {
		const struct row *w = b->rows[i];
		int met = row_met(b, w);
		json_t *o = json_pack("{s:i,s:s,s:s}", "case", w->case_no, "measurement", w->what,
		                      "unit", w->unit);

		if (w->note) {
			json_object_set_new(o, "note", json_string(w->note));
		} else {
			json_object_set_new(o, "gini", series_json(&w->gini));
			json_object_set_new(o, "baseline",
			                    w->baseline ? json_string(w->baseline) : json_null());
			json_object_set_new(o, "base",
			                    w->base.n ? series_json(&w->base) : json_null());
			json_object_set_new(o, "ratio", num_or_null(row_ratio(w)));
			json_object_set_new(o, "target",
			                    w->target ? json_string(w->target) : json_null());
			json_object_set_new(o, "met", met < 0 ? json_null() : json_boolean(met));
		}
		json_array_append_new(rows, o);
	}
	root = json_pack(
	        "{s:s,s:s,s:i,s:{s:s,s:i,s:s,s:s},s:{s:s,s:s},s:f,s:o,s:o}", "date", date, "mode",
	        b->smoke   ? "smoke"
	        : b->quick ? "quick"
	                   : "full",
	        "reps", (int)b->reps, "machine", "cpu", model, "cores", (int)b->cores, "kernel",
	        u.release, "arch", u.machine, "loadavg", "start", load_start, "end", load_end,
	        "seconds", elapsed, "pending", pending_json(), "rows", rows);
	free(model);
	if (!root)
		return -1;
	r = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return r;
}

/* Smoke: every case that ran produced rows with sane numbers. */
static int
smoke_check(const struct bench *b, int case_no)
{
	size_t rows = 0;

	for (size_t i = 0; i < b->n_rows; i++) {
		const struct row *r = b->rows[i];

		if (r->case_no != case_no || r->note)
			continue;
		rows++;
		if (r->gini.n == 0) {
			fprintf(stderr, "bench: smoke: case %d: '%s' has no measurement\n", case_no,
			        r->what);
			return -1;
		}
		for (size_t k = 0; k < r->gini.n + r->base.n; k++) {
			double x = k < r->gini.n ? r->gini.v[k] : r->base.v[k - r->gini.n];

			if (!isfinite(x) || (x < 0 && !r->signed_ok)) {
				fprintf(stderr, "bench: smoke: case %d: '%s' measured %g\n",
				        case_no, r->what, x);
				return -1;
			}
		}
		if (r->baseline && r->base.n == 0) {
			fprintf(stderr, "bench: smoke: case %d: '%s': baseline not measured\n",
			        case_no, r->what);
			return -1;
		}
	}
	if (rows == 0) {
		fprintf(stderr, "bench: smoke: case %d produced no row\n", case_no);
		return -1;
	}
	return 0;
}

/* The build directory: the parent of the directory holding this binary. */
static char *
default_build_dir(void)
{
	char exe[4096];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (k <= 0)
		return NULL;
	exe[k] = 0;
	for (int i = 0; i < 2; i++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return NULL;
		*slash = 0;
	}
	return strdup(exe);
}

static bool
case_selected(const char *list, int no)
{
	char *copy, *tok, *save = NULL;
	bool found = false;

	if (!list)
		return true;
	copy = strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok && !found; tok = strtok_r(NULL, ",", &save))
		found = atoi(tok) == no;
	free(copy);
	return found;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "Usage: gini-bench [--quick | --smoke] [--reps N] [--cases LIST] [--json FILE]\n"
	        "                  [--build-dir DIR]\n"
	        "\n"
	        "Measures ginid against the floor and the alternatives (issue 6) and prints\n"
	        "one table: medians over N repetitions, the ratio gini/baseline, min..max.\n"
	        "\n"
	        "  --quick        smaller sizes and fewer repetitions: under a minute\n"
	        "  --smoke        every case once at tiny size; fails only on a broken\n"
	        "                 harness, never on speed (make check)\n"
	        "  --reps N       repetitions (default 5, quick 3, smoke 1)\n"
	        "  --cases LIST   only these cases, e.g. 1,2,7\n"
	        "  --json FILE    also write the results as JSON\n"
	        "  --build-dir D  where ginid and the stages are (default: ../ of this program)\n");
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "smoke", no_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "cases", required_argument, NULL, 'c' },
		{ "json", required_argument, NULL, 'j' },
		{ "build-dir", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bench b = { 0 };
	const char *json = NULL, *only = NULL;
	char date[64], *load_start = loadavg(), *load_end;
	time_t now = time(NULL);
	uint64_t t0 = mono_ns();
	int c, failed = 0, ran = 0, pending = 0;
	bool reps_bad = false;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'q':
			b.quick = true;
			break;
		case 's':
			b.smoke = true;
			break;
		case 'r':
			b.reps = (unsigned)atoi(optarg);
			reps_bad = b.reps == 0 || b.reps > 1000;
			break;
		case 'c':
			only = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'b':
			b.build_dir = realpath(optarg, NULL);
			if (!b.build_dir) {
				fprintf(stderr, "gini-bench: %s: %s\n", optarg, strerror(errno));
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (b.quick && b.smoke) || reps_bad) {
		usage(stderr);
		return 2;
	}
	if (b.reps == 0)
		b.reps = b.smoke ? 1 : b.quick ? 3 : 5;
	if (!b.build_dir)
		b.build_dir = default_build_dir();
	b.cores = (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1);
	if (!b.build_dir || asprintf(&b.bench_dir, "%s/bench", b.build_dir) < 0) {
		fprintf(stderr, "gini-bench: cannot find the build directory\n");
		return 2;
	}
	/* A directory of our own, so a `make check` running the smoke test
	 * beside a full run does not disturb it, and in /tmp rather than the
	 * build tree: a socket's path must fit in sun_path (108 bytes), and the
	 * checkout may live anywhere. */
	b.work_dir = strdup("/tmp/gini-bench.XXXXXX");
	if (!b.work_dir || !mkdtemp(b.work_dir) || chmod(b.work_dir, 0755) < 0) {
		fprintf(stderr, "gini-bench: cannot make a directory in /tmp: %s\n",
		        strerror(errno));
		return 1;
	}
	/* The in-process loader and executor start gini-probe and gini-worker
	 * from this build, not from an installed LIBEXECDIR. */
	if (setenv("GINI_HELPER_DIR", b.build_dir, 0) < 0) {
		fprintf(stderr, "gini-bench: %s\n", strerror(errno));
		return 1;
	}
	/* Our in-process daemon parts log only what is wrong. */
	log_set_level(LOG_WARNING);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	if (!b.smoke)
		fprintf(stderr,
		        "bench: %s mode, %u repetitions, %u cores, load average %s, build %s\n",
		        b.quick ? "quick" : "full", b.reps, b.cores, load_start, b.build_dir);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bench_case *k = &cases[i];
		uint64_t c0 = mono_ns();

		if (!case_selected(only, k->no))
			continue;
		b.current_case = k->no;
		if (!k->run) {
			bench_note(&b, k->name, k->pending);
			pending++;
			continue;
		}
		if (!b.smoke)
			fprintf(stderr, "bench: case %d: %s\n", k->no, k->name);
		if (k->run(&b) < 0 || b.error) {
			fprintf(stderr, "bench: case %d (%s) failed: %s\n", k->no, k->name,
			        b.error ? b.error : "unknown error");
			bench_note(&b, k->name, "FAILED (see the log above)");
			failed++;
		} else if (b.smoke && smoke_check(&b, k->no) < 0) {
			failed++;
		}
		free(b.error);
		b.error = NULL;
		ran++;
		if (!b.smoke)
			fprintf(stderr, "bench: case %d done in %.1fs\n", k->no,
			        (double)(mono_ns() - c0) / 1e9);
	}

	load_end = loadavg();
	if (b.smoke && !failed)
		printf("bench-smoke: %d cases ran once at tiny size and gave sane numbers (%zu "
		       "rows), "
		       "%d pending, in %.1fs\n",
		       ran, b.n_rows, pending, (double)(mono_ns() - t0) / 1e9);
	else
		print_table(&b, stdout);
	fflush(stdout);
	if (json &&
	    write_json(&b, json, date, (double)(mono_ns() - t0) / 1e9, load_start, load_end) < 0) {
		fprintf(stderr, "gini-bench: cannot write %s\n", json);
		failed++;
	}
	if (!b.smoke || failed)
		fprintf(stderr, "bench: %s in %.1fs, load average %s%s%s\n",
		        failed ? "FAILED" : "done", (double)(mono_ns() - t0) / 1e9, load_end,
		        json ? ", results in " : "", json ? json : "");
	free(load_start);
	free(load_end);
	rmtree(b.work_dir);
	for (size_t i = 0; i < b.n_rows; i++)
		row_free(b.rows[i]);
	free(b.rows);
	free(b.build_dir);
	free(b.bench_dir);
	free(b.work_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
