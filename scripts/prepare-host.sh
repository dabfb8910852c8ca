#!/usr/bin/env bash
# Prepares this machine as an LTB lab host: installs what is missing (apt) and starts the services.
# Usage: scripts/prepare-host.sh [run|test]   (test also installs what only the test suite needs)
# Idempotent: a second run installs nothing and leaves running services alone.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root
profile="${1:-run}"

# What the features need, as they arrive. Keep docs/architecture.md ("Host preparation") in step.
packages=(
  curl ca-certificates      # talking to the Docker socket from scripts
  docker.io                 # container nodes
  iproute2                  # links: veth, bridges, namespaces, tc (link backends, rate limits)
  util-linux                # nsenter: processes in a namespace (simulated remote hosts in tests)
  iptables                  # lets bridged link traffic through where Docker filters bridges (br_netfilter)
  openvswitch-switch        # the OVS link backend (userspace datapath: started by hand, see start_ovs)
  tcpdump                   # capture in node namespaces
  debootstrap busybox-static # local node images without a registry
  gcc libc6-dev             # the FRR image's capability wrapper and the containment tests' static helper
  openssh-server            # the SSH gateway (`ltb serve` runs sshd -i per connection; the host's sshd is not used)
  qemu-system-x86 qemu-utils # VM nodes (the VM driver runs qemu-system-x86_64; qemu-img makes their overlays)
  cpio                      # the test VM images' initramfs (scripts/build-vm-images.sh)
  fdisk                     # sfdisk: the Debian test VM image's partition table (vm-images/debian; no loop device)
  openssh-client            # ssh-keygen: the key a VM node's exec logs in with (Nodes/Vm/VmGuestExec)
  syslinux syslinux-common mtools dosfstools # cloud-init seeds of VM nodes (FAT volumes made in a file) and the tiny disk VM image
)
if [[ $profile == test ]]; then
  packages+=(tshark)        # decoding captures in tests
  packages+=(postgresql)    # the server's repository/API tests run against PostgreSQL too
  packages+=(iputils-ping)  # reachability between simulated lab hosts (tests)
  packages+=(ansible)       # ansible-inventory reads the inventory of `ltb lab access --ansible` (tests)
  packages+=(openssh-client) # the SSH gateway tests drive the real ssh, scp and sftp
  packages+=(docker-compose openssl) # the deployment tests: deploy/compose.yaml (Debian's 1.29) with a private CA's certificates
  packages+=(systemd)       # systemd-analyze verify of deploy/systemd's units (systemd need not be PID 1)
  packages+=(chromium)      # the web UI's browser tests (Playwright drives Debian's chromium headless)
fi

apt_install "${packages[@]}"
# The web UI's browser bundle is built from npm packages (src/Ltb.Web/client) by the .NET build.
command -v npm >/dev/null || apt_install nodejs npm
start_dockerd
start_ovs
if [[ $profile == test ]]; then
  start_postgres
  install_openapi_linter
  # The generator the API tests build a client with (NSwag), pinned in .config/dotnet-tools.json.
  (cd "$LTB_ROOT" && dotnet tool restore >/dev/null) || die "dotnet tool restore failed"
fi
log "host ready: docker engine API $DOCKER_API_VERSION"
