#!/usr/bin/env bash
# Idempotent set-up of everything Palisade's build and tests need on a Debian host:
# Debian packages, npm dependencies, kernel filesystems, and the test services'
# artefacts (Kafka jars, the OpenTelemetry Collector binary, container images).
# A second run finds everything in place and does nothing but check.
# `setup.sh --runtime` stops before the test services: what `make up` needs to run.
set -euo pipefail
runtime_only=0
[ "${1:-}" = "--runtime" ] && runtime_only=1
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

APT_PACKAGES=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc gcc-multilib
  redis-server podman busybox-static debootstrap kcat protobuf-compiler libclang-rt-14-dev
  iproute2 uidmap)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  [ "$(id -u)" = 0 ] || { echo "setup: need root to install Debian packages (${missing[*]})" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  log "npm dependencies present"
fi

bash scripts/mount-kernel-fs.sh

if [ "$runtime_only" = 1 ]; then log "done (runtime only)"; exit 0; fi
bash test/infra/services.sh setup
log "done"
