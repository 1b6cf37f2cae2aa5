#!/bin/sh
# Installs the Debian 12 packages mainstay needs to build, run and test.
#   ./packaging/install-deps.sh [GROUP...]
# With no GROUP: what the build and the test suite need. A GROUP adds the packages of one
# optional task (see the case below); each script that needs a group asks for it.
# Idempotent: does nothing (and prints nothing) when every package is present.
# Must run as root when something is missing (apt-get install).
set -eu

PACKAGES="
g++
cmake
ninja-build
ccache
pkg-config
libboost1.81-dev
libboost-filesystem1.81-dev
libyaml-cpp-dev
doctest-dev
nlohmann-json3-dev
libcli11-dev
libspdlog-dev
libfmt-dev
procps
util-linux
clang-format
"

for group in "$@"; do
    case "$group" in
        # one line per optional group: NAME) PACKAGES="$PACKAGES pkg1 pkg2" ;;
        deb) PACKAGES="$PACKAGES dpkg-dev file man-db gzip" ;;
        image) PACKAGES="$PACKAGES debootstrap docker.io" ;;
        dist) PACKAGES="$PACKAGES debootstrap" ;;
        bench) PACKAGES="$PACKAGES supervisor runit" ;;
        fuzz) PACKAGES="$PACKAGES clang libclang-rt-14-dev" ;;
        coverage) PACKAGES="$PACKAGES gcovr" ;;
        *) echo "install-deps.sh: unknown group '$group'" >&2; exit 64 ;;
    esac
done

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

echo "installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "error: these packages are missing and installing them needs root:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "installed:$missing"
