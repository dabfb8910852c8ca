# The naive baseline of the deploy benchmark (sourced by run.sh and floor.sh): N parallel `docker run -d` on the
# default bridge, one `docker inspect` per node for its pid, one `ip link add ... netns A ... peer ... netns B` plus two
# `nsenter ... ip link set up` per link; destroy: N parallel `docker rm -f`. Needs $image.

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

