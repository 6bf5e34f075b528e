#!/usr/bin/env bash
# make demo: hacfg's main job, end to end.
#
#   1. migrate two keepalived.conf files into one cluster config
#   2. validate (and see what a mistake looks like), format
#   3. plan and apply against a live kernel (a network namespace)
#   4. run the agent on two load balancers, fail the master over, and watch
#      a client follow the virtual IP
#
# Steps 3 and 4 need root (network namespaces); without it they are skipped.
set -euo pipefail
HACFG=$(realpath "${1:-bin/hacfg}")
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$@"; "$@"; }
say() { printf '\n== %s ==\n' "$*"; }

say "1. Migrate: two keepalived.conf files, one per node, become one cluster config"
run cat importer/testdata/web.cluster/lb1.conf
run "$HACFG" import importer/testdata/web.cluster/lb1.conf importer/testdata/web.cluster/lb2.conf --node lb1 --node lb2 --format hcl

say "2. Validate: one cluster file for every node, in HCL or YAML"
run "$HACFG" validate -c examples/web-tcp.hcl --node lb1
run "$HACFG" validate -c examples/web-tcp.yaml --node lb2
for f in examples/lvs-dr-http.hcl examples/ipv6-vrrp3.hcl examples/unicast.hcl examples/sync-group.hcl; do
  node=$(grep -m1 -o '^node "[^"]*"' "$f" | cut -d'"' -f2)
  run "$HACFG" validate -c "$f" --node "$node"
done
echo
echo "Mistakes are reported all at once, each at file:line:col with a caret:"
step "$HACFG" validate -c schema/testdata/diag/broken.hcl
if "$HACFG" validate -c schema/testdata/diag/broken.hcl; then
  echo "demo: a broken config validated" >&2; exit 1
fi
run "$HACFG" fmt --check examples
echo "(all examples are canonically formatted)"
run "$HACFG" export --format keepalived -c examples/web-tcp.hcl --node lb1

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  say "3-4. Skipped: the live lab needs root and iproute2 (run 'sudo make demo')"
  exit 0
fi

# The lab: a bridge, two load balancers and a client, each in its own
# network namespace, on 192.0.2.0/24.
P=hdemo$$
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for n in br lb1 lb2 client; do ip netns del "$P-$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$P-br"
ip -n "$P-br" link add br0 type bridge
ip -n "$P-br" link set br0 up
i=0
for n in lb1 lb2 client; do
  i=$((i + 1))
  ip netns add "$P-$n"
  ip -n "$P-$n" link set lo up
  ip link add "$P-$i" netns "$P-br" type veth peer name eth0 netns "$P-$n"
  ip -n "$P-br" link set "$P-$i" master br0 up
  ip -n "$P-$n" link set eth0 up
done
ip -n "$P-lb1" addr add 192.0.2.1/24 dev eth0
ip -n "$P-lb2" addr add 192.0.2.2/24 dev eth0
ip -n "$P-client" addr add 192.0.2.50/24 dev eth0
mac() { ip -n "$P-$1" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
echo "lab: lb1 192.0.2.1 ($(mac lb1)), lb2 192.0.2.2 ($(mac lb2)), client 192.0.2.50"

say "3. Plan and apply against the live kernel of lb1 (offline: the configured initial state is assumed)"
run "$HACFG" plan -c examples/demo-lab.hcl --node lb1 --netns "/run/netns/$P-lb1" --state-dir "$WORK/plan"
run "$HACFG" apply -c examples/demo-lab.hcl --node lb1 --netns "/run/netns/$P-lb1" --state-dir "$WORK/plan" --auto-approve
run ip -n "$P-lb1" -brief addr show dev eth0
run "$HACFG" plan -c examples/demo-lab.hcl --node lb1 --netns "/run/netns/$P-lb1" --state-dir "$WORK/plan" --detailed-exitcode
run "$HACFG" apply -c examples/demo-lab.hcl --node lb1 --netns "/run/netns/$P-lb1" --state-dir "$WORK/plan" --auto-approve --assume-state VI_DEMO=BACKUP

say "4. Run the agent on both load balancers"
start() {
  "$HACFG" run -c examples/demo-lab.hcl --node "$1" --netns "/run/netns/$P-$1" \
    --state-dir "$WORK/$1" --status-socket "$WORK/$1.sock" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$1=$!"
}
start lb1
start lb2
sleep 1.5
run "$HACFG" status --status-socket "$WORK/lb1.sock"
run "$HACFG" status --status-socket "$WORK/lb2.sock"
step ip netns exec "$P-client" ping -c1 -W1 192.0.2.100
ip netns exec "$P-client" ping -c1 -W1 192.0.2.100 >/dev/null && echo "the client reaches the VIP"
run ip -n "$P-client" neigh show 192.0.2.100
[ "$(ip -n "$P-client" neigh show 192.0.2.100 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2)" = "$(mac lb1)" ] || { echo "demo: the VIP is not at lb1" >&2; exit 1; }

echo
echo "Stopping lb1 cleanly (SIGTERM): it sends a priority-0 advert and lb2 takes over within skew time."
kill -TERM "$PID_lb1"
sleep 1
run "$HACFG" status --status-socket "$WORK/lb2.sock"
run ip -n "$P-client" neigh show 192.0.2.100
[ "$(ip -n "$P-client" neigh show 192.0.2.100 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2)" = "$(mac lb2)" ] || { echo "demo: the client did not follow the VIP to lb2" >&2; exit 1; }
echo "the client's neighbour entry moved to lb2 ($(mac lb2)) after lb2's gratuitous ARP"
run ip -n "$P-lb1" -brief addr show dev eth0

echo
echo "lb1 comes back with its higher priority and preempts:"
start lb1
sleep 1.5
run "$HACFG" status --status-socket "$WORK/lb1.sock"
grep -h 'vrrp transition' "$WORK/lb1.log" "$WORK/lb2.log" | sed 's/^/  /'
echo
echo "demo: done"
