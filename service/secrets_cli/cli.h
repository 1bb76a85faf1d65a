// The `secrets` command: get, list, set, delete and run against secretsd's
// /api/secrets, for the machines that consume secrets. The help text (in
// cli.cpp) documents the commands and the exit codes (errors.h).
#pragma once

#include <string>
#include <vector>

namespace secrets_client {

// argv without the program name; returns the exit code.
int run_secrets_cli(const std::vector<std::string>& words);

}  // namespace secrets_client
