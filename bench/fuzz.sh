#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz for SECONDS each, from the seed
# corpus in tests/fuzz/corpus/<target>/ (read only: new inputs go to a
# scratch folder, printed at the end so interesting ones can be added).
#   bench/fuzz.sh TARGET|all SECONDS
# Builds build-fuzz/ with clang first unless PGSECRETS_FUZZ_BUILD_DIR names
# a built one (scripts/test.sh's CTest entries do). A crash fails the run
# and leaves its input in the scratch folder (crash-<sha1>); fix it and add
# the input to the corpus.
set -euo pipefail
PROJECT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
target=${1:?usage: bench/fuzz.sh TARGET|all SECONDS}
seconds=${2:?usage: bench/fuzz.sh TARGET|all SECONDS}

if [ -z "${PGSECRETS_FUZZ_BUILD_DIR:-}" ]; then
  PGSECRETS_FUZZ_BUILD_DIR="$PROJECT_DIR/build-fuzz"
  cmake -S "$PROJECT_DIR" -B "$PGSECRETS_FUZZ_BUILD_DIR" -DPGSECRETS_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$PGSECRETS_FUZZ_BUILD_DIR" --target fuzzers -j "${PGSECRETS_BUILD_JOBS:-$(nproc)}" >/dev/null
fi

if [ "$target" = all ]; then
  targets=()
  for f in "$PROJECT_DIR"/tests/fuzz/*_fuzzer.cc; do
    n=$(basename "$f" .cc); targets+=("${n%_fuzzer}")
  done
else
  targets=("$target")
fi

scratch_root=${PGSECRETS_FUZZ_SCRATCH:-$(mktemp -d /tmp/pgsecrets-fuzz.XXXXXX)}
failed=0
for t in "${targets[@]}"; do
  bin="$PGSECRETS_FUZZ_BUILD_DIR/bin/${t}_fuzzer"
  [ -x "$bin" ] || { echo "[fuzz] $bin is not built" >&2; exit 1; }
  corpus="$PROJECT_DIR/tests/fuzz/corpus/$t"
  scratch="$scratch_root/$t"
  mkdir -p "$scratch/new" "$scratch/artifacts"
  dict=()
  [ -f "$PROJECT_DIR/tests/fuzz/$t.dict" ] && dict=(-dict="$PROJECT_DIR/tests/fuzz/$t.dict")
  echo "[fuzz] $t for ${seconds}s (corpus $corpus, scratch $scratch)" >&2
  # One process, no forking: -max_total_time bounds the run; timeouts and
  # out-of-memory count as crashes (a parser must not hang on any input).
  if ! "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" \
      "$scratch/new" "$corpus" 2>"$scratch/log"; then
    failed=1
    tail -n 60 "$scratch/log" >&2
    echo "[fuzz] $t FAILED; input(s): $(ls "$scratch/artifacts")" >&2
    continue
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)' "$scratch/log" >&2 || true
done
[ -n "${PGSECRETS_FUZZ_SCRATCH:-}" ] || [ "$failed" = 1 ] || rm -rf "$scratch_root"
exit "$failed"
