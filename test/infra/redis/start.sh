#!/usr/bin/env bash
# Starts the test Redis unless it is already ready: 127.0.0.1:16379 only, no
# persistence (no RDB snapshots, no AOF), working dir, pid file and log under
# $PALISADE_TEST_TMP/redis, daemonized. Waits at most 20 s for PONG.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/redis.env"
if bash "$here/ready.sh"; then echo "[redis] already running on $REDIS_HOST:$REDIS_PORT"; exit 0; fi
mkdir -p "$REDIS_DIR"
redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" --protected-mode yes \
  --save '' --appendonly no --dir "$REDIS_DIR" \
  --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOGFILE"
for _ in $(seq 1 100); do
  if bash "$here/ready.sh"; then echo "[redis] ready on $REDIS_HOST:$REDIS_PORT"; exit 0; fi
  sleep 0.2
done
echo "redis: not ready on $REDIS_HOST:$REDIS_PORT after 20 s; log: $REDIS_LOGFILE" >&2
tail -20 "$REDIS_LOGFILE" >&2 2>/dev/null || true
exit 1
