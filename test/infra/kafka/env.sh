# Shared settings for the Kafka test broker scripts (sourced, not executed).
# The version comes from pom.xml so there is one place to change it.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PALISADE_TEST_TMP="${PALISADE_TEST_TMP:-/tmp/palisade-test}"
export PALISADE_CACHE="${PALISADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
[ -n "$KAFKA_VERSION" ] || { echo "kafka: cannot read <kafka.version> from $here/pom.xml" >&2; exit 1; }
KAFKA_HOME="$PALISADE_CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
# Written last by setup.sh: its presence means the libs dir is complete.
KAFKA_STAMP="$KAFKA_HOME/.complete"
KAFKA_DATA="$PALISADE_TEST_TMP/kafka"
KAFKA_PID_FILE="$KAFKA_DATA/kafka.pid"
KAFKA_LOG_FILE="$KAFKA_DATA/kafka.log"
KAFKA_HOST=127.0.0.1
KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"
