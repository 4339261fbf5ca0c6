#!/usr/bin/env bash
# Checks that the Debian redis-server and redis-cli are installed (scripts/setup.sh
# installs the package); there is nothing to download or build.
set -euo pipefail
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "redis: '$tool' not found; run scripts/setup.sh (Debian package redis-server)" >&2; exit 1; }
done
echo "[redis] $(redis-server --version | cut -d' ' -f1-3) present"
