#!/usr/bin/env bash
# Builds and imports the two container images the tests use, when absent:
#   localhost/palisade-test/busybox:latest   busybox-static + applet symlinks in /bin
#   localhost/palisade-test/debian:bookworm  debootstrap --variant=minbase (bash, apt)
# No registry is involved: each root filesystem is built here and `podman import`ed.
# The root filesystem tars are cached under $PALISADE_CACHE/images/ (written to a
# temporary name and renamed, so a cut-off build never leaves a half tar behind), so
# after `podman rmi` a re-import takes seconds. Idempotent: an existing image is kept.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=images.env
. "$here/images.env"
CACHE_DIR="${PALISADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade}/images"
DEBIAN_MIRROR="${PALISADE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$CACHE_DIR"
log() { printf '[images] %s\n' "$*"; }

for tool in podman tar; do
  command -v "$tool" >/dev/null || { echo "images: '$tool' not found; run scripts/setup.sh (Debian package podman)" >&2; exit 1; }
done

# crun cannot create containers on a hybrid cgroup host until cgroup v2 has no controllers.
bash "$here/cgroup-hybrid.sh"

# Import $2 (a tar) as image $1 with the image config given as remaining --change args.
import_tar() {
  local image="$1" tarball="$2"; shift 2
  podman import --quiet "$@" "$tarball" "$image" >/dev/null
  log "imported $image from $tarball"
}

build_busybox_tar() {
  local out="$1" busybox root
  busybox=/bin/busybox   # from busybox-static: the image has no libc, so it must be static
  [ -x "$busybox" ] || { echo "images: /bin/busybox not found; install the Debian package busybox-static" >&2; exit 1; }
  if ldd "$busybox" >/dev/null 2>&1; then   # ldd fails on a static executable
    echo "images: /bin/busybox is dynamically linked; install busybox-static instead of busybox" >&2; exit 1
  fi
  root="$(mktemp -d "${TMPDIR:-/tmp}/palisade-busybox.XXXXXX")"
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  local applet
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"   # busybox lists itself
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  tar --numeric-owner -C "$root" -cf "$out.part" .
  rm -rf "$root"
  mv "$out.part" "$out"
}

build_debian_tar() {
  local out="$1" root
  command -v debootstrap >/dev/null || { echo "images: debootstrap not found; install the Debian package debootstrap" >&2; exit 1; }
  root="$(mktemp -d "${TMPDIR:-/tmp}/palisade-debian.XXXXXX")"
  log "debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (a few minutes, once)"
  if ! debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" > "$CACHE_DIR/debootstrap.log" 2>&1; then
    echo "images: debootstrap failed; see $CACHE_DIR/debootstrap.log" >&2
    tail -20 "$CACHE_DIR/debootstrap.log" >&2
    umount -R "$root/proc" "$root/sys" 2>/dev/null || true
    rm -rf --one-file-system "$root"; exit 1
  fi
  for m in proc sys dev/pts; do mountpoint -q "$root/$m" && umount -R "$root/$m"; done
  # Smaller image; apt can fetch lists again (`apt update`) when a scenario asks for it.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/dev/* "$root"/tmp/*
  tar --numeric-owner -C "$root" -cf "$out.part" .
  rm -rf --one-file-system "$root"
  mv "$out.part" "$out"
}

ensure_image() {
  local image="$1" tarball="$2" builder="$3"; shift 3
  if podman image exists "$image"; then log "$image present"; return; fi
  [ -s "$tarball" ] || "$builder" "$tarball"
  import_tar "$image" "$tarball" "$@"
}

PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
ensure_image "$BUSYBOX_IMAGE" "$CACHE_DIR/busybox-rootfs.tar" build_busybox_tar \
  --change "$PATH_ENV" --change 'CMD ["/bin/sh"]'
ensure_image "$DEBIAN_IMAGE" "$CACHE_DIR/debian-bookworm-rootfs.tar" build_debian_tar \
  --change "$PATH_ENV" --change 'CMD ["/bin/bash"]'
