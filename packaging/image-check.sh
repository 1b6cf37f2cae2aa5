#!/bin/sh
# Checks the image built by packaging/image.sh: runs it, waits for the end of mainstay's
# startup phase, checks that mainstay is PID 1 and that no process is left a zombie, lets it
# supervise for a while, then `docker stop`s it and checks the exit code (0) and the time it
# took. The container is removed at the end. Needs a running Docker engine.
#   ./packaging/image-check.sh [SECONDS]     (how long to let it run; default 20)
set -eu
image=${MAINSTAY_IMAGE:-mainstay:local}
run_for=${1:-20}
name="mainstay-check-$$"

fail() { echo "image-check: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

docker image inspect "$image" >/dev/null 2>&1 || fail "no image $image: build it with packaging/image.sh"
cleanup() { docker rm -f -v "$name" >/dev/null 2>&1 || true; }   # -v: its services.d volume too
trap cleanup EXIT

step "docker run -d --network=none $image"
docker run -d --name "$name" --network=none "$image" >/dev/null

logs() { docker logs "$name" 2>&1; }
wait_for() {   # wait_for TEXT SECONDS: until the container's log has TEXT
    deadline=$(( $(date +%s) + $2 ))
    until logs | grep -q -- "$1"; do
        [ "$(date +%s)" -lt "$deadline" ] || { logs | tail -n 30; fail "no '$1' in the log within $2 s"; }
        [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || { logs | tail -n 30; fail "the container ended"; }
        sleep 0.2
    done
}
wait_for "startup finished" 120

step "PID 1"
pid1=$(docker exec "$name" cat /proc/1/cmdline | tr '\0' ' ')
echo "$pid1"
case "$pid1" in /usr/bin/mainstay\ run*) ;; *) fail "PID 1 is not mainstay: $pid1" ;; esac

step "supervising for ${run_for}s"
end=$(( $(date +%s) + run_for ))
while [ "$(date +%s)" -lt "$end" ]; do
    [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || { logs | tail -n 30; fail "the container ended"; }
    sleep 1
done
docker exec "$name" mainstay status || true   # exit 1 while degraded: fine

step "processes (no zombie)"
docker exec "$name" sh -c 'for s in /proc/[0-9]*/stat; do cat "$s" 2>/dev/null; echo; done' \
    | awk 'NF { sub(/^[0-9]+ \(/, ""); n = index($0, ") "); comm = substr($0, 1, n - 1); rest = substr($0, n + 2); split(rest, f, " "); print f[1], comm }' \
    >"/tmp/$name.ps"
cat "/tmp/$name.ps"
zombies=$(grep -c '^Z ' "/tmp/$name.ps" || true)
rm -f "/tmp/$name.ps"
[ "$zombies" -eq 0 ] || fail "$zombies zombie processes"

step "docker stop (SIGTERM, timeout 40 s)"
start=$(date +%s%N)
docker stop -t 40 "$name" >/dev/null
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
logs | tail -n 12
echo "docker stop took ${took_ms} ms; exit code $code"
[ "$code" -eq 0 ] || fail "exit code $code (137: killed at the timeout)"
logs | grep -q 'mainstay stopped' || fail "no 'mainstay stopped' in the log"
echo "image-check: OK"
