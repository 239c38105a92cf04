#!/usr/bin/env bash
# Pull/push benchmark: an image of 4 layers x 64 MiB of random data (gzip -1,
# as registries usually serve) in a local docker-registry on 127.0.0.1; times
# `pull` and `push` through berthd, and through dockerd / skopeo (installed by
# bench/compare/engines.sh) side by side. Every engine pushes to a fresh
# registry instance with empty storage, so every layer is uploaded (no
# cross-repository mounts). Appends the results to docs/bench-pull.md.
#
# usage: bench/pull/bench_pull.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${1:-build}
BERTHD=$ROOT/$BUILD/berthd
PY=/usr/bin/python3
TOOLS=$ROOT/tests/integration/registrytools.py
LAYERS=${BENCH_LAYERS:-4}
LAYER_MIB=${BENCH_LAYER_MIB:-64}
# Reference figures from the issue (same 2-core machine kind, Debian docker.io).
REF_DOCKERD_PULL=1.86
REF_SKOPEO_COPY=1.50
REF_DOCKERD_PUSH=3.9

[ -x "$BERTHD" ] || { echo "bench_pull: $BERTHD not built" >&2; exit 1; }
[ -x /usr/bin/docker-registry ] || { echo "bench_pull: docker-registry missing" >&2; exit 1; }

WORK=$(mktemp -d /tmp/berth-bench-pull-XXXXXX)
BERTHD_PID=
cleanup() {
    [ -n "$BERTHD_PID" ] && kill "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null
    [ -n "${REG_PID:-}" ] && { exec {REG[1]}>&- || true; wait "$REG_PID" 2>/dev/null || true; }
    stop_push_registry
    umount -R -l "$WORK/exec" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

coproc REG { exec "$PY" "$TOOLS" serve "$WORK/registry"; }
REG_PID=$!
read -r -u "${REG[0]}" REG_INFO
HOSTPORT=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["hostport"])' "$REG_INFO")
echo "registry on $HOSTPORT; generating $LAYERS x $LAYER_MIB MiB image..."
"$PY" "$TOOLS" put-image "http://$HOSTPORT" bench/big v1 --layers "$LAYERS" \
    --layer-kib $((LAYER_MIB * 1024)) --compress gzip >/dev/null

# A fresh registry (own storage) to push to, one per engine: a push to the
# registry it pulled from lets dockerd mount blobs it knows are there and upload
# nothing; a registry that has none of the blobs measures real uploads.
# start_push_registry NAME -> sets PUSH_HOSTPORT, PUSH_REG_PID, PUSH_REG_FD
start_push_registry() {
    local d=$WORK/$1
    mkdir -p "$d"
    mkfifo "$d.in"
    "$PY" "$TOOLS" serve "$d/registry" <"$d.in" >"$d.info" &
    PUSH_REG_PID=$!
    exec {PUSH_REG_FD}>"$d.in" # the server runs until its stdin closes
    for _ in $(seq 500); do [ -s "$d.info" ] && break; sleep 0.02; done
    PUSH_HOSTPORT=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["hostport"])' \
        "$(head -1 "$d.info")")
}
stop_push_registry() {
    [ -n "${PUSH_REG_PID:-}" ] || return 0
    exec {PUSH_REG_FD}>&-
    wait "$PUSH_REG_PID" 2>/dev/null || true
    PUSH_REG_PID=
}

start_berthd() {
    local dir=$1
    mkdir -p "$dir"
    "$BERTHD" -H "unix://$dir/berth.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
        --pidfile "$dir/berthd.pid" --no-default-image >"$dir/berthd.log" 2>&1 &
    BERTHD_PID=$!
    for _ in $(seq 200); do
        curl -sf --unix-socket "$dir/berth.sock" http://x/_ping >/dev/null 2>&1 && return 0
        sleep 0.02
    done
    echo "berthd did not start:" >&2
    cat "$dir/berthd.log" >&2
    exit 1
}

