#!/usr/bin/env bash
# Ready when the test Redis on 127.0.0.1:16379 answers PING with PONG.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/redis.env"
[ "$(timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
