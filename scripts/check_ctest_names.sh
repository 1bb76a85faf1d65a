#!/usr/bin/env bash
# Every test CMakeLists.txt names after registering it must exist: a name in
# set_tests_properties(), set_property(TEST ...) or get_test_property(), or
# tested with if(TEST ...), that no add_test or gtest_discover_tests
# registers makes a property (a lock, a timeout) silently apply to nothing;
# if(TEST) hides it even from CMake.
#   scripts/check_ctest_names.sh BUILD_DIR [SOURCE_DIR]
# The names that exist: `ctest -N` in BUILD_DIR (a configured and built tree:
# the discovered gtest cases are listed only after the build), and in a
# scratch configure with every optional block of tests switched on
# (SCRATCH_OPTIONS), so a block the build dir left out is checked too.
# Names built from variables (${group}.${name}) are left out: they sit
# beside the add_test that makes them.
set -euo pipefail

# What switches on the optional test blocks of CMakeLists.txt.
SCRATCH_OPTIONS=(-DPGSECRETS_ASAN_BUILD_DIR=/nonexistent-asan -DPGSECRETS_FUZZ_BUILD_DIR=/nonexistent-fuzz
  -DPGSECRETS_VALGRIND_TEST=ON)

BUILD_DIR=${1:?usage: check_ctest_names.sh BUILD_DIR [SOURCE_DIR]}
SOURCE_DIR=${2:-$(cd "$(dirname "$0")/.." && pwd)}
LISTS="$SOURCE_DIR/CMakeLists.txt"
SCRATCH=$(mktemp -d /tmp/pgsecrets-ctest-names.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

# test_names DIR: one name a line, from `ctest -N` ("  Test  #12: name").
test_names() {
  (cd "$1" && ctest -N) | sed -nE 's/^ *Test +#[0-9]+: //p'
}

known="$SCRATCH/known"
test_names "$BUILD_DIR" >"$known"
if [ ! -s "$known" ]; then
  echo "check_ctest_names: ctest -N lists no test in $BUILD_DIR (configure and build it first)"
  exit 2
fi
if ! cmake -S "$SOURCE_DIR" -B "$SCRATCH/build" "${SCRATCH_OPTIONS[@]}" >"$SCRATCH/configure.log" 2>&1; then
  # set_tests_properties() of a missing test in an active block fails here.
  echo "check_ctest_names: configuring with every test block on failed:"
  sed 's/^/  /' "$SCRATCH/configure.log" | tail -20
  exit 1
fi
test_names "$SCRATCH/build" >>"$known"

# The names CMakeLists.txt refers to, "LINE NAME" (comments removed; a
# call may span lines).
perl -e '
  local $/; my $text = <STDIN>;
  $text =~ s/(^|[^"\\])#[^\n]*/$1/g;   # comments (not a "#" inside a string)
  my $line_of = sub { my $at = shift; return 1 + (() = substr($text, 0, $at) =~ /\n/g); };
  my @refs;
  # set_tests_properties(NAME... PROPERTIES ...)
  while ($text =~ /\bset_tests_properties\s*\(\s*(.*?)\bPROPERTIES\b/gis) {
    push @refs, [$-[1], $1];
  }
  # set_property(TEST NAME... PROPERTY ...)
  while ($text =~ /\bset_property\s*\(\s*TEST\s+(.*?)\b(?:APPEND|APPEND_STRING|PROPERTY)\b/gis) {
    push @refs, [$-[1], $1];
  }
  # get_test_property(NAME VAR PROP)
  while ($text =~ /\bget_test_property\s*\(\s*("[^"]*"|\S+)/gi) { push @refs, [$-[1], $1]; }
  # if(TEST NAME), elseif(... TEST NAME ...)
  while ($text =~ /\b(?:else)?if\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)/gi) {
    my ($cond, $at) = ($1, $-[1]);
    while ($cond =~ /\bTEST\s+("[^"]*"|[^\s()]+)/g) { push @refs, [$at, $1]; }
  }
  for my $ref (@refs) {
    my ($at, $names) = @$ref;
    while ($names =~ /"([^"]*)"|(\S+)/g) {
      my $name = defined $1 ? $1 : $2;
      next if $name =~ /\$\{/;
      print $line_of->($at), " $name\n";
    }
  }
' <"$LISTS" | sort -k1,1n -k2 -u >"$SCRATCH/refs"

missing=0
while read -r line name; do
  if ! grep -qxF -- "$name" "$known"; then
    echo "CMakeLists.txt:$line: names test '$name', which no add_test or gtest_discover_tests registers"
    missing=$((missing + 1))
  fi
done <"$SCRATCH/refs"
if [ "$missing" -gt 0 ]; then
  echo "check_ctest_names: $missing unknown test name(s) ($(sort -u "$known" | wc -l) tests exist)"
  exit 1
fi
echo "check_ctest_names: $(wc -l <"$SCRATCH/refs") test name(s) in CMakeLists.txt, all registered"
