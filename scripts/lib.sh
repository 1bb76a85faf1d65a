# Shared by scripts/up.sh, scripts/test.sh and the shell tests: building,
# and private PostgreSQL clusters that never touch the system one.
# shellcheck shell=bash

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
BUILD_DIR="${BUILD_DIR:-$PROJECT_DIR/build}"

log() { printf '\033[1m[pgsecrets]\033[0m %s\n' "$*" >&2; }
die() { printf '[pgsecrets] error: %s\n' "$*" >&2; exit 1; }

# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# system's "postgres" user; as anyone else, to that user.
cluster_owner() {
  if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Writes a root key file: one line per version, the last marked active.
# With no versions given, writes a bare key (`openssl rand -hex 32`), which
# is version 1, active.
# The file is created by the server's OS user (its directory is that
# user's, and root must not write through a link planted there); the key
# travels on a pipe from a shell builtin, never on a command line.
write_key_file() {
  local path=$1; shift
  local content=""
  if [ $# -eq 0 ]; then
    content="$(openssl rand -hex 32)"$'\n'
  else
    local last=${*: -1}
    for v in "$@"; do
      if [ "$v" = "$last" ]; then
        content+="$v $(openssl rand -hex 32) active"$'\n'
      else
        content+="$v $(openssl rand -hex 32)"$'\n'
      fi
    done
  fi
  printf '%s' "$content" | as_owner sh -c 'umask 077 && rm -f "$1" && cat >"$1" && chmod 0600 "$1"' sh "$path"
}

# cluster_init DIR PORT [extra postgresql.conf lines...]
# DIR/data, DIR/run (the socket, mode 0700), DIR/keys/root.key, DIR/log.
# DIR itself stays the caller's: only these four folders are handed to the
# server's OS user, so that user cannot replace DIR's other entries (the
# secretsd settings root reads, its pid file and log).
cluster_init() {
  local dir=$1 port=$2; shift 2
  local owner; owner=$(cluster_owner)
  mkdir -p "$dir"
  chown "$(id -u):$(id -g)" "$dir"
  chmod 0755 "$dir"
  for sub in data run keys log; do
    [ ! -L "$dir/$sub" ] || die "$dir/$sub is a symbolic link; refusing to use it"
    mkdir -p "$dir/$sub"
    chown "$owner" "$dir/$sub"
  done
  chmod 0700 "$dir/data" "$dir/run" "$dir/keys"
  chmod 0750 "$dir/log"
  if [ ! -f "$dir/keys/root.key" ]; then
    write_key_file "$dir/keys/root.key"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/log/initdb.log" 2>&1 \
      || { cat "$dir/log/initdb.log" >&2; die "initdb failed"; }
    as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# ---- pgsecrets private cluster
port = $port
listen_addresses = ''
unix_socket_directories = '$dir/run'
unix_socket_permissions = 0700
shared_preload_libraries = 'pgsecrets'
pgsecrets.key_file = '$dir/keys/root.key'
max_connections = 100
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    for line in "$@"; do
      echo "$line" | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
    done
  fi
}

cluster_running() {
  as_owner "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

cluster_start() {
  local dir=$1
  if cluster_running "$dir"; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log/postgresql.log" -w -t 60 restart -m fast >/dev/null
  else
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log/postgresql.log" -w -t 60 start >/dev/null
  fi || { tail -n 30 "$dir/log/postgresql.log" >&2; die "PostgreSQL did not start"; }
}

cluster_stop() {
  local dir=$1
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -w -t 60 stop -m fast >/dev/null 2>&1 || true
  fi
}

# psql against a private cluster, as its superuser.
cluster_psql() {
  local dir=$1 port=$2; shift 2
  psql -X -v ON_ERROR_STOP=1 -h "$dir/run" -p "$port" -U postgres "$@"
}

build_all() {
  log "building the extension"
  make -s -C "$PROJECT_DIR" -f Makefile.pgxs >/dev/null
  # The server loads one pgsecrets per machine; a checkout that must not
  # replace the installed one (a second work tree) sets this to 1.
  if [ "${PGSECRETS_SKIP_EXTENSION_INSTALL:-0}" != 1 ]; then
    make -s -C "$PROJECT_DIR" -f Makefile.pgxs install >/dev/null
  fi
  log "building the service and tests"
  cmake -S "$PROJECT_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)" >/dev/null
}

# The checked builds scripts/test.sh also runs (README "Fuzzing and
# sanitizers"): $BUILD_DIR-asan (ASan+UBSan: secretsd, secretsctl and the
# C++ tests) and $BUILD_DIR-fuzz (clang, the libFuzzer targets); their
# folders are handed to $BUILD_DIR's CTest, which registers sanitize.* and
# fuzz.* runs. PGSECRETS_SKIP_CHECKED_BUILDS=1 leaves both out.
build_checked() {
  local asan="" fuzz=""
  if [ "${PGSECRETS_SKIP_CHECKED_BUILDS:-0}" != 1 ]; then
    asan="$BUILD_DIR-asan" fuzz="$BUILD_DIR-fuzz"
    log "building the sanitizer build ($asan)"
    cmake -S "$PROJECT_DIR" -B "$asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSECRETS_SANITIZE=ON >/dev/null
    cmake --build "$asan" -j "$(nproc)" --target secretsd secretsctl unit_tests integration_tests >/dev/null
    log "building the fuzz targets ($fuzz)"
    cmake -S "$PROJECT_DIR" -B "$fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSECRETS_FUZZ=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
    cmake --build "$fuzz" -j "$(nproc)" --target fuzzers >/dev/null
  fi
  cmake -S "$PROJECT_DIR" -B "$BUILD_DIR" -DPGSECRETS_ASAN_BUILD_DIR="$asan" \
    -DPGSECRETS_FUZZ_BUILD_DIR="$fuzz" \
    -DPGSECRETS_VALGRIND_TEST="$([ "${PGSECRETS_VALGRIND:-0}" = 1 ] && echo ON || echo OFF)" >/dev/null
}

# pgbouncer_start DIR PORT MODE PGDIR PGPORT [POOL_SIZE] [ROLES]
# A real PgBouncer (Debian's, started as the cluster's OS user: it refuses
# root) on 127.0.0.1:PORT in front of the private cluster PGDIR (its socket),
# pool_mode MODE (session or transaction), every database, trust auth for the
# roles in its auth file: postgres and ROLES (space-separated; PgBouncer's
# trust still refuses a user it does not list). Its files live in DIR;
# pgbouncer_stop DIR ends it.
pgbouncer_start() {
  local dir=$1 port=$2 mode=$3 pgdir=$4 pgport=$5 pool=${6:-1} roles="postgres ${7:-}"
  local owner; owner=$(cluster_owner)
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || die "pgbouncer is not installed (scripts/deps.sh --test)"
  mkdir -p "$dir"
  chown "$owner" "$dir"
  as_owner tee "$dir/pgbouncer.ini" >/dev/null <<INI
[databases]
* = host=$pgdir/run port=$pgport
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = $mode
default_pool_size = $pool
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 400
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
admin_users = postgres
INI
  local role userlist=""
  for role in $roles; do userlist+="\"$role\" \"\""$'\n'; done
  printf '%s' "$userlist" | as_owner sh -c 'cat > "$1"' sh "$dir/userlist.txt"
  local bin; bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  as_owner "$bin" -d "$dir/pgbouncer.ini" || die "pgbouncer did not start (see $dir/pgbouncer.log)"
  for _ in $(seq 1 100); do
    if psql -X -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  cat "$dir/pgbouncer.log" >&2 || true
  die "pgbouncer on port $port does not answer"
}

pgbouncer_stop() {
  local dir=$1
  if [ -f "$dir/pgbouncer.pid" ]; then
    kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -f "$dir/pgbouncer.pid" ] && kill -0 "$(cat "$dir/pgbouncer.pid" 2>/dev/null)" 2>/dev/null || return 0
      sleep 0.1
    done
  fi
}
