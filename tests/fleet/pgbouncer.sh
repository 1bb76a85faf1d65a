#!/usr/bin/env bash
# secretsd behind Debian's PgBouncer in transaction mode: 100 parallel
# requests (GETs, logins, refreshes) all answered 200 by two instances whose
# 16 client connections share 3 server connections, so consecutive
# statements of one secretsd connection land on different backends. Named
# prepared statements failed here ("prepared statement ... already exists",
# then every request 500); secretsd now sends unnamed statements only.
source "$(dirname "$0")/support.bash"

fleet_db fleet_bouncer
start_bouncer bouncer 55700 transaction 3
start_secretsd A 55701 "$(bouncer_url 55700)" SECRETSD_LOGIN_RATE_LIMIT=100000,100000
start_secretsd B 55702 "$(bouncer_url 55700)" SECRETSD_LOGIN_RATE_LIMIT=100000,100000

out=$(register 55701 bouncer@example.com)
expect_eq "register through PgBouncer" 202 "${out%% *}"
token=$(json_field access_token <<<"$out")
out=$(http 55702 POST /api/secrets '{"key":"BOUNCER_KEY","value":"through-the-pooler"}' -H "Authorization: Bearer $token")
expect_eq "create a secret through PgBouncer" 200 "${out%% *}"

# 20 refresh tokens, one per parallel refresh below.
for i in $(seq 1 20); do
  login 55701 bouncer@example.com | json_field refresh_token >>"$WORK/refresh_tokens"
done

one_request() { # N: writes "N STATUS" for request N of the burst
  local n=$1 port=$((55701 + $1 % 2)) status
  if [ "$n" -le 60 ]; then
    status=$(status_of $port GET /api/secrets/BOUNCER_KEY "" -H "Authorization: Bearer $token")
  elif [ "$n" -le 80 ]; then
    status=$(login $port bouncer@example.com | cut -d' ' -f1)
  else
    local rt; rt=$(sed -n "$((n - 80))p" "$WORK/refresh_tokens")
    status=$(status_of $port POST /api/v0/auth/refresh "{\"refresh_token\":\"$rt\"}")
  fi
  echo "$n $status"
}
export -f one_request status_of http login json_field
export WORK token
seq 1 100 | xargs -P 100 -I{} bash -c 'one_request {}' >"$WORK/burst"
ok=$(awk '$2 == 200' "$WORK/burst" | wc -l)
expect_eq "100 parallel requests (60 GET, 20 login, 20 refresh) through PgBouncer all 200" 100 "$ok"
if [ "$ok" -ne 100 ]; then awk '$2 != 200' "$WORK/burst" | sort | uniq -c -f1 | head; fi

# Still healthy afterwards (the failure mode was: every request 500 from then on).
expect_eq "GET after the burst" 200 "$(status_of 55701 GET /api/secrets/BOUNCER_KEY "" -H "Authorization: Bearer $token")"
expect_eq "/ready through PgBouncer" 200 "$(status_of 55702 GET /ready)"
if grep -q "prepared statement" "$WORK"/bouncer/pgbouncer.log "$PGSECRETS_TEST_LOG" 2>/dev/null \
   && grep "prepared statement" "$PGSECRETS_TEST_LOG" | grep -q secretsd_fleet; then
  fail "prepared statement errors in the server log"
else
  pass "no prepared statement errors"
fi
finish