api() { # method path [curl args] -> body on stdout
    local m=$1 p=$2
    shift 2
    curl -sS --unix-socket "$SOCK" -X "$m" "http://x$p" "$@"
}

now() { date +%s.%N; }

# ---- berthd pull ----
start_berthd "$WORK/b1"
SOCK=$WORK/b1/berth.sock
t0=$(now)
out=$(api POST "/images/create?fromImage=$HOSTPORT%2Fbench%2Fbig&tag=v1")
t1=$(now)
if grep -q errorDetail <<<"$out"; then echo "pull failed: $out" >&2; exit 1; fi
PULL=$(echo "$t1 - $t0" | bc -l)
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$BERTHD_PID/status")

# ---- berthd push (to a fresh registry that has none of the blobs) ----
start_push_registry push-berthd
api POST "/images/$HOSTPORT/bench/big:v1/tag?repo=$PUSH_HOSTPORT/bench/copy&tag=v1" >/dev/null
t0=$(now)
out=$(api POST "/images/$PUSH_HOSTPORT/bench/copy/push?tag=v1")
t1=$(now)
if grep -q errorDetail <<<"$out"; then echo "push failed: $out" >&2; exit 1; fi
PUSH=$(echo "$t1 - $t0" | bc -l)
stop_push_registry
kill "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null || true; BERTHD_PID=

# ---- competitors side by side (installed by bench/compare/engines.sh unless SKIP_INSTALL=1)
CMP_TMP=$WORK/cmp
. "$ROOT/bench/compare/engines.sh"
trap 'cmp_stop_all; cleanup' EXIT
[ "${SKIP_INSTALL:-0}" = 1 ] || cmp_install
DOCKERD_PULL=; DOCKERD_PUSH=; SKOPEO=
if command -v skopeo >/dev/null 2>&1; then
    t0=$(now)
    skopeo copy --src-tls-verify=false "docker://$HOSTPORT/bench/big:v1" "dir:$WORK/skopeo" >/dev/null
    t1=$(now)
    SKOPEO=$(echo "$t1 - $t0" | bc -l)
    rm -rf "$WORK/skopeo"
fi
# dockerd treats 127.0.0.0/8 registries as insecure (plain http) by default.
if cmp_start_dockerd "$WORK/docker"; then
    SOCK=$DOCKERD_SOCK
    t0=$(now)
    out=$(api POST "/images/create?fromImage=$HOSTPORT%2Fbench%2Fbig&tag=v1")
    t1=$(now)
    if grep -q errorDetail <<<"$out"; then
        echo "dockerd pull failed: $(tail -c 300 <<<"$out")" >&2
    else
        DOCKERD_PULL=$(echo "$t1 - $t0" | bc -l)
        start_push_registry push-dockerd
        api POST "/images/$HOSTPORT/bench/big:v1/tag?repo=$PUSH_HOSTPORT/bench/dcopy&tag=v1" \
            >/dev/null
        t0=$(now)
        out=$(api POST "/images/$PUSH_HOSTPORT/bench/dcopy/push?tag=v1" -H 'X-Registry-Auth: e30=')
        t1=$(now)
        stop_push_registry
        if grep -q errorDetail <<<"$out"; then
            echo "dockerd push failed: $(tail -c 300 <<<"$out")" >&2
        else
            DOCKERD_PUSH=$(echo "$t1 - $t0" | bc -l)
        fi
    fi
    cmp_stop_all
fi

ratio() { echo "scale=2; $1 / $2" | bc -l; }
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
printf '\n%s  image %d x %d MiB random (gzip -1)\n' "$DATE" "$LAYERS" "$LAYER_MIB"
printf '  berthd pull  %6.2f s   (%.2fx dockerd ref %.2f s, %.2fx skopeo ref %.2f s)\n' \
    "$PULL" "$(ratio "$PULL" $REF_DOCKERD_PULL)" $REF_DOCKERD_PULL \
    "$(ratio "$PULL" $REF_SKOPEO_COPY)" $REF_SKOPEO_COPY
