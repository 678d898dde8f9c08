/* SPDX-License-Identifier: MIT */
/*
 * The run history's metrics: history_stats() (history.c) as gini_history_*
 * families in the Prometheus text format, named like the daemon's other
 * metrics (gini_<subsystem>_<what>[_unit][_total]), for `ginictl metrics`
 * and GET /metrics. The metrics code appends them with one call.
 */
#include "history.h"

#include <errno.h>
#include <stdio.h>

static void
header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
history_metrics(const struct history *h, FILE *f)
{
	struct history_stats st;
	uint64_t cum = 0;

	history_stats(h, &st);
	header(f, "gini_history_enabled", "gauge",
	       "Whether runs are recorded (0: the history database could not be opened).");
	fprintf(f, "gini_history_enabled %d\n", st.enabled ? 1 : 0);
	header(f, "gini_history_rows", "gauge", "Runs in the history database.");
	fprintf(f, "gini_history_rows %llu\n", (unsigned long long)st.rows);
	header(f, "gini_history_database_bytes", "gauge",
	       "Size of the history database and its write-ahead log on disk.");
	fprintf(f, "gini_history_database_bytes %llu\n", (unsigned long long)st.bytes);
	header(f, "gini_history_writes_total", "counter",
	       "Run records written to the history database.");
	fprintf(f, "gini_history_writes_total %llu\n", (unsigned long long)st.writes);
	header(f, "gini_history_write_errors_total", "counter",
	       "History write transactions that failed; their runs are not recorded.");
	fprintf(f, "gini_history_write_errors_total %llu\n", (unsigned long long)st.write_errors);
	header(f, "gini_history_queue_depth", "gauge",
	       "Run records queued for the history writer, not yet written.");
	fprintf(f, "gini_history_queue_depth %llu\n", (unsigned long long)st.queue_depth);
	header(f, "gini_history_write_duration_seconds", "histogram",
	       "Duration of history write transactions, each a batch of runs.");
	for (size_t b = 0; b < HISTORY_WRITE_BUCKETS; b++) {
		cum += st.write_buckets[b];
		if (b < HISTORY_WRITE_BUCKETS - 1)
			fprintf(f, "gini_history_write_duration_seconds_bucket{le=\"%g\"} %llu\n",
			        (double)history_write_bucket_usec[b] / 1e6,
			        (unsigned long long)cum);
		else
			fprintf(f, "gini_history_write_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			        (unsigned long long)cum);
	}
	fprintf(f, "gini_history_write_duration_seconds_sum %.6f\n",
	        (double)st.write_usec_sum / 1e6);
	fprintf(f, "gini_history_write_duration_seconds_count %llu\n",
	        (unsigned long long)st.write_count);
	return ferror(f) ? -EIO : 0;
}
