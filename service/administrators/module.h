// Who administers the instance: people (users with instance_admin) sign in
// like anyone else and manage provider settings, apps, nodes and runtimes
// (Access::Admin). This module lists, appoints and removes them:
//   GET    /api/v0/admin/instance-admins
//   POST   /api/v0/admin/instance-admins            {"email": "..."}
//   DELETE /api/v0/admin/instance-admins/{user_id}
// The first one is appointed with the break-glass ADMIN_API_KEY (README
// "People and roles"); each change is in the admin audit with who made it.
#pragma once

#include "api/caller.h"
#include "api/reply.h"
#include "api/request.h"

namespace secretsd::api {
class Router;
}
namespace secretsd::db {
class Databases;
}

namespace secretsd::administrators {

class AdministratorsModule {
 public:
  explicit AdministratorsModule(db::Databases& databases);
  AdministratorsModule(const AdministratorsModule&) = delete;
  AdministratorsModule& operator=(const AdministratorsModule&) = delete;

  void register_routes(api::Router& router);

 private:
  api::Reply list(const api::Request& req, const api::Caller& caller);
  api::Reply appoint(const api::Request& req, const api::Caller& caller);
  api::Reply remove(const api::Request& req, const api::Caller& caller);

  db::Databases& databases_;
};

}  // namespace secretsd::administrators
