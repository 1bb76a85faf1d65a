// secretsctl audit verify: checks the audit log's hash chain.
#include <iostream>

#include <pqxx/nontransaction>

#include "secretsctl/commands.h"
#include "secretsctl/db.h"
#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

constexpr const char* kAuditUsage = R"(usage: secretsctl audit verify [--household UUID] [--database URL]

Runs secrets.verify_audit_chain(), which recomputes every household's audit
hash chain and MACs (or one household's), and prints OK or, for each
broken chain, its first broken link.

options:
  --household UUID one household only (default: every household)
  --database URL   connection (default: DATABASE_URL, else libpq's PG* variables)
  -h, --help       this help

exit codes: 0 the chain is intact, 1 a link is broken (or the database failed), 2 usage
)";

constexpr pqxx::oid kBoolOid = 16;

bool verify_function_exists(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return !tx.exec("SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
                  "WHERE n.nspname = 'secrets' AND p.proname = 'verify_audit_chain' "
                  "AND p.pronargs = p.pronargdefaults")
              .empty();
}

// "name=value, ..." for the columns of `row` other than `skip`.
std::string describe_row(const pqxx::row& row, int skip) {
  std::string out;
  for (pqxx::row::size_type i = 0; i < row.size(); ++i) {
    if (static_cast<int>(i) == skip) continue;
    if (!out.empty()) out += ", ";
    out += std::string(row[i].name()) + "=" + (row[i].is_null() ? "NULL" : row[i].c_str());
  }
  return out;
}

// The column that says whether the chain (or a row) is intact: a boolean
// named like ok/valid/intact, or the only boolean column. -1 if none.
int status_column(const pqxx::result& r) {
  int only_bool = -1;
  int bools = 0;
  for (pqxx::row::size_type i = 0; i < r.columns(); ++i) {
    if (r.column_type(i) != kBoolOid) continue;
    ++bools;
    only_bool = static_cast<int>(i);
    const std::string name = r.column_name(i);
    for (const char* known : {"ok", "valid", "intact", "is_valid", "verified", "chain_ok"}) {
      if (name == known) return static_cast<int>(i);
    }
  }
  return bools == 1 ? only_bool : -1;
}

int verify(const Words& argv) {
  const Args args = parse_args(argv, {"audit verify", {"database", "household"}, {}});
  if (args.has("help")) return print_help(kAuditUsage);
  if (!args.positionals.empty()) throw usage_error("unexpected argument '" + args.positionals[0] + "' for 'audit verify'");
  const auto household = args.value("household");
  if (household && !is_uuid(*household)) throw usage_error("--household must be a UUID, not '" + *household + "'");
  auto conn = connect(args);
  if (!verify_function_exists(*conn)) {
    throw failure("this database's pgsecrets has no secrets.verify_audit_chain(); upgrade the extension "
                  "(ALTER EXTENSION pgsecrets UPDATE)");
  }
  pqxx::nontransaction tx(*conn);
  const auto r = household ? tx.exec_params("SELECT * FROM secrets.verify_audit_chain($1::uuid)", *household)
                            : tx.exec("SELECT * FROM secrets.verify_audit_chain()");

  // Shapes accepted: a boolean (or rows with a boolean status column: the
  // first false one is the break), or rows that each describe a broken link
  // (none: intact), or a single nullable text (NULL: intact).
  const int status = status_column(r);
  if (status >= 0) {
    for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
      if (r[i][status].is_null() || !r[i][status].as<bool>()) {
        std::cout << "BROKEN: " << describe_row(r[i], status) << "\n";
        return kExitFailure;
      }
    }
    const std::string detail = r.empty() ? "" : describe_row(r[0], status);
    std::cout << "OK: the audit chain is intact" << (detail.empty() ? "" : " (" + detail + ")") << "\n";
    return kExitOk;
  }
  bool all_null = true;
  for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
    for (pqxx::row::size_type j = 0; j < r[i].size(); ++j) all_null = all_null && r[i][j].is_null();
  }
  if (r.empty() || all_null) {
    std::cout << "OK: the audit chain is intact\n";
    return kExitOk;
  }
  // secrets.verify_audit_chain(): one row per broken chain, its first broken entry.
  for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
    std::cout << "BROKEN: " << describe_row(r[i], -1) << "\n";
  }
  return kExitFailure;
}

}  // namespace

int cmd_audit(const Words& argv) {
  if (argv.empty()) {
    std::cerr << kAuditUsage;
    return kExitUsage;
  }
  const std::string& sub = argv[0];
  if (sub == "--help" || sub == "-h" || sub == "help") return print_help(kAuditUsage);
  if (sub == "verify") return verify(Words(argv.begin() + 1, argv.end()));
  throw usage_error("unknown subcommand 'audit " + sub + "' (see: secretsctl audit --help)");
}

}  // namespace secretsctl
