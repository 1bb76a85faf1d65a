#!/usr/bin/env bash
# secrets.seed_secrets() for 1k, 10k and 100k declarations, beside a
# baseline measured in the same run: a plain INSERT ... SELECT of the same
# number of rows into a table of the same shape (no encryption, no RLS, no
# audit entries). The figure should grow linearly (0.1.0's was quadratic).
# Private cluster, started and removed here.
#
#   bash bench/seed_bench.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

PORT=${PGSECRETS_BENCH_PORT:-55482}
SIZES=${PGSECRETS_SEED_SIZES:-1000 10000 100000}
"$PROJECT_DIR/scripts/deps.sh" --test
make -s -C "$PROJECT_DIR" -f Makefile.pgxs install >/dev/null

DIR=$(mktemp -d /tmp/pgsecrets-seedbench.XXXXXX)
trap 'cluster_stop "$DIR"; rm -rf "$DIR"' EXIT
chmod 0755 "$DIR"; mkdir -p "$DIR/keys"; chown "$(cluster_owner)" "$DIR/keys"
write_key_file "$DIR/keys/root.key" 1
cluster_init "$DIR" "$PORT" "fsync = off"
cluster_start "$DIR"
sql() { psql -X -At -h "$DIR/run" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
sql -c "CREATE EXTENSION pgsecrets" -c "CREATE TABLE baseline (LIKE secrets.secrets INCLUDING DEFAULTS)" >/dev/null

printf '%-14s %14s %14s %8s\n' declarations "seed_secrets" "plain INSERT" ratio
for n in $SIZES; do
  seed_ms=$(sql <<SQL
BEGIN;
SELECT secrets.use_household(gen_random_uuid()) \g /dev/null
SELECT jsonb_build_object('all_possible_secrets', jsonb_agg(jsonb_build_object('key', 'K_' || g, 'description', 'd')))
  AS m FROM generate_series(1, $n) g \gset
SELECT clock_timestamp() AS t0 \gset
SELECT secrets.seed_secrets(:'m') \g /dev/null
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
COMMIT;
SQL
)
  seed_ms=$(grep -E '^[0-9]+$' <<<"$seed_ms" | tail -1)
  base_ms=$(sql <<SQL | tail -1
SELECT clock_timestamp() AS t0 \gset
INSERT INTO baseline (household_id, scope, key, value, created_by, updated_by)
SELECT gen_random_uuid(), 'integration', 'K_' || g, '\x01'::bytea, 'bench', 'bench' FROM generate_series(1, $n) g;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
SQL
)
  printf '%-14s %11s ms %11s ms %7sx\n' "$n" "$seed_ms" "$base_ms" "$(awk -v a="$seed_ms" -v b="$base_ms" 'BEGIN{printf "%.0f", a/(b>0?b:1)}')"
done
