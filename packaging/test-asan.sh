#!/bin/sh
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (gcc), in build-asan/.
# Every program is instrumented, the children the tests spawn included (test-service,
# mainstay itself); any finding stops that program with a report, which fails its test.
#   ./packaging/test-asan.sh [CTEST ARGS...]     e.g. -R probe
set -eu
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAINSTAY_WERROR=ON \
      -DMAINSTAY_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$(nproc)"
# detect_leaks: LeakSanitizer runs at exit (it needs ptrace-like access to the process' own
# threads; where the machine forbids that, set ASAN_OPTIONS=detect_leaks=0 and say so).
ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS UBSAN_OPTIONS
ctest --test-dir build-asan --no-tests=error --output-on-failure -j "$(nproc)" "$@"
