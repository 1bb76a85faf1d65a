#include "runtimes/module.h"

#include <utility>

#include "runtimes/registry.h"
#include "runtimes/restarter.h"
#include "runtimes/runtimes.h"

namespace secretsd::runtimes {
namespace {

RuntimesFile load_file(const std::string& path) {
  return path.empty() ? RuntimesFile{} : load_runtimes_file(path);
}

}  // namespace

RuntimesOptions RuntimesOptions::from(const Config& config) {
  RuntimesOptions options;
  options.runtimes_file = config.runtimes_file;
  options.command_dirs = config.runtime_command_dirs;
  options.restart_timeout = std::chrono::milliseconds(config.restart_timeout_ms);
  options.parallelism = config.restart_parallelism;
  return options;
}

RuntimesModule::RuntimesModule(db::Databases& databases, RuntimesOptions options)
    : options_(std::move(options)),
      registry_(std::make_unique<RuntimeRegistry>(databases, load_file(options_.runtimes_file))),
      restarter_(std::make_unique<Restarter>(options_.command_dirs, options_.restart_timeout,
                                             options_.parallelism)) {}

RuntimesModule::~RuntimesModule() = default;

void RuntimesModule::register_routes(api::Router& router) {
  router.get("/api/v0/admin/runtimes", api::Access::Admin,
             [this](const api::Request& req, const api::Caller& caller) {
               return list_runtimes(req, caller);
             });
}

api::Reply RuntimesModule::list_runtimes(const api::Request&, const api::Caller&) {
  auto last = registry_->last_outcomes();
  nlohmann::json data = nlohmann::json::array();
  for (const auto& r : registry_->all()) {
    nlohmann::json item = runtime_json(r);
    auto it = last.find(r.id);
    item["last_restart"] = it == last.end() ? nlohmann::json(nullptr) : it->second;
    data.push_back(std::move(item));
  }
  return api::Reply::data(std::move(data));
}

SettingPolicy RuntimesModule::policy(const std::string& setting) const {
  return registry_->policy(setting);
}

std::vector<Runtime> RuntimesModule::consumers(const std::string& setting) {
  return registry_->consumers(setting);
}

RestartOutcome RuntimesModule::restart(const Runtime& runtime, const std::string& setting) const {
  return restarter_->restart(runtime, setting);
}

std::vector<RestartOutcome> RuntimesModule::restart_all(const std::vector<Runtime>& runtimes,
                                                        const std::string& setting) const {
  return restarter_->restart_all(runtimes, setting);
}

void RuntimesModule::record(const std::vector<RestartOutcome>& outcomes,
                            const std::string& setting, const std::string& actor) {
  registry_->record(outcomes, setting, actor);
}

std::vector<RestartOutcome> RuntimesModule::restart_consumers(const std::string& setting,
                                                              const std::string& actor) {
  auto outcomes = restart_all(consumers(setting), setting);
  record(outcomes, setting, actor);
  return outcomes;
}

std::variant<Runtime, PolicyError> RuntimesModule::parse_registration(
    const nlohmann::json& body) const {
  return parse_runtime(body, /*trusted=*/false, options_.command_dirs);
}

Registration RuntimesModule::register_runtime(const Runtime& runtime, const std::string& app_id) {
  return registry_->register_runtime(runtime, app_id);
}

std::optional<Runtime> RuntimesModule::find(const std::string& id) { return registry_->find(id); }

nlohmann::json RuntimesModule::to_json(const Runtime& runtime) { return runtime_json(runtime); }

}  // namespace secretsd::runtimes
