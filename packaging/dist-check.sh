#!/bin/sh
# The portable binary (packaging/dist.sh) in foreign roots: a minimal Debian 12 (bookworm) and
# a minimal Debian 13 (trixie) made by debootstrap --variant=minbase, with nothing else
# installed. In each: `mainstay --version`, `mainstay check` on a one-service configuration,
# and a short `mainstay run` of it ended by SIGTERM with exit 0. Needs root and a Debian
# mirror (MIRROR, default deb.debian.org); the roots are kept in build-dist/roots for the
# next run.
#   ./packaging/dist-check.sh [TARBALL]
set -eu
cd "$(dirname "$0")/.."
./packaging/install-deps.sh dist
tarball=${1:-$(ls -t dist/mainstay-*-linux-x86_64.tar.gz 2>/dev/null | head -n 1)}
[ -n "$tarball" ] && [ -f "$tarball" ] || { echo "dist-check: no tarball: run ./packaging/dist.sh first" >&2; exit 1; }
mirror=${MIRROR:-http://deb.debian.org/debian}
roots=build-dist/roots
mkdir -p "$roots"
fail() { echo "dist-check: FAIL: $*" >&2; exit 1; }

for suite in bookworm trixie; do
    root=$roots/$suite
    if [ ! -x "$root/bin/sh" ]; then
        echo "== debootstrap --variant=minbase $suite"
        rm -rf "$root"
        debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$roots/$suite.log" 2>&1 ||
            { tail -n 20 "$roots/$suite.log"; fail "debootstrap $suite"; }
    fi
    rm -rf "$root/opt/mainstay"
    mkdir -p "$root/opt/mainstay"
    tar -C "$root/opt/mainstay" --strip-components=1 -xzf "$tarball"
    mkdir -p "$root/opt/cfg/services.d"
    printf 'services_dir: services.d\nstatus: {socket: /run/m/control.sock, file: /run/m/status.json}\nlog: {file: /run/m/mainstay.log}\n' \
        >"$root/opt/cfg/mainstay.yaml"
    printf 'command: [sleep, "1000"]\nready_after: 100ms\n' >"$root/opt/cfg/services.d/sleeper.yaml"
    echo "== $suite: $(cat "$root/etc/debian_version")"
    mount -t proc proc "$root/proc"
    rc=0
    (
        set -e
        chroot "$root" /opt/mainstay/mainstay --version
        chroot "$root" /opt/mainstay/mainstay check -c /opt/cfg/mainstay.yaml
        chroot "$root" timeout --preserve-status -s TERM 3 /opt/mainstay/mainstay run -c /opt/cfg/mainstay.yaml
    ) >"$roots/$suite.out" 2>&1 || rc=$?
    umount "$root/proc"
    cat "$roots/$suite.out"
    [ "$rc" -eq 0 ] || fail "$suite: exit $rc"
    grep -q 'sleeper: ready' "$roots/$suite.out" || fail "$suite: the service did not get ready"
    grep -q 'mainstay stopped' "$roots/$suite.out" || fail "$suite: no clean stop"
done
echo "dist-check: OK (bookworm and trixie)"
