#!/usr/bin/env bash
# Fresh Debian 12 machine (root) -> dependencies installed, sanitizer build, every test run.
# This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deps/install.sh
cmake -S . -B build-test -DBERTH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build build-test -j"$(nproc)"
# LeakSanitizer cannot follow clone()d container children; leaks in our own
# processes still fail the unit tests through ASan's exit code.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir build-test --output-on-failure --timeout 2400

# The CLI and berth-shim as shipped: a release build links them statically
# (deps/deps.cmake) when Debian's cJSON source is there, which sanitizers rule
# out above. The CLI's tests run again with that CLI against the sanitized
# daemon, and the tests of the shim's pool and modes with the release daemon
# and its static shim.
cmake -S . -B build-test-rel -DCMAKE_BUILD_TYPE=Release -DBERTH_TESTS=OFF >/dev/null
cmake --build build-test-rel -j"$(nproc)" --target berth berthd berth-shim berth-imagejob
cjson_src=$(sed -n 's/^BERTH_CJSON_SRC_DIR:PATH=//p' build-test-rel/CMakeCache.txt)
if [ -f "$cjson_src/cJSON.c" ]; then
    for bin in berth berth-shim; do
        if readelf -l "build-test-rel/$bin" | grep -q "program interpreter"; then
            echo "run-all.sh: the release $bin is not statically linked" >&2
            exit 1
        fi
    done
fi
(cd tests/integration && BERTH_BUILD_DIR="$PWD/../../build-test" BERTH_CLI="$PWD/../../build-test-rel/berth" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider test_cli.py test_cli_registry.py \
    test_containers_lifecycle.py::test_berth_run_it_restores_the_terminal)
(cd tests/integration && BERTH_BUILD_DIR="$PWD/../../build-test-rel" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider test_shim_pool.py test_runtime_shim.py \
    test_init.py test_exec.py)
