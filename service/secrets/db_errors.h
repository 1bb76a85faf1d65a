// Maps the extension's SQLSTATEs to HTTP answers. The message is only ever
// one of a fixed set of texts: a database error's own text is never passed
// through unless it is one of the extension's validation messages, which are
// known not to contain values.
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
