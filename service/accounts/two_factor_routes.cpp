// Two-factor sign-in of the caller (POST /api/v0/auth/2fa/enrol,
// POST /api/v0/auth/2fa/confirm, DELETE and GET /api/v0/auth/2fa) and an
// owner's requirement of it for a household
// (PUT /api/v0/households/{id}/two-factor). The rules are in two_factor.h
// and migrations/0015_two_factor_requirement.sql; these are the routes.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "accounts/module.h"
#include "accounts/user_store.h"
#include "accounts/validation.h"
#include "api/error.h"
#include "api/readers.h"
#include "db/databases.h"
#include "http/ascii.h"
#include "identity/validation.h"
#include "metrics/metrics.h"

namespace secretsd::accounts {
namespace {

using api::ApiError;
using api::Reply;

// A secret or recovery codes shown once must not be kept by any cache.
Reply shown_once(const nlohmann::json& body) {
  Reply reply = Reply::json(200, body);
  reply.with_header("Cache-Control", "no-store");
  return reply;
}

}  // namespace

// A new (or replaced, while unconfirmed) authenticator secret, shown once.
Reply AccountsModule::handle_two_factor_enrol(const api::Caller& caller) {
  std::optional<user_store::UserProfile> self;
  {
    auto lease = databases_.primary();
    self = user_store::find_self(lease, caller.user_id, "");
  }
  if (!self) throw ApiError(401, "Invalid credentials");
  auto enrolment = two_factor_.begin_enrolment(caller.user_id, self->email);
  if (!enrolment) {
    throw ApiError(409, "Two-factor sign-in is already on; turn it off first");
  }
  return shown_once({{"otpauth_uri", enrolment->otpauth_uri},
                     {"secret", enrolment->secret_base32},
                     {"qr_svg", enrolment->qr_svg}});
}

// The first code turns it on and answers the ten recovery codes, once.
Reply AccountsModule::handle_two_factor_confirm(const api::Request& req,
                                                const api::Caller& caller) {
  const nlohmann::json body = api::json_body(req).value();
  const std::string code = api::required_string(body, "code").value();
  auto codes = two_factor_.confirm(caller.user_id, code, req.remote_addr());
  if (!codes) throw ApiError(400, "Invalid code, or no enrolment to confirm");
  return shown_once({{"recovery_codes", *codes}});
}

// Turning it off needs a current code (or a recovery code) or the password,
// so a stolen access token alone cannot.
Reply AccountsModule::handle_two_factor_disable(const api::Request& req,
                                                const api::Caller& caller) {
  const nlohmann::json body = api::json_body(req).value();
  const auto code = api::optional_string(body, "code").value();
  auto password = api::optional_string(body, "password").value();
  if (code.has_value() == password.has_value()) {
    throw ApiError(400, "Provide exactly one of code or password");
  }
  if (!two_factor_.is_enabled(caller.user_id)) {
    throw ApiError(404, "Two-factor sign-in is off");
  }
  bool proven = false;
  if (code) {
    proven = two_factor_.verify_login(caller.user_id, *code, req.remote_addr());
  } else {
    if (password->size() > kMaxPasswordBytes) password->resize(kMaxPasswordBytes);
    std::optional<std::string> stored;
    {
      auto lease = databases_.primary();
      stored = user_store::password_hash_of(lease, caller.user_id);
    }
    proven = stored && hasher_.verify(*password, *stored);
  }
  if (!proven) {
    metrics::global().auth_failure("bad_second_factor");
    throw ApiError(403, "Invalid code or password");
  }
  two_factor_.disable(caller.user_id, req.remote_addr());
  return Reply::no_content();
}

Reply AccountsModule::handle_two_factor_status(const api::Caller& caller) {
  const bool enabled = two_factor_.is_enabled(caller.user_id);
  return Reply::json(200, {{"enabled", enabled},
                           {"recovery_codes_left",
                            enabled ? two_factor_.recovery_codes_left(caller.user_id) : 0}});
}

// Owners only (secretsd.set_household_two_factor says so: SD403/SD404).
Reply AccountsModule::handle_household_two_factor(const api::Request& req,
                                                  const api::Caller& caller) {
  const std::string household = http::ascii_lower(req.path_capture(1));
  const nlohmann::json body = api::json_body(req).value();
  auto field = body.find("required");
  if (field == body.end() || !field->is_boolean()) {
    throw ApiError(400, "required must be true or false");
  }
  if (!identity::is_uuid(household)) throw ApiError(404, "Not found");
  bool required = false;
  try {
    auto lease = databases_.primary();
    required = user_store::set_household_two_factor(lease, caller.user_id, household,
                                                    field->get<bool>());
  } catch (const pqxx::sql_error& e) {
    throw api::from_sql_error(e);  // the rule's refusals (SD403, SD404)
  }
  return Reply::json(200, {{"household_id", household}, {"require_two_factor", required}});
}

}  // namespace secretsd::accounts
