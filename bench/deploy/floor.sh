#!/usr/bin/env bash
# Where LTB's deploy time goes, against what the engine alone costs: for N containers (default 50), the naive baseline
# (baseline.sh) and then the Docker engine with nothing of LTB around it (Ltb.Bench.Runtime floor: create all, start
# all, remove all through the API) on the default bridge, with no network, and on a user-defined network (what LTB's
# per-lab management network is), unbounded and with LTB's default parallelism (the number of cores).
# Usage: bench/deploy/floor.sh [-r REPEATS] [N]
set -euo pipefail
source "$(dirname "$0")/common.sh"
n=${bench_args[0]:-50}
dotnet build bench/Ltb.Bench.Runtime -c Release --nologo -v q -clp:NoSummary >/dev/null
harness="$LTB_ROOT/.artifacts/bin/Ltb.Bench.Runtime/release/Ltb.Bench.Runtime"

echo "machine: $(nproc) cores, Docker $(docker version -f '{{.Server.Version}}'), load average $(cut -d' ' -f1-3 /proc/loadavg); N = $n"
printf '%-4s %-42s %9s %9s %9s\n' run what create+start_s of_which_start remove_s
for r in $(seq 1 "$repeats"); do
  out=$(baseline "$n")
  printf '%-4s %-42s %9s %9s %9s\n' "$r" "baseline (docker run + ip link)" "$(awk '/deploy/ {print $2}' <<<"$out")" - "$(awk '/destroy/ {print $2}' <<<"$out")"
  for variant in "bridge unbounded" "none unbounded" "user unbounded" "user $(nproc)"; do
    set -- $variant
    par=$2; [[ $par == unbounded ]] && par=1000000
    out=$("$harness" floor "$n" "$1" "$par" "$image")
    c=$(awk '/create/ {print $2}' <<<"$out"); s=$(awk '/start/ {print $2}' <<<"$out"); x=$(awk '/remove/ {print $2}' <<<"$out")
    printf '%-4s %-42s %9s %9s %9s\n' "$r" "engine only: $1 network, par $2" "$(awk -v a="$c" -v b="$s" 'BEGIN { printf "%.2f", a + b }')" "$s" "$x"
  done
done
