# Shared helpers for side-by-side benches (sourced by bench/*.sh).
# Competitors come from Debian packages installed here, never by deps/install.sh.
# Every engine gets its own socket and data root under $CMP_TMP; cmp_stop_all
# (call it from the caller's EXIT trap) stops everything we started.
#
# Choices: dockerd runs with --iptables=false --ip-masq=false and its managed
# containerd (own root/state/socket under --exec-root/--data-root); the default
# bridge is kept so the "default network" rows mean something; docker0 is deleted
# at the end if it did not exist before. podman runs with --runtime runc,
# cgroupfs, file events, own --root/--runroot.

CMP_PIDS=""
CMP_RUN_MOUNTED=0
CMP_DOCKER0_BEFORE=$(ip link show docker0 >/dev/null 2>&1 && echo yes || echo no)

cmp_log() { echo "== $*" >&2; }

# cmp_install: install the competitors from Debian if missing (no service start).
cmp_install() {
    need=""
    command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
    command -v podman >/dev/null 2>&1 || need="$need podman"
    command -v runc >/dev/null 2>&1 || need="$need runc"
    command -v skopeo >/dev/null 2>&1 || need="$need skopeo"
    [ -z "$need" ] && return 0
    cmp_log "installing$need from Debian"
    # Keep the package scripts from starting system services.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1 || \
        cmp_log "apt-get install$need failed; affected rows will be skipped"
    [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

# Runtime state (exec roots, podman's runroot, runc's state dir) goes where a
# stock Debian 12 keeps it: on a tmpfs, like /run. Where /run is no tmpfs (this
# VM's is on the root disk: ext4 without a journal, mounted with discard, so
# every freed block waits for a discard) a tmpfs is mounted at $CMP_TMP/run for
# the bench's duration; every engine gets a dir in it. -> CMP_RUN
cmp_run_init() {
    [ -n "${CMP_RUN:-}" ] && return 0
    CMP_RUN="$CMP_TMP/run"
    mkdir -p "$CMP_RUN"
    if [ "$(stat -f -c %T /run 2>/dev/null)" != tmpfs ] &&
        mount -t tmpfs -o mode=0755 berth-bench-run "$CMP_RUN" 2>/dev/null; then
        CMP_RUN_MOUNTED=1
    fi
}

cmp_wait_sock() { # socket [tries]
    i=0
    while [ $i -lt "${2:-400}" ]; do
        curl -sf --unix-socket "$1" http://x/_ping >/dev/null 2>&1 && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

# cmp_start_dockerd DIR -> sets DOCKERD_SOCK, DOCKERD_PID; returns 1 on failure.
cmp_start_dockerd() {
    command -v dockerd >/dev/null 2>&1 || return 1
    d=$1
    mkdir -p "$d"
    cmp_run_init
    DOCKERD_SOCK="$d/docker.sock"
    dockerd -H "unix://$DOCKERD_SOCK" --data-root "$d/data" --exec-root "$CMP_RUN/$(basename "$d")" \
        --pidfile "$d/dockerd.pid" --iptables=false --ip-masq=false --ip6tables=false \
        --userland-proxy=false --log-level warn >"$d/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    CMP_PIDS="$CMP_PIDS $DOCKERD_PID"
    cmp_wait_sock "$DOCKERD_SOCK" || { cmp_log "dockerd did not start:"; tail -5 "$d/dockerd.log" >&2; return 1; }
}

# podman command line with private storage under DIR (prints it; call
# cmp_run_init first).
cmp_podman_cmd() {
    echo "podman --root $1/root --runroot $CMP_RUN/$(basename "$1") --tmpdir $1/tmp --runtime runc" \
        "--cgroup-manager cgroupfs --events-backend file --storage-driver overlay"
}

# cmp_start_berthd BUILD DIR -> BERTHD_SOCK, BERTHD_PID
cmp_start_berthd() {
    b=$1 d=$2
    mkdir -p "$d"
    cmp_run_init
    BERTHD_SOCK="$d/berth.sock"
    "$b/berthd" -H "unix://$BERTHD_SOCK" --data-root "$d/data" --exec-root "$CMP_RUN/$(basename "$d")" \
        --pidfile "$d/berthd.pid" --no-default-image --log-level warn >"$d/berthd.log" 2>&1 &
    BERTHD_PID=$!
    CMP_PIDS="$CMP_PIDS $BERTHD_PID"
    cmp_wait_sock "$BERTHD_SOCK" || { cmp_log "berthd did not start:"; tail -5 "$d/berthd.log" >&2; return 1; }
}

# cmp_stop_all: TERM what we started, wait up to 20 s, then KILL; drop docker0 if ours.
cmp_stop_all() {
    for p in $CMP_PIDS; do kill "$p" 2>/dev/null || true; done
    i=0
    for p in $CMP_PIDS; do
        while kill -0 "$p" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "$CMP_DOCKER0_BEFORE" = no ] && ip link show docker0 >/dev/null 2>&1; then
        ip link delete docker0 2>/dev/null || true
    fi
    CMP_PIDS=""
    if [ "$CMP_RUN_MOUNTED" = 1 ]; then
        umount -R -l "$CMP_RUN" 2>/dev/null || true
        CMP_RUN_MOUNTED=0
    fi
    CMP_RUN=""
}
