#!/bin/sh
# Container start-up, side by side in ONE run: berth (own CLI and docker CLI ->
# berthd), dockerd+runc (docker CLI -> dockerd), podman (--runtime runc), bare
# `runc run`, and the kernel floor (unshare -fpmuin true). Then per-container
# engine-side memory of 20 `sleep` containers: berth-shim PSS vs
# containerd-shim-runc-v2 (and podman's conmon) RSS/PSS.
# Installs the competitors from Debian (bench/compare/engines.sh), feeds every
# engine the same busybox docker-archive, prints a table with ratios vs berth and
# writes docs/bench-startup.md.
#
#   bench/startup/bench_startup.sh [N_SEQUENTIAL [TOTAL_CONCURRENT [CLIENTS]]]
#   (defaults 50, 160, 16; SKIP_INSTALL=1 to use only what is installed)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-50}
TOTAL=${2:-160}
CONC=${3:-16}
NMEM=20
BUILD="$ROOT/build-rel"
OUT="$ROOT/docs/bench-startup.md"
PY=/usr/bin/python3
TIMEIT="$PY $ROOT/bench/startup/timeit.py"
CMP_TMP=$(mktemp -d /tmp/berth-bench-startup.XXXXXX)
. "$ROOT/bench/compare/engines.sh"
PODMAN_NET_BEFORE=$(ip -o link show | awk -F': ' '{print $2}' | grep -E '^(cni-)?podman' || true)

cleanup() {
    set +e
    [ -n "${P:-}" ] && $P rm -af >/dev/null 2>&1
    [ -n "${DOCKERD_SOCK:-}" ] && DOCKER_HOST="unix://$DOCKERD_SOCK" docker rm -f \
        $(DOCKER_HOST="unix://$DOCKERD_SOCK" docker ps -aq 2>/dev/null) >/dev/null 2>&1
    [ -n "${BERTHD_SOCK:-}" ] && "$BUILD/berth" -H "unix://$BERTHD_SOCK" rm -f \
        $("$BUILD/berth" -H "unix://$BERTHD_SOCK" ps -aq 2>/dev/null) >/dev/null 2>&1
    for c in $(runc --root "$CMP_RUN/runc-state" list -q 2>/dev/null); do
        runc --root "$CMP_RUN/runc-state" delete -f "$c" >/dev/null 2>&1
    done
    cmp_stop_all
    for l in $(ip -o link show | awk -F': ' '{print $2}' | grep -E '^(cni-)?podman'); do
        echo "$PODMAN_NET_BEFORE" | grep -qx "$l" || ip link delete "$l" 2>/dev/null
    done
    umount -R "$CMP_TMP"/p/root/overlay 2>/dev/null
    rm -rf "$CMP_TMP" 2>/dev/null
}
trap cleanup EXIT INT TERM

[ "${SKIP_INSTALL:-0}" = 1 ] || cmp_install
cmp_run_init

cmp_log "building release berth in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBERTH_SANITIZE=OFF \
    -DCMAKE_C_FLAGS="-Wno-error=maybe-uninitialized" >/dev/null
cmake --build "$BUILD" -j2 --target berthd berth berth-shim berth-imagejob >/dev/null

IMG="$CMP_TMP/busybox.tar"
$PY "$ROOT/bench/compare/mkimage.py" "$IMG" "$CMP_TMP/bundle/rootfs"
RES="$CMP_TMP/results"
: >"$RES"
row() { $TIMEIT "$@" | tee -a "$RES"; }
# After an image load: its writeback and the engine's own settling (warm
# pools, helpers) done before the timed runs, the same for every engine.
settle() { sync; sleep 2; }

