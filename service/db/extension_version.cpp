#include "db/extension_version.h"

#include <array>
#include <regex>

#include <pqxx/nontransaction>

namespace secretsd::db {
namespace {

using Version = std::array<unsigned long, 3>;

// "MAJOR.MINOR.PATCH", digits only; nullopt for anything else.
std::optional<Version> parse_version(const std::string& text) {
  static const std::regex kVersion(R"(^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$)");
  std::smatch m;
  if (!std::regex_match(text, m, kVersion)) return std::nullopt;
  return Version{std::stoul(m[1]), std::stoul(m[2]), std::stoul(m[3])};
}

std::string how_to_update() {
  return std::string("install the pgsecrets build that has it, restart PostgreSQL, then run "
                     "ALTER EXTENSION pgsecrets UPDATE TO '") +
         kRequiredExtensionVersion + "' in this database as a superuser";
}

}  // namespace

std::optional<std::string> extension_version_refusal(const std::optional<std::string>& installed) {
  const std::string needed = kRequiredExtensionVersion;
  if (!installed) {
    return "extension pgsecrets is not installed in this database; secretsd needs version " + needed +
           ": run CREATE EXTENSION pgsecrets as a superuser";
  }
  const auto have = parse_version(*installed);
  const auto want = parse_version(needed);
  if (!have) {
    return "extension pgsecrets has version '" + *installed + "', which secretsd cannot read; it needs " +
           needed + ": " + how_to_update();
  }
  if ((*have)[0] > (*want)[0]) {
    return "extension pgsecrets is at version " + *installed + ", a major version this secretsd does not know " +
           "(it needs " + needed + " or a later " + std::to_string((*want)[0]) +
           ".x): run a secretsd built for pgsecrets " + *installed;
  }
  if (*have < *want) {
    return "extension pgsecrets is at version " + *installed + "; secretsd needs " + needed + ": " +
           how_to_update();
  }
  return std::nullopt;
}

std::optional<std::string> check_extension_version(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  const auto rows = tx.exec("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pgsecrets'");
  return extension_version_refusal(rows.empty() ? std::nullopt
                                                : std::optional<std::string>(rows[0][0].as<std::string>()));
}

}  // namespace secretsd::db
