#!/usr/bin/env bash
# autovacuum is a security-restricted operation too (README, "Household
# isolation"): its ANALYZE evaluates an expression index as the table's
# owner, in a worker that is a superuser. On a cluster of its own with a
# one-second naptime, a role with no household grant indexes an expression
# that reads decrypted values, autovacuum analyzes the table (waited for in
# pg_stat_user_tables, not guessed with a sleep), and the statistics it
# gathered must show that the expression saw no row and no value. The
# control: the same function, called by a superuser, does see the value.
set -euo pipefail
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"

DIR=$(mktemp -d /tmp/pgsecrets-autovacuum.XXXXXX)
PORT=${PGSECRETS_AUTOVACUUM_PORT:-55483}
HH=aaaaaaaa-0000-0000-0000-0000000000a1
cleanup() { cluster_stop "$DIR"; rm -rf "$DIR"; }
trap cleanup EXIT
chown "$(cluster_owner)" "$DIR"
mkdir -p "$DIR/keys" && chown "$(cluster_owner)" "$DIR/keys"

source "$(dirname "$0")/../lib/suite.bash"
sql() { psql -X -At -h "$DIR/run" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@" 2>&1; }

write_key_file "$DIR/keys/root.key" 1
cluster_init "$DIR" "$PORT" "autovacuum_naptime = 1"
cluster_start "$DIR"
cat >"$DIR/setup.sql" <<SQL
CREATE EXTENSION pgsecrets;
SELECT secrets.use_household('$HH', for_session => true);
SELECT secrets.set_secret('AUTOVACUUM_BAIT', 'seen-by-autovacuum', 'integration');
CREATE ROLE regress_av_owner LOGIN;
-- A user of another household: it may query secrets, and sees only its own.
SELECT secrets.grant_household('regress_av_owner', 'bbbbbbbb-0000-0000-0000-0000000000b2', 'write');
CREATE SCHEMA av AUTHORIZATION regress_av_owner;
SET SESSION AUTHORIZATION regress_av_owner;
CREATE FUNCTION av.leak(int) RETURNS text LANGUAGE plpgsql IMMUTABLE AS \$\$
BEGIN
  RETURN (SELECT count(*) FROM secrets.secrets)::text || ' rows, value: ' ||
         coalesce((SELECT d.decrypted_value FROM secrets.decrypted_secrets d
                    WHERE d.household_id = '$HH' AND d.key = 'AUTOVACUUM_BAIT'), 'none');
EXCEPTION WHEN others THEN
  RETURN 'error';
END \$\$;
CREATE TABLE av.bait (x int) WITH (autovacuum_analyze_threshold = 0, autovacuum_analyze_scale_factor = 0);
CREATE INDEX bait_leak ON av.bait ((av.leak(x)));
INSERT INTO av.bait SELECT 1 FROM generate_series(1, 100);
SQL
setup=$(sql -f "$DIR/setup.sql") || { echo "$setup"; exit 1; }
expect_sees=$(sql -c "SELECT av.leak(1)")
if [ "$expect_sees" = "1 rows, value: seen-by-autovacuum" ]; then
  pass "control: a superuser calling the function sees the value"
else
  fail "control: the superuser's own call did not see the value ($expect_sees)"
fi

analyzed=
for _ in $(seq 1 1200); do  # the condition is autovacuum's own record; 120 s only ends a hang
  analyzed=$(sql -c "SELECT autoanalyze_count > 0 FROM pg_stat_user_tables WHERE relid = 'av.bait'::regclass")
  [ "$analyzed" = t ] && break
  sleep 0.1
done
if [ "$analyzed" = t ]; then pass "autovacuum analyzed the table"; else fail "autovacuum never analyzed the table"; fi
stats=$(sql -c "SELECT array_to_string(most_common_vals, ',') FROM pg_stats WHERE tablename = 'bait_leak'")
if [ "$stats" = "0 rows, value: none" ]; then
  pass "the index expression saw no row and no value under autovacuum ($stats)"
else
  fail "under autovacuum the index expression saw: $stats"
fi
grep -q "seen-by-autovacuum" "$DIR/log/postgresql.log" && fail "the value reached the server log" || pass "the value is not in the server log"

finish
