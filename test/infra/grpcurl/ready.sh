#!/usr/bin/env bash
# grpcurl is a tool, not a server: "ready" means the cached binary runs.
set -euo pipefail
export PALISADE_CACHE="${PALISADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade}"
"$PALISADE_CACHE/bin/grpcurl" -version >/dev/null 2>&1
