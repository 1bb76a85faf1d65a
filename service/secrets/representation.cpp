#include "secrets/representation.h"

#include <pqxx/field>

#include "format/time.h"

namespace secretsd::secrets {
namespace {

nlohmann::json text_or_null(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return f.as<std::string>();
}

// Epoch milliseconds as the API writes every time (format/time.h).
nlohmann::json iso_time_or_null(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return format::iso8601_utc_millis(f.as<long long>());
}

}  // namespace

nlohmann::json metadata_json(const pqxx::row& row) {
  return {
      {"id", text_or_null(row["id"])},
      {"key", text_or_null(row["key"])},
      {"scope", text_or_null(row["scope"])},
      {"nodeId", text_or_null(row["node_id"])},
      {"valueType", text_or_null(row["value_type"])},
      {"description", text_or_null(row["description"])},
      {"hasValue", row["has_value"].as<bool>(false)},
      {"version", row["version"].as<long long>(0)},
      {"createdAt", iso_time_or_null(row["created_at_ms"])},
      {"updatedAt", iso_time_or_null(row["updated_at_ms"])},
      {"createdBy", text_or_null(row["created_by"])},
      {"updatedBy", text_or_null(row["updated_by"])},
  };
}

nlohmann::json secret_json(const pqxx::row& row) {
  auto out = metadata_json(row);
  out["value"] = text_or_null(row["value"]);
  return out;
}

nlohmann::json version_json(const pqxx::row& row) {
  return {
      {"version", row["version"].as<long long>(0)},
      {"isCurrent", row["is_current"].as<bool>(false)},
      {"valueType", text_or_null(row["value_type"])},
      {"hasValue", row["has_value"].as<bool>(false)},
      {"keyVersion", row["key_version"].is_null() ? nlohmann::json(nullptr)
                                                  : nlohmann::json(row["key_version"].as<long long>())},
      {"writtenAt", iso_time_or_null(row["written_at_ms"])},
      {"writtenBy", text_or_null(row["written_by"])},
      {"deletedAt", iso_time_or_null(row["deleted_at_ms"])},
  };
}

}  // namespace secretsd::secrets
