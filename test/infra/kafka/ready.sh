#!/usr/bin/env bash
# Exit 0 only when the test broker answers a real metadata request on 127.0.0.1:19092
# and lists itself (node 1) as a broker. Uses kcat, an independent (librdkafka) client.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/env.sh"
command -v kcat >/dev/null || { echo "kafka ready: kcat not installed (bash test/infra/kafka/setup.sh)" >&2; exit 1; }
out="$(timeout 15 kcat -b "$KAFKA_BOOTSTRAP" -L -m 5 2>&1)" || { echo "kafka ready: no metadata from $KAFKA_BOOTSTRAP" >&2; exit 1; }
grep -q "broker 1 at $KAFKA_BOOTSTRAP" <<<"$out" \
  || { echo "kafka ready: metadata from $KAFKA_BOOTSTRAP lists no broker 1:" >&2; echo "$out" >&2; exit 1; }
