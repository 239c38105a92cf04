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
