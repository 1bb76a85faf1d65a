#!/usr/bin/env bash
# secretsctl against a cluster of its own: exit codes and messages on bad
# input, init, seed (--list and idempotent seeding), households grant, the
# key life cycle (add, activate, status, retire), a rotation interrupted by
# SIGINT and resumed, audit verify, and no key material in any output.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.bash"
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"

CTL=${SECRETSCTL:-${BUILD_BIN_DIR:-$PROJECT_DIR/build/bin}/secretsctl}
[ -x "$CTL" ] || skip_suite "$CTL is not built"

DIR=$(mktemp -d /tmp/pgsecrets-secretsctl.XXXXXX)
PORT=${PGSECRETS_SECRETSCTL_PORT:-55496}
KEY="$DIR/keys/root.key"
HH=eeeeeeee-0000-4000-8000-00000000000e
ROWS=${SECRETSCTL_TEST_ROWS:-20000}
trap 'cluster_stop "$DIR"; rm -rf "$DIR"' EXIT
chown "$(cluster_owner)" "$DIR"
unset DATABASE_URL PGHOST PGPORT PGUSER PGDATABASE PGSERVICE

ALL_OUTPUT="$DIR/all-output.log"   # everything secretsctl printed, checked for key material at the end
# ctl ARGS...: runs secretsctl, sets $rc and $out (stdout and stderr).
ctl() {
  set +e
  out=$("$CTL" "$@" 2>&1)
  rc=$?
  set -e
  printf '%s\n' "$out" >>"$ALL_OUTPUT"
}
expect_rc() { # expect_rc NAME CODE
  if [ "$rc" = "$2" ]; then pass "$1 (exit $2)"; else fail "$1: exit $rc, expected $2"; show_output "$out"; fi
}
remember_keys() { grep -ohE '[0-9a-f]{64}' "$@" >>"$DIR/hexes" 2>/dev/null || true; }
sql() { psql -X -At -h "$DIR/run" -p "$PORT" -U postgres -d ctl -v ON_ERROR_STOP=1 "$@" 2>&1; }

# ---------------------------------------------------------------- 1. usage and bad input, no database
ctl --help;                       expect_rc "secretsctl --help" 0
expect "the help lists the exit codes" "3 +bad input file" "$out"
for cmd in init "keys" "keys add" "keys activate" "keys status" "keys retire" rotate seed "audit verify" "households grant"; do
  # shellcheck disable=SC2086
  ctl $cmd --help;                expect_rc "secretsctl $cmd --help" 0
  expect "secretsctl $cmd --help prints a usage line" "^usage: secretsctl" "$out"