# Memory of the per-container processes named $1 (comm): "count rss_kib pss_kib"
shim_mem() {
    cnt=0 rss=0 pss=0
    for p in $(pgrep -x "$1" || true); do
        r=$(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        s=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        cnt=$((cnt + 1)) rss=$((rss + ${r:-0})) pss=$((pss + ${s:-0}))
    done
    echo "$cnt $rss $pss"
}
MEM="$CMP_TMP/mem"
: >"$MEM"
mem_row() { # label comm
    set -- "$1" $(shim_mem "$2") "$2"
    [ "$2" -gt 0 ] && echo "$1 $5 $2 $(($3 / $2)) $(($4 / $2))" >>"$MEM"
    return 0
}

# --- berth
cmp_log "berth"
cmp_start_berthd "$BUILD" "$CMP_TMP/berth"
BH="unix://$BERTHD_SOCK"
"$BUILD/berth" -H "$BH" load -i "$IMG" >/dev/null
settle
row berth-cli-netnone "$N" "$CONC" "$TOTAL" -- "$BUILD/berth" -H "$BH" run --rm --network none busybox true
DOCKER_HOST="$BH" row berth-dockercli-netnone "$N" "$CONC" "$TOTAL" -- docker run --rm --network none busybox true
row berth-cli-default "$N" 0 0 -- "$BUILD/berth" -H "$BH" run --rm busybox true
for i in $(seq $NMEM); do
    "$BUILD/berth" -H "$BH" run -d --network none busybox sleep 600 >/dev/null
done
sleep 1
mem_row berth berth-shim
"$BUILD/berth" -H "$BH" rm -f $("$BUILD/berth" -H "$BH" ps -aq) >/dev/null 2>&1 || true

# --- bare runc and the kernel floor
if command -v runc >/dev/null 2>&1; then
    cmp_log "runc"
    (cd "$CMP_TMP/bundle" && runc spec && $PY - <<'PYEOF'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open("config.json", "w"))
PYEOF
    )
    row runc-run "$N" "$CONC" "$TOTAL" -- runc --root "$CMP_RUN/runc-state" run -b "$CMP_TMP/bundle" b{i}
fi
cmp_log "kernel floor"
row floor-unshare "$N" "$CONC" "$TOTAL" -- unshare -fpmuin true
# The same three in turn, blocks of 10 (interleave.py): their ratios from the
# same minutes, whatever this VM's speed does between the rows above.
cmp_log "berth, floor and runc interleaved"
INTER="$CMP_TMP/interleaved"
set -- -- berth "$BUILD/berth" -H "$BH" run --rm --network none busybox true \
    -- floor unshare -fpmuin true
command -v runc >/dev/null 2>&1 &&
    set -- "$@" -- runc runc --root "$CMP_RUN/runc-state" run -b "$CMP_TMP/bundle" i{i}
$PY "$ROOT/bench/startup/interleave.py" "$N" "$@" | tee "$INTER"

# --- dockerd + runc
if cmp_start_dockerd "$CMP_TMP/docker"; then
    cmp_log "dockerd"
    DH="unix://$DOCKERD_SOCK"
    DOCKER_HOST="$DH" docker load -i "$IMG" >/dev/null
    settle
    DOCKER_HOST="$DH" row dockerd-netnone "$N" "$CONC" "$TOTAL" -- docker run --rm --network none busybox true
    DOCKER_HOST="$DH" row dockerd-default "$N" "$CONC" "$TOTAL" -- docker run --rm busybox true
    for i in $(seq $NMEM); do
        DOCKER_HOST="$DH" docker run -d --network none busybox sleep 600 >/dev/null
    done
    sleep 1
    mem_row dockerd containerd-shim  # comm of containerd-shim-runc-v2, cut to 15 chars
    DOCKER_HOST="$DH" docker rm -f $(DOCKER_HOST="$DH" docker ps -aq) >/dev/null 2>&1 || true
fi

