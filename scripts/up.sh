#!/usr/bin/env bash
# README command 1: installs what is missing, prepares this host, builds LTB and its node images,
# and starts the platform on the embedded default.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$LTB_ROOT"

"$LTB_ROOT/scripts/prepare-host.sh" run
"$LTB_ROOT/scripts/build-images.sh"
./ltb --version >/dev/null   # builds the command line when missing or stale
./ltb host info
log "LTB is built and this host is ready. The server (ltb serve) arrives with the labs issue; try ./ltb --help"
