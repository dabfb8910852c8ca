#!/usr/bin/env bash
# The Debian VM image: a real Debian (bookworm) with systemd, cloud-init and OpenSSH, on a bootable disk, for LTB's
# tests of cloud-init configured VM nodes. Offline but for Debian's archive, and without loop devices or mounts:
#   - debootstrap (minbase) into a folder; units a test guest does not need are masked (boot time under TCG);
#   - Debian's cloud kernel (apt-get download, dpkg -x) with its modules in the root, and a busybox initramfs
#     (init-initramfs) that loads the virtio disk driver and switches to the root (the kernel has ext4 built in);
#   - the disk: an MBR (syslinux's) with a FAT boot partition (syslinux, kernel, initrd; mkfs.vfat -C, mtools) and
#     an ext4 root partition made from the folder (mkfs.ext4 -d), joined with dd, converted to qcow2.
# Test image only: root has no password (a login on the serial console is "root"); SSH takes keys only. cloud-init
# reads only a NoCloud seed (LTB's CIDATA volume) and renders the network with systemd-networkd.
# Usage: build.sh OUT_DIR [MIRROR]   (writes OUT_DIR/disk.qcow2)
set -euo pipefail
out="$1"
mirror="${2:-http://deb.debian.org/debian}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /var/tmp/ltb-vm-debian.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/root"

# python3-cffi-backend by name: debootstrap does not resolve the virtual packages python3-cryptography needs. kmod:
# the kernel loads modules (vfat for the seed) through modprobe.
# The downloaded packages are kept between builds (a rebuild after a recipe change fetches nothing again).
cache=/var/cache/ltb/debootstrap
mkdir -p "$cache"
debootstrap --variant=minbase --cache-dir="$cache" \
  --include=systemd-sysv,udev,kmod,dbus,cloud-init,python3-cffi-backend,openssh-server,iproute2,iputils-ping,sudo,procps,less \
  bookworm "$root" "$mirror"

# The kernel the tiny VM uses too: the newest cloud kernel of this Debian release, its modules in the root.
pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n $pkg ]] || { echo "no linux-image-cloud-amd64 in the apt sources" >&2; exit 1; }
(cd "$work" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "apt-get download $pkg failed" >&2; exit 1; }
dpkg -x "$work"/linux-image-*.deb "$work/kernel"
version=$(ls "$work/kernel/lib/modules")
mkdir -p "$root/lib/modules"
cp -a "$work/kernel/lib/modules/$version" "$root/lib/modules/"
depmod -b "$root" "$version"

"$here/configure-root.sh" "$root"

# The initramfs: busybox, the virtio disk modules, and an init that mounts the root and switches to it.
initramfs="$work/initramfs"
mkdir -p "$initramfs"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$initramfs/bin/busybox"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  find "$work/kernel/lib/modules/$version" -name "$m.ko" -exec cp {} "$initramfs/lib/modules/" \;
  [[ -f $initramfs/lib/modules/$m.ko ]] || { echo "module $m missing from $pkg" >&2; exit 1; }
done
install -m 0755 "$here/init-initramfs" "$initramfs/init"
(cd "$initramfs" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/initrd"

# The boot partition (FAT, 1 MiB into the disk) and the root partition (ext4, after it).
boot_mib=32
root_mib=$(( $(du -sm "$root" | cut -f1) * 12 / 10 + 256 ))
mkfs.vfat -n LTBBOOT -C "$work/boot.fat" $(( boot_mib * 1024 )) >/dev/null
cat >"$work/syslinux.cfg" <<CFG
DEFAULT debian
PROMPT 0
TIMEOUT 0
SERIAL 0 115200
LABEL debian
  KERNEL vmlinuz
  INITRD initrd
  APPEND console=ttyS0,115200 root=/dev/vda2 rw net.ifnames=0 quiet systemd.show_status=1 panic=-1
CFG
mcopy -i "$work/boot.fat" "$work/kernel/boot/vmlinuz-$version" ::vmlinuz
mcopy -i "$work/boot.fat" "$work/initrd" ::initrd
mcopy -i "$work/boot.fat" "$work/syslinux.cfg" ::syslinux.cfg
mkfs.ext4 -q -L root -d "$root" "$work/root.ext4" "${root_mib}M"

disk="$work/disk.raw"
truncate -s $(( (1 + boot_mib + root_mib) * 1024 * 1024 )) "$disk"
sfdisk -q "$disk" <<PARTS
label: dos
start=1MiB, size=${boot_mib}MiB, type=6, bootable
start=$(( 1 + boot_mib ))MiB, type=83
PARTS
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.fat" of="$disk" bs=1M seek=1 conv=notrunc status=none
dd if="$work/root.ext4" of="$disk" bs=1M seek=$(( 1 + boot_mib )) conv=notrunc status=none
# syslinux into the boot partition where it lies on the disk (its boot sector records that offset).
syslinux --offset $(( 1024 * 1024 )) --install "$disk"

mkdir -p "$out"
qemu-img convert -c -O qcow2 "$disk" "$out/disk.qcow2"
chmod 0644 "$out/disk.qcow2"
echo "$pkg" >"$out/kernel-package"
