#include "secrets/representation.h"

#include <ctime>
#include <cstdio>

#include <pqxx/field>

namespace secretsd::secrets {
namespace {

nlohmann::json text_or_null(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return f.as<std::string>();
}

// Epoch milliseconds as ISO 8601 UTC with milliseconds, the shape of
// JavaScript's Date.toISOString(): "2024-01-15T10:30:00.000Z".
nlohmann::json iso_time_or_null(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  long long ms = f.as<long long>();
  long long secs = ms / 1000;
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return nullptr;
  char buf[80];  // room for any int fields, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return std::string(buf);
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
