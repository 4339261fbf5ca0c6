#!/usr/bin/env bash
# Stops the test broker started by start.sh, by its pid file only (never by name).
# Idempotent: no pid file or a dead pid is success. SIGTERM first (Kafka shuts down
# cleanly), SIGKILL after 30 s.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/env.sh"
[ -f "$KAFKA_PID_FILE" ] || exit 0
pid="$(cat "$KAFKA_PID_FILE")"
# Guard against a recycled pid: only signal a process that is our Kafka broker.
if [ -n "$pid" ] && grep -qa 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka stop: pid $pid still alive after 30s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
fi
rm -f "$KAFKA_PID_FILE"
