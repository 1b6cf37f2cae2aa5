#!/bin/sh
# The shipped services.d/invincible-node.yaml, run as a user of the quick start runs it: the
# real `mainstay run` on a copy of that file alone, the node's address a closed local port.
#   1. INVINCIBLE_NODE_WAKE unset, a fake `gcloud` first in PATH: the node is unhealthy, the
#      wake runs, prints "... set INVINCIBLE_NODE_WAKE ..." and fails; gcloud is never run.
#   2. INVINCIBLE_NODE_WAKE set to a command that creates a marker file: the wake runs it.
# Each run ends with SIGTERM and must exit 0.
#   sh tests/shipped/invincible_node_wake_test.sh MAINSTAY [SERVICE_FILE]
# SERVICE_FILE defaults to the repository's services.d/invincible-node.yaml. Each wait polls
# mainstay's console and logs until MAINSTAY_TEST_DEADLINE seconds (default 90) have passed.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 MAINSTAY [SERVICE_FILE]" >&2; exit 64; }
mainstay=$1
here=$(cd "$(dirname "$0")" && pwd)
service_file=${2:-$here/../../services.d/invincible-node.yaml}
deadline_s=${MAINSTAY_TEST_DEADLINE:-90}

fail() { echo "invincible_node_wake_test: FAIL: $*" >&2; exit 1; }
[ -x "$mainstay" ] || fail "mainstay not found at $mainstay"
[ -f "$service_file" ] || fail "no service file $service_file"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms-node.XXXXXX")
pid=""     # the mainstay this script started, while it runs
run=""     # the directory of the current run

cleanup() {
    if [ -n "$pid" ] && [ "$pid" -gt 1 ]; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while [ "$i" -lt 100 ] && kill -0 "$pid" 2>/dev/null && [ "$(pstate "$pid")" != Z ]; do
            sleep 0.1; i=$((i + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The state letter of a process (R, S, Z, ...), empty once it is gone.
pstate() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1 || true; }

# A local TCP port nothing listens on (LISTEN, state 0A, in /proc/net/tcp and tcp6).
closed_port() {
    p=$((40000 + $$ % 20000))
    while :; do
        hex=$(printf '%04X' "$p")
        if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" { print $2 }' | grep -q ":$hex\$"; then
            echo "$p"; return
        fi
        p=$((p + 1))
    done
}
port=$(closed_port)

# The fake gcloud: it records each call and does nothing else.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/gcloud" <<EOF
#!/bin/sh
echo "gcloud \$*" >>"$tmp/gcloud.called"
exit 0
EOF
chmod +x "$tmp/bin/gcloud"

# start_run NAME: a run directory with a small main file and the service file alone, and
# mainstay started on it (its console in NAME/console).
start_run() {
    run=$tmp/$1
    mkdir -p "$run/services.d"
    cp "$service_file" "$run/services.d/invincible-node.yaml"
    cat >"$run/mainstay.yaml" <<'EOF'
services_dir: services.d
log:
  level: info
  file: log/mainstay.log
status:
  file: status.json
  socket: control.sock
  print_interval: 0
startup:
  timeout: 60s
shutdown:
  timeout: 10s
EOF
    INVINCIBLE_NODE_ADDR="127.0.0.1:$port" PATH="$tmp/bin:$PATH" \
        "$mainstay" run -c "$run/mainstay.yaml" >"$run/console" 2>&1 &
    pid=$!
    echo "== $1: mainstay pid $pid, node 127.0.0.1:$port (closed)"
}

logs() { cat "$run/console" "$run"/log/*.log 2>/dev/null || true; }

show() { echo "---- $run/console"; tail -n 40 "$run/console" 2>/dev/null || true; }

# wait_for TEXT: until mainstay's console or logs hold TEXT (a fixed string).
wait_for() {
    until logs | grep -qF -- "$1"; do
        [ ! -e "$tmp/gcloud.called" ] || { show; fail "the fake gcloud was run: $(cat "$tmp/gcloud.called")"; }
        case "$(pstate "$pid")" in ''|Z) show; fail "mainstay ended while waiting for '$1'" ;; esac
        [ "$(date +%s)" -lt "$deadline" ] || { show; fail "no '$1' within ${deadline_s}s"; }
        sleep 0.1
    done
    echo "seen after $(( $(date +%s) - started ))s: $1"
}

# stop_run: SIGTERM to the mainstay of this run; it must exit 0.
stop_run() {
    [ -n "$pid" ] && [ "$pid" -gt 1 ] || fail "no mainstay of this run to stop (pid '$pid')"
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    pid=""
    [ "$rc" -eq 0 ] || { show; fail "mainstay exited with $rc after SIGTERM (expected 0)"; }
    echo "stopped: exit 0"
}

# 1. INVINCIBLE_NODE_WAKE unset: nothing outside is called.
unset INVINCIBLE_NODE_WAKE
started=$(date +%s)
deadline=$((started + deadline_s))
start_run unset
wait_for "invincible-node: waking (attempt 1)"
wait_for "invincible-node: not woken: set INVINCIBLE_NODE_WAKE to the command that starts the node"
wait_for "invincible-node: wake failed (exited with code 1)"
[ ! -e "$tmp/gcloud.called" ] || { show; fail "the fake gcloud was run: $(cat "$tmp/gcloud.called")"; }
echo "the fake gcloud was not run"
stop_run

# 2. INVINCIBLE_NODE_WAKE set: that command is the wake.
# A command line for sh -c: its quotes are meant literally.
# shellcheck disable=SC2089,SC2090
INVINCIBLE_NODE_WAKE="touch '$tmp/woken'"
# shellcheck disable=SC2090
export INVINCIBLE_NODE_WAKE
started=$(date +%s)
deadline=$((started + deadline_s))
start_run set
wait_for "invincible-node: waking (attempt 1)"
until [ -e "$tmp/woken" ]; do
    case "$(pstate "$pid")" in ''|Z) show; fail "mainstay ended before the wake ran" ;; esac
    [ "$(date +%s)" -lt "$deadline" ] || { show; fail "the wake did not run INVINCIBLE_NODE_WAKE within ${deadline_s}s"; }
    sleep 0.1
done
echo "the wake ran INVINCIBLE_NODE_WAKE (marker created)"
! logs | grep -qF "not woken" || { show; fail "'not woken' printed although INVINCIBLE_NODE_WAKE is set"; }
[ ! -e "$tmp/gcloud.called" ] || { show; fail "the fake gcloud was run: $(cat "$tmp/gcloud.called")"; }
stop_run

echo "invincible_node_wake_test: OK"
