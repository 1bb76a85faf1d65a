#!/usr/bin/env bash
# The extension as an operator deploys it, on clusters of its own: a real
# PgBouncer (transaction and session mode) in front, a changed key file,
# pg_dump and restore (same key, then a wrong one), and a streaming standby.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.bash"
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"

BASE=${PGSECRETS_DEPLOY_PORT:-55510}
P_PRIMARY=$BASE P_BOUNCER=$((BASE + 1)) P_RESTORE=$((BASE + 2)) P_STANDBY=$((BASE + 3))
ROOT=$(mktemp -d /tmp/pgsecrets-deploy.XXXXXX)
PRIMARY=$ROOT/primary RESTORE=$ROOT/restore STANDBY=$ROOT/standby BOUNCER=$ROOT/bouncer
A=aaaaaaaa-0000-0000-0000-00000000000a
B=bbbbbbbb-0000-0000-0000-00000000000b
CANARY=canary-$(openssl rand -hex 8)
cleanup() {
  set +e
  pgbouncer_stop "$BOUNCER"
  for d in "$STANDBY" "$RESTORE" "$PRIMARY"; do cluster_stop "$d"; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$ROOT"
}
trap cleanup EXIT
chmod 0755 "$ROOT"
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || skip_suite "pgbouncer is not installed"

psql_at() { local dir=$1 port=$2; shift 2; psql -X -At -h "$dir/run" -p "$port" -U postgres -d deploy -v ON_ERROR_STOP=1 "$@" 2>&1; }
P() { psql_at "$PRIMARY" "$P_PRIMARY" "$@"; }
bouncer() { psql -X -At -h 127.0.0.1 -p "$P_BOUNCER" -U "$1" -d deploy -v ON_ERROR_STOP=1 "${@:2}" 2>&1; }

mkdir -p "$PRIMARY/keys"; chown "$(cluster_owner)" "$PRIMARY/keys"
write_key_file "$PRIMARY/keys/root.key" 1
cluster_init "$PRIMARY" "$P_PRIMARY" "listen_addresses = '127.0.0.1'" "wal_level = replica" "max_wal_senders = 4" "hot_standby = on"
as_owner sh -c "echo 'host all all 127.0.0.1/32 trust' >> '$PRIMARY/data/pg_hba.conf'; echo 'local replication all trust' >> '$PRIMARY/data/pg_hba.conf'"
cluster_start "$PRIMARY"
psql -X -q -h "$PRIMARY/run" -p "$P_PRIMARY" -U postgres -d postgres -c "CREATE DATABASE deploy"
P -c "CREATE EXTENSION pgsecrets" \
  -c "CREATE ROLE app LOGIN" \
  -c "SELECT secrets.grant_household('app', '$A', 'write')" \
  -c "SELECT secrets.grant_household('app', '$B', 'write')" \
  -c "SELECT secrets.use_household('$A'), secrets.set_secret('WHO', 'household-a', 'integration')" \
  -c "SELECT secrets.use_household('$B'), secrets.set_secret('WHO', 'household-b', 'integration')" >/dev/null

# ---------------------------------------------------------------- 1. poolers
# Two clients of one role granted A and B share one server connection. The
# first picks A; the second never picks a household and must never read or
# write A's secrets (it gets SE003).
for mode in transaction session; do
  pgbouncer_stop "$BOUNCER"; rm -rf "$BOUNCER"
  pgbouncer_start "$BOUNCER" "$P_BOUNCER" "$mode" "$PRIMARY" "$P_PRIMARY" 1 app
  out=$(bouncer app -c "SELECT secrets.use_household('$A', for_session => $( [ $mode = session ] && echo true || echo false ))" \
                    -c "SELECT pg_backend_pid()")
  pid1=$(tail -1 <<<"$out")
  out=$(bouncer app -c "\\set VERBOSITY sqlstate" -c "SELECT pg_backend_pid()" \
                    -c "SELECT coalesce(secrets.current_household()::text, 'none')" \
                    -c "SELECT secrets.get_secret('WHO', 'integration')" || true)
  pid2=$(sed -n 1p <<<"$out")
  [ "$pid1" = "$pid2" ] && pass "$mode mode: both clients used the same server connection" \
                        || fail "$mode mode: the clients got different server connections ($pid1, $pid2)"
  expect "$mode mode: the second client has no household" "^none$" "$out"
  expect "$mode mode: the second client's read is refused (SE003)" "SE003" "$out"
  reject "$mode mode: the second client never reads A's value" "household-a" "$out"
  out=$(bouncer app -c "\\set VERBOSITY sqlstate" -c "SELECT secrets.set_secret('INTRUDER', 'x', 'integration')" || true)
  expect "$mode mode: the second client's write is refused (SE003)" "SE003" "$out"
  expect "$mode mode: nothing was written into A" "^0$" "$(P -c "SELECT count(*) FROM secrets.secrets WHERE key = 'INTRUDER'")"
  # A client that picks a household in its own transaction works through the pooler.
  out=$(bouncer app -c "BEGIN" -c "SELECT secrets.use_household('$B')" -c "SELECT secrets.get_secret('WHO', 'integration')" -c "COMMIT")
  expect "$mode mode: a transaction that picks B reads B" "^household-b$" "$out"
