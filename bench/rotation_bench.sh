#!/usr/bin/env bash
# Root key rotation: rewrap rate over 1,000,000 values, and get_secret read
# latency before and during the rotation, in one run, in a private
# PostgreSQL 15 cluster that this script starts and removes.
#
#   bash bench/rotation_bench.sh
#
# 1,000 households x 1,000 secrets are written under key version 1; version
# 2 is added to the key file, activated (reload), and CALL
# secrets.rotate_all(BATCH) rewraps every value (committing per batch) while
# pgbench reads random secrets through secrets.get_secret() with READERS
# clients. The same pgbench load, run before the key change, is the
# baseline. Latencies come from pgbench's per-transaction log (one
# transaction = use_household + get_secret); only transactions that ended
# while the rotation ran count as "during".
#
# Prints a table and writes it as markdown to bench/results/rotation-<date>.md.
#
# Environment (smoke tests only; published figures use the defaults):
#   PGSECRETS_BENCH_ROWS      values (default 1000000; 1,000 per household)
#   PGSECRETS_BENCH_BATCH     rotation batch size (default 10000)
#   PGSECRETS_BENCH_READERS   pgbench clients reading (default 4)
#   PGSECRETS_BENCH_PORT      port (default 55482)
#   PGSECRETS_BENCH_KEEP=1    keep the cluster directory
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

ROWS=${PGSECRETS_BENCH_ROWS:-1000000}
BATCH=${PGSECRETS_BENCH_BATCH:-10000}
READERS=${PGSECRETS_BENCH_READERS:-4}
PORT=${PGSECRETS_BENCH_PORT:-55482}
PER_HOUSEHOLD=1000
HOUSEHOLDS=$(( (ROWS + PER_HOUSEHOLD - 1) / PER_HOUSEHOLD ))
BASELINE_SECONDS=10
TARGET_ROWS_PER_S=100000
RESULTS_DIR="$PROJECT_DIR/bench/results"
DATE=$(date +%Y-%m-%d)

"$PROJECT_DIR/scripts/deps.sh" --test
log "building and installing the extension"
make -s -C "$PROJECT_DIR" -f Makefile.pgxs install >/dev/null

