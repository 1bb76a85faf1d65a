// secretsd reaches secrets only through the pgsecrets extension's service API
// (listed in sql/pgsecrets--0.2.0--0.3.0.sql and README "Service API"), so it
// refuses at start a database whose extension lacks part of that API.
#pragma once

#include <optional>
#include <string>

#include <pqxx/connection>

namespace secretsd::db {

// The first extension version whose service API has everything secretsd calls.
inline constexpr const char* kRequiredExtensionVersion = "0.3.0";

// Why secretsd cannot work with extension version `installed` (nullopt: not
// installed), or nullopt when it can: the same major version as
// kRequiredExtensionVersion and not older. A later minor version only adds
// to the API; a later major version may change it. The message names the
// version needed and the statement that updates the database.
std::optional<std::string> extension_version_refusal(const std::optional<std::string>& installed);

// The same, for the version installed in `conn`'s database (pg_extension).
std::optional<std::string> check_extension_version(pqxx::connection& conn);

}  // namespace secretsd::db
