#!/bin/sh
# The run command: build mainstay, then run it on the shipped config/ and services.d/.
#   ./packaging/run.sh [ARGS...]   extra arguments go to `mainstay run` (e.g. --log-level debug)
#   ./packaging/run.sh --demo      the one-minute demo instead (packaging/demo/run-demo.sh)
# Needs no root once the build packages are installed: the status file, control socket and
# logs go to run/ of the repository (or $MAINSTAY_RUN_DIR), not /run and /var/log; the
# llm-mode hook of llm is taken from services.d/hooks and writes run/llm-mode.
# Without Docker or Ollama installed mainstay starts degraded and keeps retrying; the remote
# node (invincible-node) is woken only when INVINCIBLE_NODE_WAKE holds the command that starts
# it, so nothing outside this machine is called by default. Ctrl-C stops it cleanly.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
./packaging/build.sh
if [ "${1:-}" = "--demo" ]; then
    shift
    exec ./packaging/demo/run-demo.sh "$@"
fi
export MAINSTAY_RUN_DIR="${MAINSTAY_RUN_DIR:-$repo/run}"
export MAINSTAY_HOOKS="${MAINSTAY_HOOKS:-$repo/services.d/hooks}"
mkdir -p "$MAINSTAY_RUN_DIR"
echo "run directory: $MAINSTAY_RUN_DIR (status: ./build/mainstay status; logs: $MAINSTAY_RUN_DIR/log/)"
exec ./build/mainstay run -c config/mainstay.yaml "$@"
