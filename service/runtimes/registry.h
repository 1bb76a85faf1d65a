// Every runtime this server knows: the trusted ones from
// SECRETSD_RUNTIMES_FILE (kept in memory) and the ones apps registered
// (in secretsd.runtimes, shared by all replicas), plus the outcome of each
// runtime's last restart (secretsd.runtime_restarts).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/pool.h"
#include "settings/runtimes.h"

namespace secretsd::settings {

struct RestartOutcome {
  std::string runtime_id;
  std::string status;  // ok | failed | timeout | skipped
  long long duration_ms = 0;
  std::string message;  // fixed texts and exit statuses only, never output
  nlohmann::json to_json() const;
};

class RuntimeRegistry {
 public:
  RuntimeRegistry(db::ConnectionPool& pool, RuntimesFile file)
      : pool_(pool), file_(std::move(file)) {}

  enum class Registered { Created, Updated, Conflict };
  // Conflict: the id belongs to the file or to another app.
  Registered register_runtime(const Runtime& r, const std::string& app_id);

  std::optional<Runtime> find(const std::string& id);
  std::vector<Runtime> all();
  // Those consuming `setting`, file runtimes first, then by id.
  std::vector<Runtime> consumers(const std::string& setting);

  SettingPolicy policy(const std::string& setting) const;

  void record(const std::vector<RestartOutcome>& outcomes, const std::string& setting);
  // runtime id -> {status, message, duration_ms, setting, at}
  std::map<std::string, nlohmann::json> last_outcomes();

 private:
  std::vector<Runtime> stored(const std::string& where, const std::string& arg);

  db::ConnectionPool& pool_;
  const RuntimesFile file_;
};

}  // namespace secretsd::settings
