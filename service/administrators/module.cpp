#include "administrators/module.h"

#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "admin_audit/admin_audit.h"
#include "api/readers.h"
#include "api/router.h"
#include "db/databases.h"
#include "db/tx.h"
#include "http/ascii.h"
#include "identity/validation.h"

namespace secretsd::administrators {
namespace {

using api::ApiError;
using nlohmann::json;

constexpr const char* kList =
    "SELECT id, email, display_name FROM secretsd.users "
    " WHERE instance_admin AND disabled_at IS NULL ORDER BY lower(email)";

// Returns the person's id and whether they were already an instance admin.
constexpr const char* kAppoint =
    "WITH u AS (SELECT id, instance_admin FROM secretsd.users "
    "            WHERE lower(email) = lower($1) AND disabled_at IS NULL FOR UPDATE), "
    "     s AS (UPDATE secretsd.users x SET instance_admin = true FROM u WHERE x.id = u.id) "
    "SELECT u.id, u.instance_admin FROM u";

constexpr const char* kRemove =
    "UPDATE secretsd.users SET instance_admin = false "
    " WHERE id = $1::uuid AND instance_admin RETURNING email";

json person(const pqxx::row& row) {
  return {{"user_id", row[0].as<std::string>()},
          {"email", row[1].as<std::string>()},
          {"display_name", row[2].is_null() ? json(nullptr) : json(row[2].as<std::string>())}};
}

}  // namespace

AdministratorsModule::AdministratorsModule(db::Databases& databases) : databases_(databases) {}

void AdministratorsModule::register_routes(api::Router& router) {
  const std::string base = "/api/v0/admin/instance-admins";
  router.get(base, api::Access::Admin,
             [this](const api::Request& req, const api::Caller& c) { return list(req, c); });
  router.post(base, api::Access::Admin,
              [this](const api::Request& req, const api::Caller& c) { return appoint(req, c); });
  router.del(base + "/([^/]+)", api::Access::Admin,
             [this](const api::Request& req, const api::Caller& c) { return remove(req, c); });
}

api::Reply AdministratorsModule::list(const api::Request&, const api::Caller&) {
  auto lease = databases_.primary();
  json people = db::with_tx(lease, [&](pqxx::work& tx) {
    json out = json::array();
    for (const auto& row : tx.exec(kList)) out.push_back(person(row));
    return out;
  });
  return api::Reply::data(people);
}

// Appointing someone who already is one changes nothing and records nothing.
api::Reply AdministratorsModule::appoint(const api::Request& req, const api::Caller& caller) {
  const json body = api::json_body(req).value();
  const std::string email = api::required_string(body, "email").value();
  if (email.empty() || email.size() > 320) throw ApiError(400, "email must be 1 to 320 characters");
  auto lease = databases_.primary();
  bool created = false;
  const std::string user_id = db::with_tx(lease, [&](pqxx::work& tx) {
    auto rows = tx.exec_params(kAppoint, email);
    if (rows.empty()) throw ApiError(404, "User not found");
    const std::string id = rows[0][0].as<std::string>();
    created = !rows[0][1].as<bool>();
    if (created) admin_audit::record(tx, caller.actor(), "instance_admin.appoint", "user:" + id);
    return id;
  });
  return api::Reply::json(created ? 201 : 200, {{"data", {{"user_id", user_id}, {"instance_admin", true}}}});
}

// Takes effect on every instance within the session check's cache time (1 s).
api::Reply AdministratorsModule::remove(const api::Request& req, const api::Caller& caller) {
  std::string user_id = req.path_capture(1);
  if (!identity::is_uuid(user_id)) throw ApiError(404, "User not found");
  user_id = http::ascii_lower(user_id);
  auto lease = databases_.primary();
  db::with_tx(lease, [&](pqxx::work& tx) {
    if (tx.exec_params(kRemove, user_id).empty()) throw ApiError(404, "User not found");
    admin_audit::record(tx, caller.actor(), "instance_admin.remove", "user:" + user_id);
  });
  return api::Reply::no_content();
}

}  // namespace secretsd::administrators
