// secretsd's own schema: numbered SQL files applied in order, once, and
// recorded in secretsd.schema_migrations.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/connection>

namespace secretsd::db {

// Bad migration directory, a changed or missing applied migration, or a
// failing migration. The message names files and versions, never SQL text.
class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MigrationFile {
  int version = 0;
  std::string name;  // "0001_init.sql" -> "init"
  std::filesystem::path path;
  std::string checksum;  // sha256 of the file's bytes, lowercase hex
};

struct MigrationReport {
  std::vector<int> applied;          // applied by this call, in order
  std::vector<int> already_applied;  // found recorded, checksums verified
};

// Files named NNNN_name.sql (digits, '_', then [A-Za-z0-9_-]+), sorted by
// version. Other files are ignored; a duplicate version throws.
std::vector<MigrationFile> list_migrations(const std::filesystem::path& dir);

// Lowercase hex SHA-256 (OpenSSL EVP).
std::string sha256_hex(const std::string& bytes);

// Creates schema secretsd and its schema_migrations table if needed, then
// applies every unrecorded migration, each in its own transaction. Holds a
// session advisory lock throughout, so services starting together apply
// each migration exactly once. Throws MigrationError — before changing
// anything — if a recorded migration's file changed or disappeared.
MigrationReport apply_migrations(pqxx::connection& conn, const std::filesystem::path& dir);

}  // namespace secretsd::db
