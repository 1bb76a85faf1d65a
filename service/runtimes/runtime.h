// The values of the runtimes module's API (runtimes/module.h): a runtime,
// the policy of a setting its consumers follow, a refused registration, and
// the outcome of one restart.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace secretsd::runtimes {

struct Runtime {
  std::string id;
  std::vector<std::string> settings;  // names consumed
  std::vector<std::string> command;   // argv; empty for a URL runtime
  std::string url;                    // restart URL; empty for a command runtime
  std::string health_url;             // optional
  bool from_config = false;
  std::string app_id;                 // registering app (API) / allowed reader (file)
  bool consumes(const std::string& setting) const;
};

// From SECRETSD_RUNTIMES_FILE only.
struct SettingPolicy {
  std::vector<std::string> probe;  // argv; empty: no probe
  bool canary = false;
};

// An error to answer with: status + fixed message (never echoes input).
struct PolicyError {
  int status = 400;
  std::string message;
};

struct RestartOutcome {
  std::string runtime_id;
  std::string status;  // ok | failed | timeout | skipped
  long long duration_ms = 0;
  std::string message;  // fixed texts and exit statuses only, never output
  nlohmann::json to_json() const;
};

// Registering a runtime through the API. Conflict: the id belongs to the
// file or to another app.
enum class Registration { Created, Updated, Conflict };

}  // namespace secretsd::runtimes
