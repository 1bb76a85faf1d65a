#include "runtimes/registry.h"

#include <algorithm>
#include <chrono>

#include <pqxx/pqxx>

#include "admin_audit/admin_audit.h"
#include "db/tx.h"

namespace secretsd::runtimes {
namespace {


Runtime runtime_of(const pqxx::row& row) {
  Runtime r;
  r.id = row["id"].as<std::string>();
  r.app_id = row["app_id"].as<std::string>();
  r.settings = nlohmann::json::parse(row["settings"].as<std::string>()).get<std::vector<std::string>>();
  if (!row["command"].is_null()) {
    r.command = nlohmann::json::parse(row["command"].as<std::string>()).get<std::vector<std::string>>();
  }
  if (!row["restart_url"].is_null()) r.url = row["restart_url"].as<std::string>();
  if (!row["health_url"].is_null()) r.health_url = row["health_url"].as<std::string>();
  return r;
}

constexpr const char* kRuntimeColumns =
    "SELECT id, app_id, to_jsonb(settings)::text AS settings, "
    "to_jsonb(restart_command)::text AS command, restart_url, health_url FROM secretsd.runtimes ";

}  // namespace

nlohmann::json RestartOutcome::to_json() const {
  return {{"runtime_id", runtime_id},
          {"status", status},
          {"duration_ms", duration_ms},
          {"message", message}};
}

Registration RuntimeRegistry::register_runtime(const Runtime& r, const std::string& app_id) {
  for (const auto& f : file_.runtimes) {
    if (f.id == r.id) return Registration::Conflict;
  }
  db::Lease lease = databases_.primary();
  return db::with_tx(lease, [&](pqxx::work& tx) {
    nlohmann::json settings = r.settings;
    nlohmann::json command = r.command;
    // Upsert only when the id is new or already this app's.
    auto rows = tx.exec_params(
        "INSERT INTO secretsd.runtimes AS t (id, app_id, settings, restart_command, restart_url, health_url) "
        "VALUES ($1, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), "
        "  CASE WHEN $4 THEN ARRAY(SELECT jsonb_array_elements_text($5::jsonb)) END, "
        "  NULLIF($6, ''), NULLIF($7, '')) "
        "ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings, "
        "  restart_command = EXCLUDED.restart_command, restart_url = EXCLUDED.restart_url, "
        "  health_url = EXCLUDED.health_url, updated_at = now() "
        "WHERE t.app_id = EXCLUDED.app_id "
        "RETURNING (xmax = 0) AS created",
        r.id, app_id, settings.dump(), !r.command.empty(), command.dump(), r.url, r.health_url);
    if (rows.empty()) return Registration::Conflict;
    return rows[0][0].as<bool>() ? Registration::Created : Registration::Updated;
  });
}

std::vector<Runtime> RuntimeRegistry::stored(const std::string& where, const std::string& arg) {
  db::Lease lease = databases_.primary();
  return db::with_tx(lease, [&](pqxx::work& tx) {
    auto rows = tx.exec_params(std::string(kRuntimeColumns) + where + " ORDER BY id", arg);
    std::vector<Runtime> out;
    for (const auto& row : rows) out.push_back(runtime_of(row));
    return out;
  });
}

std::optional<Runtime> RuntimeRegistry::find(const std::string& id) {
  for (const auto& f : file_.runtimes) {
    if (f.id == id) return f;
  }
  auto rows = stored("WHERE id = $1", id);
  if (rows.empty()) return std::nullopt;
  return rows[0];
}

std::vector<Runtime> RuntimeRegistry::all() {
  std::vector<Runtime> out = file_.runtimes;
  for (auto& r : stored("WHERE $1::text IS NOT NULL", "")) out.push_back(std::move(r));
  return out;
}

std::vector<Runtime> RuntimeRegistry::consumers(const std::string& setting) {
  std::vector<Runtime> out;
  for (const auto& f : file_.runtimes) {
    if (f.consumes(setting)) out.push_back(f);
  }
  for (auto& r : stored("WHERE $1 = ANY (settings)", setting)) {
    // A file runtime's id shadows a stored one (registration refuses it,
    // but the file may have gained the id later).
    bool shadowed = std::any_of(out.begin(), out.end(), [&](const Runtime& f) { return f.id == r.id; });
    if (!shadowed) out.push_back(std::move(r));
  }
  return out;
}

SettingPolicy RuntimeRegistry::policy(const std::string& setting) const {
  auto it = file_.settings.find(setting);
  return it == file_.settings.end() ? SettingPolicy{} : it->second;
}

void RuntimeRegistry::record(const std::vector<RestartOutcome>& outcomes,
                             const std::string& setting, const std::string& actor) {
  if (outcomes.empty()) return;
  db::Lease lease = databases_.primary();
  db::with_tx(lease, [&](pqxx::work& tx) {
    nlohmann::json restarted = nlohmann::json::array();
    for (const auto& o : outcomes) restarted.push_back(o.to_json());
    admin_audit::record(tx, actor, "runtime.restart", setting, {{"runtimes", restarted}});
    for (const auto& o : outcomes) {
      tx.exec_params(
          "INSERT INTO secretsd.runtime_restarts (runtime_id, status, message, duration_ms, setting) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (runtime_id) DO UPDATE SET "
          "status = EXCLUDED.status, message = EXCLUDED.message, "
          "duration_ms = EXCLUDED.duration_ms, setting = EXCLUDED.setting, at = now()",
          o.runtime_id, o.status, o.message, o.duration_ms, setting);
    }
  });
}

std::map<std::string, nlohmann::json> RuntimeRegistry::last_outcomes() {
  db::Lease lease = databases_.primary();
  return db::with_tx(lease, [&](pqxx::work& tx) {
    auto rows = tx.exec(
        "SELECT runtime_id, status, message, duration_ms, setting, "
        "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at "
        "FROM secretsd.runtime_restarts");
    std::map<std::string, nlohmann::json> out;
    for (const auto& row : rows) {
      out[row["runtime_id"].as<std::string>()] = {
          {"status", row["status"].as<std::string>()},
          {"message", row["message"].as<std::string>()},
          {"duration_ms", row["duration_ms"].as<long long>()},
          {"setting", row["setting"].as<std::string>()},
          {"at", row["at"].as<std::string>()}};
    }
    return out;
  });
}

}  // namespace secretsd::runtimes
