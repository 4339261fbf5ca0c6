#!/usr/bin/env bash
# Builds k8s-validate (strict Kubernetes manifest checker, main.go here) from Go modules
# into $PALISADE_CACHE/bin/k8s-validate-<hash of main.go, go.mod, go.sum>, linked as
# $PALISADE_CACHE/bin/k8s-validate. Idempotent: a second run with the binary of the
# current sources present returns at once; an edit of the sources builds a new one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PALISADE_CACHE="${PALISADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade}"
bin_dir="$PALISADE_CACHE/bin"
hash="$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)"
target="$bin_dir/k8s-validate-$hash"
if [ -x "$target" ]; then
  ln -sfn "k8s-validate-$hash" "$bin_dir/k8s-validate"
  echo "k8s-validate: cached $target"
  exit 0
fi
command -v go >/dev/null || { echo "k8s-validate: the go toolchain is required (go.mod's version or newer)" >&2; exit 1; }
mkdir -p "$bin_dir"
tmp="$(mktemp -d "$bin_dir/.k8s-validate-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "k8s-validate: building from Go modules (k8s.io/api, k8s.io/apimachinery, sigs.k8s.io/yaml)"
start=$(date +%s)
# -mod=readonly: go.sum pins every module; -p 2 for the 2-core machines
(cd "$here" && CGO_ENABLED=0 GOFLAGS="-p=2 -trimpath -mod=readonly -buildvcs=false" go build -ldflags='-s -w' -o "$tmp/k8s-validate" .)
mv "$tmp/k8s-validate" "$target"
ln -sfn "k8s-validate-$hash" "$bin_dir/k8s-validate"
echo "k8s-validate: built in $(( $(date +%s) - start ))s"
