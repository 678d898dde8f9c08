/* SPDX-License-Identifier: MIT */
/*
 * Case 10: the incumbent, side by side (issue 15). ginid with the bundled
 * stages and ten cron pipelines not due, collectd in two minimal
 * configurations (the logfile plugin alone; cpu, memory and csv, a useful
 * smallest collectd), the bare daemon (`gini-floor notify`: an epoll loop
 * that says READY=1) and the same bare daemon loading ginid's libraries
 * (`gini-floor-libs`: what they alone cost), each started and stopped in
 * every repetition, in an order that rotates so none always goes first.
 *
 * "Ready" means the same for all four: the READY=1 datagram on the
 * NOTIFY_SOCKET the bench binds, as systemd's Type=notify sees it. Debian's
 * collectd.service is Type=notify, and collectd sends READY=1 itself once
 * its plugins are initialised; ginid sends it once its first generation is
 * live and its control socket listens. Start-up is from just before
 * posix_spawn() to the datagram's arrival; stop is SIGTERM to the exit seen
 * on a pidfd. Once all four are up and settled: the voluntary context
 * switches of every thread over a window (wake-ups per second), and at its
 * end VmRSS, its file-backed part (RssFile), PSS (/proc/PID/smaps_rollup)
 * and the thread count.
 *
 * ginid is started once before the repetitions, unmeasured, so its probe
 * cache is warm as it is on every start but a host's first. collectd is
 * told its host name (no DNS look-up at start) and writes only under this
 * case's directory.
 */
#include "bench.h"
#include "proc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N_PIPELINES 10

enum { GINID, COLLECTD_LOG, COLLECTD_CSV, BARE, BARE_LIBS, N_CONTENDERS };

static const char *const labels[N_CONTENDERS] = {
	[GINID] = "ginid",
	[COLLECTD_LOG] = "collectd, logfile only",
	[COLLECTD_CSV] = "collectd, cpu+memory+csv",
	[BARE] = "bare epoll daemon",
	[BARE_LIBS] = "bare daemon + ginid's libraries",
};

/* One program under measurement and what each repetition measured of it. */
struct contender {
	char *argv[8];
	char *log, *notify;
	struct daemon_proc p;
	struct series start_ms, stop_ms, rss, rss_file, pss, threads, wakeups;
};

