#include "settings/options.h"

#include <sstream>
#include <stdexcept>

namespace secretsd::settings {
namespace {

long long int_var(const GetenvFn& getenv_fn, const std::string& name, long long fallback,
                  long long min, long long max) {
  auto raw = getenv_fn(name);
  if (!raw || raw->empty()) return fallback;
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(*raw, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != raw->size() || v < min || v > max) {
    throw std::runtime_error(name + " must be an integer from " + std::to_string(min) + " to " +
                             std::to_string(max));
  }
  return v;
}

}  // namespace

SettingsOptions load_settings_options(const GetenvFn& getenv_fn) {
  SettingsOptions o;
  if (auto file = getenv_fn("SECRETSD_RUNTIMES_FILE")) o.runtimes_file = *file;
  if (auto dirs = getenv_fn("SECRETSD_RUNTIME_COMMAND_DIRS")) {
    std::stringstream in(*dirs);
    std::string dir;
    while (std::getline(in, dir, ':')) {
      if (dir.empty()) continue;
      // A relative entry would depend on secretsd's working directory.
      if (dir[0] != '/') {
        throw std::runtime_error("SECRETSD_RUNTIME_COMMAND_DIRS must list absolute directories");
      }
      o.command_dirs.push_back(dir);
    }
  }
  o.restart_timeout = std::chrono::milliseconds(
      int_var(getenv_fn, "SECRETSD_RESTART_TIMEOUT_MS", 10000, 100, 600000));
  o.parallelism = static_cast<int>(int_var(getenv_fn, "SECRETSD_RESTART_PARALLELISM", 4, 1, 64));
  o.blob_max_bytes = static_cast<std::size_t>(
      int_var(getenv_fn, "SECRETSD_SETTINGS_BLOB_MAX_BYTES", 64 << 10, 1, 16 << 20));
  return o;
}

}  // namespace secretsd::settings
