#!/usr/bin/env bash
# Provider settings live in the extension's keyring (one store, one keyring),
# on a cluster of its own (key changes would disturb the shared test cluster):
#   1. upgrade: an installation at migration 0004 with settings saved the
#      old way (own ciphertext columns, a one-step previous value) starts a
#      secretsd that applies 0005; every setting reads with its value and a
#      rollback returns the previous one;
#   2. the operator's key life cycle: save settings, `secretsctl keys add
#      --activate`, `secretsctl rotate`, `secretsctl keys retire 1`; every
#      setting still reads and rolls back, and secrets.key_status() counts
#      the settings' values (retirement cannot strand one).
set -euo pipefail
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"
source "$(dirname "$0")/../lib/suite.bash"

BIN=${BUILD_BIN_DIR:-$PROJECT_DIR/build/bin}
SECRETSD="$BIN/secretsd"
CTL="$BIN/secretsctl"
for b in "$SECRETSD" "$CTL"; do
  [ -x "$b" ] || skip_suite "$b is not built"
done
command -v node >/dev/null || skip_suite "node is not installed (scripts/deps.sh --test)"

DIR=$(mktemp -d /tmp/pgsecrets-settings-keyring.XXXXXX)
PORT=${PGSECRETS_SETTINGS_KEYRING_PORT:-55481}
HTTP_PORT=${PGSECRETS_SETTINGS_KEYRING_HTTP_PORT:-$((PORT + 1))}
DB=settings
GLOBAL=00000000-0000-0000-0000-000000000000
SECRETSD_PID=
stop_secretsd() {
  if [ -n "$SECRETSD_PID" ]; then
    kill "$SECRETSD_PID" 2>/dev/null || true
    wait "$SECRETSD_PID" 2>/dev/null || true
    SECRETSD_PID=
  fi
}
cleanup() {
  stop_secretsd
  cluster_stop "$DIR"
  if [ "${PGSECRETS_KEEP_TEST_DIR:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
chown "$(cluster_owner)" "$DIR"
unset DATABASE_URL PGHOST PGPORT PGUSER PGDATABASE PGSERVICE

sql() { psql -X -At -q -h "$DIR/run" -p "$PORT" -U postgres -d "$DB" -v ON_ERROR_STOP=1 "$@"; }

# ---------------------------------------------------------------- the cluster and the gateway role
cluster_init "$DIR" "$PORT"
cluster_start "$DIR"
psql -X -q -h "$DIR/run" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE $DB"
sql <<SQL
CREATE EXTENSION pgsecrets;
CREATE ROLE secretsd LOGIN IN ROLE pgsecrets_gateway;
GRANT CREATE ON DATABASE $DB TO secretsd;
SQL

ADMIN_KEY=$(openssl rand -hex 32)
SECRETSD_ENV=(DATABASE_URL="host=$DIR/run port=$PORT dbname=$DB user=secretsd"
              PORT="$HTTP_PORT" BIND=127.0.0.1 AUTH_SECRET_KEY="$(openssl rand -hex 32)"
              ADMIN_API_KEY="$ADMIN_KEY" SECRETSD_WEB_DIR="$PROJECT_DIR/service/web")
start_secretsd() { # start_secretsd MIGRATIONS_DIR
  if curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/health"; then
    echo "FAIL - port $HTTP_PORT is taken (PGSECRETS_SETTINGS_KEYRING_HTTP_PORT picks another)"
    exit 1
  fi
  # env execs secretsd, so $! is secretsd itself (stopped by the trap).
  env "${SECRETSD_ENV[@]}" SECRETSD_MIGRATIONS_DIR="$1" "$SECRETSD" >>"$DIR/secretsd.log" 2>&1 &
  SECRETSD_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$HTTP_PORT/ready" >/dev/null 2>&1; then return 0; fi
    kill -0 "$SECRETSD_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$DIR/secretsd.log" >&2
  echo "FAIL - secretsd did not become ready"
  exit 1
}

# api METHOD PATH [BODY]: sets $status and $body.
api() {
  local args=(-s -o "$DIR/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$HTTP_PORT$2"
              -H "X-Admin-Key: $ADMIN_KEY" -H 'Content-Type: application/json')
  [ $# -ge 3 ] && args+=(--data-binary "$3")
  status=$(curl "${args[@]}")
  body=$(cat "$DIR/body")
}
# field JSON PATH: a field of a JSON document ("data.value").
field() {
  node -e 'let v = JSON.parse(process.argv[1]);
           for (const k of process.argv[2].split(".")) v = v == null ? undefined : v[k];
           process.stdout.write(v === undefined ? "<absent>" : String(v));' "$1" "$2"
}
# clear_value NAME: the setting's value in clear, read through the extension.
clear_value() {
  sql -v name="$1" <<SQL | tail -n 1
BEGIN;
SELECT secrets.use_household('$GLOBAL');
SELECT secrets.get_secret(secret_key, 'integration') FROM secretsd.global_settings WHERE name = :'name';
COMMIT;
SQL
}
put() { api PUT "/api/v0/admin/settings/$1" "{\"value\":\"$2\",\"is_sensitive\":$3}"; }

# expect_setting NAME VALUE SENSITIVE HAS_PREVIOUS: GET answers 200 with the
# value (masked when sensitive) and the value in clear is VALUE.
expect_setting() {
  api GET "/api/v0/admin/settings/$1"
  if [ "$status" != 200 ]; then fail "GET $1: status $status ($body)"; return; fi
  expect_eq "$1 reads as sensitive=$3" "$3" "$(field "$body" data.is_sensitive)"
  expect_eq "$1: has_previous=$4" "$4" "$(field "$body" data.has_previous)"
  if [ "$3" = false ]; then
    expect_eq "$1 reads '$2'" "$2" "$(field "$body" data.value)"
  else
    case "$body" in *"$2"*) fail "$1: the sensitive value is shown in clear" ;; *) pass "$1 is masked" ;; esac
  fi
  expect_eq "$1 holds its value" "$2" "$(clear_value "$1")"
}
# expect_rollback NAME VALUE: a rollback answers 200 and VALUE is current.
expect_rollback() {
  api POST "/api/v0/admin/settings/$1/rollback"
  expect_eq "rollback of $1 answers 200" 200 "$status"
  expect_eq "after the rollback $1 holds its previous value" "$2" "$(clear_value "$1")"
}

# ================================================================ 1. upgrade from 0004
mkdir -p "$DIR/migrations-0004"
cp "$PROJECT_DIR"/migrations/000[1-4]_*.sql "$DIR/migrations-0004/"
env "${SECRETSD_ENV[@]}" SECRETSD_MIGRATIONS_DIR="$DIR/migrations-0004" "$SECRETSD" migrate >>"$DIR/secretsd.log" 2>&1 \
  || { cat "$DIR/secretsd.log"; echo "FAIL - migrations 0001-0004"; exit 1; }
expect_eq "the installation is at migration 4" 4 "$(sql -c 'SELECT max(version) FROM secretsd.schema_migrations')"

# old_save NAME VALUE SENSITIVE: what secretsd's store did before 0005, as
# secretsd's role under the global household's context.
old_save() {
  psql -X -q -h "$DIR/run" -p "$PORT" -U secretsd -d "$DB" -v ON_ERROR_STOP=1 \
    -v name="$1" -v value="$2" -v sens="$3" -v hh="$GLOBAL" <<'SQL' >/dev/null
BEGIN;
SELECT secrets.set_context(:'hh', 'admin');
INSERT INTO secretsd.global_settings AS g (name, is_sensitive, value, value_cipher, description, updated_by)
VALUES (:'name', :'sens', CASE WHEN :'sens'::boolean THEN NULL ELSE :'value' END,
        CASE WHEN :'sens'::boolean THEN secrets.encrypt_secret(:'value', :'hh'::uuid, 'global_setting:' || :'name') END,
        'saved before 0005', 'admin')
ON CONFLICT (name) DO UPDATE SET
  is_sensitive = EXCLUDED.is_sensitive, value = EXCLUDED.value, value_cipher = EXCLUDED.value_cipher,
  updated_at = now(), updated_by = 'admin', has_previous = true,
  previous_is_sensitive = g.is_sensitive OR EXCLUDED.is_sensitive,
  previous_value = CASE WHEN g.is_sensitive OR EXCLUDED.is_sensitive THEN NULL ELSE g.value END,
  previous_value_cipher = CASE WHEN g.is_sensitive THEN g.value_cipher
    WHEN EXCLUDED.is_sensitive THEN secrets.encrypt_secret(g.value, :'hh'::uuid, 'global_setting:' || g.name) END;
INSERT INTO secretsd.global_settings_log (setting_name, action, actor)
VALUES (:'name', 'update', 'admin');
COMMIT;
SQL
}
old_save llm.api_key  "sk-old-previous-value-1111" true
old_save llm.api_key  "sk-old-current-value-2222"  true
old_save LLM_MODEL    "gpt-3"                      false
old_save LLM_MODEL    "gpt-4"                      false
old_save stt.token    "stt-public-before"          false
old_save stt.token    "stt-secret-after-3333"      true
old_save tts.voice    "alloy"                      false
expect_eq "four settings saved the old way" 4 "$(sql -c 'SELECT count(*) FROM secretsd.global_settings')"

start_secretsd "$PROJECT_DIR/migrations"
expect_eq "secretsd applied migration 5 at start" 1 "$(sql -c 'SELECT count(*) FROM secretsd.schema_migrations WHERE version = 5')"
expect_setting llm.api_key "sk-old-current-value-2222" true true
expect_setting LLM_MODEL   "gpt-4"                     false true
expect_setting stt.token   "stt-secret-after-3333"     true true
expect_setting tts.voice   "alloy"                     false false
expect_eq "a SCREAMING_SNAKE_CASE name is its own secret key" LLM_MODEL \
  "$(sql -c "SELECT secret_key FROM secretsd.global_settings WHERE name = 'LLM_MODEL'")"
expect_eq "no setting keeps a ciphertext of its own" 0 \
  "$(sql -c "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'secretsd'
               AND table_name = 'global_settings' AND data_type = 'bytea'")"
expect_rollback llm.api_key "sk-old-previous-value-1111"
expect_rollback LLM_MODEL   "gpt-3"
expect_rollback stt.token   "stt-public-before"
api GET /api/v0/admin/settings/stt.token
expect_eq "rolled back to a value saved before it turned sensitive, stt.token stays masked" true \
  "$(field "$body" data.is_sensitive)"
api POST /api/v0/admin/settings/tts.voice/rollback
expect_eq "tts.voice had no previous value: 409" 409 "$status"
expect_eq "the old log is kept as history" 7 "$(sql -c 'SELECT count(*) FROM secretsd.global_settings_log_before_0005')"
if sql -c "INSERT INTO secretsd.global_settings_log_before_0005 (setting_name, action, actor) VALUES ('x', 'update', 'x')" \
     >/dev/null 2>&1; then
  fail "the old log accepts new rows"
else
  pass "the old log is read-only"
fi

# ================================================================ 2. settings across a key's life cycle
put provider.token "tok-first-value-4444" true;   expect_eq "PUT provider.token" 201 "$status"
put provider.token "tok-second-value-5555" true;  expect_eq "PUT provider.token again" 200 "$status"
put PROVIDER_REGION "eu-west" false;              expect_eq "PUT PROVIDER_REGION" 201 "$status"
put PROVIDER_REGION "us-east" false;              expect_eq "PUT PROVIDER_REGION again" 200 "$status"

export PGHOST="$DIR/run" PGPORT="$PORT" PGUSER=postgres PGDATABASE="$DB"
settings_values=$(sql -c "SELECT (SELECT count(*) FROM secrets.secrets s WHERE s.household_id = '$GLOBAL'
                                      AND s.key IN (SELECT secret_key FROM secretsd.global_settings))
                                  + (SELECT count(*) FROM secrets.secret_versions v WHERE v.household_id = '$GLOBAL'
                                      AND v.key IN (SELECT secret_key FROM secretsd.global_settings))" \
                  || echo "unknown")
# 3 + 3 + 3 + 1 values of the upgraded settings (two rolled back), 2 + 2 new ones.
expect_eq "the settings' secrets hold 14 values (current and kept)" 14 "$settings_values"
expect_eq "secrets.key_status() counts every value of the settings" "$settings_values" \
  "$(sql -c "SELECT rows FROM secrets.key_status() WHERE key_version = 1")"

"$CTL" keys add --activate >"$DIR/ctl.log" 2>&1 || { cat "$DIR/ctl.log"; fail "secretsctl keys add --activate"; }
"$CTL" rotate >>"$DIR/ctl.log" 2>&1 || { cat "$DIR/ctl.log"; fail "secretsctl rotate"; }
expect_eq "after the rotation no value is under key 1" 0 \
  "$(sql -c "SELECT coalesce(sum(rows), 0) FROM secrets.key_status() WHERE key_version = 1")"
expect_eq "key 2 holds the settings' values" "$settings_values" \
  "$(sql -c "SELECT rows FROM secrets.key_status() WHERE key_version = 2")"
if "$CTL" keys retire 1 >>"$DIR/ctl.log" 2>&1; then pass "secretsctl keys retire 1"; else
  cat "$DIR/ctl.log"; fail "secretsctl keys retire 1"; fi
expect_eq "key 1 is gone from the server" "" "$(sql -c "SELECT key_version FROM secrets.loaded_key_versions() WHERE key_version = 1")"

expect_setting provider.token  "tok-second-value-5555"   true true
expect_setting PROVIDER_REGION "us-east"                 false true
expect_setting llm.api_key     "sk-old-previous-value-1111" true true
expect_setting tts.voice       "alloy"                   false false
expect_rollback provider.token  "tok-first-value-4444"
expect_rollback PROVIDER_REGION "eu-west"
expect_rollback llm.api_key     "sk-old-current-value-2222"
api GET /api/v0/admin/settings
expect_eq "the list answers 200" 200 "$status"

# The change log is the extension's audit trail, and its chains verify.
expect_eq "the settings' changes are in secrets.audit_log, by the admin" "create:admin,update:admin,rollback:admin" \
  "$(sql -c "SELECT string_agg(action || ':' || actor, ',' ORDER BY seq) FROM secrets.audit_log
               WHERE household_id = '$GLOBAL' AND key = 'PROVIDER_REGION'")"
expect_eq "every audit chain verifies" "" "$(sql -c 'SELECT * FROM secrets.verify_audit_chain()')"
if grep -qE 'sk-old|tok-(first|second)|stt-secret' "$DIR/secretsd.log" "$DIR/ctl.log"; then
  fail "a sensitive value reached secretsd's or secretsctl's output"
else
  pass "no sensitive value in secretsd's or secretsctl's output"
fi

if [ "$failures" -ne 0 ]; then
  echo "secretsd log (tail):"; tail -n 20 "$DIR/secretsd.log"
fi
finish
