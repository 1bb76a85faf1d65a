#!/usr/bin/env bash
# Bulk encrypt/decrypt cost of pgsecrets against a plaintext column and
# pgcrypto's pgp_sym_encrypt/pgp_sym_decrypt (defaults), in a private
# PostgreSQL 15 cluster that this script starts and removes.
#
#   bash bench/extension_bench.sh
#
# 200,000 rows of 40-byte text; every timed statement runs in ONE psql
# session (one psql invocation of a generated SQL script) and is timed on the
# server with clock_timestamp() around EXECUTE, so psql start-up, parsing of
# the result and the client round trip are not counted. Each query is run
# once as a warm-up, then 3 times; the median is reported.
#
# Prints a table and writes the same figures as markdown to
# bench/results/extension-<date>.md (gitignored).
#
# Environment (for smoke tests only; published figures use the defaults):
#   PGSECRETS_BENCH_ROWS   rows (default 200000)
#   PGSECRETS_BENCH_PORT   port (default 55480)
#   PGSECRETS_BENCH_KEEP=1 keep the cluster directory
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"

ROWS=${PGSECRETS_BENCH_ROWS:-200000}
PORT=${PGSECRETS_BENCH_PORT:-55480}
RUNS=3
HOUSEHOLD=6f1c1a8e-4b7d-4c2e-9a1f-00000000b001
PASSPHRASE=pgsecrets-bench-passphrase
DECRYPT_TARGET_US=0.6
ENCRYPT_TARGET_US=1.5
RESULTS_DIR="$PROJECT_DIR/bench/results"
DATE=$(date +%Y-%m-%d)

"$PROJECT_DIR/scripts/deps.sh" --test
log "building and installing the extension"
make -s -C "$PROJECT_DIR" -f Makefile.pgxs install >/dev/null

