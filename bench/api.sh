#!/bin/sh
# API throughput/latency: berthd (release build) at 1/16/64 keep-alive
# connections hammering GET /_ping and GET /images/json; the same against
# dockerd side by side in the same run (docker.io installed from Debian by
# bench/compare/engines.sh; SKIP_INSTALL=1 uses only what is installed).
# Prints a table and writes docs/bench-api.md.
#
#   bench/api.sh [SECONDS]      (default 5 per run)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_RUN=${1:-5}
BUILD="$ROOT/build/bench-release"
OUT="$ROOT/docs/bench-api.md"
TMP=$(mktemp -d /tmp/berth-bench-api.XXXXXX)
BERTHD_PID=""
DOCKERD_PID=""

cleanup() {
    [ -n "$BERTHD_PID" ] && kill "$BERTHD_PID" 2>/dev/null || true
    [ -n "$DOCKERD_PID" ] && kill "$DOCKERD_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

CMP_TMP=$TMP
. "$ROOT/bench/compare/engines.sh"
[ "${SKIP_INSTALL:-0}" = 1 ] || cmp_install

echo "== building release binaries in $BUILD"
# -O3 brings maybe-uninitialized false positives the debug builds never see;
# they must not stop a benchmark.
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBERTH_SANITIZE=OFF \
    -DBERTH_TESTS=OFF -DCMAKE_C_FLAGS="-Wno-error=maybe-uninitialized" >/dev/null
cmake --build "$BUILD" -j2 --target berthd bench_api >/dev/null
BENCH="$BUILD/bench/bench_api"

wait_ping() { # socket
    i=0
    while [ $i -lt 200 ]; do
        if curl -sf --unix-socket "$1" http://x/_ping >/dev/null 2>&1; then return 0; fi
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# pin PID CPU: the process, its threads and its children (dockerd's containerd).
pin() {
    taskset -a -p -c "$2" "$1" >/dev/null
    for child in $(pgrep -P "$1" 2>/dev/null); do taskset -a -p -c "$2" "$child" >/dev/null || true; done
}

# Two setups per engine: "shared" (daemon and client float over all cores, as
# on a developer machine) and "pinned" (daemon and its children on CPU 0, the
# client alone on CPU 1, so the client's CPU use never competes with the
# daemon's: the usual way to measure a server, and the only one that gives
# each engine the same CPU on a 2-core machine).
run_series() { # name socket [api version] -> lines "name conns req/s p50 p99"
    for c in 1 16 64; do
        line=$($CLIENT_PREFIX "$BENCH" -s "$2" -c "$c" -d "$SECONDS_PER_RUN" -p /_ping -p "/${3:-v1.44}/images/json")
        rps=$(echo "$line" | sed 's/.*req_per_s=\([0-9.]*\).*/\1/')
        p50=$(echo "$line" | sed 's/.*p50_us=\([0-9.]*\).*/\1/')
        p99=$(echo "$line" | sed 's/.*p99_us=\([0-9.]*\).*/\1/')
        bad=$(echo "$line" | sed 's/.*non_2xx=\([0-9]*\).*/\1/')
        echo "$1 $c $rps $p50 $p99 $bad"
    done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== berthd"
"$BUILD/berthd" -H "unix://$TMP/berth.sock" --data-root "$TMP/berth-data" \
    --exec-root "$TMP/berth-exec" --pidfile "$TMP/berthd.pid" --no-default-image \
    --log-level warn >"$TMP/berthd.log" 2>&1 &
BERTHD_PID=$!
wait_ping "$TMP/berth.sock" || { cat "$TMP/berthd.log"; exit 1; }
BERTHD_RSS_IDLE=$(rss_kb "$BERTHD_PID")
PINNABLE=0
[ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1 && PINNABLE=1
CLIENT_PREFIX=""
run_series berthd "$TMP/berth.sock" >"$TMP/results"
if [ "$PINNABLE" = 1 ]; then
    pin "$BERTHD_PID" 0
    CLIENT_PREFIX="taskset -c 1"
    run_series berthd-pinned "$TMP/berth.sock" >>"$TMP/results"
    CLIENT_PREFIX=""
fi
BERTHD_RSS_AFTER=$(rss_kb "$BERTHD_PID")
kill "$BERTHD_PID"
wait "$BERTHD_PID" 2>/dev/null || true
BERTHD_PID=""

# The same daemon with its connections on plain libuv streams (a read and a
# write syscall per request instead of the batched io_uring): what the ring buys.
if [ "$PINNABLE" = 1 ]; then
    echo "== berthd, BERTH_IO_URING=0"
    rm -rf "$TMP/berth-data" "$TMP/berth-exec"
    BERTH_IO_URING=0 "$BUILD/berthd" -H "unix://$TMP/berth.sock" --data-root "$TMP/berth-data" \
        --exec-root "$TMP/berth-exec" --pidfile "$TMP/berthd.pid" --no-default-image \
        --log-level warn >"$TMP/berthd.log" 2>&1 &
    BERTHD_PID=$!
    wait_ping "$TMP/berth.sock" || { cat "$TMP/berthd.log"; exit 1; }
    pin "$BERTHD_PID" 0
    CLIENT_PREFIX="taskset -c 1"
    run_series berthd-libuv-pinned "$TMP/berth.sock" >>"$TMP/results"
    CLIENT_PREFIX=""
    kill "$BERTHD_PID"
    wait "$BERTHD_PID" 2>/dev/null || true
    BERTHD_PID=""
fi

DOCKERD_NOTE=""
if command -v dockerd >/dev/null 2>&1; then
    echo "== dockerd"
    dockerd -H "unix://$TMP/docker.sock" --data-root "$TMP/docker-data" \
        --exec-root "$TMP/docker-exec" --pidfile "$TMP/dockerd.pid" --iptables=false \
        --bridge=none >"$TMP/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    if wait_ping "$TMP/docker.sock"; then
        DOCKERD_RSS_IDLE=$(rss_kb "$DOCKERD_PID")
        run_series dockerd "$TMP/docker.sock" v1.41 >>"$TMP/results" # 20.10 speaks up to 1.41
        if [ "$PINNABLE" = 1 ]; then
            pin "$DOCKERD_PID" 0
            CLIENT_PREFIX="taskset -c 1"
            run_series dockerd-pinned "$TMP/docker.sock" v1.41 >>"$TMP/results"
            CLIENT_PREFIX=""
        fi
        DOCKERD_NOTE="dockerd idle RSS: ${DOCKERD_RSS_IDLE} KiB"
    else
        DOCKERD_NOTE="dockerd is installed but did not start (see its log); no comparison"
    fi
else
    DOCKERD_NOTE="dockerd is absent on this machine: no comparison run"
fi

TABLE=$(awk '
    { name[NR]=$1; conns[NR]=$2; rps[NR]=$3; p50[NR]=$4; p99[NR]=$5; bad[NR]=$6;
      if ($1 == "dockerd") d[$2] = $3
      if ($1 == "dockerd-pinned") dp[$2] = $3 }
    END {
        print "| engine | conns | req/s | p50 (us) | p99 (us) | non-2xx | vs dockerd |"
        print "|---|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= NR; i++) {
            ratio = "-"
            if (name[i] == "berthd" && d[conns[i]] > 0) ratio = sprintf("%.2fx", rps[i] / d[conns[i]])
            if (name[i] ~ /^berthd-.*pinned$/ && dp[conns[i]] > 0) ratio = sprintf("%.2fx", rps[i] / dp[conns[i]])
            printf "| %s | %s | %s | %s | %s | %s | %s |\n", name[i], conns[i], rps[i], p50[i], p99[i], bad[i], ratio
        }
    }' "$TMP/results")

echo
echo "$TABLE"
echo
echo "berthd idle RSS: ${BERTHD_RSS_IDLE} KiB (after the runs: ${BERTHD_RSS_AFTER} KiB)"
echo "$DOCKERD_NOTE"

{
    echo "# API benchmark (bench/api.sh)"
    echo
    echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, kernel $(uname -r),"
    echo "load average before the run: $LOAD_BEFORE (other work on the machine skews p99)."
    echo "Each connection sends one request at a time, alternating GET /_ping and"
    echo "GET /v1.44/images/json (v1.41 for dockerd 20.10), for ${SECONDS_PER_RUN} s per row (release build, log level warn)."
    echo
    echo "$TABLE"
    echo
    if grep -q '^berthd .* [1-9][0-9]*$' "$TMP/results"; then
        echo "- non-2xx > 0: some routes answered errors (e.g. /images/json before the image"
        echo "  module landed answers 404), so those rows partly measure the error path."
    fi
    echo "- Rows without a suffix: daemon and client share all cores (the client's CPU use"
    echo "  competes with the daemon's; berthd is single-threaded, dockerd uses every core)."
    echo "  -pinned rows: the daemon (with its threads and children) on CPU 0, the client"
    echo "  alone on CPU 1: both engines get exactly one core. berthd-libuv-pinned: berthd"
    echo "  with BERTH_IO_URING=0 (connections on libuv streams, a read and a write syscall"
    echo "  per request, as before 2026-12-05 14:30)."
    echo "- The client (bench/api/bench_api.c) does its socket I/O through io_uring (one"
    echo "  io_uring_enter per round); as a libuv client with a syscall per read and per"
    echo "  write (its -l flag) it saturated its own core at ~100k req/s, below berthd."
    echo "- berthd idle RSS: ${BERTHD_RSS_IDLE} KiB (after the runs: ${BERTHD_RSS_AFTER} KiB)"
    echo "- $DOCKERD_NOTE"
    echo "- Regenerate with \`bench/api.sh [SECONDS]\`."
} >"$OUT"
echo "wrote $OUT"
