#!/usr/bin/env bash
# 100 clients update one secret at once, each with the expected_version it
# read just before: every update is either applied or rejected with SE005,
# nothing is lost. Afterwards the version count equals the applied count,
# the history holds exactly the applied values, one version each, and the
# audit trail has one entry per applied update and still verifies.
# Runs against the cluster scripts/test.sh started (PGSECRETS_TEST_DIR).
set -euo pipefail
: "${PGSECRETS_TEST_DIR:?run through scripts/test.sh}"
DB=concurrency_test
HH=ffffffff-0000-0000-0000-00000000000f
CLIENTS=${PGSECRETS_CONCURRENT_CLIENTS:-100}
source "$(dirname "$0")/../lib/suite.bash"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
q <<SQL >/dev/null
CREATE EXTENSION pgsecrets;
SELECT secrets.use_household('$HH', for_session => true);
SELECT secrets.configure_household(max_versions => 1000);
SELECT secrets.set_secret('SHARED_COUNTER', 'initial', 'integration');
CREATE TABLE outcomes (client int PRIMARY KEY, read_version int, result text);
-- One client's update: the outcome is recorded in the update's own transaction.
CREATE FUNCTION try_update(client int, expected int) RETURNS text LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM secrets.update_secret('SHARED_COUNTER', value => 'client-' || client, expected_version => expected);
  INSERT INTO outcomes VALUES (client, expected, 'applied');
  RETURN 'applied';
EXCEPTION WHEN SQLSTATE 'SE005' THEN
  INSERT INTO outcomes VALUES (client, expected, 'rejected');
  RETURN 'rejected';
END \$\$;
SQL

for c in $(seq 1 "$CLIENTS"); do
  q >"$PGSECRETS_TEST_DIR/concurrency-$c.out" 2>&1 <<SQL &
SELECT secrets.use_household('$HH', for_session => true) \\g /dev/null
SELECT version AS v FROM secrets.list_secrets() WHERE key = 'SHARED_COUNTER' \\gset
SELECT pg_sleep(random() * 0.2) \\g /dev/null
SELECT try_update($c, :v);
SQL
done
wait

errors=$(cat "$PGSECRETS_TEST_DIR"/concurrency-*.out | grep -c ERROR || true)
expect_eq "no client failed with anything but SE005" 0 "$errors"
r() { q -c "SELECT secrets.use_household('$HH', for_session => true)" -c "$1" | tail -1; }
applied=$(r "SELECT count(*) FROM outcomes WHERE result = 'applied'")
rejected=$(r "SELECT count(*) FROM outcomes WHERE result = 'rejected'")
expect_eq "every client was applied or rejected" "$CLIENTS" "$((applied + rejected))"
if [ "$applied" -ge 1 ] && [ "$rejected" -ge 1 ]; then pass "$applied applied, $rejected rejected as stale"
else fail "expected both applied and rejected updates: $applied applied, $rejected rejected"; fi
expect_eq "current version = 1 + applied" "$((1 + applied))" \
  "$(r "SELECT version FROM secrets.list_secrets() WHERE key = 'SHARED_COUNTER'")"
expect_eq "versions kept = 1 + applied" "$((1 + applied))" \
  "$(r "SELECT count(*) FROM secrets.list_secret_versions('SHARED_COUNTER', 'integration')")"
expect_eq "versions are 1..n without gaps" "t" \
  "$(r "SELECT array_agg(version ORDER BY version) = array(SELECT generate_series(1, $((1 + applied))))
          FROM secrets.list_secret_versions('SHARED_COUNTER', 'integration')")"
# Each applied client's value is in exactly one version; no rejected one is.
expect_eq "history holds exactly the applied values" "t" \
  "$(r "SELECT (SELECT array_agg(x ORDER BY x) FROM (
                   SELECT secrets.get_secret('SHARED_COUNTER', 'integration', version => v.version) AS x
                     FROM secrets.list_secret_versions('SHARED_COUNTER', 'integration') v
                    WHERE v.version > 1) s)
             = (SELECT array_agg(y ORDER BY y) FROM (
                   SELECT 'client-' || client AS y FROM outcomes WHERE result = 'applied') t)")"
expect_eq "each applied update read the version it replaced" "t" \
  "$(r "SELECT count(DISTINCT read_version) = count(*) FROM outcomes WHERE result = 'applied'")"
expect_eq "one audit entry per applied update" "$applied" \
  "$(r "SELECT count(*) FROM secrets.audit_log WHERE key = 'SHARED_COUNTER' AND action = 'update'")"
expect_eq "no audit entry holds a value" "0" \
  "$(r "SELECT count(*) FROM secrets.audit_log a WHERE a::text LIKE '%client-%'")"
expect_eq "the household's audit chain verifies" "0" "$(r "SELECT count(*) FROM secrets.verify_audit_chain()")"

rm -f "$PGSECRETS_TEST_DIR"/concurrency-*.out
psql -X -q -d postgres -c "DROP DATABASE $DB"
finish
