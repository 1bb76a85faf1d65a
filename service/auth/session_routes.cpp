// POST /api/v0/auth/{register,login,refresh,logout}.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <thread>

#include <pqxx/except>

#include "app.h"
#include "auth/rate_limiter.h"
#include "auth/route_support.h"
#include "auth/tokens.h"
#include "auth/user_store.h"
#include "auth/validation.h"
#include "crypto/password.h"
#include "http/ascii.h"
#include "http/json_io.h"
#include "metrics/metrics.h"

namespace secretsd {
namespace {

// What only these routes use, built when they are registered: the password
// hasher (argon2id, a bounded number at a time) and the login and
// registration limits (counted in PostgreSQL, shared by every instance).
struct Guards {
  Guards(const Config& config, const std::string& pepper)
      : hasher(config.argon2, hashing_threads(config)),
        login_per_account("login_account", per(config.login_rate_per_account, std::chrono::minutes(1)),
                          pepper),
        login_per_address("login_address", per(config.login_rate_per_address, std::chrono::minutes(1)),
                          pepper),
        register_per_address("register_address",
                             per(config.register_rate_per_address, std::chrono::hours(1)), pepper) {}

  static std::size_t hashing_threads(const Config& config) {
    return config.argon2_concurrency > 0 ? static_cast<std::size_t>(config.argon2_concurrency)
                                         : std::max(1u, std::thread::hardware_concurrency());
  }
  static RateLimit per(int events, std::chrono::seconds window) {
    return RateLimit{static_cast<std::uint32_t>(events), window};
  }