done
ctl frobnicate;                   expect_rc "an unknown command" 2
expect "an unknown command is named" "unknown command 'frobnicate'" "$out"
ctl;                              expect_rc "no command" 2
ctl keys frob;                    expect_rc "an unknown keys subcommand" 2
ctl keys add --frob;              expect_rc "an unknown option" 2
expect "an unknown option is named with a pointer to --help" "unknown option '--frob'.*keys add --help" "$out"
ctl rotate --batch 0;             expect_rc "rotate --batch 0" 2
ctl rotate --batch;               expect_rc "an option without its value" 2
ctl households grant r not-a-uuid; expect_rc "households grant with a bad UUID" 2
ctl households grant r "$HH" owner; expect_rc "households grant with a bad privilege" 2
ctl seed --manifest "$DIR/missing.json" --list; expect_rc "seed --list with a missing manifest" 3
expect "the missing manifest is named" "missing.json\" does not exist" "$out"
printf '{\n  "command": "leaky",\n  "secrets": [{"key": "A", "value": "CANARY-VALUE-123" oops}]\n}\n' >"$DIR/bad.json"
ctl seed --list --manifest "$DIR/bad.json"; expect_rc "seed --list with bad JSON" 3
expect "bad JSON: the file and the position are named" "bad.json: invalid JSON at line 3, column [0-9]+" "$out"
reject "bad JSON: the content is not echoed" "CANARY-VALUE-123|oops" "$out"
ctl seed --manifest "$DIR/bad.json" --household "$HH"; expect_rc "seed with bad JSON" 3
printf '[{"key": "lower_case_is_checked_by_the_server", "required": "yes"}]\n' >"$DIR/shape.json"
ctl seed --list --manifest "$DIR/shape.json"; expect_rc "a manifest seed_secrets would refuse" 3
ctl keys add --key-file "$DIR/nope.key" --no-reload; expect_rc "keys add with a missing key file" 3
( umask 077; printf '1 %s active\n2 %s active\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 32)" >"$DIR/bad.key" )
ctl keys add --key-file "$DIR/bad.key" --no-reload; expect_rc "keys add with a bad key file" 3
expect "the bad key file's line and rule are named" "bad.key\" line 2: more than one key is marked active" "$out"
ctl keys retire x --key-file "$DIR/bad.key"; expect_rc "keys retire with a bad VERSION" 2

# ---------------------------------------------------------------- 2. init
mkdir -p "$DIR/keys"; chmod 0700 "$DIR/keys"; chown "$(cluster_owner)" "$DIR/keys"
ctl init --key-file "$KEY";       expect_rc "init creates a key file" 0
expect "init prints the postgresql.conf lines" "shared_preload_libraries = 'pgsecrets'" "$out"
expect "init prints pgsecrets.key_file" "pgsecrets.key_file = '$KEY'" "$out"
expect "init prints CREATE EXTENSION" "CREATE EXTENSION pgsecrets" "$out"
expect "init prints the gateway login" "CREATE ROLE secretsd LOGIN IN ROLE pgsecrets_gateway" "$out"
expect "the key file is mode 0600, owned by the server's user" "^600 $(cluster_owner)$" "$(stat -c '%a %U' "$KEY")"
expect "the key file holds a header and version 1 active" "^1 [0-9a-f]{64} active$" "$(cat "$KEY")"
expect "the key file starts with a comment" "^#" "$(head -1 "$KEY")"
remember_keys "$KEY" "$DIR/bad.key"
before=$(md5sum <"$KEY")
ctl init --key-file "$KEY";       expect_rc "init refuses to overwrite a key file" 1
expect "init says why and how" "already exists.*--force" "$out"
if [ "$before" = "$(md5sum <"$KEY")" ]; then pass "the refused init left the file alone"; else fail "the refused init changed the file"; fi

# --force twice within a second keeps both earlier keys: nothing overwrites a kept copy.
cp -p "$KEY" "$DIR/key.orig"
ctl init --key-file "$KEY" --force; rc1=$rc
remember_keys "$KEY"
ctl init --key-file "$KEY" --force; rc2=$rc
remember_keys "$KEY"
mapfile -t kept < <(ls "$KEY".replaced-* | sort)
if [ "$rc1$rc2" = 00 ] && [ "${#kept[@]}" -eq 2 ] && cmp -s "$DIR/key.orig" "${kept[0]}" \
   && ! cmp -s "${kept[0]}" "${kept[1]}" && ! cmp -s "${kept[1]}" "$KEY"; then
  pass "init --force twice keeps both replaced keys (${kept[*]##*/})"
else
  fail "init --force twice: rc $rc1/$rc2, kept ${#kept[@]} copies"
fi
rm -f "$KEY".replaced-*
cp -p "$DIR/key.orig" "$KEY"

# Concurrent edits of the key file are serialised (a lock next to it): five
# pairs of simultaneous `keys add` leave ten new versions, none lost.
cp -p "$KEY" "$DIR/before-add.key"
versions_before=$(grep -cE '^[0-9]+ ' "$KEY")
for _ in 1 2 3 4 5; do
  "$CTL" keys add --key-file "$KEY" --no-reload >>"$DIR/concurrent-1.out" 2>&1 & first=$!
  "$CTL" keys add --key-file "$KEY" --no-reload >>"$DIR/concurrent-2.out" 2>&1 & second=$!
  wait "$first"; wait "$second"
done
cat "$DIR/concurrent-1.out" "$DIR/concurrent-2.out" >>"$ALL_OUTPUT"
remember_keys "$KEY"
versions_after=$(grep -cE '^[0-9]+ ' "$KEY")
distinct=$(grep -oE '^[0-9]+ ' "$KEY" | sort -u | wc -l)
if [ "$versions_after" -eq $((versions_before + 10)) ] && [ "$distinct" -eq "$versions_after" ]; then
  pass "ten concurrent keys add: $versions_before -> $versions_after versions, all distinct"
else
  fail "ten concurrent keys add: $versions_before -> $versions_after versions ($distinct distinct)"
fi
cp -p "$DIR/before-add.key" "$KEY"

# A connection string libpq cannot parse is not echoed (it may hold a password).
ctl audit verify --database 'postgresql://admin:Sup3r%zzSecret@localhost/db'
expect_rc "a malformed connection string is an operational error" 1
reject "the password is not echoed" "Sup3r" "$out"
expect "the error says why" "connection string is not valid" "$out"

# ---------------------------------------------------------------- the cluster, on the file init wrote
cluster_init "$DIR" "$PORT"
cluster_start "$DIR"
psql -X -q -h "$DIR/run" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE ctl"
sql -q -c "CREATE EXTENSION pgsecrets" >/dev/null
export PGHOST="$DIR/run" PGPORT="$PORT" PGUSER=postgres PGDATABASE=ctl

ctl init --key-file "$DIR/keys/second.key" --gateway-role ctl_gateway --database "host=$DIR/run port=$PORT user=postgres dbname=ctl"
expect_rc "init --database creates the gateway login role" 0
expect "init says it created the role" "created login role ctl_gateway" "$out"
expect "the gateway role logs in and is a member of pgsecrets_gateway" "^t\|t$" \
  "$(sql -c "SELECT rolcanlogin, pg_has_role('ctl_gateway', 'pgsecrets_gateway', 'MEMBER') FROM pg_roles WHERE rolname = 'ctl_gateway'")"

ctl keys status;                  expect_rc "keys status" 0
expect "keys status reads the key file from SHOW pgsecrets.key_file" "key file: $KEY" "$out"
expect "keys status: version 1 active and loaded" "^ +1 +yes +yes +yes +0 +[0-9a-f]{16} +- +not recorded$" "$out"

# ---------------------------------------------------------------- 3. seed
mkdir -p "$DIR/manifests"
cat >"$DIR/manifests/weather.json" <<'EOF'
{"command": "get_weather",
 "required_secrets": [{"key": "OPENWEATHER_API_KEY"}],
 "all_possible_secrets": [
   {"key": "OPENWEATHER_API_KEY", "description": "API key", "scope": "integration", "value_type": "string"},
   {"key": "WEATHER_UNITS", "scope": "integration", "value_type": "string", "required": false}]}
EOF
cat >"$DIR/manifests/misc.json" <<'EOF'
[{"command": "get_stock_price", "required_secrets": [{"key": "FINANCE_API_KEY"}, {"key": "DEFAULT_CURRENCY", "required": false}]},
 {"command": "set_timer", "secrets": [{"key": "TIMER_LIMIT", "value_type": "int", "scope": "node", "node_id": "kitchen"}]}]
EOF
echo 'not json' >"$DIR/manifests/README.txt"
ctl seed --list --manifest "$DIR/manifests"; expect_rc "seed --list a directory" 0
expect "seed --list names each command" "get_weather .*weather.json" "$out"
expect "seed --list shows all_possible_secrets" "WEATHER_UNITS +integration +string +optional" "$out"
expect "seed --list shows scope, type and node" "TIMER_LIMIT +node +int +required +node kitchen" "$out"
SECRETSCTL_MANIFESTS="$DIR/none" ctl seed --household "$HH"; expect_rc "seed with a missing default manifest directory" 3
ctl seed --manifest "$DIR/manifests"; expect_rc "seed without --household" 2
ctl seed --manifest "$DIR/manifests" --household "$HH"; expect_rc "seed a directory" 0
expect "seed prints rows created per command" "get_weather: 2 created, 0 already present" "$out"
expect "seed prints each command of a list" "set_timer: 1 created" "$out"
expect "seed prints the total" "5 row\(s\) created" "$out"
sql -q -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT secrets.set_secret('OPENWEATHER_API_KEY', 'ow-kept', 'integration')" >/dev/null
ctl seed --manifest "$DIR/manifests/weather.json" --household "$HH"; expect_rc "seed again" 0
expect "seeding again creates nothing" "get_weather: 0 created, 2 already present" "$out"
expect "seeding never overwrites a value" "^ow-kept$" \
  "$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration')")"
