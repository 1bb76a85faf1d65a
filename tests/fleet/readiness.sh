#!/usr/bin/env bash
# /ready answers 503 while the database cannot take writes -- unreachable,
# read-only, disk full -- and 200 again after; /health stays 200 throughout;
# secretsd logs one JSON line when it loses the database and one when it is
# back.
source "$(dirname "$0")/support.bash"

fleet_db fleet_ready
start_bouncer bouncer 55708 session 4
start_secretsd A 55709 "$(bouncer_url 55708)" SECRETSD_READY_WRITE_PROBE_MS=0
events() { grep -c "\"event\":\"$1\"" "$WORK/A.log" || true; }
# ready_once STATUS: GET /ready until it answers STATUS (at most 20 s: the
# pooler drops the terminated server sessions in its own time); prints the
# status it last got.
ready_once() {
  local got deadline=$((SECONDS + 20))
  while :; do
    got=$(status_of 55709 GET /ready)
    [ "$got" = "$1" ] || [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.1
  done
  echo "$got"
}
# Ends the database's sessions and waits until they are gone.
terminate_sessions() {
  psql -X -q -d postgres -c "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = '$FLEET_DB'" >/dev/null
}

expect_eq "/ready with a writable database" 200 "$(status_of 55709 GET /ready)"

# Unreachable: the pooler in front of the database stops.
pgbouncer_stop "$WORK/bouncer"
expect_eq "/ready while unreachable" 503 "$(status_of 55709 GET /ready)"
expect_eq "/health while unreachable" 200 "$(status_of 55709 GET /health)"
status_of 55709 GET /ready >/dev/null
expect_eq "one database_lost line" 1 "$(events database_lost)"
grep -q '"event":"database_lost","reason":"unreachable"\|"reason":"unreachable"' "$WORK/A.log" \
  && pass "lost line names the reason" || fail "no reason unreachable in: $(grep database_lost "$WORK/A.log")"
pgbouncer_start "$WORK/bouncer" 55708 session "$PGSECRETS_TEST_DIR" "$PGPORT" 4 secretsd_fleet
expect_eq "/ready once reachable again" 200 "$(status_of 55709 GET /ready)"
expect_eq "one database_back line" 1 "$(events database_back)"

# Read-only: new sessions of this database default to read-only.
psql -X -q -d postgres -c "ALTER DATABASE $FLEET_DB SET default_transaction_read_only = on"
terminate_sessions
expect_eq "/ready on a read-only database" 503 "$(ready_once 503)"
expect_eq "/ready's message" "Database is read-only" \
  "$(http 55709 GET /ready | cut -d' ' -f2- | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])')"
psql -X -q -d postgres -c "ALTER DATABASE $FLEET_DB RESET default_transaction_read_only"
terminate_sessions
expect_eq "/ready writable again" 200 "$(ready_once 200)"
expect_eq "two lost lines, two back lines" "2 2" "$(events database_lost) $(events database_back)"

# Disk full: a database whose tablespace is a small tmpfs, filled up.
MNT="$WORK/small-disk"
mkdir -p "$MNT"
if mount -t tmpfs -o size=48m tmpfs "$MNT" 2>/dev/null; then
  trap 'umount "$MNT" 2>/dev/null || true; fleet_cleanup' EXIT
  mkdir "$MNT/ts" && chown "$(cluster_owner)" "$MNT/ts"
  psql -X -q -d postgres -c "DROP TABLESPACE IF EXISTS fleet_small" -c "CREATE TABLESPACE fleet_small LOCATION '$MNT/ts'"
  stop_secretsd A || true
  fleet_db fleet_disk fleet_small
  start_secretsd D 55709 "$(direct_url)" SECRETSD_READY_WRITE_PROBE_MS=0
  expect_eq "/ready before the disk fills" 200 "$(status_of 55709 GET /ready)"
  dd if=/dev/zero of="$MNT/fill" bs=1M 2>/dev/null || true  # until ENOSPC
  expect_eq "/ready with the disk full" 503 "$(status_of 55709 GET /ready)"
  grep -q '"reason":"write_failed"' "$WORK/D.log" && pass "lost line: write_failed" || fail "no write_failed line"
  rm -f "$MNT/fill"
  expect_eq "/ready once there is room again" 200 "$(status_of 55709 GET /ready)"
  stop_secretsd D || true
  psql -X -q -d postgres -c "DROP DATABASE fleet_disk WITH (FORCE)" -c "DROP TABLESPACE fleet_small"
  umount "$MNT"
else
  echo "# skip: cannot mount a tmpfs (not root?): disk-full case not run"
fi
finish
