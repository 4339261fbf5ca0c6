#!/usr/bin/env bash
# Generates TypeScript (ts-proto over @bufbuild/protobuf's wire runtime) from every
# .proto under proto/ into proto/gen/ (or into $1 when given; the drift test uses a
# temp dir). Deterministic: same protoc + ts-proto versions => byte-identical output;
# the file list is sorted and the output directory is recreated from scratch.
# Fast path: proto/gen/.inputs.sha256 records a hash of every input (this script,
# the .proto files, protoc and ts-proto versions); when it matches, nothing runs.
# PROTO_FORCE=1 regenerates regardless.
#
# Options, and why:
#   outputServices=grpc-js   service definitions + typed clients for @grpc/grpc-js
#   esModuleInterop=true     matches tsconfig (esModuleInterop) and ESM
#   importSuffix=.js         NodeNext ESM needs explicit .js on relative imports
#   env=node                 Buffer-aware, no browser shims
#   forceLong=bigint         int64/uint64 (KubeArmor Timestamp, our seq) are exact
#                            native bigints: no precision loss past 2^53 and no
#                            `long` objects; compare with <, ===, add with +.
#   oneof=unions-value       oneofs are { $case, value } tagged unions (exhaustive switch)
#   useExactTypes=false      create()/fromPartial() accept plain object literals
#   outputTypeRegistry=false, outputClientImpl=false: not needed
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-$here/gen}"
plugin="$root/node_modules/.bin/protoc-gen-ts_proto"

if ! command -v protoc >/dev/null 2>&1; then
  echo "proto/generate.sh: protoc not found; install the Debian package protobuf-compiler (bash scripts/setup.sh does)" >&2
  exit 1
fi
if [ ! -x "$plugin" ]; then
  echo "proto/generate.sh: $plugin missing; run npm ci (ts-proto is a dev dependency)" >&2
  exit 1
fi

cd "$here"
mapfile -t files < <(find feeder grpc palisade -name '*.proto' -print | LC_ALL=C sort)

ts_proto_version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/node_modules/ts-proto/package.json")"
inputs_hash="$({
  echo "protoc $(protoc --version)"
  echo "ts-proto $ts_proto_version"
  sha256sum "$here/generate.sh" | cut -d' ' -f1
  for f in "${files[@]}"; do echo "$f $(sha256sum "$f" | cut -d' ' -f1)"; done
} | sha256sum | cut -d' ' -f1)"
if [ -z "${PROTO_FORCE:-}" ] && [ -f "$out/.inputs.sha256" ] && [ "$(cat "$out/.inputs.sha256")" = "$inputs_hash" ]; then
  exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/palisade-proto.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

protoc \
  --plugin="protoc-gen-ts_proto=$plugin" \
  --proto_path="$here" \
  --ts_proto_out="$tmp" \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,importSuffix=.js,env=node,forceLong=bigint,oneof=unions-value,useExactTypes=false \
  "${files[@]}"

echo "$inputs_hash" >"$tmp/.inputs.sha256"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -R "$tmp" "$out"
chmod -R u+rwX,go+rX "$out"
