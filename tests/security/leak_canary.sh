#!/usr/bin/env bash
# A canary value passed to pgsecrets functions must not reach the server log
# (log_statement=all, log_min_duration_statement=0, parameters logged, a
# failing statement), the WAL or the table files after a checkpoint.
# A control value written to a plain table must be found in the same places,
# which proves the search would have seen the canary.
# What the client receives is checked too: each failing cast of a decrypted
# value and each constraint violation over one must reach the client with
# its SQLSTATE and without the canary, beside a control (the same failure on
# a plain value) that must show the client its input under the same SQLSTATE:
# proof that the case hits the error it is meant to and that the search sees
# what the client got.
# Runs against the cluster scripts/test.sh started (PGSECRETS_TEST_DIR).
set -euo pipefail
: "${PGSECRETS_TEST_DIR:?run through scripts/test.sh}"
DATA="$PGSECRETS_TEST_DIR/data"
LOG="$PGSECRETS_TEST_LOG"
DB=leak_test
CANARY="canary-$(openssl rand -hex 8)"
CONTROL="control-$(openssl rand -hex 8)"
HH=cccccccc-0000-0000-0000-00000000000c
source "$(dirname "$0")/../lib/suite.bash"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
q -c "CREATE EXTENSION pgsecrets" -c "SELECT secrets.use_household('$HH', for_session => true)" >/dev/null

log_start=$(stat -c %s "$LOG")

# 1. simple protocol, every value function
q <<SQL >/dev/null
SELECT secrets.use_household('$HH', for_session => true);
SELECT secrets.set_secret('LEAK_SIMPLE', '$CANARY-simple', 'integration');
SELECT secrets.create_secret('LEAK_CREATE', '$CANARY-create');
SELECT secrets.update_secret('LEAK_CREATE', value => '$CANARY-update');
SELECT secrets.encrypt_secret('$CANARY-encrypt', '$HH', 'ctx');
SELECT length(secrets.get_secret('LEAK_SIMPLE', 'integration'));
SELECT count(*) FROM secrets.decrypted_secrets;
SQL

# 2. failing statements that carry the value
q -c "SELECT secrets.use_household('$HH', for_session => true)" \
  -c "SELECT secrets.set_secret('bad key', '$CANARY-badkey', 'integration')" >/dev/null 2>&1 || true
q -c "SELECT secrets.use_household('$HH', for_session => true)" \
  -c "SELECT secrets.set_secret('LEAK_INT', '$CANARY-int', 'integration', 'int')" >/dev/null 2>&1 || true
q -c "SELECT secrets.use_household('$HH', for_session => true)" \
  -c "SELECT secrets.set_secret('LEAK_CAST', '$CANARY-cast'::int::text, 'integration')" >/dev/null 2>&1 || true
q -c "SELECT secrets.use_household('$HH', for_session => true)" \
  -c "SELECT secrets.create_secret('LEAK_SIMPLE', '$CANARY-dup')" >/dev/null 2>&1 || true

# 3. extended protocol: the value travels as a bind parameter
cat >"$PGSECRETS_TEST_DIR/leak.pgbench" <<'SQL'
SELECT secrets.use_household(:hh, for_session => true);
SELECT secrets.set_secret('LEAK_PARAM', :canary, 'integration');
SELECT secrets.set_secret('bad key', :canary, 'integration');
SQL
pgbench -n -M extended -t 1 -f "$PGSECRETS_TEST_DIR/leak.pgbench" \
  -D canary="$CANARY-param" -D hh="$HH" "$DB" >/dev/null 2>&1 || true

# 4. SQL-level PREPARE / EXECUTE: the value is in the EXECUTE's text
q <<SQL >/dev/null
SELECT secrets.use_household('$HH', for_session => true);
PREPARE put_secret(text) AS SELECT secrets.set_secret('LEAK_PREPARED', \$1, 'integration');
EXECUTE put_secret('$CANARY-prepared');
EXECUTE  "put_secret" ('$CANARY-prepared-quoted');
SQL