done
pgbouncer_stop "$BOUNCER"

# ---------------------------------------------------------------- 2. a changed key file
P -c "SELECT secrets.use_household('$A'), secrets.set_secret('BEFORE', '$CANARY', 'integration')" >/dev/null
cp "$PRIMARY/keys/root.key" "$ROOT/right.key"
held=$(mktemp -u "$ROOT/held.XXXX")
# an old pooled connection, held open across the change
coproc HELD { psql -X -At -h "$PRIMARY/run" -p "$P_PRIMARY" -U postgres -d deploy 2>&1; }
echo "SELECT secrets.use_household('$A', for_session => true);" >&"${HELD[1]}"
write_key_file "$PRIMARY/keys/root.key" 1          # another key for version 1
before=$(P -c "SELECT reloads FROM secrets.keyring_state()")
P -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 200); do [ "$(P -c "SELECT reloads FROM secrets.keyring_state()")" -gt "$before" ] && break; sleep 0.05; done
expect "the postmaster logs the changed key of version 1 (short fingerprints)" \
  "different key for version 1 \(fingerprint [0-9a-f]{16}, loaded [0-9a-f]{16}\)" "$(cat "$PRIMARY/log/postgresql.log")"
out=$(P -c "SELECT secrets.use_household('$A'), secrets.get_secret('BEFORE', 'integration')")
expect "a new session still reads with the key the database knows" "$CANARY" "$out"
out=$(P -c "SELECT secrets.use_household('$A'), (secrets.set_secret('AFTER', 'v', 'integration')).key_version")
expect "a new write is sealed under the key the database knows" "\|1$" "$out"
out=$(P -c "SELECT key_version, fingerprint_state FROM secrets.key_status()")
expect "key_status: version 1 matches (the known key stayed in use)" "^1\|match$" "$out"
expect "the server log says which key is used and why" "key file's key does not match database \"deploy\"; the key loaded before the last reload" \
  "$(cat "$PRIMARY/log/postgresql.log")"
echo "SELECT secrets.get_secret('AFTER', 'integration');" >&"${HELD[1]}"
held_out=""
for _ in 1 2 3; do read -r -t 10 line <&"${HELD[0]}" || break; [ -n "$line" ] && { held_out=$line; break; }; done
expect "an old connection reads what a new one wrote" "^v$" "${held_out:-}"
echo '\q' >&"${HELD[1]}"; wait "$HELD_PID" 2>/dev/null || true
cp "$ROOT/right.key" "$PRIMARY/keys/root.key"
P -c "SELECT pg_reload_conf()" >/dev/null
reject "no key material in the server log" "$(sed -n 's/^1 \([0-9a-f]*\).*/\1/p' "$ROOT/right.key")" "$(cat "$PRIMARY/log/postgresql.log")"
expect "the audit chain verifies after the episode" "^$" "$(P -c "SELECT * FROM secrets.verify_audit_chain()")"

