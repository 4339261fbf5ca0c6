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
# Tools this service needs: a JRE for the broker, Maven to fetch it, kcat for ready.sh and
# the integration test. scripts/setup.sh normally installs them; this covers a direct run.
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v kcat >/dev/null || need+=(kcat)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "kafka setup: missing ${need[*]}; install them (apt-get install -y ${need[*]})" >&2; exit 1; }
  echo "kafka setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } \
    || { echo "kafka setup: apt-get install ${need[*]} failed" >&2; exit 1; }
fi

echo "kafka setup: fetching Kafka $KAFKA_VERSION jars into $KAFKA_LIBS" >&2
mkdir -p "$KAFKA_HOME"
tmp="$(mktemp -d "$KAFKA_HOME/libs.tmp.XXXXXX")"
trap 'rm -rf "$tmp" "$tmp.mvn.log"' EXIT
# Maven prints its errors on stdout (and stray colour codes even with -q): keep the output
# and show it only on failure.
if ! mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp.mvn.log" 2>&1; then
  echo "kafka setup: mvn dependency:copy-dependencies failed:" >&2
  cat "$tmp.mvn.log" >&2; rm -f "$tmp.mvn.log"; exit 1
fi
rm -f "$tmp.mvn.log"
ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null \
  || { echo "kafka setup: kafka_2.13-$KAFKA_VERSION.jar missing after copy" >&2; exit 1; }
rm -rf "$KAFKA_LIBS"
mv "$tmp" "$KAFKA_LIBS"
trap - EXIT
date -u +%FT%TZ > "$KAFKA_STAMP"
echo "kafka setup: $(ls "$KAFKA_LIBS" | wc -l) jars in $KAFKA_LIBS" >&2
