#include "api/error.h"

#include <iostream>
#include <string_view>

#include <pqxx/except>

namespace secretsd::api {
namespace {

// The fields of a libpq error as the pool's connections report them
// (PQERRORS_VERBOSE): "ERROR:  <SQLSTATE>: <primary message>\n" then lines
// such as "SCHEMA NAME:  secrets", "TABLE NAME:  api", "COLUMN NAME:  key".
struct ErrorFields {
  std::string_view primary;
  std::string_view schema;
  std::string_view table;
  std::string_view column;
};

std::string_view field_line(std::string_view text, std::string_view name) {
  const std::string needle = "\n" + std::string(name) + ":  ";
  const auto at = text.find(needle);
  if (at == std::string_view::npos) return {};
  auto value = text.substr(at + needle.size());
  return value.substr(0, value.find('\n'));
}

ErrorFields fields_of(std::string_view text, const std::string& sqlstate) {
  ErrorFields f;
  std::string_view first = text.substr(0, text.find('\n'));
  for (const std::string& prefix : {std::string("ERROR:  ") + sqlstate + ": ", std::string("ERROR:  ")}) {
    if (first.substr(0, prefix.size()) == prefix) {
      first.remove_prefix(prefix.size());
      break;
    }
  }
  f.primary = first;
  f.schema = field_line(text, "SCHEMA NAME");
  f.table = field_line(text, "TABLE NAME");
  f.column = field_line(text, "COLUMN NAME");
  return f;
}

// The extension marks the errors its API raises for clients (validation and
// not-found texts that name at most the key and a version, never a value):
// SCHEMA "secrets", TABLE "api" (a name no real table has).
bool raised_for_clients(const ErrorFields& f) { return f.schema == "secrets" && f.table == "api"; }

// One line on stderr naming only the event and the SQLSTATE: never the
// statement, its parameters or the server's message.
void log_event(std::string_view event, const std::string& sqlstate) {
  // One write per line, so that concurrent requests never interleave.
  std::string line = "{\"event\":\"" + std::string(event) + "\",\"sqlstate\":\"" + sqlstate + "\"}\n";
  std::cerr << line << std::flush;
}

}  // namespace

const char* const kRoleRefused = "Your role in this household does not allow this";

std::string not_found_message(const std::string& key) {
  return "Secret with key \"" + key + "\" not found";
}

std::string already_exists_message(const std::string& key) {
  return "Secret with key \"" + key + "\" already exists";
}

ApiError from_sql_error(const pqxx::sql_error& error, const std::string& key) {
  const std::string& state = error.sqlstate();
  const ErrorFields fields = fields_of(error.what(), state);
  if (state == "22023") {
    if (raised_for_clients(fields)) return {400, std::string(fields.primary)};
    log_event("secret_validation_unmapped", state);
    return {400, "Bad request"};
  }
  if (state == "23505") return {409, already_exists_message(key)};
  if (state == "P0002") {
    if (raised_for_clients(fields)) return {404, std::string(fields.primary)};
    return {404, not_found_message(key)};
  }
  // Only a write with If-Match passes an expected version.
  if (state == "SE005") {
    return {412, "Secret with key \"" + key + "\" has changed since the version in If-Match"};
  }
  if (state == "SE006") {
    return {410, "Secret with key \"" + key + "\" was deleted too long ago to be restored"};
  }
  if (state == "42501") return {403, "Forbidden"};
  // The extension refused what the caller's household role may not do
  // (pgsecrets 0.3.0), or the caller is no longer a member (secretsd's
  // context_role, migrations/0012).
  if (state == "SE009") return {403, kRoleRefused};
  // Member management (migrations/0012): the rules live in its functions.
  if (state == "SD400") return {400, "Unknown role, or one that cannot be given this way"};
  if (state == "SD403") return {403, "Only owners and admins manage members, and only owners manage owners"};
  if (state == "SD404") return {404, "Not found"};
  if (state == "SD409") return {409, "A household keeps at least one owner"};
  if (state == "SE001") {
    log_event("secret_decrypt_failed", state);
    return {500, "Secret could not be decrypted"};
  }
  if (state == "SE002") {
    log_event("secret_no_root_key", state);
    return {503, "No root key loaded"};
  }
  log_event("secret_sql_error", state);
  return {500, "Internal server error"};
}

}  // namespace secretsd::api
