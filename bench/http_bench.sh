#!/usr/bin/env bash
# secretsd's GET /api/secrets/{key} against pgbench running the very same
# statement (bench/http_bench_get.sql, checked identical to the service's by
# tests/secrets/secrets_it.cpp), in a private PostgreSQL 15
# cluster and a secretsd that this script starts and removes.
#
#   bash bench/http_bench.sh
#
#   wrk     -t2 -c32 -d20s --latency, Authorization: Bearer <JWT>
#   pgbench -n -M prepared -c32 -j2 -T20, as the gateway login role
#
# Prints req/s, p50 and p99 for both, the ratio, and the targets (HTTP >= 50%
# of pgbench's rate, HTTP p99 <= 10 ms, no non-2xx response, no pgbench
# failure), and writes the same as markdown to bench/results/http-<date>.md
# (gitignored). Exits 1 if any request failed.
#
# Environment (defaults are what the published figures use):
#   PGSECRETS_HTTP_BENCH_PORT       PostgreSQL port (55481)
#   PGSECRETS_HTTP_BENCH_HTTP_PORT  secretsd port (55482)
#   PGSECRETS_HTTP_BENCH_SECONDS    duration of each run (20)
#   SECRETSD_THREADS                secretsd workers (64, secretsd's default: at
#                                   least one per wrk connection -- the server
#                                   serves a keep-alive connection on one worker)
#   SECRETSD_POOL_SIZE              database connections (4 x cores: measured
#                                   best of 4, 8, 16, 32 on 2 cores)
#   PGSECRETS_BENCH_KEEP=1          keep the scratch directory
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"

PG_PORT=${PGSECRETS_HTTP_BENCH_PORT:-55481}
HTTP_PORT=${PGSECRETS_HTTP_BENCH_HTTP_PORT:-55482}
SECONDS_PER_RUN=${PGSECRETS_HTTP_BENCH_SECONDS:-20}
CORES=$(nproc)
THREADS=${SECRETSD_THREADS:-64}
POOL=${SECRETSD_POOL_SIZE:-$((4 * CORES))}
CLIENTS=32
DB=pgsecrets_http_bench
ROLE=secretsd_bench
KEY=BENCH_API_KEY
RESULTS_DIR="$PROJECT_DIR/bench/results"
DATE=$(date +%Y-%m-%d)

"$PROJECT_DIR/scripts/deps.sh" --test   # wrk, curl
log "building and installing the extension, building secretsd"
make -s -C "$PROJECT_DIR" -f Makefile.pgxs install >/dev/null
cmake -S "$PROJECT_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$CORES" --target secretsd >/dev/null

