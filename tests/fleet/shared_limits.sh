#!/usr/bin/env bash
# Two secretsd instances on one database enforce one set of limits: the
# counts live in PostgreSQL (migrations/0006_rate_limits.sql), so wrong
# passwords and registrations spread over both instances hit the limit of
# one, and a restart forgets nothing. Refresh-token reuse presented to the
# other instance still revokes the family.
source "$(dirname "$0")/support.bash"

fleet_db fleet_limits
# 2 wrong passwords per account a minute: a refill every 30 s, so the checks
# below (a restart included) run well inside one refill on a slow machine.
limits=(SECRETSD_LOGIN_RATE_LIMIT=2,30 SECRETSD_REGISTER_RATE_LIMIT=20 SECRETSD_REFRESH_GRACE_SECONDS=0)
start_secretsd A 55706 "$(direct_url)" "${limits[@]}"
start_secretsd B 55707 "$(direct_url)" "${limits[@]}"

# Registrations: 20 per hour per address, 12 on each instance.
for i in $(seq 1 12); do
  register 55706 "a$i@example.com" | cut -d' ' -f1 >>"$WORK/register"
  register 55707 "b$i@example.com" | cut -d' ' -f1 >>"$WORK/register"
done
expect_eq "registrations across two instances: 20 accepted" 20 "$(grep -c '^202$' "$WORK/register")"
expect_eq "registrations across two instances: 4 refused" 4 "$(grep -c '^429$' "$WORK/register")"

# Wrong passwords: 2 per minute per account, 2 on each instance.
for i in $(seq 1 2); do
  login 55706 a1@example.com wrong-password | cut -d' ' -f1 >>"$WORK/login"
  login 55707 a1@example.com wrong-password | cut -d' ' -f1 >>"$WORK/login"
done
expect_eq "wrong passwords across two instances: 2 answered 401" 2 "$(grep -c '^401$' "$WORK/login")"
expect_eq "wrong passwords across two instances: then 429" 2 "$(grep -c '^429$' "$WORK/login")"
retry=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
  --data '{"email":"a1@example.com","password":"x"}' http://127.0.0.1:55707/api/v0/auth/login \
  | tr -d '\r' | awk -F': ' 'tolower($1) == "retry-after" {print $2}')
if [ -n "$retry" ] && [ "$retry" -ge 1 ] && [ "$retry" -le 60 ]; then pass "Retry-After $retry"; else fail "Retry-After missing or odd: '$retry'"; fi

# A restart forgets nothing.
stop_secretsd A || true
start_secretsd A 55706 "$(direct_url)" "${limits[@]}"
expect_eq "still limited after a restart" 429 "$(login 55706 a1@example.com | cut -d' ' -f1)"
expect_eq "another account is not limited" 200 "$(login 55706 a2@example.com | cut -d' ' -f1)"

# Refresh-token reuse detected by the other instance.
out=$(login 55706 a3@example.com)
r1=$(json_field refresh_token <<<"$out")
out=$(http 55706 POST /api/v0/auth/refresh "{\"refresh_token\":\"$r1\"}")
expect_eq "refresh on A" 200 "${out%% *}"
r2=$(json_field refresh_token <<<"$out")
sleep 1.1  # past the grace period (0 s here)
expect_eq "the spent token presented to B is refused" 401 "$(status_of 55707 POST /api/v0/auth/refresh "{\"refresh_token\":\"$r1\"}")"
expect_eq "the reuse revoked the family: the current token is refused on A" 401 \
  "$(status_of 55706 POST /api/v0/auth/refresh "{\"refresh_token\":\"$r2\"}")"

# The table holds hashes, never the accounts' addresses.
if psql -X -At -d "$FLEET_DB" -c "SELECT key_hash FROM secretsd.rate_limits" | grep -q example.com; then
  fail "an e-mail address in secretsd.rate_limits"
else
  pass "secretsd.rate_limits holds keyed hashes only"
fi
finish
