#!/bin/sh
# Builds everything and runs the benchmarks, printing their tables.
set -eu
cd "$(dirname "$0")/.."
./packaging/build.sh
./build/bench/restart_bench ./build/mainstay ./build/tests/test-service "${1:-200}"
./build/bench/chain_bench ./build/mainstay ./build/tests/test-service "${2:-20}"
