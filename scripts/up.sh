#!/usr/bin/env bash
# README command 1: installs what is missing, prepares this host, builds LTB and its node images,
# and starts the platform on the embedded default (`ltb serve`; arguments are passed on, e.g. --listen URL).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$LTB_ROOT"

"$LTB_ROOT/scripts/prepare-host.sh" run
"$LTB_ROOT/scripts/build-images.sh"
./ltb --version >/dev/null   # builds the command line when missing or stale
./ltb host info
log "starting the LTB server on the embedded default (Ctrl+C stops it); the first start prints the admin account"
exec ./ltb serve "$@"
