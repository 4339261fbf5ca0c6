#!/usr/bin/env bash
# Makes crun (podman's OCI runtime here) able to create containers on a host with a
# *hybrid* cgroup layout: cgroup v1 controllers under /sys/fs/cgroup/<ctrl> and the
# cgroup v2 hierarchy at /sys/fs/cgroup/unified.
#
# Why: crun refuses hybrid hosts whose cgroup v2 root still holds a controller
#   ("crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2").
# On these machines the v2 root lists `hugetlb` only because no v1 hierarchy mounts it.
# A controller lives in exactly one hierarchy, so mounting it as its own v1 hierarchy
# moves it out of cgroup v2. We do that for each controller the v2 root still lists;
# nothing else on the host changes (no unmounts, no remount of /sys/fs/cgroup).
# Containers then still get their own cgroup v2 (0::/libpod_parent/libpod-<id>).
#
# Idempotent: does nothing on pure cgroup v2 hosts, pure v1 hosts, or when the v2 root
# has no controllers left. Needs root for the mount; exits 1 with a reason otherwise.
set -euo pipefail
unified=/sys/fs/cgroup/unified
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then exit 0; fi   # pure v2
mountpoint -q "$unified" 2>/dev/null || exit 0                                      # no v2 at all
read -r -a ctrls < "$unified/cgroup.controllers" || ctrls=()
[ ${#ctrls[@]} -gt 0 ] || exit 0
[ "$(id -u)" = 0 ] || { echo "cgroup-hybrid: need root to mount v1 hierarchies for: ${ctrls[*]}" >&2; exit 1; }
for c in "${ctrls[@]}"; do
  mkdir -p "/sys/fs/cgroup/$c"
  if ! mountpoint -q "/sys/fs/cgroup/$c"; then
    mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" \
      || { echo "cgroup-hybrid: could not mount the $c controller as cgroup v1 at /sys/fs/cgroup/$c" >&2; exit 1; }
    echo "[images] moved cgroup controller '$c' from cgroup v2 to a v1 hierarchy (crun needs an empty v2 root in hybrid mode)"
  fi
done
left="$(cat "$unified/cgroup.controllers")"
[ -z "$left" ] || { echo "cgroup-hybrid: cgroup v2 root still lists controllers: $left" >&2; exit 1; }
