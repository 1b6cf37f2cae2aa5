#!/bin/sh
# Installs what is missing, then configures and builds mainstay and its tests in ./build.
# Warnings are errors here: this is the build CI runs.
set -eu
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAINSTAY_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)"
