// POST /api/v0/auth/{register,login,refresh,logout}.
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "accounts/module.h"
#include "accounts/user_store.h"
#include "accounts/validation.h"
#include "api/readers.h"
#include "db/databases.h"
#include "http/ascii.h"
#include "identity/tokens.h"
#include "metrics/metrics.h"

namespace secretsd::accounts {
namespace {

using api::ApiError;
using api::Reply;
using identity::TokenPair;

constexpr std::size_t kMaxRefreshTokenBytes = 256;
constexpr const char* kBadLogin = "Invalid email or password";
constexpr const char* kBadRefresh = "Invalid refresh token";

// A signed-in person: the access log names the caller a user although the
// route is public.
Reply session_reply(int status, const TokenPair& tokens, const user_store::Account& account) {
  nlohmann::json body = identity::token_json(tokens);
  body["user_id"] = account.user_id;
  body["household_id"] = account.household_id;
  body["role"] = account.role;
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
  } else if (!is_valid_password(r.password)) {
    problem = "Password must be 8 to 1024 bytes long";
  } else if (r.household_name.empty() == r.invite_code.empty()) {
    problem = "Provide exactly one of household_name or invite_code";
  } else if (r.invite_code.empty() && !is_valid_household_name(r.household_name)) {
    problem = "household_name must be 1 to 200 characters without control characters";
  }
  if (problem != nullptr) throw ApiError(400, problem);
  return r;
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
  // Hashing is the slow part: done before a pooled connection is taken.
  const std::string password_hash = hasher_.hash(r.password);
  std::string refresh = identity::new_refresh_token();
  const int days = options_.refresh_token_expire_days;
  std::optional<user_store::Account> account;
  try {
    auto lease = databases_.primary();
    if (r.invite_code.empty()) {
      account = user_store::create_owner(lease, r.household_name, r.email, password_hash,
                                         credential_hash(refresh), days);
    } else {
      account = user_store::create_invited(lease, credential_hash(r.invite_code), r.email,
                                           password_hash, credential_hash(refresh), days);
    }
  } catch (const pqxx::unique_violation&) {
    // Says that the address is registered; accepted for a household product
    // (the login endpoint itself does not reveal it).
    return Reply::error({409, "Email already registered"});
  }
  if (!account) return Reply::error({400, "Invalid or expired invite code"});
  auto tokens = identity::make_token_pair(options_.tokens, account->user_id, account->household_id,
                                          account->role, std::move(refresh));
  return session_reply(201, tokens, *account);
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
  const std::string upgraded_hash =
      hasher_.needs_rehash(record->password_hash) ? hasher_.hash(password) : std::string();
  std::string refresh = identity::new_refresh_token();
  {
    auto lease = databases_.primary();
    user_store::start_session(lease, record->account.user_id, credential_hash(refresh),
                              options_.refresh_token_expire_days, upgraded_hash);
    login_per_account_.reset(lease, http::ascii_lower(email));
  }
  const auto& account = record->account;
  auto tokens = identity::make_token_pair(options_.tokens, account.user_id, account.household_id,
                                          account.role, std::move(refresh));
  return session_reply(200, tokens, account);
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
  auto tokens = identity::make_token_pair(options_.tokens, account.user_id, account.household_id,
                                          account.role, std::move(refresh));
  return session_reply(200, tokens, account);
}

// Always 204 for a well-formed request, so logout says nothing about
// whether the token existed.
Reply AccountsModule::handle_logout(const api::Request& req) {
  const std::string presented = read_refresh_token(req);
  {
    auto lease = databases_.primary();
    user_store::revoke_family(lease, credential_hash(presented));
  }
  return Reply::no_content();
}

}  // namespace secretsd::accounts