# --- podman (runc); its default 1048576 nofile/nproc rlimits are refused here
if command -v podman >/dev/null 2>&1; then
    cmp_log "podman"
    P=$(cmp_podman_cmd "$CMP_TMP/p")
    UL="--ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
    $P load -i "$IMG" >/dev/null 2>&1
    settle
    row podman-netnone "$N" "$CONC" "$TOTAL" -- $P run --rm $UL --network none busybox true
    row podman-default "$N" "$CONC" "$TOTAL" -- $P run --rm $UL busybox true
    for i in $(seq $NMEM); do $P run -d $UL --network none busybox sleep 600 >/dev/null; done
    sleep 1
    mem_row podman conmon
    $P rm -af -t 0 >/dev/null 2>&1 || true
fi

# --- report
DATE=$(date -u +%Y-%m-%d)
$PY - "$RES" "$MEM" "$OUT" "$DATE" "$N" "$TOTAL" "$CONC" "$INTER" <<'PYEOF'
import sys, platform, os
res, mem, out, date, n, total, conc, inter = sys.argv[1:9]
rows = [l.split() for l in open(res) if l.strip()]
by = {r[0]: r for r in rows}
ref = by.get("berth-cli-netnone")
def f(x):
    try: return float(x)
    except ValueError: return None
L = []
L.append("| engine / command | median ms | p99 ms | ratio median vs berth | paced median ms | containers/s (%s clients) | berth ÷ it | failures |" % conc)
L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    med, p99, ps = f(r[1]), f(r[2]), f(r[3])
    rm = "%.2f×" % (med / f(ref[1])) if ref and med and f(ref[1]) else "-"
    rp = "%.2f×" % (f(ref[3]) / ps) if ref and ps and f(ref[3]) else "-"
    paced = r[5] if len(r) > 5 else "-"
    L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (r[0], r[1], r[2], rm, paced, r[3], rp, r[4]))
M = ["| engine | per-container process | count | avg RSS KiB | avg PSS KiB |", "|---|---|---:|---:|---:|"]
for l in open(mem):
    e, comm, cnt, rss, pss = l.split()
    M.append("| %s | %s | %s | %s | %s |" % (e, comm, cnt, rss, pss))
def g(name, i):
    r = by.get(name)
    return f(r[i]) if r else None
memv = {l.split()[0]: l.split() for l in open(mem)}
G = []
def goal(text, ok):
    G.append("- %s: %s" % (text, "n/a" if ok is None else ("MET" if ok else "NOT MET")))
bm, bp = g("berth-cli-netnone", 1), g("berth-cli-netnone", 3)
dm, dp, rm_ = g("dockerd-netnone", 1), g("dockerd-netnone", 3), g("runc-run", 1)
goal("berth <= 10 ms median with --network none (%s ms)" % bm, None if bm is None else bm <= 10)
goal("berth >= 30x faster than dockerd, median (%s)" % ("%.1fx" % (dm / bm) if dm and bm else "-"),
     None if not (dm and bm) else dm / bm >= 30)
goal("berth faster than bare runc run (%s vs %s ms)" % (bm, rm_), None if not (rm_ and bm) else bm < rm_)
goal("berth >= 20x dockerd's containers/s (%s)" % ("%.1fx" % (bp / dp) if dp and bp else "-"),
     None if not (dp and bp) else bp / dp >= 20)
bpss = int(memv["berth"][4]) if "berth" in memv else None
goal("berth-shim < 1 MB PSS (%s KiB)" % bpss, None if bpss is None else bpss < 1024)
fm, fpm, bpm = g("floor-unshare", 1), g("floor-unshare", 5), g("berth-cli-netnone", 5)
if fm and bm:
    G.append("- (the kernel floor, `unshare -fpmuin true`, this run: %.2f ms median, %s ms paced;"
             " berth ÷ floor %.2f, paced %s)" % (fm, fpm, bm / fm,
                                                  "%.2f" % (bpm / fpm) if fpm and bpm else "-"))