  PasswordHasher hasher;
  RateLimiter login_per_account;
  RateLimiter login_per_address;
  RateLimiter register_per_address;
};

constexpr std::size_t kMaxRefreshTokenBytes = 256;
constexpr const char* kBadLogin = "Invalid email or password";
constexpr const char* kBadRefresh = "Invalid refresh token";

nlohmann::json session_json(const TokenPair& tokens, const user_store::Account& account) {
  nlohmann::json body = token_json(tokens);
  body["user_id"] = account.user_id;
  body["household_id"] = account.household_id;
  body["role"] = account.role;
  return body;
}

// ---- register ---------------------------------------------------------------

struct Registration {
  std::string email;
  std::string password;
  std::string household_name;
  std::string invite_code;
};

// Reads and checks the body; answers 400 and returns nullopt when invalid.
std::optional<Registration> read_registration(http::Exchange& ex) {
  auto body = parse_body(ex);
  if (!body) return std::nullopt;
  Registration r;
  if (!require_string(ex, *body, "email", r.email) ||
      !require_string(ex, *body, "password", r.password) ||
      !optional_string(ex, *body, "household_name", r.household_name) ||
      !optional_string(ex, *body, "invite_code", r.invite_code)) {
    return std::nullopt;
  }
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
  if (problem != nullptr) {
    http::error_response(ex.res, 400, problem);
    return std::nullopt;
  }
  return r;
}

// Registration costs an argon2 hash and may create a household, and needs
// no credentials: limited per client address like login.
bool within_register_rate(http::Exchange& ex, App& app, Guards& guards) {
  std::int64_t wait = 0;
  {
    auto lease = app.connection();
    wait = guards.register_per_address.take(lease, ex.req.remote_addr);
  }
  if (wait == 0) return true;
  ex.res.set_header("Retry-After", std::to_string(wait));
  http::error_response(ex.res, 429, "Too many registrations from this address, try again later");
  return false;
}

void handle_register(http::Exchange& ex, App& app, Guards& guards) {
  auto r = read_registration(ex);
  if (!r) return;
  if (!within_register_rate(ex, app, guards)) return;
  // Hashing is the slow part: done before a pooled connection is taken.
  const std::string password_hash = guards.hasher.hash(r->password);
  std::string refresh = new_refresh_token();
  const int days = app.config.refresh_token_expire_days;
  std::optional<user_store::Account> account;
  try {
    auto lease = app.connection();
    if (r->invite_code.empty()) {
      account = user_store::create_owner(lease, r->household_name, r->email, password_hash,
                                         credential_hash(app, refresh), days);
    } else {
      account = user_store::create_invited(lease, credential_hash(app, r->invite_code), r->email,
                                           password_hash, credential_hash(app, refresh), days);
    }
  } catch (const pqxx::unique_violation&) {
    // Says that the address is registered; accepted for a household product
    // (the login endpoint itself does not reveal it).
    http::error_response(ex.res, 409, "Email already registered");
    return;
  }
  if (!account) {
    http::error_response(ex.res, 400, "Invalid or expired invite code");
    return;
  }
  auto tokens = make_token_pair(app, account->user_id, account->household_id, account->role,
                                std::move(refresh));
  ex.actor_kind = "user";
  http::json_response(ex.res, 201, session_json(tokens, *account));
}

// ---- login ----------------------------------------------------------------------

// The address's limit first, then (if it allowed) the account's; answers
// 429 when either is spent.
bool within_login_rate(http::Exchange& ex, Guards& guards, db::Lease& lease,
                       const std::string& email) {
  std::int64_t wait = guards.login_per_address.take(lease, ex.req.remote_addr);
  if (wait == 0) wait = guards.login_per_account.take(lease, http::ascii_lower(email));
  if (wait == 0) return true;
  ex.res.set_header("Retry-After", std::to_string(wait));
  http::error_response(ex.res, 429, "Too many login attempts, try again later");
  return false;
}

void handle_login(http::Exchange& ex, App& app, Guards& guards) {
  auto body = parse_body(ex);
  if (!body) return;
  std::string email, password;
  if (!require_string(ex, *body, "email", email) ||
      !require_string(ex, *body, "password", password)) {
    return;
  }
  if (password.size() > kMaxPasswordBytes) password.resize(kMaxPasswordBytes);

  // The connection goes back before hashing, the slow part.
  std::optional<user_store::LoginRecord> record;
  {
    auto lease = app.connection();
    if (!within_login_rate(ex, guards, lease, email)) return;
    if (is_valid_email(email)) record = user_store::find_login(lease, email);
  }
  // An unknown account costs one argon2 verification too, and gets the same
  // answer as a wrong password.
  if (!record) {
    guards.hasher.dummy_verify(password);
    metrics::global().auth_failure("bad_login");
    http::error_response(ex.res, 401, kBadLogin);
    return;
  }
  if (!guards.hasher.verify(password, record->password_hash)) {
    metrics::global().auth_failure("bad_login");
    http::error_response(ex.res, 401, kBadLogin);
    return;
  }
  const std::string upgraded_hash =
      guards.hasher.needs_rehash(record->password_hash) ? guards.hasher.hash(password) : std::string();
  std::string refresh = new_refresh_token();
  {
    auto lease = app.connection();
    user_store::start_session(lease, record->account.user_id, credential_hash(app, refresh),
                              app.config.refresh_token_expire_days, upgraded_hash);
    guards.login_per_account.reset(lease, http::ascii_lower(email));
  }
  const auto& account = record->account;
  auto tokens =
      make_token_pair(app, account.user_id, account.household_id, account.role, std::move(refresh));
  ex.actor_kind = "user";
  http::json_response(ex.res, 200, session_json(tokens, account));
}

// ---- refresh / logout -------------------------------------------------------------

// The presented refresh token, or answers 400/401.
std::optional<std::string> read_refresh_token(http::Exchange& ex) {
  auto body = parse_body(ex);
  if (!body) return std::nullopt;
  std::string token;
  if (!require_string(ex, *body, "refresh_token", token)) return std::nullopt;
  if (token.empty() || token.size() > kMaxRefreshTokenBytes) {
    http::error_response(ex.res, 401, kBadRefresh);
    return std::nullopt;
  }
  return token;
}

void handle_refresh(http::Exchange& ex, App& app) {
  auto presented = read_refresh_token(ex);
  if (!presented) return;
  std::string refresh = new_refresh_token();
  user_store::Rotation rotation;
  {
    auto lease = app.connection();
    rotation = user_store::rotate_refresh(lease, credential_hash(app, *presented),
                                          credential_hash(app, refresh),
                                          app.config.refresh_token_expire_days,
                                          app.config.refresh_grace_seconds);
  }
  using user_store::RotationOutcome;
  if (rotation.outcome != RotationOutcome::Rotated && rotation.outcome != RotationOutcome::Grace) {
    metrics::global().auth_failure(rotation.outcome == RotationOutcome::Reused ? "refresh_reuse"
                                                                               : "bad_refresh");
    http::error_response(ex.res, 401, kBadRefresh);
    return;
  }
  const auto& account = rotation.account;
  auto tokens =
      make_token_pair(app, account.user_id, account.household_id, account.role, std::move(refresh));
  ex.actor_kind = "user";
  http::json_response(ex.res, 200, session_json(tokens, account));
}

// Always 204 for a well-formed request, so logout says nothing about
// whether the token existed.
void handle_logout(http::Exchange& ex, App& app) {
  auto presented = read_refresh_token(ex);
  if (!presented) return;
  {
    auto lease = app.connection();
    user_store::revoke_family(lease, credential_hash(app, *presented));
  }
  no_content(ex);
}

}  // namespace

// Public: the credential is in the body (a password or a refresh token).
void register_session_routes(Router& router) {
  App& app = router.app();
  auto guards = std::make_shared<Guards>(app.config, app.credential_pepper);
  router.post("/api/v0/auth/register", Access::Public,
              [&app, guards](http::Exchange& ex, const Caller&) { handle_register(ex, app, *guards); });
  router.post("/api/v0/auth/login", Access::Public,
              [&app, guards](http::Exchange& ex, const Caller&) { handle_login(ex, app, *guards); });
  router.post("/api/v0/auth/refresh", Access::Public, router.with_app(handle_refresh));
  router.post("/api/v0/auth/logout", Access::Public, router.with_app(handle_logout));
}

}  // namespace secretsd
