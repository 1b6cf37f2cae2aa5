#!/bin/sh
# packaging/Dockerfile for real: `docker build` from source, the image run as PID 1 with a
# service of its own, its HEALTHCHECK, `docker stop` ending it with exit 0; then the recipe
# "add mainstay to your image" (docs/install.md, "Running in a container") built and run the same way.
# Needs root and a Docker engine: when none answers it starts one, dockerd --bridge=none
# --iptables=false --storage-driver=vfs (no network of its own, no host firewall changes),
# and stops it at the end. The base is debian:12 when the engine has it, else a Debian 12
# minbase root made by debootstrap and imported (`docker import`), cached in build/docker/.
# The build stage installs its packages with the host's network (--network host).
#   ./packaging/docker-check.sh
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$repo/build/docker
mkdir -p "$work"
fail() { echo "docker-check: FAIL: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root"
./packaging/install-deps.sh image
started=""
cleanup() {
    docker rm -f ms-check ms-recipe >/dev/null 2>&1 || true
    if [ -n "$started" ] && [ "$started" -gt 1 ]; then
        kill -TERM "$started" 2>/dev/null || true
        wait "$started" 2>/dev/null || true
    fi
}
trap cleanup EXIT
if ! docker info >/dev/null 2>&1; then
    step "starting dockerd (--bridge=none --iptables=false --storage-driver=vfs)"
    dockerd --bridge=none --iptables=false --storage-driver=vfs >"$work/dockerd.log" 2>&1 &
    started=$!
    i=0
    until docker info >/dev/null 2>&1; do
        i=$((i + 1)); [ "$i" -lt 60 ] || { tail -n 20 "$work/dockerd.log"; fail "dockerd did not answer within 30 s"; }
        sleep 0.5
    done
fi

base=debian:12
if ! docker image inspect "$base" >/dev/null 2>&1; then
    base=mainstay-debian:12
    if ! docker image inspect "$base" >/dev/null 2>&1; then
        step "the base: a Debian 12 minbase root by debootstrap, imported as $base"
        mirror=${MAINSTAY_MIRROR:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
        [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
        [ -x "$work/root/bin/sh" ] || debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
            { tail -n 20 "$work/debootstrap.log"; fail "debootstrap"; }
        tar -C "$work/root" -c . | docker import - "$base" >/dev/null
    fi
fi

step "docker build -f packaging/Dockerfile (from source, on $base)"
docker build --network host --build-arg BASE="$base" -t mainstay:src -f packaging/Dockerfile . >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log"; fail "docker build"; }
docker run --rm mainstay:src --version

# Runs image $1 as container $2 (a sleeper service mounted in), waits for it to be healthy or
# for `mainstay status` to say full, then stops it and wants exit 0.
exercise() {
    image=$1 name=$2
    mkdir -p "$work/services.d"
    printf 'command: [sleep, "1000"]\nready_after: 200ms\n' >"$work/services.d/sleeper.yaml"
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker run -d --name "$name" --network none -v "$work/services.d:/etc/mainstay/services.d:ro" "$image" >/dev/null
    i=0
    until docker exec "$name" mainstay status >"$work/$name.status" 2>&1; do
        i=$((i + 1)); [ "$i" -lt 60 ] || { docker logs "$name" | tail -n 20; fail "$name: not full within 30 s"; }
        sleep 0.5
    done
    cat "$work/$name.status"
    grep -q 'sleeper' "$work/$name.status" || fail "$name: the service is not in the status"
    docker top "$name" | sed -n '2p' | grep -q 'mainstay' || fail "$name: mainstay is not the container's first process"
    docker stop -t 40 "$name" >/dev/null
    code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
    [ "$code" = 0 ] || { docker logs "$name" | tail -n 20; fail "$name: exit code $code after docker stop"; }
    docker logs "$name" 2>&1 | grep -q 'mainstay stopped' || fail "$name: no 'mainstay stopped' in its log"
    echo "$name: full, stopped by docker stop with exit 0"
    docker rm -f "$name" >/dev/null
}

step "the image as PID 1"
exercise mainstay:src ms-check
health=""
docker run -d --name ms-check --network none -v "$work/services.d:/etc/mainstay/services.d:ro" mainstay:src >/dev/null
i=0
while [ "$i" -lt 90 ]; do
    health=$(docker inspect -f '{{.State.Health.Status}}' ms-check)
    [ "$health" = healthy ] && break
    i=$((i + 1)); sleep 1
done
[ "$health" = healthy ] || fail "HEALTHCHECK: $health after 90 s"
echo "HEALTHCHECK: healthy"
docker rm -f ms-check >/dev/null

step "the recipe: add mainstay to your image"
mkdir -p "$work/recipe"
cat >"$work/recipe/Dockerfile" <<RECIPE
FROM $base
COPY --from=mainstay:src /usr/bin/mainstay /usr/bin/mainstay
COPY --from=mainstay:src /etc/mainstay/mainstay.yaml /etc/mainstay/mainstay.yaml
RUN mkdir -p /etc/mainstay/services.d
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/mainstay", "run", "-c", "/etc/mainstay/mainstay.yaml"]
RECIPE
docker build --network none -t mainstay-recipe:check "$work/recipe" >"$work/recipe.log" 2>&1 ||
    { tail -n 20 "$work/recipe.log"; fail "the recipe's docker build"; }
exercise mainstay-recipe:check ms-recipe
echo
echo "docker-check: OK"