BENCH_DIR=$(mktemp -d /tmp/pgsecrets-bench.XXXXXX)
cleanup() {
  cluster_stop "$BENCH_DIR"
  if [ "${PGSECRETS_BENCH_KEEP:-0}" = 1 ]; then
    log "kept $BENCH_DIR"
  else
    rm -rf "$BENCH_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting a bench cluster in $BENCH_DIR (port $PORT)"
# cluster_init writes the root key file (DIR/keys/root.key) and preloads
# pgsecrets. pgsecrets' crypto functions are PARALLEL RESTRICTED, so parallel
# query is off for every method to keep the baselines comparable; JIT is off
# so no query pays (or skips) a compile step the others do not.
cluster_init "$BENCH_DIR" "$PORT" \
  "max_parallel_workers_per_gather = 0" \
  "jit = off"
cluster_start "$BENCH_DIR"

cluster_psql "$BENCH_DIR" "$PORT" -d postgres -q -c "CREATE DATABASE pgsecrets_bench"

# ------------------------------------------------------------ the SQL script
SQL="$BENCH_DIR/bench.sql"
ctx_const="'bench'"
ctx_row="'bench:' || id"
hh="'$HOUSEHOLD'::uuid"
pw="'$PASSPHRASE'"

# name|sql, per operation; the first three are the published comparison,
# the rest are diagnostics.
decrypt_queries=(
  "plaintext|SELECT sum(length(v)) FROM bench_plain"
  "pgsecrets|SELECT sum(length(secrets.decrypt_secret(c, $hh, $ctx_const))) FROM bench_pgsecrets"
  "pgcrypto|SELECT sum(length(pgp_sym_decrypt(c, $pw))) FROM bench_pgcrypto"
  "pgsecrets, row context|SELECT sum(length(secrets.decrypt_secret(c, $hh, $ctx_row))) FROM bench_pgsecrets_row"
  "fmgr only (ciphertext_key_version)|SELECT sum(length(secrets.ciphertext_key_version(c)::text)) FROM bench_pgsecrets"
)
encrypt_queries=(
  "plaintext|INSERT INTO ins_plain (id, v) SELECT id, v FROM bench_plain"
  "pgsecrets|INSERT INTO ins_pgsecrets (id, c) SELECT id, secrets.encrypt_secret(v, $hh, $ctx_const) FROM bench_plain"
  "pgcrypto|INSERT INTO ins_pgcrypto (id, c) SELECT id, pgp_sym_encrypt(v, $pw) FROM bench_plain"
  "pgsecrets, row context|INSERT INTO ins_pgsecrets_row (id, c) SELECT id, secrets.encrypt_secret(v, $hh, $ctx_row) FROM bench_plain"
  "storage only (copy pgsecrets ciphertext)|INSERT INTO ins_stored (id, c) SELECT id, c FROM bench_pgsecrets"
)
encrypt_tables=(ins_plain ins_pgsecrets ins_pgcrypto ins_pgsecrets_row ins_stored)

{
  cat <<EOF
\\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION pgsecrets;
CREATE EXTENSION pgcrypto;
SELECT secrets.use_household($hh, for_session => true) \\g /dev/null

\\warn [bench] building the data set: $ROWS rows of 40-byte text
CREATE TABLE bench_plain (id int PRIMARY KEY, v text NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO bench_plain
  SELECT i, left(encode(sha256(i::text::bytea), 'hex'), 40) FROM generate_series(1, $ROWS) i;
CREATE TABLE bench_pgsecrets (id int PRIMARY KEY, c bytea NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO bench_pgsecrets SELECT id, secrets.encrypt_secret(v, $hh, $ctx_const) FROM bench_plain;
CREATE TABLE bench_pgsecrets_row (id int PRIMARY KEY, c bytea NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO bench_pgsecrets_row SELECT id, secrets.encrypt_secret(v, $hh, $ctx_row) FROM bench_plain;
\\warn [bench] building the pgcrypto ciphertext table (slow: pgp_sym_encrypt runs its S2K per row)
CREATE TABLE bench_pgcrypto (id int PRIMARY KEY, c bytea NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO bench_pgcrypto SELECT id, pgp_sym_encrypt(v, $pw) FROM bench_plain;
EOF
  for t in "${encrypt_tables[@]}"; do
    col=c; typ=bytea
    [ "$t" = ins_plain ] && { col=v; typ=text; }
    echo "CREATE TABLE $t (id int, $col $typ NOT NULL) WITH (autovacuum_enabled = off);"
  done
  cat <<'EOF'
VACUUM (FREEZE, ANALYZE) bench_plain, bench_pgsecrets, bench_pgsecrets_row, bench_pgcrypto;

CREATE TEMP TABLE bench_runs (seq serial, op text, method text, run int, ms float8, check_value bigint);
-- Times one statement on the server. run 0 is the warm-up.
CREATE FUNCTION pg_temp.bench_time(p_op text, p_method text, p_run int, p_sql text)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  t0 timestamptz;
  t1 timestamptz;
  v bigint;
BEGIN
  IF p_op = 'encrypt' THEN
    t0 := clock_timestamp();
    EXECUTE p_sql;
    t1 := clock_timestamp();
    GET DIAGNOSTICS v = ROW_COUNT;
  ELSE
    t0 := clock_timestamp();
    EXECUTE p_sql INTO v;
    t1 := clock_timestamp();
  END IF;
  INSERT INTO bench_runs (op, method, run, ms, check_value) VALUES (p_op, p_method, p_run,
                                 extract(epoch FROM t1 - t0) * 1000, v);
END $f$;
CHECKPOINT;
EOF

  # Runs are interleaved (every method's run 1, then every method's run 2, ...)
  # so drift on a shared machine spreads over all methods alike.
  echo "\\warn [bench] decrypt: warm-up + $RUNS runs of ${#decrypt_queries[@]} queries"
  for run in $(seq 0 "$RUNS"); do
    for q in "${decrypt_queries[@]}"; do
      echo "SELECT pg_temp.bench_time('decrypt', \$m\$${q%%|*}\$m\$, $run, \$q\$${q#*|}\$q\$) \\g /dev/null"
    done
  done
  echo "\\warn [bench] encrypt: warm-up + $RUNS runs of ${#encrypt_queries[@]} INSERT ... SELECT"
  for run in $(seq 0 "$RUNS"); do
    for i in "${!encrypt_queries[@]}"; do
      q=${encrypt_queries[$i]}
      # Not timed: an empty table and no dirty buffers from the previous run.
      echo "TRUNCATE ${encrypt_tables[$i]};"
      echo "CHECKPOINT;"
      echo "SELECT pg_temp.bench_time('encrypt', \$m\$${q%%|*}\$m\$, $run, \$q\$${q#*|}\$q\$) \\g /dev/null"
    done
  done
  echo "SELECT 'RUN', op, method, run, round(ms::numeric, 3), check_value FROM bench_runs ORDER BY seq;"
} >"$SQL"

log "running the benchmark in one psql session (pgcrypto takes a few minutes)"
RAW="$BENCH_DIR/raw.txt"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
cluster_psql "$BENCH_DIR" "$PORT" -d pgsecrets_bench -q -At -F '|' -f "$SQL" >"$RAW"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------ sanity checks
# Every decrypt must return the same sum of lengths as the plaintext, every
# INSERT must write every row: a faster method that did less work is no result.
awk -F'|' -v rows="$ROWS" '
  $1 != "RUN" { next }
  $2 == "decrypt" && $3 ~ /^fmgr/ { if ($6 != rows) { print "bad check: " $0; bad = 1 } next }
  $2 == "decrypt" { if ($6 != rows * 40) { print "bad check: " $0; bad = 1 } next }
  $2 == "encrypt" { if ($6 != rows) { print "bad check: " $0; bad = 1 } }
  END { exit bad }
' "$RAW" >&2 || die "a query returned the wrong result; see above"

# ------------------------------------------------------------ report
PG_VERSION=$(cluster_psql "$BENCH_DIR" "$PORT" -d pgsecrets_bench -At -c "SHOW server_version")
SODIUM_VERSION=$(dpkg-query -W -f='${Version}' libsodium23 2>/dev/null || echo unknown)
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
NPROC=$(nproc)
COMMIT=$(git -C "$PROJECT_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$PROJECT_DIR" status --porcelain -- extension sql 2>/dev/null)" ]; then
  COMMIT="$COMMIT (extension/ or sql/ modified)"
fi

# One line per (op, method): op|method|median_ms|runs
SUMMARY=$(awk -F'|' '
  $1 == "RUN" && $4 > 0 { key = $2 "|" $3; if (!(key in n)) keys[++k] = key; n[key]++; v[key, n[key]] = $5 }
  END {
    for (i = 1; i <= k; i++) {
      key = keys[i]; m = n[key]
      for (a = 1; a <= m; a++) s[a] = v[key, a]
      for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (s[b] < s[a]) { t = s[a]; s[a] = s[b]; s[b] = t }
      med = (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
      runs = ""
      for (a = 1; a <= m; a++) runs = runs (a > 1 ? ", " : "") sprintf("%.1f", v[key, a])
      print key "|" med "|" runs
    }
  }' "$RAW")

# Figures per line: op|method|median_ms|us_row|extra_us|ratio|verdict|runs
FIGURES=$(echo "$SUMMARY" | awk -F'|' -v rows="$ROWS" -v dt="$DECRYPT_TARGET_US" -v et="$ENCRYPT_TARGET_US" '
  { op[NR] = $1; me[NR] = $2; ms[NR] = $3; runs[NR] = $4; if ($2 == "plaintext") base[$1] = $3 }
  END {
    for (i = 1; i <= NR; i++) {
      b = base[op[i]]
      us = ms[i] * 1000 / rows
      extra = (ms[i] - b) * 1000 / rows
      ratio = b > 0 ? ms[i] / b : 0
      verdict = ""
      if (me[i] == "pgsecrets") {
        target = (op[i] == "decrypt") ? dt : et
        verdict = (extra <= target) ? sprintf("PASS (<= %s)", target) : sprintf("MISS (> %s)", target)
      }
      printf "%s|%s|%.1f|%.3f|%s|%s|%s|%s\n", op[i], me[i], ms[i], us,
        (me[i] == "plaintext") ? "-" : sprintf("%+.3f", extra),
        (me[i] == "plaintext") ? "1.00x" : sprintf("%.2fx", ratio), verdict, runs[i]
    }
  }')

is_main() { case "$1" in plaintext|pgsecrets|pgcrypto) return 0 ;; esac; return 1; }

print_table() {
  local want=$1
  printf '%-8s %-42s %12s %10s %14s %10s  %s\n' operation method "median ms" "µs/row" "extra µs/row" ratio target
  while IFS='|' read -r op me ms us extra ratio verdict runs; do
    if [ "$want" = main ] && ! is_main "$me"; then continue; fi
    if [ "$want" = diag ] && is_main "$me"; then continue; fi
    printf '%-8s %-42s %12s %10s %14s %10s  %s\n' "$op" "$me" "$ms" "$us" "$extra" "$ratio" "$verdict"
  done <<<"$FIGURES"
}

markdown_table() {
  local want=$1
  echo "| operation | method | median ms | µs/row | extra µs/row | ratio | target | runs (ms) |"
  echo "|---|---|---:|---:|---:|---:|---|---|"
  while IFS='|' read -r op me ms us extra ratio verdict runs; do
    if [ "$want" = main ] && ! is_main "$me"; then continue; fi
    if [ "$want" = diag ] && is_main "$me"; then continue; fi
    echo "| $op | $me | $ms | $us | $extra | $ratio | ${verdict:-} | $runs |"
  done <<<"$FIGURES"
}

echo
echo "pgsecrets extension benchmark, $DATE: $ROWS rows x 40 bytes, median of $RUNS runs (after 1 warm-up)"
echo "PostgreSQL $PG_VERSION, libsodium $SODIUM_VERSION, $NPROC x $CPU, commit $COMMIT"
echo "load average before: $LOAD_BEFORE, after: $LOAD_AFTER (anything near $NPROC or above means other work shared the CPUs: rerun)"
echo
print_table main
echo
echo "diagnostics (not targets):"
print_table diag
echo

mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/extension-$DATE.md"
[ "$ROWS" = 200000 ] || OUT="$RESULTS_DIR/extension-$DATE-${ROWS}rows.md"
{
  echo "### pgsecrets extension benchmark, $DATE"
  echo
  echo "\`bash bench/extension_bench.sh\` — $ROWS rows of 40-byte text, one psql session, median of $RUNS runs after one warm-up;"
  echo "PostgreSQL $PG_VERSION, libsodium $SODIUM_VERSION, $NPROC × $CPU (\`nproc\` = $NPROC), commit $COMMIT."
  echo "Load average before the timed session: $LOAD_BEFORE; after: $LOAD_AFTER."
  echo "pgsecrets context: the constant 'bench'. Targets: decrypt ≤ $DECRYPT_TARGET_US µs/row over plaintext, encrypt ≤ $ENCRYPT_TARGET_US µs/row over a plaintext insert."
  echo
  markdown_table main
  echo
  echo "Diagnostics (not targets): \"row context\" uses 'bench:' || id (a per-row context, as real rows have);"
  echo "\"fmgr only\" calls secrets.ciphertext_key_version(c), a C function that reads the ciphertext header and does no crypto."
  echo "\"storage only\" inserts already-made pgsecrets ciphertext: the cost of writing 86-byte values instead of 40-byte ones, with no crypto."
  echo
  markdown_table diag
} >"$OUT"
log "wrote $OUT"
