#!/usr/bin/env bash
# Linux host with network tools. Fills the root filesystem folder $1.
set -euo pipefail
root="$1"
mirror="$2"
debootstrap --variant=minbase \
  --include=iproute2,iputils-ping,tcpdump,iperf3,curl,procps,ethtool,traceroute,netcat-openbsd,tini \
  bookworm "$root" "$mirror"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*
