// Provider settings (README.md in this folder):
//
//   GET    /api/v0/admin/settings                    admin: every setting, sensitive ones masked
//   GET    /api/v0/admin/settings/{name}             admin: one setting, masked
//   PUT    /api/v0/admin/settings/{name}             admin: create/replace, probe, restart consumers
//   DELETE /api/v0/admin/settings/{name}             admin: delete, restart consumers
//   POST   /api/v0/admin/settings/{name}/rollback    admin: back to the previous value, restart
//   GET|PUT /api/v0/admin/apps/{id}/settings         admin: the settings an app may consume
//   POST   /internal/runtimes                        app: register (or update own) runtime
//   GET    /internal/runtime-env?runtime_id=ID       app: the env a runtime starts with
//
// The two /internal routes are here, not in runtimes/, because both are
// decided by the app's grants and the second returns setting values. The
// runtimes themselves (definitions, restarts, the lock that serialises
// changes) are runtimes/module.h's.
#pragma once

#include <memory>

#include "api/router.h"
#include "db/databases.h"
#include "runtimes/module.h"

namespace secretsd::providers {

class ProviderSettings;
class SettingGrants;

class ProvidersModule {
 public:
  // Opens no database connection.
  ProvidersModule(db::Databases& databases, runtimes::RuntimesModule& runtimes);
  ~ProvidersModule();
  ProvidersModule(const ProvidersModule&) = delete;
  ProvidersModule& operator=(const ProvidersModule&) = delete;

  void register_routes(api::Router& router);

 private:
  api::Reply list_settings(const api::Request& req, const api::Caller& caller);
  api::Reply get_setting(const api::Request& req, const api::Caller& caller);
  api::Reply put_setting(const api::Request& req, const api::Caller& caller);
  api::Reply delete_setting(const api::Request& req, const api::Caller& caller);
  api::Reply rollback_setting(const api::Request& req, const api::Caller& caller);
  api::Reply register_runtime(const api::Request& req, const api::Caller& caller);
  api::Reply runtime_env(const api::Request& req, const api::Caller& caller);
  api::Reply get_app_grants(const api::Request& req, const api::Caller& caller);
  api::Reply put_app_grants(const api::Request& req, const api::Caller& caller);
  api::Reply app_grants(const std::string& app_id);

  runtimes::RuntimesModule& runtimes_;
  std::unique_ptr<ProviderSettings> settings_;
  std::unique_ptr<SettingGrants> grants_;
};

}  // namespace secretsd::providers
