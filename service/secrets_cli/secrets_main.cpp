// secrets: the command for machines that consume pgsecrets secrets (nodes,
// apps, users). See secrets_cli/cli.cpp for the commands and the exit codes.
#include "secrets_cli/cli.h"
#include "process/hardening.h"

int main(int argc, char** argv) {
  // Best effort: the process holds secret values; a crash must not dump them.
  secretsd::forbid_core_dumps();
  return secrets_client::run_secrets_cli(std::vector<std::string>(argv + 1, argv + argc));
}
