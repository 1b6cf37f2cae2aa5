#!/bin/sh
# The run command: build mainstay, then run it on the shipped config/ and services.d/.
# Extra arguments go to `mainstay run` (for example --log-level debug).
set -eu
cd "$(dirname "$0")/.."
./packaging/build.sh
exec ./build/mainstay run -c config/mainstay.yaml "$@"
