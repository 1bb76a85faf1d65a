#include "runtimes/restarter.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "metrics/metrics.h"
#include "process/child_process.h"
#include "http/client.h"
#include "runtimes/runtimes.h"

namespace secretsd::runtimes {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

}  // namespace

RestartOutcome Restarter::run_command(const Runtime& runtime, const std::string& setting) const {
  RestartOutcome out{runtime.id, "failed", 0, ""};
  std::vector<std::string> argv = runtime.command;
  if (!runtime.from_config) {
    // Checked again now: the directory list or the file may have changed
    // since registration. The resolved path is what runs.
    auto exe = allowed_executable(argv[0], command_dirs_);
    if (!exe) {
      out.status = "skipped";
      out.message = "restart command is not an executable in an allowed directory";
      return out;
    }
    argv[0] = *exe;
  }
  auto env = process::base_child_environment();
  env.push_back("PGSECRETS_RUNTIME_ID=" + runtime.id);
  env.push_back("PGSECRETS_SETTING_NAME=" + setting);
  process::ChildProcess child(process::ChildMode::Isolated, argv, env);
  process::ChildOutcome result = child.wait(timeout_);
  if (result.ok()) {
    out.status = "ok";
  } else {
    out.status = result.kind == process::ChildOutcome::Kind::TimedOut ? "timeout" : "failed";
    out.message = "restart command " + result.describe();
  }
  return out;
}

RestartOutcome Restarter::call_url(const Runtime& runtime, const std::string& setting) const {
  RestartOutcome out{runtime.id, "failed", 0, ""};
  auto url = parse_loopback_url(runtime.url);
  if (!url) {
    out.status = "skipped";
    out.message = "restart URL is not on loopback";
    return out;
  }
  const auto start = Clock::now();
  nlohmann::json body = {{"runtime_id", runtime.id}, {"setting", setting}};
  auto status = http::post_json(http::Target{url->host, url->port, url->path}, body.dump(), timeout_);
  if (!status) {
    bool overran = ms_since(start) >= timeout_.count();
    out.status = overran ? "timeout" : "failed";
    out.message = overran ? "restart URL did not answer in time" : "restart URL unreachable";
  } else if (*status >= 200 && *status < 300) {
    out.status = "ok";
  } else {
    out.message = "restart URL answered HTTP " + std::to_string(*status);
  }
  return out;
}

bool Restarter::healthy(const std::string& health_url) const {
  auto url = parse_loopback_url(health_url);
  if (!url) return false;
  const auto deadline = Clock::now() + timeout_;
  while (Clock::now() < deadline) {
    auto status =
        http::get(http::Target{url->host, url->port, url->path}, std::chrono::milliseconds(std::min<long long>(timeout_.count(), 2000)));
    if (status && *status >= 200 && *status < 300) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

RestartOutcome Restarter::restart(const Runtime& runtime, const std::string& setting) const {
  const auto start = Clock::now();
  RestartOutcome out = runtime.command.empty() ? call_url(runtime, setting)
                                               : run_command(runtime, setting);
  if (out.status == "ok" && !runtime.health_url.empty() && !healthy(runtime.health_url)) {
    out.status = "failed";
    out.message = "health check failed";
  }
  out.duration_ms = ms_since(start);
  metrics::global().restart_outcome(out.status);  // a fixed word: ok, failed, timeout, skipped
  return out;
}

std::vector<RestartOutcome> Restarter::restart_all(const std::vector<Runtime>& runtimes,
                                                   const std::string& setting) const {
  std::vector<RestartOutcome> outcomes(runtimes.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < runtimes.size(); i = next++) {
      outcomes[i] = restart(runtimes[i], setting);
    }
  };
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(parallelism_), runtimes.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();  // this thread works too
  for (auto& t : threads) t.join();
  return outcomes;
}

}  // namespace secretsd::runtimes