BENCH_DIR=$(mktemp -d /tmp/pgsecrets-rotation-bench.XXXXXX)
cleanup() {
  cluster_stop "$BENCH_DIR"
  if [ "${PGSECRETS_BENCH_KEEP:-0}" = 1 ]; then log "kept $BENCH_DIR"; else rm -rf "$BENCH_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting a bench cluster in $BENCH_DIR (port $PORT)"
mkdir -p "$BENCH_DIR/keys" && chown "$(cluster_owner)" "$BENCH_DIR" "$BENCH_DIR/keys"
KEY="$BENCH_DIR/keys/root.key"
write_key_file "$KEY" 1
# Room for the rotation's WAL without a checkpoint in the middle of it;
# parallel query and JIT off, as in extension_bench.sh.
cluster_init "$BENCH_DIR" "$PORT" \
  "max_wal_size = '8GB'" \
  "checkpoint_timeout = '30min'" \
  "shared_buffers = '512MB'" \
  "max_parallel_workers_per_gather = 0" \
  "jit = off"
cluster_start "$BENCH_DIR"
sql() { cluster_psql "$BENCH_DIR" "$PORT" -d rotation_bench -At "$@"; }
cluster_psql "$BENCH_DIR" "$PORT" -d postgres -q -c "CREATE DATABASE rotation_bench"
sql -q -c "CREATE EXTENSION pgsecrets"

log "writing $ROWS values under key version 1 ($HOUSEHOLDS households)"
# Rows are written straight into the table (as the superuser) for speed; the
# values are real ciphertexts bound to their rows, exactly as the API writes them.
sql -q <<SQL
INSERT INTO secrets.secrets (household_id, scope, key, value, created_by, updated_by)
SELECT h.id, 'integration', 'KEY_' || k,
       secrets.encrypt_secret('value-' || h.n || '-' || k || '-0123456789abcdef', h.id,
                              secrets.secret_context('integration', NULL, 'KEY_' || k)),
       'bench', 'bench'
  FROM (SELECT n, ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid AS id
          FROM generate_series(1, $HOUSEHOLDS) n) h,
       generate_series(1, $PER_HOUSEHOLD) k
 WHERE (h.n - 1) * $PER_HOUSEHOLD + k <= $ROWS;
VACUUM ANALYZE secrets.secrets;
CHECKPOINT;
SQL

cat >"$BENCH_DIR/read.pgbench" <<SQL
\\set h random(1, $HOUSEHOLDS)
\\set k random(1, $PER_HOUSEHOLD)
SELECT secrets.use_household(('00000000-0000-0000-0000-' || lpad(:h::text, 12, '0'))::uuid, for_session => true);
SELECT length(secrets.get_secret('KEY_' || :k, 'integration'));
SQL
# read_load SECONDS PREFIX: pgbench's per-transaction log goes to PREFIX.*
read_load() {
  (cd "$BENCH_DIR" && pgbench -n -h "$BENCH_DIR/run" -p "$PORT" -U postgres -M prepared \
     -c "$READERS" -j "$READERS" -T "$1" -f read.pgbench -l --log-prefix="$2" rotation_bench \
     >>"$BENCH_DIR/pgbench.out" 2>&1)
}
# latency FROM TO PREFIX: "n avg_ms p50_ms p99_ms tps" over transactions ending in [FROM, TO]
latency() {
  cat "$BENCH_DIR"/"$3".* | awk -v from="$1" -v to="$2" '
    { t = $5 + $6 / 1e6; if (t >= from && t <= to) print $3 / 1000 }' | sort -n |
  awk -v secs="$(echo "$2 - $1" | bc -l)" '
    function at(q,   i) { i = int(NR * q) + 1; if (i > NR) i = NR; return v[i] }
    { v[NR] = $1; s += $1 }
    END { if (NR == 0) { print "0 - - - -"; exit }
          printf "%d %.3f %.3f %.3f %.0f\n", NR, s / NR, at(0.5), at(0.99), NR / secs }'
}

log "baseline: $READERS clients reading for ${BASELINE_SECONDS}s"
read_load 2 warmup
b_from=$(date +%s.%N)
read_load "$BASELINE_SECONDS" before
b_to=$(date +%s.%N)
read -r b_n b_avg b_p50 b_p99 b_tps <<<"$(latency "$b_from" "$b_to" before)"

log "adding key version 2 (active) and reloading"
v1=$(awk '{print $2}' "$KEY")
( umask 077; printf '1 %s\n2 %s active\n' "$v1" "$(openssl rand -hex 32)" >"$KEY" )
sql -q -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5

log "rotating $ROWS values (batch $BATCH) with $READERS clients reading"
( while [ ! -f "$BENCH_DIR/rotation.done" ]; do read_load 2 during; done ) &
READER_PID=$!
sleep 1
r_from=$(date +%s.%N)
rewrapped=$(sql -c "CALL secrets.rotate_all($BATCH)")
r_to=$(date +%s.%N)
touch "$BENCH_DIR/rotation.done"
wait "$READER_PID"
read -r d_n d_avg d_p50 d_p99 d_tps <<<"$(latency "$r_from" "$r_to" during)"
seconds=$(echo "$r_to - $r_from" | bc -l)
rate=$(echo "$rewrapped / $seconds" | bc -l)

left=$(sql -c "SELECT rows_to_rewrap FROM secrets.rotation_status()")
on_active=$(sql -c "SELECT rows_on_active FROM secrets.rotation_status()")
sample=$(sql -c "SELECT count(*) FROM (SELECT secrets.decrypt_secret(s.value, s.household_id,
                   secrets.secret_context(s.scope, s.node_id, s.key)) FROM secrets.secrets s LIMIT 10000) t")
errors=$(grep -c -E "ERROR|aborted" "$BENCH_DIR/pgbench.out" || true)
verdict=$(awk -v r="$rate" -v t="$TARGET_ROWS_PER_S" 'BEGIN { print (r >= t) ? "PASS" : "MISS" }')

table=$(cat <<EOF2
| measure | value |
| --- | --- |
| values rewrapped | $rewrapped of $ROWS (left under version 1: $left; under version 2: $on_active) |
| rotation wall time | $(printf '%.2f' "$seconds") s (batch $BATCH, one \`CALL secrets.rotate_all\`) |
| **rewrap rate** | **$(printf '%.0f' "$rate") rows/s** — target ≥ $TARGET_ROWS_PER_S with reads going on: $verdict |
| reads before (get_secret, $READERS clients) | $b_n tx, $(printf '%s' "$b_tps") tx/s, avg $b_avg ms, p50 $b_p50 ms, p99 $b_p99 ms |
| reads during the rotation | $d_n tx, $(printf '%s' "$d_tps") tx/s, avg $d_avg ms, p50 $d_p50 ms, p99 $d_p99 ms |
| read errors | $errors |
| sample decrypted after rotation | $sample of 10000 |
EOF2
)
echo
echo "$table"
mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/rotation-$DATE.md"
[ "$ROWS" = 1000000 ] || OUT="$RESULTS_DIR/rotation-$DATE-${ROWS}rows.md"
{
  echo "# pgsecrets key rotation — $DATE"
  echo
  echo "$(nproc) CPUs, $(uname -r), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')"
  echo
  echo "$table"
} >"$OUT"
log "wrote $OUT"
[ "$left" = 0 ] && [ "$errors" = 0 ]
