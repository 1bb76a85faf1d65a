// secretsctl seed: install_command.py --all / --list for pgsecrets.
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include <pqxx/transaction>

#include "secretsctl/commands.h"
#include "secretsctl/db.h"
#include "secretsctl/errors.h"
#include "secretsctl/manifest.h"

namespace secretsctl {
namespace {

constexpr const char* kSeedUsage = R"(usage: secretsctl seed --manifest FILE|DIR --household UUID [--database URL]
       secretsctl seed --list [--manifest FILE|DIR]

Creates, in one household, an empty row for every secret that commands
declare, as install_command.py --all does: secrets.use_household(UUID),
then secrets.seed_secrets(manifest) for each command, one transaction per
file. Idempotent: existing values are never overwritten. --list prints the
commands and their secrets without touching a database.

A manifest is a JSON file (or a directory: every *.json in it) holding a
list of declarations [{"key": ..., "scope": ..., "value_type": ...,
"required": ..., "description": ..., "friendly_name": ..., "is_sensitive":
..., "node_id": ...}], a command {"command": NAME, "all_possible_secrets" |
"secrets" | "required_secrets": [...]}, or a list of commands.

options:
  --manifest PATH    a manifest file or directory (default: $SECRETSCTL_MANIFESTS, else ./manifests)
  --household UUID   the household to seed (required unless --list)
  --list             print commands and their secrets; no database
  --database URL     connection (default: DATABASE_URL, else libpq's PG* variables)
  -h, --help         this help

exit codes: 0 done, 1 database failure or refusal, 2 usage, 3 missing file, bad JSON or bad manifest
)";

std::string manifest_path(const Args& args) {
  if (auto path = args.value("manifest")) return *path;
  if (args.positionals.size() == 1) return args.positionals[0];
  if (const char* env = std::getenv("SECRETSCTL_MANIFESTS"); env != nullptr && *env != '\0') return env;
  return "manifests";
}

int list_manifests(const std::vector<ManifestFile>& files) {
  for (const auto& file : files) {
    for (const auto& command : file.commands) {
      std::cout << command.name << "  (" << file.path << ")\n";
      if (command.secrets.empty()) std::cout << "    (no secrets)\n";
      for (const auto& s : command.secrets) {
        std::cout << "    " << std::left << std::setw(32) << s.key << " " << std::setw(11) << s.scope << " "
                  << std::setw(6) << s.value_type << " " << (s.required ? "required" : "optional");
        if (!s.node_id.empty()) std::cout << "  node " << s.node_id;
        std::cout << std::right << "\n";
      }
    }
  }
  return kExitOk;
}

int seed_manifests(const Args& args, const std::vector<ManifestFile>& files) {
  const auto household = args.value("household");
  if (!household) throw usage_error("seed needs --household UUID (or --list)");
  if (!is_uuid(*household)) throw usage_error("--household must be a UUID, not '" + *household + "'");
  auto conn = connect(args);
  long long created_total = 0;
  for (const auto& file : files) {
    pqxx::work tx(*conn, "seed");
    tx.exec_params("SELECT secrets.use_household($1::uuid)", *household);
    std::vector<std::pair<const CommandDecl*, long long>> created;
    for (const auto& command : file.commands) {
      try {
        const auto r = tx.exec_params("SELECT secrets.seed_secrets($1::jsonb)", command.manifest.dump());
        created.emplace_back(&command, r[0][0].as<long long>());
      } catch (const pqxx::sql_error& e) {
        throw failure(file.path + ": command \"" + command.name + "\": " + server_message(e) +
                      " (nothing from this file was seeded)");
      }
    }
    tx.commit();
    for (const auto& [command, n] : created) {
      const long long declared = static_cast<long long>(command->secrets.size());
      std::cout << command->name << ": " << n << " created, " << std::max(0LL, declared - n) << " already present\n";
      created_total += n;
    }
  }
  std::cout << "seeded household " << *household << ": " << created_total << " row(s) created\n";
  return kExitOk;
}

}  // namespace

int cmd_seed(const Words& argv) {
  const Args args = parse_args(argv, {"seed", {"manifest", "household", "database"}, {"list", "all"}});
  if (args.has("help")) return print_help(kSeedUsage);
  if (args.positionals.size() > 1 || (args.positionals.size() == 1 && args.value("manifest"))) {
    throw usage_error("unexpected argument '" + args.positionals.back() + "' for 'seed'");
  }
  const auto files = load_manifests(manifest_path(args));
  if (args.has("list")) return list_manifests(files);
  return seed_manifests(args, files);
}

}  // namespace secretsctl
