// The environment variables of provider settings and runtime restarts.
// Read once at start-up; a bad value stops the service (messages never
// repeat a variable's value).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"

namespace secretsd::settings {

struct SettingsOptions {
  // SECRETSD_RUNTIMES_FILE: JSON file of trusted runtimes and per-setting
  // probes/canary (see runtimes.h). Empty: none.
  std::string runtimes_file;
  // SECRETSD_RUNTIME_COMMAND_DIRS (colon-separated absolute directories):
  // where the executable of an API-registered command runtime must live.
  // Empty: API-registered command runtimes are refused.
  std::vector<std::string> command_dirs;
  // SECRETSD_RESTART_TIMEOUT_MS (100..600000, default 10000): per runtime
  // restart, per health check, and per validation probe.
  std::chrono::milliseconds restart_timeout{10000};
  // SECRETSD_RESTART_PARALLELISM (1..64, default 4): runtimes restarted at once.
  int parallelism = 4;
  // Relay blobs above this are refused with 413 (SECRETSD_SETTINGS_BLOB_MAX_BYTES,
  // 1..16 MiB, default 64 KiB). The server's body cap applies first.
  std::size_t blob_max_bytes = 64u << 10;
};

// Throws std::runtime_error naming the variable.
SettingsOptions load_settings_options(const GetenvFn& getenv_fn);

}  // namespace secretsd::settings
