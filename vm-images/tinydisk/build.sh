#!/usr/bin/env bash
# The tiny disk VM image: the tiny VM (vm-images/tinyvm: Debian's cloud kernel and a busybox initramfs) on a bootable
# disk instead of direct kernel boot, so that LTB's disk paths (the controller's VM image library, uploads, agents'
# caches, per-node qcow2 overlays) are tested with a real guest. A FAT file system made in a file (mkfs.vfat -C) with
# syslinux installed through mtools: no loop device, no mount. The guest's kernel command line is fixed on the disk
# (syslinux.cfg): it gets no management address from LTB (that is a cloud-init seed's job).
# Usage: build.sh OUT_DIR [MIRROR]   (writes OUT_DIR/disk.qcow2)
set -euo pipefail
out="$1"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /var/tmp/ltb-vm-tinydisk.XXXXXX)"
trap 'rm -rf "$work"' EXIT

"$here/../tinyvm/build.sh" "$work/tiny"
size_kib=$(( ($(stat -c %s "$work/tiny/kernel") + $(stat -c %s "$work/tiny/initrd")) / 1024 + 8192 ))
mkfs.vfat -C "$work/disk.raw" "$size_kib" >/dev/null
syslinux --install "$work/disk.raw"
cat >"$work/syslinux.cfg" <<CFG
DEFAULT ltb
PROMPT 0
TIMEOUT 0
SERIAL 0 115200
LABEL ltb
  KERNEL kernel
  INITRD initrd
  APPEND $(cat "$work/tiny/cmdline") LTB_HOSTNAME=tinydisk
CFG
mcopy -i "$work/disk.raw" "$work/tiny/kernel" ::kernel
mcopy -i "$work/disk.raw" "$work/tiny/initrd" ::initrd
mcopy -i "$work/disk.raw" "$work/syslinux.cfg" ::syslinux.cfg
mkdir -p "$out"
qemu-img convert -O qcow2 "$work/disk.raw" "$out/disk.qcow2"
chmod 0644 "$out/disk.qcow2"
