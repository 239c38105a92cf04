#!/usr/bin/env bash
# Installs every build, run and test dependency of berth from Debian 12 packages.
# Idempotent: safe to run again; it only installs what is missing.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "deps/install.sh: run as root (it installs Debian packages)" >&2
    exit 1
fi

build_pkgs=(
    build-essential cmake pkg-config dpkg-dev
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
# The berth CLI links statically: every `berth` command then starts without the
# dynamic loader's work (~1 ms of each `berth run` on our VMs). Debian's
# libcjson-dev ships only the shared library, so the static one is built
# (deps/deps.cmake) from Debian's own source package of the installed version,
# its patches applied, fetched with a private deb-src list (the system's apt
# config is left alone). Without it the CLI links dynamically, as before.
cjson_src_root=/usr/local/src/berth-deps
fetch_cjson_source() {
    local ver apt_dir f
    ver=$(dpkg-query -W -f='${Version}' libcjson-dev)
    if [ "$(cat "$cjson_src_root/cjson/.berth-version" 2>/dev/null)" = "$ver" ]; then
        return 0
    fi
    apt_dir=$(mktemp -d)
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/parts" "$apt_dir/work"
    touch "$apt_dir/sources.list"
    # deb-src twins of the system's Debian archive entries, both formats.
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && grep -qE "debian\.org|debian-archive-keyring" "$f" &&
            sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt_dir/parts/$(basename "$f")"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] && sed -n 's/^deb \(.*debian\.org.*\)/deb-src \1/p' "$f" >>"$apt_dir/sources.list"
    done
    local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list"
                -o "Dir::Etc::SourceParts=$apt_dir/parts" -o "Dir::State::Lists=$apt_dir/lists")
    local ok=0
    if apt-get "${opts[@]}" update -qq >/dev/null 2>&1 &&
        (cd "$apt_dir/work" && apt-get "${opts[@]}" source -qq "cjson=$ver" >/dev/null 2>&1); then
        for f in "$apt_dir"/work/cjson-*/; do
            if [ -f "$f/cJSON.c" ] && [ -f "$f/cJSON.h" ]; then
                mkdir -p "$cjson_src_root"
                rm -rf "$cjson_src_root/cjson-$ver"
                mv "$f" "$cjson_src_root/cjson-$ver"
                echo "$ver" >"$cjson_src_root/cjson-$ver/.berth-version"
                ln -sfn "cjson-$ver" "$cjson_src_root/cjson"
                ok=1
            fi
        done
    fi
    rm -rf "$apt_dir"
    if [ "$ok" = 1 ]; then
        echo "deps/install.sh: cJSON $ver source (Debian) in $cjson_src_root/cjson: static berth CLI"
    else
        echo "deps/install.sh: note: Debian's cJSON source not fetched: the berth CLI links dynamically" >&2
    fi
}
fetch_cjson_source

echo "deps/install.sh: all dependencies present"
