#!/usr/bin/env bash
# Linux host with its own OpenSSH server (and sftp-server): the target of jump-host (ssh -J), scp and sftp tests and of
# SSH consoles. Fills the root filesystem folder $1.
set -euo pipefail
root="$1"
mirror="$2"
debootstrap --variant=minbase \
  --include=openssh-server,openssh-sftp-server,iproute2,iputils-ping,procps,tini \
  bookworm "$root" "$mirror"
install -m 0755 "$(dirname "$0")/start-sshd.sh" "$root/usr/local/sbin/start-sshd"
# Host keys are made when a node starts, so that two nodes never share one.
rm -f "$root"/etc/ssh/ssh_host_*
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*
