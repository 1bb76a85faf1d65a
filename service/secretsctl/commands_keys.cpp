// secretsctl keys add | activate | status | retire
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <limits>
#include <thread>

#include <pqxx/nontransaction>

#include "secretsctl/commands.h"
#include "secretsctl/db.h"
#include "secretsctl/errors.h"
#include "secretsctl/keyfile.h"

namespace secretsctl {
namespace {

constexpr const char* kKeysUsage = R"(usage: secretsctl keys <subcommand> [options]

Manage the root key versions of pgsecrets.key_file. Key material is never
printed. Edits are atomic (temporary file, fsync, rename; mode and owner
kept), followed by SELECT pg_reload_conf() and a check that the server
loaded the result.

subcommands:
  add [--activate]     append a new random key (highest version + 1)
  activate VERSION     make VERSION the key new values are encrypted with
  status               key versions: active, loaded, rows encrypted under each
  retire VERSION       remove a version no row uses any more (never the active one)

options (all subcommands):
  --key-file PATH      the key file (default: SHOW pgsecrets.key_file on the server)
  --database URL       connection (default: DATABASE_URL, else libpq's PG* variables)
  --no-reload          add/activate/retire: edit the file only, do not reload the server
  -h, --help           this help

Run 'secretsctl keys <subcommand> --help' for details.
)";

constexpr const char* kAddUsage = R"(usage: secretsctl keys add [--activate] [--key-file PATH] [--database URL] [--no-reload]

Appends a new version (highest + 1) holding 32 fresh random bytes. Without
--activate the current active key stays active (marked explicitly), so new
values keep using it until 'secretsctl keys activate VERSION'. Then reloads
the server, when it is reachable, and checks it loaded the new version.

exit codes: 0 added, 1 write or reload failed, 2 usage, 3 bad or missing key file
)";

constexpr const char* kActivateUsage = R"(usage: secretsctl keys activate VERSION [--key-file PATH] [--database URL] [--no-reload]

Marks VERSION active in the key file, reloads the server and checks it now
encrypts new values under VERSION. Existing rows keep their version until
'secretsctl rotate' rewraps them.

exit codes: 0 active, 1 no such version or the server did not load it, 2 usage, 3 bad key file
)";

constexpr const char* kStatusUsage = R"(usage: secretsctl keys status [--key-file PATH] [--database URL]

Prints secrets.key_status(): every key version the server holds or rows
are encrypted under, which one is active, and how many rows use each; with
a readable key file, also which versions the file holds.

exit codes: 0 shown, 1 database unreachable, 2 usage
)";

constexpr const char* kRetireUsage = R"(usage: secretsctl keys retire VERSION [--key-file PATH] [--database URL] [--no-reload]

Removes VERSION from the key file once no row is encrypted under it (see
'secretsctl keys status'; run 'secretsctl rotate' first), then reloads the
server. Never retires the active key. Needs the database to count rows.
Keep a backup of the old file until you are sure: a retired key is gone.

exit codes: 0 retired, 1 refused (rows still use it, active, unknown) or failed, 2 usage, 3 bad key file
)";

OptionSpec spec_for(const std::string& sub, std::vector<std::string> flags = {}) {
  flags.push_back("no-reload");
  return {"keys " + sub, {"key-file", "database"}, flags};
}

std::uint32_t parse_version(const Args& args, const std::string& sub) {
  if (args.positionals.size() != 1) {
    throw usage_error("'keys " + sub + "' takes exactly one key VERSION (see: secretsctl keys " + sub + " --help)");
  }
  return static_cast<std::uint32_t>(parse_int(args.positionals[0], "VERSION", 1, std::numeric_limits<std::int32_t>::max()));
}

void no_positionals(const Args& args, const std::string& sub) {
  if (!args.positionals.empty()) {
    throw usage_error("unexpected argument '" + args.positionals[0] + "' for 'keys " + sub + "'");
  }
}

KeyFile load(const std::string& path) {
  std::string text = read_key_file(path);
  try {
    KeyFile file = KeyFile::parse(text);
    std::fill(text.begin(), text.end(), '\0');
    return file;
  } catch (const KeyFileError& e) {
    std::fill(text.begin(), text.end(), '\0');
    throw input_error(describe(e, path));
  }
}

