// Provider settings as a service: every change (apply, delete, rollback)
// with its validation probe, its canary and the restarts it causes, in one
// class. Every change and its restarts run under the runtimes' lock
// (RuntimesModule::changes_lock), so two saves never restart the same
// runtime at once. No HTTP here: providers/module.cpp turns the results
// into answers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "db/databases.h"
#include "providers/store.h"
#include "runtimes/module.h"

namespace secretsd::providers {

struct SaveRequest {
  std::string value;
  bool is_sensitive = true;
  std::optional<std::string> description;  // nullopt keeps the current one
  bool canary = false;
};

struct Applied {
  enum class Result {
    Saved,          // stored; consumers restarted (`restarts`)
    ProbeRejected,  // the probe refused the value: nothing stored, nothing restarted
    CanaryFailed,   // the canary failed: rolled back (a new setting deleted), restarted again
  };
  Result result = Result::Saved;
  SettingsStore::Saved saved;                    // Saved
  std::vector<runtimes::RestartOutcome> restarts;  // Saved
  runtimes::RestartOutcome canary;                 // CanaryFailed
  runtimes::RestartOutcome canary_after_rollback;  // CanaryFailed
};

struct RolledBack {
  SettingsStore::RollbackOutcome outcome = SettingsStore::RollbackOutcome::NotFound;
  std::optional<SettingView> view;                 // Done (nullopt if gone since)
  std::vector<runtimes::RestartOutcome> restarts;  // Done
};

class ProviderSettings {
 public:
  ProviderSettings(db::Databases& databases, runtimes::RuntimesModule& runtimes)
      : store_(databases), runtimes_(runtimes) {}

  std::vector<SettingView> list() { return store_.list(); }
  std::optional<SettingView> get(const std::string& name) { return store_.get(name); }

  // Probes the value (the file's probe for `name`, if any), stores it and
  // restarts its consumers; with a canary (the request's or the file's) the
  // first consumer restarts alone, and the fleet follows only when it is ok.
  Applied apply(const std::string& name, const SaveRequest& request, const std::string& actor);

  // The consumers' restarts; nullopt when there was no such setting.
  std::optional<std::vector<runtimes::RestartOutcome>> remove(const std::string& name,
                                                              const std::string& actor);

  // Back to the previous kept value, then restarts the consumers.
  RolledBack rollback(const std::string& name, const std::string& actor);

  // Clear values of those of `names` that exist (GET /internal/runtime-env).
  std::map<std::string, std::string> values(const std::vector<std::string>& names,
                                            const std::string& actor) {
    return store_.values(names, actor);
  }

 private:
  SettingsStore store_;
  runtimes::RuntimesModule& runtimes_;
};

}  // namespace secretsd::providers
