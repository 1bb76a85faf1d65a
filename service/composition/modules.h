// secretsd's feature modules, each built from exactly what it needs: the
// composition that main() serves, and that the route-table and OpenAPI
// tests list, so that what they check is what is served. No module
// includes this file; it includes each module's public header only.
#pragma once

#include <memory>

#include "config/config.h"

namespace secretsd::db {
class Databases;
}
namespace secretsd::events {
class ChangeHub;
}
namespace secretsd::api {
class Router;
class Authenticator;
struct AccessPolicy;
}

namespace secretsd::composition {

class Modules {
 public:
  // `hub` serves the change streams (started by the caller, or never, in
  // tests that only list routes). Builds every module; opens no connection.
  Modules(const Config& config, db::Databases& databases, events::ChangeHub& hub);
  ~Modules();
  Modules(const Modules&) = delete;
  Modules& operator=(const Modules&) = delete;

  // Who checks credentials, and what the access rules need of the config:
  // the router's two inputs.
  api::Authenticator& authenticator();
  static api::AccessPolicy access_policy(const Config& config);

  // Every route, each module registering its own. The console is left out
  // when SECRETSD_WEB_DIR has no settings.html (the API is complete).
  void register_routes(api::Router& router);
  bool console_available() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace secretsd::composition
