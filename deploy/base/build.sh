#!/usr/bin/env bash
# The offline stand-in for a Debian base image (what debian:bookworm-slim is on a registry): debootstrap's minimal
# system with apt pointing at the given mirror. Fills the root filesystem folder $1 from mirror $2.
set -euo pipefail
root="$1"
mirror="$2"
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror"
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" >"$root/etc/apt/sources.list"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*
