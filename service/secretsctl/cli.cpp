#include <exception>
#include <iostream>
#include <map>

#include <pqxx/except>

#include "secretsctl/commands.h"
#include "secretsctl/db.h"
#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

constexpr const char* kUsage = R"(usage: secretsctl <command> [options]

The pgsecrets operators' tool: root key files, key rotation, secret
manifests, the audit trail and household grants. Run it on the database
host, as a PostgreSQL superuser.

commands:
  init                      create a root key file (and the secretsd login role)
  keys add|activate|status|retire
                            manage root key versions
  rotate                    rewrap every secret under the active key version
  seed                      create the secrets command manifests declare
  audit verify              check the audit trail's hash chain
  households grant          bind a database role to a household

The database comes from --database URL, else DATABASE_URL, else libpq's
PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE). Keep a password out of
--database (other users see command lines): use ~/.pgpass or PGPASSFILE.

exit codes:
  0    success
  1    operational failure (database unreachable, refused, verification failed)
  2    usage error (unknown command or option, bad argument)
  3    bad input file (missing file, bad JSON or manifest, bad key file)
  130  rotate interrupted by SIGINT after a completed batch (run it again)

Run 'secretsctl <command> --help' for a command's options.
)";

using Command = int (*)(const Words&);

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"init", cmd_init},     {"keys", cmd_keys},   {"rotate", cmd_rotate},
      {"seed", cmd_seed},     {"audit", cmd_audit}, {"households", cmd_households},
  };
  return table;
}

int dispatch(const Words& argv) {
  if (argv.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string& name = argv[0];
  if (name == "--help" || name == "-h" || name == "help") {
    if (argv.size() > 1 && name == "help") return dispatch({argv[1], "--help"});
    std::cout << kUsage;
    return kExitOk;
  }
  if (name == "--version") {
    std::cout << "secretsctl (pgsecrets) 0.1.0\n";
    return kExitOk;
  }
  const auto it = commands().find(name);
  if (it == commands().end()) {
    throw usage_error("unknown command '" + name + "' (see: secretsctl --help)");
  }
  return it->second(Words(argv.begin() + 1, argv.end()));
}

}  // namespace

int run_cli(const Words& argv) {
  try {
    return dispatch(argv);
  } catch (const CliError& e) {
    std::cerr << "secretsctl: " << (e.code() == kExitUsage ? "usage: " : "error: ") << e.what() << "\n";
    return e.code();
  } catch (const pqxx::broken_connection& e) {
    std::cerr << "secretsctl: error: lost the database connection: " << server_message(e) << "\n";
    return kExitFailure;
  } catch (const pqxx::sql_error& e) {
    std::cerr << "secretsctl: error: the database refused: " << server_message(e) << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "secretsctl: error: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace secretsctl
