#include "providers/grants.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/tx.h"

namespace secretsd::providers {
namespace {
}  // namespace

std::optional<std::vector<std::string>> SettingGrants::of(const std::string& app_id) {
  db::Lease lease = databases_.primary();
  return db::with_tx(lease, [&](pqxx::work& tx) -> std::optional<std::vector<std::string>> {
    auto rows = tx.exec_params(
        "SELECT g.setting_name FROM secretsd.apps a "
        "LEFT JOIN secretsd.app_setting_grants g ON g.app_id = a.app_id "
        "WHERE a.app_id = $1 AND a.revoked_at IS NULL ORDER BY 1",
        app_id);
    if (rows.empty()) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& row : rows) {
      if (!row[0].is_null()) names.push_back(row[0].as<std::string>());
    }
    return names;
  });
}

bool SettingGrants::replace(const std::string& app_id, const std::vector<std::string>& names) {
  db::Lease lease = databases_.primary();
  return db::with_tx(lease, [&](pqxx::work& tx) {
    // The app row is locked so a concurrent replace cannot interleave.
    auto app = tx.exec_params(
        "SELECT 1 FROM secretsd.apps WHERE app_id = $1 AND revoked_at IS NULL FOR UPDATE", app_id);
    if (app.empty()) return false;
    tx.exec_params("DELETE FROM secretsd.app_setting_grants WHERE app_id = $1", app_id);
    tx.exec_params(
        "INSERT INTO secretsd.app_setting_grants (app_id, setting_name) "
        "SELECT DISTINCT $1, jsonb_array_elements_text($2::jsonb)",
        app_id, nlohmann::json(names).dump());
    return true;
  });
}

namespace {
std::vector<std::string> filtered(const std::vector<std::string>& wanted,
                                  const std::vector<std::string>& granted, bool keep_granted) {
  std::vector<std::string> out;
  for (const auto& name : wanted) {
    if (std::binary_search(granted.begin(), granted.end(), name) == keep_granted) out.push_back(name);
  }
  return out;
}
}  // namespace

std::vector<std::string> ungranted(const std::vector<std::string>& wanted,
                                   const std::vector<std::string>& granted) {
  return filtered(wanted, granted, false);
}

std::vector<std::string> granted_only(const std::vector<std::string>& wanted,
                                      const std::vector<std::string>& granted) {
  return filtered(wanted, granted, true);
}

}  // namespace secretsd::providers
