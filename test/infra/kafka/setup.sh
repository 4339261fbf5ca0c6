#!/usr/bin/env bash
# Fetches the Kafka broker jars (see pom.xml) into $PALISADE_CACHE/kafka-<version>/libs.
# Idempotent: returns at once when the cache is complete (stamp file written last);
# otherwise copies into a temp dir and renames it, so an interrupted run never leaves
# a half-filled libs dir that looks complete. Maven's ~/.m2 caches the downloads too.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/env.sh"

if [ -f "$KAFKA_STAMP" ] && [ -d "$KAFKA_LIBS" ]; then
  exit 0
fi
command -v java >/dev/null || { echo "kafka setup: java not found (apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "kafka setup: mvn not found (apt-get install -y maven)" >&2; exit 1; }
if ! command -v kcat >/dev/null; then
  # ready.sh and the integration test use kcat as an independent client.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat >/dev/null \
    || { echo "kafka setup: kcat missing and apt-get install kcat failed" >&2; exit 1; }
fi

echo "kafka setup: fetching Kafka $KAFKA_VERSION jars into $KAFKA_LIBS" >&2
mkdir -p "$KAFKA_HOME"
tmp="$(mktemp -d "$KAFKA_HOME/libs.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp"
ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null \
  || { echo "kafka setup: kafka_2.13-$KAFKA_VERSION.jar missing after copy" >&2; exit 1; }
rm -rf "$KAFKA_LIBS"
mv "$tmp" "$KAFKA_LIBS"
trap - EXIT
date -u +%FT%TZ > "$KAFKA_STAMP"
echo "kafka setup: $(ls "$KAFKA_LIBS" | wc -l) jars in $KAFKA_LIBS" >&2
