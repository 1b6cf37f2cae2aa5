#!/bin/sh
# Builds the Debian package, installs it on this machine, checks what it installed, and
# removes it again (dpkg --purge), leaving the machine as it was. Run as root.
# Checked: the files, the conffiles (/etc/mainstay/mainstay.yaml alone), an empty
# /etc/mainstay/services.d, the examples (services.d/, hooks executable), README.md and
# docs/configuration.md under /usr/share/doc/mainstay, `mainstay check` on the empty
# services.d and on the examples, `systemd-analyze verify` of the unit, the man page.
#   ./packaging/deb-check.sh
# Refuses to run when a mainstay package or an /etc/mainstay not of ours is already there.
# Installing starts nothing: the package has no maintainer scripts.
set -eu
cd "$(dirname "$0")/.."

fail() { echo "deb-check: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i)"
if dpkg-query -W -f='${Status}' mainstay 2>/dev/null | grep -q 'installed'; then
    fail "a mainstay package is already installed: remove it first (dpkg --purge mainstay)"
fi
[ ! -e /etc/mainstay ] || fail "/etc/mainstay exists and belongs to no package: move it away first"

step "build the package"
./packaging/deb.sh >/dev/null
deb=$(ls build/mainstay_*.deb)
echo "$deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --field "$deb" Package Version Architecture Depends
step "control archive: no maintainer scripts"
scripts=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -E 'preinst|postinst|prerm|postrm' || true)
[ -z "$scripts" ] || fail "maintainer scripts in the package: $scripts"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles

installed=0
cleanup() {
    if [ "$installed" -eq 1 ]; then
        step "dpkg --purge mainstay"
        dpkg --purge mainstay >/dev/null
        [ ! -e /usr/bin/mainstay ] || echo "deb-check: /usr/bin/mainstay still there after the purge" >&2
        [ ! -e /etc/mainstay ] || echo "deb-check: /etc/mainstay still there after the purge" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "dpkg -i $deb"
installed=1
dpkg -i "$deb" >/dev/null || fail "dpkg -i failed (missing dependencies? apt-get install ./$deb resolves them)"
dpkg-query -W -f='${Package} ${Version} ${Status}\n' mainstay

step "dpkg -L mainstay"
dpkg -L mainstay
for f in /usr/bin/mainstay /etc/mainstay/mainstay.yaml /etc/mainstay/services.d \
         /lib/systemd/system/mainstay.service /usr/share/man/man1/mainstay.1.gz \
         /usr/share/doc/mainstay/README.md /usr/share/doc/mainstay/docs/configuration.md \
         /usr/share/doc/mainstay/copyright; do
    [ -e "$f" ] || fail "not installed: $f"
done
step "copyright: machine-readable, Apache-2.0"
head -n 1 /usr/share/doc/mainstay/copyright | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
    fail "copyright: not in the machine-readable format"
grep -q '^License: Apache-2.0' /usr/share/doc/mainstay/copyright || fail "copyright: no Apache-2.0 licence"
echo ok

step "conffiles: /etc/mainstay/mainstay.yaml only"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' mainstay | sed '/^$/d')
echo "$conffiles"
[ "$(echo "$conffiles" | awk '{print $1}')" = /etc/mainstay/mainstay.yaml ] || fail "conffiles: expected /etc/mainstay/mainstay.yaml only"

step "/etc/mainstay/services.d: installed empty (the package starts no service)"
[ -d /etc/mainstay/services.d ] || fail "/etc/mainstay/services.d is not a directory"
found=$(find /etc/mainstay/services.d -mindepth 1 | head -n 5)
[ -z "$found" ] || fail "/etc/mainstay/services.d is not empty: $found"
echo "empty"

step "examples: services.d/ under /usr/share/doc/mainstay/examples/services.d"
examples=/usr/share/doc/mainstay/examples/services.d
n=0
for src in $(cd services.d && find . -type f | sed 's|^\./||' | sort); do
    [ -f "$examples/$src" ] || fail "example not installed: $examples/$src"
    cmp -s "services.d/$src" "$examples/$src" || fail "example differs from services.d/$src: $examples/$src"
    case "$src" in hooks/*) [ -x "$examples/$src" ] || fail "example hook not executable: $examples/$src" ;; esac
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "services.d/ of the repository holds no file"
ls -lR "$examples"

step "mainstay --version"
/usr/bin/mainstay --version

step "mainstay check (the config found by the lookup from /: /etc/mainstay/mainstay.yaml, empty services.d)"
out=$(cd / && env -u MAINSTAY_CONFIG /usr/bin/mainstay check 2>&1) || { echo "$out"; fail "mainstay check failed"; }
echo "$out"
echo "$out" | grep -q '^/etc/mainstay/mainstay.yaml: ok: 0 services, 0 capabilities$' \
    || fail "mainstay check: expected '/etc/mainstay/mainstay.yaml: ok: 0 services, 0 capabilities'"
/usr/bin/mainstay check -c /etc/mainstay/mainstay.yaml >/dev/null 2>&1 || fail "mainstay check -c failed"

step "mainstay check on the examples (--services-dir $examples)"
/usr/bin/mainstay check -c /etc/mainstay/mainstay.yaml --services-dir "$examples" \
    || fail "mainstay check of the examples failed"

if command -v systemd-analyze >/dev/null 2>&1; then
    step "systemd-analyze verify /lib/systemd/system/mainstay.service"
    out=$(systemd-analyze verify /lib/systemd/system/mainstay.service 2>&1) || { echo "$out"; fail "systemd-analyze verify"; }
    # It also reports on the units it pulls in; only lines about our unit count.
    if echo "$out" | grep -q 'mainstay.service'; then echo "$out"; fail "systemd-analyze verify has remarks"; fi
    echo "accepted"
else
    echo "== systemd-analyze not found: unit not verified"
fi

step "man -w mainstay"
man -w mainstay
warnings=$(MANWIDTH=80 man --warnings mainstay 2>&1 >/dev/null)
[ -z "$warnings" ] || { echo "$warnings"; fail "man page warnings"; }

echo "deb-check: OK"
