#!/usr/bin/env bash
# Deploy/destroy benchmark: a chain of N linux nodes (ltb/tiny), LTB's LabRuntime against a naive baseline
# (parallel `docker run` + one `ip link` per link; parallel `docker rm -f`), side by side in the same run.
# Usage: bench/deploy/run.sh [N...]   (default: 10 50). Prints a table and the ratios LTB/baseline.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
need_root
cd "$LTB_ROOT"
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-$(docker_api_version)}"
image=ltb/tiny:latest
sizes=("$@"); [[ ${#sizes[@]} -gt 0 ]] || sizes=(10 50)

dotnet build bench/Ltb.Bench.Runtime -c Release --nologo -v q -clp:NoSummary >/dev/null
harness="$LTB_ROOT/.artifacts/bin/Ltb.Bench.Runtime/release/Ltb.Bench.Runtime"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

baseline() { # N -> prints "deploy S" and "destroy S"
  local n=$1 prefix i t0 t1 pids=()
  prefix="blbench-$RANDOM$RANDOM"
  t0=$(now)
  for i in $(seq 1 "$n"); do
    docker run -d --name "$prefix-$i" --cap-add NET_ADMIN "$image" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  local -a pid
  for i in $(seq 1 "$n"); do pid[$i]=$(docker inspect -f '{{.State.Pid}}' "$prefix-$i"); done
  for i in $(seq 1 $((n - 1))); do
    ip link add eth1 netns "${pid[$i]}" mtu 9500 type veth peer name eth2 netns "${pid[$((i + 1))]}" mtu 9500
    nsenter --net=/proc/${pid[$i]}/ns/net ip link set eth1 up
    nsenter --net=/proc/${pid[$((i + 1))]}/ns/net ip link set eth2 up
  done
  t1=$(now); echo "deploy $(elapsed "$t0" "$t1")"
  t0=$(now); pids=()
  for i in $(seq 1 "$n"); do docker rm -f "$prefix-$i" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(now); echo "destroy $(elapsed "$t0" "$t1")"
}

printf '%-6s %-10s %10s %10s\n' N side deploy_s destroy_s
for n in "${sizes[@]}"; do
  # run each side once, baseline first, then LTB (same machine, same minute)
  out=$(baseline "$n"); bd=$(awk '/deploy/ {print $2}' <<<"$out"); bx=$(awk '/destroy/ {print $2}' <<<"$out")
  out=$("$harness" "$n" "$image"); ld=$(awk '/deploy/ {print $2}' <<<"$out"); lx=$(awk '/destroy/ {print $2}' <<<"$out")
  printf '%-6s %-10s %10s %10s\n' "$n" baseline "$bd" "$bx"
  printf '%-6s %-10s %10s %10s\n' "$n" ltb "$ld" "$lx"
  awk -v n="$n" -v bd="$bd" -v bx="$bx" -v ld="$ld" -v lx="$lx" \
    'BEGIN { printf "%-6s %-10s %10.2f %10.2f   (target: deploy <= 0.80, destroy <= 1.00)\n", n, "ratio", ld / bd, lx / bx }'
done
