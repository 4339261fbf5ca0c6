#!/usr/bin/env bash
# Exit 0 only when the Collector answers a real OTLP/HTTP request (an empty logs
# export, which it acknowledges with 200 and writes nothing for) and accepts a
# TCP connection on the OTLP gRPC port.
set -euo pipefail
code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 \
  -H 'Content-Type: application/json' --data '{"resourceLogs":[]}' \
  http://127.0.0.1:14318/v1/logs 2>/dev/null || true)"
[ "$code" = "200" ] || exit 1
timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/14317' 2>/dev/null
