#!/usr/bin/env bash
# FRR router: Debian bookworm minbase with FRR and network tools. Fills the root filesystem folder $1.
set -euo pipefail
root="$1"
mirror="$2"
debootstrap --variant=minbase \
  --include=frr,frr-pythontools,iproute2,iputils-ping,tcpdump,procps,tini \
  bookworm "$root" "$mirror"
# All daemons start according to /etc/frr/daemons (bound by the lab, or the package default).
install -m 0755 "$(dirname "$0")/start-frr.sh" "$root/usr/local/sbin/start-frr"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*
