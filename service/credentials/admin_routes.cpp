// Admin endpoints for app and node credentials (Access::Admin). New keys
// are returned once; only their keyed hashes are stored.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <pqxx/except>
#include <pqxx/transaction>

#include "admin_audit/admin_audit.h"
#include "api/readers.h"
#include "credentials/module.h"
#include "credentials/store.h"
#include "crypto/keyed_hash.h"
#include "db/databases.h"
#include "db/tx.h"
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

// An app's grants, from either form of the body:
//   "household_ids": ["<uuid>", ...]       each with write access to every key;
//   "grants": [{"household_id": "<uuid>", "privilege": "read"|"write",
//               "key_prefix": "WEATHER_"}, ...]   privilege defaults to write.
// Absent (or null) = none unless `required`; giving both is refused.
std::vector<store::AppGrant> read_grants(const nlohmann::json& body, bool required) {
  std::vector<store::AppGrant> out;
  auto ids = body.find("household_ids");
  auto grants = body.find("grants");
  const bool has_ids = ids != body.end() && !ids->is_null();
  const bool has_grants = grants != body.end() && !grants->is_null();
  if (has_ids && has_grants) throw ApiError(400, "Give either household_ids or grants, not both");
  if (!has_ids && !has_grants) {
    if (required) throw ApiError(400, "household_ids or grants is required");
    return out;
  }
  const nlohmann::json& list = has_ids ? *ids : *grants;
  const char* shape = has_ids ? "household_ids must be an array of household ids"
                              : "grants must be an array of {household_id, privilege, key_prefix}";
  if (!list.is_array() || list.size() > kMaxHouseholdsPerApp) throw ApiError(400, shape);
  for (const auto& item : list) {
    store::AppGrant grant;
    const nlohmann::json* id = has_ids ? &item : nullptr;
    if (!has_ids) {
      if (!item.is_object()) throw ApiError(400, shape);
      auto it = item.find("household_id");
      id = it == item.end() ? nullptr : &*it;
      grant.privilege = api::optional_string(item, "privilege").value().value_or("write");
      if (grant.privilege != "read" && grant.privilege != "write") {
        throw ApiError(400, "privilege must be read or write");
      }
      grant.key_prefix = api::optional_string(item, "key_prefix").value().value_or("");
    }
    if (!id || !id->is_string() || !identity::is_uuid(id->get<std::string>())) {
      throw ApiError(400, shape);
    }
    grant.household_id = http::ascii_lower(id->get<std::string>());
    out.push_back(std::move(grant));
  }
  return out;
}

nlohmann::json grants_json(const std::vector<store::AppGrant>& grants) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : grants) {
    out.push_back({{"household_id", g.household_id},
                   {"privilege", g.privilege},
                   {"key_prefix", g.key_prefix.empty() ? nlohmann::json(nullptr)
                                                       : nlohmann::json(g.key_prefix)}});
  }
  return out;
}

nlohmann::json household_ids_json(const std::vector<store::AppGrant>& grants) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : grants) out.push_back(g.household_id);
  return out;
}

// Runs one credential change and its admin audit entry in one transaction:
// both commit, or neither. A key prefix outside the key grammar (22023 from
// secrets.check_key) is the caller's mistake.
template <typename Fn>
void audited(db::Databases& databases, const api::Caller& caller, const char* action,
             const std::string& target, const nlohmann::json& detail, Fn&& change) {
  auto lease = databases.primary();
  try {
    db::with_tx(lease, [&](pqxx::work& tx) {
      change(tx);
      admin_audit::record(tx, caller.actor(), action, target, detail);
    });
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == "22023") {
      throw ApiError(400, "key_prefix must be the start of a key (SCREAMING_SNAKE_CASE, e.g. WEATHER_)");
    }
    throw;
  }
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

