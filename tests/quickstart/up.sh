#!/usr/bin/env bash
# The README's first command, as a user runs it: scripts/up.sh starts a
# private cluster and secretsd, a secret written over REST reads back over
# SQL, and a second run keeps the data, the root key and the credentials.
# Uses its own state folder and ports; the build is scripts/test.sh's.
set -euo pipefail
PROJECT_DIR=${PROJECT_SOURCE_DIR:?run through ctest}
source "$PROJECT_DIR/scripts/lib.sh"
source "$PROJECT_DIR/tests/lib/suite.bash"
[ "${PGSECRETS_TEST_DB:-0}" = 1 ] || skip_suite "needs scripts/test.sh"

HOME_DIR=$(mktemp -d /tmp/pgsecrets-quickstart.XXXXXX)
export PGSECRETS_HOME=$HOME_DIR PGSECRETS_PORT=55494 PORT_SECRETSD=55493 PGSECRETS_SKIP_BUILD=1
up() { bash "$PROJECT_DIR/scripts/up.sh" "$@"; }
cleanup() { up stop >/dev/null 2>&1 || true; rm -rf "$HOME_DIR"; }
trap cleanup EXIT

base=http://127.0.0.1:$PORT_SECRETSD
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

up >"$HOME_DIR/up1.log" 2>&1 || { cat "$HOME_DIR/up1.log"; exit 1; }
expect_success "prints the psql command" grep -q "psql -h $HOME_DIR/run -p 55494 -U postgres pgsecrets" "$HOME_DIR/up1.log"
expect_eq "root key file is 0600" 600 "$(stat -c %a "$HOME_DIR/keys/root.key")"
expect_eq "secretsd env file is 0600" 600 "$(stat -c %a "$HOME_DIR/secretsd.env")"
expect_success "secretsd is ready" curl -fsS "$base/ready" -o /dev/null
# What this script's user later reads or runs stays its own: the server's
# OS user gets only data/, run/, keys/ and log/.
expect_success "the state folder and secretsd.env stay the caller's" \
  test "$(stat -c %u "$HOME_DIR"):$(stat -c %u "$HOME_DIR/secretsd.env")" = "$(id -u):$(id -u)"
expect_success "the server's user owns only its folders" \
  test "$(stat -c %U "$HOME_DIR/data") $(stat -c %U "$HOME_DIR/keys") $(stat -c %U "$HOME_DIR/keys/root.key")" = "$(cluster_owner) $(cluster_owner) $(cluster_owner)"

curl -fsS -X POST "$base/api/v0/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"quick@example.test","password":"quick start passphrase","household_name":"Quick"}' -o /dev/null
# Registration hands out no tokens: sign in.
reg=$(curl -fsS -X POST "$base/api/v0/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"quick@example.test","password":"quick start passphrase"}')
token=$(json_field '["access_token"]' <<<"$reg")
household=$(json_field '["household_id"]' <<<"$reg")
curl -fsS -X POST "$base/api/secrets" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"key":"QUICK_START_KEY","value":"qs-value-1"}' -o /dev/null

psql_home() { psql -X -At -h "$HOME_DIR/run" -p 55494 -U postgres pgsecrets "$@"; }
# set_context is for the gateway role: read as a role granted the household.
psql_home -q -c "CREATE ROLE quickstart_reader; SELECT secrets.grant_household('quickstart_reader', '$household', 'read')" >/dev/null
read_back() { psql_home -c "SET ROLE quickstart_reader" -c "SELECT secrets.get_secret('QUICK_START_KEY', 'integration')" | tail -1; }
expect_eq "a REST write reads back over SQL" qs-value-1 "$(read_back)"

key_before=$(sha256sum "$HOME_DIR/keys/root.key")
env_before=$(grep -v '^DATABASE_URL=' "$HOME_DIR/secretsd.env" | sha256sum)
up >"$HOME_DIR/up2.log" 2>&1 || { cat "$HOME_DIR/up2.log"; exit 1; }
expect_success "second run keeps the root key" test "$(sha256sum "$HOME_DIR/keys/root.key")" = "$key_before"
expect_success "second run keeps the credentials" test "$(grep -v '^DATABASE_URL=' "$HOME_DIR/secretsd.env" | sha256sum)" = "$env_before"
expect_eq "second run keeps the data" qs-value-1 "$(read_back)"
login=$(curl -fsS -X POST "$base/api/v0/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"quick@example.test","password":"quick start passphrase"}')
token=$(json_field '["access_token"]' <<<"$login")
expect_success "the user can still log in and read over REST" \
  test "$(curl -fsS "$base/api/secrets/QUICK_START_KEY" -H "Authorization: Bearer $token" | json_field '["data"]["value"]')" = qs-value-1
expect_success "the value is not in secretsd's log" bash -c "! grep -q qs-value-1 '$HOME_DIR/secretsd.log'"

up stop >/dev/null 2>&1
expect_success "stop stops secretsd" bash -c "! curl -fsS '$base/health' -o /dev/null 2>/dev/null"

finish
