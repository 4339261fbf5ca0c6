#!/usr/bin/env bash
# Builds the N-API addon (collector/native/build/Release/palisade_collector.node) with
# node-gyp, linked with libbpf (pkg-config). Node's headers come from the local node
# install (nodejs.org is not reachable); node-api-headers is the fallback.
# Skips the rebuild when no source changed since the last successful build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
out="build/Release/palisade_collector.node"
stamp="build/.sources.sha"
sum="$( (cat binding.gyp src/*.c src/*.h ../../bpf/include/*.h 2>/dev/null; node -v) | sha256sum | cut -d' ' -f1)"
if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
  echo "[native] up to date: $out"; exit 0
fi
pkg-config --exists libbpf || { echo "[native] libbpf not found by pkg-config: apt-get install libbpf-dev" >&2; exit 1; }
gyp="$root/node_modules/.bin/node-gyp"
[ -x "$gyp" ] || gyp="$(command -v node-gyp || true)"
[ -n "$gyp" ] || { echo "[native] node-gyp missing: run npm ci" >&2; exit 1; }
prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -f "$prefix/include/node/node_api.h" ] && [ -f "$prefix/include/node/common.gypi" ]; then
  nodedir="$prefix"
else
  # node-api-headers ships include/ with the N-API headers only (enough for a pure N-API addon)
  nodedir="$root/node_modules/node-api-headers"
  [ -f "$nodedir/include/node_api.h" ] || { echo "[native] no Node headers at $prefix/include/node nor node-api-headers" >&2; exit 1; }
fi
# the addon is C only: compile and link with the C compiler (no g++ needed)
export CC="${CC:-cc}" LINK="${LINK:-${CC:-cc}}"
JOBS="${JOBS:-2}" "$gyp" rebuild --nodedir="$nodedir" -j "${JOBS:-2}" --loglevel=warn
echo "$sum" > "$stamp"
echo "[native] built $here/$out"
