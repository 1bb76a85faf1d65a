#!/usr/bin/env bash
# Runs one binary of the ASan+UBSan build (build-asan/) and fails if any
# sanitizer reported, in it or in a process it started (the integration
# tests start secretsd): reports go to files, which are printed and counted.
#   tests/sanitize/run.sh BINARY [ARGS...]
set -uo pipefail
bin=$1; shift
[ -x "$bin" ] || { echo "no sanitizer build at $bin (scripts/lib.sh builds it)" >&2; exit 1; }
reports=$(mktemp -d /tmp/pgsecrets-sanitize.XXXXXX)
trap 'rm -rf "$reports"' EXIT
suppressions="$(cd "$(dirname "$0")" && pwd)/lsan.supp"
# halt_on_error with -fno-sanitize-recover=all: the first finding ends the
# process with exitcode 23, whatever the test itself thought of it.
export ASAN_OPTIONS="halt_on_error=1:exitcode=23:detect_leaks=1:log_path=$reports/asan:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$suppressions:print_suppressions=0:${LSAN_OPTIONS:-}"
"$bin" "$@"
rc=$?
found=0
for f in "$reports"/*; do
  [ -e "$f" ] || continue
  # A file with only LeakSanitizer's list of used suppressions is no report.
  grep -qE 'ERROR: |runtime error: |SUMMARY: ' "$f" || continue
  found=1
  echo "==== sanitizer report $(basename "$f")" >&2
  cat "$f" >&2
done
if [ "$found" = 1 ]; then
  echo "sanitizer reports found: failing" >&2
  exit 1
fi
exit "$rc"
