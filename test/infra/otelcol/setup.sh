#!/usr/bin/env bash
# Builds the test Collector once per source hash; a second run with the binary
# cached returns at once. Modules come from the Go module proxy into ~/go/pkg/mod.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [ -x "$otelcol_bin" ]; then
  echo "otelcol: cached $otelcol_bin"
  exit 0
fi
command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"; }
command -v go >/dev/null || { echo "otelcol: the go toolchain is required (apt-get install golang-go, or Go >= 1.26)" >&2; exit 1; }
mkdir -p "$(dirname "$otelcol_bin")"
tmp="$otelcol_bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
echo "otelcol: building $otelcol_bin (first build takes several minutes)"
start=$(date +%s)
( cd "$otelcol_dir" && CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -p 2 -trimpath -ldflags='-s -w' -o "$tmp" . )
mv "$tmp" "$otelcol_bin"
echo "otelcol: built in $(( $(date +%s) - start ))s"
# Keep only the current build.
find "$(dirname "$otelcol_bin")" -maxdepth 1 -name 'otelcol-palisade-*' ! -name "$(basename "$otelcol_bin")" -delete
