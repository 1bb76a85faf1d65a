// Provider settings: metadata in secretsd.global_settings, every value a
// secret of the extension (household kGlobalHousehold, scope integration,
// key global_settings.secret_key), so the extension's keyring, rotation,
// kept versions and audit log cover them. Reads (masked), saves, deletes
// and rollbacks (to the previous kept version), each announced with NOTIFY
// pgsecrets_settings '<name>' in the same transaction. Values always travel
// as bind parameters and are encrypted inside the database.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/databases.h"

namespace secretsd::providers {

inline constexpr const char* kNotifyChannel = "pgsecrets_settings";

// The reserved household whose integration secrets are the global
// settings' values (migrations/0005_settings_in_keyring.sql).
inline constexpr const char* kGlobalHousehold = "00000000-0000-0000-0000-000000000000";

struct SettingView {
  std::string name;
  std::string value;  // masked when sensitive
  bool is_sensitive = false;
  std::optional<std::string> description;
  std::string updated_at;
  std::string updated_by;
  bool has_previous = false;
  nlohmann::json to_json() const;
};

class SettingsStore {
 public:
  explicit SettingsStore(db::Databases& databases) : databases_(databases) {}

  std::vector<SettingView> list();
  std::optional<SettingView> get(const std::string& name);

  struct Saved {
    SettingView view;
    bool created = false;
  };
  // `description` nullopt keeps the current one.
  Saved save(const std::string& name, const std::string& value, bool is_sensitive,
             const std::optional<std::string>& description, const std::string& actor);
  // False when there was no such setting.
  bool remove(const std::string& name, const std::string& actor);

  enum class RollbackOutcome { Done, NotFound, NoPrevious };
  // Makes the previous kept version's value current again, as a new
  // version (so a second rollback redoes). With no previous version and
  // `delete_if_none` (a canary failure on a new setting), deletes the
  // setting instead.
  RollbackOutcome rollback(const std::string& name, const std::string& actor,
                           bool delete_if_none = false);

  // Clear values of those of `names` that exist, for runtime-env.
  std::map<std::string, std::string> values(const std::vector<std::string>& names,
                                            const std::string& actor);

 private:
  db::Databases& databases_;
};

}  // namespace secretsd::providers
