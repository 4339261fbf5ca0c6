#!/usr/bin/env bash
# Stops the test Redis started by start.sh: SHUTDOWN NOSAVE, then SIGTERM to the
# pid in the pid file if it still runs; waits at most 10 s. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/redis.env"
pid=""
[ -s "$REDIS_PIDFILE" ] && pid="$(cat "$REDIS_PIDFILE")"
timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
if [ -n "$pid" ]; then
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ]; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
fi
if bash "$here/ready.sh"; then echo "redis: still answering on $REDIS_HOST:$REDIS_PORT" >&2; exit 1; fi
rm -f "$REDIS_PIDFILE"
echo "[redis] stopped"
