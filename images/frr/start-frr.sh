#!/bin/sh
# Entry point of the LTB FRR image: start the daemons enabled in /etc/frr/daemons, load the config, then wait.
# Forwarding sysctls are set by the runtime (Docker sysctls), because /proc/sys is read-only here.
chown -R frr:frr /etc/frr 2>/dev/null || true
touch /etc/frr/vtysh.conf
/usr/lib/frr/frrinit.sh start
trap '/usr/lib/frr/frrinit.sh stop; exit 0' TERM INT
# frrinit applies frr.conf from the start hook of the last daemon watchfrr brings up ("all have started"); when the
# daemons start at the same moment under load, every hook can see another daemon still starting and the config is
# never applied. So: wait until watchfrr reports every daemon up, then apply frr.conf (applying it twice is harmless).
if [ -r /etc/frr/frr.conf ]; then
  i=0
  while [ $i -lt 120 ]; do
    status=$(vtysh -c 'show watchfrr' 2>/dev/null) && echo "$status" | grep -q ' Up' \
      && ! echo "$status" | grep -qE ' (Down|Starting|Restarting|Unknown|Stopping)' && break
    i=$((i + 1)); sleep 0.5
  done
  vtysh -b >/dev/null 2>&1 || echo "start-frr: applying /etc/frr/frr.conf failed" >&2
fi
while :; do sleep 3600 & wait $!; done
