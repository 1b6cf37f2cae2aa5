#!/bin/sh
# The portable binary: builds mainstay with everything but the C library linked in
# (-DMAINSTAY_PORTABLE=ON: Boost and yaml-cpp static, spdlog and fmt compiled in, libstdc++ and
# libgcc static) in build-dist/, checks that it needs nothing but libc, libm and the dynamic
# loader, and packs dist/mainstay-VERSION-linux-x86_64.tar.gz:
#   mainstay-VERSION/mainstay            the binary (stripped)
#   mainstay-VERSION/LICENSE, README.md, docs/ (the pages the README links to)
#   mainstay-VERSION/examples/           the main file for /etc/mainstay and the shipped services.d
# It runs on glibc 2.36 (Debian 12) and later: packaging/dist-check.sh runs it in minimal
# Debian 12 and Debian 13 roots.
#   ./packaging/dist.sh
set -eu
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
cmake -S . -B build-dist -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAINSTAY_PORTABLE=ON -DMAINSTAY_TESTS=OFF >/dev/null
cmake --build build-dist --target mainstay -j "$(nproc)"

bin=build-dist/mainstay
needs=$(ldd "$bin" | awk '{print $1}' | grep -v -e '^linux-vdso' -e '^libc\.so' -e '^libm\.so' -e 'ld-linux' || true)
if [ -n "$needs" ]; then
    echo "dist: FAIL: $bin needs more than libc, libm and ld-linux: $needs" >&2
    exit 1
fi
version=$("$bin" --version | awk '{print $2}')
name=mainstay-$version
stage=build-dist/stage/$name
rm -rf build-dist/stage
mkdir -p "$stage/examples"
cp "$bin" "$stage/mainstay"
strip "$stage/mainstay"
cp LICENSE README.md "$stage/"
mkdir -p "$stage/docs"
cp docs/*.md docs/*.svg "$stage/docs/"
cp packaging/mainstay.yaml "$stage/examples/mainstay.yaml"
cp -R services.d "$stage/examples/services.d"
mkdir -p dist
tar -C build-dist/stage --owner=0 --group=0 --numeric-owner --sort=name -czf "dist/$name-linux-x86_64.tar.gz" "$name"
echo "dist: dist/$name-linux-x86_64.tar.gz"
ldd "$stage/mainstay"
