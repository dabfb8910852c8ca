#!/usr/bin/env bash
# Tiny Linux host: busybox-static only. Fills the root filesystem folder $1.
set -euo pipefail
root="$1"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,var/run,usr/bin,usr/sbin}
cp /bin/busybox "$root/bin/busybox"
chroot "$root" /bin/busybox --install -s
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
