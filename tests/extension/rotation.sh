#!/usr/bin/env bash
# Root key rotation end to end, on a cluster of its own (kill -9 restarts
# every backend of a cluster): values under key version 1, version 2 added
# and activated while reads and writes go on, a rotation killed with
# kill -9 mid-way and resumed after crash recovery, progress in key_status,
# and version 1 retired and removed from the key file. A batch takes the
# provider settings' household lock before any row (no deadlock with a
# settings change). Every value must
# still decrypt to what it was, none may be lost, the audit chains must hold.
# The resumed run must start at the persisted cursor (it reads only the
# blocks from there), and it runs beside writers and a session holding row
# locks: it must rewrap every other row without waiting for that session,
# retry the held rows once they are free, and rewrap each row exactly once.
# Every wait is on a condition (a lock wait seen in pg_stat_activity, a row
# count), never on a sleep of a guessed length.
set -euo pipefail
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"

DIR=$(mktemp -d /tmp/pgsecrets-rotation.XXXXXX)
PORT=${PGSECRETS_ROTATION_PORT:-55497}
KEY="$DIR/keys/root.key"
LIVE=eeeeeeee-0000-0000-0000-00000000000e
HOUSEHOLDS=${PGSECRETS_ROTATION_HOUSEHOLDS:-40}
PER_HOUSEHOLD=${PGSECRETS_ROTATION_SECRETS:-1000}
# Written only during the resumed rotation (by pgbench, and by the session
# holding rows: each its own household, since a write holds its household's
# audit chain until it commits).
WRITERS=dddddddd-0000-0000-0000-00000000000d
HOLDER_HH=dddddddd-0000-0000-0000-0000000000de
cleanup() {
  [ -n "${BG:-}" ] && kill "$BG" 2>/dev/null
  [ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
  [ -n "${WRITERS_PID:-}" ] && kill "$WRITERS_PID" 2>/dev/null
  cluster_stop "$DIR"; rm -rf "$DIR"
}
trap cleanup EXIT
chown "$(cluster_owner)" "$DIR"
mkdir -p "$DIR/keys" && chown "$(cluster_owner)" "$DIR/keys"

source "$(dirname "$0")/../lib/suite.bash"
sql() { psql -X -At -h "$DIR/run" -p "$PORT" -U postgres -d rotation -v ON_ERROR_STOP=1 "$@" 2>&1; }
# reload: until the postmaster has processed the reload (keyring_state()
# counts reloads, done or refused), not for a guessed while.
reload() {
  local seen
  seen=$(sql -c "SELECT reloads + refused_reloads FROM secrets.keyring_state()")
  sql -c "SELECT pg_reload_conf()" >/dev/null
  wait_for "the server processed the reload" 60 \
    "SELECT reloads + refused_reloads > $seen FROM secrets.keyring_state()"
}
# A fingerprint of every value (current versions and history) in clear, and
# the row counts: equal fingerprints mean nothing was lost or changed.
fingerprint() {
  sql -c "SELECT count(*) || ':' || md5(string_agg(x, ',' ORDER BY x)) FROM (
            SELECT s.household_id || s.key || s.version || secrets.decrypt_secret(s.value, s.household_id,
                   secrets.secret_context(s.scope, s.node_id, s.key)) AS x FROM secrets.secrets s
             WHERE s.household_id::text NOT LIKE 'dddddddd-%'
            UNION ALL
            SELECT v.household_id || v.key || v.version || secrets.decrypt_secret(v.value, v.household_id,
                   secrets.secret_context(v.scope, v.node_id, v.key)) FROM secrets.secret_versions v
             WHERE v.household_id::text NOT LIKE 'dddddddd-%') t"
}
status() { sql -c "SELECT key_version || ':' || active || ':' || rows FROM secrets.key_status()"; }
# wait_for NAME SECONDS SQL: polls until SQL returns t; fails the check when
# it never does (the condition is what is waited on, the limit only ends a hang).
wait_for() {
  local name=$1 limit=$2 query=$3 deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(sql -c "$query" 2>/dev/null)" = t ] && return 0
    sleep 0.05
  done
  fail "$name (not within ${limit}s)"; return 1
}
# A session kept open across statements: holder_start opens it, holder_send
# feeds it SQL, holder_stop ends it. Used to hold locks while others work.
holder_start() {
  rm -f "$DIR/holder.fifo"; mkfifo "$DIR/holder.fifo"
  psql -X -At -h "$DIR/run" -p "$PORT" -U postgres -d rotation <"$DIR/holder.fifo" >"$DIR/holder.out" 2>&1 &
  HOLDER=$!
  exec 3>"$DIR/holder.fifo"
  holder_send "SELECT 'holder ' || pg_backend_pid();"
}
holder_send() { printf '%s\n' "$1" >&3; }
# \q, not just EOF: background jobs started meanwhile inherit the fifo's fd.
# The session may be gone already (crash recovery): no SIGPIPE then.
holder_stop() {
  ( trap '' PIPE; printf '\\q\n' >&3 ) 2>/dev/null || true
  exec 3>&-; wait "$HOLDER" 2>/dev/null || true; HOLDER=
}
# holder_wait PATTERN: until the held session has printed a line matching it.
holder_wait() {
  local deadline=$((SECONDS + 60))
  until grep -qE -- "$1" "$DIR/holder.out"; do
    [ "$SECONDS" -lt "$deadline" ] || { fail "the held session never printed $1"; return 1; }
    sleep 0.05
  done
}

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

