// Handlers for provider settings, app grants and the apps' runtime routes.
// The changes themselves (probe, canary, restarts, rollback) are
// ProviderSettings' (provider_settings.h).
#include "providers/module.h"

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "api/readers.h"
#include "identity/validation.h"
#include "http/json_io.h"
#include "providers/grants.h"
#include "providers/provider_settings.h"

namespace secretsd::providers {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxValueBytes = 32768;
constexpr std::size_t kMaxDescriptionChars = 1000;
constexpr const char* kNotAnObject = "The body must be a JSON object";

json outcomes_json(const std::vector<runtimes::RestartOutcome>& outcomes) {
  json out = json::array();
  for (const auto& o : outcomes) out.push_back(o.to_json());
  return out;
}

// The {name} path segment when it is a valid setting name; else nullopt
// (unknown names cannot exist, so callers answer 404 or 400).
std::optional<std::string> path_name(const api::Request& req) {
  std::string name = req.path_capture(1);
  if (!runtimes::valid_setting_name(name)) return std::nullopt;
  return name;
}

api::ApiError setting_not_found() { return {404, "Setting not found"}; }

// The PUT body. Messages never echo input.
SaveRequest parse_save(const api::Request& req) {
  json body = api::json_body(req, kNotAnObject).value();
  SaveRequest r;
  auto value = http::get_string_field(body, "value");
  if (!value.ok() || value.value.empty() || value.value.size() > kMaxValueBytes) {
    throw api::ApiError(400, "value must be a non-empty string of at most 32768 bytes");
  }
  r.value = std::move(value.value);
  auto sensitive = http::get_bool_field(body, "is_sensitive");
  if (sensitive.status == http::FieldStatus::WrongType || sensitive.status == http::FieldStatus::Null) {
    throw api::ApiError(400, "is_sensitive must be a boolean");
  }
  if (sensitive.ok()) r.is_sensitive = sensitive.value;
  auto description = http::get_string_field(body, "description");
  if (description.status == http::FieldStatus::WrongType) {
    throw api::ApiError(400, "description must be a string");
  }
  if (description.ok()) {
    if (description.value.size() > kMaxDescriptionChars * 4 ||
        json(description.value).get<std::string>().size() > kMaxDescriptionChars) {
      throw api::ApiError(400, "description must be at most 1000 characters");
    }
    r.description = std::move(description.value);
  }
  auto canary = http::get_bool_field(body, "canary");
  if (canary.status == http::FieldStatus::WrongType) {
    throw api::ApiError(400, "canary must be a boolean");
  }
  r.canary = canary.ok() && canary.value;
  return r;
}

// The {id} path capture when it is a valid app id; else 404.
std::string path_app_id(const api::Request& req) {
  std::string id = req.path_capture(1);
  if (!identity::is_valid_app_id(id)) throw api::ApiError(404, "App not found");
  return id;
}

}  // namespace

ProvidersModule::ProvidersModule(db::Databases& databases, runtimes::RuntimesModule& runtimes)
    : runtimes_(runtimes),
      settings_(std::make_unique<ProviderSettings>(databases, runtimes)),
      grants_(std::make_unique<SettingGrants>(databases)) {}

ProvidersModule::~ProvidersModule() = default;

void ProvidersModule::register_routes(api::Router& router) {
  using Handler = api::Reply (ProvidersModule::*)(const api::Request&, const api::Caller&);
  auto as = [this](Handler handler) {
    return [this, handler](const api::Request& req, const api::Caller& caller) {
      return (this->*handler)(req, caller);
    };
  };
  const std::string name = "/api/v0/admin/settings/([^/]+)";
  router.get("/api/v0/admin/settings", api::Access::Admin, as(&ProvidersModule::list_settings));
  router.get(name, api::Access::Admin, as(&ProvidersModule::get_setting));
  router.put(name, api::Access::Admin, as(&ProvidersModule::put_setting));
  router.del(name, api::Access::Admin, as(&ProvidersModule::delete_setting));
  router.post(name + "/rollback", api::Access::Admin, as(&ProvidersModule::rollback_setting));
  router.post("/internal/runtimes", api::Access::App, as(&ProvidersModule::register_runtime));
  router.get("/internal/runtime-env", api::Access::App, as(&ProvidersModule::runtime_env));
  const std::string grants = "/api/v0/admin/apps/([^/]+)/settings";
  router.get(grants, api::Access::Admin, as(&ProvidersModule::get_app_grants));
  router.put(grants, api::Access::Admin, as(&ProvidersModule::put_app_grants));
}

api::Reply ProvidersModule::list_settings(const api::Request&, const api::Caller&) {
  json data = json::array();
  for (const auto& v : settings_->list()) data.push_back(v.to_json());
  return api::Reply::data(std::move(data));
}

api::Reply ProvidersModule::get_setting(const api::Request& req, const api::Caller&) {
  auto name = path_name(req);
  auto view = name ? settings_->get(*name) : std::nullopt;
  if (!view) return api::Reply::error(setting_not_found());
  return api::Reply::data(view->to_json());
}

api::Reply ProvidersModule::put_setting(const api::Request& req, const api::Caller& caller) {
  auto name = path_name(req);
  if (!name) {
    return api::Reply::error({400, "Setting names must match ^[A-Za-z][A-Za-z0-9_.-]{0,127}$"});
  }
  const SaveRequest request = parse_save(req);
  Applied applied = settings_->apply(*name, request, caller.actor());
  switch (applied.result) {
    case Applied::Result::ProbeRejected:
      return api::Reply::error({422, "Validation probe rejected the value"});
    case Applied::Result::CanaryFailed: {
      json body = {{"statusCode", 409},
                   {"message", "The canary runtime failed with the new value; the setting was rolled back"},
                   {"data", {{"name", *name}, {"rolled_back", true},
                             {"canary", applied.canary.to_json()},
                             {"canary_after_rollback", applied.canary_after_rollback.to_json()}}}};
      return api::Reply::json(409, body);
    }
    case Applied::Result::Saved: break;
  }
  json data = applied.saved.view.to_json();
  data["restarts"] = outcomes_json(applied.restarts);
  return api::Reply::json(applied.saved.created ? 201 : 200, {{"data", data}});
}

