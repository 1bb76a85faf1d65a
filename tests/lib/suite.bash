# What every shell test suite (tests/*/*.sh) shares: counting passes and
# failures, the assertions, the closing "N passed, N failed" line and its
# exit status, and skipping a whole suite. Source it after `set -euo
# pipefail`; a suite ends with `finish`.
# shellcheck shell=bash

failures=0
passes=0
skips=0

pass() { echo "ok   - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
skip() { echo "skip - $*"; skips=$((skips + 1)); }

# show_output TEXT: what a failed check saw, indented, its first 12 lines.
show_output() { sed 's/^/       /' <<<"$1" | head -12; }

# expect NAME PATTERN OUTPUT: OUTPUT matches the extended regex PATTERN.
expect() {
  if grep -qE -- "$2" <<<"$3"; then pass "$1"; else fail "$1"; show_output "$3"; fi
}
# reject NAME PATTERN OUTPUT: OUTPUT does not match PATTERN.
reject() {
  if grep -qE -- "$2" <<<"$3"; then fail "$1"; show_output "$3"; else pass "$1"; fi
}
# expect_eq NAME EXPECTED ACTUAL: a pass shows a short value too.
expect_eq() {
  if [ "$2" != "$3" ]; then fail "$1: expected '$2', got '$3'"
  elif [ -n "$3" ] && [ "${#3}" -le 60 ] && [[ "$3" != *$'\n'* ]]; then pass "$1 ($3)"
  else pass "$1"; fi
}
# expect_success NAME COMMAND...: the command exits 0.
expect_success() {
  if "${@:2}"; then pass "$1"; else fail "$1"; fi
}

# skip_suite REASON: the whole suite cannot run here; CTest counts exit 77
# as skipped (SKIP_RETURN_CODE).
skip_suite() { echo "skip: $*"; exit 77; }

# The closing line; the suite's status is its return. A suite that checked
# nothing fails: it did not test what it claims.
finish() {
  local line="$passes passed, $failures failed"
  [ "$skips" -eq 0 ] || line+=", $skips skipped"
  echo "$line"
  if [ "$((passes + failures))" -eq 0 ]; then
    echo "FAIL - no check ran"
    return 1
  fi
  [ "$failures" -eq 0 ]
}
