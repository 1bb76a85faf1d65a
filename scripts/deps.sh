#!/usr/bin/env bash
# Installs every Debian package pgsecrets builds, runs and tests with.
#   scripts/deps.sh          build + run
#   scripts/deps.sh --test   also what the test suite and benchmarks need
set -euo pipefail

packages=(
  build-essential cmake pkg-config git openssl ca-certificates util-linux
  postgresql-15 postgresql-client-15 postgresql-server-dev-15
  libsodium-dev libssl-dev libpqxx-dev libcpp-httplib-dev nlohmann-json3-dev
  libzxcvbn-dev liboath-dev libqrencode-dev
)
test_packages=(libgtest-dev oathtool curl wrk nodejs chromium pgbouncer prometheus clang libfuzzer-14-dev valgrind)

want=("${packages[@]}")
if [ "${1:-}" = "--test" ]; then
  want+=("${test_packages[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The machine image may ship Node.js with its own npm (nodesource); Debian's
# npm package would conflict with it, so it is only added when npm is absent.
if [ "${1:-}" = "--test" ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[pgsecrets] missing packages (run as root to install): ${missing[*]}" >&2
  exit 1
fi
echo "[pgsecrets] installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
