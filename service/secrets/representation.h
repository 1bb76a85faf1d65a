// The JSON shapes of /api/secrets, camelCase like the reference.
#pragma once

#include <nlohmann/json.hpp>
#include <pqxx/row>

namespace secretsd::secrets {

// {"id","key","scope","nodeId","valueType","description","hasValue",
//  "version","createdAt","updatedAt","createdBy","updatedBy"}; SQL NULL
// becomes JSON null. Never includes a value.
nlohmann::json metadata_json(const pqxx::row& row);

// metadata_json plus "value" (the row's `value` column).
nlohmann::json secret_json(const pqxx::row& row);

// One kept version: {"version","isCurrent","valueType","hasValue",
// "keyVersion","writtenAt","writtenBy","deletedAt"}. Never a value.
nlohmann::json version_json(const pqxx::row& row);

}  // namespace secretsd::secrets
