#!/bin/bash
# A stand-in for a voice/chat worker, driven by tests/providers/settings_it.cpp.
#
#   fake_runtime.sh restart STATE_DIR   what secretsd runs as the restart command
#   fake_runtime.sh run STATE_DIR       the runtime itself (started detached)
#
# STATE_DIR/config holds port=, app_id=, app_key=, runtime_id=, env_name=.
# On start the runtime fetches GET /internal/runtime-env with its app
# credentials (plain bash /dev/tcp: no curl needed), writes "<pid> <value>"
# to STATE_DIR/state and then idles. A value starting with "crash" makes it
# exit at once, like a worker refusing a bad key; restart then fails.
set -u
mode=$1
dir=$2
conf() { sed -n "s/^$1=//p" "$dir/config"; }
value_of() { cut -d' ' -f2- "$dir/state"; }

case "$mode" in
run)
  exec 3<>"/dev/tcp/127.0.0.1/$(conf port)" || exit 1
  printf 'GET /internal/runtime-env?runtime_id=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Jarvis-App-Id: %s\r\nX-Jarvis-App-Key: %s\r\nConnection: close\r\n\r\n' \
    "$(conf runtime_id)" "$(conf app_id)" "$(conf app_key)" >&3
  response=$(cat <&3)
  exec 3<&-
  var=$(conf env_name)
  value=$(printf '%s' "$response" | grep -o "\"$var\":\"[^\"]*\"" | sed 's/^.*":"//; s/"$//')
  echo "$$ $value" >"$dir/state.tmp" && mv "$dir/state.tmp" "$dir/state"
  case "$value" in crash*) exit 1 ;; esac
  echo "$$" >"$dir/pid"
  exec sleep 100000
  ;;
restart)
  if [ -f "$dir/pid" ]; then
    kill "$(cat "$dir/pid")" 2>/dev/null
    rm -f "$dir/pid"
  fi
  rm -f "$dir/state"
  # A new session: the runtime must outlive this command's process group,
  # which secretsd kills if the command overruns its timeout.
  setsid /bin/bash "$0" run "$dir" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 100); do
    if [ -f "$dir/state" ]; then
      case "$(value_of)" in crash*) exit 1 ;; esac
      exit 0
    fi
    sleep 0.05
  done
  exit 1
  ;;
esac
exit 2
