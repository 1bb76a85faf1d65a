// Which provider settings each app may consume (secretsd.app_setting_grants):
// an app registers runtimes, and reads their environment, only for the
// settings the admin granted it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "db/databases.h"

namespace secretsd::providers {

class SettingGrants {
 public:
  explicit SettingGrants(db::Databases& databases) : databases_(databases) {}

  // The app's granted setting names, sorted; nullopt if there is no such
  // (unrevoked) app.
  std::optional<std::vector<std::string>> of(const std::string& app_id);

  // Replaces the app's grants with `names` (valid setting names, duplicates
  // allowed); false if there is no such (unrevoked) app.
  bool replace(const std::string& app_id, const std::vector<std::string>& names);

 private:
  db::Databases& databases_;
};

// The names in `wanted` that `granted` (sorted) lacks / holds, in wanted's
// order.
std::vector<std::string> ungranted(const std::vector<std::string>& wanted,
                                   const std::vector<std::string>& granted);
std::vector<std::string> granted_only(const std::vector<std::string>& wanted,
                                      const std::vector<std::string>& granted);

}  // namespace secretsd::providers
