#!/usr/bin/env bash
# Reads from a real streaming standby (pg_basebackup -R of the test
# cluster, same root key file): GETs of secrets go to the standby
# (SECRETSD_READ_DATABASE_URL), writes to the primary, a caller reads its own
# writes (its reads go to the primary for SECRETSD_READ_YOUR_WRITES_MS after
# a write), and a standby that is down sends reads back to the primary.
source "$(dirname "$0")/support.bash"

STANDBY="$WORK/standby"
STANDBY_PORT=55717
mkdir -p "$STANDBY/run" && chown "$(cluster_owner)" "$STANDBY" "$STANDBY/run" && chmod 0700 "$STANDBY/run"
standby_stop() { as_owner "$PG_BIN/pg_ctl" -D "$STANDBY/data" -w -t 60 stop -m fast >/dev/null 2>&1 || true; }
trap 'standby_stop; fleet_cleanup' EXIT
standby_psql() { psql -X -At -h "$STANDBY/run" -p "$STANDBY_PORT" -U postgres "$@"; }

fleet_db fleet_replica
as_owner "$PG_BIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$STANDBY/data" -R -X stream --checkpoint=fast \
  || die "pg_basebackup failed"
as_owner "$PG_BIN/pg_ctl" -D "$STANDBY/data" -l "$STANDBY/standby.log" -w -t 60 \
  -o "-p $STANDBY_PORT -k $STANDBY/run" start >/dev/null || { cat "$STANDBY/standby.log" >&2; die "standby did not start"; }
expect_eq "the standby is in recovery" t "$(standby_psql -d postgres -c 'SELECT pg_is_in_recovery()')"
caught_up() { # waits until the standby replayed everything the primary wrote so far
  local target; target=$(psql -X -At -d postgres -c 'SELECT pg_current_wal_lsn()')
  for _ in $(seq 1 100); do
    [ "$(standby_psql -d postgres -c "SELECT pg_last_wal_replay_lsn() >= '$target'")" = t ] && return 0
    sleep 0.1
  done
  die "the standby did not catch up"
}

METRICS_TOKEN=$(openssl rand -hex 24)
start_secretsd A 55718 "$(direct_url)" \
  SECRETSD_READ_DATABASE_URL="host=$STANDBY/run port=$STANDBY_PORT dbname=$FLEET_DB user=secretsd_fleet" \
  SECRETSD_READ_YOUR_WRITES_MS=60000 SECRETSD_METRICS_TOKEN="$METRICS_TOKEN"
reads() { curl -s -H "Authorization: Bearer $METRICS_TOKEN" http://127.0.0.1:55718/metrics \
  | awk -v t="$1" '$1 == "secretsd_secret_reads_total{target=\"" t "\"}" { print $2 }'; }
value_of() { # TOKEN: the value of REPLICA_KEY as that user reads it
  http 55718 GET /api/secrets/REPLICA_KEY "" -H "Authorization: Bearer $1" \
    | cut -d' ' -f2- | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["value"])'
}

# Two users of one household: the writer and another reader.
out=$(register 55718 writer@example.com)
writer=$(json_field access_token <<<"$out")
household=$(json_field household_id <<<"$out")
code=$(http 55718 POST /api/v0/households/invites '{"role":"writer"}' -H "Authorization: Bearer $writer" | json_field invite_code)
out=$(http 55718 POST /api/v0/auth/register "{\"email\":\"reader@example.com\",\"password\":\"correct horse battery staple\",\"invite_code\":\"$code\"}")
expect_eq "the reader joins the household" 202 "${out%% *}"
reader=$(login 55718 reader@example.com | json_field access_token)

expect_eq "create through the primary" 200 \
  "$(status_of 55718 POST /api/secrets '{"key":"REPLICA_KEY","value":"v1"}' -H "Authorization: Bearer $writer")"
expect_eq "the writer reads its write at once" v1 "$(value_of "$writer")"
caught_up
replica_before=$(reads replica)
expect_eq "the reader reads it" v1 "$(value_of "$reader")"
expect_eq "... from the standby" "$((${replica_before:-0} + 1))" "$(reads replica)"

# Replay paused: the standby keeps v1 while the primary has v2.
standby_psql -d postgres -c 'SELECT pg_wal_replay_pause()' >/dev/null
expect_eq "update through the primary" 200 \
  "$(status_of 55718 PUT /api/secrets/REPLICA_KEY '{"value":"v2"}' -H "Authorization: Bearer $writer")"
expect_eq "the writer reads its own write (the primary)" v2 "$(value_of "$writer")"
expect_eq "the list for the writer comes from the primary too" 200 \
  "$(status_of 55718 GET /api/secrets "" -H "Authorization: Bearer $writer")"
expect_eq "another caller reads the standby, which is behind" v1 "$(value_of "$reader")"
standby_psql -d postgres -c 'SELECT pg_wal_replay_resume()' >/dev/null
caught_up
expect_eq "once replayed, the standby has v2" v2 "$(value_of "$reader")"
expect_eq "versions from the standby" 200 "$(status_of 55718 GET /api/secrets/REPLICA_KEY/versions "" -H "Authorization: Bearer $reader")"

# A household that audits its reads: a read writes, so it cannot run on the
# standby (25006); it is answered by the primary, which records it.
psql -X -q -d "$FLEET_DB" -c "SELECT secrets.use_household('$household', true)" \
  -c "SELECT secrets.configure_household(audit_reads => true)" >/dev/null
caught_up
audits() { psql -X -At -d "$FLEET_DB" -c "SELECT count(*) FROM secrets.audit_log WHERE household_id = '$household'"; }
before=$(audits)
expect_eq "an audited read is answered" v2 "$(value_of "$reader")"
expect_eq "... and audited, by the primary" "$((before + 1))" "$(audits)"

# Nothing secretsd wrote went to the standby (it could not have), and
# migrations ran on the primary only: the standby has them by replication.
expect_eq "migrations on the standby came from the primary" \
  "$(psql -X -At -d "$FLEET_DB" -c 'SELECT count(*) FROM secretsd.schema_migrations')" \
  "$(standby_psql -d "$FLEET_DB" -c 'SELECT count(*) FROM secretsd.schema_migrations')"

# The standby down: reads go back to the primary.
standby_stop
expect_eq "with the standby down, reads still answer" v2 "$(value_of "$reader")"
finish