# 5. a stored value cast to a type whose errors quote their input
#    (regclass: "relation ... does not exist"; json: a DETAIL and a CONTEXT,
#    which quote a whole token: the JSON value opens a string so that the
#    token is all of the canary, not just the word before its first dash)
q <<SQL >/dev/null
SELECT secrets.use_household('$HH', for_session => true);
SELECT (secrets.set_secret('LEAK_AS_NAME', '$CANARY-regclass', 'integration')).key;
SELECT (secrets.set_secret('LEAK_AS_JSON', '"$CANARY-json', 'integration')).key;
SQL
# What the client receives (psql's stdout and stderr, errors with their
# SQLSTATE): client_case NAME SQLSTATE CONTROL_SQL CANARY_SQL.
client() {
  psql -X -q -At -d "$DB" -v VERBOSITY=verbose -c "SELECT secrets.use_household('$HH', for_session => true)" \
    -c "$1" 2>&1 | grep -v '^$' || true
}
client_case() {
  local name=$1 state=$2 out
  out=$(client "$3")
  if grep -q "ERROR:  $state:" <<<"$out" && grep -q "$CONTROL" <<<"$out"; then
    pass "control: $name fails with $state and shows the client its input"
  else
    fail "control: $name did not fail with $state showing its input"; sed 's/^/       /' <<<"$out" | head -4
  fi
  out=$(client "$4")
  if grep -q "ERROR:  $state:" <<<"$out"; then pass "$name: the client got the error ($state)"
  else fail "$name: the client did not get a $state error"; sed 's/canary-[0-9a-f]*/<CANARY>/g; s/^/       /' <<<"$out" | head -4; fi
  if grep -q "$CANARY" <<<"$out"; then
    fail "$name: the client received the canary"; sed 's/canary-[0-9a-f]*/<CANARY>/g; s/^/       /' <<<"$out" | head -4
  else
    pass "$name: no canary in what the client received"
  fi
}
for cast in regclass:42P01 regrole:42704 regproc:42883 json:22P02 jsonb:22P02 int:22P02 date:22007; do
  type=${cast%%:*} state=${cast#*:}
  case $type in reg*) stored=LEAK_AS_NAME open= ;; *) stored=LEAK_AS_JSON open='"' ;; esac
  client_case "a decrypted value cast to $type" "$state" "SELECT '$open$CONTROL'::$type" \
    "SELECT secrets.get_secret('$stored', 'integration')::$type"
done
client_case "a literal cast inside a secrets call" 22P02 "SELECT '$CONTROL'::int::text" \
  "SELECT secrets.set_secret('LEAK_CAST', '$CANARY-cast'::int::text, 'integration')"
q -c "CREATE TABLE checked (v text CHECK (v NOT LIKE '%-%'))"
client_case "a decrypted value failing a CHECK constraint" 23514 "INSERT INTO checked VALUES ('$CONTROL')" \
  "INSERT INTO checked SELECT secrets.get_secret('LEAK_SIMPLE', 'integration')"
# Twice in one statement into a temporary table: the violation needs the
# value stored once, and a temporary table writes no WAL (the canary must
# stay out of the WAL and the data files, checked below).
uniq="CREATE TEMP TABLE uniq (v text UNIQUE); INSERT INTO uniq SELECT"
client_case "a decrypted value failing a UNIQUE constraint" 23505 "$uniq '$CONTROL' FROM generate_series(1, 2)" \
  "$uniq secrets.get_secret('LEAK_SIMPLE', 'integration') FROM generate_series(1, 2)"

# 6. auto_explain logs the plans of statements that set values
q <<SQL >/dev/null
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_verbose = on;
SELECT secrets.use_household('$HH', for_session => true);
SELECT (secrets.set_secret('LEAK_EXPLAINED', '$CANARY-autoexplain', 'integration')).key;
SQL

# the control, in clear in a plain table, through the same logging
q -c "CREATE TABLE plain_control (v text)" -c "INSERT INTO plain_control VALUES ('$CONTROL')"
q -c "CHECKPOINT" -d postgres
sleep 0.5

new_log=$(tail -c +"$((log_start + 1))" "$LOG")
if grep -q "$CONTROL" <<<"$new_log"; then pass "control value reached the log (the search works)"; else fail "control value not found in the log"; fi
if grep -q "$CANARY" <<<"$new_log"; then
  fail "canary found in the server log:"; grep -n "$CANARY" <<<"$new_log" | sed 's/canary-[0-9a-f]*/<CANARY>/g' | head -5
else
  pass "no canary in $(wc -l <<<"$new_log") new log lines"
fi
if grep -q "redacted by pgsecrets" <<<"$new_log"; then pass "statements were redacted"; else fail "no redaction marker in the log"; fi
if grep -q "Key must be SCREAMING_SNAKE_CASE" <<<"$new_log"; then pass "the failing statement's error is still logged"; else fail "the error line is missing from the log"; fi

if grep -rqa "$CONTROL" "$DATA/pg_wal"; then pass "control value found in WAL"; else fail "control value not in WAL"; fi
if grep -rqa "$CANARY" "$DATA/pg_wal"; then fail "canary found in WAL"; else pass "no canary in WAL"; fi
if grep -rqa "$CONTROL" "$DATA/base"; then pass "control value found in table files"; else fail "control value not in table files"; fi
set +e
grep -rqa "$CANARY" "$DATA/base" "$DATA/global" "$DATA/pg_xact" "$DATA/pg_multixact"
found=$?
set -e
case $found in
  0) fail "canary found in data files" ;;
  1) pass "no canary in table files" ;;
  *) fail "could not search every data file (grep exit $found)" ;;
esac

# The rows are there, encrypted: the canary was really written.
rows=$(q -At -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT count(*) FROM secrets.decrypted_secrets WHERE decrypted_value LIKE '%canary-%'" | tail -1)
if [ "$rows" -ge 7 ]; then pass "$rows canary rows stored and decryptable"; else fail "expected at least 7 canary rows, got $rows"; fi

psql -X -q -d postgres -c "DROP DATABASE $DB"
finish
