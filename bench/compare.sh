#!/bin/sh
# mainstay beside a bare C floor, supervisord and runit: one table, every figure from this run.
#   ./bench/compare.sh [OPTION...]
# Options go to build/bench/compare (e.g. --rounds 200 --idle-seconds 30; see bench/compare.cpp).
# Installs what is missing (the build's packages, then supervisor and runit: run as root the
# first time), builds, runs, and writes build/bench/results.json, results.md and benchmarks.svg.
set -eu
cd "$(dirname "$0")/.."

missing=""
for p in supervisor runit; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ] && [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    # The packages' maintainer scripts would start their system-wide daemons (supervisor.service
    # and runit's runsvdir on /etc/service); nothing here needs them, so forbid the starts for
    # the time of the install.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    ./packaging/install-deps.sh bench
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
else
    ./packaging/install-deps.sh bench
fi
# A system-wide supervisord (started by the package before this script, or by the system) plays
# no part here, but it shares the machine: say so.
for pidfile in /run/supervisord.pid /var/run/supervisord.pid; do
    if [ -s "$pidfile" ] && [ -d "/proc/$(cat "$pidfile")" ]; then
        echo "note: a system supervisord runs (pid $(cat "$pidfile"), from $pidfile); it is not part of the bench" >&2
        break
    fi
done

./packaging/build.sh
cmake --build build --target compare floor_supervisor stamp >/dev/null
mkdir -p build/bench
exec ./build/bench/compare --mainstay build/mainstay --service build/bench/stamp --test-service build/tests/test-service \
    --floor build/bench/floor_supervisor --json build/bench/results.json \
    --markdown build/bench/results.md --svg build/bench/benchmarks.svg "$@"
