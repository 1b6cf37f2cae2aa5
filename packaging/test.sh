#!/bin/sh
# The test command: build everything, then run every test (unit, fixture and CLI tests).
# ctest fails when no test is found (--no-tests=error).
set -eu
cd "$(dirname "$0")/.."
./packaging/build.sh
ctest --test-dir build --no-tests=error --output-on-failure -j "$(nproc)"
