#include "db/migrations.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#include <openssl/evp.h>
#include <pqxx/pqxx>

namespace secretsd::db {

namespace {

// "secretsd" in ASCII: a fixed key every secretsd instance agrees on.
constexpr long long kMigrationLockKey = 0x7365637265747364LL;

struct Recorded {
  std::string name;
  std::string checksum;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MigrationError("cannot read migration " + path.filename().string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Holds pg_advisory_lock for its lifetime. If the connection dies first the
// server releases the lock with the session.
class SessionLock {
 public:
  explicit SessionLock(pqxx::connection& conn) : conn_(conn) {
    pqxx::nontransaction tx(conn_);
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
  }
  ~SessionLock() {
    try {
      pqxx::nontransaction tx(conn_);
      tx.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
    } catch (...) {
      // Connection gone: the lock went with the session.
    }
  }
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;

 private:
  pqxx::connection& conn_;
};

void create_bookkeeping(pqxx::connection& conn) {
  pqxx::work tx(conn);
  tx.exec(
      "CREATE SCHEMA IF NOT EXISTS secretsd;"
      "CREATE TABLE IF NOT EXISTS secretsd.schema_migrations ("
      "  version int PRIMARY KEY,"
      "  name text NOT NULL,"
      "  checksum text NOT NULL,"
      "  applied_at timestamptz NOT NULL DEFAULT now())");
  tx.commit();
}

std::map<int, Recorded> read_recorded(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  std::map<int, Recorded> recorded;
  for (const auto& row : tx.exec("SELECT version, name, checksum FROM secretsd.schema_migrations")) {
    recorded[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return recorded;
}

// All-or-nothing check before anything is applied.
void verify_recorded(const std::map<int, Recorded>& recorded,
                     const std::vector<MigrationFile>& files) {
  for (const auto& [version, rec] : recorded) {
    auto it = std::find_if(files.begin(), files.end(),
                           [v = version](const MigrationFile& f) { return f.version == v; });
    if (it == files.end()) {
      throw MigrationError("applied migration " + std::to_string(version) + " (" + rec.name +
                           ") is missing from the migrations directory");
    }
    if (it->checksum != rec.checksum) {
      throw MigrationError("applied migration " + it->path.filename().string() +
                           " has changed since it was applied (checksum mismatch)");
    }
  }
}

void apply_one(pqxx::connection& conn, const MigrationFile& file) {
  const std::string sql = read_file(file.path);
  // Re-hash what is executed, in case the file changed since listing.
  if (sha256_hex(sql) != file.checksum) {
    throw MigrationError("migration " + file.path.filename().string() + " changed while applying");
  }
  pqxx::work tx(conn);
  try {
    tx.exec(sql);
  } catch (const pqxx::sql_error&) {
    throw MigrationError("migration " + file.path.filename().string() + " failed");
  }
  tx.exec_params(
      "INSERT INTO secretsd.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
      file.version, file.name, file.checksum);
  tx.commit();
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    throw std::runtime_error("sha256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0F]);
  }
  return hex;
}

std::vector<MigrationFile> list_migrations(const std::filesystem::path& dir) {
  static const std::regex kName(R"(^(\d+)_([A-Za-z0-9_-]+)\.sql$)");
  if (!std::filesystem::is_directory(dir)) {
    throw MigrationError("migrations directory not found: " + dir.string());
  }
  std::vector<MigrationFile> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::smatch m;
    const std::string filename = entry.path().filename().string();
    if (!entry.is_regular_file() || !std::regex_match(filename, m, kName)) continue;
    if (m[1].length() > 9) throw MigrationError("migration version too large: " + filename);
    files.push_back({std::stoi(m[1]), m[2], entry.path(), sha256_hex(read_file(entry.path()))});
  }
  std::sort(files.begin(), files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.version < b.version; });
  auto dup = std::adjacent_find(files.begin(), files.end(),
                                [](const MigrationFile& a, const MigrationFile& b) {
                                  return a.version == b.version;
                                });
  if (dup != files.end()) {
    throw MigrationError("two migrations share version " + std::to_string(dup->version));
  }
  return files;
}

MigrationReport apply_migrations(pqxx::connection& conn, const std::filesystem::path& dir) {
  const auto files = list_migrations(dir);
  SessionLock lock(conn);
  // Under the lock: CREATE SCHEMA IF NOT EXISTS races with itself otherwise.
  create_bookkeeping(conn);
  const auto recorded = read_recorded(conn);
  verify_recorded(recorded, files);

  MigrationReport report;
  for (const auto& file : files) {
    if (recorded.count(file.version) != 0) {
      report.already_applied.push_back(file.version);
      continue;
    }
    apply_one(conn, file);
    report.applied.push_back(file.version);
  }
  return report;
}

}  // namespace secretsd::db
