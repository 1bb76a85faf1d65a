#!/usr/bin/env bash
# scripts/check_layers.sh on fixture trees: a clean tree in the target
# layout passes, and each rule (a-f) is reported, with the offending file,
# for a tree that breaks only that rule; near misses that are allowed (a
# module.h include, secrets.secrets_x, getenv in config/, httplib in http/,
# a comment) pass.
set -euo pipefail
source "$(cd "$(dirname "$0")/.." && pwd)/lib/suite.bash"
CHECK="$(cd "$(dirname "$0")/../.." && pwd)/scripts/check_layers.sh"

WORK=$(mktemp -d /tmp/pgsecrets-layers.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# put TREE FILE [LINE...]: writes FILE under TREE with one line per argument.
put() {
  local tree=$1 file=$2; shift 2
  mkdir -p "$(dirname "$WORK/$tree/$file")"
  printf '%s\n' "$@" >"$WORK/$tree/$file"
}

# A small tree in the target layout: main.cpp composes two modules, which
# meet through module.h; api/ and http/ use httplib; config/ reads the
# environment; SQL uses functions and a table named like the extension's.
clean_tree() {
  local t=$1
  put "$t" service/main.cpp '#include "config/config.h"' '#include "secrets/module.h"' '#include "events/module.h"'
  put "$t" service/config/config.h '#pragma once' 'const char* v = std::getenv("X");'
  put "$t" service/http/server.h '#include <httplib.h>'
  put "$t" service/api/router.h '#include <httplib.h>' '#include "http/server.h"'
  put "$t" service/secrets_cli/http_client.cpp '#include <httplib.h>'
  put "$t" service/secretsctl/main.cpp 'const char* url = std::getenv("DATABASE_URL");'
  put "$t" service/secrets/module.h '#pragma once' '#include "api/router.h"'
  put "$t" service/secrets/module.cpp '#include "secrets/module.h"' '#include "statements.h"' \
    '// secrets.secrets is the extension table; getenv is config/'"'"'s' \
    'const char* q = "SELECT secrets.secrets_of(1), secrets.secret_metadata";  // not secrets.secrets'
  put "$t" service/secrets/statements.h '#pragma once' '/* secrets.secrets' ' * getenv(), in a block comment' ' */'
  put "$t" service/events/module.h '#pragma once' '#include "secrets/module.h"'
  put "$t" service/events/stream.cpp '#include "events/module.h"' '#include "secrets/module.h"' \
    'auto s = config.secrets.secrets;'
  put "$t" migrations/0001_init.sql "SELECT secrets.secrets_count(); -- not secrets.secrets" \
    "CREATE TABLE app.secrets (id int); SELECT 1 FROM secrets.secret_metadata;"
}

# check NAME TREE EXPECTED_RC [PATTERN...]: runs the check on TREE; the exit
# status must be EXPECTED_RC and the output must match every PATTERN.
check() {
  local name=$1 tree=$2 want=$3; shift 3
  local out rc=0
  out=$(bash "$CHECK" "$WORK/$tree" 2>&1) || rc=$?
  local ok=1
  [ "$rc" = "$want" ] || ok=0
  local pattern
  for pattern in "$@"; do grep -qE -- "$pattern" <<<"$out" || ok=0; done
  if [ "$ok" = 1 ]; then pass "$name"; else fail "$name (exit $rc, expected $want)"; show_output "$out"; fi
}

clean_tree clean
check "a clean tree passes" clean 0 "^check_layers: layering holds$"

# Each broken tree is the clean one with one change, so the rule named is
# the only one that can fire (checked: the count of violations).
broken() { rm -rf "${WORK:?}/$1"; cp -r "$WORK/clean" "$WORK/$1"; }

broken a_pair
put a_pair service/api/router.h '#include <httplib.h>' '#include "http/server.h"' '#include "secrets/module.h"'
check "a: two folders that include each other" a_pair 1 \
  '^a: folder cycle: api <-> secrets include each other: service/api/router.h:3 includes "secrets/module.h"' \
  '^a: folder cycle: secrets <-> api include each other: service/secrets/module.h:2'

broken a_long
put a_long service/http/server.h '#include <httplib.h>' '#include "config/config.h"'
put a_long service/config/config.h '#pragma once' '#include "secrets/module.h"' 'const char* v = std::getenv("X");'
check "a: a cycle of three folders" a_long 1 \
  '^a: folder cycle: config -> secrets is on a cycle of \{api, config, http, secrets\}' \
  '^a: folder cycle: http -> config is on a cycle'

broken b_app
put b_app service/app.h '#pragma once'
put b_app service/health/module.h '#pragma once' '#include "app.h"'
check "b: a module includes app.h" b_app 1 '^b: service/health/module.h:2: includes app.h'

broken b_root
put b_root service/routes.h '#pragma once'
put b_root service/routes.cpp '#include "routes.h"'
put b_root service/main.cpp '#include "routes.h"'
put b_root service/config/load.cpp '#include "main.cpp"'
check "b: including a file directly under service/ other than its own header" b_root 1 \
  '^b: service/config/load.cpp:1: includes "main.cpp", a file directly under service/' \
  '^b: service/main.cpp:1: includes "routes.h", a file directly under service/'
out=$(bash "$CHECK" "$WORK/b_root" 2>&1 || true)
if grep -q '^b: service/routes.cpp' <<<"$out"; then fail "b: routes.cpp including its own header is allowed"; show_output "$out"
else pass "b: routes.cpp including its own header is allowed"; fi

broken c_module
put c_module service/events/stream.cpp '#include "events/module.h"' '#include "secrets/statements.h"'
check "c: a feature module includes another's inner header" c_module 1 \
  '^c: service/events/stream.cpp:2: feature module events includes "secrets/statements.h" \(only secrets/module.h\)'

broken d_httplib
put d_httplib service/secrets/module.h '#pragma once' '#include "api/router.h"' '#  include <httplib.h>'
put d_httplib service/secretsctl/http_client.cpp '#include "httplib.h"'
check "d: httplib outside http/, api/ and secrets_cli/http_client" d_httplib 1 \
  '^d: service/secrets/module.h:3: includes <httplib.h>' '^d: service/secretsctl/http_client.cpp:1: includes <httplib.h>'

broken e_sql
put e_sql service/secrets/module.cpp '#include "secrets/module.h"' \
  'const char* q = "SELECT s.* FROM secrets.secrets s";'
put e_sql migrations/0002_more.sql 'SELECT count(*) FROM "secrets"."secrets";'
check "e: SQL names secrets.secrets (in C++ and in a migration)" e_sql 1 \
  '^e: service/secrets/module.cpp:2: names the extension table secrets.secrets' \
  '^e: migrations/0002_more.sql:1: names the extension table'

broken f_getenv
put f_getenv service/events/stream.cpp '#include "events/module.h"' \
  'if (const char* d = ::secure_getenv("DIR")) use(d);'
put f_getenv service/main.cpp '#include "config/config.h"' 'auto p = std::getenv("PORT");'
check "f: getenv outside config/ and the CLIs" f_getenv 1 \
  '^f: service/events/stream.cpp:2: reads the environment' '^f: service/main.cpp:2: reads the environment'

# Each broken tree reports its own rule only.
for tree in a_pair a_long b_app b_root c_module d_httplib e_sql f_getenv; do
  out=$(bash "$CHECK" "$WORK/$tree" 2>&1 || true)
  others=$(grep -E "^[a-f]: " <<<"$out" | grep -v "^${tree:0:1}: " || true)
  if [ -z "$others" ]; then pass "$tree: no other rule fires"; else fail "$tree: other rules fire"; show_output "$others"; fi
done

check "a missing tree is an error, not a pass" nonexistent 2

finish