ctl seed --manifest "$DIR/shape.json" --household "$HH"; expect_rc "seed a manifest with a bad field type" 3

# ---------------------------------------------------------------- 4. households grant
sql -q -c "CREATE ROLE weather_service LOGIN" >/dev/null
ctl households grant weather_service "$HH" write; expect_rc "households grant" 0
expect "the grant is recorded" "^write$" \
  "$(sql -c "SELECT privilege FROM secrets.household_grants WHERE grantee = 'weather_service'::regrole AND household_id = '$HH'")"
ctl households grant weather_service "$HH"; expect_rc "households grant (default read)" 0
expect "granting again changes the privilege" "^read$" \
  "$(sql -c "SELECT privilege FROM secrets.household_grants WHERE grantee = 'weather_service'::regrole AND household_id = '$HH'")"
ctl households grant no_such_role "$HH" read; expect_rc "households grant to a missing role" 1
expect "the server's reason is shown" "role \"no_such_role\" does not exist" "$out"
ctl households grant weather_service "$HH" read --database "host=$DIR/run port=1 user=postgres"
expect_rc "an unreachable database" 1
expect "an unreachable database is reported" "cannot connect to the database" "$out"

# ---------------------------------------------------------------- 5. keys add / activate / retire
sql -q -c "SELECT secrets.use_household('$HH', for_session => true)" \
    -c "SELECT count(secrets.set_secret('ROT_' || i, 'value-' || i, 'integration')) FROM generate_series(1, $ROWS) i" >/dev/null
