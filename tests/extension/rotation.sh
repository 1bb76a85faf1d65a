#!/usr/bin/env bash
# Root key rotation end to end, on a cluster of its own (kill -9 restarts
# every backend of a cluster): values under key version 1, version 2 added
# and activated while reads and writes go on, a rotation killed with
# kill -9 mid-way and resumed after crash recovery, progress in key_status,
# and version 1 retired and removed from the key file. Every value must
# still decrypt to what it was, none may be lost, the audit chains must hold.
set -euo pipefail
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"

DIR=$(mktemp -d /tmp/pgsecrets-rotation.XXXXXX)
PORT=${PGSECRETS_ROTATION_PORT:-55497}
KEY="$DIR/keys/root.key"
LIVE=eeeeeeee-0000-0000-0000-00000000000e
HOUSEHOLDS=${PGSECRETS_ROTATION_HOUSEHOLDS:-40}
PER_HOUSEHOLD=${PGSECRETS_ROTATION_SECRETS:-1000}
cleanup() { [ -n "${BG:-}" ] && kill "$BG" 2>/dev/null; cluster_stop "$DIR"; rm -rf "$DIR"; }
trap cleanup EXIT
chown "$(cluster_owner)" "$DIR"
mkdir -p "$DIR/keys" && chown "$(cluster_owner)" "$DIR/keys"

failures=0
passes=0
pass() { echo "ok   - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
sql() { psql -X -At -h "$DIR/run" -p "$PORT" -U postgres -d rotation -v ON_ERROR_STOP=1 "$@" 2>&1; }
expect() { # expect NAME PATTERN OUTPUT
  if grep -qE -- "$2" <<<"$3"; then pass "$1"; else fail "$1"; echo "$3" | sed 's/^/       /' | head -8; fi
}
reload() { sql -d postgres -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.3; }
# A fingerprint of every value (current versions and history) in clear, and
# the row counts: equal fingerprints mean nothing was lost or changed.
fingerprint() {
  sql -c "SELECT count(*) || ':' || md5(string_agg(x, ',' ORDER BY x)) FROM (
            SELECT s.household_id || s.key || s.version || secrets.decrypt_secret(s.value, s.household_id,
                   secrets.secret_context(s.scope, s.node_id, s.key)) AS x FROM secrets.secrets s
            UNION ALL
            SELECT v.household_id || v.key || v.version || secrets.decrypt_secret(v.value, v.household_id,
                   secrets.secret_context(v.scope, v.node_id, v.key)) FROM secrets.secret_versions v) t"
}
status() { sql -c "SELECT key_version || ':' || active || ':' || rows FROM secrets.key_status()"; }

write_key_file "$KEY" 1
cluster_init "$DIR" "$PORT" "max_connections = 50"
cluster_start "$DIR"
psql -X -q -h "$DIR/run" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE rotation"
sql -c "CREATE EXTENSION pgsecrets" >/dev/null

# 1. Values under key version 1: current versions and history.
sql <<SQL >/dev/null
DO \$\$
DECLARE h uuid;
BEGIN
  FOR i IN 1 .. $HOUSEHOLDS LOOP
    h := ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid;
    PERFORM secrets.use_household(h);
    PERFORM secrets.set_secret('KEY_' || j, 'value-' || i || '-' || j, 'integration')
       FROM generate_series(1, $PER_HOUSEHOLD) j;
    PERFORM secrets.set_secret('KEY_' || j, 'second-' || i || '-' || j, 'integration')
       FROM generate_series(1, $PER_HOUSEHOLD / 10) j;
  END LOOP;
  PERFORM secrets.use_household(NULL);
END \$\$;
SQL
before=$(fingerprint)
total=$((HOUSEHOLDS * PER_HOUSEHOLD + HOUSEHOLDS * (PER_HOUSEHOLD / 10)))
expect "$total values written under key version 1" "^$total:" "$before"
expect "key_status: every value under version 1" "^1:true:$total$" "$(status)"

# 2. Add version 2 and activate it while reads and writes go on: none fails.
cat >"$DIR/live.pgbench" <<SQL
SELECT secrets.use_household('$LIVE', for_session => true);
SELECT secrets.set_secret('LIVE_' || (:client_id % 5), 'live-' || :client_id, 'integration');
SELECT length(secrets.get_secret('LIVE_' || (:client_id % 5), 'integration'));
SQL
pgbench -n -h "$DIR/run" -p "$PORT" -U postgres -c 4 -T 4 -f "$DIR/live.pgbench" rotation \
  >"$DIR/live.out" 2>&1 &