void save(const std::string& path, const KeyFile& file) {
  std::string text = file.serialize();
  try {
    write_file_atomically(path, text, WriteOptions{});
  } catch (...) {
    std::fill(text.begin(), text.end(), '\0');
    throw;
  }
  std::fill(text.begin(), text.end(), '\0');
}

std::string real_path(const std::string& path) {
  char buf[4096];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

bool contains(const std::vector<std::uint32_t>& versions, std::uint32_t v) {
  return std::find(versions.begin(), versions.end(), v) != versions.end();
}

template <typename Predicate>
void reload_and_verify(const Args& args, std::unique_ptr<pqxx::connection>& conn, const std::string& path,
                       const std::string& expectation, Predicate loaded_as_expected) {
  if (args.has("no-reload")) {
    std::cout << "not reloading (--no-reload): run SELECT pg_reload_conf() as a superuser to apply\n";
    return;
  }
  if (!conn) conn = try_connect(args, "the key file was written; apply it with SELECT pg_reload_conf() as a superuser");
  if (!conn) return;
  if (server_uses_key_command(*conn)) {
    std::cerr << "secretsctl: warning: the server reads its keys from pgsecrets.key_command, not from \"" << path
              << "\"; reloading anyway, not verified\n";
    reload_config(*conn);
    return;
  }
  const auto server_path = resolve_key_file(Args{}, conn);
  if (real_path(server_path) != real_path(path)) {
    std::cerr << "secretsctl: warning: the server reads \"" << server_path << "\", not \"" << path
              << "\"; not reloading\n";
    return;
  }
  reload_config(*conn);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!loaded_as_expected(loaded_keys(*conn))) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw failure("the server reloaded but " + expectation +
                    " is not in effect; the server keeps its previous keys when a file is refused: see its log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "server reloaded: " << expectation << "\n";
}

// rows per key version from secrets.key_status().
struct StatusRow {
  std::uint32_t version;
  bool active;
  bool loaded;
  long long rows;
  std::string fingerprint;           // short hex of the loaded key; empty if none
  std::string recorded_fingerprint;  // what this database recorded; empty if none
  std::string fingerprint_state;     // match, mismatch, not recorded, not loaded
};

// Extension 0.1.0 has no fingerprint columns; both shapes are read.
std::vector<StatusRow> key_status(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  const bool has_fingerprints =
      tx.exec("SELECT 1 FROM pg_catalog.pg_proc WHERE oid = 'secrets.key_status'::regproc "
              "AND 'fingerprint_state' = ANY (proargnames)")
          .size() == 1;
  std::vector<StatusRow> out;
  for (const auto& row : tx.exec(has_fingerprints
                                     ? "SELECT key_version, active, loaded, rows, coalesce(fingerprint, ''), "
                                       "coalesce(recorded_fingerprint, ''), coalesce(fingerprint_state, '') "
                                       "FROM secrets.key_status() ORDER BY 1"
                                     : "SELECT key_version, active, loaded, rows, '', '', '' "
                                       "FROM secrets.key_status() ORDER BY 1")) {
    out.push_back({row[0].as<std::uint32_t>(), row[1].as<bool>(), row[2].as<bool>(), row[3].as<long long>(),
                   row[4].as<std::string>(), row[5].as<std::string>(), row[6].as<std::string>()});
  }
  return out;
}

int keys_add(const Words& argv) {
  const Args args = parse_args(argv, spec_for("add", {"activate"}));
  if (args.has("help")) return print_help(kAddUsage);
  no_positionals(args, "add");
  std::unique_ptr<pqxx::connection> conn;
  const std::string path = resolve_key_file(args, conn);
  const KeyFileLock lock(path);  // from load() to save()
  KeyFile file = load(path);
  const std::uint32_t previous_active = file.active_version();
  std::uint32_t version = 0;
  try {
    version = file.add_key(generate_key_hex(), args.has("activate"));
  } catch (const std::runtime_error& e) {
    throw failure(e.what());
  }
  save(path, file);
  if (args.has("activate")) {
    std::cout << "added key version " << version << " to " << path << " and made it active\n";
  } else {
    std::cout << "added key version " << version << " to " << path << "; version " << previous_active
              << " stays active (activate the new one with: secretsctl keys activate " << version << ")\n";
  }
  const bool activate = args.has("activate");
  reload_and_verify(args, conn, path,
                    "key version " + std::to_string(version) + (activate ? " is loaded and active" : " is loaded"),
                    [&](const LoadedKeys& keys) {
                      return contains(keys.versions, version) && (!activate || keys.active == version);
                    });
  return kExitOk;
}

int keys_activate(const Words& argv) {
  const Args args = parse_args(argv, spec_for("activate"));
  if (args.has("help")) return print_help(kActivateUsage);
  const std::uint32_t version = parse_version(args, "activate");
  std::unique_ptr<pqxx::connection> conn;
  const std::string path = resolve_key_file(args, conn);
  const KeyFileLock lock(path);  // from load() to save()
  KeyFile file = load(path);
  if (!file.has_version(version)) {
    throw failure("key version " + std::to_string(version) + " is not in \"" + path + "\" (see: secretsctl keys status)");
  }
  if (file.active_version() == version && file.has_explicit_active()) {
    std::cout << "key version " << version << " is already active in " << path << "\n";
  } else {
    file.activate(version);
    save(path, file);
    std::cout << "key version " << version << " is now active in " << path << "\n";
  }
  reload_and_verify(args, conn, path, "key version " + std::to_string(version) + " is active",
                    [&](const LoadedKeys& keys) { return keys.active == version; });
  if (conn) {
    long long pending = 0;
    for (const auto& row : key_status(*conn)) {
      if (row.version != version) pending += row.rows;
    }
    if (pending > 0) {
      std::cout << pending << " row(s) are still encrypted under older versions: run 'secretsctl rotate'\n";
    }
  }
  return kExitOk;
}

int keys_status(const Words& argv) {
  const Args args = parse_args(argv, {"keys status", {"key-file", "database"}, {}});
  if (args.has("help")) return print_help(kStatusUsage);
  no_positionals(args, "status");
  std::unique_ptr<pqxx::connection> conn = connect(args);
  const auto rows = key_status(*conn);

  // The key file's versions, when it can be read here (never its keys).
  std::optional<std::vector<std::uint32_t>> in_file;
  std::string path;
  try {
    path = resolve_key_file(args, conn);
    in_file = load(path).versions();
    std::cout << "key file: " << path << "\n";
  } catch (const CliError& e) {
    std::cerr << "secretsctl: warning: not comparing with the key file: " << e.what() << "\n";
  }

  std::cout << "version  active  loaded  " << (in_file ? "in file  " : "")
            << "rows      fingerprint       recorded          state\n";
  long long total = 0;
  long long pending = 0;
  std::optional<std::uint32_t> active;
  auto yes_no = [](bool b) { return b ? "yes" : "no"; };
  std::vector<std::uint32_t> listed;
  std::vector<std::uint32_t> mismatched;
  for (const auto& row : rows) {
    std::cout << std::setw(7) << row.version << "  " << std::left << std::setw(6) << yes_no(row.active) << "  "
              << std::setw(6) << yes_no(row.loaded) << "  ";
    if (in_file) std::cout << std::setw(7) << yes_no(contains(*in_file, row.version)) << "  ";
    std::cout << std::right << std::setw(8) << row.rows << "  " << std::left << std::setw(16)
              << (row.fingerprint.empty() ? "-" : row.fingerprint) << "  " << std::setw(16)
              << (row.recorded_fingerprint.empty() ? "-" : row.recorded_fingerprint) << "  "
              << (row.fingerprint_state.empty() ? "-" : row.fingerprint_state) << std::right << "\n";
    if (row.fingerprint_state == "mismatch") mismatched.push_back(row.version);
    total += row.rows;
    if (row.active) active = row.version;
    else pending += row.rows;
    listed.push_back(row.version);
  }
  if (in_file) {
    for (const auto v : *in_file) {
      if (!contains(listed, v)) {
        std::cout << std::setw(7) << v << "  " << std::left << std::setw(6) << "no" << "  " << std::setw(6) << "no"
                  << "  " << std::setw(7) << "yes" << "  " << std::right << 0
                  << "   (in the file, not loaded: reload the server)\n";
      }
    }
  }
  for (const auto v : mismatched) {
    std::cout << "key version " << v
              << ": the loaded key does not match this database (refused; restore the right key file and reload)\n";
  }
  if (!active) {
    std::cout << "no key is loaded: check pgsecrets.key_file and the server log\n";
    return kExitOk;
  }
  std::cout << total << " row(s); active key version " << *active;
  if (pending > 0) std::cout << "; " << pending << " row(s) on older versions: run 'secretsctl rotate'";
  std::cout << "\n";
  return kExitOk;
}

// Asks secrets.retire_key(version) (current values, kept versions and
// tombstones, and the active key) when the extension has it, else
// key_status(). Throws CliError(kExitFailure) when the version is in use.
void check_retirable(pqxx::connection& conn, std::uint32_t version) {
  const std::string name = "key version " + std::to_string(version);
  if (function_exists(conn, "secrets.retire_key(bigint)")) {
    pqxx::nontransaction tx(conn);
    const auto r = tx.exec_params(
        "SELECT retirable, active, secret_rows + history_rows, message FROM secrets.retire_key($1::bigint)",
        static_cast<long long>(version));
    if (!r.empty() && !r[0][0].as<bool>()) {
      if (r[0][1].as<bool>()) throw failure(name + " is the server's active key; activate another version first");
      throw failure(r[0][2].as<std::string>() + " value(s) are still encrypted under " + name +
                    "; run 'secretsctl rotate' first");
    }
    return;
  }
  for (const auto& row : key_status(conn)) {
    if (row.version != version) continue;
    if (row.active) throw failure(name + " is the server's active key; activate another version first");
    if (row.rows > 0) {
      throw failure(std::to_string(row.rows) + " value(s) are still encrypted under " + name +
                    "; run 'secretsctl rotate' first");
    }
  }
}

int keys_retire(const Words& argv) {
  const Args args = parse_args(argv, spec_for("retire"));
  if (args.has("help")) return print_help(kRetireUsage);
  const std::uint32_t version = parse_version(args, "retire");
  std::unique_ptr<pqxx::connection> conn = connect(args);
  const std::string path = resolve_key_file(args, conn);
  const KeyFileLock lock(path);  // from load() to save()
  KeyFile file = load(path);
  const std::string name = "key version " + std::to_string(version);
  if (!file.has_version(version)) throw failure(name + " is not in \"" + path + "\"");
  if (file.active_version() == version) {
    throw failure(name + " is the active key in \"" + path + "\"; it is never retired (activate another version first)");
  }
  check_retirable(*conn, version);
  file.remove(version);
  save(path, file);
  std::cout << "retired " << name << ": removed from " << path << "\n";
  reload_and_verify(args, conn, path, name + " is no longer loaded",
                    [&](const LoadedKeys& keys) { return !contains(keys.versions, version); });
  return kExitOk;
}

}  // namespace

