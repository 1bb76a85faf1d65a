// secretsctl init: a new root key file, the secretsd login role, next steps.
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pqxx/nontransaction>

#include "secretsctl/commands.h"
#include "secretsctl/db.h"
#include "secretsctl/errors.h"
#include "secretsctl/keyfile.h"

namespace secretsctl {
namespace {

constexpr const char* kInitUsage = R"(usage: secretsctl init --key-file PATH [--force] [--owner USER]
                       [--database URL] [--gateway-role NAME]

Creates a root key file: a header comment and "1 <64 random hex digits>
active", mode 0600. The key is never printed. As root, the file is given
to --owner, else to the owner of its directory (the PostgreSQL server's
user must be able to read it, nobody else).

With --database (or DATABASE_URL), also creates the login role secretsd
connects as (--gateway-role, default secretsd) as a member of
pgsecrets_gateway, once CREATE EXTENSION pgsecrets has created that role.
Then prints the next steps.

options:
  --key-file PATH       the file to create (default: the server's pgsecrets.key_file)
  --force               replace an existing file; the old one is kept as PATH.replaced-<time>
  --owner USER          owner of a new file when run as root
  --database URL        connection for the role (default: DATABASE_URL)
  --gateway-role NAME   the secretsd login role (default: secretsd)
  -h, --help            this help

exit codes: 0 created, 1 the file exists (without --force) or a write/SQL step failed, 2 usage
)";

struct Owner {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  std::string name;
};

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string user_name(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

Owner choose_owner(const Args& args, const std::string& path) {
  Owner owner;
  if (auto name = args.value("owner")) {
    const passwd* pw = ::getpwnam(name->c_str());
    if (pw == nullptr) throw usage_error("--owner: no such user '" + *name + "'");
    owner = {pw->pw_uid, pw->pw_gid, pw->pw_name};
  } else if (::geteuid() == 0) {
    struct stat dir {};
    if (::stat(directory_of(path).c_str(), &dir) != 0) {
      throw failure("cannot use directory \"" + directory_of(path) + "\": " + std::strerror(errno));
    }
    owner = {dir.st_uid, dir.st_gid, user_name(dir.st_uid)};
  } else {
    owner = {::geteuid(), ::getegid(), user_name(::geteuid())};
  }
  if (::geteuid() != 0 && owner.uid != ::geteuid()) {
    throw failure("only root can create a file owned by '" + owner.name + "'");
  }
  return owner;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  return ::getcwd(cwd, sizeof cwd) != nullptr ? std::string(cwd) + "/" + path : path;
}

// Moves an existing file aside (same directory, mode kept) before --force
// replaces it: losing a root key loses every secret encrypted under it.
// link() never overwrites: a second --force in the same second gets the
// next free name instead of replacing the copy the first one kept.
std::string keep_replaced(const std::string& path) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", std::localtime(&now));
  const std::string base = path + ".replaced-" + stamp;
  auto cannot = [&path](const std::string& why) { return failure("cannot move \"" + path + "\" aside: " + why); };
  for (int n = 0; n < 1000; ++n) {
    const std::string aside = n == 0 ? base : base + "." + std::to_string(n);
    if (::link(path.c_str(), aside.c_str()) == 0) {
      if (::unlink(path.c_str()) != 0) throw cannot(std::strerror(errno));
      return aside;
    }
    if (errno != EEXIST) throw cannot(std::strerror(errno));
  }
  throw cannot("too many earlier copies");
}

bool role_exists(pqxx::nontransaction& tx, const std::string& role) {
  return !tx.exec_params("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", role).empty();
}

// Returns a line describing what happened to the gateway login role.
std::string ensure_gateway_role(pqxx::connection& conn, const std::string& role) {
  pqxx::nontransaction tx(conn);
  if (!role_exists(tx, "pgsecrets_gateway")) {
    return "role pgsecrets_gateway does not exist yet (CREATE EXTENSION pgsecrets creates it);"
           " run 'secretsctl init' again with --database afterwards, or step 3 below";
  }
  const std::string quoted = tx.quote_name(role);
  if (role_exists(tx, role)) {
    tx.exec("GRANT pgsecrets_gateway TO " + quoted);
    return "role " + role + " exists; it is a member of pgsecrets_gateway";
  }
  tx.exec("CREATE ROLE " + quoted + " LOGIN IN ROLE pgsecrets_gateway");
  return "created login role " + role + " (member of pgsecrets_gateway)";
}

void print_next_steps(const std::string& key_file, const std::string& role, bool role_done) {
  std::cout << "\nnext steps:\n"
            << "  1. in postgresql.conf (then restart PostgreSQL):\n"
            << "       shared_preload_libraries = 'pgsecrets'\n"
            << "       pgsecrets.key_file = '" << key_file << "'\n"
            << "  2. in the database, as a superuser:\n"
            << "       CREATE EXTENSION pgsecrets;\n";
  if (role_done) {
    std::cout << "  3. give the login role " << role << " a password or a pg_hba.conf entry, and point\n"
              << "     secretsd at it: DATABASE_URL='host=... dbname=... user=" << role << "'\n";
  } else {
    std::cout << "  3. the login role secretsd connects as:\n"
              << "       CREATE ROLE " << role << " LOGIN IN ROLE pgsecrets_gateway;\n"
              << "     (or: secretsctl init --database URL --key-file " << key_file << " after step 2)\n";
  }
  std::cout << "  4. back the key file up somewhere safe: without it, the secrets are lost.\n"
            << "  5. check: secretsctl keys status\n";
}

bool database_configured(const Args& args) {
  const char* env = std::getenv("DATABASE_URL");
  return args.value("database").has_value() || (env != nullptr && *env != '\0');
}

}  // namespace

int cmd_init(const Words& argv) {
  const Args args =
      parse_args(argv, {"init", {"key-file", "database", "gateway-role", "owner"}, {"force"}});
  if (args.has("help")) return print_help(kInitUsage);
  if (!args.positionals.empty()) throw usage_error("unexpected argument '" + args.positionals[0] + "' for 'init'");
  const std::string role = args.value("gateway-role").value_or("secretsd");
  if (role.empty() || role.size() > 63) throw usage_error("--gateway-role must be 1 to 63 characters");

  std::unique_ptr<pqxx::connection> conn;
  if (!args.value("key-file") && !database_configured(args)) {
    throw usage_error("init needs --key-file PATH (or --database, to use the server's pgsecrets.key_file)");
  }
  const std::string path = absolute(resolve_key_file(args, conn));
  const KeyFileLock lock(path);

  struct stat st {};
  const bool exists = ::lstat(path.c_str(), &st) == 0;
  if (exists && !args.has("force")) {
    throw failure("\"" + path + "\" already exists; refusing to overwrite a key file (the secrets encrypted "
                  "under it would be lost). Use --force to replace it; the old file is kept aside");
  }
  const Owner owner = choose_owner(args, path);
  if (exists) std::cout << "moved the old key file aside: " << keep_replaced(path) << "\n";

  std::string content = KeyFile::fresh(generate_key_hex()).serialize();
  WriteOptions options;
  options.must_not_exist = true;
  options.mode = 0600;
  options.uid = owner.uid;
  options.gid = owner.gid;
  try {
    write_file_atomically(path, content, options);
  } catch (...) {
    std::fill(content.begin(), content.end(), '\0');
    throw;
  }
  std::fill(content.begin(), content.end(), '\0');
  std::cout << "created key file " << path << " (mode 0600, owner " << owner.name << ", key version 1 active)\n";

  bool role_done = false;
  if (database_configured(args)) {
    if (!conn) conn = connect(args);
    const std::string line = ensure_gateway_role(*conn, role);
    role_done = line.rfind("role pgsecrets_gateway does not exist", 0) != 0;
    std::cout << line << "\n";
  }
  print_next_steps(path, role, role_done);
  return kExitOk;
}

}  // namespace secretsctl
