#!/bin/sh
# The browser check of `mainstay analyze --svg`: renders the startup chart of a real instance
# with `chromium --headless --screenshot` and checks the picture (the test "analyze: the SVG
# chart renders in a headless browser", which is skipped when chromium is not installed).
# Installs Debian's chromium (and a font for the chart's text) when missing: too heavy for every
# test run, so packaging/install-deps.sh leaves it out. Must run as root when it is missing.
set -eu
cd "$(dirname "$0")/.."

missing=""
for p in chromium fonts-dejavu-core; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: installing$missing needs root" >&2
        exit 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

./packaging/build.sh
ctest --test-dir build --no-tests=error --output-on-failure -V -R 'SVG chart renders in a headless browser'
