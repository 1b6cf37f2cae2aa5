#!/bin/sh
# The test suite under ThreadSanitizer (gcc), in build-tsan/: every program is instrumented,
# the children the tests spawn included. The threads mainstay has besides its event loop (the
# loggers' writer, the name resolver, the status file writer) are exercised by the whole suite:
# the output and probe tests, the status file tests, and every integration test that runs
# mainstay. A data race stops that program with a report (halt_on_error), which fails its test.
#   ./packaging/test-tsan.sh [CTEST ARGS...]     e.g. -R output
set -eu
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAINSTAY_WERROR=ON \
      -DMAINSTAY_SANITIZE=thread >/dev/null
cmake --build build-tsan -j "$(nproc)"
TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
export TSAN_OPTIONS
ctest --test-dir build-tsan --no-tests=error --output-on-failure -j "$(nproc)" "$@"
