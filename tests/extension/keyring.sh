#!/usr/bin/env bash
# The key ring on a cluster of its own: no key, a bare `openssl rand -hex 32`
# file, several versions with one active, activation of a new version with
# old rows still readable, failed reloads, bad files, the key command and
# locked memory.
set -euo pipefail
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"

DIR=$(mktemp -d /tmp/pgsecrets-keyring.XXXXXX)
PORT=${PGSECRETS_KEYRING_PORT:-55498}
KEY="$DIR/keys/root.key"
HH=dddddddd-0000-0000-0000-00000000000d
trap 'cluster_stop "$DIR"; rm -rf "$DIR"' EXIT
chown "$(cluster_owner)" "$DIR"

source "$(dirname "$0")/../lib/suite.bash"
sql() { psql -X -At -h "$DIR/run" -p "$PORT" -U postgres -d keyring -v ON_ERROR_STOP=1 "$@" 2>&1; }
state() { sql -c "SELECT $1 FROM secrets.keyring_state()"; }
# A psql meta-command for the middle of a session: waits (at most 30 s)
# until the server has processed more reloads, done or refused, than
# `seen`, so the session's next statement runs under the new keys. Not a
# sleep of a guessed length.
await_reload_after() { # SEEN
  printf '\\! for i in $(seq 1 600); do [ "$(psql -X -At -h %s -p %s -U postgres -d keyring -c "SELECT reloads + refused_reloads > %s FROM secrets.keyring_state()")" = t ] && break; sleep 0.05; done' \
    "$DIR/run" "$PORT" "$1"
}
# Reloads and waits until the postmaster has processed it (its reload count
# moved): a condition, not a sleep.
reload() {
  local before; before=$(state reloads)
  sql -d postgres -c "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 200); do
    [ "$(state reloads)" -gt "$before" ] && return 0
    sleep 0.05
  done
  fail "the postmaster did not process a reload within 10 s"
}

# 1. A server with no key: starts, serves SQL, and every crypto call says which setting to fix.
cluster_init "$DIR" "$PORT" "pgsecrets.key_file = ''"
cluster_start "$DIR"
psql -X -q -h "$DIR/run" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE keyring"
out=$(sql -c "SELECT 41 + 1" -c "CREATE EXTENSION pgsecrets" -c "SELECT count(*) FROM secrets.key_status()")
expect "no key: ordinary SQL and CREATE EXTENSION work" "^42$" "$out"
expect "no key: key_status is empty, not an error" "^0$" "$out"
out=$(sql -c "SELECT secrets.encrypt_secret('x', '$HH', 'c')" || true)
expect "no key: encrypt_secret fails with a message naming pgsecrets.key_file" "no pgsecrets root key is loaded" "$out"
expect "no key: the detail names the setting" "pgsecrets.key_file is not set" "$out"
out=$(sql -c "\\set VERBOSITY sqlstate" -c "SELECT secrets.use_household('$HH', for_session => true)" \
          -c "SELECT secrets.set_secret('K', 'v', 'integration')" || true)
expect "no key: set_secret fails with SQLSTATE SE002" "SE002" "$out"
expect "no key: the postmaster logged a warning at start" "no root key loaded" "$(cat "$DIR/log/postgresql.log")"

# 2. A bare `openssl rand -hex 32` file is key version 1, active; a reload picks it up
#    in the sessions that are already open.
seen=$(state "reloads + refused_reloads")
out=$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" \
          -c "\\! echo \"ALTER SYSTEM SET pgsecrets.key_file = '$KEY'\" | psql -X -q -h $DIR/run -p $PORT -U postgres -d postgres" \
          -c "SELECT pg_reload_conf()" -c "$(await_reload_after "$seen")" -c "SELECT pg_sleep(0.1)" \
          -c "SELECT (secrets.set_secret('FIRST', 'one', 'integration')).key_version" \
          -c "SELECT (secrets.set_secret('SECOND', 'two', 'integration')).key_version" \
          -c "SELECT key_version || ':' || active || ':' || rows FROM secrets.key_status()")
expect "bare key file: values are encrypted under version 1" "^1$" "$out"
expect "bare key file: key_status shows version 1 active with 2 rows" "^1:true:2$" "$out"

# 3. Locked memory: the backend holding keys has locked pages.
out=$(sql <<SQL
SELECT secrets.use_household('$HH', for_session => true);
SELECT length(secrets.get_secret('FIRST', 'integration'));
SELECT pg_backend_pid() AS pid \\gset
\\setenv BACKEND_PID :pid
\\! grep VmLck /proc/\$BACKEND_PID/status
SQL
)
if [[ $(grep -oE 'VmLck:\s+[0-9]+' <<<"$out" | grep -oE '[0-9]+$') -gt 0 ]]; then
  pass "keys live in locked memory ($(grep -oE 'VmLck:.*' <<<"$out"))"
else fail "no locked memory in a backend holding keys: $out"; fi

# 4. Activate version 2: old rows still decrypt, new rows use version 2.
v1=$(cat "$KEY")
( umask 077; printf '# pgsecrets keys\n1 %s\n2 %s active\n' "$v1" "$(openssl rand -hex 32)" >"$KEY" )
reload
out=$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" \
          -c "SELECT secrets.get_secret('FIRST', 'integration')" \
          -c "SELECT (secrets.set_secret('THIRD', 'three', 'integration')).key_version" \
          -c "SELECT key_version || ':' || active || ':' || rows FROM secrets.key_status()")
