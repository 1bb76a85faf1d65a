#!/usr/bin/env bash
# Runs every test against a real PostgreSQL 15 that this script starts in a
# temporary folder, and ends with CTest's summary.
#   scripts/test.sh                 everything
#   scripts/test.sh -R regress      extra arguments go to ctest
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$PROJECT_DIR/scripts/deps.sh" --test
# The tests listen on fixed ports in 55000-55999, inside Linux's ephemeral
# range: reserve them, so that no outgoing connection of the run is given
# one of them as its local port (a listener's bind would then fail).
if [ "$(id -u)" = 0 ] && [ -w /proc/sys/net/ipv4/ip_local_reserved_ports ]; then
  echo 55000-55999 >/proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true
fi
build_all
build_checked
log "installing the browser tests' npm packages"
(cd "$PROJECT_DIR/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
log "installing the OpenAPI tests' npm packages"
(cd "$PROJECT_DIR/tests/openapi" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

TEST_DIR=$(mktemp -d /tmp/pgsecrets-test.XXXXXX)
TEST_PORT=${PGSECRETS_TEST_PORT:-55499}
cleanup() {
  cluster_stop "$TEST_DIR"
  rm -f "$TEST_DIR/openapi-responses.jsonl"  # test secrets in responses: never kept
  if [ "${PGSECRETS_KEEP_TEST_DIR:-0}" = 1 ]; then
    log "kept $TEST_DIR"
  else
    rm -rf "$TEST_DIR"
  fi
}
trap cleanup EXIT

log "starting a test cluster in $TEST_DIR (port $TEST_PORT)"
# Two root keys, version 2 active, so the suite can check that a ciphertext
# cannot be moved between keys. Logging is as loud as PostgreSQL gets, so the
# leak tests prove the redaction holds under it.
mkdir -p "$TEST_DIR/keys" && chown "$(cluster_owner)" "$TEST_DIR" "$TEST_DIR/keys"
write_key_file "$TEST_DIR/keys/root.key" 1 2
cluster_init "$TEST_DIR" "$TEST_PORT" \
  "log_statement = 'all'" \
  "log_min_duration_statement = 0" \
  "log_min_error_statement = 'error'" \
  "log_parameter_max_length = -1" \
  "log_parameter_max_length_on_error = -1" \
  "max_connections = 200" \
  "fsync = off"
cluster_start "$TEST_DIR"

export PGHOST="$TEST_DIR/run" PGPORT="$TEST_PORT" PGUSER=postgres PGDATABASE=postgres
export PGSECRETS_TEST_DB=1 PGSECRETS_TEST_DIR="$TEST_DIR"
export PGSECRETS_TEST_LOG="$TEST_DIR/log/postgresql.log"
# Every response the integration tests receive, for openapi.responses.
export PGSECRETS_OPENAPI_RECORD="$TEST_DIR/openapi-responses.jsonl"

cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 "$@"
