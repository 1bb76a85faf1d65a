#!/usr/bin/env bash
# Failover under Patroni: secretsd writes at a steady rate through a
# multi-host DATABASE_URL (target_session_attrs=read-write) while the
# leader's postmaster is killed with kill -9; Patroni promotes the
# synchronous standby and secretsd follows. Reports the outage (kill to the
# first acknowledged write after it) and the acknowledged writes lost (must
# be 0), beside the steady-state write latency measured in the same run.
#
#   bash bench/failover_bench.sh            (needs a built secretsd: scripts/test.sh or cmake)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

"$PROJECT_DIR/scripts/deps.sh" --test
SECRETSD_BIN=${SECRETSD_BIN:-$BUILD_DIR/bin/secretsd}
[ -x "$SECRETSD_BIN" ] || die "build secretsd first ($SECRETSD_BIN)"
HA=$(mktemp -d /tmp/pgsecrets-failover.XXXXXX)
HTTP=${PGSECRETS_FAILOVER_HTTP_PORT:-55797}
RATE_MS=${PGSECRETS_FAILOVER_INTERVAL_MS:-50}
RUN_AFTER_KILL=${PGSECRETS_FAILOVER_AFTER_S:-30}
SECRETSD_PID=
cleanup() {
  set +e
  [ -n "$SECRETSD_PID" ] && kill "$SECRETSD_PID" 2>/dev/null && wait "$SECRETSD_PID" 2>/dev/null
  bash "$PROJECT_DIR/deploy/ha/up.sh" stop "$HA"
  [ "${PGSECRETS_BENCH_KEEP:-0}" = 1 ] || rm -rf "$HA"
}
trap cleanup EXIT

url=$(bash "$PROJECT_DIR/deploy/ha/up.sh" "$HA" | sed -n 's/^DATABASE_URL=//p')
log "DATABASE_URL=$url"
env DATABASE_URL="$url" PORT="$HTTP" BIND=127.0.0.1 AUTH_SECRET_KEY="$(openssl rand -hex 32)" \
    SECRETSD_MIGRATIONS_DIR="$PROJECT_DIR/migrations" SECRETSD_WEB_DIR="$PROJECT_DIR/service/web" \
    SECRETSD_ALLOW_WEAK_ARGON2=1 SECRETSD_ARGON2_OPSLIMIT=1 SECRETSD_ARGON2_MEMLIMIT=65536 \
    "$SECRETSD_BIN" >"$HA/secretsd.log" 2>&1 &
SECRETSD_PID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$HTTP/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -s -o /dev/null -X POST "http://127.0.0.1:$HTTP/api/v0/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"failover@example.org","password":"a long failover passphrase","household_name":"HA"}'
token=$(curl -s -X POST "http://127.0.0.1:$HTTP/api/v0/auth/login" -H 'Content-Type: application/json' \
          -d '{"email":"failover@example.org","password":"a long failover passphrase"}' |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).access_token))')

# The writer: one POST per interval, each line "<ms since epoch> <i> <status> <latency ms>".
writer() {
  local i=0
  while [ ! -f "$HA/stop" ]; do
    i=$((i + 1))
    local t0 out
    t0=$(date +%s%3N)
    out=$(curl -s -o /dev/null -m 3 -w '%{http_code} %{time_total}' -X POST "http://127.0.0.1:$HTTP/api/secrets" \
            -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            -d "{\"key\":\"W_$i\",\"value\":\"v$i\"}" || echo "000 0")
    echo "$t0 $i $out" >>"$HA/writes"
    sleep "$(awk -v ms="$RATE_MS" 'BEGIN{printf "%.3f", ms/1000}')"
  done
}
writer &
WRITER=$!
sleep 8
leader_dir=
for n in 1 2; do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((55790 + 1 + n))/primary")" = 200 ]; then
    leader_dir=$HA/node$n
  fi
done
[ -n "$leader_dir" ] || die "no Patroni leader"
pm=$(head -1 "$leader_dir/data/postmaster.pid")
kill_ms=$(date +%s%3N)
kill -9 "$pm"
log "killed the leader's postmaster ($leader_dir, pid $pm)"
sleep "$RUN_AFTER_KILL"
touch "$HA/stop"; wait "$WRITER" || true

# Figures.
read -r before_n before_p50 before_p99 <<<"$(awk -v k="$kill_ms" '$1 < k && $3 == 200 {print $4*1000}' "$HA/writes" | sort -n |
  awk '{a[NR]=$1} END {printf "%d %.1f %.1f", NR, a[int(NR*0.5)+1], a[int(NR*0.99)+1]}')"
first_ok_after=$(awk -v k="$kill_ms" '$1 >= k && $3 == 200 {print $1; exit}' "$HA/writes")
first_fail=$(awk -v k="$kill_ms" '$1 >= k - 1000 && $3 != 200 {print $1; exit}' "$HA/writes")
failed=$(awk '$3 != 200' "$HA/writes" | wc -l)
outage=$(awk -v a="$kill_ms" -v b="${first_ok_after:-0}" 'BEGIN{ if (b == 0) print "none-recovered"; else printf "%.2f", (b - a) / 1000 }')
# Every acknowledged write must be there, read from the new leader through secretsd.
lost=0; acked=0
while read -r _ i status _; do
  [ "$status" = 200 ] || continue
  acked=$((acked + 1))
  got=$(curl -s -m 5 "http://127.0.0.1:$HTTP/api/secrets/W_$i" -H "Authorization: Bearer $token")
  grep -q "\"value\":\"v$i\"" <<<"$got" || lost=$((lost + 1))
done <"$HA/writes"
cat <<OUT

failover under Patroni ($(date +%F), $(nproc) cores; writes every ${RATE_MS} ms through secretsd)
  steady state before the kill:   $before_n acknowledged writes, latency p50 ${before_p50} ms, p99 ${before_p99} ms
  outage (kill -9 -> first acknowledged write): ${outage} s   (target <= 10 s)
  writes refused or failed during the outage:   $failed
  acknowledged writes:                          $acked
  acknowledged writes lost:                     $lost   (must be 0)
OUT
[ "$lost" -eq 0 ]
