// Runtime supervision: the processes that consume provider settings
// (voice, chat, WhatsApp workers), where they are defined (the operator's
// SECRETSD_RUNTIMES_FILE and secretsd.runtimes, registered by apps), how
// each is restarted when a setting it consumes changes, and the outcome of
// its last restart. README.md in this folder has the rules.
//
//   GET /api/v0/admin/runtimes   admin: runtimes and their last restart
//
// providers/ drives it: a setting's policy (probe, canary), its consumers,
// their restarts, and the registrations and lookups behind
// POST /internal/runtimes and GET /internal/runtime-env (which need the
// app's grants and the setting values, providers' own).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/router.h"
#include "config/config.h"
#include "db/databases.h"
#include "runtimes/names.h"
#include "runtimes/runtime.h"

namespace secretsd::runtimes {

struct RuntimesOptions {
  std::string runtimes_file;              // empty: none
  std::vector<std::string> command_dirs;  // empty: no API command runtimes
  // Per runtime restart, per health check, and per validation probe.
  std::chrono::milliseconds restart_timeout{10000};
  int parallelism = 4;  // runtimes restarted at once

  // SECRETSD_RUNTIMES_FILE, SECRETSD_RUNTIME_COMMAND_DIRS,
  // SECRETSD_RESTART_TIMEOUT_MS and SECRETSD_RESTART_PARALLELISM as
  // load_config parsed them.
  static RuntimesOptions from(const Config& config);
};

class RuntimeRegistry;
class Restarter;

class RuntimesModule {
 public:
  // Reads the runtimes file (if any); throws std::runtime_error (a message
  // naming the file, safe to print) when it is unreadable or invalid. Opens
  // no database connection.
  RuntimesModule(db::Databases& databases, RuntimesOptions options);
  ~RuntimesModule();
  RuntimesModule(const RuntimesModule&) = delete;
  RuntimesModule& operator=(const RuntimesModule&) = delete;

  void register_routes(api::Router& router);

  // Held by every setting change and the restarts it causes, so two
  // changes never restart the same runtime at once (per process).
  std::mutex& changes_lock() { return changes_; }

  // The file's probe and canary for `setting` (none: empty, false).
  SettingPolicy policy(const std::string& setting) const;
  // The runtimes consuming `setting`, file runtimes first, then by id.
  std::vector<Runtime> consumers(const std::string& setting);
  // One runtime (restart command or URL, then its health_url). Not recorded.
  RestartOutcome restart(const Runtime& runtime, const std::string& setting) const;
  // Outcomes in the order of `runtimes`, SECRETSD_RESTART_PARALLELISM at a
  // time. Not recorded.
  std::vector<RestartOutcome> restart_all(const std::vector<Runtime>& runtimes,
                                          const std::string& setting) const;
  // Stores each runtime's last outcome (shown by GET /api/v0/admin/runtimes).
  void record(const std::vector<RestartOutcome>& outcomes, const std::string& setting,
              const std::string& actor);
  // restart_all of consumers(setting), recorded; the outcomes.
  std::vector<RestartOutcome> restart_consumers(const std::string& setting, const std::string& actor);
  // SECRETSD_RESTART_TIMEOUT_MS: also the bound of a validation probe.
  std::chrono::milliseconds timeout() const { return options_.restart_timeout; }

  // A runtime definition sent by an app (untrusted: a command must be an
  // executable under SECRETSD_RUNTIME_COMMAND_DIRS), or the refusal.
  std::variant<Runtime, PolicyError> parse_registration(const nlohmann::json& body) const;
  Registration register_runtime(const Runtime& runtime, const std::string& app_id);
  std::optional<Runtime> find(const std::string& id);
  // The JSON an admin or the registering app sees (argv and URLs are not secrets).
  static nlohmann::json to_json(const Runtime& runtime);

 private:
  api::Reply list_runtimes(const api::Request& req, const api::Caller& caller);

  const RuntimesOptions options_;
  std::unique_ptr<RuntimeRegistry> registry_;
  std::unique_ptr<Restarter> restarter_;
  std::mutex changes_;
};

}  // namespace secretsd::runtimes
