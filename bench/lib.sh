# Shared by the benchmarks that run secretsd against a private cluster
# (http_bench.sh, stream_bench.sh, statement_bench.sh): the database, the
# gateway role, secretsd's start and a first user. Sourced after
# scripts/lib.sh; not a benchmark itself.
# shellcheck shell=bash

# bench_database DIR PORT DB ROLE: DB with the extension, and ROLE, a login
# of pgsecrets_gateway that may create secretsd's schema in it.
bench_database() {
  local dir=$1 port=$2 db=$3 role=$4
  cluster_psql "$dir" "$port" -d postgres -q -c "CREATE DATABASE $db"
  cluster_psql "$dir" "$port" -d "$db" -q <<SQL
CREATE EXTENSION pgsecrets;
CREATE ROLE $role LOGIN IN ROLE pgsecrets_gateway;
GRANT CREATE ON DATABASE $db TO $role;
SQL
}

# bench_secretsd_env DIR PORT DB ROLE HTTP_PORT [NAME=VALUE...]: writes
# DIR/secretsd.env (0600) with fresh random keys, never printed, and the
# extra settings; prints its path.
bench_secretsd_env() {
  local dir=$1 port=$2 db=$3 role=$4 http_port=$5
  shift 5
  local file="$dir/secretsd.env"
  (
    umask 077
    {
      echo "DATABASE_URL=\"host=$dir/run port=$port dbname=$db user=$role\""
      echo "PORT=$http_port"
      echo "BIND=127.0.0.1"
      echo "AUTH_SECRET_KEY=$(openssl rand -hex 32)"
      echo "ADMIN_API_KEY=$(openssl rand -hex 32)"
      echo "SECRETSD_MIGRATIONS_DIR=$PROJECT_DIR/migrations"
      printf '%s\n' "$@"
    } >"$file"
  )
  echo "$file"
}

# bench_start_secretsd DIR HTTP_PORT: starts $BUILD_DIR/bin/secretsd with
# DIR/secretsd.env (open file limit raised to the hard limit, output in
# DIR/secretsd.log), sets SECRETSD_PID and waits until /ready answers 200.
bench_start_secretsd() {
  local dir=$1 http_port=$2
  (
    set -a; source "$dir/secretsd.env"; set +a
    ulimit -n "$(ulimit -Hn)"
    exec "$BUILD_DIR/bin/secretsd" >"$dir/secretsd.log" 2>&1
  ) &
  SECRETSD_PID=$!
  local base="http://127.0.0.1:$http_port"
  for _ in $(seq 1 100); do
    if curl -fsS "$base/ready" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$dir/secretsd.log" >&2
  die "secretsd did not become ready"
}

# bench_stop_secretsd: stops what bench_start_secretsd started, if anything.
bench_stop_secretsd() {
  if [ -n "${SECRETSD_PID:-}" ]; then
    kill "$SECRETSD_PID" 2>/dev/null || true
    wait "$SECRETSD_PID" 2>/dev/null || true
    SECRETSD_PID=
  fi
}

# The string field NAME of the JSON object on standard input.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# bench_register DIR HTTP_PORT EMAIL: registers a user (owner of a new
# household) with a random password; the answer (tokens, ids) goes to
# DIR/registered.json, readable by this user only.
bench_register() {
  local dir=$1 http_port=$2 email=$3
  (
    umask 077
    printf '{"email":"%s","password":"%s","household_name":"bench"}' "$email" "$(openssl rand -hex 16)" \
      >"$dir/register.json"
    curl -fsS -X POST "http://127.0.0.1:$http_port/api/v0/auth/register" \
      -H 'Content-Type: application/json' --data-binary @"$dir/register.json" >/dev/null
    # Registration hands out no tokens: sign in with the same email and password.
    curl -fsS -X POST "http://127.0.0.1:$http_port/api/v0/auth/login" \
      -H 'Content-Type: application/json' --data-binary @"$dir/register.json" >"$dir/registered.json"
  )
}
