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

#include "db/databases.h"
#include "runtimes/runtime.h"
#include "runtimes/runtimes.h"

namespace secretsd::runtimes {

class RuntimeRegistry {
 public:
  RuntimeRegistry(db::Databases& databases, RuntimesFile file)
      : databases_(databases), file_(std::move(file)) {}

  // Conflict: the id belongs to the file or to another app.
  Registration register_runtime(const Runtime& r, const std::string& app_id);

  std::optional<Runtime> find(const std::string& id);
  std::vector<Runtime> all();
  // Those consuming `setting`, file runtimes first, then by id.
  std::vector<Runtime> consumers(const std::string& setting);

  SettingPolicy policy(const std::string& setting) const;

  // Each runtime's last restart, and one admin audit entry naming who caused
  // them (`actor`), in one transaction.
  void record(const std::vector<RestartOutcome>& outcomes, const std::string& setting,
              const std::string& actor);
  // runtime id -> {status, message, duration_ms, setting, at}
  std::map<std::string, nlohmann::json> last_outcomes();

 private:
  std::vector<Runtime> stored(const std::string& where, const std::string& arg);

  db::Databases& databases_;
  const RuntimesFile file_;
};

}  // namespace secretsd::runtimes
