// secretsctl's commands. Each takes the words after its name, handles
// --help itself, prints results on stdout and progress and warnings on
// stderr, and returns an exit code or throws CliError (see errors.h).
#pragma once

#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "secretsctl/args.h"
#include "secretsctl/errors.h"

namespace secretsctl {

using Words = std::vector<std::string>;

// The whole program: argv without the program name.
int run_cli(const Words& argv);

int cmd_init(const Words& argv);
int cmd_keys(const Words& argv);
int cmd_rotate(const Words& argv);
int cmd_seed(const Words& argv);
int cmd_audit(const Words& argv);
int cmd_households(const Words& argv);

// Prints a command's help on stdout; returns kExitOk.
inline int print_help(const char* text) {
  std::cout << text;
  return kExitOk;
}

// Shared by init and keys (commands_keys.cpp).

// --key-file, else SHOW pgsecrets.key_file (relative to the server's data
// directory), connecting `conn` if it is null. Throws CliError(kExitFailure)
// when no file can be named that way.
std::string resolve_key_file(const Args& args, std::unique_ptr<pqxx::connection>& conn);

// The versions a server backend holds and which is active.
struct LoadedKeys {
  std::vector<std::uint32_t> versions;
  std::optional<std::uint32_t> active;
};
LoadedKeys loaded_keys(pqxx::connection& conn);

}  // namespace secretsctl
