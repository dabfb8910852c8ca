#!/bin/sh
# Entry point of the LTB FRR image: start the daemons enabled in /etc/frr/daemons with /etc/frr/frr.conf, then wait.
# Forwarding sysctls are set by the runtime (Docker sysctls), because /proc/sys is read-only here.
# Only the folder: the files in it may be bind mounts of the user's own files, whose owner must not change.
chown frr:frr /etc/frr 2>/dev/null || true
touch /etc/frr/vtysh.conf
# A restarted container keeps its files, among them the pid files and vty sockets of the daemons it ran before. In the
# new pid namespace an old daemon's pid may belong to another process (kill -0 succeeds), and frrinit would then skip
# starting that daemon; a stale vty socket would pass the check below. Nothing of FRR runs yet: clear them.
find /var/run/frr -mindepth 1 -delete 2>/dev/null || true
# A lab runtime creates a node's links after its container started, and zebra drops `ip address` lines for interfaces
# that do not exist yet: wait (60 s at most) until every interface named in frr.conf exists before starting FRR.
if [ -r /etc/frr/frr.conf ]; then
  interfaces=$(sed -n 's/^interface[[:space:]]\{1,\}\([^[:space:]]\{1,\}\).*/\1/p' /etc/frr/frr.conf)
  i=0
  while [ $i -lt 120 ]; do
    ready=yes
    for ifname in $interfaces; do [ -e "/sys/class/net/$ifname" ] || ready=no; done
    [ $ready = yes ] && break
    i=$((i + 1)); sleep 0.5
  done
  # Without `router-id` in frr.conf each protocol takes zebra's router ID, the highest address zebra knows when the
  # protocol starts: in a fresh network namespace only the management address, then whichever of frr.conf's
  # addresses zebra has applied by then. A router restarted under another ID leaves its old network-LSAs behind with
  # the same link-state IDs, and its neighbours' SPF can pick the stale one and drop every route through it (seen:
  # adjacencies Full, no OSPF routes). Put frr.conf's interface addresses in the kernel first, as a router has them
  # at boot: zebra then finds them at once and picks the same ID (the highest loopback address) on every start.
  awk '/^interface[[:space:]]/ { ifname = $2; next }
       /^[^[:space:]]/ { ifname = "" }
       ifname != "" && ($1 == "ip" || $1 == "ipv6") && $2 == "address" && $3 ~ /\// { print ifname, $3 }' \
    /etc/frr/frr.conf | while read -r ifname prefix; do
    ip address add "$prefix" dev "$ifname" 2>/dev/null || true
  done
fi
/usr/lib/frr/frrinit.sh start
trap '/usr/lib/frr/frrinit.sh stop; exit 0' TERM INT
# frrinit applies frr.conf from the start hook of the daemon that finds all others started; when the daemons start at
# the same moment under load, every hook can see another one still starting and the config is never applied, and a
# daemon too busy to answer loses its part. Check (cheaply: vty sockets, then one vtysh call every few seconds) that
# the addresses and routing protocols of frr.conf are in the running config, and apply it again while they are not.
if [ -r /etc/frr/frr.conf ]; then
  enabled="zebra $(sed -n 's/^\([a-z0-9]*d\)=yes.*/\1/p' /etc/frr/daemons | grep -vx zebra)"
  i=0
  while [ $i -lt 120 ]; do
    ready=yes
    for d in $enabled; do [ -S "/var/run/frr/$d.vty" ] || ready=no; done
    [ $ready = yes ] && break
    i=$((i + 1)); sleep 0.5
  done
  # What is counted: addresses, routing protocol blocks, and the statements inside them that enable the protocol on
  # interfaces or peers (OSPF's network ... area, BGP's neighbor ... remote-as): a block applied without them runs but
  # never forms an adjacency. Only statements the running config always shows (a default one such as `neighbor X
  # activate` is not shown, and would be re-applied in vain).
  addr='^[[:space:]]*ipv?6? ?address '
  proto='^[[:space:]]+(network [^[:space:]]+ area |neighbor [^[:space:]]+ remote-as )'
  want_addr=$(grep -cE "$addr" /etc/frr/frr.conf)
  want_router=$(grep -cE '^router ' /etc/frr/frr.conf)
  want_proto=$(grep -cE "$proto" /etc/frr/frr.conf)
  tries=0
  while [ $tries -lt 10 ]; do
    sleep 2
    running=$(vtysh -c 'show running-config' 2>/dev/null)
    have_addr=$(printf '%s\n' "$running" | grep -cE "$addr")
    have_router=$(printf '%s\n' "$running" | grep -cE '^router ')
    have_proto=$(printf '%s\n' "$running" | grep -cE "$proto")
    [ "$have_addr" -ge "$want_addr" ] && [ "$have_router" -ge "$want_router" ] && [ "$have_proto" -ge "$want_proto" ] && break
    echo "start-frr: running config has $have_addr/$want_addr addresses, $have_router/$want_router router blocks, $have_proto/$want_proto network/neighbor statements: applying frr.conf again" >&2
    vtysh -b >/dev/null 2>&1 || echo "start-frr: applying /etc/frr/frr.conf failed (attempt $((tries + 1)))" >&2
    tries=$((tries + 1)); sleep 1
  done
fi
while :; do sleep 3600 & wait $!; done
