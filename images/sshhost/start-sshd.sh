#!/bin/sh
# Entry point of the LTB sshhost image: the node's own sshd on port 22, root's password from $ROOT_PASSWORD (default
# `ltb`, the node type's default credentials), keys in /root/.ssh/authorized_keys also accepted.
ssh-keygen -A >/dev/null
echo "root:${ROOT_PASSWORD:-ltb}" | chpasswd
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
cat >/etc/ssh/sshd_config.d/ltb.conf <<'CONF'
PermitRootLogin yes
PasswordAuthentication yes
UseDNS no
CONF
trap 'kill "$pid" 2>/dev/null; exit 0' TERM INT
/usr/sbin/sshd -D -e &
pid=$!
wait "$pid"