api::Reply ProvidersModule::delete_setting(const api::Request& req, const api::Caller& caller) {
  auto name = path_name(req);
  auto outcomes = name ? settings_->remove(*name, caller.actor()) : std::nullopt;
  if (!outcomes) return api::Reply::error(setting_not_found());
  return api::Reply::data({{"name", *name}, {"deleted", true}, {"restarts", outcomes_json(*outcomes)}});
}

api::Reply ProvidersModule::rollback_setting(const api::Request& req, const api::Caller& caller) {
  auto name = path_name(req);
  if (!name) return api::Reply::error(setting_not_found());
  RolledBack rolled = settings_->rollback(*name, caller.actor());
  switch (rolled.outcome) {
    case SettingsStore::RollbackOutcome::NotFound:
      return api::Reply::error(setting_not_found());
    case SettingsStore::RollbackOutcome::NoPrevious:
      return api::Reply::error({409, "No previous value to roll back to"});
    case SettingsStore::RollbackOutcome::Done: break;
  }
  json data = rolled.view ? rolled.view->to_json() : json{{"name", *name}};
  data["restarts"] = outcomes_json(rolled.restarts);
  return api::Reply::data(std::move(data));
}

api::Reply ProvidersModule::register_runtime(const api::Request& req, const api::Caller& caller) {
  json body = api::json_body(req, kNotAnObject).value();
  auto parsed = runtimes_.parse_registration(body);
  if (auto* e = std::get_if<runtimes::PolicyError>(&parsed)) {
    return api::Reply::error({e->status, e->message});
  }
  runtimes::Runtime runtime = std::get<runtimes::Runtime>(std::move(parsed));
  runtime.app_id = caller.app_id;
  // Consuming a setting means reading it (runtime-env): only what the admin
  // granted this app. Setting names are validated, so naming one is safe.
  auto granted = grants_->of(caller.app_id);
  auto missing = granted ? ungranted(runtime.settings, *granted) : runtime.settings;
  if (!missing.empty()) {
    return api::Reply::error({403, "This app may not consume setting \"" + missing.front() +
                                       "\"; the admin grants it with PUT /api/v0/admin/apps/{id}/settings"});
  }
  switch (runtimes_.register_runtime(runtime, caller.app_id)) {
    case runtimes::Registration::Conflict:
      return api::Reply::error(
          {409, "A runtime with that id belongs to another app or to the configuration file"});
    case runtimes::Registration::Created:
      return api::Reply::json(201, {{"data", runtimes::RuntimesModule::to_json(runtime)}});
    case runtimes::Registration::Updated: break;
  }
  return api::Reply::data(runtimes::RuntimesModule::to_json(runtime));
}

// By design the one endpoint that returns setting values in clear: to the
// app that registered the runtime (or the file's "app_id" for it).
api::Reply ProvidersModule::runtime_env(const api::Request& req, const api::Caller& caller) {
  const std::string id = req.query("runtime_id");
  if (!runtimes::valid_runtime_id(id)) return api::Reply::error({400, "runtime_id is required"});
  auto runtime = runtimes_.find(id);
  if (!runtime || runtime->app_id.empty() || runtime->app_id != caller.app_id) {
    return api::Reply::error({404, "Runtime not found"});
  }
  // An API runtime reads only what its app is still granted (a grant may
  // have been withdrawn since it registered); file runtimes are the operator's.
  std::vector<std::string> readable = runtime->settings;
  if (!runtime->from_config) {
    auto granted = grants_->of(caller.app_id);
    readable = granted ? granted_only(readable, *granted) : std::vector<std::string>{};
  }
  json env = json::object();
  for (const auto& [name, value] : settings_->values(readable, caller.actor())) {
    env[runtimes::env_var_name(name)] = value;
  }
  return api::Reply::json(200, {{"env", env}});
}

api::Reply ProvidersModule::app_grants(const std::string& app_id) {
  auto names = grants_->of(app_id);
  if (!names) return api::Reply::error({404, "App not found"});
  return api::Reply::json(200, {{"app_id", app_id}, {"settings", *names}});
}

api::Reply ProvidersModule::get_app_grants(const api::Request& req, const api::Caller&) {
  return app_grants(path_app_id(req));
}

// Body {"settings": [names]}: replaces the app's grants ([] withdraws all).
api::Reply ProvidersModule::put_app_grants(const api::Request& req, const api::Caller&) {
  constexpr std::size_t kMaxGrants = 1000;
  const std::string app_id = path_app_id(req);
  json body = api::json_body(req, kNotAnObject).value();
  auto it = body.find("settings");
  bool ok = it != body.end() && it->is_array() && it->size() <= kMaxGrants;
  std::vector<std::string> names;
  for (std::size_t i = 0; ok && i < it->size(); ++i) {
    ok = (*it)[i].is_string() && runtimes::valid_setting_name((*it)[i].get<std::string>());
    if (ok) names.push_back((*it)[i].get<std::string>());
  }
  if (!ok) return api::Reply::error({400, "settings must be an array of setting names"});
  if (!grants_->replace(app_id, names)) return api::Reply::error({404, "App not found"});
  return app_grants(app_id);
}

}  // namespace secretsd::providers