ctl keys add;                     expect_rc "keys add" 0
expect "keys add: version 2, version 1 stays active" "added key version 2 .*version 1 stays active" "$out"
expect "keys add reloads and checks the server" "server reloaded: key version 2 is loaded" "$out"
expect "keys add keeps mode and owner" "^600 $(cluster_owner)$" "$(stat -c '%a %U' "$KEY")"
expect "the file now marks version 1 active explicitly" "^1 [0-9a-f]{64} active$" "$(cat "$KEY")"
expect "and holds version 2" "^2 [0-9a-f]{64}$" "$(cat "$KEY")"
ls -A "$DIR/keys" | grep -q '^\.root\.key\.' && fail "a temporary key file was left behind" || pass "no temporary key file left behind"
remember_keys "$KEY" "$DIR/keys/second.key"
ctl keys activate 2;              expect_rc "keys activate 2" 0
expect "keys activate checks the server" "server reloaded: key version 2 is active" "$out"
expect "keys activate points at rotate" "still encrypted under older versions: run 'secretsctl rotate'" "$out"
ctl keys activate 9;              expect_rc "keys activate of a missing version" 1
ctl keys status;                  expect_rc "keys status after activation" 0
expect "status: version 1 inactive, still holds the rows" "^ +1 +no +yes +yes +[1-9][0-9]* +[0-9a-f]{16} +[0-9a-f]{16} +match$" "$out"
expect "status: version 2 active" "^ +2 +yes +yes +yes +0 +[0-9a-f]{16} +- +not recorded$" "$out"
ctl keys retire 1;                expect_rc "keys retire of a version rows still use" 1
expect "retire says how many values and what to do" "value\(s\) are still encrypted under key version 1; run 'secretsctl rotate' first" "$out"
ctl keys retire 2;                expect_rc "keys retire of the active key" 1
expect "the active key is never retired" "active key" "$out"

# ---------------------------------------------------------------- 6. rotate, interrupted and resumed
if [ "$(sql -c "SELECT to_regprocedure('secrets.rotate(integer)') IS NOT NULL")" != t ]; then
  fail "rotate: the extension has no secrets.rotate(integer)"