static const char *
find_collectd(void)
{
	static const char *const paths[] = { "/usr/sbin/collectd", "/usr/bin/collectd",
		                             "/usr/local/sbin/collectd" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static const char *
find_types_db(void)
{
	static const char *const paths[] = { "/usr/share/collectd/types.db",
		                             "/usr/local/share/collectd/types.db" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return NULL;
}

/* dir/name/collectd.conf for a collectd keeping all its files in dir/name. */
static char *
collectd_conf(struct bench *b, const char *dir, const char *name, const char *types_db,
              bool collect)
{
	char *sub = NULL, *conf = NULL, *text = NULL;
	size_t len = 0;
	FILE *f;

	if (asprintf(&sub, "%s/%s", dir, name) < 0 || asprintf(&conf, "%s/collectd.conf", sub) < 0)
		goto fail;
	if (mkdir(sub, 0755) < 0 && errno != EEXIST)
		goto fail;
	f = open_memstream(&text, &len);
	if (!f)
		goto fail;
	fprintf(f,
	        "# gini-bench case 10: %s\n"
	        "Hostname \"bench\"\nFQDNLookup false\n"
	        "BaseDir \"%s\"\nPIDFile \"%s/collectd.pid\"\nTypesDB \"%s\"\n"
	        "AutoLoadPlugin false\nInterval 10\n"
	        "LoadPlugin logfile\n<Plugin logfile>\n  LogLevel \"info\"\n"
	        "  File \"%s/collectd.log\"\n  Timestamp true\n</Plugin>\n",
	        name, sub, sub, types_db, sub);
	if (collect)
		fprintf(f,
		        "LoadPlugin cpu\nLoadPlugin memory\nLoadPlugin csv\n"
		        "<Plugin csv>\n  DataDir \"%s/csv\"\n  StoreRates false\n</Plugin>\n",
		        sub);
	if (fclose(f) != 0 || write_text(conf, text) < 0)
		goto fail;
	free(sub);
	free(text);
	return conf;
fail:
	bench_fail(b, "cannot write the collectd configuration in %s: %s", dir, strerror(errno));
	free(sub);
	free(conf);
	free(text);
	return NULL;
}

/* gini.conf: the bundled stages, N_PIPELINES daily crons twelve hours away. */
static char *
gini_conf(struct bench *b, const char *dir, const char *stages, const char *state)
{
	char *conf = NULL, *text = NULL;
	time_t now = time(NULL);
	size_t len = 0;
	struct tm tm;
	FILE *f;

	localtime_r(&now, &tm);
	if (asprintf(&conf, "%s/gini.conf", dir) < 0 || !(f = open_memstream(&text, &len)))
		goto fail;
	fprintf(f,
	        "# gini-bench case 10: %d pipelines, none due.\n"
	        "plugin_dirs = [ \"%s\" ];\ncontrol_socket = \"%s/ctl.sock\";\n"
	        "state_dir = \"%s\";\npipelines = (\n",
	        N_PIPELINES, stages, dir, state);
	for (int i = 0; i < N_PIPELINES; i++)
		fprintf(f,
		        "{ name = \"p%d\"; triggers = { schedule = \"%d %d * * *\"; };"
		        " steps = ({ id = \"say\"; stage = \"log\"; params = { message = \"hi\"; "
		        "}; }); }%s\n",
		        i, tm.tm_min, (tm.tm_hour + 12) % 24, i + 1 < N_PIPELINES ? "," : "");
	fprintf(f, ");\n");
	if (fclose(f) != 0 || write_text(conf, text) < 0)
		goto fail;
	free(text);
	return conf;
fail:
	bench_fail(b, "cannot write %s/gini.conf: %s", dir, strerror(errno));
	free(conf);
	free(text);
	return NULL;
}

/* Starts c and waits for its READY=1; adds the time taken to c->start_ms. */
static int
start(struct bench *b, struct contender *c, const char *name)
{
	uint64_t t0 = mono_ns(), t1;

	if (proc_spawn_notify(b, &c->p, name, c->argv, c->log, c->notify) < 0 ||
	    proc_wait_notify(b, &c->p, "READY=1", 0, 30000, &t1) < 0)
		return -1;
	series_add(&c->start_ms, (double)(t1 - t0) / 1e6);
	return 0;
}

static void
contender_done(struct contender *c)
{
	if (c->p.name)
		proc_stop(&c->p, 5000);
	for (size_t i = 0; c->argv[i]; i++)
		free(c->argv[i]);
	free(c->log);
	free(c->notify);
	free(c->start_ms.v);
	free(c->stop_ms.v);
	free(c->rss.v);
	free(c->rss_file.v);
	free(c->pss.v);
	free(c->threads.v);
	free(c->wakeups.v);
}

/* One row per baseline that ran: gini's series against each of theirs. */
static void
add_rows(struct bench *b, struct contender *cs, bool *ran, const char *what, const char *unit,
         size_t offset, enum target_kind kind, double limit, const char *target,
         bool target_collectd_only)
{
	for (int k = COLLECTD_LOG; k < N_CONTENDERS; k++) {
		const struct series *g = (const struct series *)((const char *)&cs[GINID] + offset);
		const struct series *s = (const struct series *)((const char *)&cs[k] + offset);
		struct row *r;

		if (!ran[k])
			continue;
		r = bench_row(b, what, unit, labels[k]);
		for (size_t i = 0; i < g->n; i++)
			series_add(&r->gini, g->v[i]);
		for (size_t i = 0; i < s->n; i++)
			series_add(&r->base, s->v[i]);
		if (target && (!target_collectd_only || k == COLLECTD_LOG || k == COLLECTD_CSV))
			row_target(r, kind, limit, target);
	}
}

int
case_incumbent(struct bench *b)
{
	const char *collectd = find_collectd(), *types_db = find_types_db();
	uint64_t settle = bench_size(b, 50, 1000, 2000) * 1000;
	uint64_t window = bench_size(b, 200, 3000, 10000) * 1000;
	struct contender cs[N_CONTENDERS] = { 0 };
	bool ran[N_CONTENDERS] = { true, false, false, true, true };
	char *dir = work_subdir(b, "incumbent"), *stages = NULL, *state = NULL;
	int r = -1;

	for (int k = 0; k < N_CONTENDERS; k++) {
		cs[k].p.pid = -1;
		cs[k].p.notify_fd = -1;
	}
	if (!dir || asprintf(&stages, "%s/stages", b->build_dir) < 0 ||
	    asprintf(&state, "%s/state", dir) < 0 || mkdir(state, 0755) < 0) {
		bench_fail(b, "cannot set up the incumbent case: %s", strerror(errno));
		goto out;
	}
	/* Every socket lives in the short scratch directory: see bench.c. */
	for (int k = 0; k < N_CONTENDERS; k++)
		if (asprintf(&cs[k].log, "%s/%d.log", dir, k) < 0 ||
		    asprintf(&cs[k].notify, "%s/%d.notify", dir, k) < 0)
			goto out;
	if (asprintf(&cs[GINID].argv[0], "%s/ginid", b->build_dir) < 0 ||
	    !(cs[GINID].argv[1] = strdup("-c")) ||
	    !(cs[GINID].argv[2] = gini_conf(b, dir, stages, state)))
		goto out;
	if (asprintf(&cs[BARE].argv[0], "%s/gini-floor", b->bench_dir) < 0 ||
	    !(cs[BARE].argv[1] = strdup("notify")) ||
	    asprintf(&cs[BARE_LIBS].argv[0], "%s/gini-floor-libs", b->bench_dir) < 0 ||
	    !(cs[BARE_LIBS].argv[1] = strdup("notify")))
		goto out;
	if (collectd && types_db) {
		for (int k = COLLECTD_LOG; k <= COLLECTD_CSV; k++) {
			cs[k].argv[0] = strdup(collectd);
			cs[k].argv[1] = strdup("-C");
			cs[k].argv[2] = collectd_conf(
			        b, dir, k == COLLECTD_LOG ? "collectd-log" : "collectd-csv",
			        types_db, k == COLLECTD_CSV);
			if (!cs[k].argv[0] || !cs[k].argv[1] || !cs[k].argv[2])
				goto out;
			ran[k] = true;
		}
	} else {
		bench_note(b, "the incumbent: collectd",
		           geteuid() == 0
		                   ? "collectd is not installed (make bench installs "
		                     "collectd-core; make bench-smoke does not): not measured"
		                   : "collectd is not installed: run `sudo apt-get install -y "
		                     "collectd-core`, then make bench again");
	}

	/* The unmeasured first start: the probe cache is written. */
	if (start(b, &cs[GINID], "ginid") < 0 || proc_stop(&cs[GINID].p, 10000) < 0) {
		bench_fail(b, "ginid did not stop on SIGTERM");
		goto out;
	}
	free(cs[GINID].start_ms.v);
	cs[GINID].start_ms = (struct series){ 0 };

	for (unsigned rep = 0; rep < b->reps; rep++) {
		long long before[N_CONTENDERS];
		double t0, secs;

		for (int i = 0; i < N_CONTENDERS; i++) {
			int k = (int)((rep + (unsigned)i) % N_CONTENDERS);

			if (ran[k] && start(b, &cs[k], labels[k]) < 0)
				goto out;
		}
		proc_sleep(&cs[GINID].p, settle);
		for (int k = 0; k < N_CONTENDERS; k++)
			before[k] = ran[k] ? proc_voluntary_switches(cs[k].p.pid) : 0;
		t0 = mono_usec();
		proc_sleep(&cs[GINID].p, window);
		secs = (mono_usec() - t0) / 1e6;
		for (int k = 0; k < N_CONTENDERS; k++) {
			struct contender *c = &cs[k];
			long long after;
			long rss, file, pss, threads;

			if (!ran[k])
				continue;
			proc_drain(&c->p);
			after = proc_voluntary_switches(c->p.pid);
			rss = proc_rss_kib(c->p.pid);
			file = proc_status_kib(c->p.pid, "RssFile");
			pss = proc_pss_kib(c->p.pid);
			threads = proc_status_kib(c->p.pid, "Threads");
			if (before[k] < 0 || after < 0 || rss < 0 || file < 0 || pss < 0 ||
			    threads < 0) {
				bench_fail(b, "%s: cannot read /proc/%d (did it exit?)", labels[k],
				           (int)c->p.pid);
				goto out;
			}
			series_add(&c->wakeups, (double)(after - before[k]) / secs);
			series_add(&c->rss, (double)rss);
			series_add(&c->rss_file, (double)file);
			series_add(&c->pss, (double)pss);
			series_add(&c->threads, (double)threads);
		}
		for (int i = 0; i < N_CONTENDERS; i++) {
			int k = (int)((rep + (unsigned)i) % N_CONTENDERS);
			double ms;

			if (!ran[k])
				continue;
			if (proc_stop_timed(&cs[k].p, 10000, &ms) < 0) {
				bench_fail(b, "%s did not exit within 10 s of SIGTERM", labels[k]);
				goto out;
			}
			series_add(&cs[k].stop_ms, ms);
		}
		bench_log(b, "repetition %u: ginid ready in %.2f ms, %.0f kB RSS", rep + 1,
		          cs[GINID].start_ms.v[rep], cs[GINID].rss.v[rep]);
	}

	add_rows(b, cs, ran, "start -> READY=1, 10 cron pipelines", "ms",
	         offsetof(struct contender, start_ms), TARGET_RATIO_LE, 1.0, "<= collectd", true);
	add_rows(b, cs, ran, "SIGTERM -> exit", "ms", offsetof(struct contender, stop_ms),
	         TARGET_NONE, 0, NULL, false);
	add_rows(b, cs, ran, "idle VmRSS", "kB", offsetof(struct contender, rss), TARGET_RATIO_LE,
	         1.0, "<= collectd", true);
	add_rows(b, cs, ran, "idle RSS file-backed (RssFile)", "kB",
	         offsetof(struct contender, rss_file), TARGET_NONE, 0, NULL, false);
	add_rows(b, cs, ran, "idle PSS (smaps_rollup)", "kB", offsetof(struct contender, pss),
	         TARGET_RATIO_LE, 1.0, "<= collectd", true);
	add_rows(b, cs, ran, "threads", "n", offsetof(struct contender, threads), TARGET_NONE, 0,
	         NULL, false);
	add_rows(b, cs, ran, "idle wake-ups (voluntary switches)", "/s",
	         offsetof(struct contender, wakeups), TARGET_NONE, 0, NULL, false);
	r = 0;
out:
	for (int k = 0; k < N_CONTENDERS; k++)
		contender_done(&cs[k]);
	free(dir);
	free(stages);
	free(state);
	return r;
}