# ---------------------------------------------------------------- 3. backup and restore
# secretsd on the primary, so that its schema is in the dump and the restored
# database is shown to serve it.
SECRETSD_BIN=${BUILD_BIN_DIR:-$PROJECT_DIR/build/bin}/secretsd
HTTP=$((BASE + 6))
AUTH_KEY=$(openssl rand -hex 32)
SECRETSD_PID=
start_secretsd() { # DIR PORT
  env DATABASE_URL="host=$1/run port=$2 dbname=deploy user=secretsd" PORT="$HTTP" BIND=127.0.0.1 \
      AUTH_SECRET_KEY="$AUTH_KEY" SECRETSD_MIGRATIONS_DIR="$PROJECT_DIR/migrations" \
      SECRETSD_WEB_DIR="$PROJECT_DIR/service/web" SECRETSD_ALLOW_WEAK_ARGON2=1 \
      SECRETSD_ARGON2_OPSLIMIT=1 SECRETSD_ARGON2_MEMLIMIT=65536 "$SECRETSD_BIN" >>"$ROOT/secretsd.log" 2>&1 &
  SECRETSD_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$HTTP/ready" >/dev/null 2>&1 && return 0
    kill -0 "$SECRETSD_PID" 2>/dev/null || break
    sleep 0.1
  done
  fail "secretsd did not become ready"; tail -n 20 "$ROOT/secretsd.log"
}
stop_secretsd() {
  if [ -n "$SECRETSD_PID" ]; then
    kill "$SECRETSD_PID" 2>/dev/null || true
    wait "$SECRETSD_PID" 2>/dev/null || true
    SECRETSD_PID=
  fi
}
trap 'stop_secretsd; cleanup' EXIT
json() { node -e 'let v = JSON.parse(process.argv[1]); for (const k of process.argv[2].split(".")) v = v?.[k]; process.stdout.write(String(v));' "$1" "$2"; }
HAVE_SECRETSD=0
if [ -x "$SECRETSD_BIN" ] && command -v node >/dev/null; then
  HAVE_SECRETSD=1
  P -c "CREATE ROLE secretsd LOGIN IN ROLE pgsecrets_gateway" -c "GRANT CREATE ON DATABASE deploy TO secretsd" >/dev/null
  start_secretsd "$PRIMARY" "$P_PRIMARY"
  curl -s -o /dev/null -X POST "http://127.0.0.1:$HTTP/api/v0/auth/register" -H 'Content-Type: application/json' \
        -d '{"email":"restore@example.org","password":"a long passphrase for restore","household_name":"Home"}'
  # Registration hands out no tokens: sign in.
  reg=$(curl -s -X POST "http://127.0.0.1:$HTTP/api/v0/auth/login" -H 'Content-Type: application/json' \
        -d '{"email":"restore@example.org","password":"a long passphrase for restore"}')
  token=$(json "$reg" access_token)
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HTTP/api/secrets" -H "Authorization: Bearer $token" \
         -H 'Content-Type: application/json' -d '{"key":"REST_KEY","value":"rest-value"}')
  [ "$code" = 200 ] && pass "secretsd on the primary stores a secret" || fail "secretsd POST /api/secrets answered $code"
  stop_secretsd
  psql -X -q -h "$PRIMARY/run" -p "$P_PRIMARY" -U secretsd -d deploy \
    -c "GRANT USAGE ON SCHEMA secretsd TO pgsecrets_backup" -c "GRANT SELECT ON ALL TABLES IN SCHEMA secretsd TO pgsecrets_backup" \
    -c "GRANT SELECT ON ALL SEQUENCES IN SCHEMA secretsd TO pgsecrets_backup"
fi
P -c "SELECT secrets.use_household('$A', for_session => true)" \
  -c "SELECT secrets.set_secret('VERSIONED', 'v1', 'integration')" \
  -c "SELECT secrets.set_secret('VERSIONED', 'v2', 'integration')" \
  -c "SELECT secrets.set_secret('GONE', 'deleted', 'integration')" \
  -c "SELECT secrets.delete_secret('GONE', 'integration')" >/dev/null
