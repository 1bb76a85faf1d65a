// App and node credentials: the admin endpoints that issue, rotate and
// revoke them (/api/v0/admin/{apps,nodes}, Access::Admin: an instance admin,
// or the break-glass X-Admin-Key; each change is in the admin audit with
// who made it), and the internal
// endpoints through which another service, itself an app, asks whether
// credentials it was shown are valid (/internal/validate-{app,node}).
// New keys are returned once; only their keyed hashes are stored.
#pragma once

#include <string>

#include "api/caller.h"
#include "api/reply.h"
#include "api/request.h"

namespace secretsd::api {
class Router;
}
namespace secretsd::db {
class Databases;
}
namespace secretsd::identity {
class CredentialAuthenticator;
}

namespace secretsd::credentials {

class CredentialsModule {
 public:
  // `authenticator` checks presented node and app keys (the same check as
  // authentication's); `credential_pepper`:
  // identity::derive_credential_pepper(AUTH_SECRET_KEY), the key of the
  // stored hashes of the keys issued here.
  CredentialsModule(db::Databases& databases, identity::CredentialAuthenticator& authenticator,
                    std::string credential_pepper);
  CredentialsModule(const CredentialsModule&) = delete;
  CredentialsModule& operator=(const CredentialsModule&) = delete;

  void register_routes(api::Router& router);

 private:
  // internal_routes.cpp
  api::Reply validate_app(const api::Request& req);
  api::Reply validate_node(const api::Request& req);
  // admin_routes.cpp
  api::Reply create_app(const api::Request& req, const api::Caller& caller);
  api::Reply rotate_app(const api::Request& req, const api::Caller& caller);
  api::Reply revoke_app(const api::Request& req, const api::Caller& caller);
  api::Reply set_app_households(const api::Request& req, const api::Caller& caller);
  api::Reply create_node(const api::Request& req, const api::Caller& caller);
  api::Reply rotate_node(const api::Request& req, const api::Caller& caller);
  api::Reply revoke_node(const api::Request& req, const api::Caller& caller);

  std::string credential_hash(const std::string& secret) const;

  db::Databases& databases_;
  identity::CredentialAuthenticator& authenticator_;
  const std::string credential_pepper_;
};

}  // namespace secretsd::credentials
