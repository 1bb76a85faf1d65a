// GET /api/v0/users/{id} and POST /api/v0/households/invites.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "accounts/module.h"
#include "accounts/user_store.h"
#include "api/readers.h"
#include "crypto/keyed_hash.h"
#include "db/databases.h"
#include "http/ascii.h"
#include "identity/validation.h"

namespace secretsd::accounts {
namespace {

using api::ApiError;
using api::Reply;

constexpr std::int64_t kDefaultInviteHours = 72;
constexpr std::int64_t kMaxInviteHours = 720;

bool is_household_manager(const api::Caller& caller) {
  return caller.role == "owner" || caller.role == "admin";
}

struct InviteRequest {
  std::string role = "member";
  std::int64_t hours = kDefaultInviteHours;
};

// expires_in_hours: absent or null = the default; otherwise an integer
// (not 1.5, not 1e3) from 1 to 720.
std::optional<std::int64_t> read_invite_hours(const nlohmann::json& body) {
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

InviteRequest read_invite_request(const api::Request& req) {
  const nlohmann::json body = api::optional_json_body(req).value();
  InviteRequest r;
  if (auto role = api::optional_string(body, "role").value()) r.role = std::move(*role);
  if (r.role != "member" && r.role != "admin") throw ApiError(400, "role must be member or admin");
  if (auto hours = read_invite_hours(body)) r.hours = *hours;
  return r;
}

}  // namespace

// Users see themselves; owners and admins see everyone in their household.
// Another household's user does not exist as far as the caller can tell.
Reply AccountsModule::handle_get_user(const api::Request& req, const api::Caller& caller) {
  const std::string id = http::ascii_lower(req.path_capture(1));
  std::optional<user_store::UserProfile> user;
  if (identity::is_uuid(id)) {
    auto lease = databases_.primary();
    user = user_store::find_user(lease, id, caller.household_id);
  }
  if (!user) return Reply::error({404, "User not found"});
  if (user->id != caller.user_id && !is_household_manager(caller)) {
    return Reply::error({403, "Forbidden"});
  }
  return Reply::json(200, {{"id", user->id},
                           {"email", user->email},
                           {"household_id", user->household_id},
                           {"role", user->role},
                           {"created_at", user->created_at}});
}

Reply AccountsModule::handle_create_invite(const api::Request& req, const api::Caller& caller) {
  if (!is_household_manager(caller)) {
    return Reply::error({403, "Only a household owner or admin can invite"});
  }
  const InviteRequest request = read_invite_request(req);
  // Shown once; only its keyed hash is stored.
  const std::string code = generate_token(18);
  std::string expires_at;
  {
    auto lease = databases_.primary();
    expires_at = user_store::create_invite(lease, credential_hash(code), caller.household_id,
                                           caller.user_id, request.role,
                                           static_cast<int>(request.hours));
  }
  return Reply::json(201, {{"invite_code", code},
                           {"household_id", caller.household_id},
                           {"role", request.role},
                           {"expires_at", expires_at}});
}

}  // namespace secretsd::accounts
