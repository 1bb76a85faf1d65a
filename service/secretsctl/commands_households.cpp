// secretsctl households grant ROLE HOUSEHOLD_UUID [read|write|admin]
#include <iostream>

#include <pqxx/transaction>

#include "secretsctl/commands.h"
#include "secretsctl/db.h"
#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

constexpr const char* kHouseholdsUsage = R"(usage: secretsctl households grant ROLE HOUSEHOLD_UUID [read|write|admin] [--database URL]

Binds a database role to a household with secrets.grant_household: 'read'
(the default) may read values, 'write' may also change them, 'admin' may
also manage the household. Granting again changes the privilege. The role
joins pgsecrets_user.

options:
  --database URL   connection (default: DATABASE_URL, else libpq's PG* variables)
  -h, --help       this help

exit codes: 0 granted, 1 refused (e.g. no such role) or database unreachable, 2 usage
)";

int grant(const Words& argv) {
  const Args args = parse_args(argv, {"households grant", {"database"}, {}});
  if (args.has("help")) return print_help(kHouseholdsUsage);
  const auto& p = args.positionals;
  if (p.size() < 2 || p.size() > 3) {
    throw usage_error("'households grant' takes ROLE HOUSEHOLD_UUID [read|write|admin] (see: secretsctl households --help)");
  }
  const std::string& role = p[0];
  const std::string& household = p[1];
  const std::string privilege = p.size() == 3 ? p[2] : "read";
  if (!is_uuid(household)) throw usage_error("HOUSEHOLD_UUID must be a UUID, not '" + household + "'");
  if (privilege != "read" && privilege != "write" && privilege != "admin") {
    throw usage_error("the privilege must be read, write or admin, not '" + privilege + "'");
  }
  auto conn = connect(args);
  pqxx::work tx(*conn, "grant");
  tx.exec_params("SELECT secrets.grant_household($1::name, $2::uuid, $3)", role, household, privilege);
  tx.commit();
  std::cout << "granted " << privilege << " on household " << household << " to role " << role << "\n";
  return kExitOk;
}

}  // namespace

int cmd_households(const Words& argv) {
  if (argv.empty()) {
    std::cerr << kHouseholdsUsage;
    return kExitUsage;
  }
  const std::string& sub = argv[0];
  if (sub == "--help" || sub == "-h" || sub == "help") return print_help(kHouseholdsUsage);
  if (sub == "grant") return grant(Words(argv.begin() + 1, argv.end()));
  throw usage_error("unknown subcommand 'households " + sub + "' (see: secretsctl households --help)");
}

}  // namespace secretsctl
