#!/usr/bin/env bash
# A pgsecrets database under Patroni with etcd, on loopback only: one etcd
# member and two PostgreSQL 15 nodes with the pgsecrets extension preloaded
# and the same root key file, synchronous replication, tight timings.
#
#   deploy/ha/up.sh [DIR]      start (DIR defaults to .pgsecrets-ha/)
#   deploy/ha/up.sh stop [DIR]
#
# Prints the multi-host DATABASE_URL secretsd uses. Everything runs as the
# postgres OS user (as root) or as the caller. Ports: etcd 55790/55791,
# Patroni REST 55792/55793, PostgreSQL 55794/55795 (PGSECRETS_HA_BASE moves
# them all).
set -euo pipefail
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"

if [ "${1:-}" = stop ]; then
  DIR=${2:-$PROJECT_DIR/.pgsecrets-ha}
  for pidfile in "$DIR"/node*/patroni.pid "$DIR"/etcd.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  for _ in $(seq 1 100); do pgrep -f "$DIR/node" >/dev/null || break; sleep 0.1; done
  pkill -9 -f "$DIR/" 2>/dev/null || true
  exit 0
fi

DIR=${1:-$PROJECT_DIR/.pgsecrets-ha}
BASE=${PGSECRETS_HA_BASE:-55790}
ETCD_CLIENT=$BASE ETCD_PEER=$((BASE + 1))
command -v patroni >/dev/null && command -v etcd >/dev/null || {
  [ "$(id -u)" = 0 ] || die "patroni and etcd-server are not installed (run as root to install them)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends patroni etcd-server etcd-client >/dev/null
}
owner=$(cluster_owner)
mkdir -p "$DIR/keys"; chmod 0755 "$DIR"
chown "$owner" "$DIR/keys"; chmod 0700 "$DIR/keys"
[ -f "$DIR/keys/root.key" ] || write_key_file "$DIR/keys/root.key" 1

# etcd: one member, loopback only.
mkdir -p "$DIR/etcd"; chown "$owner" "$DIR/etcd"; chmod 0700 "$DIR/etcd"
if ! { [ -f "$DIR/etcd.pid" ] && kill -0 "$(cat "$DIR/etcd.pid")" 2>/dev/null; }; then
  as_owner sh -c "ETCD_UNSUPPORTED_ARCH=\$(dpkg --print-architecture) exec etcd --name ha --data-dir '$DIR/etcd/data' \
    --listen-client-urls http://127.0.0.1:$ETCD_CLIENT --advertise-client-urls http://127.0.0.1:$ETCD_CLIENT \
    --listen-peer-urls http://127.0.0.1:$ETCD_PEER --initial-advertise-peer-urls http://127.0.0.1:$ETCD_PEER \
    --initial-cluster ha=http://127.0.0.1:$ETCD_PEER --enable-v2=true >>'$DIR/etcd/etcd.log' 2>&1 & echo \$! > '$DIR/etcd/pid'"
  cp "$DIR/etcd/pid" "$DIR/etcd.pid"
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$ETCD_CLIENT/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$ETCD_CLIENT/health" >/dev/null || { tail "$DIR/etcd/etcd.log"; die "etcd did not start"; }
fi

node_config() { # N
  local n=$1
  local rest=$((BASE + 1 + n)) pg=$((BASE + 3 + n)) nd="$DIR/node$1"
  mkdir -p "$nd/run" "$nd/log"; chown -R "$owner" "$nd"; chmod 0700 "$nd" "$nd/run"
  as_owner tee "$nd/patroni.yml" >/dev/null <<YML
scope: pgsecrets
name: node$n
log:
  dir: $nd/log
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$ETCD_CLIENT
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    master_start_timeout: 0
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        shared_preload_libraries: pgsecrets
        pgsecrets.key_file: $DIR/keys/root.key
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - auth: trust
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $nd/data
  bin_dir: $PG_BIN
  pgpass: $nd/pgpass
  authentication:
    replication: {username: postgres}
    superuser: {username: postgres}
  parameters:
    unix_socket_directories: $nd/run
    pgsecrets.key_file: $DIR/keys/root.key
YML
}

start_node() { # N
  local nd="$DIR/node$1"
  if [ -f "$nd/patroni.pid" ] && kill -0 "$(cat "$nd/patroni.pid")" 2>/dev/null; then return 0; fi
  as_owner sh -c "exec patroni '$nd/patroni.yml' >>'$nd/patroni.log' 2>&1 & echo \$! > '$nd/pid'"
  cp "$nd/pid" "$nd/patroni.pid"
}

leader_port() {
  for n in 1 2; do
    local rest=$((BASE + 1 + n))
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rest/primary")" = 200 ]; then
      echo $((BASE + 3 + n)); return 0
    fi
  done
  return 1
}

node_config 1; node_config 2
start_node 1
for _ in $(seq 1 300); do leader_port >/dev/null && break; sleep 0.2; done
lp=$(leader_port) || { tail -n 30 "$DIR/node1/patroni.log"; die "no Patroni leader"; }
start_node 2
log "leader on port $lp; waiting for the synchronous standby"
for _ in $(seq 1 300); do
  [ "$(curl -s "http://127.0.0.1:$((BASE + 2))/cluster" | grep -o '"sync_standby"' | head -1)" ] && break
  sleep 0.2
done
sql() { psql -X -q -At -h 127.0.0.1 -p "$lp" -U postgres -v ON_ERROR_STOP=1 "$@"; }
sql -d postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'pgsecrets'" | grep -q 1 || sql -d postgres -c "CREATE DATABASE pgsecrets"
sql -d pgsecrets -c "CREATE EXTENSION IF NOT EXISTS pgsecrets" \
  -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secretsd') THEN CREATE ROLE secretsd LOGIN IN ROLE pgsecrets_gateway; END IF; END \$\$" \
  -c "GRANT CREATE ON DATABASE pgsecrets TO secretsd"
echo "DATABASE_URL=host=127.0.0.1,127.0.0.1 port=$((BASE + 4)),$((BASE + 5)) dbname=pgsecrets user=secretsd target_session_attrs=read-write connect_timeout=2"
