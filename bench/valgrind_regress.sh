#!/usr/bin/env bash
# The extension's pg_regress suite against a PostgreSQL 15 running under
# valgrind memcheck (as pgvector's CI does), with the suppressions in
# tests/valgrind/postgres.supp. Uses the installed pgsecrets (it never
# installs it). Fails if valgrind reports any error not suppressed.
#   bash bench/valgrind_regress.sh           # as root or the cluster owner
# Env: PGSECRETS_VALGRIND_PORT (55740), PGSECRETS_KEEP_TEST_DIR=1 keeps the logs.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
"$PROJECT_DIR/scripts/deps.sh" --test
command -v valgrind >/dev/null || die "valgrind is not installed (scripts/deps.sh --test)"
make -s -C "$PROJECT_DIR" -f Makefile.pgxs sql/pgsecrets--0.3.0.sql >/dev/null

PORT=${PGSECRETS_VALGRIND_PORT:-55740}
DIR=$(mktemp -d /tmp/pgsecrets-valgrind.XXXXXX)
SUPP="$PROJECT_DIR/tests/valgrind/postgres.supp"
PM_PID=""
stop() {
  # $PM_PID may be runuser's: pg_ctl signals the postmaster itself.
  if [ -n "$PM_PID" ] && kill -0 "$PM_PID" 2>/dev/null; then
    as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -w -t 300 stop -m fast >/dev/null 2>&1 || true
    wait "$PM_PID" 2>/dev/null || true
  fi
}
cleanup() {
  stop
  if [ "${PGSECRETS_KEEP_TEST_DIR:-0}" = 1 ]; then log "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

mkdir -p "$DIR/keys" && chown "$(cluster_owner)" "$DIR" "$DIR/keys"
write_key_file "$DIR/keys/root.key" 1 2
# The same settings as scripts/test.sh's cluster (the expected outputs
# assume them), minus what only slows valgrind down.
cluster_init "$DIR" "$PORT" \
  "log_min_error_statement = 'error'" \
  "max_connections = 40" \
  "fsync = off" \
  "jit = off" \
  "max_parallel_workers_per_gather = 0"
mkdir -p "$DIR/valgrind" && chown "$(cluster_owner)" "$DIR/valgrind"

log "starting PostgreSQL under valgrind on port $PORT (logs in $DIR/valgrind)"
# Every process gets its own log (%p). --trace-children follows anything the
# postmaster execs (archive or restore commands: none here, kept for parity
# with PostgreSQL's own valgrind runs); backends are forks, always traced.
as_owner valgrind --quiet --tool=memcheck --trace-children=yes --track-origins=yes \
  --leak-check=no --read-var-info=no --num-callers=30 \
  --suppressions="$SUPP" --gen-suppressions=all \
  --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
  --log-file="$DIR/valgrind/%p.log" \
  "$PG_BIN/postgres" -D "$DIR/data" >"$DIR/log/postgresql.log" 2>&1 &
PM_PID=$!
for _ in $(seq 1 240); do
  "$PG_BIN/pg_isready" -q -h "$DIR/run" -p "$PORT" && break
  kill -0 "$PM_PID" 2>/dev/null || { tail -n 30 "$DIR/log/postgresql.log" >&2; die "PostgreSQL under valgrind did not start"; }
  sleep 0.5
done
"$PG_BIN/pg_isready" -q -h "$DIR/run" -p "$PORT" || die "PostgreSQL under valgrind does not answer"

log "running the regression suite under valgrind"
start=$(date +%s)
regress_rc=0
PGHOST="$DIR/run" PGPORT="$PORT" PGUSER=postgres \
  make -s -C "$PROJECT_DIR" -f Makefile.pgxs installcheck \
    REGRESS_OPTS="--inputdir=tests/extension --outputdir=$DIR/regress --dbname=pgsecrets_regress" \
  || regress_rc=$?
log "regression suite: rc=$regress_rc in $(( $(date +%s) - start ))s"
[ "$regress_rc" = 0 ] || cat "$DIR/regress/regression.diffs" >&2 2>/dev/null || true
stop

errors=$(cat "$DIR"/valgrind/*.log 2>/dev/null | grep -c VALGRINDERROR-BEGIN || true)
if [ "$errors" != 0 ]; then
  # Print each report (with the suppression valgrind proposes for it).
  for f in "$DIR"/valgrind/*.log; do
    grep -q VALGRINDERROR-BEGIN "$f" && { echo "==== $f" >&2; cat "$f" >&2; }
  done
  log "valgrind: $errors error(s) reported"
  exit 1
fi
log "valgrind: no errors in $(ls "$DIR"/valgrind | wc -l) process logs"
exit "$regress_rc"
