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
write_key_file() {
  local path=$1; shift
  local owner; owner=$(cluster_owner)
  (
    umask 077
    if [ $# -eq 0 ]; then
      openssl rand -hex 32 >"$path"
    else
      : >"$path"
      local last=${*: -1}
      for v in "$@"; do
        if [ "$v" = "$last" ]; then
          printf '%s %s active\n' "$v" "$(openssl rand -hex 32)" >>"$path"
        else
          printf '%s %s\n' "$v" "$(openssl rand -hex 32)" >>"$path"
        fi
      done
    fi
  )
  chown "$owner" "$path"
  chmod 0600 "$path"
}

# cluster_init DIR PORT [extra postgresql.conf lines...]
# DIR/data, DIR/run (the socket, mode 0700), DIR/keys/root.key, DIR/log.
cluster_init() {
  local dir=$1 port=$2; shift 2
  local owner; owner=$(cluster_owner)
  mkdir -p "$dir/run" "$dir/keys" "$dir/log"
  chmod 0700 "$dir/run" "$dir/keys"
  chown -R "$owner" "$dir"
  chmod 0755 "$dir"
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
  make -s -C "$PROJECT_DIR" -f Makefile.pgxs install >/dev/null
  log "building the service and tests"
  cmake -S "$PROJECT_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)" >/dev/null
}
