#!/usr/bin/env bash
# README command 1: installs what is missing, prepares this host, builds LTB and its node images,
# and starts the platform on the embedded default (`ltb serve`; arguments are passed on, e.g. --listen URL, --data DIR).
# Idempotent: run again while the server runs, it prints the URL and the admin account and leaves the server alone.
# The admin's generated password is kept in DATA/initial-admin-password (0600) until the admin changes it; a lost
# password: ltb admin reset-password [--data DIR].
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$LTB_ROOT"

# Where the server listens and keeps its data: the same defaults and overrides as `ltb serve`.
url="${LTB_LISTEN:-http://127.0.0.1:8480}"
data="${LTB_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/ltb}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --listen) url="${args[i + 1]:-$url}" ;;
    --listen=*) url="${args[i]#--listen=}" ;;
    --data) data="${args[i + 1]:-$data}" ;;
    --data=*) data="${args[i]#--data=}" ;;
  esac
done

if curl -sf --max-time 2 "$url/healthz" >/dev/null 2>&1; then
  log "LTB is already running"
  echo "LTB is listening on $url"
  if [[ -r "$data/initial-admin-password" ]]; then
    echo "Admin account 'admin', initial password: $(cat "$data/initial-admin-password")"
    echo "  (kept in $data/initial-admin-password until the admin changes it)"
  else
    echo "Admin account 'admin' (its initial password was changed; lost it? run on this machine: ./ltb admin reset-password --data $data)"
  fi
  exit 0
fi

"$LTB_ROOT/scripts/prepare-host.sh" run
"$LTB_ROOT/scripts/build-images.sh"
"$LTB_ROOT/scripts/build-vm-images.sh"   # the tiny test VM (kind ltb_tinyvm) into the host's VM image library
./ltb --version >/dev/null   # builds the command line when missing or stale
./ltb host info
log "starting the LTB server on the embedded default (Ctrl+C stops it); it prints the URL and the admin account"
exec ./ltb serve "$@"