# 2b. A batch takes the lock of the settings household (00000000-...: the
# provider settings, and the chain of the rotation's own audit entries)
# before any row. A settings write holds that lock and then locks its row,
# so a batch that locked rows first and that lock last could deadlock with
# it. While a session holds the lock, a batch waits holding no row; once the
# lock is free the batch goes on.
holder_start
holder_send "BEGIN; SELECT secrets.lock_household('00000000-0000-0000-0000-000000000000'); SELECT 'settings locked';"
holder_wait '^settings locked'
sql -c "SELECT secrets.rotate(50)" >"$DIR/rotate0.out" 2>&1 &
BG=$!
wait_for "a batch waits for the settings household's lock" 60 \
  "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query = 'SELECT secrets.rotate(50)' AND wait_event = 'advisory')"
expect "the waiting batch holds no row (every value under version 1 can be locked at once)" "^[1-9][0-9]*$" \
  "$(sql -c "SELECT count(*) FROM (SELECT FROM secrets.secrets WHERE secrets.ciphertext_key_version(value) = 1 FOR UPDATE NOWAIT) x")"
holder_send "COMMIT;"
waited_batch=0
if wait "$BG"; then
  waited_batch=$(cat "$DIR/rotate0.out")
  pass "the batch went on once the lock was free ($waited_batch values)"
else fail "the batch failed after waiting: $(cat "$DIR/rotate0.out")"; fi
BG=
holder_stop

# 3. Rotate in small committed batches, kill -9 the backend mid-way. To kill
# it mid-walk for sure, once it is half way a session takes the cursor row of
# secrets.rotation_cursor (it gets it between two batches) and holds it: the
# rotator's next batch waits for that lock, and is killed while it waits.
to_rewrap=$(sql -c "SELECT rows_to_rewrap FROM secrets.rotation_status()")
holder_start
sql -c "CALL secrets.rotate_all(50)" >"$DIR/rotate1.out" 2>&1 &
BG=$!
wait_for "the rotation got half way" 300 \
  "SELECT rows_to_rewrap < $((to_rewrap / 2)) FROM secrets.rotation_status()"
holder_send "BEGIN; SELECT 'cursor ' || next_block FROM secrets.rotation_cursor WHERE relname = 'secrets' FOR UPDATE;"
holder_wait '^cursor '
wait_for "the rotator waits for the cursor row" 60 \
  "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE 'CALL secrets.rotate_all%' AND wait_event_type = 'Lock')"