std::string resolve_key_file(const Args& args, std::unique_ptr<pqxx::connection>& conn) {
  if (auto path = args.value("key-file")) {
    if (path->empty()) throw usage_error("--key-file must not be empty");
    return *path;
  }
  if (!conn) {
    try {
      conn = connect(args);
    } catch (const CliError& e) {
      throw failure(std::string("no --key-file given, and the server cannot be asked for pgsecrets.key_file: ") +
                    e.what());
    }
  }
  if (!is_superuser(*conn)) {
    throw failure("pgsecrets.key_file is visible to superusers only: connect as one or pass --key-file");
  }
  auto path = server_key_file(*conn);
  if (!path) {
    throw failure("the server's pgsecrets.key_file is not set (is pgsecrets preloaded?); pass --key-file");
  }
  if (!path->empty() && (*path)[0] != '/') {
    pqxx::nontransaction tx(*conn);
    path = tx.exec("SELECT current_setting('data_directory')")[0][0].as<std::string>() + "/" + *path;
  }
  return *path;
}

LoadedKeys loaded_keys(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  LoadedKeys out;
  for (const auto& row : tx.exec("SELECT key_version, active FROM secrets.loaded_key_versions()")) {
    const auto v = row[0].as<std::uint32_t>();
    out.versions.push_back(v);
    if (row[1].as<bool>()) out.active = v;
  }
  return out;
}

int cmd_keys(const Words& argv) {
  if (argv.empty()) {
    std::cerr << kKeysUsage;
    return kExitUsage;
  }
  const std::string& sub = argv[0];
  const Words rest(argv.begin() + 1, argv.end());
  if (sub == "--help" || sub == "-h" || sub == "help") return print_help(kKeysUsage);
  if (sub == "add") return keys_add(rest);
  if (sub == "activate") return keys_activate(rest);
  if (sub == "status") return keys_status(rest);
  if (sub == "retire") return keys_retire(rest);
  throw usage_error("unknown subcommand 'keys " + sub + "' (see: secretsctl keys --help)");
}

}  // namespace secretsctl
