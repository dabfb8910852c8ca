#!/bin/sh
# Entry point of the LTB FRR image: start the daemons enabled in /etc/frr/daemons, load the config, then wait.
# Forwarding sysctls are set by the runtime (Docker sysctls), because /proc/sys is read-only here.
chown -R frr:frr /etc/frr 2>/dev/null || true
touch /etc/frr/vtysh.conf
/usr/lib/frr/frrinit.sh start
trap '/usr/lib/frr/frrinit.sh stop; exit 0' TERM INT
# frrinit applies frr.conf from the start hook of the last daemon watchfrr brings up ("all have started"); when the
# daemons start at the same moment under load, every hook can see another daemon still starting and the config is
# never applied. And zebra drops `ip address` lines for interfaces that do not exist yet, while a lab runtime creates
# the links only after the container started. So: wait (cheaply: no vtysh polling, which loads the daemons enough for
# watchfrr to restart them) until every enabled daemon listens on its vty socket and every interface named in frr.conf
# exists (60 s at most), then apply frr.conf once more (applying it twice is harmless).
if [ -r /etc/frr/frr.conf ]; then
  enabled="zebra $(sed -n 's/^\([a-z0-9]*d\)=yes.*/\1/p' /etc/frr/daemons | grep -vx zebra)"
  interfaces=$(sed -n 's/^interface[[:space:]]\{1,\}\([^[:space:]]\{1,\}\).*/\1/p' /etc/frr/frr.conf)
  i=0
  while [ $i -lt 120 ]; do
    ready=yes
    for d in $enabled; do [ -S "/var/run/frr/$d.vty" ] || ready=no; done
    for ifname in $interfaces; do [ -e "/sys/class/net/$ifname" ] || ready=no; done
    [ $ready = yes ] && break
    i=$((i + 1)); sleep 0.5
  done
  sleep 1
  vtysh -b >/dev/null 2>&1 || echo "start-frr: applying /etc/frr/frr.conf failed" >&2
fi
while :; do sleep 3600 & wait $!; done
