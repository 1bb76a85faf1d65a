#!/usr/bin/env bash
# Nonces come from a per-backend pool (extension/nonce_pool.c). Backends are
# forked from one postmaster, so this checks what a single-backend regress
# test cannot: concurrent backends never hand out the same nonce, and a
# backend's nonces do not repeat across many pool refills. (It cannot test
# the pool's fork guard: a postmaster never fills the pool, so its children
# start empty. extension.nonce_pool_fork, tests/extension/unit, does.)
# Runs against the cluster scripts/test.sh started.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.bash"
[ "${PGSECRETS_TEST_DB:-0}" = 1 ] || skip_suite "needs scripts/test.sh"
DB=nonce_test
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION pgsecrets"

# Four backends at once, 3,000 nonces each (16 refills per backend).
for i in 1 2 3 4; do
  psql -X -At -v ON_ERROR_STOP=1 -d "$DB" -c \
    "SELECT encode(substring(secrets.encrypt_secret('x', 'dddddddd-0000-0000-0000-00000000000d', 'n') FROM 7 FOR 24), 'hex')
       FROM generate_series(1, 3000)" >"$WORK/$i" &
done
wait

total=$(cat "$WORK"/[1-4] | wc -l)
distinct=$(cat "$WORK"/[1-4] | sort -u | wc -l)
psql -X -q -d postgres -c "DROP DATABASE $DB"
expect_eq "12000 nonces from 4 concurrent backends" 12000 "$total"
expect_eq "no nonce repeats" 12000 "$distinct"
finish