P -c "CREATE ROLE backup_operator LOGIN IN ROLE pgsecrets_backup" >/dev/null
DUMPS=$ROOT/dumps; mkdir -p "$DUMPS"; chown "$(cluster_owner)" "$DUMPS"; chmod 0700 "$DUMPS"
dump_as() { as_owner "$PG_BIN/pg_dump" -h "$PRIMARY/run" -p "$P_PRIMARY" -U backup_operator --role=pgsecrets_backup "$@" deploy; }
dump_as -Fc -Z0 -f "$DUMPS/deploy.dump" 2>"$DUMPS/dump.err" && pass "a non-superuser in pgsecrets_backup dumps (custom format)" \
  || { fail "pg_dump as pgsecrets_backup"; cat "$DUMPS/dump.err"; }
dump_as -Fp -f "$DUMPS/deploy.sql" 2>>"$DUMPS/dump.err" && pass "a non-superuser in pgsecrets_backup dumps (plain format)" \
  || { fail "plain pg_dump as pgsecrets_backup"; cat "$DUMPS/dump.err"; }
keyhex=$(sed -n 's/^1 \([0-9a-f]*\).*/\1/p' "$ROOT/right.key")
for f in deploy.dump deploy.sql; do
  as_owner test -s "$DUMPS/$f" || fail "$f is missing or empty"
  expect "$f holds the ciphertext of the canary's secret (control)" "BEFORE" "$(as_owner cat "$DUMPS/$f" | strings)"
  reject "$f holds no plaintext canary" "$CANARY" "$(as_owner cat "$DUMPS/$f" | strings)"
  reject "$f holds no key material" "$keyhex" "$(as_owner cat "$DUMPS/$f" | strings)"
done
restore_into() { # DIR PORT KEYFILE FORMAT
  local dir=$1 port=$2
  cluster_stop "$dir"; rm -rf "$dir"; mkdir -p "$dir/keys"; chown "$(cluster_owner)" "$dir/keys"
  as_owner sh -c "umask 077; cat > '$dir/keys/root.key'" <"$3"
  cluster_init "$dir" "$port"
  cluster_start "$dir"
  psql -X -q -h "$dir/run" -p "$port" -U postgres -d postgres -c "CREATE ROLE app LOGIN" -c "CREATE ROLE backup_operator LOGIN" \
    -c "CREATE ROLE pgsecrets_gateway NOLOGIN" -c "CREATE ROLE secretsd LOGIN IN ROLE pgsecrets_gateway" -c "CREATE DATABASE deploy"
  if [ "$4" = custom ]; then
    as_owner "$PG_BIN/pg_restore" -h "$dir/run" -p "$port" -U postgres -d deploy "$DUMPS/deploy.dump"
  else
    as_owner psql -X -q -h "$dir/run" -p "$port" -U postgres -d deploy -f "$DUMPS/deploy.sql" >/dev/null
  fi
}
R() { psql_at "$RESTORE" "$P_RESTORE" "$@"; }
for format in custom plain; do
  restore_into "$RESTORE" "$P_RESTORE" "$ROOT/right.key" "$format" 2>"$ROOT/restore.err" || { fail "restore ($format)"; cat "$ROOT/restore.err"; }
  out=$(R -c "SELECT secrets.use_household('$A', for_session => true)" -c "SELECT secrets.get_secret('BEFORE', 'integration')" \
          -c "SELECT secrets.get_secret('VERSIONED', 'integration', version => 1)" \
          -c "SELECT secrets.restore_secret('GONE', 'integration') IS NOT NULL" -c "SELECT secrets.get_secret('GONE', 'integration')")
  expect "$format restore: values read" "$CANARY" "$out"
  expect "$format restore: kept versions read" "^v1$" "$out"
  expect "$format restore: a soft-deleted secret restores" "^deleted$" "$out"
  expect "$format restore: the audit chain verifies" "^$" "$(R -c "SELECT * FROM secrets.verify_audit_chain()")"
  out=$(R -c "SELECT count(*) = count(DISTINCT id) AND max(id) = (SELECT max(id) FROM secrets.audit_log WHERE action = 'restore') FROM secrets.audit_log")
  expect "$format restore: audit ids continue after the restored ones" "^t$" "$out"
  expect "$format restore: grants follow the restored roles" "app" "$(R -c "SELECT role FROM secrets.household_grants_view")"
  if [ "$HAVE_SECRETSD" = 1 ]; then
    R -c "GRANT CREATE ON DATABASE deploy TO secretsd" >/dev/null   # database grants are not in a dump
    start_secretsd "$RESTORE" "$P_RESTORE"
    login=$(curl -s -X POST "http://127.0.0.1:$HTTP/api/v0/auth/login" -H 'Content-Type: application/json' \
            -d '{"email":"restore@example.org","password":"a long passphrase for restore"}')
    got=$(curl -s "http://127.0.0.1:$HTTP/api/secrets/REST_KEY" -H "Authorization: Bearer $(json "$login" access_token)")
    expect "$format restore: secretsd starts on the restored database, logs in and serves the secret" "rest-value" "$got"
    stop_secretsd
  fi
