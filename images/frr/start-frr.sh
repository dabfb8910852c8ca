#!/bin/sh
# Entry point of the LTB FRR image: start the daemons enabled in /etc/frr/daemons, then wait.
# Forwarding sysctls are set by the runtime (Docker sysctls), because /proc/sys is read-only here.
chown -R frr:frr /etc/frr 2>/dev/null || true
touch /etc/frr/vtysh.conf
/usr/lib/frr/frrinit.sh start
trap '/usr/lib/frr/frrinit.sh stop; exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
