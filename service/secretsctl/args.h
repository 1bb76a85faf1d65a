// A tiny command-line parser: positionals, valued options (--name VALUE or
// --name=VALUE) and boolean flags. Unknown options are usage errors (exit 2).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace secretsctl {

struct OptionSpec {
  std::string command;              // e.g. "keys add", for messages
  std::vector<std::string> valued;  // names without "--", e.g. "key-file"
  std::vector<std::string> flags;   // names without "--"; "help" is always accepted
  std::string program = "secretsctl";  // for messages; the `secrets` command shares this parser
};

struct Args {
  std::vector<std::string> positionals;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;

  bool has(const std::string& flag) const { return flags.count(flag) > 0; }
  std::optional<std::string> value(const std::string& name) const;
};

// Parses argv (without the program and command words). "-h" means --help;
// "--" ends the options. Throws CliError(kExitUsage) naming the command.
Args parse_args(const std::vector<std::string>& argv, const OptionSpec& spec);

// Parses a whole decimal integer in [min, max]; throws CliError(kExitUsage)
// naming `what` otherwise.
long long parse_int(const std::string& text, const std::string& what, long long min, long long max);

// True for the canonical 8-4-4-4-12 hex form of a UUID.
bool is_uuid(const std::string& text);

}  // namespace secretsctl
