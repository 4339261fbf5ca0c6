# Shared paths for the otelcol test service scripts (sourced, not executed).
# The binary is cached under $PALISADE_CACHE/otelcol, named by the sha256 of
# go.mod + go.sum + main.go + config.yaml, so any source change gives a new build.
otelcol_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PALISADE_TEST_TMP="${PALISADE_TEST_TMP:-/tmp/palisade-test}"
export PALISADE_CACHE="${PALISADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade}"
otelcol_run="$PALISADE_TEST_TMP/otelcol"
otelcol_pid="$otelcol_run/otelcol.pid"
otelcol_log="$otelcol_run/otelcol.log"
otelcol_key="$(cat "$otelcol_dir/go.mod" "$otelcol_dir/go.sum" "$otelcol_dir/main.go" "$otelcol_dir/config.yaml" | sha256sum | cut -c1-16)"
otelcol_bin="$PALISADE_CACHE/otelcol/otelcol-palisade-$otelcol_key"
