// Admin endpoints for app and node credentials (Access::Admin: the
// X-Admin-Key header; without ADMIN_API_KEY they do not exist, 404).
// New keys are returned once; only their keyed hashes are stored.
#include "app.h"
#include "auth/credential_store.h"
#include "auth/route_support.h"
#include "auth/tokens.h"
#include "auth/validation.h"
#include "crypto/keyed_hash.h"
#include "http/ascii.h"
#include "http/json_io.h"
#include "metrics/metrics.h"

namespace secretsd {
namespace {

constexpr std::size_t kMaxDescriptionBytes = 500;
constexpr std::size_t kMaxHouseholdsPerApp = 1000;

using credential_store::WriteOutcome;

bool read_description(http::Exchange& ex, const nlohmann::json& body, std::string& out) {
  if (!optional_string(ex, body, "description", out)) return false;
  if (out.size() <= kMaxDescriptionBytes) return true;
  http::error_response(ex.res, 400, "description must be at most 500 bytes");
  return false;
}

// household_ids: an array of UUID strings (lower-cased); absent = none
// unless `required`.
bool read_household_ids(http::Exchange& ex, const nlohmann::json& body, bool required,
                        std::vector<std::string>& out) {
  auto it = body.find("household_ids");
  if (it == body.end() || it->is_null()) {
    if (!required) return true;
    http::error_response(ex.res, 400, "household_ids is required");
    return false;
  }
  bool ok = it->is_array() && it->size() <= kMaxHouseholdsPerApp;
  for (std::size_t i = 0; ok && i < it->size(); ++i) {
    const auto& id = (*it)[i];
    ok = id.is_string() && is_uuid(id.get<std::string>());
    if (ok) out.push_back(http::ascii_lower(id.get<std::string>()));
  }
  if (!ok) http::error_response(ex.res, 400, "household_ids must be an array of household ids");
  return ok;
}

// Maps a store outcome that is not Ok to its response; true when Ok.
bool outcome_ok(http::Exchange& ex, WriteOutcome outcome, const char* what) {
  switch (outcome) {
    case WriteOutcome::Ok: return true;
    case WriteOutcome::NotFound:
      http::error_response(ex.res, 404, std::string(what) + " not found");
      return false;
    case WriteOutcome::Conflict:
      http::error_response(ex.res, 409, std::string(what) + " already exists");
      return false;
    case WriteOutcome::UnknownHousehold:
      http::error_response(ex.res, 400, "Unknown household");
      return false;
  }
  return false;
}

// The {id} path capture when it is a valid app id, else answers 404.
std::optional<std::string> app_id_from_path(http::Exchange& ex) {
  std::string id = ex.req.matches[1];
  if (is_valid_app_id(id)) return id;
  http::error_response(ex.res, 404, "App not found");
  return std::nullopt;
}

std::optional<std::string> node_id_from_path(http::Exchange& ex) {
  std::string id = ex.req.matches[1];
  if (is_valid_node_id(id)) return id;
  http::error_response(ex.res, 404, "Node not found");
  return std::nullopt;
}

// ---- apps ---------------------------------------------------------------------

void create_app(http::Exchange& ex, App& app) {
  auto body = parse_body(ex);
  if (!body) return;
  std::string app_id, description;
  std::vector<std::string> households;
  if (!require_string(ex, *body, "app_id", app_id) || !read_description(ex, *body, description) ||
      !read_household_ids(ex, *body, false, households)) {
    return;
  }
  if (!is_valid_app_id(app_id)) {
    http::error_response(ex.res, 400, "app_id must match ^[a-z0-9][a-z0-9._-]{0,63}$");
    return;
  }
  const std::string key = generate_token(32);
  auto lease = app.connection();
  auto outcome = credential_store::create_app(lease, app_id, credential_hash(app, key),
                                              description, households);
  if (!outcome_ok(ex, outcome, "App")) return;
  http::json_response(ex.res, 201,
                      {{"app_id", app_id}, {"app_key", key}, {"household_ids", households}});
}

void rotate_app(http::Exchange& ex, App& app) {
  auto app_id = app_id_from_path(ex);
  if (!app_id) return;
  const std::string key = generate_token(32);
  auto lease = app.connection();
  if (!outcome_ok(ex, credential_store::rotate_app(lease, *app_id, credential_hash(app, key)),
                  "App")) {
    return;
  }
  http::json_response(ex.res, 200, {{"app_id", *app_id}, {"app_key", key}});
}

void revoke_app(http::Exchange& ex, App& app) {
  auto app_id = app_id_from_path(ex);
  if (!app_id) return;
  auto lease = app.connection();
  if (outcome_ok(ex, credential_store::revoke_app(lease, *app_id), "App")) no_content(ex);
}

void set_app_households(http::Exchange& ex, App& app) {
  auto app_id = app_id_from_path(ex);
  if (!app_id) return;
  auto body = parse_body(ex);
  if (!body) return;
  std::vector<std::string> households;
  if (!read_household_ids(ex, *body, true, households)) return;
  auto lease = app.connection();
  if (!outcome_ok(ex, credential_store::set_app_households(lease, *app_id, households), "App")) {
    return;
  }
  http::json_response(ex.res, 200, {{"app_id", *app_id}, {"household_ids", households}});
}

// ---- nodes --------------------------------------------------------------------

void create_node(http::Exchange& ex, App& app) {
  auto body = parse_body(ex);
  if (!body) return;
  std::string node_id, household_id, description;
  if (!require_string(ex, *body, "node_id", node_id) ||
      !require_string(ex, *body, "household_id", household_id) ||
      !read_description(ex, *body, description)) {
    return;
  }
  if (!is_valid_node_id(node_id)) {
    http::error_response(ex.res, 400, "node_id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
    return;
  }
  if (!is_uuid(household_id)) {
    http::error_response(ex.res, 400, "household_id must be a household id");
    return;
  }
  household_id = http::ascii_lower(household_id);
  const std::string key = generate_token(32);
  auto lease = app.connection();
  auto outcome = credential_store::create_node(lease, node_id, household_id,
                                               credential_hash(app, key), description);
  if (!outcome_ok(ex, outcome, "Node")) return;
  http::json_response(ex.res, 201,
                      {{"node_id", node_id}, {"household_id", household_id}, {"api_key", key}});
}

void rotate_node(http::Exchange& ex, App& app) {
  auto node_id = node_id_from_path(ex);
  if (!node_id) return;
  const std::string key = generate_token(32);
  std::string household_id;
  auto lease = app.connection();
  auto outcome =
      credential_store::rotate_node(lease, *node_id, credential_hash(app, key), household_id);
  if (!outcome_ok(ex, outcome, "Node")) return;
  http::json_response(ex.res, 200,
                      {{"node_id", *node_id}, {"household_id", household_id}, {"api_key", key}});
}

void revoke_node(http::Exchange& ex, App& app) {
  auto node_id = node_id_from_path(ex);
  if (!node_id) return;
  auto lease = app.connection();
  if (outcome_ok(ex, credential_store::revoke_node(lease, *node_id), "Node")) no_content(ex);
}

}  // namespace

void register_admin_routes(Router& router) {
  const std::string apps = "/api/v0/admin/apps";
  const std::string nodes = "/api/v0/admin/nodes";
  router.post(apps, Access::Admin, router.with_app(create_app));
  router.post(apps + "/([^/]+)/rotate", Access::Admin, router.with_app(rotate_app));
  router.del(apps + "/([^/]+)", Access::Admin, router.with_app(revoke_app));
  router.put(apps + "/([^/]+)/households", Access::Admin, router.with_app(set_app_households));
  router.post(nodes, Access::Admin, router.with_app(create_node));
  router.post(nodes + "/([^/]+)/rotate", Access::Admin, router.with_app(rotate_node));
  router.del(nodes + "/([^/]+)", Access::Admin, router.with_app(revoke_node));
}

}  // namespace secretsd
