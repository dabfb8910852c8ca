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
# FRR's daemons run without SYS_ADMIN (capshim.c says why): the wrapper is preloaded into every process of the image.
mkdir -p "$root/usr/local/lib"
gcc -shared -fPIC -O2 -Wall -Werror -o "$root/usr/local/lib/ltb-capshim.so" "$(dirname "$0")/capshim.c"
echo /usr/local/lib/ltb-capshim.so >"$root/etc/ld.so.preload"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*
