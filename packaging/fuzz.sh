#!/bin/sh
# The fuzz runs: builds the libFuzzer targets of fuzz/ with clang (-fsanitize=fuzzer,address,
# undefined) in build-fuzz/, then runs each for SECONDS (default 60) on a working copy of its
# seed corpus (build-fuzz/corpus/TARGET/; fuzz/corpus/TARGET/ is only read). Prints, per
# target, the executions, the coverage and the corpus size; fails on the first crash, leak,
# sanitizer report or timeout (the input is left in build-fuzz/artifacts/).
#   ./packaging/fuzz.sh [SECONDS] [TARGET...]      TARGET: config http_response control_request
set -eu
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets="${*:-config http_response control_request}"

./packaging/install-deps.sh fuzz
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAINSTAY_WERROR=ON \
      -DMAINSTAY_FUZZ=ON -DMAINSTAY_TESTS=OFF >/dev/null
build_targets=""
for t in $targets; do build_targets="$build_targets ${t}_fuzz"; done
# shellcheck disable=SC2086
cmake --build build-fuzz -j "$(nproc)" --target $build_targets

mkdir -p build-fuzz/artifacts
status=0
for t in $targets; do
    mkdir -p "build-fuzz/corpus/$t"
    log="build-fuzz/$t.log"
    echo "== $t: ${seconds}s"
    dict=""
    [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
    # shellcheck disable=SC2086
    if ./build-fuzz/fuzz/"${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" $dict \
        "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE' "$log" || true
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
        echo "corpus: $(ls "build-fuzz/corpus/$t" | wc -l) new inputs kept"
    else
        status=1
        echo "FAILED: $t (log: $log)"
        grep -E -A30 'ERROR: |runtime error|Test unit written' "$log" | head -60
        break
    fi
done
exit $status
