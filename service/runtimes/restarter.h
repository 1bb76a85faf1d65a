// The restarter behind RuntimesModule::restart_all (runtimes/module.h):
// restarts every runtime consuming a setting, at most `parallelism` at a
// time, each bounded by `timeout` (a command's whole process group is
// killed when it overruns), then checks its health_url.
// A runtime picks the new value up by reading GET /internal/runtime-env as
// it starts; nothing here passes a value to it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "runtimes/runtime.h"

namespace secretsd::runtimes {

class Restarter {
 public:
  Restarter(std::vector<std::string> command_dirs, std::chrono::milliseconds timeout,
            int parallelism)
      : command_dirs_(std::move(command_dirs)), timeout_(timeout), parallelism_(parallelism) {}

  // One runtime: its restart command (argv, no shell; env has only PATH,
  // PGSECRETS_RUNTIME_ID and PGSECRETS_SETTING_NAME) or a POST to its
  // loopback URL, then its health_url until 2xx (within `timeout`).
  RestartOutcome restart(const Runtime& runtime, const std::string& setting) const;

  // Outcomes in the order of `runtimes`.
  std::vector<RestartOutcome> restart_all(const std::vector<Runtime>& runtimes,
                                          const std::string& setting) const;

  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  RestartOutcome run_command(const Runtime& runtime, const std::string& setting) const;
  RestartOutcome call_url(const Runtime& runtime, const std::string& setting) const;
  bool healthy(const std::string& health_url) const;

  const std::vector<std::string> command_dirs_;
  const std::chrono::milliseconds timeout_;
  const int parallelism_;
};

}  // namespace secretsd::runtimes
