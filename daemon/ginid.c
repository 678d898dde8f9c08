/* SPDX-License-Identifier: MIT */
/*
 * ginid: the command line, and the order of start-up and shut-down. The
 * work happens elsewhere: config.c reads the files, loader.c fills a
 * registry, and the modes below decide what to do with them.
 */
#include "config.h"
#include "context.h"
#include "control.h"
#include "control_socket.h"
#include "diag.h"
#include "executor.h"
#include "generation.h"
#include "http.h"
#include "isolate_pool.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "pipeline.h"
#include "reaper.h"
#include "registry.h"
#include "report.h"
#include "startup_trace.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#ifndef GINI_CONFIG_FILE
#define GINI_CONFIG_FILE "/etc/gini/gini.conf"
#endif

struct args {
	const char *config_file;
	bool test;
	const char *once;
	bool dry_run;
	char **plugin_dirs;
	size_t n_plugin_dirs;
	const char *control_socket;
	const char *state_dir;
};

static void
usage(FILE *f)
{
	fprintf(f,
	        "Usage: ginid [OPTIONS]\n"
	        "       ginid -t [OPTIONS]\n"
	        "       ginid --once PIPELINE [--dry-run] [OPTIONS]\n"
	        "\n"
	        "The gini plugin-host daemon: loads stage plugins and runs the pipelines of\n"
	        "its configuration on signals, schedules, at start-up or on request. It\n"
	        "stays in the foreground; systemd (Type=notify) or a container supervises it.\n"
	        "\n"
	        "Modes:\n"
	        "  (none)                 run as a service until SIGTERM or SIGINT\n"
	        "  -t, --test             load plugins and configuration, print the stage\n"
	        "                         types and pipelines, exit 0 if valid, 1 otherwise\n"
	        "      --once PIPELINE    run one pipeline in the foreground, print a summary\n"
	        "                         of its steps, exit 0 on success and 1 otherwise\n"
	        "      --dry-run          with --once: show what would run, execute nothing\n"
	        "\n"
	        "Options:\n"
	        "  -c, --config FILE      main configuration file (default %s)\n"
	        "      --plugin-dir DIR   scan DIR for plugins instead of plugin_dirs\n"
	        "                         (may be repeated)\n"
	        "      --control-socket PATH  control socket instead of control_socket\n"
	        "      --state-dir DIR    state directory instead of state_dir\n"
	        "  -h, --help             show this help and exit\n"
	        "  -V, --version          show the version and exit\n"
	        "\n"
	        "Signals: SIGHUP reloads, SIGTERM/SIGINT stop, others as configured.\n"
	        "See ginid(8) and gini.conf(5).\n",
	        GINI_CONFIG_FILE);
}

enum {
	OPT_ONCE = 0x100,
	OPT_DRY_RUN,
	OPT_PLUGIN_DIR,
	OPT_CONTROL_SOCKET,
	OPT_STATE_DIR,
};

