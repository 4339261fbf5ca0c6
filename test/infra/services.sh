#!/usr/bin/env bash
# Test services: setup | start | stop | status, for all or named services.
# Each service lives in test/infra/<name>/ with setup.sh (idempotent fetch/build),
# start.sh (starts it unless ready; binds to loopback; data under $PALISADE_TEST_TMP),
# stop.sh, and ready.sh (exit 0 only when the service answered a real request).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PALISADE_TEST_TMP="${PALISADE_TEST_TMP:-/tmp/palisade-test}"
export PALISADE_CACHE="${PALISADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade}"
mkdir -p "$PALISADE_TEST_TMP" "$PALISADE_CACHE"

ALL=(redis kafka otelcol images grpcurl k8s-validate)
cmd="${1:-status}"; shift || true
names=("$@"); [ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")

for n in "${names[@]}"; do
  dir="$here/$n"
  [ -d "$dir" ] || { echo "services: unknown service '$n' (known: ${ALL[*]})" >&2; exit 2; }
  case "$cmd" in
    setup) if [ -f "$dir/setup.sh" ]; then bash "$dir/setup.sh"; fi ;;   # a missing script is not an error
    start) if [ -f "$dir/start.sh" ]; then bash "$dir/start.sh"; fi ;;
    stop)  if [ -f "$dir/stop.sh" ]; then bash "$dir/stop.sh"; fi ;;
    status)
      if [ -f "$dir/ready.sh" ]; then
        if bash "$dir/ready.sh" >/dev/null 2>&1; then echo "$n: ready"; else echo "$n: not ready"; fi
      fi ;;
    *) echo "usage: services.sh setup|start|stop|status [service...]" >&2; exit 2 ;;
  esac
done
