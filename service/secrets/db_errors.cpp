#include "secrets/db_errors.h"

#include <array>
#include <iostream>
#include <string_view>

namespace secretsd::secrets {
namespace {

// Every 22023 message of sql/pgsecrets--0.1.0.sql and extension/context.c
// that a REST request can reach. None holds a value: the extension refuses
// bad values without echoing them.
constexpr std::array<std::string_view, 11> kValidationMessages = {
    "Key must be SCREAMING_SNAKE_CASE (e.g., MY_API_KEY)",
    "Key must be 255 characters or less",
    "scope must be \"integration\" or \"node\"",
    "scope \"node\" requires a node_id",
    "scope \"integration\" does not take a node_id",
    "node_id must be 255 characters or less",
    "value_type must be \"string\", \"int\" or \"bool\"",
    "value does not fit value_type \"int\"",
    "value does not fit value_type \"bool\"",
    "actor must be at most 256 bytes",
    "node_id must be at most 255 bytes",
};

// libpq's error text is "ERROR:  <primary message>\n" followed by optional
// DETAIL/HINT/CONTEXT lines; libpqxx 6.4 exposes only that text.
std::string_view primary_message(std::string_view text) {
  constexpr std::string_view kPrefix = "ERROR:  ";
  if (text.substr(0, kPrefix.size()) == kPrefix) text.remove_prefix(kPrefix.size());
  return text.substr(0, text.find('\n'));
}

// One line on stderr naming only the event and the SQLSTATE: never the
// statement, its parameters or the server's message.
void log_event(std::string_view event, const std::string& sqlstate) {
  // One write per line, so that concurrent requests never interleave.
  std::string line = "{\"event\":\"" + std::string(event) + "\",\"sqlstate\":\"" + sqlstate + "\"}\n";
  std::cerr << line << std::flush;
}

}  // namespace

std::string not_found_message(const std::string& key) {
  return "Secret with key \"" + key + "\" not found";
}

std::string already_exists_message(const std::string& key) {
  return "Secret with key \"" + key + "\" already exists";
}

ApiError map_sql_error(const pqxx::sql_error& error, const std::string& key) {
  const std::string& state = error.sqlstate();
  if (state == "22023") {
    auto message = primary_message(error.what());
    for (auto known : kValidationMessages) {
      if (message == known) return {400, std::string(known)};
    }
    log_event("secret_validation_unmapped", state);
    return {400, "Bad request"};
  }
  if (state == "23505") return {409, already_exists_message(key)};
  if (state == "P0002") {
    // The API's own "not kept"/"no deleted secret" texts name only the
    // (validated) key and a version number; anything else gets the generic one.
    auto message = primary_message(error.what());
    for (std::string_view known : {"Version ", "No deleted secret with key \""}) {
      if (message.substr(0, known.size()) == known) return {404, std::string(message)};
    }
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

}  // namespace secretsd::secrets
