#include "providers/store.h"

#include <chrono>

#include <pqxx/pqxx>

#include "admin_audit/admin_audit.h"
#include "db/tx.h"
#include "providers/masking.h"

namespace secretsd::providers {
namespace {


// A setting's metadata and its clear value (read through the extension; a
// sensitive one only as far as masking needs it in this process).
// has_previous: a version before the current one is kept, so a rollback is
// possible. A setting whose secret is missing (removed behind secretsd's
// back) is skipped rather than shown without a value.
constexpr const char* kSelectViews =
    "SELECT g.name, g.is_sensitive, v.clear, g.description, "
    "to_char(g.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS updated_at, "
    "g.updated_by, EXISTS (SELECT 1 FROM secrets.list_secret_versions(g.secret_key, 'integration') k "
    "                      WHERE NOT k.is_current) AS has_previous "
    "FROM secretsd.global_settings g "
    "CROSS JOIN LATERAL secrets.get_secret(g.secret_key, 'integration') AS v(clear) "
    "WHERE v.clear IS NOT NULL ";

SettingView view_of(const pqxx::row& row) {
  SettingView v;
  v.name = row["name"].as<std::string>();
  v.is_sensitive = row["is_sensitive"].as<bool>();
  std::string clear = row["clear"].as<std::string>();
  v.value = v.is_sensitive ? mask_value(clear) : clear;
  if (!row["description"].is_null()) v.description = row["description"].as<std::string>();
  v.updated_at = row["updated_at"].as<std::string>();
  v.updated_by = row["updated_by"].as<std::string>();
  v.has_previous = row["has_previous"].as<bool>();
  return v;
}

// The extension's audit log records the change itself (actor = the
// transaction's set_context actor); listeners only need the name.
void notify(pqxx::work& tx, const std::string& name) {
  tx.exec_params("SELECT pg_notify($1, $2)", std::string(kNotifyChannel), name);
}

// Remembers whether `version` of the setting's secret was saved as
// sensitive, and forgets the versions the extension no longer keeps.
void record_version(pqxx::work& tx, const std::string& name, const std::string& secret_key,
                    int version, bool is_sensitive) {
  tx.exec_params(
      "INSERT INTO secretsd.global_setting_versions (name, version, is_sensitive) VALUES ($1, $2, $3) "
      "ON CONFLICT (name, version) DO UPDATE SET is_sensitive = EXCLUDED.is_sensitive",
      name, version, is_sensitive);
  tx.exec_params(
      "DELETE FROM secretsd.global_setting_versions WHERE name = $1 AND version NOT IN "
      "(SELECT k.version FROM secrets.list_secret_versions($2, 'integration') k)",
      name, secret_key);
}

// Deletes the setting and its secret, history included: a deleted setting
// leaves no value behind, and one created again later starts afresh.
bool remove_in(pqxx::work& tx, const std::string& name) {
  auto rows = tx.exec_params(
      "DELETE FROM secretsd.global_settings WHERE name = $1 RETURNING secret_key", name);
  if (rows.empty()) return false;
  const std::string key = rows[0][0].as<std::string>();
  tx.exec_params("SELECT secrets.delete_secret($1, 'integration')", key);
  tx.exec_params("SELECT secrets.purge_secret($1, 'integration')", key);
  notify(tx, name);
  return true;
}

template <typename Fn>
auto in_global_tx(db::Databases& databases, const std::string& actor, Fn&& fn) {
  db::Lease lease = databases.primary();
  // Instance settings: the instance's administration acts as the global
  // household's admin.
  const db::Context context{kGlobalHousehold, actor, "", "admin", ""};
  return db::with_household_tx(lease, context, std::forward<Fn>(fn));
}

}  // namespace

nlohmann::json SettingView::to_json() const {
  return {{"name", name},
          {"value", value},
          {"is_sensitive", is_sensitive},
          {"description", description ? nlohmann::json(*description) : nlohmann::json(nullptr)},
          {"updated_at", updated_at},
          {"updated_by", updated_by},
          {"has_previous", has_previous}};
}

std::vector<SettingView> SettingsStore::list() {
  return in_global_tx(databases_, "admin", [&](pqxx::work& tx) {
    auto rows = tx.exec(std::string(kSelectViews) + "ORDER BY g.name");
    std::vector<SettingView> out;
    for (const auto& row : rows) out.push_back(view_of(row));
    return out;
  });
}

std::optional<SettingView> SettingsStore::get(const std::string& name) {
  return in_global_tx(databases_, "admin", [&](pqxx::work& tx) -> std::optional<SettingView> {
    auto rows = tx.exec_params(std::string(kSelectViews) + "AND g.name = $1", name);
    if (rows.empty()) return std::nullopt;
    return view_of(rows[0]);
  });
}

SettingsStore::Saved SettingsStore::save(const std::string& name, const std::string& value,
                                         bool is_sensitive,
                                         const std::optional<std::string>& description,
                                         const std::string& actor) {
  return in_global_tx(databases_, actor, [&](pqxx::work& tx) {
    // The metadata row first: its lock serialises the changes of one setting.
    auto rows = tx.exec_params(
        "INSERT INTO secretsd.global_settings AS g (name, is_sensitive, description, updated_by) "
        "VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (name) DO UPDATE SET is_sensitive = EXCLUDED.is_sensitive, "
        "  description = COALESCE($3, g.description), updated_at = now(), updated_by = $4 "
        "RETURNING g.secret_key, (xmax = 0) AS created",
        name, is_sensitive, description, actor);
    Saved saved;
    saved.created = rows[0]["created"].as<bool>();
    const std::string key = rows[0]["secret_key"].as<std::string>();
    auto written = tx.exec_params(
        "SELECT (secrets.set_secret($1, $2, 'integration', "
        "                           description => 'provider setting ' || $3::text)).version",
        key, value, name);
    record_version(tx, name, key, written[0][0].as<int>(), is_sensitive);
    admin_audit::record(tx, actor, "setting.set", name,
                        {{"version", written[0][0].as<int>()}, {"is_sensitive", is_sensitive}});
    notify(tx, name);
    saved.view = view_of(tx.exec_params(std::string(kSelectViews) + "AND g.name = $1", name).at(0));
    return saved;
  });
}

bool SettingsStore::remove(const std::string& name, const std::string& actor) {
  return in_global_tx(databases_, actor, [&](pqxx::work& tx) {
    if (!remove_in(tx, name)) return false;
    admin_audit::record(tx, actor, "setting.delete", name);
    return true;
  });
}

SettingsStore::RollbackOutcome SettingsStore::rollback(const std::string& name,
                                                      const std::string& actor,
                                                      bool delete_if_none) {
  return in_global_tx(databases_, actor, [&](pqxx::work& tx) {
    auto setting = tx.exec_params(
        "SELECT secret_key FROM secretsd.global_settings WHERE name = $1 FOR UPDATE", name);
    if (setting.empty()) return RollbackOutcome::NotFound;
    const std::string key = setting[0][0].as<std::string>();
    // The current version and the newest one kept before it. A version
    // whose sensitivity is unknown counts as sensitive.
    auto versions = tx.exec_params(
        "SELECT max(k.version) FILTER (WHERE k.is_current) AS current_version, "
        "       max(k.version) FILTER (WHERE NOT k.is_current) AS previous_version "
        "FROM secrets.list_secret_versions($1, 'integration') k",
        key);
    const auto& v = versions[0];
    if (v["current_version"].is_null()) return RollbackOutcome::NotFound;
    if (v["previous_version"].is_null()) {
      if (!delete_if_none) return RollbackOutcome::NoPrevious;
      remove_in(tx, name);
      admin_audit::record(tx, actor, "setting.delete", name, {{"rolled_back", true}});
      return RollbackOutcome::Done;
    }
    const int previous = v["previous_version"].as<int>();
    // expected_version: nothing may have changed the secret since it was read.
    auto written = tx.exec_params(
        "SELECT (secrets.rollback_secret($1, 'integration', $2, "
        "                                expected_version => $3)).version",
        key, previous, v["current_version"].as<int>());
    // Masked if either the value left or the value restored was sensitive,
    // so a rollback never shows in clear a value saved as sensitive.
    auto updated = tx.exec_params(
        "UPDATE secretsd.global_settings g SET "
        "  is_sensitive = g.is_sensitive OR COALESCE((SELECT p.is_sensitive "
        "      FROM secretsd.global_setting_versions p WHERE p.name = g.name AND p.version = $2), true), "
        "  updated_at = now(), updated_by = $3 "
        "WHERE g.name = $1 RETURNING g.is_sensitive",
        name, previous, actor);
    record_version(tx, name, key, written[0][0].as<int>(), updated[0][0].as<bool>());
    admin_audit::record(tx, actor, "setting.rollback", name,
                        {{"version", written[0][0].as<int>()}, {"to_version", previous}});
    notify(tx, name);
    return RollbackOutcome::Done;
  });
}

std::map<std::string, std::string> SettingsStore::values(const std::vector<std::string>& names,
                                                         const std::string& actor) {
  return in_global_tx(databases_, actor, [&](pqxx::work& tx) {
    nlohmann::json list = names;
    auto rows = tx.exec_params(
        "SELECT g.name, secrets.get_secret(g.secret_key, 'integration') AS clear "
        "FROM secretsd.global_settings g "
        "WHERE g.name IN (SELECT jsonb_array_elements_text($1::jsonb))",
        list.dump());
    std::map<std::string, std::string> out;
    for (const auto& row : rows) {
      if (!row["clear"].is_null()) out[row["name"].as<std::string>()] = row["clear"].as<std::string>();
    }
    return out;
  });
}

}  // namespace secretsd::providers
