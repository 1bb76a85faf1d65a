// Maps database errors to HTTP answers by SQLSTATE and the error's
// structured fields, never by its wording. A database error's own text is
// passed through only when the extension marked it as written for clients
// (SCHEMA "secrets", TABLE "api": validation and not-found texts, which never
// hold a value); anything else gets a fixed text.
#pragma once

#include <string>

#include <pqxx/except>

#include "secrets/api_error.h"

namespace secretsd::secrets {

// `key` is the (already validated) key of the request, for the 404 and 409
// texts of the reference; may be empty (list).
ApiError map_sql_error(const pqxx::sql_error& error, const std::string& key);

// The reference's texts.
std::string not_found_message(const std::string& key);
std::string already_exists_message(const std::string& key);

}  // namespace secretsd::secrets
