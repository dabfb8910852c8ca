#!/usr/bin/env bash
# Configures the Debian VM image's root folder (no chroot needed, nothing runs in it): fstab, cloud-init (NoCloud
# only, systemd-networkd, keys for root, a ready line on the console), systemd-networkd, and units a test guest does
# without masked (boot time under TCG).
# Usage: configure-root.sh ROOT
set -euo pipefail
root="$1"

echo debian >"$root/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# No fsck at boot: the overlay is new with every node.
echo '/dev/vda2 / ext4 defaults,noatime 0 0' >"$root/etc/fstab"
# Test image: root logs in on the serial console without a password (SSH stays key-only: sshd refuses empty ones).
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"

cat >"$root/etc/cloud/cloud.cfg.d/90-ltb.cfg" <<'CFG'
# LTB's test image: the seed is LTB's NoCloud volume (CIDATA); no cloud metadata services are probed.
datasource_list: [NoCloud, None]
# The keys of the seed (LTB's exec key, the node's) log in as root too.
disable_root: false
ssh_pwauth: false
# Only an ed25519 host key: RSA key generation takes seconds under emulation.
ssh_genkeytypes: [ed25519]
system_info:
  network:
    renderers: [networkd]
    activators: [networkd]
# What a test guest uses; the package, locale, NTP and disk resizing modules are left out (boot time).
cloud_init_modules: [seed_random, bootcmd, write-files, set_hostname, update_hostname, update_etc_hosts, users-groups, ssh]
cloud_config_modules: [set-passwords, runcmd]
cloud_final_modules: [scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, ssh-authkey-fingerprints, keys-to-console, final-message]
final_message: "ltb-debian ready: cloud-init finished in $UPTIME s"
CFG

# Units: networkd renders what cloud-init writes; nothing waits for every link to come up (data links may be down).
systemctl --root="$root" enable systemd-networkd.service >/dev/null 2>&1
systemctl --root="$root" mask systemd-networkd-wait-online.service getty@tty1.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer \
  systemd-timesyncd.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount >/dev/null 2>&1
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/ltb.conf"
# Host keys are made by cloud-init on first boot (each node its own), none ship in the image.
rm -f "$root"/etc/ssh/ssh_host_*
apt-get -o RootDir="$root" clean 2>/dev/null || rm -rf "$root"/var/cache/apt/archives/*.deb
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
