// GET /api/v0/users/{id}, GET /api/v0/households, a household's members
// (GET/PATCH/DELETE /api/v0/households/{id}/members...) and POST
// /api/v0/households/invites. Who may do what to whom is decided by
// migrations/0012's functions, which raise the SQLSTATEs api::from_sql_error
// maps; these handlers only read the request and shape the answer.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "accounts/module.h"
#include "accounts/user_store.h"
#include "api/readers.h"
#include "crypto/keyed_hash.h"
#include "db/databases.h"
#include "http/ascii.h"
#include "identity/authenticator.h"
#include "identity/validation.h"

namespace secretsd::accounts {
namespace {

using api::ApiError;
using api::Reply;
using nlohmann::json;

constexpr std::int64_t kDefaultInviteHours = 72;
constexpr std::int64_t kMaxInviteHours = 720;
// Least privilege: an invite that names no role lets the new member read,
// not change; the inviter names writer, admin or auditor on purpose.
constexpr const char* kDefaultInviteRole = "reader";
constexpr const char* kNotFound = "Not found";

struct InviteRequest {
  std::string role = kDefaultInviteRole;
  std::int64_t hours = kDefaultInviteHours;
};

// expires_in_hours: absent or null = the default; otherwise an integer
// (not 1.5, not 1e3) from 1 to 720.
std::optional<std::int64_t> read_invite_hours(const json& body) {
  auto it = body.find("expires_in_hours");
  if (it == body.end() || it->is_null()) return std::nullopt;
  const bool in_range =
      it->is_number_unsigned()
          ? it->get<std::uint64_t>() >= 1 && it->get<std::uint64_t>() <= kMaxInviteHours
          : it->is_number_integer() && it->get<std::int64_t>() >= 1 &&
                it->get<std::int64_t>() <= kMaxInviteHours;
  if (!in_range) throw ApiError(400, "expires_in_hours must be an integer from 1 to 720");
  return it->get<std::int64_t>();
}

// The role's vocabulary is checked by the SQL function (SD400).
InviteRequest read_invite_request(const api::Request& req) {
  const json body = api::optional_json_body(req).value();
  InviteRequest r;
  if (auto role = api::optional_string(body, "role").value()) r.role = std::move(*role);
  if (auto hours = read_invite_hours(body)) r.hours = *hours;
  return r;
}

// A path's uuid capture, lower-cased; anything else names nothing (404).
std::string uuid_capture(const api::Request& req, std::size_t n) {
  std::string id = http::ascii_lower(req.path_capture(n));
  if (!identity::is_uuid(id)) throw ApiError(404, kNotFound);
  return id;
}

// Runs a member statement; the rules' refusals become their answers.
template <typename Fn>
auto member_statement(db::Databases& databases, Fn&& fn) {
  try {
    auto lease = databases.primary();
    return fn(lease);
  } catch (const pqxx::sql_error& e) {
    throw api::from_sql_error(e);
  }
}

json optional_json(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

// Users see themselves; owners and admins see the members of the household
// they act for. Anyone else is "not found" as far as the caller can tell.
Reply AccountsModule::handle_get_user(const api::Request& req, const api::Caller& caller) {
  const std::string id = http::ascii_lower(req.path_capture(1));
  if (!identity::is_uuid(id)) return Reply::error({404, "User not found"});
  if (id == caller.user_id) {
    std::optional<user_store::UserProfile> user;
    {
      auto lease = databases_.primary();
      user = user_store::find_self(lease, id, caller.household_id);
    }
    if (!user) return Reply::error({404, "User not found"});
    return Reply::json(200, {{"id", user->id},
                             {"email", user->email},
                             {"display_name", optional_json(user->display_name)},
                             {"household_id", caller.household_id.empty()
                                                  ? json(nullptr) : json(caller.household_id)},
                             {"role", optional_json(user->role)},
                             {"created_at", user->created_at}});
  }
  if (caller.household_id.empty()) return Reply::error({404, "User not found"});
  auto members = member_statement(databases_, [&](db::Lease& lease) {
    return user_store::members(lease, caller.user_id, caller.household_id);
  });
  for (const auto& m : members) {
    if (m.user_id != id) continue;
    return Reply::json(200, {{"id", m.user_id},
                             {"email", m.email},
                             {"display_name", optional_json(m.display_name)},
                             {"household_id", caller.household_id},
                             {"role", m.role},
                             {"created_at", m.joined_at}});
  }
  return Reply::error({404, "User not found"});
}

// Invites to the household the request acts for (X-Household-Id, else the
// token's).
Reply AccountsModule::handle_create_invite(const api::Request& req, const api::Caller& caller) {
  const InviteRequest request = read_invite_request(req);
  if (caller.household_id.empty()) return Reply::error({404, kNotFound});
  // Shown once; only its keyed hash is stored.
  const std::string code = generate_token(18);
  const std::string expires_at = member_statement(databases_, [&](db::Lease& lease) {
    return user_store::create_invite(lease, credential_hash(code), caller.household_id,
                                     caller.user_id, request.role, static_cast<int>(request.hours));
  });
  return Reply::json(201, {{"invite_code", code},
                           {"household_id", caller.household_id},
                           {"role", request.role},
                           {"expires_at", expires_at}});
}

Reply AccountsModule::handle_list_households(const api::Caller& caller) {
  std::vector<user_store::HouseholdView> households;
  {
    auto lease = databases_.primary();
    households = user_store::households_of(lease, caller.user_id);
  }
  json list = json::array();
  for (const auto& h : households) {
    list.push_back({{"id", h.id}, {"name", h.name}, {"role", h.role}});
  }
  return Reply::json(200, {{"households", list}});
}

Reply AccountsModule::handle_list_members(const api::Request& req, const api::Caller& caller) {
  const std::string household = uuid_capture(req, 1);
  auto members = member_statement(databases_, [&](db::Lease& lease) {
    return user_store::members(lease, caller.user_id, household);
  });
  json list = json::array();
  for (const auto& m : members) {
    list.push_back({{"user_id", m.user_id},
                    {"email", m.email},
                    {"display_name", optional_json(m.display_name)},
                    {"role", m.role},
                    {"joined_at", m.joined_at}});
  }
  return Reply::json(200, {{"members", list}});
}

// A role change takes effect at the member's next statement (each
// household statement re-reads it); their sessions stay.
Reply AccountsModule::handle_change_member(const api::Request& req, const api::Caller& caller) {
  const std::string household = uuid_capture(req, 1);
  const std::string member = uuid_capture(req, 2);
  const json body = api::json_body(req).value();
  const std::string role = api::required_string(body, "role").value();
  const std::string now_role = member_statement(databases_, [&](db::Lease& lease) {
    return user_store::change_member_role(lease, caller.user_id, household, member, role);
  });
  authenticator_.forget_user_sessions(member);
  return Reply::json(200, {{"user_id", member}, {"household_id", household}, {"role", now_role}});
}

// Removing a member ends all their sessions at once.
Reply AccountsModule::handle_remove_member(const api::Request& req, const api::Caller& caller) {
  const std::string household = uuid_capture(req, 1);
  const std::string member = uuid_capture(req, 2);
  member_statement(databases_, [&](db::Lease& lease) {
    return user_store::remove_member(lease, caller.user_id, household, member);
  });
  authenticator_.forget_user_sessions(member);
  return Reply::no_content();
}

}  // namespace secretsd::accounts
