#!/bin/sh
# Builds everything and runs the benchmarks, printing their tables:
#   ./bench/run.sh [RESTART_ROUNDS=200] [CHAIN_RUNS=20] [IDLE_SERVICES=1000] [SOAK_KILLS=3000]
set -eu
cd "$(dirname "$0")/.."
./packaging/build.sh
./build/bench/restart_bench ./build/mainstay ./build/tests/test-service "${1:-200}"
./build/bench/chain_bench ./build/mainstay ./build/tests/test-service "${2:-20}"
./build/bench/idle_bench ./build/mainstay "${3:-1000}"
./build/bench/churn_soak ./build/mainstay ./build/tests/test-service 50 "${4:-3000}"
./build/bench/propagation_bench 5
