#!/usr/bin/env bash
# Builds grpcurl (a generic gRPC client that needs only .proto files) from Go
# modules into $PALISADE_CACHE/bin/grpcurl-<version>, linked as $PALISADE_CACHE/bin/grpcurl.
# Idempotent: a second run with the binary present returns at once.
set -euo pipefail
export PALISADE_CACHE="${PALISADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade}"
version="${GRPCURL_VERSION:-v1.9.4}"
bin_dir="$PALISADE_CACHE/bin"
target="$bin_dir/grpcurl-$version"
if [ -x "$target" ]; then
  ln -sfn "grpcurl-$version" "$bin_dir/grpcurl"
  echo "grpcurl: cached $target"
  exit 0
fi
command -v go >/dev/null || { echo "grpcurl: the go toolchain is required (apt-get install golang-go, or Go >= 1.22)" >&2; exit 1; }
mkdir -p "$bin_dir"
tmp="$(mktemp -d "$bin_dir/.grpcurl-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "grpcurl: building $version from Go modules (first build takes a few minutes)"
start=$(date +%s)
# GOBIN makes `go install` write the binary where we want it; -p 2 for the 2-core machines.
GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="-p=2 -trimpath" go install -ldflags='-s -w' "github.com/fullstorydev/grpcurl/cmd/grpcurl@$version"
mv "$tmp/grpcurl" "$target"
ln -sfn "grpcurl-$version" "$bin_dir/grpcurl"
"$target" -version 2>&1 | head -1
echo "grpcurl: built in $(( $(date +%s) - start ))s"
