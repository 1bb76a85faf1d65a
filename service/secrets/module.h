// The secrets REST API (/api/secrets): the household's secrets, through the
// extension's functions, for users, nodes and apps granted the household.
#pragma once

namespace secretsd::db {
class Databases;
}
namespace secretsd::api {
class Router;
}

namespace secretsd::secrets {

class SecretsModule {
 public:
  explicit SecretsModule(db::Databases& databases) : databases_(databases) {}

  void register_routes(api::Router& router);

 private:
  db::Databases& databases_;
};

}  // namespace secretsd::secrets
