// POST /api/v0/auth/{register,login,refresh,logout,password} and a person's
// sessions (GET /api/v0/auth/sessions, DELETE /api/v0/auth/sessions/{id}).
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "accounts/account_events.h"
#include "accounts/module.h"
#include "accounts/password_policy.h"
#include "accounts/registration_policy.h"
#include "accounts/user_store.h"
#include "accounts/validation.h"
#include "api/readers.h"
#include "db/databases.h"
#include "http/ascii.h"
#include "identity/authenticator.h"
#include "identity/tokens.h"
#include "identity/validation.h"
#include "metrics/metrics.h"

namespace secretsd::accounts {
namespace {

using api::ApiError;
using api::Reply;
using identity::TokenPair;

constexpr std::size_t kMaxRefreshTokenBytes = 256;
constexpr const char* kBadLogin = "Invalid email or password";
constexpr const char* kBadRefresh = "Invalid refresh token";
// Login of an account with two-factor sign-in on, without a code: the
// answer also carries "two_factor_required": true (README, OpenAPI).
constexpr const char* kSecondFactorRequired = "Two-factor code required";
constexpr const char* kBadSecondFactor = "Invalid credentials";
// Every registration that passed the checks gets this same answer, whether
// the email was new or taken (no account enumeration); the person signs in
// with POST /api/v0/auth/login afterwards.
constexpr const char* kRegistrationAccepted =
    "Registration accepted. If this email was not registered yet, the account exists now: "
    "sign in with your password.";
// Kept of a client's User-Agent for its session list.
constexpr std::size_t kMaxUserAgentBytes = 512;

// Where a session starts from: the client's address and User-Agent (cut to
// kMaxUserAgentBytes), shown to the person in their session list.
user_store::Origin origin_of(const api::Request& req) {
  std::string agent = req.header("User-Agent");
  if (agent.size() > kMaxUserAgentBytes) agent.resize(kMaxUserAgentBytes);
  return user_store::Origin{req.remote_addr(), std::move(agent)};
}

TokenPair token_pair_for(const identity::TokenOptions& options, const user_store::Account& account,
                         std::string refresh) {
  return identity::make_token_pair(options, account.user_id, account.session_id,
                                   account.household_id, std::move(refresh));
}

// A signed-in person: the access log names the caller a user although the
// route is public. `role`: theirs in the default household (null when no
// longer a member of it).
Reply session_reply(int status, const TokenPair& tokens, const user_store::Account& account) {
  nlohmann::json body = identity::token_json(tokens);
  body["user_id"] = account.user_id;
  body["household_id"] = account.household_id;
  body["session_id"] = account.session_id;
  body["role"] = account.role.empty() ? nlohmann::json(nullptr) : nlohmann::json(account.role);
  return Reply::json(status, body).with_actor_kind("user");
}

// ---- register ---------------------------------------------------------------

struct Registration {
  std::string email;
  std::string password;
  std::string household_name;
  std::string invite_code;
};

// The body, checked; throws the 400 when invalid.
Registration read_registration(const api::Request& req) {
  const nlohmann::json body = api::json_body(req).value();
  Registration r;
  r.email = api::required_string(body, "email").value();
  r.password = api::required_string(body, "password").value();
  r.household_name = api::optional_string(body, "household_name").value().value_or("");
  r.invite_code = api::optional_string(body, "invite_code").value().value_or("");
  const char* problem = nullptr;
  if (!is_valid_email(r.email)) {
    problem = "Invalid email address";
  } else if (r.household_name.empty() == r.invite_code.empty()) {
    problem = "Provide exactly one of household_name or invite_code";
  } else if (r.invite_code.empty() && !is_valid_household_name(r.household_name)) {
    problem = "household_name must be 1 to 200 characters without control characters";
  }
  if (problem != nullptr) throw ApiError(400, problem);
  if (auto refusal = password_refusal(r.password, r.email, "")) {
    throw ApiError(400, "Password refused: " + *refusal);
  }
  return r;
}

// The one answer of every accepted registration (kRegistrationAccepted).
Reply registration_accepted() {
  return Reply::json(202, {{"status", "accepted"}, {"message", kRegistrationAccepted}});
}

// The presented refresh token; throws the 400 or 401.
std::string read_refresh_token(const api::Request& req) {
  const nlohmann::json body = api::json_body(req).value();
  std::string token = api::required_string(body, "refresh_token").value();
  if (token.empty() || token.size() > kMaxRefreshTokenBytes) throw ApiError(401, kBadRefresh);
  return token;
}

}  // namespace

// Registration costs an argon2 hash and may create a household, and needs
// no credentials: limited per client address like login.
void AccountsModule::check_register_rate(const api::Request& req) {
  std::int64_t wait = 0;
  {
    auto lease = databases_.primary();
    wait = register_per_address_.take(lease, req.remote_addr());
  }
  if (wait == 0) return;
  throw ApiError(429, "Too many registrations from this address, try again later")
      .with_header("Retry-After", std::to_string(wait));
}

Reply AccountsModule::handle_register(const api::Request& req) {
  const Registration r = read_registration(req);
  check_register_rate(req);
  bool any_account = true;
  {
    auto lease = databases_.primary();
    any_account = user_store::any_account_exists(lease);
  }
  switch (decide_registration(options_.registration, !r.invite_code.empty(), any_account)) {
    case RegistrationDecision::Closed: throw ApiError(403, "Registration is closed");
    case RegistrationDecision::InviteRequired:
      throw ApiError(403, "Registration needs an invite code");
    case RegistrationDecision::CreateHousehold:
    case RegistrationDecision::JoinByInvite: break;
  }
  // Hashing is the slow part, done for a taken email too (same timing),
  // before a pooled connection is taken.
  const std::string password_hash = hasher_.hash(r.password);
  // The session create_* starts is ended at once: registration hands out
  // no tokens, so its answer cannot differ between a new and a taken email.
  const std::string unused_refresh_hash = credential_hash(identity::new_refresh_token());
  const int days = options_.refresh_token_expire_days;
  std::optional<user_store::Account> account;
  try {
    auto lease = databases_.primary();
    if (r.invite_code.empty()) {
      account = user_store::create_owner(lease, r.household_name, r.email, password_hash,
                                         unused_refresh_hash, days, origin_of(req));
    } else {
      account = user_store::create_invited(lease, credential_hash(r.invite_code), r.email,
                                           password_hash, unused_refresh_hash, days,
                                           origin_of(req));
    }
    if (account) {
      user_store::end_own_session(lease, account->user_id, account->session_id, "registration");
    }
  } catch (const pqxx::unique_violation&) {
    // A taken email: its owner (not the caller) learns of the attempt.
    auto lease = databases_.primary();
    account_events::record_registration_attempt(lease, r.email, req.remote_addr());
    return registration_accepted();
  }
  if (!account) return Reply::error({400, "Invalid or expired invite code"});
  return registration_accepted();
}

// ---- login ----------------------------------------------------------------------

// The address's limit first, then (if it allowed) the account's; throws
// the 429 when either is spent.
void AccountsModule::check_login_rate(const api::Request& req, db::Lease& lease,
                                      const std::string& email) {
  std::int64_t wait = login_per_address_.take(lease, req.remote_addr());
  if (wait == 0) wait = login_per_account_.take(lease, http::ascii_lower(email));
  if (wait == 0) return;
  throw ApiError(429, "Too many login attempts, try again later")
      .with_header("Retry-After", std::to_string(wait));
}

Reply AccountsModule::handle_login(const api::Request& req) {
  const nlohmann::json body = api::json_body(req).value();
  const std::string email = api::required_string(body, "email").value();
  std::string password = api::required_string(body, "password").value();
  if (password.size() > kMaxPasswordBytes) password.resize(kMaxPasswordBytes);

  // The connection goes back before hashing, the slow part.
  std::optional<user_store::LoginRecord> record;
  {
    auto lease = databases_.primary();
    check_login_rate(req, lease, email);
    if (is_valid_email(email)) record = user_store::find_login(lease, email);
  }
  // An unknown account costs one argon2 verification too, and gets the same
  // answer as a wrong password.
  if (!record) {
    hasher_.dummy_verify(password);
    metrics::global().auth_failure("bad_login");
    return Reply::error({401, kBadLogin});
  }
  if (!hasher_.verify(password, record->password_hash)) {
    metrics::global().auth_failure("bad_login");
    return Reply::error({401, kBadLogin});
  }
  // Two-factor sign-in: the password was right; a code (or a recovery code)
  // must come with it. A wrong one was already counted by the login limits.
  bool second_factor = false;
  if (two_factor_.is_enabled(record->user_id)) {
    const auto totp_code = api::optional_string(body, "totp_code").value();
    const auto recovery_code = api::optional_string(body, "recovery_code").value();
    if (!totp_code && !recovery_code) {
      return Reply::json(401, {{"statusCode", 401},
                               {"message", kSecondFactorRequired},
                               {"two_factor_required", true}});
    }
    const std::string& presented = totp_code ? *totp_code : *recovery_code;
    if (!two_factor_.verify_login(record->user_id, presented, req.remote_addr())) {
      metrics::global().auth_failure("bad_second_factor");
      return Reply::error({401, kBadSecondFactor});
    }
    second_factor = true;
  }
  const std::string upgraded_hash =
      hasher_.needs_rehash(record->password_hash) ? hasher_.hash(password) : std::string();
  std::string refresh = identity::new_refresh_token();
  user_store::Account account;
  {
    auto lease = databases_.primary();
    account = user_store::start_session(lease, record->user_id, credential_hash(refresh),
                                        options_.refresh_token_expire_days, upgraded_hash,
                                        origin_of(req));
    if (second_factor) user_store::mark_second_factor(lease, account.session_id);
    login_per_account_.reset(lease, http::ascii_lower(email));
  }
  return session_reply(200, token_pair_for(options_.tokens, account, std::move(refresh)), account);
}

// ---- refresh / logout -------------------------------------------------------------

Reply AccountsModule::handle_refresh(const api::Request& req) {
  const std::string presented = read_refresh_token(req);
  std::string refresh = identity::new_refresh_token();
  user_store::Rotation rotation;
  {
    auto lease = databases_.primary();
    rotation = user_store::rotate_refresh(lease, credential_hash(presented),
                                          credential_hash(refresh),
                                          options_.refresh_token_expire_days,
                                          options_.refresh_grace_seconds);
  }
  using user_store::RotationOutcome;
  if (rotation.outcome != RotationOutcome::Rotated && rotation.outcome != RotationOutcome::Grace) {
    metrics::global().auth_failure(rotation.outcome == RotationOutcome::Reused ? "refresh_reuse"
                                                                               : "bad_refresh");
    return Reply::error({401, kBadRefresh});
  }
  const auto& account = rotation.account;
  return session_reply(200, token_pair_for(options_.tokens, account, std::move(refresh)), account);
}

// Ends the session of the refresh token in the body, or of the access token
// in Authorization, or both; the access token fails at once on this
// instance and within a second on the others. Always 204 for a
// well-formed request with a refresh token, so logout says nothing about
// whether that token existed; an access token that is not valid is a 401.
Reply AccountsModule::handle_logout(const api::Request& req) {
  const bool has_bearer = req.has_header("Authorization");
  std::optional<std::string> presented;
  if (!has_bearer) {
    presented = read_refresh_token(req);
  } else if (auto token = api::optional_string(api::optional_json_body(req).value(), "refresh_token")
                              .value()) {
    if (token->empty() || token->size() > kMaxRefreshTokenBytes) throw ApiError(401, kBadRefresh);
    presented = std::move(*token);
  }
  if (has_bearer) {
    api::AuthResult auth = authenticator_.authenticate(req);
    if (auth.outcome != api::AuthOutcome::Ok || !auth.caller ||
        auth.caller->kind != api::CallerKind::User) {
      metrics::global().auth_failure("invalid");
      return Reply::error({401, "Invalid credentials"});
    }
    {
      auto lease = databases_.primary();
      user_store::end_own_session(lease, auth.caller->user_id, auth.caller->session_id, "logout");
    }
    authenticator_.forget_session(auth.caller->session_id);
  }
  if (presented) {
    std::string ended;
    {
      auto lease = databases_.primary();
      ended = user_store::end_session_of_refresh(lease, credential_hash(*presented));
    }
    if (!ended.empty()) authenticator_.forget_session(ended);
  }
  return Reply::no_content();
}

// ---- sessions and password ----------------------------------------------------------

Reply AccountsModule::handle_list_sessions(const api::Caller& caller) {
  std::vector<user_store::SessionView> sessions;
  {
    auto lease = databases_.primary();
    sessions = user_store::live_sessions(lease, caller.user_id);
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : sessions) {
    list.push_back({{"id", s.id},
                    {"created_at", s.created_at},
                    {"last_used_at", s.last_used_at},
                    {"address", s.address ? nlohmann::json(*s.address) : nlohmann::json(nullptr)},
                    {"user_agent", s.user_agent ? nlohmann::json(*s.user_agent) : nlohmann::json(nullptr)},
                    {"current", s.id == caller.session_id}});
  }
  return Reply::json(200, {{"sessions", list}});
}

// Another person's session, or one that does not exist, is the same 404.
Reply AccountsModule::handle_end_session(const api::Request& req, const api::Caller& caller) {
  const std::string id = http::ascii_lower(req.path_capture(1));
  bool ended = false;
  if (identity::is_uuid(id)) {
    auto lease = databases_.primary();
    ended = user_store::end_own_session(lease, caller.user_id, id, "revoked");
  }
  if (!ended) return Reply::error({404, "Session not found"});
  authenticator_.forget_session(id);
  return Reply::no_content();
}

// Checks the current password (argon2, like a login), then ends every
// session of the person, this one included, and answers a fresh token pair
// for a new session.
Reply AccountsModule::handle_change_password(const api::Request& req, const api::Caller& caller) {
  const nlohmann::json body = api::json_body(req).value();
  std::string current = api::required_string(body, "current_password").value();
  const std::string fresh = api::required_string(body, "new_password").value();
  std::optional<user_store::UserProfile> self;
  {
    auto lease = databases_.primary();
    self = user_store::find_self(lease, caller.user_id, "");
  }
  if (auto refusal = password_refusal(fresh, self ? self->email : "",
                                      self ? self->display_name.value_or("") : "")) {
    throw ApiError(400, "Password refused: " + *refusal);
  }
  if (current.size() > kMaxPasswordBytes) current.resize(kMaxPasswordBytes);
  std::optional<std::string> stored;
  {
    auto lease = databases_.primary();
    stored = user_store::password_hash_of(lease, caller.user_id);
  }
  if (!stored || !hasher_.verify(current, *stored)) {
    metrics::global().auth_failure("bad_password");
    return Reply::error({403, "Current password is incorrect"});
  }
  const std::string new_hash = hasher_.hash(fresh);
  std::string refresh = identity::new_refresh_token();
  std::optional<user_store::PasswordChange> change;
  {
    auto lease = databases_.primary();
    change = user_store::replace_password(lease, caller.user_id, *stored, new_hash,
                                          credential_hash(refresh),
                                          options_.refresh_token_expire_days, origin_of(req));
  }
  if (!change) return Reply::error({409, "The password was changed meanwhile; try again"});
  if (caller.second_factor) {
    // The new session was proven as much as the one that changed it.
    auto lease = databases_.primary();
    user_store::mark_second_factor(lease, change->account.session_id);
  }
  authenticator_.forget_user_sessions(caller.user_id);
  return session_reply(200, token_pair_for(options_.tokens, change->account, std::move(refresh)),
                       change->account);
}

}  // namespace secretsd::accounts
