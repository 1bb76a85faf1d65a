// Admin endpoints for app and node credentials (Access::Admin). New keys
// are returned once; only their keyed hashes are stored.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/readers.h"
#include "credentials/module.h"
#include "credentials/store.h"
#include "crypto/keyed_hash.h"
#include "db/databases.h"
#include "http/ascii.h"
#include "identity/validation.h"

namespace secretsd::credentials {
namespace {

using api::ApiError;
using api::Reply;
using store::WriteOutcome;

constexpr std::size_t kMaxDescriptionBytes = 500;
constexpr std::size_t kMaxHouseholdsPerApp = 1000;

std::string read_description(const nlohmann::json& body) {
  std::string description = api::optional_string(body, "description").value().value_or("");
  if (description.size() > kMaxDescriptionBytes) {
    throw ApiError(400, "description must be at most 500 bytes");
  }
  return description;
}

// household_ids: an array of UUID strings (lower-cased); absent = none
// unless `required`.
std::vector<std::string> read_household_ids(const nlohmann::json& body, bool required) {
  std::vector<std::string> out;
  auto it = body.find("household_ids");
  if (it == body.end() || it->is_null()) {
    if (required) throw ApiError(400, "household_ids is required");
    return out;
  }
  bool ok = it->is_array() && it->size() <= kMaxHouseholdsPerApp;
  for (std::size_t i = 0; ok && i < it->size(); ++i) {
    const auto& id = (*it)[i];
    ok = id.is_string() && identity::is_uuid(id.get<std::string>());
    if (ok) out.push_back(http::ascii_lower(id.get<std::string>()));
  }
  if (!ok) throw ApiError(400, "household_ids must be an array of household ids");
  return out;
}

// A store outcome that is not Ok, as its refusal.
void require_ok(WriteOutcome outcome, const char* what) {
  switch (outcome) {
    case WriteOutcome::Ok: return;
    case WriteOutcome::NotFound: throw ApiError(404, std::string(what) + " not found");
    case WriteOutcome::Conflict: throw ApiError(409, std::string(what) + " already exists");
    case WriteOutcome::UnknownHousehold: throw ApiError(400, "Unknown household");
  }
  throw ApiError(500, "Internal server error");
}

// The {id} path capture when it is a valid app id, else 404.
std::string app_id_from_path(const api::Request& req) {
  std::string id = req.path_capture(1);
  if (!identity::is_valid_app_id(id)) throw ApiError(404, "App not found");
  return id;
}

std::string node_id_from_path(const api::Request& req) {
  std::string id = req.path_capture(1);
  if (!identity::is_valid_node_id(id)) throw ApiError(404, "Node not found");
  return id;
}

}  // namespace

// ---- apps ---------------------------------------------------------------------

Reply CredentialsModule::create_app(const api::Request& req) {
  const nlohmann::json body = api::json_body(req).value();
  const std::string app_id = api::required_string(body, "app_id").value();
  const std::string description = read_description(body);
  const std::vector<std::string> households = read_household_ids(body, false);
  if (!identity::is_valid_app_id(app_id)) {
    return Reply::error({400, "app_id must match ^[a-z0-9][a-z0-9._-]{0,63}$"});
  }
  const std::string key = generate_token(32);
  auto lease = databases_.primary();
  require_ok(store::create_app(lease, app_id, credential_hash(key), description, households),
             "App");
  return Reply::json(201, {{"app_id", app_id}, {"app_key", key}, {"household_ids", households}});
}

Reply CredentialsModule::rotate_app(const api::Request& req) {
  const std::string app_id = app_id_from_path(req);
  const std::string key = generate_token(32);
  auto lease = databases_.primary();
  require_ok(store::rotate_app(lease, app_id, credential_hash(key)), "App");
  return Reply::json(200, {{"app_id", app_id}, {"app_key", key}});
}

Reply CredentialsModule::revoke_app(const api::Request& req) {
  const std::string app_id = app_id_from_path(req);
  auto lease = databases_.primary();
  require_ok(store::revoke_app(lease, app_id), "App");
  return Reply::no_content();
}

Reply CredentialsModule::set_app_households(const api::Request& req) {
  const std::string app_id = app_id_from_path(req);
  const nlohmann::json body = api::json_body(req).value();
  const std::vector<std::string> households = read_household_ids(body, true);
  auto lease = databases_.primary();
  require_ok(store::set_app_households(lease, app_id, households), "App");
  return Reply::json(200, {{"app_id", app_id}, {"household_ids", households}});
}

// ---- nodes --------------------------------------------------------------------

Reply CredentialsModule::create_node(const api::Request& req) {
  const nlohmann::json body = api::json_body(req).value();
  const std::string node_id = api::required_string(body, "node_id").value();
  std::string household_id = api::required_string(body, "household_id").value();
  const std::string description = read_description(body);
  if (!identity::is_valid_node_id(node_id)) {
    return Reply::error({400, "node_id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"});
  }
  if (!identity::is_uuid(household_id)) {
    return Reply::error({400, "household_id must be a household id"});
  }
  household_id = http::ascii_lower(household_id);
  const std::string key = generate_token(32);
  auto lease = databases_.primary();
  require_ok(store::create_node(lease, node_id, household_id, credential_hash(key), description),
             "Node");
  return Reply::json(201, {{"node_id", node_id}, {"household_id", household_id}, {"api_key", key}});
}

Reply CredentialsModule::rotate_node(const api::Request& req) {
  const std::string node_id = node_id_from_path(req);
  const std::string key = generate_token(32);
  std::string household_id;
  auto lease = databases_.primary();
  require_ok(store::rotate_node(lease, node_id, credential_hash(key), household_id), "Node");
  return Reply::json(200, {{"node_id", node_id}, {"household_id", household_id}, {"api_key", key}});
}

Reply CredentialsModule::revoke_node(const api::Request& req) {
  const std::string node_id = node_id_from_path(req);
  auto lease = databases_.primary();
  require_ok(store::revoke_node(lease, node_id), "Node");
  return Reply::no_content();
}

}  // namespace secretsd::credentials
