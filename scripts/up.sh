#!/usr/bin/env bash
# Installs what pgsecrets needs, builds it, and starts the whole system on a
# private PostgreSQL 15 cluster under .pgsecrets/ (never the system cluster):
# the extension preloaded with a root key, the database, and secretsd on
# 127.0.0.1:7701. Safe to run again: data, keys and credentials are kept.
#
#   scripts/up.sh          start (or restart) everything
#   scripts/up.sh stop     stop secretsd and the cluster
# PGSECRETS_HOME (.pgsecrets), PGSECRETS_PORT (55432) and PORT_SECRETSD
# (7701) move the state folder and the ports.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

STATE_DIR="${PGSECRETS_HOME:-$PROJECT_DIR/.pgsecrets}"
PORT="${PGSECRETS_PORT:-55432}"
DB=pgsecrets
SECRETSD_PORT="${PORT_SECRETSD:-7701}"

stop_secretsd() {
  if [ -f "$STATE_DIR/secretsd.pid" ] && kill -0 "$(cat "$STATE_DIR/secretsd.pid")" 2>/dev/null; then
    local pid deadline=$((SECONDS + 30))
    pid=$(cat "$STATE_DIR/secretsd.pid")
    kill "$pid" 2>/dev/null || true
    # Until it has exited (it finishes the requests in flight): its port is
    # free for the next start, whatever the machine's speed.
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  fi
  rm -f "$STATE_DIR/secretsd.pid"
}

if [ "${1:-}" = "stop" ]; then
  stop_secretsd
  cluster_stop "$STATE_DIR"
  log "stopped"
  exit 0
fi

# PGSECRETS_SKIP_BUILD=1: the test suite's quick-start check, which runs
# after scripts/test.sh has installed and built everything.
if [ "${PGSECRETS_SKIP_BUILD:-0}" != 1 ]; then
  "$PROJECT_DIR/scripts/deps.sh"
  build_all
fi

cluster_init "$STATE_DIR" "$PORT"
cluster_start "$STATE_DIR"

sql() { cluster_psql "$STATE_DIR" "$PORT" -q "$@"; }
if ! sql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  sql -d postgres -c "CREATE DATABASE $DB"
fi
sql -d "$DB" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pgsecrets;
-- A database kept from an older build: secretsd needs the installed version.
DO $$
BEGIN
  IF (SELECT extversion FROM pg_extension WHERE extname = 'pgsecrets')
     <> (SELECT default_version FROM pg_available_extensions WHERE name = 'pgsecrets') THEN
    ALTER EXTENSION pgsecrets UPDATE;
  END IF;
END $$;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secretsd') THEN
    CREATE ROLE secretsd LOGIN IN ROLE pgsecrets_gateway;
  END IF;
END $$;
GRANT CREATE ON DATABASE pgsecrets TO secretsd;
SQL
log "database '$DB' ready; key status:"
sql -d "$DB" -c "SELECT * FROM secrets.key_status()" >&2

# secretsd's own settings: generated once, kept private. This file is
# sourced by this script (as root under the quick start), so it must be
# ours and nobody else's to write: an older up.sh left it to the postgres
# user; check it, then chown it back.
ENV_FILE="$STATE_DIR/secretsd.env"
SECRETSD_LOG="$STATE_DIR/secretsd.log"
if [ -L "$ENV_FILE" ] || { [ -e "$ENV_FILE" ] && [ "$(stat -c %u "$ENV_FILE")" != "$(id -u)" ]; }; then
  die "$ENV_FILE is not owned by $(id -un) (or is a link); inspect it, then: chown $(id -un) $ENV_FILE"
fi
if [ ! -f "$ENV_FILE" ]; then
  (
    umask 077
    cat >"$ENV_FILE" <<EOF
PORT=$SECRETSD_PORT
BIND=127.0.0.1
AUTH_SECRET_KEY=$(openssl rand -hex 32)
ADMIN_API_KEY=$(openssl rand -hex 32)
EOF
  )
fi
# Derived, not secret: rewritten on every run so it follows PGSECRETS_PORT.
# Quoted, because the file is sourced by a shell and the value has spaces.
database_url="host=$STATE_DIR/run port=$PORT dbname=$DB user=secretsd"
sed -i '/^DATABASE_URL=/d' "$ENV_FILE"
printf "DATABASE_URL='%s'\n" "$database_url" >>"$ENV_FILE"

if [ -x "$BUILD_DIR/bin/secretsd" ]; then
  stop_secretsd
  (
    set -a; source "$ENV_FILE"; set +a
    export SECRETSD_MIGRATIONS_DIR="$PROJECT_DIR/migrations" SECRETSD_WEB_DIR="$PROJECT_DIR/service/web"
    nohup "$BUILD_DIR/bin/secretsd" >>"$SECRETSD_LOG" 2>&1 &
    echo $! >"$STATE_DIR/secretsd.pid"
  )
  for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:$SECRETSD_PORT/ready" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  if curl -fsS "http://127.0.0.1:$SECRETSD_PORT/ready" >/dev/null 2>&1; then
    log "secretsd is ready on http://127.0.0.1:$SECRETSD_PORT (log: $SECRETSD_LOG)"
    log "admin key: in $ENV_FILE (ADMIN_API_KEY)"
  else
    tail -n 20 "$SECRETSD_LOG" >&2
    die "secretsd did not become ready"
  fi
fi

cat <<EOF

pgsecrets is running.
  connect:   psql -h $STATE_DIR/run -p $PORT -U postgres $DB
  try:       SELECT secrets.use_household(gen_random_uuid(), for_session => true);
             SELECT secrets.set_secret('MY_API_KEY', 'sk-123', 'integration');
  root key:  $STATE_DIR/keys/root.key (mode 0600; back it up: without it the data is lost)
  stop:      scripts/up.sh stop
EOF
