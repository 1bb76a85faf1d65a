#!/usr/bin/env bash
# The layering of service/ (README "Layout"), checked from the sources:
#   a) the folder-level #include graph of service/ has no cycle (files
#      directly in service/ are the folder ".");
#   b) nothing includes app.h, and no file includes a file directly under
#      service/ other than its own header (main.cpp is the composition root);
#   c) a feature module includes another feature module only through
#      "<other>/module.h";
#   d) only service/http/, service/api/ and service/secrets_cli/http_client.*
#      include <httplib.h>;
#   e) no SQL in service/ or migrations/ names the extension's table
#      secrets.secrets (the service uses the extension's functions and views);
#   f) only config/ (and the separate CLI programs) reads the environment.
# Prints one line per violation and exits 1 if there is any.
#   scripts/check_layers.sh [ROOT]     ROOT defaults to this repository
set -euo pipefail

# ---------------------------------------------------------------- the rules' data
FEATURE_MODULES="accounts credentials secrets audit administrators providers runtimes relay events health openapi console"
# Folders (under service/) and files that may include cpp-httplib.
HTTPLIB_ALLOWED='^service/(http|api)/|^service/secrets_cli/http_client\.[^/]+$'
# Folders that may read the environment: config/, and the CLIs, which are
# programs of their own (secretsctl/, secrets_cli/; cli/ and client/ are their old names).
GETENV_ALLOWED='^service/(config|secretsctl|secrets_cli|cli|client)/'
# Released migrations are checksummed and never change: one that named the
# table is listed here with the later migration that replaced what it
# created (tests/fleet/service_api.sh checks what the database holds).
SUPERSEDED_MIGRATIONS='^migrations/0008_get_secret_row\.sql$'  # replaced by 0011

ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
[ -d "$ROOT/service" ] || { echo "check_layers: no service/ folder under $ROOT" >&2; exit 2; }
cd "$ROOT"

export FEATURE_MODULES HTTPLIB_ALLOWED GETENV_ALLOWED SUPERSEDED_MIGRATIONS
{
  find service -type f \( -name '*.cpp' -o -name '*.cc' -o -name '*.c' -o -name '*.h' -o -name '*.hpp' \) -print
  [ -d migrations ] && find migrations -maxdepth 1 -type f -name '*.sql' -print
} | LC_ALL=C sort | perl -e '
use strict;
use warnings;
use sort "stable";

my %feature = map { $_ => 1 } split " ", $ENV{FEATURE_MODULES};
my $httplib_allowed = qr/$ENV{HTTPLIB_ALLOWED}/;
my $getenv_allowed = qr/$ENV{GETENV_ALLOWED}/;
my $superseded = qr/$ENV{SUPERSEDED_MIGRATIONS}/;
my @violations;
my %edge;  # $edge{from}{to} = first "file:line includes \"path\"" seen

# The folder of a path under service/: its first component, or "." for a
# file directly in service/.
sub folder_of { my ($p) = @_; return $p =~ m{^service/([^/]+)/} ? $1 : "."; }

