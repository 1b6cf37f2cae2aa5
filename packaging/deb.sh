#!/bin/sh
# Builds mainstay and its Debian package into build/: build/mainstay_<version>_<arch>.deb
# (printed on the last line). Installs what is missing first (the default set and the `deb`
# group: dpkg-shlibdeps computes the package's Depends).
#   ./packaging/deb.sh
set -eu
cd "$(dirname "$0")/.."
./packaging/install-deps.sh deb
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAINSTAY_WERROR=ON >/dev/null
# Only what the package holds: the tests are not needed for it.
cmake --build build -j "$(nproc)" --target mainstay mainstay_man
rm -f build/mainstay_*.deb
(cd build && cpack -G DEB >/dev/null)
deb=$(ls build/mainstay_*.deb)
echo "$deb"
