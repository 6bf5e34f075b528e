#!/usr/bin/env bash
# make demo: hacfg's main job, end to end, on the shipped examples.
# Each step prints the command it runs, then what hacfg says.
set -euo pipefail
HACFG=${1:-bin/hacfg}
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$@"; "$@"; }

echo "== 1. One cluster file for every node, in HCL or YAML =="
run "$HACFG" validate -c examples/web-tcp.hcl --node lb1
run "$HACFG" validate -c examples/web-tcp.yaml --node lb2
for f in examples/lvs-dr-http.hcl examples/ipv6-vrrp3.hcl examples/unicast.hcl examples/sync-group.hcl; do
  node=$(grep -m1 -o '^node "[^"]*"' "$f" | cut -d'"' -f2)
  run "$HACFG" validate -c "$f" --node "$node"
done

echo
echo "== 2. Mistakes are reported all at once, each at file:line:col with a caret =="
step "$HACFG" validate -c schema/testdata/diag/broken.hcl
if "$HACFG" validate -c schema/testdata/diag/broken.hcl; then
  echo "demo: a broken config validated" >&2; exit 1
fi

echo
echo "== 3. Canonical formatting =="
run "$HACFG" fmt --check examples
echo "(all examples are formatted)"

echo
echo "== 4. A JSON Schema for editors of the YAML form =="
step "$HACFG" schema "| head -c 400"
js=$("$HACFG" schema)
printf '%s …\n(%d bytes)\n' "${js:0:400}" "${#js}"

if [ -d importer ] && "$HACFG" help import >/dev/null 2>&1; then
  echo
  echo "== 5. Migrating from keepalived =="
  run "$HACFG" import importer/testdata/seed-lvs-devel.conf --format hcl
fi
echo
echo "demo: done"
