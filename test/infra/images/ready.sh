#!/usr/bin/env bash
# Ready when both test images exist in podman's local store and podman can create
# containers here (the hybrid-cgroup condition crun rejects is absent).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/images.env"
for image in "$BUSYBOX_IMAGE" "$DEBIAN_IMAGE"; do
  podman image exists "$image" || { echo "images: $image missing (run test/infra/services.sh setup images)" >&2; exit 1; }
done
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] && [ -s /sys/fs/cgroup/unified/cgroup.controllers ]; then
  echo "images: cgroup v2 root lists controllers; crun will refuse containers (run test/infra/images/cgroup-hybrid.sh)" >&2
  exit 1
fi
echo "images: ready"
