// Who did what, named: the household audit (GET /api/audit, for owners,
// admins and auditors: the extension's hash-chained audit of the household
// through secrets.audit_entries) and the instance administrators' audit
// (GET /api/v0/admin/audit: settings, apps, nodes, runtime restarts,
// instance admins and break-glass uses, secretsd.admin_audit). Both page
// newest first with a cursor, filter by actor, action and time, show people
// by email and display name, and report whether their chain verifies.
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

namespace secretsd::audit {

class AuditModule {
 public:
  explicit AuditModule(db::Databases& databases);
  AuditModule(const AuditModule&) = delete;
  AuditModule& operator=(const AuditModule&) = delete;

  void register_routes(api::Router& router);

 private:
  api::Reply household_audit(const api::Request& req, const api::Caller& caller);
  api::Reply admin_audit(const api::Request& req, const api::Caller& caller);

  db::Databases& databases_;
};

}  // namespace secretsd::audit
