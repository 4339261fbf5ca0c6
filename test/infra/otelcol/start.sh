#!/usr/bin/env bash
# Starts the test Collector in the background unless it is already ready.
# pid file and log: $PALISADE_TEST_TMP/otelcol/otelcol.{pid,log}; output files:
# $PALISADE_TEST_TMP/otelcol/{logs,metrics,traces}.jsonl. Waits at most 60 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
if bash "$here/ready.sh"; then echo "otelcol: already ready"; exit 0; fi
[ -x "$otelcol_bin" ] || bash "$here/setup.sh"
mkdir -p "$otelcol_run"

alive() { [ -f "$otelcol_pid" ] && kill -0 "$(cat "$otelcol_pid")" 2>/dev/null; }
if ! alive; then
  rm -f "$otelcol_pid"
  PALISADE_OTELCOL_OUT="$otelcol_run" setsid "$otelcol_bin" >>"$otelcol_log" 2>&1 </dev/null &
  echo $! >"$otelcol_pid"
fi

for _ in $(seq 1 300); do   # 300 x 0.2 s = 60 s at most
  if bash "$here/ready.sh"; then echo "otelcol: ready (pid $(cat "$otelcol_pid"))"; exit 0; fi
  alive || break
  sleep 0.2
done
echo "otelcol: failed to become ready; last lines of $otelcol_log:" >&2
tail -n 30 "$otelcol_log" >&2 || true
exit 1
