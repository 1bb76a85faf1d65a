// Secret manifests: the JSON that secrets.seed_secrets(manifest jsonb)
// accepts, read from a file or every *.json file of a directory, and the
// commands and declarations they hold (for `seed --list`, with no database).
//
// Accepted shapes, as in sql/pgsecrets--0.1.0.sql:
//   [ {"key": ...}, ... ]                                  declarations
//   {"command": "get_weather", "all_possible_secrets": [...]}  one command
//        (else "secrets", else "required_secrets", as install_command.py)
//   [ {command}, {command}, ... ]                          several commands
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace secretsctl {

struct SecretDecl {
  std::string key;
  std::string scope = "integration";
  std::string value_type = "string";
  std::string node_id;  // empty: none
  bool required = true;
};

struct CommandDecl {
  std::string name;              // "command" (or "name"), else the file's stem
  nlohmann::json manifest;       // what to pass to secrets.seed_secrets
  std::vector<SecretDecl> secrets;
};

struct ManifestFile {
  std::string path;
  std::vector<CommandDecl> commands;
};

// Parses one manifest's text. `path` names it in errors. Throws
// CliError(kExitBadInput) for bad JSON ("PATH: invalid JSON at line L,
// column C: <reason>") or a shape seed_secrets would refuse; messages never
// quote the file's content.
ManifestFile parse_manifest(const std::string& text, const std::string& path);

// A file, or every *.json file of a directory in name order. Throws
// CliError(kExitBadInput) when the path is missing, unreadable, or a
// directory without *.json files.
std::vector<ManifestFile> load_manifests(const std::string& path);

}  // namespace secretsctl
