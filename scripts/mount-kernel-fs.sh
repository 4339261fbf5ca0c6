#!/usr/bin/env bash
# Mounts bpffs, tracefs and securityfs when they are absent (needs root). Idempotent.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "[mounts] not root: skipping kernel filesystem mounts"; exit 0; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
mountpoint -q /sys/kernel/tracing && echo "[mounts] bpffs and tracefs mounted"
