#!/bin/sh
# The one-minute demo: mainstay on packaging/demo/ (the shipped services played by stand-ins).
#   packaging/demo/run-demo.sh        (or ./packaging/run.sh --demo, which builds first)
# It starts the "remote node" stand-in and mainstay, shows `mainstay status` and `mainstay why`
# at the interesting moments, stops mainstay with SIGTERM once the story is told (or after
# MAINSTAY_DEMO_TIMEOUT seconds, default 75), then prints a summary. Exit 0 only when every
# step happened: degraded start, the stand-ins coming up, llm moving cloud -> node -> local, the
# crash (llm back to node) recovered, a downgrade to cloud and an upgrade by hand, and a clean exit. Ctrl-C stops mainstay cleanly at any time (exit 130).
#
# Environment (defaults for a build tree of this repository):
#   MAINSTAY          the mainstay program                     (build/mainstay)
#   MAINSTAY_STANDIN  the stand-in program, test-service       (build/tests/test-service)
#   MAINSTAY_HOOKS    the directory of the llm-mode hook       (services.d/hooks)
#   MAINSTAY_RUN_DIR  the run directory, emptied of the demo's own files at start (run/demo)
#   MAINSTAY_DEMO_CONFIG  the demo's main file                 (packaging/demo/mainstay.yaml)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
MAINSTAY=${MAINSTAY:-$repo/build/mainstay}
export MAINSTAY_STANDIN="${MAINSTAY_STANDIN:-$repo/build/tests/test-service}"
export MAINSTAY_HOOKS="${MAINSTAY_HOOKS:-$repo/services.d/hooks}"
export MAINSTAY_RUN_DIR="${MAINSTAY_RUN_DIR:-$repo/run/demo}"
config=${MAINSTAY_DEMO_CONFIG:-$here/mainstay.yaml}
timeout=${MAINSTAY_DEMO_TIMEOUT:-75}

say() { printf '\n==== demo: %s\n' "$*"; }
fail_setup() { echo "run-demo.sh: $*" >&2; exit 1; }

[ -x "$MAINSTAY" ] || fail_setup "mainstay not found at $MAINSTAY (build first: ./packaging/build.sh, or set MAINSTAY)"
[ -x "$MAINSTAY_STANDIN" ] || fail_setup "the stand-in program not found at $MAINSTAY_STANDIN (set MAINSTAY_STANDIN)"
[ -f "$MAINSTAY_HOOKS/llm-mode" ] || fail_setup "the llm-mode hook not found in $MAINSTAY_HOOKS (set MAINSTAY_HOOKS)"

