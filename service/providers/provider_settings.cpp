#include "providers/provider_settings.h"

#include <mutex>
#include <utility>

#include "providers/probe.h"

namespace secretsd::providers {

Applied ProviderSettings::apply(const std::string& name, const SaveRequest& request,
                                const std::string& actor) {
  Applied applied;
  std::lock_guard<std::mutex> lock(runtimes_.changes_lock());
  const runtimes::SettingPolicy policy = runtimes_.policy(name);
  if (!policy.probe.empty()) {
    ChildOutcome probe = run_probe(policy.probe, name, request.value, runtimes_.timeout());
    if (!probe.ok()) {
      // Nothing stored, nothing restarted.
      applied.result = Applied::Result::ProbeRejected;
      return applied;
    }
  }

  applied.saved = store_.save(name, request.value, request.is_sensitive, request.description, actor);
  const auto consumers = runtimes_.consumers(name);
  std::vector<runtimes::Runtime> rest = consumers;
  if ((request.canary || policy.canary) && !consumers.empty()) {
    // One runtime first; the fleet only follows if it comes back healthy.
    runtimes::RestartOutcome first = runtimes_.restart(consumers.front(), name);
    if (first.status != "ok") {
      store_.rollback(name, actor, /*delete_if_none=*/true);
      runtimes::RestartOutcome again = runtimes_.restart(consumers.front(), name);
      runtimes_.record({again}, name, actor);
      applied.result = Applied::Result::CanaryFailed;
      applied.canary = std::move(first);
      applied.canary_after_rollback = std::move(again);
      return applied;
    }
    applied.restarts.push_back(first);
    rest.erase(rest.begin());
  }
  for (auto& o : runtimes_.restart_all(rest, name)) applied.restarts.push_back(std::move(o));
  runtimes_.record(applied.restarts, name, actor);
  return applied;
}

std::optional<std::vector<runtimes::RestartOutcome>> ProviderSettings::remove(
    const std::string& name, const std::string& actor) {
  std::lock_guard<std::mutex> lock(runtimes_.changes_lock());
  if (!store_.remove(name, actor)) return std::nullopt;
  return runtimes_.restart_consumers(name, actor);
}

RolledBack ProviderSettings::rollback(const std::string& name, const std::string& actor) {
  RolledBack rolled;
  std::lock_guard<std::mutex> lock(runtimes_.changes_lock());
  rolled.outcome = store_.rollback(name, actor);
  if (rolled.outcome != SettingsStore::RollbackOutcome::Done) return rolled;
  rolled.restarts = runtimes_.restart_consumers(name, actor);
  rolled.view = store_.get(name);
  return rolled;
}

}  // namespace secretsd::providers
