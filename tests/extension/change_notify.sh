#!/usr/bin/env bash
# The extension announces every change of a secret on 'pgsecrets_changes'
# in the transaction of the change: a listening psql shows one notification
# per create, update, rollback, delete, restore and purge, one for a seed
# batch, none for a read, a grant or a write that rolled back, and no
# payload holds a value or a key. (The PID and audit ids are masked.)
# Runs against the cluster scripts/test.sh started (PGSECRETS_TEST_DIR).
set -euo pipefail
: "${PGSECRETS_TEST_DIR:?run through scripts/test.sh}"
DB=change_notify_test
HH=cccccccc-0000-0000-0000-0000000000c7
CANARY="canary-$(openssl rand -hex 8)"
source "$(dirname "$0")/../lib/suite.bash"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION pgsecrets" \
  -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'notify_reader') THEN CREATE ROLE notify_reader; END IF; END \$\$"

# One session: every statement commits on its own (autocommit), so each
# change's notification is printed after it.
out=$(psql -X -q -v ON_ERROR_STOP=1 -d "$DB" 2>&1 <<SQL
SELECT secrets.use_household('$HH', for_session => true) \g /dev/null
LISTEN pgsecrets_changes;
\echo step create
SELECT secrets.set_secret('NOTIFIED', '$CANARY-1', 'integration') \g /dev/null
\echo step update
SELECT secrets.set_secret('NOTIFIED', '$CANARY-2', 'integration') \g /dev/null
\echo step rollback
SELECT secrets.rollback_secret('NOTIFIED', 'integration', 1) \g /dev/null
\echo step read
SELECT secrets.get_secret('NOTIFIED', 'integration') \g /dev/null
\echo step grant
SELECT secrets.grant_household('notify_reader', '$HH', 'read') \g /dev/null
\echo step delete
SELECT secrets.delete_secret('NOTIFIED', 'integration') \g /dev/null
\echo step restore
SELECT secrets.restore_secret('NOTIFIED', 'integration') \g /dev/null
\echo step rolled-back
BEGIN;
SELECT secrets.set_secret('NEVER', '$CANARY-3', 'integration') \g /dev/null
ROLLBACK;
\echo step purge
SELECT secrets.delete_secret('NOTIFIED', 'integration') \g /dev/null
SELECT secrets.purge_secret('NOTIFIED', 'integration') \g /dev/null
\echo step seed
SELECT secrets.seed_secrets('{"all_possible_secrets": [{"key": "SEED_A"}, {"key": "SEED_B"}, {"key": "SEED_C"}]}') \g /dev/null
\echo step end
SQL
)
masked=$(sed -E -e 's/PID [0-9]+/PID N/' -e 's/"(id|first_id)" ?: ?[0-9]+/"\1":ID/g' <<<"$out")
note() { echo "Asynchronous notification \"pgsecrets_changes\" with payload \"{\"id\":ID, $1\"household\" : \"$HH\", \"action\" : \"$2\"}\" received from server process with PID N."; }
expected="step create
$(note "" create)
step update
$(note "" update)
step rollback
$(note "" rollback)
step read
step grant
step delete
$(note "" delete)
step restore
$(note "" restore)
step rolled-back
step purge
$(note "" delete)
$(note "" purge)
step seed
$(note '"first_id":ID, "count" : 3, ' create)
step end"
if [ "$masked" = "$expected" ]; then pass "one notification per change, none for a read, a grant or a rollback"
else fail "notifications differ from the expected ones"; diff <(echo "$expected") <(echo "$masked") | sed 's/^/       /'; fi

# The ids are the audit ids of the entries (the seed's: its last, and its first).
ids=$(grep -oE '"id" ?: ?[0-9]+' <<<"$out" | grep -oE '[0-9]+' | tr '\n' ' ')
audit=$(psql -X -At -d "$DB" -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM secrets.audit_log
  WHERE household_id = '$HH' AND action IN ('create','update','delete','restore','rollback','purge')
    AND key NOT IN ('SEED_A', 'SEED_B')")
first=$(grep -oE '"first_id" ?: ?[0-9]+' <<<"$out" | grep -oE '[0-9]+' || true)
seed_a=$(psql -X -At -d "$DB" -c "SELECT id FROM secrets.audit_log WHERE household_id = '$HH' AND key = 'SEED_A'")
if [ "${ids% }" = "$audit" ] && [ "$first" = "$seed_a" ]; then pass "payload ids are the audit log's ids"
else fail "payload ids [$ids] first [$first] vs audit ids [$audit] first [$seed_a]"; fi

if grep -q -e "$CANARY" -e NOTIFIED -e SEED_ <<<"$out"; then fail "a payload holds a value or a key"
else pass "no payload holds a value or a key"; fi

finish