run=$MAINSTAY_RUN_DIR
log=$run/log/mainstay.log
mkdir -p "$run/log"
# Only the demo's own files: a fresh schedule (start counters), a sleeping node, fresh logs.
rm -f "$run/docker.starts" "$run/ollama.starts" "$run/node.awake" "$run/llm-mode" "$run/llm-mode.history" \
      "$run"/log/*.log "$run"/log/*.log.[0-9]*

ms() { "$MAINSTAY" "$@" -c "$config" || true; }   # status exits 1 while degraded: fine here

mainstay_pid=""
node_pid=""
stopping=0
mainstay_done=0
interrupted=0

stop_mainstay() {   # one SIGTERM to the mainstay this script started
    if [ "$stopping" -eq 0 ] && [ -n "$mainstay_pid" ] && [ "$mainstay_pid" -gt 1 ]; then
        stopping=1
        kill -TERM "$mainstay_pid" 2>/dev/null || true
    fi
}
stop_node() {
    if [ -n "$node_pid" ] && [ "$node_pid" -gt 1 ]; then
        kill -TERM "$node_pid" 2>/dev/null || true
        wait "$node_pid" 2>/dev/null || true
        node_pid=""
    fi
}
on_interrupt() {
    interrupted=1
    say "interrupted: stopping mainstay (SIGTERM to pid $mainstay_pid)"
    stop_mainstay
}
cleanup() {   # on any exit: mainstay stopped and waited for, then the node stand-in
    if [ -n "$mainstay_pid" ] && [ "$mainstay_done" -eq 0 ]; then
        stop_mainstay
        wait "$mainstay_pid" 2>/dev/null || true
    fi
    stop_node
}
trap on_interrupt INT TERM
trap cleanup EXIT

cat <<EOF

mainstay demo: the shipped services (docker, ollama, invincible-node, llm) played by stand-ins
on a schedule, in about a minute. Watch for:
  - a degraded start: docker and ollama fail their first starts, the remote node sleeps (503);
    llm on its floor tier, the cloud ("mode: cloud")
  - the node woken by its wake command: llm moves to the node tier ("mode: node")
  - ollama coming up: llm on its best tier, local ("mode: local")
  - docker coming up after 3 failures and a growing backoff (3 s, 6 s, 12 s)
  - ollama crashing (SIGSEGV): llm back to the node; ollama restarted: local again
  - by hand: mainstay downgrade llm --to cloud, then mainstay upgrade llm
  - a clean shutdown
Run directory: $run (logs in log/, the active LLM tier in llm-mode, every move in llm-mode.history)
From another terminal: MAINSTAY_RUN_DIR=$run $MAINSTAY status -c $config
EOF

# The "remote" GPU node: answers 503 until the wake command creates node.awake. It ends by
# itself after 3 minutes should this script be killed before it could stop it.
"$MAINSTAY_STANDIN" --unix-socket "$run/node.sock" --http --healthy-file "$run/node.awake" \
    --route /health=OK --exit-after 180000 >"$run/node.out" 2>&1 &
node_pid=$!

say "starting mainstay"
# In a session of its own, so a Ctrl-C reaches this script only and mainstay gets exactly one
# SIGTERM (a second one would kill everything at once). setsid does not fork here: a background
# job of a non-interactive shell is no process group leader, so $! is mainstay's pid.
setsid "$MAINSTAY" run -c "$config" &
mainstay_pid=$!

running() {   # alive and not a zombie (this shell reaps it only in `wait`)
    [ -d /proc/self ] || { kill -0 "$mainstay_pid" 2>/dev/null; return; }   # no /proc: best effort
    st=$(sed 's/.*) //' "/proc/$mainstay_pid/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ]
}
has() { [ -f "$log" ] && grep -q -- "$1" "$log"; }
count() { if [ -f "$log" ]; then grep -c -- "$1" "$log" || true; else echo 0; fi; }
line_of() { if [ -f "$log" ]; then grep -n -- "$1" "$log" | tail -n 1 | cut -d: -f1; fi; }

shown_start=0 shown_node=0 shown_full=0 shown_crash=0 shown_back=0 shown_down=0 shown_up=0 done_at=""
start=$(date +%s)
while [ "$interrupted" -eq 0 ] && running; do
    now=$(date +%s)
    if [ $((now - start)) -ge "$timeout" ]; then
        say "${timeout}s are up"
        break
    fi
    if [ "$shown_start" -eq 0 ] && has 'startup finished'; then
        shown_start=1
        sleep 0.3 || :
        say "startup finished: degraded, and still recovering. mainstay status:"
        ms status
        say "mainstay why ollama:"
        ms why ollama
    fi
    if [ "$shown_node" -eq 0 ] && has 'capability llm: degraded, tier node'; then
        shown_node=1
        say "the node is awake: llm moved to its node tier. cat $run/llm-mode: $(cat "$run/llm-mode" 2>/dev/null)"
    fi
    if [ "$shown_full" -eq 0 ] && has 'capability llm: full, tier local'; then
        shown_full=1
        say "llm is FULL, on its best tier: answers come from the local model. cat $run/llm-mode: $(cat "$run/llm-mode" 2>/dev/null)"
    fi
    if [ "$shown_crash" -eq 0 ] && has 'ollama: recovering (killed by SIG'; then
        shown_crash=1
        sleep 0.3 || :
        say "ollama crashed. mainstay why ollama:"
        ms why ollama
        say "llm went back one tier: $(cat "$run/llm-mode" 2>/dev/null)"
    fi
    if [ "$shown_crash" -eq 1 ] && [ "$shown_back" -eq 0 ] && [ "$(count 'capability llm: full, tier local')" -ge 2 ] &&
       [ "$(line_of 'capability llm: full, tier local')" -gt "$(line_of 'ollama: recovering (killed by SIG')" ]; then
        shown_back=1
        say "ollama restarted, llm on local again: $(cat "$run/llm-mode" 2>/dev/null)"
        say "by hand: mainstay downgrade llm --to cloud (a model being replaced, say)"
        ms downgrade llm --to cloud
    fi
    if [ "$shown_back" -eq 1 ] && [ "$shown_down" -eq 0 ] && has 'capability llm: held at tier cloud' &&
       [ "$(line_of 'capability llm: degraded, tier cloud')" -gt "$(line_of 'capability llm: held at tier cloud')" ]; then
        shown_down=1
        say "held on the cloud tier: $(cat "$run/llm-mode" 2>/dev/null). mainstay why llm:"
        ms why llm
        say "by hand: mainstay upgrade llm"
        ms upgrade llm
    fi
    if [ "$shown_down" -eq 1 ] && [ "$shown_up" -eq 0 ] && [ "$(count 'capability llm: full, tier local')" -ge 3 ]; then
        shown_up=1
        done_at=$now
        say "upgraded: llm on local again: $(cat "$run/llm-mode" 2>/dev/null)"
    fi
    if [ -n "$done_at" ] && [ $((now - done_at)) -ge 3 ] && has 'docker: ready'; then
        say "everything recovered. mainstay status:"
        ms status
        break
    fi
    sleep 0.5 || :   # a Ctrl-C ends the sleep with a failure: not an error here
done

say "stopping mainstay (SIGTERM to pid $mainstay_pid)"
stop_mainstay
rc=0
while :; do   # wait again if a Ctrl-C interrupts the wait
    if wait "$mainstay_pid"; then rc=0; else rc=$?; fi
    [ -d /proc/self ] || break
    [ -e "/proc/$mainstay_pid" ] || break   # reaped: done (a zombie is waited for again)
done
mainstay_done=1
stop_node

# ---- summary, from mainstay's own log ----------------------------------------------------
ok=1
check() {   # check DESCRIPTION CONDITION...
    what=$1; shift
    if "$@"; then echo "  ok    $what"; else echo "  FAIL  $what"; ok=0; fi
}
first_mode_degraded() { grep -m 1 ' mode: ' "$log" | grep -q 'mode: degraded'; }
after() { a=$(line_of "$1"); b=$(line_of "$2"); [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ]; }
crash_recovered() {
    after 'ollama: recovering (killed by SIG' 'capability llm: degraded, tier node' &&
    after 'ollama: recovering (killed by SIG' 'ollama: ready' &&
    after 'ollama: recovering (killed by SIG' 'capability llm: full, tier local'
}
held_and_released() {
    after 'capability llm: held at tier cloud' 'capability llm: degraded, tier cloud' &&
    after 'the hold at tier cloud ends' 'capability llm: full, tier local'
}
history() { [ "$(tr '\n' ' ' < "$run/llm-mode.history" 2>/dev/null)" = "cloud node local node local cloud local " ]; }
clean_exit() { [ "$rc" -eq 0 ] && has 'mainstay stopped'; }

say "summary"
[ -f "$log" ] || { echo "  FAIL  no log at $log"; exit 1; }
check "degraded start (the first mode line)" first_mode_degraded
check "the remote node woken and ready" after 'invincible-node: waking' 'invincible-node: ready'
check "ollama came up after a failed start" after 'ollama: recovering (exited' 'ollama: ready'
check "llm started on its floor tier, the cloud" has 'capability llm: degraded, tier cloud'
check "llm moved to the node tier when the node was woken" after 'invincible-node: ready' 'capability llm: degraded, tier node'
check "llm reached its best tier, local (hook: mode: local)" has 'capability llm: full, tier local'
check "docker came up after its failures" after 'docker: recovering' 'docker: ready'
check "ollama's crash: llm back to node, then local again" crash_recovered
check "downgrade --to cloud held it there, upgrade let go" held_and_released
check "llm-mode.history: cloud node local node local cloud local" history
check "mainstay exited cleanly (exit code $rc)" clean_exit
echo "  logs: $run/log/ (mainstay.log, and one file per service)"

if [ "$interrupted" -eq 1 ]; then exit 130; fi
[ "$ok" -eq 1 ] || exit 1
say "all steps seen"