# Removes what is comment: SQL "--" to the end of the line; C++ lines that
# are comment only, and a trailing "//" comment outside a string literal.
sub code_of {
  my ($line, $is_sql, $in_block) = @_;
  if ($is_sql) { $line =~ s/--.*$//; return $line; }
  return "" if $$in_block && $line !~ m{\*/} ;
  if ($$in_block) { $line =~ s{^.*?\*/}{}; $$in_block = 0; }
  $line =~ s{/\*.*?\*/}{}g;
  if ($line =~ m{/\*}) { $line =~ s{/\*.*$}{}; $$in_block = 1; }
  if ($line =~ m{^(.*?)//}) { my $before = $1; my $quotes = () = $before =~ /"/g; $line = $before if $quotes % 2 == 0; }
  return $line;
}

while (my $file = <STDIN>) {
  chomp $file;
  open(my $fh, "<", $file) or die "check_layers: cannot read $file: $!\n";
  my $is_sql = $file =~ /\.sql$/;
  my $in_service = $file =~ m{^service/};
  my $from = folder_of($file);
  (my $own_stem = $file) =~ s{^.*/|\.[^.]*$}{}g;
  my $in_block = 0;
  while (my $raw = <$fh>) {
    my $where = "$file:$.";
    my $line = code_of($raw, $is_sql, \$in_block);

    # e) the extension table by name, not secrets.secrets_x nor x.secrets.secrets
    if ($file !~ $superseded && $line =~ /(?<![\w.])(?:secrets|"secrets")\.(?:secrets|"secrets")(?![\w"])/) {
      push @violations, "e: $where: names the extension table secrets.secrets (use its functions or views)";
    }
    next if $is_sql || !$in_service;

    # f) the environment
    if ($file !~ $getenv_allowed && $line =~ /getenv(?!\w)/) {
      push @violations, "f: $where: reads the environment (getenv) outside config/";
    }

    # d) cpp-httplib
    if ($raw =~ /^\s*#\s*include\s*[<"]httplib\.h[>"]/ && $file !~ $httplib_allowed) {
      push @violations, "d: $where: includes <httplib.h> outside http/ and api/";
    }

    next unless $raw =~ /^\s*#\s*include\s*"([^"]+)"/;
    my $path = $1;
    my ($to, $root_file);
    if ($path !~ m{/}) {
      (my $dir = $file) =~ s{/[^/]*$}{};
      if ($dir ne "service" && -e "$dir/$path") { $to = $from; }     # beside the includer
      elsif (-e "service/$path" || $path =~ /^(app|main|routes)\./) { $to = "."; $root_file = $path; }
      else { next; }                                                  # a system or outside header
    } elsif ($path =~ m{^([^/]+)/} && -d "service/$1") {
      $to = $1;
    } else {
      next;                                                           # e.g. "extension/keyfile.h"
    }

    # b) the composition root and app.h
    if (defined $root_file) {
      (my $stem = $root_file) =~ s{\.[^.]*$}{};
      if ($root_file eq "app.h") {
        push @violations, "b: $where: includes app.h (main.cpp composes the modules)";
      } elsif ($stem ne $own_stem || $from ne ".") {
        push @violations, "b: $where: includes \"$path\", a file directly under service/";
      }
    }

    # c) feature modules meet through <module>/module.h only
    if ($from ne $to && $feature{$from} && $feature{$to} && $path ne "$to/module.h") {
      push @violations, "c: $where: feature module $from includes \"$path\" (only $to/module.h)";
    }

    $edge{$from}{$to} //= "$where includes \"$path\"" if $from ne $to;
  }
  close $fh;
}

# a) cycles: the strongly connected components of the folder graph (Tarjan);
# every edge inside a component of two or more folders is on a cycle.
my (%index, %low, %on_stack, @stack, %component);
my $next_index = 0;
my $components = 0;
sub connect_folder {
  my ($v) = @_;
  $index{$v} = $low{$v} = $next_index++;
  push @stack, $v; $on_stack{$v} = 1;
  for my $w (sort keys %{ $edge{$v} || {} }) {
    if (!exists $index{$w}) { connect_folder($w); $low{$v} = $low{$w} if $low{$w} < $low{$v}; }
    elsif ($on_stack{$w}) { $low{$v} = $index{$w} if $index{$w} < $low{$v}; }
  }
  if ($low{$v} == $index{$v}) {
    $components++;
    while (1) { my $w = pop @stack; $on_stack{$w} = 0; $component{$w} = $components; last if $w eq $v; }
  }
}
my %folders = map { $_ => 1 } (keys %edge, map { keys %$_ } values %edge);
for my $v (sort keys %folders) { connect_folder($v) unless exists $index{$v}; }
my %members;
push @{ $members{$component{$_}} }, $_ for sort keys %folders;
for my $from (sort keys %edge) {
  for my $to (sort keys %{ $edge{$from} }) {
    next unless $component{$from} == $component{$to};
    my @cycle = @{ $members{$component{$from}} };
    my $kind = exists $edge{$to}{$from} ? "$from <-> $to include each other" : "$from -> $to is on a cycle of {" . join(", ", @cycle) . "}";
    push @violations, "a: folder cycle: $kind: $edge{$from}{$to}";
  }
}

@violations = sort { substr($a, 0, 1) cmp substr($b, 0, 1) } @violations;  # by rule, then file
print "$_\n" for @violations;
if (@violations) {
  printf "check_layers: %d violation(s)\n", scalar @violations;
  exit 1;
}
print "check_layers: layering holds\n";
'