# Interleaved: "label median paced failures" per line.
iv = {l.split()[0]: l.split() for l in open(inter) if l.strip()} if os.path.exists(inter) else {}
I = []
ib, fl = iv.get("berth"), iv.get("floor")
if ib and fl:
    I.append("| command | median ms | paced median ms | berth ÷ it | paced: berth ÷ it | failures |")
    I.append("|---|---:|---:|---:|---:|---:|")
    for k in ("berth", "floor", "runc"):
        r = iv.get(k)
        if r:
            I.append("| %s | %s | %s | %.2f | %.2f | %s |" % (
                k, r[1], r[2], f(ib[1]) / f(r[1]), f(ib[2]) / f(r[2]), r[3]))
    # The issue's goal was set where the floor measured 2.4 ms: berth's
    # interleaved ratio to the floor, times that, is berth on that machine.
    rb, rp = f(ib[1]) / f(fl[1]), f(ib[2]) / f(fl[2])
    G.append("- interleaved with the floor (same minutes): berth ÷ floor %.2f back to back, %.2f"
             " paced; at the issue's floor of 2.4 ms that is %.1f ms / %.1f ms (an estimate:"
             " berth's time taken to scale as the floor's does)" % (rb, rp, rb * 2.4, rp * 2.4))
print("\n".join(L)); print(); print("\n".join(I)); print(); print("\n".join(M)); print(); print("\n".join(G))
cpu = "?"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        cpu = l.split(":", 1)[1].strip(); break
# Keep the hand-kept history of runs (a "## Runs" section) across rewrites.
history = ""
if os.path.exists(out):
    old = open(out).read()
    at = old.find("\n## Runs")
    history = old[at:] if at >= 0 else ""
with open(out, "w") as o:
    o.write("# Container start-up: berth vs dockerd, podman, runc\n\n")
    o.write("Measured %s on %d cores (%s), kernel %s, by `bench/startup/bench_startup.sh %s %s %s`.\n\n"
            % (date, os.cpu_count(), cpu, platform.release(), n, total, conc))
    o.write("Each row: `run --rm busybox true`, %s sequential runs (median, p99, one warm-up"
            " not counted), then %s runs from %s concurrent clients (containers/s). Times"
            " include the client process. berth is a release build; competitors are Debian 12's"
            " docker.io (dockerd 20.10 + containerd + runc 1.1) and podman 4.3 (`--runtime runc`),"
            " each with its own socket and data root in a temp dir and its runtime state"
            " (exec root, podman's runroot, runc's state dir) on a tmpfs, as /run is on a stock"
            " Debian (this VM's /run is on the root disk), all fed the same busybox"
            " docker-archive. dockerd: `--iptables=false --ip-masq=false`, managed containerd,"
            " default bridge kept. podman: cgroupfs, file events, overlay, `--ulimit"
            " nofile=1024:1024 --ulimit nproc=4096:4096` (its default rlimits are refused in"
            " this sandbox). runc-run: bare `runc run` of an OCI bundle from the same rootfs"
            " (no terminal, args [true], fresh netns without setup). floor: `unshare -fpmuin"
            " true`. Paced: %s more sequential runs, 100 ms apart (a command on an idle"
            " machine; back to back, each run also shares the CPUs with the last one's"
            " teardown).\n\n" % (n, total, conc, n))
    o.write("\n".join(L) + "\n\n")
    if I:
        o.write("## Interleaved: berth, the floor and runc in the same minutes\n\n")
        o.write("`bench/startup/interleave.py`: blocks of 10 runs of each in turn until each has"
                " %s back-to-back runs, then %s paced runs each, in turn. This VM's speed swings"
                " by up to 2x between quarter hours; the ratios here compare the commands, not"
                " the periods.\n\n" % (n, n))
        o.write("\n".join(I) + "\n\n")
    o.write("## Engine-side memory per running container (%s `sleep` containers)\n\n" % "20")
    o.write("From /proc/PID/smaps_rollup of each per-container process.\n\n")
    o.write("\n".join(M) + "\n\n## Goals\n\n" + "\n".join(G) + "\n")
    o.write(history)
PYEOF
echo "wrote $OUT"