Reply CredentialsModule::create_app(const api::Request& req, const api::Caller& caller) {
  const nlohmann::json body = api::json_body(req).value();
  const std::string app_id = api::required_string(body, "app_id").value();
  const std::string description = read_description(body);
  const std::vector<store::AppGrant> grants = read_grants(body, false);
  if (!identity::is_valid_app_id(app_id)) {
    return Reply::error({400, "app_id must match ^[a-z0-9][a-z0-9._-]{0,63}$"});
  }
  const std::string key = generate_token(32);
  audited(databases_, caller, "app.create", app_id, {{"grants", grants_json(grants)}},
          [&](pqxx::transaction_base& tx) {
            require_ok(store::create_app(tx, app_id, credential_hash(key), description, grants),
                       "App");
          });
  return Reply::json(201, {{"app_id", app_id},
                           {"app_key", key},
                           {"household_ids", household_ids_json(grants)},
                           {"grants", grants_json(grants)}});
}

Reply CredentialsModule::rotate_app(const api::Request& req, const api::Caller& caller) {
  const std::string app_id = app_id_from_path(req);
  const std::string key = generate_token(32);
  audited(databases_, caller, "app.rotate", app_id, nlohmann::json::object(),
          [&](pqxx::transaction_base& tx) {
            require_ok(store::rotate_app(tx, app_id, credential_hash(key)), "App");
          });
  return Reply::json(200, {{"app_id", app_id}, {"app_key", key}});
}

Reply CredentialsModule::revoke_app(const api::Request& req, const api::Caller& caller) {
  const std::string app_id = app_id_from_path(req);
  audited(databases_, caller, "app.revoke", app_id, nlohmann::json::object(),
          [&](pqxx::transaction_base& tx) { require_ok(store::revoke_app(tx, app_id), "App"); });
  return Reply::no_content();
}

Reply CredentialsModule::set_app_households(const api::Request& req, const api::Caller& caller) {
  const std::string app_id = app_id_from_path(req);
  const nlohmann::json body = api::json_body(req).value();
  const std::vector<store::AppGrant> grants = read_grants(body, true);
  audited(databases_, caller, "app.grants", app_id, {{"grants", grants_json(grants)}},
          [&](pqxx::transaction_base& tx) {
            require_ok(store::set_app_households(tx, app_id, grants), "App");
          });
  return Reply::json(200, {{"app_id", app_id},
                           {"household_ids", household_ids_json(grants)},
                           {"grants", grants_json(grants)}});
}

// ---- nodes --------------------------------------------------------------------

Reply CredentialsModule::create_node(const api::Request& req, const api::Caller& caller) {
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
  audited(databases_, caller, "node.create", node_id, {{"household_id", household_id}},
          [&](pqxx::transaction_base& tx) {
            require_ok(
                store::create_node(tx, node_id, household_id, credential_hash(key), description),
                "Node");
          });
  return Reply::json(201, {{"node_id", node_id}, {"household_id", household_id}, {"api_key", key}});
}

Reply CredentialsModule::rotate_node(const api::Request& req, const api::Caller& caller) {
  const std::string node_id = node_id_from_path(req);
  const std::string key = generate_token(32);
  std::string household_id;
  audited(databases_, caller, "node.rotate", node_id, nlohmann::json::object(),
          [&](pqxx::transaction_base& tx) {
            require_ok(store::rotate_node(tx, node_id, credential_hash(key), household_id), "Node");
          });
  return Reply::json(200, {{"node_id", node_id}, {"household_id", household_id}, {"api_key", key}});
}

Reply CredentialsModule::revoke_node(const api::Request& req, const api::Caller& caller) {
  const std::string node_id = node_id_from_path(req);
  audited(databases_, caller, "node.revoke", node_id, nlohmann::json::object(),
          [&](pqxx::transaction_base& tx) { require_ok(store::revoke_node(tx, node_id), "Node"); });
  return Reply::no_content();
}

}  // namespace secretsd::credentials