BG=$!
sleep 1
v1=$(awk '{print $2}' "$KEY")
( umask 077; printf '1 %s\n2 %s active\n' "$v1" "$(openssl rand -hex 32)" >"$KEY" )
reload
if wait "$BG"; then
  pass "reads and writes during the key change: $(grep -oE 'number of transactions actually processed: [0-9]+' "$DIR/live.out"), none failed"
else
  fail "reads or writes failed during the key change"; tail -5 "$DIR/live.out" | sed 's/^/       /'
fi
BG=
expect "new values use version 2 at once" "^2$" \
  "$(sql -c "SELECT secrets.use_household('$LIVE', for_session => true)" -c "SELECT (secrets.set_secret('AFTER', 'x', 'integration')).key_version")"
before=$(fingerprint)

# 3. Rotate in small committed batches, kill -9 the backend mid-way.
sql -c "CALL secrets.rotate_all(50)" >"$DIR/rotate1.out" 2>&1 &
BG=$!
pid=
for _ in $(seq 1 200); do
  pid=$(sql -d postgres -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL secrets.rotate_all%' AND pid <> pg_backend_pid()" | head -1)
  done_rows=$(sql -c "SELECT rows FROM secrets.key_status() WHERE key_version = 2" 2>/dev/null || echo 0)
  if [ -n "$pid" ] && [ "${done_rows:-0}" -gt $((total / 5)) ]; then break; fi
  sleep 0.1
done
mid=$(status)
if [ -n "$pid" ]; then
  kill -9 "$pid"
  pass "killed the rotating backend (pid $pid) with kill -9"
else
  fail "the rotation finished before it could be killed"
fi
wait "$BG" || true
BG=
for _ in $(seq 1 100); do
  if sql -c "SELECT 1" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
expect "the server went through crash recovery" "terminated by signal 9|all server processes terminated" "$(cat "$DIR/log/postgresql.log")"
expect "key_status showed progress mid-way (rows on both versions)" "^1:false:[1-9]" "$mid"
expect "key_status showed progress mid-way (rows on both versions)" "^2:true:[1-9]" "$mid"
after_kill=$(fingerprint)
if [ "$after_kill" = "$before" ]; then pass "after the crash every value decrypts and none is lost ($after_kill)"
else fail "values differ after the crash: $before vs $after_kill"; fi
left=$(sql -c "SELECT rows_to_rewrap FROM secrets.rotation_status()")
if [ "$left" -gt 0 ]; then pass "$left values left under version 1 after the kill"; else fail "nothing left to resume"; fi

# 4. Resume: picks up where it stopped, and is idempotent.
out=$(sql -c "CALL secrets.rotate_all(1000)")
expect "the resumed rotation rewraps the rest" "^$left$" "$out"
expect "a rotation re-run after the end has nothing to do" "^0$" "$(sql -c "CALL secrets.rotate_all(1000)")"
expect "key_status: no value left under version 1" "^1:false:0$" "$(status)"
expect "rotation_status: nothing left to rewrap" "^0$" "$(sql -c "SELECT rows_to_rewrap FROM secrets.rotation_status()")"
after=$(fingerprint)
if [ "$after" = "$before" ]; then pass "after the rotation every value decrypts to what it was"; else fail "values changed by the rotation"; fi
expect "rotation entries are in the audit trail" "^[1-9][0-9]*$" \
  "$(sql -c "SELECT count(*) FROM secrets.audit_log WHERE action = 'rotate'")"
expect "every audit chain verifies" "^0$" "$(sql -c "SELECT count(*) FROM secrets.verify_audit_chain()")"

# 5. Retire version 1: nothing uses it, so its line leaves the key file.
expect "retire_key(1) says version 1 is unused" "^true\|no value uses key version 1" \
  "$(sql -c "SELECT retirable || '|' || message FROM secrets.retire_key(1)")"
( umask 077; grep -v '^1 ' "$KEY" >"$KEY.new" ); mv "$KEY.new" "$KEY"; chown "$(cluster_owner)" "$KEY"; chmod 0600 "$KEY"
reload
expect "key 2 stays active after the reload" "^2:true:" "$(status)"
if grep -q '^1:' <<<"$(status)"; then fail "key 1 is no longer loaded"; else pass "key 1 is no longer loaded"; fi
after_retire=$(fingerprint)
if [ "$after_retire" = "$before" ]; then pass "with version 1 removed every value still decrypts"; else fail "values lost after retiring version 1"; fi
expect "audit entries chained under the retired key still verify through the chain" "^0$" \
  "$(sql -c "SELECT count(*) FROM secrets.verify_audit_chain()")"
grep -q "$v1" "$DIR/log/postgresql.log" && fail "a root key reached the server log" || pass "no root key in the server log"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
