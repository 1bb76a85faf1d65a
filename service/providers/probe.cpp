#include "providers/probe.h"

namespace secretsd::providers {

process::ChildOutcome run_probe(const std::vector<std::string>& argv,
                                const std::string& setting_name, const std::string& candidate,
                                std::chrono::milliseconds timeout) {
  auto env = process::base_child_environment();
  env.push_back("PGSECRETS_SETTING_NAME=" + setting_name);
  process::ChildProcess child(process::ChildMode::Isolated, argv, env, candidate);
  return child.wait(timeout);
}

}  // namespace secretsd::providers
