// secretsctl: the pgsecrets operators' command-line tool. See cli/cli.cpp
// for the commands and the exit codes.
#include "cli/commands.h"

int main(int argc, char** argv) {
  return secretsctl::run_cli(secretsctl::Words(argv + 1, argv + argc));
}
