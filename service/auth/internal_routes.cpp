// POST /internal/validate-app and /internal/validate-node: another service,
// itself authenticated with app credentials, asks whether credentials it was
// shown are valid. Valid -> 200 {"valid":true, identity...}; invalid -> 401
// (the Jarvis auth service's behaviour), with the usual error body.
#include "app.h"
#include "auth/api_keys.h"
#include "auth/route_support.h"
#include "http/json_io.h"

namespace secretsd {
namespace {

void handle_validate_app(http::Exchange& ex, App& app) {
  auto body = parse_body(ex);
  if (!body) return;
  std::string app_id, app_key;
  if (!require_string(ex, *body, "app_id", app_id) ||
      !require_string(ex, *body, "app_key", app_key)) {
    return;
  }
  auto validated = check_app_key(app, app_id, app_key);
  if (!validated) {
    http::error_response(ex.res, 401, "Invalid app credentials");
    return;
  }
  http::json_response(ex.res, 200, {{"valid", true}, {"app_id", validated->app_id}});
}

// {node_id, api_key} or {api_key: "node_id:api_key"} (the X-API-Key form).
std::optional<NodeApiKey> read_node_credentials(http::Exchange& ex) {
  auto body = parse_body(ex);
  if (!body) return std::nullopt;
  NodeApiKey key;
  if (!optional_string(ex, *body, "node_id", key.node_id) ||
      !require_string(ex, *body, "api_key", key.api_key)) {
    return std::nullopt;
  }
  if (!key.node_id.empty()) return key;
  auto combined = parse_node_api_key(key.api_key);
  return combined ? *combined : NodeApiKey{};
}

void handle_validate_node(http::Exchange& ex, App& app) {
  auto key = read_node_credentials(ex);
  if (!key) return;
  auto validated = check_node_key(app, key->node_id, key->api_key);
  if (!validated) {
    http::error_response(ex.res, 401, "Invalid node credentials");
    return;
  }
  http::json_response(ex.res, 200,
                      {{"valid", true},
                       {"node_id", validated->node_id},
                       {"household_id", validated->household_id}});
}

}  // namespace

// Only an app asks: users, nodes and the admin get 403.
void register_internal_routes(Router& router) {
  router.post("/internal/validate-app", Access::App, router.with_app(handle_validate_app));
  router.post("/internal/validate-node", Access::App, router.with_app(handle_validate_node));
}

}  // namespace secretsd