done
# Under a wrong key: a clear mismatch error naming the version, no write, and
# the audit check reports a key mismatch, not tampering.
write_key_file "$ROOT/wrong.key.tmp" 1 2>/dev/null || true
openssl rand -hex 32 >"$ROOT/wrong.key"
restore_into "$RESTORE" "$P_RESTORE" "$ROOT/wrong.key" custom 2>"$ROOT/restore.err" || { fail "restore (wrong key)"; cat "$ROOT/restore.err"; }
out=$(R -c "\\set VERBOSITY default" -c "SELECT secrets.use_household('$A', for_session => true)" -c "SELECT secrets.get_secret('BEFORE', 'integration')" || true)
expect "wrong key: reads fail with the key-mismatch error naming version 1" "root key version 1 does not match this database" "$out"
reject "wrong key: not reported as an undecryptable secret" "could not be decrypted" "$out"
out=$(R -c "\\set VERBOSITY sqlstate" -c "SELECT secrets.use_household('$A', for_session => true)" -c "SELECT secrets.set_secret('NEW', 'x', 'integration')" || true)
expect "wrong key: a write is refused with SE008" "SE008" "$out"
expect "wrong key: nothing was written" "^0$" "$(R -c "SELECT count(*) FROM secrets.secrets WHERE key = 'NEW'")"
expect "wrong key: the audit check reports a key mismatch" "does not match this database" "$(R -c "SELECT reason FROM secrets.verify_audit_chain()")"
expect "wrong key: key_status shows the mismatch" "^1\|f\|mismatch$" "$(R -c "SELECT key_version, loaded, fingerprint_state FROM secrets.key_status()")"
cluster_stop "$RESTORE"
# Restoring into a database without the extension installed on the server side fails loudly, not silently.

# ---------------------------------------------------------------- 4. a streaming standby
P -c "SELECT secrets.use_household('$B'), secrets.configure_household(audit_reads => true)" >/dev/null
mkdir -p "$STANDBY"; chown "$(id -u):$(id -g)" "$STANDBY"
for sub in data run keys log; do mkdir -p "$STANDBY/$sub"; chown "$(cluster_owner)" "$STANDBY/$sub"; done
chmod 0700 "$STANDBY/data" "$STANDBY/run" "$STANDBY/keys"
as_owner "$PG_BIN/pg_basebackup" -h "$PRIMARY/run" -p "$P_PRIMARY" -U postgres -D "$STANDBY/data" -R -X stream >/dev/null
as_owner sh -c "cat >> '$STANDBY/data/postgresql.conf'" <<CONF
port = $P_STANDBY
unix_socket_directories = '$STANDBY/run'
listen_addresses = ''
CONF
cluster_start "$STANDBY"
S() { psql_at "$STANDBY" "$P_STANDBY" "$@"; }
for _ in $(seq 1 100); do [ "$(S -c "SELECT pg_is_in_recovery()")" = t ] && break; sleep 0.1; done
out=$(S -c "SELECT secrets.use_household('$A', for_session => true)" -c "SELECT secrets.get_secret('BEFORE', 'integration')")
expect "standby: values read there with the same key file" "$CANARY" "$out"
out=$(S -c "SELECT secrets.use_household('$B', for_session => true)" -c "SELECT secrets.get_secret('WHO', 'integration')" || true)
expect "standby: an audited household's read says it needs the primary" "reads of this household are audited, and the audit log can only be written on the primary" "$out"
reject "standby: not the bare read-only INSERT error" "cannot execute INSERT in a read-only transaction" "$out"

finish
