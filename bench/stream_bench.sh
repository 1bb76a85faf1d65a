#!/usr/bin/env bash
# The change stream under load, in one run: a private PostgreSQL 15 cluster
# and a secretsd that this script starts and removes, then
#   1. ordinary GET /api/secrets/{key} throughput with no stream open (wrk),
#   2. N open streams (bench/stream_driver.cpp, one user: the per-caller
#      limit is raised to N), secretsd's RSS before and after,
#   3. the same wrk run with the N streams open,
#   4. CHANGES updates of one secret, each timed from before its PUT until
#      every stream has the event: p50 / p99 / max over all deliveries.
#
#   bash bench/stream_bench.sh                 # N=10000
#   PGSECRETS_STREAM_BENCH_N=2000 bash bench/stream_bench.sh
#
# Environment:
#   PGSECRETS_STREAM_BENCH_N         streams (10000)
#   PGSECRETS_STREAM_BENCH_CHANGES   timed changes (5)
#   PGSECRETS_STREAM_BENCH_SECONDS   each wrk run (10)
#   PGSECRETS_STREAM_BENCH_PORT      PostgreSQL port (55810); secretsd: +1
#   PGSECRETS_SKIP_EXTENSION_INSTALL=1  use the installed extension as is
#   PG_BIN                           PostgreSQL binaries (scripts/lib.sh)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"

N=${PGSECRETS_STREAM_BENCH_N:-10000}
CHANGES=${PGSECRETS_STREAM_BENCH_CHANGES:-5}
SECONDS_PER_RUN=${PGSECRETS_STREAM_BENCH_SECONDS:-10}
PG_PORT=${PGSECRETS_STREAM_BENCH_PORT:-55810}
HTTP_PORT=$((PG_PORT + 1))
DB=pgsecrets_stream_bench
ROLE=secretsd_stream_bench
KEY=STREAM_BENCH_KEY

"$PROJECT_DIR/scripts/deps.sh" --test   # wrk, curl
if [ "${PGSECRETS_SKIP_EXTENSION_INSTALL:-0}" != 1 ]; then
  make -s -C "$PROJECT_DIR" -f Makefile.pgxs install >/dev/null
fi
cmake -S "$PROJECT_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j1 --target secretsd >/dev/null
BENCH_DIR=$(mktemp -d /tmp/pgsecrets-stream-bench.XXXXXX)
g++ -O2 -std=c++17 -o "$BENCH_DIR/stream_driver" "$PROJECT_DIR/bench/stream_driver.cpp"

SECRETSD_PID= DRIVER_PID=
cleanup() {
  for pid in $DRIVER_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  bench_stop_secretsd
  cluster_stop "$BENCH_DIR"
  rm -rf "$BENCH_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cluster_init "$BENCH_DIR" "$PG_PORT" "jit = off" "fsync = off"
cluster_start "$BENCH_DIR"
bench_database "$BENCH_DIR" "$PG_PORT" "$DB" "$ROLE"
bench_secretsd_env "$BENCH_DIR" "$PG_PORT" "$DB" "$ROLE" "$HTTP_PORT" \
  SECRETSD_POOL_SIZE=8 SECRETSD_QUEUE_LIMIT=1024 \
  "SECRETSD_STREAM_MAX_PER_CALLER=$N" "SECRETSD_STREAM_MAX_TOTAL=$N" \
  SECRETSD_ARGON2_OPSLIMIT=1 SECRETSD_ARGON2_MEMLIMIT=8192 SECRETSD_ALLOW_WEAK_ARGON2=1 >/dev/null
bench_start_secretsd "$BENCH_DIR" "$HTTP_PORT"
BASE="http://127.0.0.1:$HTTP_PORT"
bench_register "$BENCH_DIR" "$HTTP_PORT" stream@example.test
(umask 077; json_field access_token <"$BENCH_DIR/registered.json" >"$BENCH_DIR/token")
AUTH="Authorization: Bearer $(cat "$BENCH_DIR/token")"
curl -fsS -X POST "$BASE/api/secrets" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"key\":\"$KEY\",\"value\":\"$(openssl rand -hex 20)\"}" >/dev/null
LUA="$BENCH_DIR/auth.lua"
(umask 077; printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$(cat "$BENCH_DIR/token")" >"$LUA")

rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$SECRETSD_PID/status"; }
gets() { wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -s "$LUA" "$BASE/api/secrets/$KEY" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }'; }

wrk -t2 -c32 -d3s -s "$LUA" "$BASE/api/secrets/$KEY" >/dev/null   # warm-up: the pool's connections
RSS0=$(rss_mb)
log "GET throughput with no stream"
RPS0=$(gets)

log "opening $N streams"
T_OPEN=$(date +%s.%N)
"$BENCH_DIR/stream_driver" "$HTTP_PORT" "$N" "$BENCH_DIR/token" "$KEY" "$CHANGES" "$BENCH_DIR" \
  >"$BENCH_DIR/driver.out" 2>"$BENCH_DIR/driver.err" &
DRIVER_PID=$!
while [ ! -s "$BENCH_DIR/opened" ]; do
  kill -0 "$DRIVER_PID" 2>/dev/null || { cat "$BENCH_DIR/driver.err" >&2; die "the driver ended early"; }
  sleep 0.2
done
OPEN_S=$(awk -v a="$(date +%s.%N)" -v b="$T_OPEN" 'BEGIN { printf "%.1f", a - b }')
read -r _ OPENED REFUSED <"$BENCH_DIR/opened"
sleep 2
RSS1=$(rss_mb)
log "GET throughput with $OPENED streams open"
RPS1=$(gets)
touch "$BENCH_DIR/go"
wait "$DRIVER_PID"; DRIVER_PID=
LAT=$(cat "$BENCH_DIR/driver.out")

echo
echo "streams opened: $OPENED of $N (refused $REFUSED) in ${OPEN_S} s"
echo "secretsd RSS: $RSS0 MB with no stream, $RSS1 MB with $OPENED streams"
echo "GET /api/secrets/{key} (wrk -t2 -c32 -d${SECONDS_PER_RUN}s): $RPS0 req/s with no stream, $RPS1 req/s with $OPENED streams ($(( RPS1 * 100 / (RPS0 > 0 ? RPS0 : 1) )) %)"
echo "delivery of one change to every stream ($CHANGES changes): $LAT"