mid=$(status)
pid=$(sql -d postgres -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL secrets.rotate_all%' AND pid <> pg_backend_pid()" | head -1)
if [ -n "$pid" ]; then
  kill -9 "$pid"
  pass "killed the rotating backend (pid $pid) with kill -9"
else
  fail "no rotating backend to kill"
fi
wait "$BG" || true
BG=
holder_stop
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

# 4a. The persisted cursor is where the killed run stopped: every value in
# the blocks before it is rewrapped, values from it on are not yet.
cursor=$(sql -c "SELECT next_block FROM secrets.rotation_cursor WHERE relname = 'secrets'")
expect "the cursor was persisted mid-table (block $cursor)" "^[1-9][0-9]*$" "$cursor"
block_of="(t.ctid::text::point)[0]"
expect "no value before the cursor is left under version 1" "^0:[1-9][0-9]*$" \
  "$(sql -c "SELECT count(*) FILTER (WHERE $block_of < $cursor) || ':' || count(*) FILTER (WHERE $block_of >= $cursor)
               FROM secrets.secrets t WHERE secrets.ciphertext_key_version(t.value) = 1")"
# 4b. The resumed batch starts there: it reads the blocks from the cursor on,
# not the ones before it (a walk from block 0 fetches every one of those,
# so it would fetch more blocks than the cursor number).
first=$(sql -c "BEGIN" -c "SELECT secrets.rotate(1)" \
            -c "SELECT pg_stat_get_xact_blocks_fetched('secrets.secrets'::regclass)" -c "COMMIT" | grep -vE '^(BEGIN|COMMIT)$')
first_rows=$(sed -n 1p <<<"$first"); first_blocks=$(sed -n 2p <<<"$first")
if [ "${first_rows:-0}" -gt 0 ] && [ "${first_blocks:-999999}" -lt "$cursor" ]; then
  pass "the resumed batch rewrapped $first_rows values reading $first_blocks blocks, from the cursor at block $cursor"
else
  fail "the resumed batch did not start at the cursor (block $cursor): $first_rows values, $first_blocks blocks fetched"
fi
expect "the cursor moved on from where it was" "^t$" \
  "$(sql -c "SELECT next_block > $cursor FROM secrets.rotation_cursor WHERE relname = 'secrets'")"

# 4c. Resume beside writers and a lock holder. A session holds six rows
# still under version 1 (three current, three history: the last household,
# so the walk reaches them last) and writes while it holds them; pgbench
# writes in a household of its own. rotate_all must rewrap everything else
# while those rows stay held (a rotation that waited for the holder would
# stop there), then retry them, and must not return while they are held.
H=00000000-0000-0000-0000-$(printf '%012d' "$HOUSEHOLDS")
held="household_id = '$H' AND key IN ('KEY_1', 'KEY_2', 'KEY_3') AND secrets.ciphertext_key_version(value) = 1"
holder_start
holder_send "BEGIN;
SELECT 'held ' || (SELECT count(*) FROM (SELECT FROM secrets.secrets WHERE $held FOR UPDATE) s)
              + (SELECT count(*) FROM (SELECT FROM secrets.secret_versions WHERE $held FOR UPDATE) v);
SELECT secrets.use_household('$HOLDER_HH', for_session => true);
SELECT 'wrote ' || (secrets.set_secret('HOLDER', 'held-rows-writer', 'integration')).key_version;"
holder_wait '^wrote '
expect "the holder holds six rows under version 1" "^held 6$" "$(grep '^held ' "$DIR/holder.out")"
cat >"$DIR/writers.pgbench" <<SQL
SELECT secrets.use_household('$WRITERS', for_session => true);
SELECT secrets.set_secret('W_' || (:client_id % 7), 'written-during-rotation-' || :client_id, 'integration');
SQL
pgbench -n -h "$DIR/run" -p "$PORT" -U postgres -c 3 -T 600 -f "$DIR/writers.pgbench" rotation >"$DIR/writers.out" 2>&1 &
WRITERS_PID=$!
wait_for "the writers are writing" 60 \
  "SELECT count(*) > 0 FROM secrets.secrets WHERE household_id = '$WRITERS' AND key LIKE 'W\_%'"
# Each write bumps its key's version number (the kept history is capped, so
# counting kept versions would not count writes).
writes() { sql -c "SELECT coalesce(sum(version), 0) FROM secrets.secrets WHERE household_id = '$WRITERS'"; }
writes_start=$(writes)
sql -c "CALL secrets.rotate_all(1000)" >"$DIR/rotate2.out" 2>&1 &
BG=$!
if wait_for "rotate_all rewraps every row but the held ones while they are held" 120 \
     "SELECT rows_to_rewrap = 6 FROM secrets.rotation_status()"; then
  pass "rotate_all rewrapped every row but the six held ones without waiting for their holder"
fi
writes_mid=$(writes)
if wait_for "rotate_all retries the held rows instead of returning" 60 \
     "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE 'CALL secrets.rotate_all%' AND wait_event = 'PgSleep')"; then
  pass "rotate_all is still running, retrying the held rows"
fi
holder_send "COMMIT;"
holder_stop
wait "$BG" || true
BG=
out=$(cat "$DIR/rotate2.out")
kill "$WRITERS_PID" 2>/dev/null; wait "$WRITERS_PID" 2>/dev/null || true
WRITERS_PID=
expect "the resumed rotation rewraps the rest, each value once" "^$((left - first_rows))$" "$out"
if [ "$writes_mid" -gt "$writes_start" ]; then
  pass "the writers kept writing during the rotation ($((writes_mid - writes_start)) updates committed meanwhile)"
else
  fail "the writers did not write during the rotation ($writes_start writes before it, $writes_mid after)"
fi
if grep -qiE 'error|abort' "$DIR/writers.out"; then fail "a writer failed"; sed 's/^/       /' "$DIR/writers.out" | head -5
else pass "no writer failed"; fi
expect "across the batch of 2b, the killed and the resumed run, every value was rewrapped exactly once" \
  "^$((to_rewrap + waited_batch))$" \
  "$(sql -c "SELECT sum((detail ->> 'rows')::bigint + (detail ->> 'history_rows')::bigint) FROM secrets.audit_log WHERE action = 'rotate'")"
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

finish
