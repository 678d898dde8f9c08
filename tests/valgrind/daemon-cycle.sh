#!/bin/sh
# SPDX-License-Identifier: MIT
#
# One ginid life under valgrind's memcheck, for `make check-valgrind`:
# start on a temporary configuration that uses every bundled stage, run a
# pipeline (SIGUSR1), reload onto a changed configuration (SIGHUP), run it
# again, stop (SIGTERM). Passes when ginid exits 0 and memcheck reports no
# error and no definite leak, over the whole life, including the unload hooks
# and dlclose() of every plugin at shutdown and of the replaced generation.
#
# usage: daemon-cycle.sh BUILD_DIR VALGRIND [VALGRIND_ARGS...]
set -eu

build=$(cd "$1" && pwd)
shift
dir=$build/tmp/valgrind-daemon
rm -rf "$dir"
mkdir -p "$dir/state" "$dir/stages"
chmod 0755 "$dir" "$dir/stages"
for so in "$build"/stages/*.so; do
	install -m 0755 "$so" "$dir/stages/"
done

fail() {
	echo "check-valgrind: daemon: $*" >&2
	echo "--- ginid log:" >&2
	cat "$dir/ginid.log" >&2 || true
	echo "--- valgrind log:" >&2
	cat "$dir/valgrind.log" >&2 || true
	[ -n "${pid:-}" ] && kill -KILL "$pid" 2>/dev/null || true
	exit 1
}

# Waits up to 120 s (valgrind is slow) for a file to contain a text.
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 1200 ] || fail "timed out waiting for '$2' in $1"
		kill -0 "$pid" 2>/dev/null || fail "ginid died waiting for '$2' in $1"
		sleep 0.1
	done
}

# $1: the suffix of the file the "report" step writes.
write_conf() {
	cat > "$dir/gini.conf.tmp" <<EOF
log_level = "debug";
workers = 2;
shutdown_timeout = "60s";
pipelines = (
  {
    name = "cycle";
    triggers = { signal = "SIGUSR1"; };
    steps = (
      { id = "uname";  stage = "exec"; params = { argv = [ "/bin/echo", "hello" ]; capture = "out"; }; },
      { id = "say";    stage = "log"; after = [ "uname" ]; params = { message = "got \${out}"; }; },
      { id = "nap";    stage = "sleep"; params = { duration = "10ms"; }; },
      { id = "tmp";    stage = "check-path"; params = { path = "/tmp"; type = "directory"; }; },
      { id = "sh";     stage = "check-command"; params = { command = "sh"; }; },
      { id = "skip";   stage = "fail"; params = { result = "skip"; message = "skipped"; }; },
      { id = "report"; stage = "write"; after = [ "say", "nap", "tmp", "sh", "skip" ];
        params = { path = "$dir/out-$1.txt"; template = "\${out}\n"; }; }
    );
  }
);
EOF
	mv "$dir/gini.conf.tmp" "$dir/gini.conf"
}

write_conf 1
"$@" --log-file="$dir/valgrind.log" "$build/ginid" -c "$dir/gini.conf" \
	--plugin-dir "$dir/stages" --control-socket "$dir/ctl.sock" --state-dir "$dir/state" \
	2> "$dir/ginid.log" &
pid=$!

wait_for "$dir/ginid.log" "ready"
kill -USR1 "$pid"
wait_for "$dir/out-1.txt" "hello"
write_conf 2
# A new version of one plugin: another inode, loaded beside the old one.
install -m 0755 "$build/stages/log.so" "$dir/stages/.log.so.new"
mv "$dir/stages/.log.so.new" "$dir/stages/log.so"
kill -HUP "$pid"
wait_for "$dir/ginid.log" "reloaded: generation 2 with 7 stage types (1 loaded, 6 unchanged)"
kill -USR1 "$pid"
wait_for "$dir/out-2.txt" "hello"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "ginid exited with status $status (99: memcheck found errors)"
grep -q "definitely lost: [1-9]" "$dir/valgrind.log" && fail "memcheck found definite leaks"
echo "check-valgrind: daemon start, run, reload, run, stop: clean"
