#!/usr/bin/env bash
# The tiny VM image (direct kernel boot): Debian's cloud kernel and a busybox initramfs whose init configures the
# interfaces from the kernel command line and offers a shell on the serial console. Offline but for Debian's archive.
# Usage: build.sh OUT_DIR   (writes OUT_DIR/kernel, OUT_DIR/initrd, OUT_DIR/cmdline)
set -euo pipefail
out="$1"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /var/tmp/ltb-vm-tinyvm.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The kernel package the metapackage points at (the newest cloud kernel of this Debian release).
pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n $pkg ]] || { echo "no linux-image-cloud-amd64 in the apt sources" >&2; exit 1; }
(cd "$work" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "apt-get download $pkg failed" >&2; exit 1; }
dpkg -x "$work"/linux-image-*.deb "$work/kernel"
version=$(ls "$work/kernel/lib/modules")

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,etc,tmp,root,lib/modules}
cp /bin/busybox "$root/bin/busybox"
# The modules the guest needs, in load order: virtio PCI, network cards and disks (a disk guest sees its disk as
# /dev/vda), and the ACPI power button (graceful stop).
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net virtio_blk button evdev; do
  find "$work/kernel/lib/modules/$version" -name "$m.ko" -exec cp {} "$root/lib/modules/" \;
  [[ -f $root/lib/modules/$m.ko ]] || { echo "module $m missing from $pkg" >&2; exit 1; }
done
install -m 0755 "$here/init" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/initrd"

mkdir -p "$out"
install -m 0644 "$work/kernel/boot/vmlinuz-$version" "$out/kernel"
install -m 0644 "$work/initrd" "$out/initrd"
# The kernel's own arguments; LTB adds the node's (LTB_* and the node's env) after them.
echo "console=ttyS0 panic=-1" >"$out/cmdline"
echo "$pkg" >"$out/kernel-package"