/* 0 to go on, 1 to exit 0 (help, version), -1 to exit 2 (usage error). */
static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "once", required_argument, NULL, OPT_ONCE },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{ "control-socket", required_argument, NULL, OPT_CONTROL_SOCKET },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	a->config_file = GINI_CONFIG_FILE;
	while ((c = getopt_long(argc, argv, "c:thV", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config_file = optarg;
			break;
		case 't':
			a->test = true;
			break;
		case OPT_ONCE:
			a->once = optarg;
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case OPT_PLUGIN_DIR:
			if (strv_push(&a->plugin_dirs, &a->n_plugin_dirs, optarg) < 0)
				return -1;
			break;
		case OPT_CONTROL_SOCKET:
			a->control_socket = optarg;
			break;
		case OPT_STATE_DIR:
			a->state_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("ginid %s (plugin ABI %d.%d)\n", GINI_VERSION, GINI_ABI_MAJOR,
			       GINI_ABI_MINOR);
			return 1;
		default:
			fprintf(stderr, "Try 'ginid --help'.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ginid: unexpected argument '%s'\nTry 'ginid --help'.\n",
		        argv[optind]);
		return -1;
	}
	if (a->test && a->once) {
		fprintf(stderr, "ginid: -t and --once exclude each other\n");
		return -1;
	}
	if (a->dry_run && !a->once) {
		fprintf(stderr, "ginid: --dry-run needs --once PIPELINE\n");
		return -1;
	}
	return 0;
}

/*
 * Completion of a --once run, handed from the worker to the main thread. The
 * eventfd wakes poll(); the mutex is what orders the worker's writes to the
 * run before the main thread's reads of it.
 */
struct once_done {
	pthread_mutex_t lock;
	bool done;
	int efd;
};

static void
once_done(struct run *r, void *userdata)
{
	struct once_done *od = userdata;

	(void)r;
	pthread_mutex_lock(&od->lock);
	od->done = true;
	pthread_mutex_unlock(&od->lock);
	(void)eventfd_write(od->efd, 1);
}

static bool
once_is_done(struct once_done *od)
{
	bool done;

	pthread_mutex_lock(&od->lock);
	done = od->done;
	pthread_mutex_unlock(&od->lock);
	return done;
}

/* Runs one pipeline in the foreground; SIGINT/SIGTERM cancel it cleanly. */

static int
run_once(struct generation *g, const char *name, bool dry_run)
{
	struct pipeline *p = generation_find(g, name);
	struct executor *ex = NULL;
	struct run *run = NULL;
	struct once_done od = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };
	struct pollfd fds[2];
	sigset_t stop;
	int sfd = -1, ret = EXIT_FAILURE;

	if (!p) {
		const char **names = calloc(g->n_pipelines + 1, sizeof(char *));
		const char *hint;

		for (size_t i = 0; names && i < g->n_pipelines; i++)
			names[i] = g->pipelines[i]->name;
		hint = names ? closest_match(name, names, g->n_pipelines) : NULL;
		log_err("no pipeline '%s' in %s%s%s%s", name, g->config->file,
		        hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
		free(names);
		return EXIT_FAILURE;
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	/* Orphans of the steps are ours to reap (reaper.c). */
	sigaddset(&stop, SIGCHLD);
	od.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	ex = executor_new(g->config->workers);
	run = run_new(p, "once");
	if (od.efd < 0 || sfd < 0 || !ex || !run) {
		log_err("cannot set up the run: %s", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	/* Like a trigger, --once runs with the params' defaults. */
	{
		char **params = NULL, err[512];
		int r = pipeline_run_params(p, NULL, 0, &params, err, sizeof(err));

		if (r < 0) {
			log_err("pipeline '%s': cannot run: %s", p->name,
			        r == -EINVAL ? err : strerror(-r));
			goto out;
		}
		for (size_t i = 0; params[i]; i += 2)
			if (ctx_set(run->ctx, params[i], params[i + 1]) < 0) {
				log_err("pipeline '%s': cannot set param '%s'", p->name, params[i]);
				strv_free(params);
				goto out;
			}
		strv_free(params);
	}
	run->on_done = once_done;
	run->userdata = &od;
	run->dry_run = dry_run;
	if (!dry_run)
		log_info("run %llu: pipeline '%s': started (once)", (unsigned long long)run->id,
		         p->name);
	if (executor_submit(ex, run) < 0) {
		log_err("cannot start the run: out of memory");
		goto out;
	}
	fds[0] = (struct pollfd){ .fd = od.efd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	while (!once_is_done(&od)) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				(void)reaper_reap_orphans();
				continue;
			}
			log_notice("cancelling run %llu on %s", (unsigned long long)run->id,
			           si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			run_cancel(run);
		}
	}
	if (dry_run)
		report_dry_run(stdout, run);
	else
		report_run(stdout, run);
	fflush(stdout);
	ret = run->status == RUN_SUCCESS ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	/* The run is complete (or was never submitted) before anything goes. */
	isolate_pool_drain();
	executor_free(ex);
	run_free(run);
	if (od.efd >= 0)
		close(od.efd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}

static void
print_diags(const struct diags *diags, const char *file)
{
	fflush(stdout);
	diags_print(diags, stderr);
	fprintf(stderr, "%s: %zu error%s\n", file, diags->n, diags->n == 1 ? "" : "s");
}

/*
 * Signals are blocked in every thread from the start: threads inherit the
 * mask, and the main thread reads the ones it handles from a signalfd.
 * SIGPIPE is ignored so a closed peer is an EPIPE, not a death.
 */
static void
block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	sigdelset(&all, SIGTRAP);
	sigprocmask(SIG_BLOCK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Raises the soft limit on open files to the hard one, as systemd advises
 * for programs that do not use select(): every control connection is a
 * descriptor, and the usual soft limit of 1024 is below the connection cap
 * plus what the daemon itself holds. Done first thing in main, before
 * anything opens a descriptor.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the limit on open files to %llu: %s, ignoring",
		         (unsigned long long)rl.rlim_max, strerror(errno));
}

/*
 * Start-up after the first generation: the manager's loop, workers, history
 * and signals; what serves it (the control socket, the HTTP endpoint of
 * metrics_listen); then the triggers and READY=1.
 */
static int
start(struct manager *m, struct control **ret_ctl, struct http **ret_http)
{
	const char *listen = manager_generation(m)->config->metrics_listen;
	int r;

	r = manager_start(m);
	if (r < 0)
		return r;
	startup_trace("manager started: loop, workers, history, signals");
	/* Each failure is logged once, with its cause, where it happens: a
	 * second line here only repeated it with a misleading errno text. */
	r = control_new(m, manager_event(m), ret_ctl);
	if (r < 0)
		return r;
	startup_trace("control socket listening");
	if (listen) {
		r = http_new(manager_event(m), listen, metrics_http_get, m, ret_http);
		if (r < 0)
			return r; /* logged */
		startup_trace("metrics_listen endpoint");
	}
	r = manager_ready(m);
	startup_trace_done("READY=1 sent");
	/* Start-up's temporaries (the configuration text, the scan's lists,
	 * libconfig's tree) leave free chunks at the top of the heap that an
	 * idle daemon would keep: 72 of the heap's 468 kB in the bench's
	 * configuration. After READY=1, so that nobody waits for it. */
	if (r >= 0)
		(void)malloc_trim(0);
	return r;
}

static int
run_daemon(const char *config_file, const struct config_overrides *ov)
{
	struct manager *m = NULL;
	struct control *ctl = NULL;
	struct http *http = NULL;
	struct diags diags = { 0 };
	char buf[4096];
	int r, ret;

	r = manager_new(config_file, ov, &m, &diags);
	if (r < 0) {
		for (size_t i = 0; i < diags.n; i++)
			log_err("%s", diag_format(&diags.v[i], buf, sizeof(buf)));
		if (diags.n)
			log_err("configuration %s has %zu error%s; not starting", config_file,
			        diags.n, diags.n == 1 ? "" : "s");
		else
			log_err_errno(r, "cannot start: %m");
		diags_done(&diags);
		return EXIT_FAILURE;
	}
	diags_done(&diags);
	startup_trace("first generation built");
	reaper_setup();
	startup_trace("reaper set up (subreaper, cgroups)");
	r = start(m, &ctl, &http);
	ret = r < 0 ? EXIT_FAILURE : manager_run(m);
	/* With stage code still running nothing it may use is freed. */
	if (!manager_abandoned(m)) {
		/* Before the manager: the history answers the queries its clients left. */
		control_free(ctl);
		http_free(http);
	}
	manager_free(m);
	return ret;
}

int
main(int argc, char **argv)
{
	struct args a = { 0 };
	struct config_overrides ov;
	struct generation *g = NULL;
	struct diags diags = { 0 };
	char err[256], why[1024];
	int r, ret = EXIT_FAILURE;

	startup_trace("main");
	log_open();
	raise_nofile();
	r = parse_args(argc, argv, &a);
	if (r != 0) {
		strv_free(a.plugin_dirs);
		return r > 0 ? EXIT_SUCCESS : 2;
	}
	/* Before any thread: as a container's PID 1, an init of our own. */
	if (!a.test)
		reaper_init_pid1();
	block_signals();
	startup_trace("arguments, signal mask");
	ov = (struct config_overrides){
		.plugin_dirs = a.plugin_dirs,
		.n_plugin_dirs = a.n_plugin_dirs,
		.control_socket = a.control_socket,
		.state_dir = a.state_dir,
	};
	if (!a.test && !a.once) {
		ret = run_daemon(a.config_file, &ov);
		goto out;
	}
	r = generation_build(a.config_file, &ov, NULL, 1, &g, &diags);
	if (r < 0) {
		log_err_errno(r, "cannot load configuration: %m");
		goto out;
	}
	log_set_level(g->config->log_level);
	if (registry_check(g->registry, err, sizeof(err)) < 0) {
		log_err("registry inconsistent: %s", err);
		goto out;
	}
	if (a.test) {
		report_stage_types(stdout, g->registry, &g->report);
		report_pipelines(stdout, g, time(NULL));
		/* What start-up would find about the control socket. */
		if (control_check(g->config, why, sizeof(why)) < 0)
			diags_add(&diags, g->config->file, 0, "%s", why);
		if (diags.n) {
			print_diags(&diags, g->config->file);
			goto out;
		}
		printf("configuration %s is valid\n", g->config->file);
		ret = EXIT_SUCCESS;
		goto out;
	}
	if (diags.n) {
		print_diags(&diags, g->config->file);
		goto out;
	}
	reaper_setup();
	ret = run_once(g, a.once, a.dry_run);
	reaper_done(5 * USEC_PER_SEC);
out:
	generation_unref(g);
	diags_done(&diags);
	strv_free(a.plugin_dirs);
	return ret;
}
