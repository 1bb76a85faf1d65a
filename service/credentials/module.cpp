#include "credentials/module.h"

#include <utility>

#include "api/router.h"
#include "identity/tokens.h"

namespace secretsd::credentials {

CredentialsModule::CredentialsModule(db::Databases& databases,
                                     identity::CredentialAuthenticator& authenticator,
                                     std::string credential_pepper)
    : databases_(databases),
      authenticator_(authenticator),
      credential_pepper_(std::move(credential_pepper)) {}

std::string CredentialsModule::credential_hash(const std::string& secret) const {
  return identity::credential_hash(credential_pepper_, secret);
}

void CredentialsModule::register_routes(api::Router& router) {
  using api::Access;
  using api::Request;
  // A handler that needs no more of the caller than its route's access.
  auto route = [this](api::Reply (CredentialsModule::*handler)(const Request&)) {
    return [this, handler](const Request& req, const api::Caller&) { return (this->*handler)(req); };
  };
  // A handler that records who acted.
  auto as = [this](api::Reply (CredentialsModule::*handler)(const Request&, const api::Caller&)) {
    return [this, handler](const Request& req, const api::Caller& caller) {
      return (this->*handler)(req, caller);
    };
  };
  // Only an app asks: users, nodes and the admin get 403.
  router.post("/internal/validate-app", Access::App, route(&CredentialsModule::validate_app));
  router.post("/internal/validate-node", Access::App, route(&CredentialsModule::validate_node));

  const std::string apps = "/api/v0/admin/apps";
  const std::string nodes = "/api/v0/admin/nodes";
  router.post(apps, Access::Admin, as(&CredentialsModule::create_app));
  router.post(apps + "/([^/]+)/rotate", Access::Admin, as(&CredentialsModule::rotate_app));
  router.del(apps + "/([^/]+)", Access::Admin, as(&CredentialsModule::revoke_app));
  router.put(apps + "/([^/]+)/households", Access::Admin,
             as(&CredentialsModule::set_app_households));
  router.post(nodes, Access::Admin, as(&CredentialsModule::create_node));
  router.post(nodes + "/([^/]+)/rotate", Access::Admin, as(&CredentialsModule::rotate_node));
  router.del(nodes + "/([^/]+)", Access::Admin, as(&CredentialsModule::revoke_node));
}

}  // namespace secretsd::credentials
