#!/bin/sh
# `mainstay export k8s` checked by a Kubernetes schema validator (the npm package
# kubernetes-models): the manifests of the shipped configuration, of the demo's, of the
# complete fixture and of tests/k8s/split, in the one-pod form and with --split; each twice, to
# see that the same configuration gives the same bytes. Installs the validator into WORK
# itself; exits 77 (skipped) with a message when npm or the registry is not there.
#   export_check.sh MAINSTAY SOURCE_DIR WORK
set -eu
mainstay=$1 src=$2 work=$3
mkdir -p "$work"
if ! command -v npm >/dev/null 2>&1; then
    echo "export_check: npm is not installed: skipped"; exit 77
fi
if [ ! -d "$work/node_modules/kubernetes-models" ] || [ ! -d "$work/node_modules/yaml" ]; then
    if ! (cd "$work" && npm install --no-audit --no-fund --silent kubernetes-models@4 yaml@2 >npm.log 2>&1); then
        echo "export_check: npm install kubernetes-models yaml failed (no registry?): skipped"
        tail -n 5 "$work/npm.log"
        exit 77
    fi
fi
cp "$src/tests/k8s/validate.mjs" "$work/validate.mjs"
export MAINSTAY_RUN_DIR=/run/mainstay MAINSTAY_STANDIN=/usr/local/bin/test-service MAINSTAY_HOOKS=/etc/mainstay/hooks
n=0
for config in "$src/config/mainstay.yaml" "$src/packaging/demo/mainstay.yaml" \
              "$src/tests/fixtures/good/complete/mainstay.yaml" "$src/tests/k8s/split/mainstay.yaml"; do
    for mode in "" --split; do
        n=$((n + 1))
        out="$work/manifest-$n.yaml"
        "$mainstay" export k8s -c "$config" $mode --image registry.example/mainstay:1 >"$out"
        "$mainstay" export k8s -c "$config" $mode --image registry.example/mainstay:1 | cmp -s - "$out" ||
            { echo "export_check: $config $mode: two runs gave different bytes"; exit 1; }
        echo "== $config ${mode:-(one pod)}"
        grep '^# ' "$out" | head -n 20 || true
    done
done
cd "$work" && node validate.mjs manifest-*.yaml
