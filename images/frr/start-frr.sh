#!/bin/sh
# Entry point of the LTB FRR image: start the daemons enabled in /etc/frr/daemons with /etc/frr/frr.conf, then wait.
# Forwarding sysctls are set by the runtime (Docker sysctls), because /proc/sys is read-only here.
chown -R frr:frr /etc/frr 2>/dev/null || true
touch /etc/frr/vtysh.conf
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
fi
/usr/lib/frr/frrinit.sh start
trap '/usr/lib/frr/frrinit.sh stop; exit 0' TERM INT
# frrinit applies frr.conf from the start hook of the daemon that finds all others started; when the daemons start at
# the same moment under load, every hook can see another one still starting and the config is never applied. Check
# once (cheaply: vty sockets, then one vtysh call) and apply it when nothing was.
if [ -r /etc/frr/frr.conf ] && grep -qE '^(router|interface) ' /etc/frr/frr.conf; then
  enabled="zebra $(sed -n 's/^\([a-z0-9]*d\)=yes.*/\1/p' /etc/frr/daemons | grep -vx zebra)"
  i=0
  while [ $i -lt 120 ]; do
    ready=yes
    for d in $enabled; do [ -S "/var/run/frr/$d.vty" ] || ready=no; done
    [ $ready = yes ] && break
    i=$((i + 1)); sleep 0.5
  done
  sleep 2
  if ! vtysh -c 'show running-config' 2>/dev/null | grep -qE '^(router|interface) '; then
    vtysh -b >/dev/null 2>&1 || echo "start-frr: applying /etc/frr/frr.conf failed" >&2
  fi
fi
while :; do sleep 3600 & wait $!; done
