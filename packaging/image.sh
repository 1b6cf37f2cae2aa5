#!/bin/sh
# Builds the container image mainstay:local (mainstay as PID 1) on this machine, without a
# registry. Needs a running Docker engine and root (debootstrap).
#   ./packaging/image.sh
#   docker run -d --name mainstay --network=none mainstay:local
#   docker logs -f mainstay ; docker exec mainstay mainstay status
#   docker stop -t 40 mainstay             # SIGTERM: services stopped in order, exit 0
# Steps:
#   1. the .deb (packaging/deb.sh) and the stand-in program of the demo (build/tests/test-service);
#   2. a Debian 12 minbase root by debootstrap, with the package's runtime dependencies
#      (read from the .deb's Depends), in build/image/root, cached with its key in
#      build/image/root.key, its downloaded packages in build/image/debs: made again only
#      when the mirror or the dependencies change;
#   3. that root imported as mainstay-base:local (`docker import`; skipped when the image
#      already carries the same key);
#   4. `docker build` of packaging/demo/Dockerfile on top, with no network, as mainstay:local.
# MAINSTAY_MIRROR overrides the Debian mirror (default: the one apt uses here).
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)

fail() { echo "image.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap)"
./packaging/install-deps.sh image
docker info >/dev/null 2>&1 || fail "no Docker engine answers (docker info). Start one, e.g. as root:
    dockerd >/var/log/dockerd.log 2>&1 &"

# 1. the package and the stand-in program
./packaging/deb.sh >/dev/null
deb=$(ls build/mainstay_*.deb)
cmake --build build -j "$(nproc)" --target test-service >/dev/null
[ -x build/tests/test-service ] || fail "build/tests/test-service was not built"

# 2. the debootstrap root, cached
mirror=${MAINSTAY_MIRROR:-}
if [ -z "$mirror" ]; then
    # the first Debian mirror apt uses: deb822 sources (URIs:) or one-line sources
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/*$/\1/p' | head -n 1)
fi
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\)\/*[[:space:]]\+bookworm[[:space:]].*/\2/p' | head -n 1)
fi
mirror=${mirror:-http://deb.debian.org/debian}
# Depends: "libc6 (>= 2.34), libyaml-cpp0.7 (>= 0.7.0), ..." -> "libc6,libyaml-cpp0.7,..."
# (alternatives: the first one)
includes=$(dpkg-deb --field "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | sed '/^$/d' | sort -u | paste -sd, -)
key="bookworm minbase $mirror include=$includes"
mkdir -p build/image/debs
if [ ! -f build/image/root.key ] || [ "$(cat build/image/root.key)" != "$key" ] || [ ! -x build/image/root/bin/sh ]; then
    echo "debootstrap: bookworm minbase from $mirror, with $includes"
    rm -rf build/image/root build/image/root.tmp build/image/root.key
    debootstrap --variant=minbase --include="$includes" --cache-dir="$repo/build/image/debs" \
        bookworm build/image/root.tmp "$mirror" >build/image/debootstrap.log 2>&1 \
        || { tail -n 20 build/image/debootstrap.log >&2; fail "debootstrap failed (log: build/image/debootstrap.log)"; }
    # what an image does not need: the package lists and the downloaded packages
    rm -rf build/image/root.tmp/var/lib/apt/lists/* build/image/root.tmp/var/cache/apt/archives/*.deb
    mv build/image/root.tmp build/image/root
    printf '%s' "$key" >build/image/root.key
else
    echo "debootstrap root: cached (build/image/root)"
fi

# 3. the base image
keyhash=$(printf '%s' "$key" | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "mainstay.base"}}' mainstay-base:local 2>/dev/null || true)
if [ "$have" != "$keyhash" ]; then
    echo "docker import: mainstay-base:local"
    tar -C build/image/root --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . \
        | docker import --change "LABEL mainstay.base=$keyhash" - mainstay-base:local >/dev/null
else
    echo "mainstay-base:local: up to date"
fi

# 4. the image: the context holds only what the Dockerfile copies
ctx=build/image/context
rm -rf "$ctx"
mkdir -p "$ctx/demo"
cp "$deb" "$ctx/mainstay.deb"
cp build/tests/test-service "$ctx/mainstay-standin"
mkdir -p "$ctx/demo/services.d"
# the demo (packaging/demo), with the remote node's stand-in as a service of its own
cp packaging/demo/services.d/*.yaml packaging/image-node.yaml "$ctx/demo/services.d/"
docker build --network=none -t mainstay:local -f packaging/demo/Dockerfile "$ctx"
docker image ls mainstay:local
