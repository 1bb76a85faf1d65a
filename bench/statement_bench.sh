#!/usr/bin/env bash
# What unnamed statements cost: secretsd sends every statement unnamed
# (libpq's PQexecParams: Parse + Bind + Execute each time) so that it works
# behind PgBouncer in transaction mode; before, it prepared each statement
# once per connection (Bind + Execute only). This runs the GET statement
# (bench/http_bench_get.sql, the same as service/secrets/statements.cpp's)
# with pgbench in both protocols, alternating, in one session:
#
#   pgbench -n -M prepared -c8 -j2 -T10 -f bench/http_bench_get.sql ...   named (before)
#   pgbench -n -M extended -c8 -j2 -T10 -f bench/http_bench_get.sql ...   unnamed (now)
#
#   bash bench/statement_bench.sh
#
# Uses the installed pgsecrets extension (installs nothing) in a private
# cluster on PGSECRETS_STATEMENT_BENCH_PORT (55715), removed afterwards.
# PGSECRETS_STATEMENT_BENCH_ROUNDS (3) pairs of runs, each
# PGSECRETS_STATEMENT_BENCH_SECONDS (10) long.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

PG_PORT=${PGSECRETS_STATEMENT_BENCH_PORT:-55715}
ROUNDS=${PGSECRETS_STATEMENT_BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${PGSECRETS_STATEMENT_BENCH_SECONDS:-10}
CLIENTS=8
DB=pgsecrets_statement_bench
ROLE=secretsd_statement_bench
HOUSEHOLD=5e1f0c8a-6b7d-4e2f-9a3b-1c2d3e4f5a6b
KEY=BENCH_API_KEY

BENCH_DIR=$(mktemp -d /tmp/pgsecrets-statement-bench.XXXXXX)
cleanup() { cluster_stop "$BENCH_DIR"; rm -rf "$BENCH_DIR"; }
trap cleanup EXIT

cluster_init "$BENCH_DIR" "$PG_PORT" "jit = off"
cluster_start "$BENCH_DIR"
cluster_psql "$BENCH_DIR" "$PG_PORT" -d postgres -q -c "CREATE DATABASE $DB"
cluster_psql "$BENCH_DIR" "$PG_PORT" -d "$DB" -q <<SQL
CREATE EXTENSION pgsecrets;
CREATE ROLE $ROLE LOGIN IN ROLE pgsecrets_gateway;
SQL
# As the gateway role, in one transaction, the way secretsd writes.
psql -X -q -v ON_ERROR_STOP=1 -h "$BENCH_DIR/run" -p "$PG_PORT" -U "$ROLE" -d "$DB" >/dev/null <<SQL
BEGIN;
SELECT secrets.set_context('$HOUSEHOLD', 'user:bench', NULL);
SELECT (secrets.set_secret('$KEY', 'value-' || md5(random()::text), 'integration')).key;
COMMIT;
SQL

run() { # MODE: prints tps
  pgbench -n -M "$1" -c"$CLIENTS" -j2 -T"$SECONDS_PER_RUN" -h "$BENCH_DIR/run" -p "$PG_PORT" -U "$ROLE" \
    -f "$PROJECT_DIR/bench/http_bench_get.sql" \
    -D household="$HOUSEHOLD" -D actor="user:bench" -D key="$KEY" -D scope=integration -D ready=0 \
    "$DB" 2>"$BENCH_DIR/pgbench.err" \
    | awk '/^tps = / { printf "%.0f", $3 } /latency average/ { lat = $4 } END { printf " %s\n", lat }' \
    || { cat "$BENCH_DIR/pgbench.err" >&2; die "pgbench failed"; }
}

run prepared >/dev/null  # warm-up: caches, the extension's key derivation
printf '%-6s %-22s %-22s %s\n' round "named tps (lat ms)" "unnamed tps (lat ms)" "unnamed/named"
for r in $(seq 1 "$ROUNDS"); do
  read -r named_tps named_lat < <(run prepared)
  read -r unnamed_tps unnamed_lat < <(run extended)
  printf '%-6s %-22s %-22s %s\n' "$r" "$named_tps ($named_lat)" "$unnamed_tps ($unnamed_lat)" \
    "$(awk -v a="$unnamed_tps" -v b="$named_tps" 'BEGIN { printf "%.1f%%", 100 * a / b }')"
done
