#!/usr/bin/env bash
# Installs every build, run and test dependency of berth from Debian 12 packages.
# Idempotent: safe to run again; it only installs what is missing.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "deps/install.sh: run as root (it installs Debian packages)" >&2
    exit 1
fi

build_pkgs=(
    build-essential cmake pkg-config
    libuv1-dev libcjson-dev libarchive-dev libseccomp-dev
    libcurl4-openssl-dev libssl-dev libyaml-dev node-llhttp
    zlib1g-dev libzstd-dev liburing-dev
)
run_pkgs=(
    busybox-static iproute2 ca-certificates
)
test_pkgs=(
    libcmocka-dev python3 python3-pytest python3-docker python3-yaml
    docker-registry apache2-utils openssl tmux python3-jwt
)

want=("${build_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Debian docker-registry package starts a registry service on :5000 on install;
# our tests start their own on random loopback ports, so keep the packaged one off.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
echo "deps/install.sh: all dependencies present"
