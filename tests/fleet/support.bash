# Shared by tests/fleet/*.sh: several secretsd instances against one
# database of the test cluster scripts/test.sh started, optionally behind a
# real PgBouncer. Not a test itself (CTest registers *.sh only).
# shellcheck shell=bash
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/suite.bash"
: "${PGSECRETS_TEST_DIR:?run through scripts/test.sh}"
: "${BUILD_BIN_DIR:?run through ctest}"
source "$PROJECT_SOURCE_DIR/scripts/lib.sh"

SECRETSD="$BUILD_BIN_DIR/secretsd"
WORK=$(mktemp -d /tmp/pgsecrets-fleet.XXXXXX)
chmod 0755 "$WORK"
AUTH_KEY=$(openssl rand -hex 32)
ADMIN_KEY=$(openssl rand -hex 32)

declare -a FLEET_PIDS=()
declare -a FLEET_BOUNCERS=()
fleet_cleanup() {
  for pid in "${FLEET_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${FLEET_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for dir in "${FLEET_BOUNCERS[@]}"; do pgbouncer_stop "$dir"; done
  if [ -n "${FLEET_DB:-}" ]; then
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $FLEET_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ "$failures" -gt 0 ] || [ "${FLEET_KEEP:-0}" = 1 ]; then tail -n 20 "$WORK"/*.log >&2 || true; fi
  rm -rf "$WORK"
}
trap fleet_cleanup EXIT

# fleet_db NAME [TABLESPACE]: a fresh database with the extension, and the
# gateway login role secretsd_fleet allowed to create secretsd's schema.
fleet_db() {
  FLEET_DB=$1
  local ts=${2:+TABLESPACE $2}
  psql -X -q -v ON_ERROR_STOP=1 -d postgres \
    -c "DROP DATABASE IF EXISTS $FLEET_DB WITH (FORCE)" -c "CREATE DATABASE $FLEET_DB $ts" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d "$FLEET_DB" >/dev/null <<SQL
CREATE EXTENSION pgsecrets;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secretsd_fleet') THEN
    CREATE ROLE secretsd_fleet LOGIN IN ROLE pgsecrets_gateway;
  END IF;
END \$\$;
GRANT CREATE ON DATABASE $FLEET_DB TO secretsd_fleet;
SQL
}

# The test cluster directly (its socket) and through a PgBouncer on PORT.
direct_url() { echo "host=$PGHOST port=$PGPORT dbname=$FLEET_DB user=secretsd_fleet"; }
bouncer_url() { echo "host=127.0.0.1 port=$1 dbname=$FLEET_DB user=secretsd_fleet"; }

# start_bouncer NAME PORT MODE POOL
start_bouncer() {
  local dir="$WORK/$1"
  FLEET_BOUNCERS+=("$dir")  # before starting: a failed start is stopped too
  pgbouncer_start "$dir" "$2" "$3" "$PGSECRETS_TEST_DIR" "$PGPORT" "$4" secretsd_fleet
}

# start_secretsd NAME PORT DATABASE_URL [VAR=VALUE...]: migrations always go
# to the cluster directly (SECRETSD_MIGRATION_DATABASE_URL). Sets NAME_PID.
start_secretsd() {
  local name=$1 port=$2 url=$3; shift 3
  env -i PATH="$PATH" HOME="$WORK" \
    DATABASE_URL="$url" SECRETSD_MIGRATION_DATABASE_URL="$(direct_url)" \
    PORT="$port" BIND=127.0.0.1 AUTH_SECRET_KEY="$AUTH_KEY" ADMIN_API_KEY="$ADMIN_KEY" \
    SECRETSD_ALLOW_WEAK_ARGON2=1 SECRETSD_ARGON2_OPSLIMIT=1 SECRETSD_ARGON2_MEMLIMIT=65536 \
    SECRETSD_MIGRATIONS_DIR="$PROJECT_SOURCE_DIR/migrations" SECRETSD_WEB_DIR="$PROJECT_SOURCE_DIR/service/web" \
    SECRETSD_REGISTRATION=open "$@" "$SECRETSD" >>"$WORK/$name.log" 2>&1 &
  local pid=$!
  FLEET_PIDS+=("$pid")
  printf -v "${name}_PID" '%s' "$pid"
  local deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/$name.log" >&2
  die "secretsd $name did not start on port $port"
}

# wait_accepted PORT N: until at least N client connections to PORT are
# established and the listener's accept queue is empty (secretsd accepted
# them all), read from /proc/net/tcp; fails after 30 s. What a test waits
# for instead of a sleep of a guessed length.
wait_accepted() {
  python3 - "$1" "$2" <<'PY'
import sys, time
port, want = int(sys.argv[1]), int(sys.argv[2])
deadline = time.time() + 30
while time.time() < deadline:
    established, backlog = 0, None
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            f = line.split()
            local_port = int(f[1].split(":")[1], 16)
            remote_port = int(f[2].split(":")[1], 16)
            if f[3] == "0A" and local_port == port:    # LISTEN: rx_queue is the accept queue
                backlog = int(f[4].split(":")[1], 16)
            elif f[3] == "01" and remote_port == port:  # ESTABLISHED, client side
                established += 1
    if established >= want and backlog == 0:
        sys.exit(0)
    time.sleep(0.01)
sys.exit(1)
PY
}

stop_secretsd() { # NAME: SIGTERM, then waits; returns its exit status
  local pid_var="${1}_PID"
  local pid=${!pid_var}
  kill -TERM "$pid" 2>/dev/null || true
  local rc=0
  wait "$pid" || rc=$?
  return "$rc"
}

# http PORT METHOD PATH [BODY] [curl args...]: prints "STATUS BODY".
http() {
  local port=$1 method=$2 path=$3 body=${4:-}; shift 4 || shift $#
  local file="$WORK/body.$BASHPID.$RANDOM"
  local args=(-s -o "$file" -w '%{http_code}' -X "$method" "http://127.0.0.1:$port$path")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  local status; status=$(curl "${args[@]}" "$@" || true)
  echo "$status $(cat "$file" 2>/dev/null)"
  rm -f "$file"
}
status_of() { http "$@" | cut -d' ' -f1; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().split(" ",1)[1])[sys.argv[1]])' "$1"; }

# PORT EMAIL: registers, then (registration hands out no tokens) signs in;
# prints the registration's STATUS and, when it was accepted (202), the
# sign-in's BODY (tokens, ids): "STATUS BODY".
register() {
  local out; out=$(http "$1" POST /api/v0/auth/register "{\"email\":\"$2\",\"password\":\"correct horse battery staple\",\"household_name\":\"fleet\"}")
  if [ "${out%% *}" = 202 ]; then
    local signed_in; signed_in=$(login "$1" "$2")
    out="202 ${signed_in#* }"
  fi
  echo "$out"
}
login() { # PORT EMAIL [PASSWORD]
  http "$1" POST /api/v0/auth/login "{\"email\":\"$2\",\"password\":\"${3:-correct horse battery staple}\"}"
}