printf '  berthd push  %6.2f s   (%.2fx dockerd ref %.2f s)\n' "$PUSH" \
    "$(ratio "$PUSH" $REF_DOCKERD_PUSH)" $REF_DOCKERD_PUSH
printf '  berthd peak RSS (VmHWM) %d KiB\n' "$RSS_KB"
[ -n "$SKOPEO" ] && printf '  skopeo copy (measured) %6.2f s   berthd pull is %.2fx its time\n' "$SKOPEO" \
    "$(ratio "$PULL" "$SKOPEO")"
[ -n "$DOCKERD_PULL" ] && printf '  dockerd pull (measured) %6.2f s   berthd pull is %.2fx its time\n' \
    "$DOCKERD_PULL" "$(ratio "$PULL" "$DOCKERD_PULL")"
[ -n "$DOCKERD_PUSH" ] && printf '  dockerd push (measured) %6.2f s   berthd push is %.2fx its time\n' \
    "$DOCKERD_PUSH" "$(ratio "$PUSH" "$DOCKERD_PUSH")"
fmt() { [ -n "$1" ] && printf '%.2f s' "$1" || printf -- '-'; }
rat() { [ -n "$2" ] && printf '%.2fx' "$(ratio "$1" "$2")" || printf -- '-'; }
MROW=$(printf '| %s | %d x %d MiB | %.2f s | %s | %s | %s | %s | %.2f s | %s | %s |' \
    "$DATE" "$LAYERS" "$LAYER_MIB" "$PULL" "$(fmt "$DOCKERD_PULL")" "$(rat "$PULL" "$DOCKERD_PULL")" \
    "$(fmt "$SKOPEO")" "$(rat "$PULL" "$SKOPEO")" "$PUSH" "$(fmt "$DOCKERD_PUSH")" \
    "$(rat "$PUSH" "$DOCKERD_PUSH")")

ROW=$(printf '| %s | %d x %d MiB random, gzip -1 | %.2f s | %.2fx | %.2fx | %.2f s | %.2fx | %d KiB |' \
    "$DATE" "$LAYERS" "$LAYER_MIB" "$PULL" "$(ratio "$PULL" $REF_DOCKERD_PULL)" \
    "$(ratio "$PULL" $REF_SKOPEO_COPY)" "$PUSH" "$(ratio "$PUSH" $REF_DOCKERD_PUSH)" "$RSS_KB")
# Add the row under the last one of the results table in docs/bench-pull.md.
"$PY" - "$ROW" "$MROW" <<'PYEOF'
import sys
path = "docs/bench-pull.md"
try:
    lines = open(path).read().split("\n")
except FileNotFoundError:
    lines = ["# Pull/push benchmark (bench/pull/bench_pull.sh)", "",
             "| date | image | berthd pull | vs dockerd 1.86 s | vs skopeo 1.50 s | berthd push"
             " | vs dockerd 3.9 s | berthd peak RSS |", "|---|---|---|---|---|---|---|---|", ""]
# The first table: its rows run contiguously from its header.
first = next(i for i, l in enumerate(lines) if l.startswith("| date | image | berthd pull | vs"))
last = first
while last + 1 < len(lines) and lines[last + 1].startswith("|"):
    last += 1
lines.insert(last + 1, sys.argv[1])
# Figures measured side by side in the same run (dockerd/skopeo from Debian).
head = "## Measured side by side in one run"
if head not in lines:
    lines += ["", head, "",
              "Same machine, same registry, same image, one run; ratio = berthd time / theirs"
              " (below 1 = berthd faster).", "",
              "| date | image | berthd pull | dockerd pull | ratio | skopeo copy to dir | ratio"
              " | berthd push | dockerd push | ratio |",
              "|---|---|---|---|---|---|---|---|---|---|", ""]
i = lines.index(head)
last = max(j for j, l in enumerate(lines) if l.startswith("|") and j > i)
lines.insert(last + 1, sys.argv[2])
open(path, "w").write("\n".join(lines))
PYEOF
