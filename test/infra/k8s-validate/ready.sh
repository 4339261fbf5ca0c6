#!/usr/bin/env bash
# k8s-validate is a tool, not a server: "ready" means the cached binary runs
# (with no file it prints its usage and exits 2).
set -uo pipefail
export PALISADE_CACHE="${PALISADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade}"
"$PALISADE_CACHE/bin/k8s-validate" >/dev/null 2>&1
[ $? -eq 2 ]
