// secretsctl: the pgsecrets operators' command-line tool. See secretsctl/cli.cpp
// for the commands and the exit codes.
#include "secretsctl/commands.h"
#include "process/hardening.h"

int main(int argc, char** argv) {
  // Best effort: secretsctl writes root keys; a crash must not dump them.
  secretsd::forbid_core_dumps();
  return secretsctl::run_cli(secretsctl::Words(argv + 1, argv + argc));
}
