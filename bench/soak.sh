#!/bin/sh
# The chaos soak: builds, then runs bench/chaos_soak (see the comment at its top) with SECONDS
# of faults across SERVICES services. Exit 0 when every check holds, 1 otherwise.
#   ./bench/soak.sh [SECONDS=180] [SERVICES=50] [SEED]
# Run it as root for the full log disk part (a 2 MB tmpfs); without root it says it skips it.
set -eu
cd "$(dirname "$0")/.."
./packaging/build.sh
seconds=${1:-180}
# The soak bounds itself; timeout is the belt to those braces (SIGTERM: the soak cleans up).
exec timeout -k 60 $((seconds + 480)) ./build/bench/chaos_soak ./build/mainstay ./build/tests/test-service \
    "$seconds" "${2:-50}" ${3:+"$3"}
