#!/usr/bin/env bash
# Deploy/destroy benchmark: a chain of N linux nodes (ltb/tiny), deployed and destroyed through `ltb` (a fresh
# `ltb serve` with its in-process agent, then `ltb lab deploy -t FILE` / `ltb lab destroy`, each timed from the
# command's start to its exit) against a naive baseline (parallel `docker run` + one `ip link` per link; parallel
# `docker rm -f`), side by side in the same run.
# Usage: bench/deploy/run.sh [-r REPEATS] [N...]   (default: 1 repeat, N = 10 50). Prints every run, the ratios
# LTB/baseline per run, and with repeats the medians.
set -euo pipefail
source "$(dirname "$0")/common.sh"
sizes=("${bench_args[@]}"); [[ ${#sizes[@]} -gt 0 ]] || sizes=(10 50)

dotnet build src/Ltb.Cli/Ltb.Cli.csproj -c Release --nologo -v q -clp:NoSummary >/dev/null
ltb_dll="$LTB_ROOT/.artifacts/bin/Ltb.Cli/release/ltb.dll"
work=$(mktemp -d /tmp/ltb-bench-deploy.XXXXXX)
real_home=$HOME
ltb() { HOME="$work/home" XDG_CONFIG_HOME="" XDG_DATA_HOME="" DOTNET_CLI_HOME="$real_home" dotnet "$ltb_dll" "$@"; }

# ---------------------------------------------------------------- LTB: a server of its own for this run
mkdir -p "$work/home"
password="Bench-$RANDOM$RANDOM-Aa1"
LTB_ADMIN_PASSWORD="$password" HOME="$work/home" XDG_CONFIG_HOME="" XDG_DATA_HOME="" DOTNET_CLI_HOME="$real_home" \
  dotnet "$ltb_dll" serve --data "$work/data" --listen http://127.0.0.1:0 >"$work/serve.log" 2>&1 &
serve_pid=$!
cleanup() { kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; [[ -n ${LTB_BENCH_KEEP:-} ]] || rm -rf "$work"; }
trap cleanup EXIT
url=""
for _ in $(seq 1 120); do
  url=$(sed -n 's/^LTB is listening on \(http[^ ]*\).*/\1/p' "$work/serve.log" | head -1)
  [[ -n $url ]] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; die "ltb serve exited"; }
  sleep 0.5
done
[[ -n $url ]] || die "ltb serve did not start (log: $work/serve.log)"
ltb login --server "$url" --user admin --password-stdin <<<"$password" >/dev/null


chain_topology() { # N FILE: node_i:eth1 -- node_i+1:eth2
  local n=$1 i
  {
    echo "name: chain$n"
    echo "topology:"
    echo "  kinds:"
    echo "    linux: {image: $image, cap-add: [NET_ADMIN]}"
    echo "  nodes:"
    for i in $(seq 1 "$n"); do echo "    node$i: {kind: linux}"; done
    echo "  links:"
    for i in $(seq 1 $((n - 1))); do echo "    - endpoints: [\"node$i:eth1\", \"node$((i + 1)):eth2\"]"; done
  } >"$2"
}

ltb_side() { # N -> prints "deploy S" and "destroy S"
  local n=$1 lab t0 t1
  lab="bench$n-$RANDOM$RANDOM"
  chain_topology "$n" "$work/chain$n.clab.yml"
  t0=$(now)
  ltb lab deploy -t "$work/chain$n.clab.yml" --name "$lab" >"$work/deploy.log" 2>&1 || { cat "$work/deploy.log" >&2; die "ltb lab deploy failed"; }
  t1=$(now); echo "deploy $(elapsed "$t0" "$t1")"
  t0=$(now)
  ltb lab destroy "$lab" >"$work/destroy.log" 2>&1 || { cat "$work/destroy.log" >&2; die "ltb lab destroy failed"; }
  t1=$(now); echo "destroy $(elapsed "$t0" "$t1")"
}

# A server runs for days: one untimed deploy/destroy first, so that LTB's figures are not its first start's (JIT,
# database model, engine connection). The command line itself starts cold every time, as it does for its users.
ltb_side 2 >/dev/null

median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Docker $(docker version -f '{{.Server.Version}}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-4s %-10s %10s %10s\n' N run side deploy_s destroy_s
for n in "${sizes[@]}"; do
  rd=(); rx=()
  for r in $(seq 1 "$repeats"); do
    # baseline first, then LTB (same machine, same minute)
    out=$(baseline "$n"); bd=$(awk '/deploy/ {print $2}' <<<"$out"); bx=$(awk '/destroy/ {print $2}' <<<"$out")
    out=$(ltb_side "$n"); ld=$(awk '/deploy/ {print $2}' <<<"$out"); lx=$(awk '/destroy/ {print $2}' <<<"$out")
    printf '%-6s %-4s %-10s %10s %10s\n' "$n" "$r" baseline "$bd" "$bx"
    printf '%-6s %-4s %-10s %10s %10s\n' "$n" "$r" ltb "$ld" "$lx"
    rd+=("$(awk -v a="$ld" -v b="$bd" 'BEGIN { printf "%.3f", a / b }')")
    rx+=("$(awk -v a="$lx" -v b="$bx" 'BEGIN { printf "%.3f", a / b }')")
    printf '%-6s %-4s %-10s %10s %10s   (target: deploy <= 0.80, destroy <= 1.00)\n' "$n" "$r" ratio "${rd[-1]}" "${rx[-1]}"
  done
  if ((repeats > 1)); then
    printf '%-6s %-4s %-10s %10s %10s\n' "$n" all "median" "$(printf '%s\n' "${rd[@]}" | median)" "$(printf '%s\n' "${rx[@]}" | median)"
  fi
done
