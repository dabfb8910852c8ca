#!/usr/bin/env bash
# Builds LTB's test VM images from vm-images/*/ (offline but for Debian's archive) into the host's VM image library,
# where the VM node driver finds them by name: vm-images/NAME/ becomes the image ltb/NAME:latest, in
# $LTB_VM_IMAGES/ltb/NAME/latest/ (default /var/lib/ltb/vm-images). That folder is the cache between runs: an image
# is rebuilt only when its recipe folder changes (the recipe's hash is kept in the image's .recipe file).
# Usage: scripts/build-vm-images.sh [NAME...]   (default: all)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root

library="${LTB_VM_IMAGES:-/var/lib/ltb/vm-images}"
# The recipe's files and those of the recipes its build.sh runs ("$here/../tinyvm/build.sh"): tinydisk is rebuilt when tinyvm changes.
recipe_hash() {
  local d deps
  deps=$(grep -o '\.\./[a-z0-9_-]*/' "$1/build.sh" | sort -u | sed "s|^\.\./|$LTB_ROOT/vm-images/|") || true
  for d in "$1" $deps; do (cd "$d" && find . -type f -print0 | sort -z | xargs -0 sha256sum); done | sha256sum | cut -c1-16
}

build_one() { # NAME
  local name="$1" dir="$LTB_ROOT/vm-images/$1" hash target staging
  [[ -x $dir/build.sh ]] || die "no VM image recipe vm-images/$name (build.sh)"
  hash=$(recipe_hash "$dir")
  target="$library/ltb/$name/latest"
  if [[ -f $target/.recipe && $(<"$target/.recipe") == "$hash" ]]; then
    log "VM image ltb/$name is current ($target)"
    return 0
  fi
  log "building VM image ltb/$name (recipe $hash)"
  staging="$(mktemp -d "$library/.build-$name.XXXXXX")"; chmod 0755 "$staging"
  if ! "$dir/build.sh" "$staging" "$(debian_mirror)" >"$LTB_LOG_DIR/vm-image-$name.log" 2>&1; then
    rm -rf "$staging"
    tail -20 "$LTB_LOG_DIR/vm-image-$name.log" >&2
    die "building VM image ltb/$name failed (log: $LTB_LOG_DIR/vm-image-$name.log)"
  fi
  echo "$hash" >"$staging/.recipe"
  # Swapped in whole: a VM that runs from the old image keeps its open files.
  mkdir -p "$(dirname "$target")"
  rm -rf "$target.old"; [[ -d $target ]] && mv "$target" "$target.old"
  mv "$staging" "$target"; rm -rf "$target.old"
  log "built VM image ltb/$name in $target"
}

mkdir -p "$library"
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=($(ls "$LTB_ROOT/vm-images" | grep -v '\.md$'))
for n in "${names[@]}"; do build_one "$n"; done
