#!/usr/bin/env bash
# Builds LTB's local node images from images/*/ without any registry, and tags them.
# An image is rebuilt only when its recipe folder changes (the recipe's hash is a label on the image).
# Usage: scripts/build-images.sh [NAME...]   (default: all)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root
start_dockerd >/dev/null

recipe_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16; }

image_is_current() { # NAME HASH TAGS...
  local hash="$2" tag; shift 2
  for tag in "$@"; do
    [[ $(docker image inspect -f '{{index .Config.Labels "org.ltb.recipe"}}' "$tag" 2>/dev/null) == "$hash" ]] || return 1
  done
}

build_one() { # NAME
  local name="$1" dir="$LTB_ROOT/images/$1" hash rootfs tags
  [[ -f $dir/image.conf ]] || die "no image recipe images/$name"
  # shellcheck disable=SC1091
  source "$dir/image.conf"
  read -r -a tags <<<"$TAGS"
  hash=$(recipe_hash "$dir")
  if image_is_current "$name" "$hash" "${tags[@]}"; then
    log "image $name is current (${tags[*]})"
    return 0
  fi
  log "building image $name (recipe $hash)"
  rootfs="$(mktemp -d /var/tmp/ltb-image-$name.XXXXXX)"
  trap 'rm -rf "$rootfs"' RETURN
  if ! "$dir/build.sh" "$rootfs" "$(debian_mirror)" >"$LTB_LOG_DIR/image-$name.log" 2>&1; then
    tail -20 "$LTB_LOG_DIR/image-$name.log" >&2
    die "building image $name failed (log: $LTB_LOG_DIR/image-$name.log)"
  fi
  tar -C "$rootfs" -c . | docker import \
    --change "CMD $CMD" --change "ENV $ENV" \
    --change "LABEL org.ltb.recipe=$hash" --change "LABEL org.ltb.image=$name" \
    - "${tags[0]}" >/dev/null
  local tag
  for tag in "${tags[@]:1}"; do docker tag "${tags[0]}" "$tag"; done
  log "built image $name: ${tags[*]}"
}

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=($(ls "$LTB_ROOT/images" | grep -v '\.md$'))
# debootstrap is mostly waiting on downloads: build the images side by side.
pids=()
for n in "${names[@]}"; do build_one "$n" & pids+=($!); done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