else
  set +e
  # 200 batches with a 200 ms pause after each: far longer than it takes
  # to interrupt it after the first, so the interruption is always exercised.
  "$CTL" rotate --batch 100 --sleep-ms 200 >"$DIR/rotate1.out" 2>"$DIR/rotate1.err" &
  rot=$!
  set -e
  for _ in $(seq 1 200); do   # wait until it has rewrapped something, then interrupt
    n=$(sql -c "SELECT coalesce(sum(rows), 0) FROM secrets.key_status() WHERE key_version = 2")
    [ "$n" -gt 0 ] && break
    sleep 0.05
  done
  kill -INT "$rot" 2>/dev/null || true
  set +e; wait "$rot"; rc=$?; set -e
  out=$(cat "$DIR/rotate1.out" "$DIR/rotate1.err"); printf '%s\n' "$out" >>"$ALL_OUTPUT"
  left=$(sql -c "SELECT coalesce(sum(rows), 0) FROM secrets.key_status() WHERE key_version = 1")
  if [ "$rc" = 0 ]; then
    fail "rotate finished before SIGINT arrived; the interruption was not exercised"
  else
    expect_rc "rotate stops on SIGINT" 130
    expect "rotate says how to resume" "interrupted; run again to resume" "$out"
    expect "rotate drew a progress bar" "rotate \[#*-*\] [0-9]+/[0-9]+ rows" "$out"
    if [ "$left" -gt 0 ]; then pass "the interrupted rotation left rows on version 1 ($left)"; else fail "no rows left on version 1 after SIGINT"; fi
    expect "rows already rewrapped are committed" "^[1-9][0-9]*$" "$(sql -c "SELECT rows FROM secrets.key_status() WHERE key_version = 2")"
  fi
  ctl rotate --batch 500;         expect_rc "rotate resumes and finishes" 0
  expect "rotate reports completion" "done: [0-9]+ row\(s\) rewrapped; every row is on key version 2" "$out"
  expect "no row is left on version 1" "^0$" "$(sql -c "SELECT coalesce(sum(rows), 0) FROM secrets.key_status() WHERE key_version = 1")"
  expect "every rotated row decrypts to its value" "^$ROWS$" \
    "$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" \
           -c "SELECT count(*) FROM secrets.decrypted_secrets WHERE key LIKE 'ROT\_%' AND decrypted_value = 'value-' || substr(key, 5)")"
  expect "every row's ciphertext names version 2" "^0$" \
    "$(sql -c "SELECT count(*) FROM secrets.secrets WHERE secrets.ciphertext_key_version(value) <> 2")"
  ctl rotate;                     expect_rc "rotate with nothing to do" 0
  expect "rotate says there is nothing to do" "nothing to do" "$out"

  ctl keys retire 1;              expect_rc "keys retire 1 after the rotation" 0
  expect "retire reloads and checks the server" "server reloaded: key version 1 is no longer loaded" "$out"
  reject "version 1 is gone from the key file" "^1 " "$(cat "$KEY")"
  expect "version 2 stays, active" "^2 [0-9a-f]{64} active$" "$(cat "$KEY")"
  expect "the file is still mode 0600, owned by the server's user" "^600 $(cluster_owner)$" "$(stat -c '%a %U' "$KEY")"
  expect "values still decrypt after the retirement" "^ow-kept$" \
    "$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration')")"
fi

# ---------------------------------------------------------------- 7. audit verify
if [ "$(sql -c "SELECT to_regproc('secrets.verify_audit_chain') IS NOT NULL")" != t ]; then
  fail "audit verify: the extension has no secrets.verify_audit_chain()"
else
  ctl audit verify;               expect_rc "audit verify on an intact chain" 0
  expect "audit verify prints OK" "^OK" "$out"
  ctl audit verify --household "$HH"; expect_rc "audit verify of one household" 0
  sql -q -c "ALTER TABLE secrets.audit_log DISABLE TRIGGER audit_log_append_only" \
      -c "UPDATE secrets.audit_log SET actor = 'mallory' WHERE household_id = '$HH' AND seq = 3" \
      -c "ALTER TABLE secrets.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only" >/dev/null
  ctl audit verify;               expect_rc "audit verify on a tampered chain" 1
  expect "audit verify names the first broken link" "BROKEN: .*household_id=$HH.*seq=3" "$out"
fi

# ---------------------------------------------------------------- 8. no key material anywhere
leaked=0
while read -r hex; do
  grep -qi -- "$hex" "$ALL_OUTPUT" && leaked=1
done < <(remember_keys "$KEY"; sort -u "$DIR/hexes")
if [ "$leaked" = 0 ]; then pass "secretsctl never printed key material"; else fail "key material in secretsctl's output"; fi

[ -n "${SECRETSCTL_TEST_SHOW:-}" ] && cp "$ALL_OUTPUT" "$SECRETSCTL_TEST_SHOW"
finish