BENCH_DIR=$(mktemp -d /tmp/pgsecrets-http-bench.XXXXXX)
SECRETSD_PID=
cleanup() {
  bench_stop_secretsd
  cluster_stop "$BENCH_DIR"
  if [ "${PGSECRETS_BENCH_KEEP:-0}" = 1 ]; then log "kept $BENCH_DIR"; else rm -rf "$BENCH_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting a bench cluster in $BENCH_DIR (port $PG_PORT)"
# cluster_init writes the root key file and preloads pgsecrets. Everything
# else is PostgreSQL's default; jit is off as in the extension benchmark.
cluster_init "$BENCH_DIR" "$PG_PORT" "jit = off"
cluster_start "$BENCH_DIR"
bench_database "$BENCH_DIR" "$PG_PORT" "$DB" "$ROLE"

# secretsd's settings: fresh random keys in a 0600 file, never printed.
bench_secretsd_env "$BENCH_DIR" "$PG_PORT" "$DB" "$ROLE" "$HTTP_PORT" \
  "SECRETSD_THREADS=$THREADS" "SECRETSD_POOL_SIZE=$POOL" SECRETSD_QUEUE_LIMIT=256 >/dev/null
log "starting secretsd on 127.0.0.1:$HTTP_PORT (threads $THREADS, pool $POOL)"
bench_start_secretsd "$BENCH_DIR" "$HTTP_PORT"
BASE="http://127.0.0.1:$HTTP_PORT"

# A user (owner of a new household) through the API, and the secret.
bench_register "$BENCH_DIR" "$HTTP_PORT" bench@example.test
REGISTERED="$BENCH_DIR/registered.json"
TOKEN=$(json_field access_token <"$REGISTERED")
USER_ID=$(json_field user_id <"$REGISTERED")
HOUSEHOLD=$(json_field household_id <"$REGISTERED")
AUTH="Authorization: Bearer $TOKEN"
curl -fsS -X POST "$BASE/api/secrets" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"key\":\"$KEY\",\"value\":\"$(openssl rand -hex 20)\",\"description\":\"bench\"}" >/dev/null
curl -fsS "$BASE/api/secrets/$KEY" -H "$AUTH" >/dev/null

# ------------------------------------------------------------ wrk (HTTP)
LUA="$BENCH_DIR/auth.lua"
(umask 077; printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$TOKEN" >"$LUA")
WRK_CMD=(wrk -t2 -c"$CLIENTS" -d"${SECONDS_PER_RUN}s" --latency -s "$LUA" "$BASE/api/secrets/$KEY")
# A 3 s warm-up first, so the pool's connections are open (pgbench's tps
# excludes its connection time too).
wrk -t2 -c"$CLIENTS" -d3s -s "$LUA" "$BASE/api/secrets/$KEY" >/dev/null
log "wrk: ${WRK_CMD[*]}"
"${WRK_CMD[@]}" >"$BENCH_DIR/wrk.out"

# wrk prints latencies with a unit (us, ms, s); in ms.
wrk_ms() {
  awk -v p="$1" '$1 == p {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
    printf "%.2f", v }' "$BENCH_DIR/wrk.out"
}
HTTP_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$BENCH_DIR/wrk.out")
HTTP_P50=$(wrk_ms 50%)
HTTP_P99=$(wrk_ms 99%)
HTTP_REQUESTS=$(awk '/requests in/ { print $1 }' "$BENCH_DIR/wrk.out")
HTTP_NON2XX=$(awk -F': ' '/Non-2xx or 3xx responses/ { print $2 }' "$BENCH_DIR/wrk.out")
HTTP_NON2XX=${HTTP_NON2XX:-0}
HTTP_SOCKET_ERRORS=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$BENCH_DIR/wrk.out")
HTTP_SOCKET_ERRORS=${HTTP_SOCKET_ERRORS:-0}

# ------------------------------------------------------------ pgbench (SQL)
# The same statement, as the same gateway role, for the same household,
# actor and key; only the HTTP layer and JWT check are missing.
PGBENCH_CMD=(pgbench -n -M prepared -c"$CLIENTS" -j2 -T"$SECONDS_PER_RUN"
  -f "$PROJECT_DIR/bench/http_bench_get.sql"
  -D household="$HOUSEHOLD" -D actor="user:$USER_ID" -D key="$KEY" -D scope=integration -D role=membership
  -D ready=0
  --log --log-prefix="$BENCH_DIR/pgbench_log"
  -h "$BENCH_DIR/run" -p "$PG_PORT" -U "$ROLE" "$DB")
log "pgbench: ${PGBENCH_CMD[*]}"
"${PGBENCH_CMD[@]}" >"$BENCH_DIR/pgbench.out" 2>"$BENCH_DIR/pgbench.err" \
  || { cat "$BENCH_DIR/pgbench.err" >&2; die "pgbench failed"; }

SQL_RPS=$(awk '/^tps = .*without initial connection time/ { printf "%.0f", $3 }' "$BENCH_DIR/pgbench.out")
SQL_FAILED=$(awk -F': ' '/number of failed transactions/ { split($2, a, " "); print a[1] }' "$BENCH_DIR/pgbench.out")
SQL_FAILED=${SQL_FAILED:-0}
# Per-transaction logs: the third field is the latency in microseconds.
cat "$BENCH_DIR"/pgbench_log.* | awk '{ print $3 }' | sort -n >"$BENCH_DIR/pgbench_latencies"
pct_ms() {
  awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < NR * p / 100) i++; if (i < 1) i = 1;
                   printf "%.2f", v[i] / 1000 }' "$BENCH_DIR/pgbench_latencies"
}
SQL_P50=$(pct_ms 50)
SQL_P99=$(pct_ms 99)
SQL_COUNT=$(wc -l <"$BENCH_DIR/pgbench_latencies")

RATIO=$(awk -v h="$HTTP_RPS" -v s="$SQL_RPS" 'BEGIN { printf "%.0f", 100 * h / s }')
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "MISSED"; fi; }
RATE_OK=$(awk -v r="$RATIO" 'BEGIN { print (r >= 50) ? 1 : 0 }')
P99_OK=$(awk -v p="$HTTP_P99" 'BEGIN { print (p <= 10) ? 1 : 0 }')
ERRORS_OK=$([ "$HTTP_NON2XX" = 0 ] && [ "$HTTP_SOCKET_ERRORS" = 0 ] && [ "$SQL_FAILED" = 0 ] && echo 1 || echo 0)

mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/http-$DATE.md"
{
  echo "# secretsd HTTP benchmark, $DATE"
  echo
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), PostgreSQL $(pg_config --version 2>/dev/null | awk '{print $2}'), secretsd threads $THREADS, pool $POOL, ${SECONDS_PER_RUN} s per run, $CLIENTS connections"
  echo
  echo "| | requests/s | p50 ms | p99 ms | requests | errors |"
  echo "|---|---:|---:|---:|---:|---:|"
  echo "| secretsd GET /api/secrets/{key} (wrk) | $HTTP_RPS | $HTTP_P50 | $HTTP_P99 | $HTTP_REQUESTS | non-2xx $HTTP_NON2XX, socket $HTTP_SOCKET_ERRORS |"
  echo "| same statement, pgbench -M prepared | $SQL_RPS | $SQL_P50 | $SQL_P99 | $SQL_COUNT | failed $SQL_FAILED |"
  echo
  echo "- HTTP rate / SQL rate: **$RATIO%** (target >= 50%: $(verdict "$RATE_OK"))"
  echo "- HTTP p99: **$HTTP_P99 ms** (target <= 10 ms: $(verdict "$P99_OK"))"
  echo "- errors: $(verdict "$ERRORS_OK") (target: none)"
  echo
  echo '```'
  echo "${WRK_CMD[*]}" | sed "s#$BENCH_DIR#\$BENCH_DIR#g"
  echo "${PGBENCH_CMD[*]}" | sed "s#$BENCH_DIR#\$BENCH_DIR#g"
  echo '```'
} >"$OUT"
cat "$OUT"
log "written to $OUT"
[ "$ERRORS_OK" = 1 ] || die "some requests failed"
