#!/usr/bin/env bash
# Builds the deployment images from deploy/Dockerfile: ltb/server and ltb/agent (tag: the version, and latest).
#   deploy/build-images.sh                 on Microsoft's runtime-deps image (needs its registry)
#   deploy/build-images.sh --base IMAGE    on another Debian/Ubuntu image
#   deploy/build-images.sh --offline       without any registry: a Debian base made here with debootstrap + docker import
#                                          (ltb-deploy/debian:bookworm), and PostgreSQL from Debian's package on it
#                                          (ltb-deploy/postgres:15); compose.yaml runs them with .env's LTB_POSTGRES_IMAGE.
# Each image is rebuilt only when its inputs change (Docker's layer cache; the debootstrap base: its recipe's hash).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
need_root
start_dockerd >/dev/null
here="$LTB_ROOT/deploy"
base="" offline=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) base="${2:?--base needs an image}"; shift 2 ;;
    --offline) offline=true; shift ;;
    *) die "unknown argument '$1' (use --base IMAGE or --offline)" ;;
  esac
done

# The Debian base without a registry, rebuilt only when deploy/base/ changes.
offline_base() {
  local tag=ltb-deploy/debian:bookworm hash rootfs
  hash=$( (cd "$here/base" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
  if [[ $(docker image inspect -f '{{index .Config.Labels "org.ltb.recipe"}}' "$tag" 2>/dev/null) != "$hash" ]]; then
    log "building the offline base image $tag (debootstrap)"
    rootfs="$(mktemp -d /var/tmp/ltb-deploy-base.XXXXXX)"
    "$here/base/build.sh" "$rootfs" "$(debian_mirror)" >"$LTB_LOG_DIR/deploy-base.log" 2>&1 \
      || { rm -rf "$rootfs"; tail -20 "$LTB_LOG_DIR/deploy-base.log" >&2; die "debootstrap failed (log: $LTB_LOG_DIR/deploy-base.log)"; }
    tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' --change "LABEL org.ltb.recipe=$hash" - "$tag" >/dev/null
    rm -rf "$rootfs"
  fi
  printf '%s\n' "$tag"
}

build() { # NAME TAG ARGS...
  local name="$1" tag="$2"; shift 2
  log "building $tag"
  docker build -q "$@" -t "$tag" >"$LTB_LOG_DIR/deploy-$name.log" 2>&1 \
    || { tail -30 "$LTB_LOG_DIR/deploy-$name.log" >&2; die "docker build of $tag failed (log: $LTB_LOG_DIR/deploy-$name.log)"; }
}

if [[ $offline == true ]]; then
  base=$(offline_base)
  build postgres ltb-deploy/postgres:15 --build-arg "BASE=$base" "$here/postgres"
fi
base_args=()
[[ -n $base ]] && base_args=(--build-arg "BASE=$base")

# The build context: the published folder (scripts/publish.sh) and nothing else of the checkout.
context="$LTB_ROOT/.artifacts/deploy-context"
mkdir -p "$context"
"$LTB_ROOT/scripts/publish.sh" "$context/ltb" >/dev/null
version=$("$context/ltb/ltb" --version | cut -d+ -f1)
for target in server agent; do
  build "$target" "ltb/$target:$version" "${base_args[@]}" --target "$target" -f "$here/Dockerfile" "$context"
  docker tag "ltb/$target:$version" "ltb/$target:latest"
done
log "built ltb/server:$version and ltb/agent:$version${base:+ on $base}"
