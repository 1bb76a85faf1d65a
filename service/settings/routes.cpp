// Handlers for provider settings and runtimes (relay handlers: relay.cpp).
// Every change (save, delete, rollback) and the restarts it causes run under
// one lock per process, so two saves never restart the same runtime at once.
#include "settings/routes.h"

#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "app.h"
#include "http/json_io.h"
#include "http/server.h"
#include "auth/router.h"
#include "auth/validation.h"
#include "settings/grants.h"
#include "settings/names.h"
#include "settings/options.h"
#include "settings/probe.h"
#include "settings/registry.h"
#include "settings/relay.h"
#include "settings/restarter.h"
#include "settings/store.h"

namespace secretsd {
namespace {

using namespace settings;
using nlohmann::json;

constexpr std::size_t kMaxValueBytes = 32768;
constexpr std::size_t kMaxDescriptionChars = 1000;

// The long-lived state of these routes, shared by their handlers.
struct SettingsService {
  SettingsService(App& app, db::ConnectionPool& pool, SettingsOptions opts, RuntimesFile file)
      : app(app),
        options(std::move(opts)),
        store(pool),
        registry(pool, std::move(file)),
        grants(pool),
        restarter(options.command_dirs, options.restart_timeout, options.parallelism) {}

  App& app;
  const SettingsOptions options;
  SettingsStore store;
  RuntimeRegistry registry;
  SettingGrants grants;
  const Restarter restarter;
  std::mutex changes;
};
using Service = std::shared_ptr<SettingsService>;

json outcomes_json(const std::vector<RestartOutcome>& outcomes) {
  json out = json::array();
  for (const auto& o : outcomes) out.push_back(o.to_json());
  return out;
}

// The {name} path segment when it is a valid setting name; else nullopt
// (unknown names cannot exist, so callers answer 404 or 400).
std::optional<std::string> path_name(const http::Exchange& ex) {
  std::string name = ex.req.matches.size() > 1 ? ex.req.matches[1].str() : std::string();
  if (!valid_setting_name(name)) return std::nullopt;
  return name;
}

void list_settings(const Service& s, http::Exchange& ex, const Caller&) {
  json data = json::array();
  for (const auto& v : s->store.list()) data.push_back(v.to_json());
  http::json_response(ex.res, 200, {{"data", data}});
}

void get_setting(const Service& s, http::Exchange& ex, const Caller&) {
  auto name = path_name(ex);
  auto view = name ? s->store.get(*name) : std::nullopt;
  if (!view) return http::error_response(ex.res, 404, "Setting not found");
  http::json_response(ex.res, 200, {{"data", view->to_json()}});
}

struct SaveRequest {
  std::string value;
  bool is_sensitive = true;
  std::optional<std::string> description;
  bool canary = false;
};

// The PUT body, or nullopt with a 400 already sent. Messages never echo input.
std::optional<SaveRequest> parse_save(http::Exchange& ex) {
  auto body = http::parse_json_object(ex.body);
  if (!body) {
    http::error_response(ex.res, 400, "The body must be a JSON object");
    return std::nullopt;
  }
  SaveRequest r;
  auto value = http::get_string_field(*body, "value");
  if (!value.ok() || value.value.empty() || value.value.size() > kMaxValueBytes) {
    http::error_response(ex.res, 400, "value must be a non-empty string of at most 32768 bytes");
    return std::nullopt;
  }
  r.value = std::move(value.value);
  auto sensitive = http::get_bool_field(*body, "is_sensitive");
  if (sensitive.status == http::FieldStatus::WrongType || sensitive.status == http::FieldStatus::Null) {
    http::error_response(ex.res, 400, "is_sensitive must be a boolean");
    return std::nullopt;
  }
  if (sensitive.ok()) r.is_sensitive = sensitive.value;
  auto description = http::get_string_field(*body, "description");
  if (description.status == http::FieldStatus::WrongType) {
    http::error_response(ex.res, 400, "description must be a string");
    return std::nullopt;
  }
  if (description.ok()) {
    if (description.value.size() > kMaxDescriptionChars * 4 ||
        json(description.value).get<std::string>().size() > kMaxDescriptionChars) {
      http::error_response(ex.res, 400, "description must be at most 1000 characters");
      return std::nullopt;
    }
    r.description = std::move(description.value);
  }
  auto canary = http::get_bool_field(*body, "canary");
  if (canary.status == http::FieldStatus::WrongType) {
    http::error_response(ex.res, 400, "canary must be a boolean");
    return std::nullopt;
  }
  r.canary = canary.ok() && canary.value;
  return r;
}

void put_setting(const Service& s, http::Exchange& ex, const Caller& caller) {
  auto name = path_name(ex);
  if (!name) {
    return http::error_response(ex.res, 400,
                                "Setting names must match ^[A-Za-z][A-Za-z0-9_.-]{0,127}$");
  }
  auto req = parse_save(ex);
  if (!req) return;
  const std::string actor = caller.actor();

  std::lock_guard<std::mutex> lock(s->changes);
  const SettingPolicy policy = s->registry.policy(*name);
  if (!policy.probe.empty()) {
    process::ChildOutcome probe = run_probe(policy.probe, *name, req->value, s->restarter.timeout());
    if (!probe.ok()) {
      // Nothing stored, nothing restarted.
      return http::error_response(ex.res, 422, "Validation probe rejected the value");
    }
  }

  auto saved = s->store.save(*name, req->value, req->is_sensitive, req->description, actor);
  const auto consumers = s->registry.consumers(*name);
  std::vector<RestartOutcome> outcomes;
  std::vector<Runtime> rest = consumers;
  if ((req->canary || policy.canary) && !consumers.empty()) {
    // One runtime first; the fleet only follows if it comes back healthy.
    RestartOutcome first = s->restarter.restart(consumers.front(), *name);
    if (first.status != "ok") {
      s->store.rollback(*name, actor, /*delete_if_none=*/true);
      RestartOutcome again = s->restarter.restart(consumers.front(), *name);
      s->registry.record({again}, *name);
      json body = {{"statusCode", 409},
                   {"message", "The canary runtime failed with the new value; the setting was rolled back"},
                   {"data", {{"name", *name}, {"rolled_back", true},
                             {"canary", first.to_json()}, {"canary_after_rollback", again.to_json()}}}};
      return http::json_response(ex.res, 409, body);
    }
    outcomes.push_back(first);
    rest.erase(rest.begin());
  }
  for (auto& o : s->restarter.restart_all(rest, *name)) outcomes.push_back(std::move(o));
  s->registry.record(outcomes, *name);

  json data = saved.view.to_json();
  data["restarts"] = outcomes_json(outcomes);
  http::json_response(ex.res, saved.created ? 201 : 200, {{"data", data}});
}

void delete_setting(const Service& s, http::Exchange& ex, const Caller& caller) {
  auto name = path_name(ex);
  std::lock_guard<std::mutex> lock(s->changes);
  if (!name || !s->store.remove(*name, caller.actor())) {
    return http::error_response(ex.res, 404, "Setting not found");
  }
  auto outcomes = s->restarter.restart_all(s->registry.consumers(*name), *name);
  s->registry.record(outcomes, *name);
  http::json_response(ex.res, 200,
                      {{"data", {{"name", *name}, {"deleted", true}, {"restarts", outcomes_json(outcomes)}}}});
}

void rollback_setting(const Service& s, http::Exchange& ex, const Caller& caller) {
  auto name = path_name(ex);
  if (!name) return http::error_response(ex.res, 404, "Setting not found");
  std::lock_guard<std::mutex> lock(s->changes);
  switch (s->store.rollback(*name, caller.actor())) {
    case SettingsStore::RollbackOutcome::NotFound:
      return http::error_response(ex.res, 404, "Setting not found");
    case SettingsStore::RollbackOutcome::NoPrevious:
      return http::error_response(ex.res, 409, "No previous value to roll back to");
    case SettingsStore::RollbackOutcome::Done: break;
  }
  auto outcomes = s->restarter.restart_all(s->registry.consumers(*name), *name);
  s->registry.record(outcomes, *name);
  auto view = s->store.get(*name);
  json data = view ? view->to_json() : json{{"name", *name}};
  data["restarts"] = outcomes_json(outcomes);
  http::json_response(ex.res, 200, {{"data", data}});
}

void list_runtimes(const Service& s, http::Exchange& ex, const Caller&) {
  auto last = s->registry.last_outcomes();
  json data = json::array();
  for (const auto& r : s->registry.all()) {
    json item = runtime_json(r);
    auto it = last.find(r.id);
    item["last_restart"] = it == last.end() ? json(nullptr) : it->second;
    data.push_back(std::move(item));
  }
  http::json_response(ex.res, 200, {{"data", data}});
}

void register_runtime(const Service& s, http::Exchange& ex, const Caller& caller) {
  auto body = http::parse_json_object(ex.body);
  if (!body) return http::error_response(ex.res, 400, "The body must be a JSON object");
  auto parsed = parse_runtime(*body, /*trusted=*/false, s->options.command_dirs);
  if (auto* e = std::get_if<PolicyError>(&parsed)) {
    return http::error_response(ex.res, e->status, e->message);
  }
  Runtime runtime = std::get<Runtime>(std::move(parsed));
  runtime.app_id = caller.app_id;
  // Consuming a setting means reading it (runtime-env): only what the admin
  // granted this app. Setting names are validated, so naming one is safe.
  auto granted = s->grants.of(caller.app_id);
  auto missing = granted ? ungranted(runtime.settings, *granted) : runtime.settings;
  if (!missing.empty()) {
    return http::error_response(ex.res, 403,
                                "This app may not consume setting \"" + missing.front() +
                                    "\"; the admin grants it with PUT /api/v0/admin/apps/{id}/settings");
  }
  switch (s->registry.register_runtime(runtime, caller.app_id)) {
    case RuntimeRegistry::Registered::Conflict:
      return http::error_response(
          ex.res, 409, "A runtime with that id belongs to another app or to the configuration file");
    case RuntimeRegistry::Registered::Created:
      return http::json_response(ex.res, 201, {{"data", runtime_json(runtime)}});
    case RuntimeRegistry::Registered::Updated:
      return http::json_response(ex.res, 200, {{"data", runtime_json(runtime)}});
  }
}

// By design the one endpoint that returns setting values in clear: to the
// app that registered the runtime (or the file's "app_id" for it).
void runtime_env(const Service& s, http::Exchange& ex, const Caller& caller) {
  const std::string id = ex.req.get_param_value("runtime_id");
  if (!valid_runtime_id(id)) return http::error_response(ex.res, 400, "runtime_id is required");
  auto runtime = s->registry.find(id);
  if (!runtime || runtime->app_id.empty() || runtime->app_id != caller.app_id) {
    return http::error_response(ex.res, 404, "Runtime not found");
  }
  // An API runtime reads only what its app is still granted (a grant may
  // have been withdrawn since it registered); file runtimes are the operator's.
  std::vector<std::string> readable = runtime->settings;
  if (!runtime->from_config) {
    auto granted = s->grants.of(caller.app_id);
    readable = granted ? granted_only(readable, *granted) : std::vector<std::string>{};
  }
  json env = json::object();
  for (const auto& [name, value] : s->store.values(readable, caller.actor())) {
    env[env_var_name(name)] = value;
  }
  http::json_response(ex.res, 200, {{"env", env}});
}

// The {id} path capture when it is a valid app id; else answers 404.
std::optional<std::string> path_app_id(http::Exchange& ex) {
  std::string id = ex.req.matches.size() > 1 ? ex.req.matches[1].str() : std::string();
  if (is_valid_app_id(id)) return id;
  http::error_response(ex.res, 404, "App not found");
  return std::nullopt;
}

void send_app_grants(const Service& s, http::Exchange& ex, const std::string& app_id) {
  auto names = s->grants.of(app_id);
  if (!names) return http::error_response(ex.res, 404, "App not found");
  http::json_response(ex.res, 200, {{"app_id", app_id}, {"settings", *names}});
}

void get_app_grants(const Service& s, http::Exchange& ex, const Caller&) {
  if (auto app_id = path_app_id(ex)) send_app_grants(s, ex, *app_id);
}

// Body {"settings": [names]}: replaces the app's grants ([] withdraws all).
void put_app_grants(const Service& s, http::Exchange& ex, const Caller&) {
  constexpr std::size_t kMaxGrants = 1000;
  auto app_id = path_app_id(ex);
  if (!app_id) return;
  auto body = http::parse_json_object(ex.body);
  if (!body) return http::error_response(ex.res, 400, "The body must be a JSON object");
  auto it = body->find("settings");
  bool ok = it != body->end() && it->is_array() && it->size() <= kMaxGrants;
  std::vector<std::string> names;
  for (std::size_t i = 0; ok && i < it->size(); ++i) {
    ok = (*it)[i].is_string() && valid_setting_name((*it)[i].get<std::string>());
    if (ok) names.push_back((*it)[i].get<std::string>());
  }
  if (!ok) return http::error_response(ex.res, 400, "settings must be an array of setting names");
  if (!s->grants.replace(*app_id, names)) return http::error_response(ex.res, 404, "App not found");
  send_app_grants(s, ex, *app_id);
}

}  // namespace

void register_settings_routes(Router& router) {
  App& app = router.app();
  if (!app.pool) throw std::runtime_error("register_settings_routes needs the connection pool");
  SettingsOptions options = load_settings_options(process_environment());
  RuntimesFile file;
  if (!options.runtimes_file.empty()) file = load_runtimes_file(options.runtimes_file);
  auto s = std::make_shared<SettingsService>(app, *app.pool, std::move(options), std::move(file));

  // Every handler here takes (service, ex, caller).
  using Handler = void (*)(const Service&, http::Exchange&, const Caller&);
  auto as = [s](Handler handler) {
    return [s, handler](http::Exchange& ex, const Caller& caller) { handler(s, ex, caller); };
  };
  const std::string name = "/api/v0/admin/settings/([^/]+)";
  router.get("/api/v0/admin/settings", Access::Admin, as(list_settings));
  router.get(name, Access::Admin, as(get_setting));
  router.put(name, Access::Admin, as(put_setting));
  router.del(name, Access::Admin, as(delete_setting));
  router.post(name + "/rollback", Access::Admin, as(rollback_setting));
  router.get("/api/v0/admin/runtimes", Access::Admin, as(list_runtimes));
  router.post("/internal/runtimes", Access::App, as(register_runtime));
  router.get("/internal/runtime-env", Access::App, as(runtime_env));
  const std::string grants = "/api/v0/admin/apps/([^/]+)/settings";
  router.get(grants, Access::Admin, as(get_app_grants));
  router.put(grants, Access::Admin, as(put_app_grants));

  const std::string blob = "/api/v0/nodes/([^/]+)/settings-blob";
  const std::size_t max_blob = s->options.blob_max_bytes;
  // Any caller; the relay answers 404 unless it is the node or its household.
  router.put(blob, Access::AnyCaller, [&app, max_blob](http::Exchange& ex, const Caller& caller) {
    settings::put_settings_blob(ex, app, caller, max_blob);
  });
  router.get(blob, Access::AnyCaller, [&app](http::Exchange& ex, const Caller& caller) {
    settings::get_settings_blob(ex, app, caller);
  });
}

}  // namespace secretsd
