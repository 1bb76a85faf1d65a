// GET /api/v0/users/{id} and POST /api/v0/households/invites.
#include "app.h"
#include "auth/route_support.h"
#include "auth/tokens.h"
#include "auth/user_store.h"
#include "auth/validation.h"
#include "crypto/keyed_hash.h"
#include "http/ascii.h"
#include "http/json_io.h"

namespace secretsd {
namespace {

constexpr std::int64_t kDefaultInviteHours = 72;
constexpr std::int64_t kMaxInviteHours = 720;

bool is_household_manager(const Caller& caller) {
  return caller.role == "owner" || caller.role == "admin";
}

// Users see themselves; owners and admins see everyone in their household.
// Another household's user does not exist as far as the caller can tell.
void handle_get_user(http::Exchange& ex, App& app, const Caller& caller) {
  const std::string id = http::ascii_lower(ex.req.matches[1]);
  std::optional<user_store::UserProfile> user;
  if (is_uuid(id)) {
    auto lease = app.connection();
    user = user_store::find_user(lease, id, caller.household_id);
  }
  if (!user) {
    http::error_response(ex.res, 404, "User not found");
    return;
  }
  if (user->id != caller.user_id && !is_household_manager(caller)) {
    http::error_response(ex.res, 403, "Forbidden");
    return;
  }
  http::json_response(ex.res, 200,
                      {{"id", user->id},
                       {"email", user->email},
                       {"household_id", user->household_id},
                       {"role", user->role},
                       {"created_at", user->created_at}});
}

struct InviteRequest {
  std::string role = "member";
  std::int64_t hours = kDefaultInviteHours;
};

std::optional<InviteRequest> read_invite_request(http::Exchange& ex) {
  auto body = parse_optional_body(ex);
  if (!body) return std::nullopt;
  InviteRequest r;
  if (!optional_string(ex, *body, "role", r.role)) return std::nullopt;
  if (r.role != "member" && r.role != "admin") {
    http::error_response(ex.res, 400, "role must be member or admin");
    return std::nullopt;
  }
  auto hours = http::get_int_field(*body, "expires_in_hours");
  if (hours.ok()) r.hours = hours.value;
  const bool bad_hours = hours.status == http::FieldStatus::WrongType ||
                         (hours.ok() && (hours.value < 1 || hours.value > kMaxInviteHours));
  if (bad_hours) {
    http::error_response(ex.res, 400, "expires_in_hours must be an integer from 1 to 720");
    return std::nullopt;
  }
  return r;
}

void handle_create_invite(http::Exchange& ex, App& app, const Caller& caller) {
  if (!is_household_manager(caller)) {
    http::error_response(ex.res, 403, "Only a household owner or admin can invite");
    return;
  }
  auto request = read_invite_request(ex);
  if (!request) return;
  // Shown once; only its keyed hash is stored.
  const std::string code = generate_token(18);
  std::string expires_at;
  {
    auto lease = app.connection();
    expires_at = user_store::create_invite(lease, credential_hash(app, code), caller.household_id,
                                           caller.user_id, request->role,
                                           static_cast<int>(request->hours));
  }
  http::json_response(ex.res, 201,
                      {{"invite_code", code},
                       {"household_id", caller.household_id},
                       {"role", request->role},
                       {"expires_at", expires_at}});
}

}  // namespace

void register_user_routes(Router& router) {
  App& app = router.app();
  router.get(R"(/api/v0/users/([^/]+))", Access::User,
             [&app](http::Exchange& ex, const Caller& caller) { handle_get_user(ex, app, caller); });
  router.post("/api/v0/households/invites", Access::User,
              [&app](http::Exchange& ex, const Caller& caller) {
                handle_create_invite(ex, app, caller);
              });
}

}  // namespace secretsd
