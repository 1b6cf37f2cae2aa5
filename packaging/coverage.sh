#!/bin/sh
# Line and branch coverage of src/ by the whole test suite, in build-coverage/ (gcc --coverage,
# gcovr from Debian). Every program the tests run is instrumented, mainstay and its children
# included; each writes its counts at exit (a process killed by SIGKILL writes none).
#   ./packaging/coverage.sh [CTEST ARGS...]
# Prints the summary (lines, branches) and the files below 90 % of lines; writes
# build-coverage/coverage.txt (per file) and build-coverage/coverage.xml (Cobertura).
set -eu
cd "$(dirname "$0")/.."
./packaging/install-deps.sh coverage
cmake -S . -B build-coverage -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAINSTAY_WERROR=ON -DMAINSTAY_COVERAGE=ON \
      -DMAINSTAY_TEST_TIMEOUT_SCALE=3 >/dev/null
cmake --build build-coverage -j "$(nproc)"
find build-coverage -name '*.gcda' -delete
# A failing test fails the run too: coverage is measured on a suite that passes.
ctest --test-dir build-coverage --no-tests=error --output-on-failure -j "$(nproc)" "$@"
gcovr --root . --filter 'src/' --object-directory build-coverage --exclude-unreachable-branches \
      --exclude-throw-branches --txt build-coverage/coverage.txt --xml build-coverage/coverage.xml \
      --print-summary build-coverage >/dev/null 2>build-coverage/gcovr.log || {
    cat build-coverage/gcovr.log >&2
    exit 1
}
gcovr --root . --filter 'src/' --object-directory build-coverage --exclude-unreachable-branches \
      --exclude-throw-branches --print-summary build-coverage 2>/dev/null | tail -n 3
echo "files below 90 % of lines:"
awk '$1 ~ /^src\// && $4+0 < 90 {print "  " $0}' build-coverage/coverage.txt