expect "after activating version 2, version 1 rows still decrypt" "^one$" "$out"
expect "after activating version 2, new values use it" "^2$" "$out"
expect "key_status: version 1 inactive with 2 rows" "^1:false:2$" "$out"
expect "key_status: version 2 active with 1 row" "^2:true:1$" "$out"
reject "key_status never shows key material" "[0-9a-f]{64}" "$out"

# 5. A bad file is refused at the reload, for every session alike: the keys
#    loaded before stay in force (in open and in new sessions), the server
#    log says why (WARNING), and nothing quotes key material.
secret_hex=$(openssl rand -hex 32)
good=$(cat "$KEY")
check_bad_file() { # NAME CONTENT PATTERN
  local refused_before; refused_before=$(state refused_reloads)
  ( umask 077; printf '%b' "$2" >"$KEY" )
  reload
  [ "$(state refused_reloads)" -gt "$refused_before" ] && pass "$1: the reload re-read the file and refused it" \
    || fail "$1: the reload was not refused"
  expect "$1: keyring_state names the reason" "$3" "$(state last_error)"
  expect "$1: the server log has a WARNING with the reason" "WARNING: +pgsecrets: the key source was refused at reload: .*$3" \
    "$(tail -n 5 "$DIR/log/postgresql.log")"
  out=$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT secrets.get_secret('THIRD', 'integration')")
  expect "$1: a new session keeps the keys loaded before" "^three$" "$out"
  reject "$1: no key material in the log" "$secret_hex" "$(cat "$DIR/log/postgresql.log")"
  ( umask 077; printf '%s\n' "$good" >"$KEY" )
}
( umask 077; printf '1 %s active\n1 %s\n' "$secret_hex" "$secret_hex" >"$DIR/keys/duplicate.key" )
seen=$(state "reloads + refused_reloads")
out=$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT secrets.get_secret('THIRD', 'integration')" \
          -c "\\! cp $DIR/keys/duplicate.key $KEY" \
          -c "SELECT pg_reload_conf()" -c "$(await_reload_after "$seen")" -c "SELECT pg_sleep(0.1)" \
          -c "SELECT secrets.get_secret('FIRST', 'integration')")
expect "a failed reload keeps serving the loaded keys" "^one$" "$out"
( umask 077; printf '%s\n' "$good" >"$KEY" )
check_bad_file "a key version twice" "1 $secret_hex active\n1 $secret_hex\n" "key version 1 appears twice"
check_bad_file "two active keys" "1 $secret_hex active\n2 $(openssl rand -hex 32) active\n" "more than one key is marked active"
check_bad_file "a short key" "1 ${secret_hex:0:60}\n" "exactly 64 hex digits"
check_bad_file "a bad version" "zero $secret_hex\n" "key version must be an integer"
check_bad_file "a bare key among others" "$secret_hex\n2 $(openssl rand -hex 32)\n" "bare key is only allowed"
check_bad_file "an empty file" "# nothing here\n" "holds no key"
chmod 0644 "$KEY"
reload
expect "a world-readable key file is refused at the reload" "accessible to other users" "$(state last_error)"
chmod 0600 "$KEY"
reload

# 5b. A key file edited without a reload is used by nobody, not even a new
#     session: keys change at a reload and only then.
( umask 077; printf '1 %s\n3 %s active\n' "$(sed -n 's/^1 \([0-9a-f]*\).*/\1/p' "$KEY")" "$(openssl rand -hex 32)" >"$DIR/keys/next" )
cp "$KEY" "$DIR/keys/saved"
cp "$DIR/keys/next" "$KEY"
out=$(sql -c "SELECT string_agg(key_version::text, ',' ORDER BY key_version) FROM secrets.loaded_key_versions()")
expect "a new session does not pick up an edited file before a reload" "^1,2$" "$out"
cp "$DIR/keys/saved" "$KEY"

# 6. pgsecrets.key_command, like ssl_passphrase_command.
cp "$KEY" "$DIR/keys/from-command"
chown "$(cluster_owner)" "$DIR/keys/from-command"
sql -d postgres -c "ALTER SYSTEM SET pgsecrets.key_command = 'cat $DIR/keys/from-command'" >/dev/null
reload
out=$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT secrets.get_secret('FIRST', 'integration')")
expect "key_command supplies the keys" "^one$" "$out"
sql -d postgres -c "ALTER SYSTEM SET pgsecrets.key_command = 'exit 3'" >/dev/null
reload
expect "a failing key_command is reported" "key_command failed" "$(state last_error)"
out=$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT secrets.get_secret('FIRST', 'integration')")
expect "a failing key_command keeps the keys loaded before" "^one$" "$out"
sql -d postgres -c "ALTER SYSTEM RESET pgsecrets.key_command" >/dev/null
reload

# 7. Preloaded at start: the postmaster loads the keys, backends inherit them.
cluster_start "$DIR"   # restart
expect "the postmaster loads the keys at start" "loaded 2 root key\(s\); active key version 2" "$(tail -n 20 "$DIR/log/postgresql.log")"
pm=$(head -1 "$DIR/data/postmaster.pid")
lck=$(grep -oE 'VmLck:\s+[0-9]+' "/proc/$pm/status" | grep -oE '[0-9]+$')
if [ "$lck" -gt 0 ]; then pass "the postmaster holds the keys in locked memory (${lck} kB)"; else fail "postmaster VmLck is 0"; fi
out=$(sql -c "SELECT secrets.use_household('$HH', for_session => true)" -c "SELECT secrets.get_secret('FIRST', 'integration')")
expect "after a restart, version 1 rows still decrypt" "^one$" "$out"
reject "the key file never reaches the server log" "$v1" "$(cat "$DIR/log/postgresql.log")"

finish
