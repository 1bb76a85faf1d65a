#!/usr/bin/env bash
# What unnamed statements cost: secretsd sends every statement unnamed
# (libpq's PQexecParams: Parse + Bind + Execute each time, so the server
# plans it each time) so that it works behind PgBouncer in transaction mode;
# before, it prepared each statement once per connection (Bind + Execute).
# The GET statement, in one session, alternating:
#
#   before   the inline GET statement, prepared:   pgbench -M prepared
#   inline   the same statement, unnamed:          pgbench -M extended
#   now      SELECT * FROM secretsd.get_secret_row(...) (the same statement
#            in a PL/pgSQL function, whose plan the backend caches), unnamed:
#            pgbench -M extended -f bench/http_bench_get.sql
#
#   bash bench/statement_bench.sh
#
# pgbench -n -c8 -j2 -T10 as the gateway role. Uses the installed pgsecrets
# extension (installs nothing) in a private cluster on
# PGSECRETS_STATEMENT_BENCH_PORT (55715), removed afterwards.
# PGSECRETS_STATEMENT_BENCH_ROUNDS (3) rounds, each run
# PGSECRETS_STATEMENT_BENCH_SECONDS (10) long.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"

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
bench_database "$BENCH_DIR" "$PG_PORT" "$DB" "$ROLE"
cluster_psql "$BENCH_DIR" "$PG_PORT" -d "$DB" -q -c "CREATE SCHEMA secretsd AUTHORIZATION $ROLE"
psql -X -q -v ON_ERROR_STOP=1 -h "$BENCH_DIR/run" -p "$PG_PORT" -U "$ROLE" -d "$DB" \
  -f "$PROJECT_DIR/migrations/0008_get_secret_row.sql" >/dev/null
# The inline statement: the function's query, its parameters named as in
# bench/http_bench_get.sql.
INLINE="$BENCH_DIR/inline_get.sql"
{
  sed -n '/^\\if/,/^\\endif/p' "$PROJECT_DIR/bench/http_bench_get.sql"
  sed -n '/RETURN QUERY/,/;$/p' "$PROJECT_DIR/migrations/0008_get_secret_row.sql" | sed '1d' | tr '\n' ' ' \
    | sed -e 's/\$1/:household/g' -e 's/\$2/:actor/g' -e 's/\$3/:caller_node/g' -e 's/\$4/:key/g' \
          -e 's/\$5/:scope/g' -e 's/\$6/:node_id/g' -e 's/  */ /g'
  echo
} >"$INLINE"
# As the gateway role, in one transaction, the way secretsd writes.
psql -X -q -v ON_ERROR_STOP=1 -h "$BENCH_DIR/run" -p "$PG_PORT" -U "$ROLE" -d "$DB" >/dev/null <<SQL
BEGIN;
SELECT secrets.set_context('$HOUSEHOLD', 'user:bench', NULL);
SELECT (secrets.set_secret('$KEY', 'value-' || md5(random()::text), 'integration')).key;
COMMIT;
SQL

run() { # MODE SCRIPT: prints "tps latency_ms"
  pgbench -n -M "$1" -c"$CLIENTS" -j2 -T"$SECONDS_PER_RUN" -h "$BENCH_DIR/run" -p "$PG_PORT" -U "$ROLE" \
    -f "$2" \
    -D household="$HOUSEHOLD" -D actor="user:bench" -D key="$KEY" -D scope=integration -D ready=0 \
    "$DB" 2>"$BENCH_DIR/pgbench.err" \
    | awk '/^tps = / { printf "%.0f", $3 } /latency average/ { lat = $4 } END { printf " %s\n", lat }' \
    || { cat "$BENCH_DIR/pgbench.err" >&2; die "pgbench failed"; }
}

NOW="$PROJECT_DIR/bench/http_bench_get.sql"
run prepared "$INLINE" >/dev/null  # warm-up: caches, the extension's key derivation
printf '%-6s %-24s %-24s %-24s %s\n' round "before: inline, named" "inline, unnamed" "now: function, unnamed" "now/before"
for r in $(seq 1 "$ROUNDS"); do
  read -r b_tps b_lat < <(run prepared "$INLINE")
  read -r i_tps i_lat < <(run extended "$INLINE")
  read -r n_tps n_lat < <(run extended "$NOW")
  printf '%-6s %-24s %-24s %-24s %s\n' "$r" "$b_tps tps ($b_lat ms)" "$i_tps tps ($i_lat ms)" \
    "$n_tps tps ($n_lat ms)" "$(awk -v a="$n_tps" -v b="$b_tps" 'BEGIN { printf "%.1f%%", 100 * a / b }')"
done
