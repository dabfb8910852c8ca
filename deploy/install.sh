#!/usr/bin/env bash
# Installs LTB as native services on a bare host (docs/operations.md, "Native services"):
#   /opt/ltb                      the self-contained ltb folder (the previous one kept as /opt/ltb.previous)
#   /usr/local/bin/ltb            a link to it
#   /etc/systemd/system/ltb-server.service, ltb-agent.service
#   /etc/ltb/server.env, agent.env  settings (mode 0600; written once, never overwritten by an upgrade)
#   /var/lib/ltb (user ltb-server), /var/lib/ltb-agent (root)   data folders
#   the system user ltb-server    the control plane's service user
# Usage: deploy/install.sh [--from PUBLISHED_DIR] [--root DIR]
#   --from   a folder made by scripts/publish.sh (default: publish this checkout now)
#   --root   install under DIR instead of / (a staging tree or a test; the service user is then not created)
# Run it again to upgrade: the new ltb replaces the old one, settings and data stay (migrations run at the next start).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
need_root
from="" root=/
while [[ $# -gt 0 ]]; do
  case "$1" in
    --from) from="${2:?--from needs a folder}"; shift 2 ;;
    --root) root="${2:?--root needs a folder}"; shift 2 ;;
    *) die "unknown argument '$1' (use --from DIR, --root DIR)" ;;
  esac
done
root="${root%/}"
if [[ -z $from ]]; then
  from="$LTB_ROOT/.artifacts/publish/ltb-linux-x64"
  "$LTB_ROOT/scripts/publish.sh" "$from" >/dev/null
fi
[[ -x $from/ltb ]] || die "$from holds no ltb program: give a folder made by scripts/publish.sh"
version=$("$from/ltb" --version) || die "$from/ltb does not run on this machine"

# The service user (only on the real root: useradd would edit the running system's accounts).
if [[ -z $root ]]; then
  if ! id ltb-server >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/ltb --no-create-home --shell /usr/sbin/nologin ltb-server
    log "created the system user ltb-server"
  fi
  owner=ltb-server
else
  log "installing under $root: the user ltb-server is not created there (it is on a real install)"
  owner=root
fi

install -d -m 0755 "$root/opt" "$root/etc/ltb" "$root/etc/systemd/system" "$root/usr/local/bin"
install -d -m 0700 -o "$owner" -g "$owner" "$root/var/lib/ltb"
install -d -m 0700 "$root/var/lib/ltb-agent"

# The program: copied beside the old one, then swapped in, so a running service never sees a half-copied folder.
rm -rf "$root/opt/ltb.new"
cp -a "$from" "$root/opt/ltb.new"
install -D -m 0644 "$LTB_ROOT/docs/operations.md" "$root/opt/ltb.new/docs/operations.md"
if [[ -d $root/opt/ltb ]]; then
  rm -rf "$root/opt/ltb.previous"
  mv "$root/opt/ltb" "$root/opt/ltb.previous"
fi
mv "$root/opt/ltb.new" "$root/opt/ltb"
ln -sfn /opt/ltb/ltb "$root/usr/local/bin/ltb"

install -m 0644 "$LTB_ROOT/deploy/systemd/ltb-server.service" "$LTB_ROOT/deploy/systemd/ltb-agent.service" "$root/etc/systemd/system/"

# Settings, written once: an upgrade keeps what the admin set.
write_once() { # FILE TEXT
  if [[ -e $1 ]]; then
    log "kept $1"
  else
    (umask 077; printf '%s\n' "$2" >"$1")
    log "wrote $1 (edit it before starting the service)"
  fi
}
write_once "$root/etc/ltb/server.env" "# ltb serve's settings (docs/operations.md, \"Configure\"). Mode 0600: it holds secrets.
LTB_LISTEN=http://127.0.0.1:8480
LTB_DATABASE=sqlite
#LTB_DATABASE=postgres
#LTB_CONNECTION_STRING=Host=localhost;Database=ltb;Username=ltb;Password=CHANGE-ME
# The first admin's password (first start only; empty: generated and kept in /var/lib/ltb/initial-admin-password).
#LTB_ADMIN_PASSWORD=
# The CA that signed the agents' certificates (TLS between controller and agents).
#LTB_AGENT_CA=/etc/ltb/ca.crt
# The reverse proxy in front (address or CIDR, comma-separated).
#LTB_TRUSTED_PROXIES=127.0.0.1
#LTB_OIDC_AUTHORITY=https://sso.example.org/realms/lab
#LTB_OIDC_CLIENT_ID=ltb
#LTB_OIDC_CLIENT_SECRET=
#LTB_POLICY=/etc/ltb/policy.yaml
# The SSH gateway runs sshd and needs root: off under the unprivileged service user.
LTB_SSH_PORT=off"
write_once "$root/etc/ltb/agent.env" "# ltb agent's settings (docs/operations.md, \"Remote lab hosts\"). Mode 0600: it holds the host token.
LTB_CONTROLLER=https://ltb.example.org
LTB_HOST_TOKEN=
# The rest of the command line: this host's name, where it listens, the URL the controller uses, its TLS files, labels.
LTB_AGENT_ARGS=--name $(hostname -s) --listen 0.0.0.0:7443 --advertise https://$(hostname -f 2>/dev/null || hostname):7443 --cert /etc/ltb/agent.crt --key /etc/ltb/agent.key"

log "installed $version under ${root:-/}"
[[ -n $root ]] || echo "next: edit /etc/ltb/server.env and/or /etc/ltb/agent.env, then: systemctl daemon-reload && systemctl enable --now ltb-server (or ltb-agent)"
