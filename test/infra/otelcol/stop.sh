#!/usr/bin/env bash
# Stops the Collector started by start.sh (by its pid file only). Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -f "$otelcol_pid" ] || { echo "otelcol: not running"; exit 0; }
pid="$(cat "$otelcol_pid")"
# Only signal the pid if it still is our collector (the pid may have been reused).
if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q otelcol-palisade; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done   # 10 s at most
  if kill -0 "$pid" 2>/dev/null; then echo "otelcol: pid $pid ignored TERM, killing" >&2; kill -KILL "$pid"; fi
fi
rm -f "$otelcol_pid"
echo "otelcol: stopped"
