#!/usr/bin/env bash
# `redocly lint` of service/openapi/openapi.json with the rules of
# redocly.yaml, offline: no telemetry, no update check, no remote $ref.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
exec node_modules/.bin/redocly lint --config redocly.yaml --format=stylish ../../service/openapi/openapi.json
