// POST /internal/validate-app and /internal/validate-node: another service,
// itself authenticated with app credentials, asks whether credentials it was
// shown are valid. Valid -> 200 {"valid":true, identity...}; invalid -> 401
// (the Jarvis auth service's behaviour), with the usual error body.
#include <string>

#include <nlohmann/json.hpp>

#include "api/readers.h"
#include "credentials/module.h"
#include "identity/api_keys.h"
#include "identity/authenticator.h"

namespace secretsd::credentials {
namespace {

using api::Reply;
using identity::NodeApiKey;

// {node_id, api_key} or {api_key: "node_id:api_key"} (the X-API-Key form).
NodeApiKey read_node_credentials(const api::Request& req) {
  const nlohmann::json body = api::json_body(req).value();
  NodeApiKey key;
  key.node_id = api::optional_string(body, "node_id").value().value_or("");
  key.api_key = api::required_string(body, "api_key").value();
  if (!key.node_id.empty()) return key;
  auto combined = identity::parse_node_api_key(key.api_key);
  return combined ? *combined : NodeApiKey{};
}

}  // namespace

Reply CredentialsModule::validate_app(const api::Request& req) {
  const nlohmann::json body = api::json_body(req).value();
  const std::string app_id = api::required_string(body, "app_id").value();
  const std::string app_key = api::required_string(body, "app_key").value();
  auto validated = authenticator_.check_app_key(app_id, app_key);
  if (!validated) return Reply::error({401, "Invalid app credentials"});
  return Reply::json(200, {{"valid", true}, {"app_id", validated->app_id}});
}

Reply CredentialsModule::validate_node(const api::Request& req) {
  const NodeApiKey key = read_node_credentials(req);
  auto validated = authenticator_.check_node_key(key.node_id, key.api_key);
  if (!validated) return Reply::error({401, "Invalid node credentials"});
  return Reply::json(200, {{"valid", true},
                           {"node_id", validated->node_id},
                           {"household_id", validated->household_id}});
}

}  // namespace secretsd::credentials
