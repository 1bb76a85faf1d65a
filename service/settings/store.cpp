#include "settings/store.h"

#include <chrono>

#include <pqxx/pqxx>

#include "db/tx.h"
#include "settings/masking.h"
#include "settings/names.h"

namespace secretsd::settings {
namespace {

constexpr std::chrono::milliseconds kPoolWait{2000};

// The clear value of a row, decrypted inside the database; a
// sensitive one only as far as masking needs it in this process.
constexpr const char* kSelectColumns =
    "name, is_sensitive, "
    "CASE WHEN is_sensitive THEN secrets.decrypt_secret(value_cipher, $1::uuid, "
    "'global_setting:' || name) ELSE value END AS clear, description, "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS updated_at, "
    "updated_by, has_previous";

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

void log_and_notify(pqxx::work& tx, const std::string& name, const std::string& action,
                    const std::string& actor) {
  tx.exec_params(
      "INSERT INTO secretsd.global_settings_log (setting_name, action, actor) VALUES ($1, $2, $3)",
      name, action, actor);
  // The payload is the name only: listeners re-read what they need.
  tx.exec_params("SELECT pg_notify($1, $2)", std::string(kNotifyChannel), name);
}

template <typename Fn>
auto in_global_tx(db::ConnectionPool& pool, const std::string& actor, Fn&& fn) {
  db::Lease lease = pool.acquire(kPoolWait);
  return db::with_household_tx(lease, kGlobalHousehold, actor, "", std::forward<Fn>(fn));
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
  return in_global_tx(pool_, "admin", [&](pqxx::work& tx) {
    auto rows = tx.exec_params(std::string("SELECT ") + kSelectColumns +
                                   " FROM secretsd.global_settings ORDER BY name",
                               std::string(kGlobalHousehold));
    std::vector<SettingView> out;
    for (const auto& row : rows) out.push_back(view_of(row));
    return out;
  });
}

std::optional<SettingView> SettingsStore::get(const std::string& name) {
  return in_global_tx(pool_, "admin", [&](pqxx::work& tx) -> std::optional<SettingView> {
    auto rows = tx.exec_params(std::string("SELECT ") + kSelectColumns +
                                   " FROM secretsd.global_settings WHERE name = $2",
                               std::string(kGlobalHousehold), name);
    if (rows.empty()) return std::nullopt;
    return view_of(rows[0]);
  });
}

SettingsStore::Saved SettingsStore::save(const std::string& name, const std::string& value,
                                         bool is_sensitive,
                                         const std::optional<std::string>& description,
                                         const std::string& actor) {
  return in_global_tx(pool_, actor, [&](pqxx::work& tx) {
    // The previous value is re-encrypted when the setting becomes
    // sensitive, so turning sensitivity on leaves no clear copy behind.
    auto rows = tx.exec_params(
        "INSERT INTO secretsd.global_settings AS g "
        "  (name, is_sensitive, value, value_cipher, description, updated_by) "
        "VALUES ($1, $3, CASE WHEN $3 THEN NULL ELSE $2 END, "
        "        CASE WHEN $3 THEN secrets.encrypt_secret($2, $6::uuid, 'global_setting:' || $1) END, "
        "        $4, $5) "
        "ON CONFLICT (name) DO UPDATE SET "
        "  is_sensitive = EXCLUDED.is_sensitive, value = EXCLUDED.value, "
        "  value_cipher = EXCLUDED.value_cipher, "
        "  description = COALESCE($4, g.description), updated_at = now(), updated_by = $5, "
        "  has_previous = true, "
        "  previous_is_sensitive = g.is_sensitive OR EXCLUDED.is_sensitive, "
        "  previous_value = CASE WHEN g.is_sensitive OR EXCLUDED.is_sensitive THEN NULL ELSE g.value END, "
        "  previous_value_cipher = CASE WHEN g.is_sensitive THEN g.value_cipher "
        "    WHEN EXCLUDED.is_sensitive THEN secrets.encrypt_secret(g.value, $6::uuid, 'global_setting:' || $1) END "
        "RETURNING (xmax = 0) AS created",
        name, value, is_sensitive, description, actor, std::string(kGlobalHousehold));
    Saved saved;
    saved.created = rows[0]["created"].as<bool>();
    log_and_notify(tx, name, saved.created ? "create" : "update", actor);
    auto row = tx.exec_params(std::string("SELECT ") + kSelectColumns +
                                  " FROM secretsd.global_settings WHERE name = $2",
                              std::string(kGlobalHousehold), name);
    saved.view = view_of(row[0]);
    return saved;
  });
}

bool SettingsStore::remove(const std::string& name, const std::string& actor) {
  return in_global_tx(pool_, actor, [&](pqxx::work& tx) {
    auto rows = tx.exec_params(
        "DELETE FROM secretsd.global_settings WHERE name = $1 RETURNING name", name);
    if (rows.empty()) return false;
    log_and_notify(tx, name, "delete", actor);
    return true;
  });
}

SettingsStore::RollbackOutcome SettingsStore::rollback(const std::string& name,
                                                      const std::string& actor,
                                                      const std::string& action,
                                                      bool delete_if_none) {
  return in_global_tx(pool_, actor, [&](pqxx::work& tx) {
    auto current = tx.exec_params(
        "SELECT has_previous FROM secretsd.global_settings WHERE name = $1 FOR UPDATE", name);
    if (current.empty()) return RollbackOutcome::NotFound;
    if (!current[0][0].as<bool>()) {
      if (!delete_if_none) return RollbackOutcome::NoPrevious;
      tx.exec_params("DELETE FROM secretsd.global_settings WHERE name = $1", name);
      log_and_notify(tx, name, action, actor);
      return RollbackOutcome::Done;
    }
    // A swap: both sides were encrypted under the same context, so the
    // ciphertexts move without being decrypted. In an UPDATE every
    // right-hand side sees the old row, so the swap is exact.
    tx.exec_params(
        "UPDATE secretsd.global_settings SET "
        "  is_sensitive = previous_is_sensitive, value = previous_value, "
        "  value_cipher = previous_value_cipher, "
        "  previous_is_sensitive = is_sensitive, previous_value = value, "
        "  previous_value_cipher = value_cipher, updated_at = now(), updated_by = $2 "
        "WHERE name = $1",
        name, actor);
    log_and_notify(tx, name, action, actor);
    return RollbackOutcome::Done;
  });
}

std::map<std::string, std::string> SettingsStore::values(const std::vector<std::string>& names,
                                                         const std::string& actor) {
  return in_global_tx(pool_, actor, [&](pqxx::work& tx) {
    nlohmann::json list = names;
    auto rows = tx.exec_params(
        std::string("SELECT ") + kSelectColumns +
            " FROM secretsd.global_settings "
            "WHERE name IN (SELECT jsonb_array_elements_text($2::jsonb))",
        std::string(kGlobalHousehold), list.dump());
    std::map<std::string, std::string> out;
    for (const auto& row : rows) out[row["name"].as<std::string>()] = row["clear"].as<std::string>();
    return out;
  });
}

}  // namespace secretsd::settings
